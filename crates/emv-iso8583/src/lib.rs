//! ISO 8583:1987 on the wire for the issuer host and the terminal (docs/iso8583.md):
//!
//! - [`spec`]: the 128 data elements, laid out exactly as pyiso8583's stock
//!   `default_ascii` ([`Format::Ascii`]) and `default` ([`Format::Binary`]) tables;
//! - [`Message`]: the codec (MTI, bitmaps, fields), errors naming the field;
//! - [`frame`]: the length header (`2b`, `4a`, none) and the optional TPDU;
//! - [`mac`]: ISO/IEC 9797-1 MAC algorithm 3 in DE 64/128;
//! - [`map`]: messages ↔ the emv-auth types, and [`map::parse_request`] / [`map::answer`]
//!   for a dispatcher.
//!
//! Pure: no I/O.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines, clippy::unwrap_used))]

mod error;
pub mod frame;
pub mod mac;
pub mod map;
pub mod message;
pub mod spec;

pub use error::Error;
pub use frame::{Frame, Framing, Header, Tpdu};
pub use map::{NetworkCode, Request};
pub use message::{Message, Mti};
pub use spec::Format;

/// The response MTI of a request (request + 10, repeats answered as originals:
/// `0100` → `0110`, `0421` → `0430`), `None` for a message that is itself an answer.
/// A malformed message whose MTI is readable is answered with this MTI and DE 39 = `30`.
pub fn response_mti(request: Mti) -> Option<Mti> {
    request.response()
}
