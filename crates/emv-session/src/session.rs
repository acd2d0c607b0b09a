//! A session: one card, one issuer host, and the transactions a terminal makes between them.

use emv_apdu::{Transport, TransportError};
use emv_host::{CardRef, HostKeys};
use emv_kernel::{CardState, Kernel, Outcome, PinPad, TransactionParams};

use crate::SessionError;
use crate::card::{CardSlot, CardSpec};
use crate::issuer::IssuerLink;
use crate::provision::{card_provision, card_ref};

/// Where the issuer host of a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    /// In-process, its store in memory: it starts from the card profile every time.
    EmbeddedInMemory,
    /// In-process, its store in a data directory (SQLite, created on first use).
    EmbeddedAt(std::path::PathBuf),
    /// A running `emvbench host serve` at this URL, with this issuer API key.
    Remote {
        /// `http://HOST:PORT`.
        url: String,
        /// The issuer API key of its management API.
        api_key: String,
    },
    /// No issuer: every authorisation fails as "unable to go online".
    None,
}

impl HostSpec {
    /// Opens (or, for a remote host, addresses) the host; `None` for [`HostSpec::None`].
    pub fn open(&self, keys: HostKeys) -> Result<Option<IssuerLink>, SessionError> {
        Ok(match self {
            HostSpec::EmbeddedInMemory => Some(IssuerLink::in_memory(keys)?),
            HostSpec::EmbeddedAt(dir) => Some(IssuerLink::open(dir, keys)?),
            HostSpec::Remote { url, api_key } => Some(IssuerLink::remote(url, api_key)?),
            HostSpec::None => None,
        })
    }
}

/// A card and its issuer host, provisioned to agree.
#[derive(Debug)]
pub struct Session {
    /// The card.
    pub card: CardSlot,
    /// The issuer host (`None`: unreachable).
    pub host: Option<IssuerLink>,
    /// The host's reference to the card (from the software card's profile).
    pub card_ref: Option<CardRef>,
}

impl Session {
    /// Opens the software card of `card` and the host of `host`, and provisions the host
    /// from the card's profile. A freshly personalised card (no state yet) re-issues the
    /// card at the host (its PIN, counters and chip knowledge reset to the profile), so
    /// that the two start in step; a card with saved state only refreshes the host's
    /// keys and limits, keeping its counters.
    pub fn open(card: &CardSpec, host: &HostSpec, keys: HostKeys) -> Result<Self, SessionError> {
        Self::open_with(card, host.open(keys)?)
    }

    /// Like [`Session::open`], with a host that is already open (to change the card of a
    /// session and keep its host: `Session::open_with(&spec, old.host.take())`).
    pub fn open_with(card: &CardSpec, host: Option<IssuerLink>) -> Result<Self, SessionError> {
        let (soft, fresh) = card.open()?;
        let perso = soft.card().personalisation();
        let provision = card_provision(perso)?;
        let card_ref = card_ref(perso);
        let mut session = Session {
            card: CardSlot::Soft(Box::new(soft)),
            host,
            card_ref: Some(card_ref),
        };
        if let Some(h) = &mut session.host {
            h.provision(&provision, fresh)?;
        }
        Ok(session)
    }

    /// A session over a card reached only through APDUs (a reader, a trace) and `host`.
    pub fn external(card: Box<dyn Transport + Send>, host: Option<IssuerLink>) -> Self {
        Session {
            card: CardSlot::External(card),
            host,
            card_ref: None,
        }
    }

    /// Runs one transaction: powers the card on, runs the kernel, powers it off, and fills
    /// the outcome's `card` (software card) and `host` parts. A card that cannot be powered
    /// on is an error; anything the card does after that ends in the outcome.
    pub fn transact(
        &mut self,
        kernel: &Kernel,
        pinpad: &mut dyn PinPad,
        params: &TransactionParams,
    ) -> Result<Outcome, SessionError> {
        self.transact_observed(kernel, pinpad, params, &mut NoObserver)
    }

    /// [`Session::transact`] with every exchange shown to `observer` as it happens (a live
    /// APDU log), which may also make an exchange fail (a card pulled out mid-transaction).
    pub fn transact_observed(
        &mut self,
        kernel: &Kernel,
        pinpad: &mut dyn PinPad,
        params: &TransactionParams,
        observer: &mut dyn ExchangeObserver,
    ) -> Result<Outcome, SessionError> {
        let mut card = Observed {
            card: &mut self.card,
            observer,
        };
        card.power_on()?;
        let mut outcome = match &mut self.host {
            Some(h) => kernel.run(&mut card, pinpad, h, params)?,
            None => kernel.run(
                &mut card,
                pinpad,
                &mut emv_kernel::testing::TestHost::unreachable(),
                params,
            )?,
        };
        // The card leaves the field: its volatile state goes (ISO/IEC 7816-3 deactivation).
        let _ = card.power_off();
        outcome.card = self.card_state();
        outcome.host = self.host_state()?;
        Ok(outcome)
    }

    /// The card part of the outcome object (software card only).
    pub fn card_state(&self) -> Option<CardState> {
        self.card.status().map(|s| CardState {
            pin_try_counter: s.pin_try_counter,
            pin_try_limit: s.pin_try_limit,
            app_blocked: s.app_blocked,
            card_blocked: s.card_blocked,
            atc: u32::from(s.atc),
        })
    }

    /// The host part of the outcome object.
    pub fn host_state(&mut self) -> Result<Option<emv_kernel::HostState>, SessionError> {
        match (&mut self.host, &self.card_ref) {
            (Some(h), Some(r)) => Ok(Some(h.state(r)?)),
            _ => Ok(None),
        }
    }
}

/// Sees every exchange of [`Session::transact_observed`] as it happens.
pub trait ExchangeObserver {
    /// Before `capdu` goes to `card`. An error fails the exchange without reaching the card
    /// (for a software card pulled out of the reader: remove it and answer
    /// [`TransportError::CardRemoved`]).
    fn before(&mut self, card: &mut CardSlot, capdu: &[u8]) -> Result<(), TransportError> {
        let _ = (card, capdu);
        Ok(())
    }

    /// After the exchange, with the card's answer (or the transport's error).
    fn after(&mut self, card: &CardSlot, capdu: &[u8], result: &Result<Vec<u8>, TransportError>) {
        let _ = (card, capdu, result);
    }
}

/// The observer of [`Session::transact`]: sees nothing.
struct NoObserver;

impl ExchangeObserver for NoObserver {}

/// The session's card with an observer on the line.
struct Observed<'a> {
    card: &'a mut CardSlot,
    observer: &'a mut dyn ExchangeObserver,
}

impl Transport for Observed<'_> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = match self.observer.before(self.card, capdu) {
            Ok(()) => self.card.transmit(capdu),
            Err(e) => Err(e),
        };
        self.observer.after(self.card, capdu, &result);
        result
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card.power_on()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card.reset()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        self.card.power_off()
    }
}
