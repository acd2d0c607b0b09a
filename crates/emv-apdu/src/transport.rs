//! The seam between a terminal and a card: [`Transport`] moves one C-APDU and its R-APDU;
//! [`exchange`] is the one place that owns the T=0 `61xx` (GET RESPONSE) and `6Cxx`
//! (re-send with the right Le) loops (ISO/IEC 7816-3 §12.2, EMV 4.4 Book 1 §9.3.1.3), so
//! a kernel sees whole responses whether the card sits in-process, in a PC/SC reader or in
//! a replayed trace.

use thiserror::Error;

use crate::command::CommandView;
use crate::commands;
use crate::response::Response;
use crate::status::StatusWord;

/// Why a transport could not deliver an exchange. The transaction ends when this happens
/// (EMV 4.4 Book 4 §11.1: a card that does not answer terminates it).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The card was removed (or powered off) before or during the exchange.
    #[error("card removed")]
    CardRemoved,
    /// There is no card in the reader (PC/SC `SCARD_E_NO_SMARTCARD`).
    #[error("no card in the reader")]
    NoCard,
    /// The card did not answer in time.
    #[error("card mute: {0}")]
    CardMute(String),
    /// The reader (or the other end of the link) is gone.
    #[error("reader unavailable: {0}")]
    ReaderUnavailable(String),
    /// Another application holds the card exclusively.
    #[error("sharing violation: {0}")]
    SharingViolation(String),
    /// The answer is not an R-APDU (fewer than 2 bytes, too long, ...).
    #[error("malformed response: {0}")]
    MalformedResponse(String),
    /// A replayed trace and the live side disagree.
    #[error("trace mismatch: {0}")]
    TraceMismatch(String),
    /// Anything else the transport reports.
    #[error("{0}")]
    Other(String),
}

/// Moves one APDU to the card and back. Implementations do not interpret status words:
/// the `61xx`/`6Cxx` handling lives in [`exchange`].
pub trait Transport {
    /// Sends `capdu`, returns the raw R-APDU (data and SW1 SW2).
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// Powers the card up (cold reset) and returns the ATR. The default has no ATR.
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(Vec::new())
    }

    /// Warm reset: the card forgets its volatile state; returns the ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.power_on()
    }

    /// Powers the card down.
    fn power_off(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(capdu)
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).power_on()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        (**self).power_off()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(capdu)
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).power_on()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        (**self).power_off()
    }
}

/// At most this many GET RESPONSE / re-send rounds for one command; a card that keeps
/// answering `61xx` beyond it is treated as malfunctioning.
pub const MAX_CHAINED_RESPONSES: usize = 32;

/// Sends `capdu` and returns the complete response: `61xx` is followed by GET RESPONSE
/// (accumulating the data), `6Cxx` by the same command with Le = xx (ISO/IEC 7816-3
/// §12.2.2–12.2.3; EMV 4.4 Book 1 §9.3.1.3). The returned status word is the last one.
///
/// Each R-APDU that completes normally or with a warning may carry at most the Ne its
/// C-APDU allows: Le, `00` meaning 256, and no data at all without Le (ISO/IEC 7816-4
/// §5.1; EMV 4.4 Book 1 §9.2). More is a card error ([`TransportError::MalformedResponse`]): a real terminal's receive buffer is
/// sized for what it asked.
pub fn exchange<T: Transport + ?Sized>(
    transport: &mut T,
    capdu: &[u8],
) -> Result<Response, TransportError> {
    let mut data = Vec::new();
    let mut sent = capdu.to_vec();
    let mut raw = transport.transmit(&sent)?;
    for _ in 0..MAX_CHAINED_RESPONSES {
        let resp =
            Response::parse(&raw).map_err(|e| TransportError::MalformedResponse(e.to_string()))?;
        // the data a normal or warning status word delivers must fit Ne; an error status
        // word is handled as such whatever precedes it (ISO/IEC 7816-4 §5.6: 64xx-6Fxx
        // are errors, processing aborted)
        if matches!(u16::from(resp.sw) >> 8, 0x90 | 0x61 | 0x62 | 0x63) {
            check_ne(&sent, resp.data.len())?;
        }
        match resp.sw {
            StatusWord::MoreData(n) => {
                data.extend_from_slice(&resp.data);
                sent = commands::get_response(n)
                    .to_bytes()
                    .map_err(|e| TransportError::Other(e.to_string()))?;
                raw = transport.transmit(&sent)?;
            }
            // re-send the same command with Le = n (its old Le, if any, replaced)
            StatusWord::WrongLe(n) if capdu.len() >= 4 => {
                sent = resend_with_le(capdu, n);
                raw = transport.transmit(&sent)?;
            }
            _ => {
                data.extend_from_slice(&resp.data);
                return Ok(Response::new(data, resp.sw));
            }
        }
    }
    Err(TransportError::MalformedResponse(format!(
        "more than {MAX_CHAINED_RESPONSES} chained 61xx/6Cxx answers"
    )))
}

/// Refuses `len` response data bytes to `capdu` when its Ne allows fewer (ISO/IEC 7816-4
/// §5.1: Ne is Le, `00` is 256; no Le, no data). A C-APDU that does not parse is not
/// judged here (the card answers it with a status word).
fn check_ne(capdu: &[u8], len: usize) -> Result<(), TransportError> {
    let Ok(view) = CommandView::parse(capdu) else {
        return Ok(());
    };
    let ne = view.ne.unwrap_or(0);
    if len <= ne {
        return Ok(());
    }
    let asked = match view.ne {
        None => "no Le, so no data".to_owned(),
        Some(n) => format!("Le allows {n}"),
    };
    Err(TransportError::MalformedResponse(format!(
        "the card answered {len} data bytes to a command that asked for at most {ne} \
         ({asked}; ISO/IEC 7816-4 §5.1, EMV 4.4 Book 1 §9.2)"
    )))
}

/// The same command with its short Le replaced by `le` (added if it had none).
fn resend_with_le(capdu: &[u8], le: u8) -> Vec<u8> {
    let mut out = capdu.to_vec();
    match capdu.len() {
        4 => out.push(le),
        5 => out[4] = le,
        n => {
            let lc = usize::from(capdu[4]);
            if n == 5 + lc + 1 {
                out[n - 1] = le;
            } else {
                out.push(le);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card that answers from a script and records what it was sent.
    struct Scripted {
        answers: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Transport for Scripted {
        fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.sent.push(capdu.to_vec());
            if self.answers.is_empty() {
                return Err(TransportError::CardMute("script exhausted".into()));
            }
            Ok(self.answers.remove(0))
        }
    }

    #[test]
    fn get_response_loop_accumulates_data() {
        let mut t = Scripted {
            answers: vec![
                vec![0x61, 0x02],
                vec![0xAA, 0xBB, 0x61, 0x01],
                vec![0xCC, 0x90, 0x00],
            ],
            sent: Vec::new(),
        };
        let r = exchange(&mut t, &[0x00, 0xA4, 0x04, 0x00, 0x01, 0xA0]).unwrap();
        assert_eq!(r.data, [0xAA, 0xBB, 0xCC]);
        assert_eq!(r.sw, StatusWord::Success);
        assert_eq!(t.sent[1], [0x00, 0xC0, 0x00, 0x00, 0x02]);
        assert_eq!(t.sent[2], [0x00, 0xC0, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn wrong_le_resends_with_exact_le() {
        let mut t = Scripted {
            answers: vec![vec![0x6C, 0x05], vec![1, 2, 3, 4, 5, 0x90, 0x00]],
            sent: Vec::new(),
        };
        let r = exchange(&mut t, &[0x00, 0xB2, 0x01, 0x0C, 0x00]).unwrap();
        assert_eq!(r.data, [1, 2, 3, 4, 5]);
        assert_eq!(t.sent[1], [0x00, 0xB2, 0x01, 0x0C, 0x05]);
    }

    #[test]
    fn endless_chaining_is_an_error_not_a_hang() {
        let mut t = Scripted {
            answers: vec![vec![0x61, 0x01]; MAX_CHAINED_RESPONSES + 2],
            sent: Vec::new(),
        };
        assert!(matches!(
            exchange(&mut t, &[0x00, 0x84, 0x00, 0x00, 0x00]),
            Err(TransportError::MalformedResponse(_))
        ));
    }

    #[test]
    fn more_data_than_the_command_allows_is_a_card_error() {
        // a 311-byte record to READ RECORD with Le = 00 (at most 256)
        let mut long = vec![0x70; 311];
        long.extend_from_slice(&[0x90, 0x00]);
        // 6 bytes to Le = 05; data to a command without Le (VERIFY); data to GET RESPONSE
        // beyond its Le
        let cases: [(&[u8], Vec<Vec<u8>>); 4] = [
            (&[0x00, 0xB2, 0x01, 0x1C, 0x00], vec![long]),
            (
                &[0x00, 0xB2, 0x01, 0x0C, 0x05],
                vec![vec![1, 2, 3, 4, 5, 6, 0x90, 0x00]],
            ),
            (
                &[
                    0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                ],
                vec![vec![0x01, 0x90, 0x00]],
            ),
            (
                &[0x00, 0xA4, 0x04, 0x00, 0x01, 0xA0],
                vec![vec![0x61, 0x02], vec![0xAA, 0xBB, 0xCC, 0x90, 0x00]],
            ),
        ];
        for (capdu, answers) in cases {
            let mut t = Scripted {
                answers,
                sent: Vec::new(),
            };
            match exchange(&mut t, capdu) {
                Err(TransportError::MalformedResponse(m)) => {
                    assert!(m.contains("ISO/IEC 7816-4 §5.1"), "{m}");
                }
                other => panic!("{capdu:02X?}: {other:?}"),
            }
        }
        // exactly Ne, and 256 bytes to Le = 00, are fine
        let mut full = vec![0x70; 256];
        full.extend_from_slice(&[0x90, 0x00]);
        let mut t = Scripted {
            answers: vec![full, vec![1, 2, 3, 4, 5, 0x90, 0x00]],
            sent: Vec::new(),
        };
        assert_eq!(
            exchange(&mut t, &[0x00, 0xB2, 0x01, 0x1C, 0x00])
                .unwrap()
                .data
                .len(),
            256
        );
        assert_eq!(
            exchange(&mut t, &[0x00, 0xB2, 0x01, 0x0C, 0x05])
                .unwrap()
                .data
                .len(),
            5
        );
    }

    #[test]
    fn short_answer_is_malformed() {
        let mut t = Scripted {
            answers: vec![vec![0x90]],
            sent: Vec::new(),
        };
        assert!(matches!(
            exchange(&mut t, &[0x00, 0x84, 0x00, 0x00, 0x00]),
            Err(TransportError::MalformedResponse(_))
        ));
    }
}
