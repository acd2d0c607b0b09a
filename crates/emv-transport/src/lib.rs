//! Transports: how the kernel reaches a card, and how the software card reaches PC/SC.
//!
//! - [`InProcessCard`]: the software card in the same process.
//! - [`pcsc::PcscReader`] (feature `pcsc`): a card in a PC/SC reader, real or virtual.
//! - [`vpcd`]: the other direction, the software card inside vsmartcard's virtual reader
//!   so that any PC/SC program (ours, pcsc_scan, opensc-tool, python-emv) sees it.
//! - [`atr`]: ATR decoding for reader listings.
//!
//! The kernel only sees [`emv_apdu::Transport`]; the T=0 `61xx`/`6Cxx` loop stays in
//! [`emv_apdu::exchange`].
#![forbid(unsafe_code)]

pub mod atr;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod trace;
pub mod vpcd;

use emv_apdu::{Transport, TransportError};
use emv_card::{Card, CardStore};

/// What can go wrong outside a single exchange (those are [`TransportError`]s): reaching
/// vpcd, finding a reader, decoding an ATR.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vpcd address that does not parse or resolve.
    #[error("bad vpcd address {addr:?}: {reason}")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// Why it is bad.
        reason: String,
    },
    /// The TCP link to vpcd failed.
    #[error("vpcd at {addr}: {source}")]
    Vpcd {
        /// vpcd's address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// vpcd sent something the protocol does not have.
    #[error("vpcd protocol: {0}")]
    VpcdProtocol(String),
    /// An ATR that does not decode.
    #[error("ATR: {0}")]
    Atr(String),
    /// The PC/SC service (pcscd) is not running or not reachable.
    #[error(
        "the PC/SC service is not available: {0} (is pcscd running? `pcscd --foreground &` as root, or `systemctl start pcscd.socket`)"
    )]
    NoService(String),
    /// No reader matches the selector.
    #[error("no PC/SC reader matches {selector:?}; readers: {available}")]
    ReaderNotFound {
        /// The index or (sub)name asked for.
        selector: String,
        /// The readers there are, for the message.
        available: String,
    },
    /// Connecting to the card or listing readers failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Any other PC/SC failure, with what was being done.
    #[error("PC/SC {context}: {message}")]
    Pcsc {
        /// The operation.
        context: &'static str,
        /// The PC/SC error.
        message: String,
    },
}

/// The software card in the same process: every C-APDU goes to [`Card::handle`].
#[derive(Debug)]
pub struct InProcessCard<S: CardStore> {
    card: Card<S>,
    /// The card was pulled out: every exchange fails until it is inserted again.
    removed: bool,
}

impl<S: CardStore> InProcessCard<S> {
    /// Wraps a card (inserted and powered).
    pub fn new(card: Card<S>) -> Self {
        Self {
            card,
            removed: false,
        }
    }

    /// The card.
    pub fn card(&self) -> &Card<S> {
        &self.card
    }

    /// The card, mutably (to inspect or change its state between transactions).
    pub fn card_mut(&mut self) -> &mut Card<S> {
        &mut self.card
    }

    /// Pulls the card out of the reader (its volatile state is lost).
    pub fn remove(&mut self) {
        self.removed = true;
        self.card.power_off();
    }

    /// Puts the card back (unpowered until `power_on`).
    pub fn insert(&mut self) {
        self.removed = false;
    }

    /// Gives the card back.
    pub fn into_card(self) -> Card<S> {
        self.card
    }
}

impl<S: CardStore> Transport for InProcessCard<S> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        let r = self.card.handle(capdu);
        if r.len() < 2 {
            // An unpowered card does not answer (ISO/IEC 7816-3: no response).
            return Err(TransportError::CardMute(
                "the card did not answer (not powered?)".into(),
            ));
        }
        Ok(r)
    }

    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        Ok(self.card.power_on())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.power_on()
    }

    fn power_off(&mut self) -> Result<(), TransportError> {
        self.card.power_off();
        Ok(())
    }
}
