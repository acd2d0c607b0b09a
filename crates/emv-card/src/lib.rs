//! A software EMV contact card: the applet model at the centre of emvbench.
//!
//! * [`Card::handle`] takes a C-APDU and returns the R-APDU. Every command of EMV 4.4
//!   Book 3 §6.5 that a PIN flow needs is implemented (SELECT, GET PROCESSING OPTIONS,
//!   READ RECORD, GET DATA, GET CHALLENGE, VERIFY plaintext and enciphered, INTERNAL and
//!   EXTERNAL AUTHENTICATE, GENERATE AC with CDA, and the post-issuance commands with
//!   secure messaging); anything else gets the right status word, never a panic.
//! * [`Personalisation`] is built from a TOML card profile ([`profile`]), with per-tag
//!   overrides ([`TagOverride`]) and fault injection ([`fault`]).
//! * [`CardStore`] keeps the persistent [`CardState`]: [`MemoryStore`], or
//!   [`FileStore`] which writes atomically. The PIN Try Counter is decremented and made
//!   durable before the PIN is compared, so a crash never grants an extra try.
//!
//! ```
//! use std::sync::Arc;
//! use emv_card::{Card, Personalisation};
//!
//! let perso = Personalisation::load("visa-cvn18", &[])?;
//! let mut card = Card::in_memory(Arc::new(perso))?;
//! let fci = card.handle(&[0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0x00]);
//! assert_eq!(&fci[fci.len() - 2..], [0x90, 0x00]);
//! # Ok::<(), emv_card::CardError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

mod card;
mod commands;
mod cvr;
pub mod error;
pub mod fault;
mod log;
mod perso;
pub mod profile;
mod rng;
mod sizes;
mod stand_in;
pub mod state;
pub mod store;

pub use card::{ATR, ATR_T1, Card, CardStatus, SHORT_NE_MAX};
pub use error::CardError;
pub use log::LogEntry;
pub use perso::{
    Application, AtrChoice, Personalisation, TagOverride, static_data_to_authenticate,
};
pub use rng::CardRng;
pub use state::{CardState, STATE_VERSION};
pub use store::{CardStore, FileStore, MemoryStore, WriteHook, WritePoint};
