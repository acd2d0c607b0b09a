//! A session: one card, one issuer host, and the transactions a terminal makes between them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use emv_apdu::{Transport, TransportError};
use emv_auth::{Advice, AuthRequest, AuthResponse, Host, HostError};
use emv_host::{CardRef, HostKeys};
use emv_kernel::{CardState, Kernel, Outcome, PinPad, TransactionParams};
use emv_transport::trace::{Event, Recorder, Trace};

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
    /// Opens (or reaches) the host; `None` for [`HostSpec::None`].
    pub fn connect(&self, keys: HostKeys) -> Result<Option<IssuerLink>, SessionError> {
        Ok(match self {
            HostSpec::EmbeddedInMemory => Some(IssuerLink::in_memory(keys)?),
            HostSpec::EmbeddedAt(dir) => Some(IssuerLink::open(dir, keys)?),
            HostSpec::Remote { url, api_key } => Some(IssuerLink::remote(url, api_key)?),
            HostSpec::None => None,
        })
    }
}

/// When the card is pulled out of the reader during the next transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// As soon as the issuer has answered: before the issuer scripts and the second
    /// GENERATE AC reach the card (MISSION.md case 3, "script delivery failed").
    AfterAuthorisation,
    /// Before the n-th command (1-based) of the transaction.
    BeforeCommand(usize),
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
    /// Where the exchanges are recorded, if anywhere.
    pub trace: Option<Arc<Mutex<Trace>>>,
    /// A card pull armed for the next transaction.
    pub pull: Option<Pull>,
}

impl Session {
    /// Opens the software card of `card` and the host of `host`, and provisions the host
    /// from the card's profile. A freshly personalised card (no state yet) re-issues the
    /// card at the host (its PIN, counters and chip knowledge reset to the profile), so
    /// that the two start in step; a card with saved state only refreshes the host's
    /// keys and limits, keeping its counters.
    pub fn open(card: &CardSpec, host: &HostSpec, keys: HostKeys) -> Result<Self, SessionError> {
        Self::with_host(card, host.connect(keys)?)
    }

    /// Like [`Session::open`], with a host the caller made (e.g. an embedded issuer with
    /// a seeded PIN generator).
    pub fn with_host(card: &CardSpec, host: Option<IssuerLink>) -> Result<Self, SessionError> {
        let (soft, fresh) = card.open()?;
        let perso = soft.card().personalisation();
        let provision = card_provision(perso)?;
        let card_ref = card_ref(perso);
        let mut session = Session {
            card: CardSlot::Soft(Box::new(soft)),
            host,
            card_ref: Some(card_ref),
            trace: None,
            pull: None,
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
            trace: None,
            pull: None,
        }
    }

    /// Starts recording every exchange (and the host's answers) into a new trace.
    pub fn record(&mut self) -> Arc<Mutex<Trace>> {
        let t = Arc::new(Mutex::new(Trace::default()));
        self.trace = Some(Arc::clone(&t));
        t
    }

    /// Adds a marker to the trace, if recording.
    pub fn mark(&self, name: &str, args: &[&str], fields: &[(&str, String)]) {
        if let Some(t) = &self.trace {
            t.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .marker(name, args, fields);
        }
    }

    /// Adds the trace's `@card` marker (what a replay personalises), if recording.
    pub fn mark_card(&self, spec: &CardSpec, seed: u64) {
        let fields = emv_transport::trace::card_fields(&spec.profile, seed, &spec.overrides);
        self.mark("card", &[], &fields);
    }

    /// Adds the `@end` marker of a transaction (its outcome, for people reading the trace).
    pub fn mark_end(&self, o: &Outcome) {
        self.mark(
            "end",
            &[],
            &[
                ("outcome", o.outcome.name().to_string()),
                ("tvr", o.tvr.clone()),
                ("cvm-results", o.cvm_results.clone()),
            ],
        );
    }

    /// Runs one transaction: powers the card on, runs the kernel, powers it off, and fills
    /// the outcome's `card` (software card) and `host` parts. A card that cannot be powered
    /// on is an error; anything the card does after that ends in the outcome. A pulled
    /// card is put back afterwards, ready for the next transaction.
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
        let pull = self.pull.take();
        let pulled = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicBool::new(false));
        let mut card = Tap {
            rec: Recorder::new(&mut self.card, self.trace.clone()),
            pull,
            commands: 0,
            answered: Arc::clone(&answered),
            pulled: Arc::clone(&pulled),
            observer,
        };
        card.power_on()?;
        let mut unreachable = emv_kernel::testing::TestHost::unreachable();
        let inner: &mut dyn Host = match &mut self.host {
            Some(h) => h,
            None => &mut unreachable,
        };
        let mut host = HostTap {
            inner,
            trace: self.trace.clone(),
            answered,
        };
        let mut outcome = kernel.run(&mut card, pinpad, &mut host, params)?;
        // The card leaves the field: its volatile state goes (ISO/IEC 7816-3 deactivation).
        let _ = card.power_off();
        if pulled.load(Ordering::SeqCst)
            && let Some(soft) = self.card.soft_mut()
        {
            soft.insert();
        }
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

/// The card as the kernel sees it in a session: recorded, observed, and pulled out when
/// planned.
struct Tap<'a> {
    rec: Recorder<&'a mut CardSlot>,
    pull: Option<Pull>,
    commands: usize,
    answered: Arc<AtomicBool>,
    pulled: Arc<AtomicBool>,
    observer: &'a mut dyn ExchangeObserver,
}

impl Tap<'_> {
    fn pull_now(&mut self) -> bool {
        if self.pulled.load(Ordering::SeqCst) {
            return true;
        }
        let due = match self.pull {
            Some(Pull::AfterAuthorisation) => self.answered.load(Ordering::SeqCst),
            Some(Pull::BeforeCommand(n)) => self.commands >= n,
            None => false,
        };
        if due {
            self.pulled.store(true, Ordering::SeqCst);
            if let Some(soft) = self.rec.inner_mut().soft_mut() {
                soft.remove();
            }
            self.rec.push(Event::Removed);
        }
        due
    }
}

impl Transport for Tap<'_> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.commands += 1;
        let result = if self.pull_now() {
            Err(TransportError::CardRemoved)
        } else {
            match self.observer.before(self.rec.inner_mut(), capdu) {
                Ok(()) => self.rec.transmit(capdu),
                Err(e) => Err(e),
            }
        };
        self.observer.after(self.rec.inner(), capdu, &result);
        result
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        self.rec.power_on()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.rec.reset()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        if self.pulled.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.rec.power_off()
    }
}

/// The host as the kernel sees it in a session: its answers recorded (they hold no PIN),
/// and the moment it answered known (for [`Pull::AfterAuthorisation`]).
struct HostTap<'a> {
    inner: &'a mut dyn Host,
    trace: Option<Arc<Mutex<Trace>>>,
    answered: Arc<AtomicBool>,
}

impl Host for HostTap<'_> {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        let r = self.inner.authorise(request);
        if let Some(t) = &self.trace {
            let text = match &r {
                Ok(resp) => {
                    // The authorisation code is random and never reaches the card: left
                    // out so that a recorded trace is the same on every run.
                    let mut v = serde_json::to_value(resp).unwrap_or_default();
                    if let Some(m) = v.as_object_mut() {
                        m.remove("auth_code");
                    }
                    v.to_string()
                }
                Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
            };
            t.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Event::Host(text));
        }
        self.answered.store(true, Ordering::SeqCst);
        r
    }
    fn advise(&mut self, advice: &Advice) -> Result<(), HostError> {
        self.inner.advise(advice)
    }
}
