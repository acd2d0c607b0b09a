//! A card, a terminal and an issuer host wired together.
//!
//! - [`card`]: the software card of a session ([`CardSpec`] → [`SoftCard`]), or any other
//!   transport;
//! - [`issuer`]: the issuer host, embedded or remote ([`IssuerLink`]);
//! - [`provision`]: the host's provisioning record taken from the card's profile, so that a
//!   card and its host agree out of the box;
//! - [`session`]: one card and its host, and the transactions between them
//!   ([`Session::transact`]);
//! - [`report`]: the readable transaction report of `emvbench run`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod bench;
pub mod card;
pub mod error;
pub mod issuer;
pub mod junit;
pub mod provision;
pub mod record;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod session;

pub use card::{CardSlot, CardSpec, SoftCard};
pub use error::SessionError;
pub use issuer::IssuerLink;
pub use provision::{card_provision, card_ref, format_amount, parse_amount};
pub use session::{HostSpec, Pull, Session, SessionObserver, TraceLabel};
