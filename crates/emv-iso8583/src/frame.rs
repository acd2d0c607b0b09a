//! Framing on a byte stream: a length header (2-byte big-endian binary, 4 ASCII digits or
//! none) and an optional 5-byte TPDU before the MTI (docs/iso8583.md §4).

use crate::Error;
use crate::message::message_len;
use crate::spec::Format;

/// The length header before each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Header {
    /// Two bytes, big-endian binary length of what follows (`2b`).
    #[default]
    Binary2,
    /// Four ASCII digits, the length of what follows (`4a`).
    Ascii4,
    /// No header: the message's own structure delimits it (`none`).
    None,
}

impl Header {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary2 => "2b",
            Self::Ascii4 => "4a",
            Self::None => "none",
        }
    }

    /// Parses `2b`, `4a` or `none`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "2b" => Some(Self::Binary2),
            "4a" => Some(Self::Ascii4),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// Bytes the header takes.
    pub fn len(self) -> usize {
        match self {
            Self::Binary2 => 2,
            Self::Ascii4 => 4,
            Self::None => 0,
        }
    }

    /// Whether there is no header.
    pub fn is_empty(self) -> bool {
        self == Self::None
    }

    /// The largest frame body the header can announce.
    pub fn max_body(self) -> usize {
        match self {
            Self::Binary2 | Self::None => usize::from(u16::MAX),
            Self::Ascii4 => 9999,
        }
    }
}

/// A transport protocol data unit (5 bytes: id, destination address, source address) as
/// terminal networks put before the MTI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tpdu(pub [u8; 5]);

impl Tpdu {
    /// Parses 10 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let mut b = [0u8; 5];
        hex::decode_to_slice(s.trim(), &mut b)
            .map_err(|_| Error::Frame(format!("a TPDU is 5 bytes (10 hex digits), got {s:?}")))?;
        Ok(Self(b))
    }

    /// The answer's TPDU: destination and source addresses swapped, as a network access
    /// controller routes answers back.
    pub fn reply(self) -> Self {
        let [id, d1, d2, s1, s2] = self.0;
        Self([id, s1, s2, d1, d2])
    }
}

/// How messages are delimited on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Framing {
    /// The message layout (needed to delimit messages without a header).
    pub format: Format,
    /// The length header.
    pub header: Header,
    /// Whether a 5-byte TPDU precedes each MTI (its value when sending).
    pub tpdu: Option<Tpdu>,
}

/// One frame taken from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The TPDU, when the framing has one.
    pub tpdu: Option<Tpdu>,
    /// The message bytes (MTI onwards).
    pub message: Vec<u8>,
}

impl Framing {
    /// Wraps an encoded message: header, TPDU (`tpdu` or the framing's own), message.
    pub fn wrap(&self, tpdu: Option<Tpdu>, message: &[u8]) -> Result<Vec<u8>, Error> {
        let tpdu = self.tpdu.map(|own| tpdu.unwrap_or(own));
        let body_len = message.len() + tpdu.map_or(0, |_| 5);
        if body_len > self.header.max_body() {
            return Err(Error::Frame(format!(
                "{body_len} bytes do not fit a {} header",
                self.header.name()
            )));
        }
        let mut out = Vec::with_capacity(self.header.len() + body_len);
        match self.header {
            Header::Binary2 => {
                out.extend_from_slice(&u16::try_from(body_len).unwrap_or(u16::MAX).to_be_bytes())
            }
            Header::Ascii4 => out.extend_from_slice(format!("{body_len:04}").as_bytes()),
            Header::None => {}
        }
        if let Some(t) = tpdu {
            out.extend_from_slice(&t.0);
        }
        out.extend_from_slice(message);
        Ok(out)
    }

    /// Takes the first complete frame off the front of `buf`: `Ok(None)` when more bytes
    /// are needed, an error when the stream cannot be framed (the connection is then
    /// beyond repair).
    pub fn take(&self, buf: &mut Vec<u8>) -> Result<Option<Frame>, Error> {
        let Some((start, end)) = self.locate(buf)? else {
            return Ok(None);
        };
        let mut body: Vec<u8> = buf.drain(..end).skip(start).collect();
        let tpdu = match self.tpdu {
            Some(_) => {
                let mut t = [0u8; 5];
                t.copy_from_slice(&body[..5]);
                body.drain(..5);
                Some(Tpdu(t))
            }
            None => None,
        };
        Ok(Some(Frame {
            tpdu,
            message: body,
        }))
    }

    /// Where the first frame's body lies in `buf` (start, end), if complete.
    fn locate(&self, buf: &[u8]) -> Result<Option<(usize, usize)>, Error> {
        let tpdu_len = self.tpdu.map_or(0, |_| 5);
        let hl = self.header.len();
        let body_len = match self.header {
            Header::None => {
                if buf.len() < tpdu_len {
                    return Ok(None);
                }
                return match message_len(self.format, &buf[tpdu_len..])? {
                    Some(n) => Ok(Some((0, tpdu_len + n))),
                    None if buf.len() > self.header.max_body() => Err(Error::Frame(format!(
                        "no complete message in {} bytes",
                        buf.len()
                    ))),
                    None => Ok(None),
                };
            }
            _ if buf.len() < hl => return Ok(None),
            Header::Binary2 => usize::from(u16::from_be_bytes([buf[0], buf[1]])),
            Header::Ascii4 => std::str::from_utf8(&buf[..4])
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| {
                    Error::Frame(format!(
                        "length header is not 4 digits: 0x{}",
                        hex::encode_upper(&buf[..4])
                    ))
                })?,
        };
        if body_len < tpdu_len + 4 {
            return Err(Error::Frame(format!(
                "frame of {body_len} bytes is shorter than {}an MTI",
                if tpdu_len > 0 { "a TPDU and " } else { "" }
            )));
        }
        match buf.len() >= hl + body_len {
            true => Ok(Some((hl, hl + body_len))),
            false => Ok(None),
        }
    }
}

/// Guesses the framing of one hex-decoded frame for `emvbench decode`: the header that
/// announces exactly the rest of the bytes, else none; a TPDU when the MTI does not start
/// right after the header but 5 bytes later.
pub fn detect(format: Format, data: &[u8]) -> (Header, Option<Tpdu>, usize) {
    let mti_at = |at: usize| {
        data.get(at..at + 4)
            .is_some_and(|m| m.iter().all(u8::is_ascii_digit))
    };
    let with_tpdu = |h: Header, at: usize| {
        if mti_at(at)
            && crate::message::message_len(format, &data[at..])
                .ok()
                .flatten()
                == Some(data.len() - at)
        {
            Some((h, None, at))
        } else if mti_at(at + 5)
            && message_len(format, &data[at + 5..]).ok().flatten() == Some(data.len() - at - 5)
        {
            let mut t = [0u8; 5];
            t.copy_from_slice(&data[at..at + 5]);
            Some((h, Some(Tpdu(t)), at + 5))
        } else {
            None
        }
    };
    let binary2 =
        data.len() >= 2 && usize::from(u16::from_be_bytes([data[0], data[1]])) == data.len() - 2;
    if let Some(r) = binary2.then(|| with_tpdu(Header::Binary2, 2)).flatten() {
        return r;
    }
    let ascii4 = data.len() >= 4
        && std::str::from_utf8(&data[..4])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            == Some(data.len() - 4);
    if let Some(r) = ascii4.then(|| with_tpdu(Header::Ascii4, 4)).flatten() {
        return r;
    }
    with_tpdu(Header::None, 0).unwrap_or((Header::None, None, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"08002000000000000000000001";

    #[test]
    fn headers_wrap_and_take() {
        for header in [Header::Binary2, Header::Ascii4, Header::None] {
            for tpdu in [None, Some(Tpdu([0x60, 0, 1, 0, 2]))] {
                let f = Framing {
                    format: Format::Ascii,
                    header,
                    tpdu,
                };
                let one = f.wrap(None, MSG).unwrap();
                let mut stream = [one.clone(), one.clone()].concat();
                // a partial frame waits
                let mut part = one[..one.len() - 1].to_vec();
                assert_eq!(f.take(&mut part).unwrap(), None, "{header:?}");
                for _ in 0..2 {
                    let fr = f.take(&mut stream).unwrap().unwrap();
                    assert_eq!(fr.message, MSG);
                    assert_eq!(fr.tpdu, tpdu);
                }
                assert!(stream.is_empty());
                assert_eq!(
                    detect(Format::Ascii, &one),
                    (header, tpdu, header.len() + tpdu.map_or(0, |_| 5))
                );
            }
        }
    }

    #[test]
    fn bad_headers_are_errors() {
        let f = Framing {
            format: Format::Ascii,
            header: Header::Ascii4,
            tpdu: None,
        };
        assert!(f.take(&mut b"00x4abcd".to_vec()).is_err());
        assert!(f.take(&mut b"0002ab".to_vec()).is_err());
        assert_eq!(Tpdu([0x60, 1, 2, 3, 4]).reply(), Tpdu([0x60, 3, 4, 1, 2]));
    }
}
