//! Response APDUs: `data SW1 SW2` (ISO/IEC 7816-4 §5.2, EMV 4.4 Book 3 §6.3.3).

use crate::error::ApduError;
use crate::status::StatusWord;

/// A parsed R-APDU borrowing its data from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseView<'a> {
    /// Response data (everything before the last two bytes; may be empty).
    pub data: &'a [u8],
    /// The decoded trailer.
    pub sw: StatusWord,
}

impl<'a> ResponseView<'a> {
    /// Splits off the last two bytes as SW1 SW2. Fewer than two bytes is an error.
    ///
    /// ```
    /// use emv_apdu::{ResponseView, StatusWord};
    /// let r = ResponseView::parse(&[0x9F, 0x17, 0x01, 0x03, 0x90, 0x00])?;
    /// assert_eq!(r.data, &[0x9F, 0x17, 0x01, 0x03]);
    /// assert_eq!(r.sw, StatusWord::Success);
    /// let r = ResponseView::parse(&[0x63, 0xC2])?;
    /// assert_eq!(r.sw, StatusWord::VerifyFailed { tries_left: 2 });
    /// # Ok::<(), emv_apdu::ApduError>(())
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ApduError> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(Self {
                data,
                sw: StatusWord::from_bytes(*sw1, *sw2),
            }),
            _ => Err(ApduError::ResponseTooShort { len: bytes.len() }),
        }
    }

    /// An owned copy.
    #[must_use]
    pub fn to_response(&self) -> Response {
        Response {
            data: self.data.to_vec(),
            sw: self.sw,
        }
    }
}

/// An owned R-APDU (what the card returns).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// Response data (may be empty).
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl Response {
    /// A response with data and a status word.
    #[must_use]
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    /// Data followed by `9000`.
    #[must_use]
    pub fn success(data: impl Into<Vec<u8>>) -> Self {
        Self::new(data, StatusWord::Success)
    }

    /// A status word without data.
    #[must_use]
    pub const fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Parses `data SW1 SW2` into an owned response.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        ResponseView::parse(bytes).map(|v| v.to_response())
    }

    /// `data SW1 SW2`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// Whether the status word is `9000`.
    #[must_use]
    pub const fn is_success(&self) -> bool {
        self.sw.is_success()
    }

    /// The data if the status word is `9000`, else [`ApduError::UnexpectedStatus`].
    pub fn into_success_data(self) -> Result<Vec<u8>, ApduError> {
        if self.sw.is_success() {
            Ok(self.data)
        } else {
            Err(ApduError::UnexpectedStatus { sw: self.sw })
        }
    }
}

impl From<StatusWord> for Response {
    fn from(sw: StatusWord) -> Self {
        Self::status(sw)
    }
}

impl TryFrom<&[u8]> for Response {
    type Error = ApduError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::parse(bytes)
    }
}

impl From<ResponseView<'_>> for Response {
    fn from(view: ResponseView<'_>) -> Self {
        view.to_response()
    }
}

impl From<Response> for Vec<u8> {
    fn from(r: Response) -> Self {
        r.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn parse_and_encode() {
        let bytes = hex!("800618000801020090 00");
        let r = Response::parse(&bytes).unwrap();
        assert_eq!(r.data, hex!("80061800080102 00"));
        assert_eq!(r.sw, StatusWord::Success);
        assert!(r.is_success());
        assert_eq!(r.to_bytes(), bytes);

        let r = Response::parse(&hex!("6A83")).unwrap();
        assert!(r.data.is_empty());
        assert!(matches!(r.sw, StatusWord::RecordNotFound));
        assert_eq!(r.to_bytes(), hex!("6A83"));
        assert_eq!(
            Vec::from(Response::status(StatusWord::WrongLe(0x10))),
            hex!("6C10")
        );
        assert_eq!(Response::success(hex!("0102")).to_bytes(), hex!("01029000"));
    }

    #[test]
    fn too_short() {
        assert_eq!(
            ResponseView::parse(&[]),
            Err(ApduError::ResponseTooShort { len: 0 })
        );
        assert_eq!(
            ResponseView::parse(&[0x90]),
            Err(ApduError::ResponseTooShort { len: 1 })
        );
    }

    #[test]
    fn success_data() {
        assert_eq!(
            Response::success(vec![1, 2]).into_success_data(),
            Ok(vec![1, 2])
        );
        let err = Response::status(StatusWord::from_u16(0x63C1))
            .into_success_data()
            .unwrap_err();
        assert_eq!(
            err,
            ApduError::UnexpectedStatus {
                sw: StatusWord::VerifyFailed { tries_left: 1 }
            }
        );
        assert_eq!(err.to_string(), "card returned 63C1: Wrong PIN, 1 try left");
    }
}
