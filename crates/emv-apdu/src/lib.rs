//! ISO/IEC 7816-4 APDUs as EMV uses them.
//!
//! * [`CommandView`] parses a C-APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E of ISO/IEC 7816-4
//!   §5.1) without copying; every malformed form is a precise [`ApduError`].
//! * [`Command`] builds and encodes one, choosing short or extended length fields;
//!   `CommandView::parse(&c.to_bytes()?)` gives `c` back.
//! * [`Response`] / [`ResponseView`]: `data SW1 SW2`.
//! * [`StatusWord`] decodes SW1 SW2 once into an enum with data (`63Cx` → tries left),
//!   with the EMV meaning and the issuer-script success rule of EMV 4.4 Book 3 §10.10.
//! * [`commands`] builds every command the card, the kernel and issuer scripts exchange
//!   (EMV 4.4 Book 3 §6.5, Book 1 for SELECT and GET RESPONSE).
//! * [`KnownCommand`] recognises them again on the card side; [`describe`] names any
//!   C-APDU for people and redacts the PIN-bearing ones (the one owner of both).
//! * [`Cla`] decodes the class byte (chaining, secure messaging, channel).
//! * [`Transport`] is the terminal/card seam; [`exchange`] owns the T=0 `61xx`/`6Cxx` loop.
//!
//! Pure: no I/O (transports are implemented elsewhere), no dependency besides emv-tlv.
//!
//! ```
//! use emv_apdu::{CommandView, KnownCommand, Response, StatusWord, commands};
//!
//! // Terminal side: build and encode.
//! let apdu = commands::read_record(1, 1)?.to_bytes()?;
//! assert_eq!(apdu, [0x00, 0xB2, 0x01, 0x0C, 0x00]);
//!
//! // Card side: parse and dispatch.
//! let view = CommandView::parse(&apdu)?;
//! assert_eq!(view.identify(), Some(KnownCommand::ReadRecord { sfi: 1, record: 1 }));
//! let answer = Response::status(StatusWord::RecordNotFound).to_bytes();
//! assert_eq!(answer, [0x6A, 0x83]);
//!
//! // Terminal again: decode the status once.
//! let sw = Response::parse(&[0x63, 0xC2])?.sw;
//! assert_eq!(sw.tries_left(), Some(2));
//! assert_eq!(sw.meaning(), "Wrong PIN, 2 tries left");
//! # Ok::<(), emv_apdu::ApduError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod cla;
pub mod command;
pub mod commands;
pub mod describe;
pub mod error;
pub mod known;
pub mod response;
pub mod status;
pub mod transport;

pub use cla::{Cla, SecureMessaging};
pub use command::{
    ApduCase, Command, CommandView, LengthForm, MAX_NC, MAX_NE, MAX_SHORT_NC, MAX_SHORT_NE,
    ne_from_extended_le, ne_from_short_le, short_le,
};
pub use commands::{AcType, PinChangeMode, ReferenceControl, SelectOccurrence};
pub use error::ApduError;
pub use known::{KnownCommand, ins_name};
pub use response::{Response, ResponseView};
pub use status::StatusWord;
pub use transport::{Transport, TransportError, exchange};
