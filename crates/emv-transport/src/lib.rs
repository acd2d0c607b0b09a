//! Transports: how the kernel reaches a card. This crate starts with the in-process
//! software card ([`InProcessCard`]); the PC/SC reader, the vpcd front end and trace
//! record/replay join it later. The kernel only sees [`emv_apdu::Transport`].
#![forbid(unsafe_code)]

pub mod trace;

use emv_apdu::{Transport, TransportError};
use emv_card::{Card, CardStore};

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
