//! Transports: how the kernel reaches a card, and how the software card reaches PC/SC.
//!
//! - [`InProcessCard`]: the software card in the same process.
//! - [`pcsc::PcscReader`] (feature `pcsc`): a card in a PC/SC reader, real or virtual.
//! - [`vpcd`]: the other direction, the software card inside vsmartcard's virtual reader
//!   so that any PC/SC program (ours, pcsc_scan, opensc-tool, python-emv) sees it.
//! - [`atr`]: ATR decoding for reader listings.
//! - [`Pullable`]: any card that can be pulled out of the reader mid-transaction (by a
//!   person at the TUI, a scenario step, a test), obeying one shared [`CardPresence`].
//!
//! The kernel only sees [`emv_apdu::Transport`]; the T=0 `61xx`/`6Cxx` loop stays in
//! [`emv_apdu::exchange`].
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod atr;
pub mod import;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod trace;
pub mod vpcd;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// A card that can be taken out of the reader (and put back).
pub trait Removable {
    /// Takes the card out: its power and volatile state are lost (ISO/IEC 7816-3
    /// deactivation); every exchange fails until it is put back.
    fn remove(&mut self);
    /// Puts the card back, unpowered.
    fn insert(&mut self);
}

impl<R: Removable + ?Sized> Removable for &mut R {
    fn remove(&mut self) {
        (**self).remove();
    }
    fn insert(&mut self) {
        (**self).insert();
    }
}

impl<S: CardStore> Removable for InProcessCard<S> {
    fn remove(&mut self) {
        InProcessCard::remove(self);
    }
    fn insert(&mut self) {
        InProcessCard::insert(self);
    }
}

/// The flag "the card is out of the reader", shared between whoever pulls the card (a
/// person at the TUI, a scenario step, a test) and the [`Pullable`] transport that obeys
/// it. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CardPresence(Arc<AtomicBool>);

impl CardPresence {
    /// Pulls the card out: the next exchange fails.
    pub fn pull(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Puts it back.
    pub fn insert(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
    /// Whether it is out.
    pub fn pulled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A card that can be pulled out of the reader at any moment. Once its [`CardPresence`]
/// says "pulled", the next command takes the card out ([`Removable::remove`]) and fails
/// with [`TransportError::CardRemoved`] without reaching it, as does every one after it
/// until the card is back: a card leaving the field ends the card session (EMV 4.4 Book 1
/// §6.1), whatever the kernel was doing.
#[derive(Debug)]
pub struct Pullable<T> {
    inner: T,
    presence: CardPresence,
}

impl<T: Transport + Removable> Pullable<T> {
    /// `inner`, pulled out whenever `presence` says so.
    pub fn new(inner: T, presence: CardPresence) -> Self {
        Self { inner, presence }
    }

    /// The card.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The card, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Whether the card is out now (taking it out if it was just pulled).
    fn out(&mut self) -> bool {
        let out = self.presence.pulled();
        if out {
            self.inner.remove();
        }
        out
    }
}

impl<T: Transport + Removable> Transport for Pullable<T> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.out() {
            return Err(TransportError::CardRemoved);
        }
        self.inner.transmit(capdu)
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.out() {
            return Err(TransportError::CardRemoved);
        }
        self.inner.power_on()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.out() {
            return Err(TransportError::CardRemoved);
        }
        self.inner.reset()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        // a card out of the reader has no power to switch off
        if self.out() {
            return Ok(());
        }
        self.inner.power_off()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc as StdArc;

    fn card() -> InProcessCard<emv_card::MemoryStore> {
        let perso = emv_card::Personalisation::load("visa-cvn18", &[]).unwrap();
        InProcessCard::new(Card::in_memory(StdArc::new(perso)).unwrap())
    }

    #[test]
    fn a_pulled_card_fails_every_exchange_until_it_is_back() {
        let presence = CardPresence::default();
        let mut c = Pullable::new(card(), presence.clone());
        c.power_on().unwrap();
        let select = [0x00, 0xA4, 0x04, 0x00, 0x0E];
        let mut pse = select.to_vec();
        pse.extend_from_slice(b"1PAY.SYS.DDF01");
        pse.push(0x00);
        assert!(c.transmit(&pse).is_ok());
        presence.pull();
        assert_eq!(c.transmit(&pse), Err(TransportError::CardRemoved));
        assert_eq!(c.power_on(), Err(TransportError::CardRemoved));
        assert_eq!(c.power_off(), Ok(()));
        // the card itself is out, not only the wrapper
        presence.insert();
        assert_eq!(
            c.inner_mut().transmit(&pse),
            Err(TransportError::CardRemoved)
        );
        c.inner_mut().insert();
        c.power_on().unwrap();
        assert!(c.transmit(&pse).is_ok());
    }
}
