//! A session: one card, one issuer host, and the transactions a terminal makes between them.

use std::cell::Cell;

use emv_apdu::{Transport, TransportError};
use emv_auth::{Host, NoHost};
use emv_card::CardStatus;
use emv_host::{CardRef, HostKeys};
use emv_kernel::{CardState, Event, Kernel, Observer, Outcome, PinPad, TransactionParams};
use emv_transport::trace::Trace;
use emv_transport::{CardPresence, Pullable};

use crate::SessionError;
use crate::card::{CardSlot, CardSpec, SoftCard};
use crate::issuer::IssuerLink;
use crate::provision::{card_provision, card_ref};
use crate::record::TraceRecorder;
use emv_host::Iso8583Options;

/// Where the issuer host of a session is. `Debug` shows no key.
#[derive(Clone, PartialEq, Eq)]
pub enum HostSpec {
    /// In-process, its store in memory: it starts from the card profile every time.
    EmbeddedInMemory,
    /// In-process, its store in a data directory (SQLite, created on first use).
    EmbeddedAt(std::path::PathBuf),
    /// In-process, its store in a PostgreSQL database (`postgres://USER@HOST/DB`), which
    /// other host processes may share.
    EmbeddedDb(String),
    /// A running `emvbench host serve` at this URL, with this issuer API key and acquirer
    /// key.
    Remote {
        /// `http://HOST:PORT`.
        url: String,
        /// The issuer API key of its management API.
        api_key: String,
        /// The acquirer key of its network routes (authorisation, advice); `None` for a
        /// host serving them `--insecure-network`.
        acquirer_key: Option<String>,
    },
    /// An issuer's ISO 8583 port (`iso8583://HOST:PORT`), and optionally the HTTP
    /// management API of the same host.
    Iso8583 {
        /// `HOST:PORT`.
        addr: String,
        /// Layout, length header, TPDU.
        framing: emv_iso8583::Framing,
        /// The key file's `[[iso8583_links]]` entry whose MAC key signs the messages
        /// (`None`: the first).
        link: Option<String>,
        /// No MAC (a host serving `--insecure-network`).
        insecure: bool,
        /// The management API (`http://HOST:PORT`) and its issuer API key.
        api: Option<(String, String)>,
    },
    /// No issuer: every authorisation fails as "unable to go online".
    None,
}

impl std::fmt::Debug for HostSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmbeddedInMemory => f.write_str("EmbeddedInMemory"),
            Self::EmbeddedAt(d) => f.debug_tuple("EmbeddedAt").field(d).finish(),
            Self::EmbeddedDb(url) => f
                .debug_tuple("EmbeddedDb")
                .field(&emv_host::redact_url(url))
                .finish(),
            Self::Remote { url, .. } => f
                .debug_struct("Remote")
                .field("url", url)
                .finish_non_exhaustive(),
            Self::Iso8583 {
                addr,
                framing,
                link,
                insecure,
                api,
            } => f
                .debug_struct("Iso8583")
                .field("addr", addr)
                .field("framing", framing)
                .field("link", link)
                .field("insecure", insecure)
                .field("api", &api.as_ref().map(|(url, _)| url))
                .finish(),
            Self::None => f.write_str("None"),
        }
    }
}

impl HostSpec {
    /// Opens (or reaches) the host; `None` for [`HostSpec::None`].
    pub fn connect(&self, keys: HostKeys) -> Result<Option<IssuerLink>, SessionError> {
        Ok(match self {
            HostSpec::EmbeddedInMemory => Some(IssuerLink::in_memory(keys)?),
            HostSpec::EmbeddedAt(dir) => Some(IssuerLink::open(dir, keys)?),
            HostSpec::EmbeddedDb(url) => Some(IssuerLink::Embedded(
                emv_host::Issuer::open_database(url, keys, 4)?,
            )),
            HostSpec::Remote {
                url,
                api_key,
                acquirer_key,
            } => Some(IssuerLink::remote(url, api_key, acquirer_key.as_deref())?),
            HostSpec::Iso8583 {
                addr,
                framing,
                link,
                insecure,
                api,
            } => {
                let (options, zone) = if *insecure {
                    let zone = keys
                        .iso8583_link(link.as_deref())
                        .ok()
                        .map(|l| l.pin_key.clone());
                    (Iso8583Options::insecure(), zone)
                } else {
                    let l = keys.iso8583_link(link.as_deref())?;
                    (Iso8583Options::for_link(l), Some(l.pin_key.clone()))
                };
                let mut options = options.with_framing(*framing);
                // the acquirer translates the terminal's PIN block to the link's zone key
                if let Some(zone) = zone {
                    options = options.with_pin_translation(std::sync::Arc::new(keys), &zone);
                }
                let api = api.as_ref().map(|(u, k)| (u.as_str(), k.as_str()));
                Some(IssuerLink::iso8583(addr, options, api)?)
            }
            HostSpec::None => None,
        })
    }
}

/// When the card is pulled out of the reader during the next transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// As soon as the issuer has answered: before the issuer scripts and the second
    /// GENERATE AC reach the card (`docs/pin.md` §6.3: script delivery failed, sent again with
    /// the next authorisation).
    AfterAuthorisation,
    /// Before the n-th command (1-based) of the transaction.
    BeforeCommand(usize),
}

/// What a trace's `@transaction` marker says besides the transaction's parameters: what
/// `trace replay --as-card` needs to run the kernel again. Unset fields take the session's
/// defaults (the transaction's number in the session, the terminal profile's name).
#[derive(Debug, Clone, Default)]
pub struct TraceLabel {
    /// The transaction's number in the trace (a scenario's step number).
    pub number: Option<usize>,
    /// The terminal as the user named it (profile name or path).
    pub terminal: Option<String>,
    /// The `--terminal-tag` overrides, `TAG=HEX,...`.
    pub terminal_tags: String,
    /// The PIN pad entries by kind (`pin`, `bypass`), never their digits.
    pub pins: Vec<&'static str>,
}

/// Sees a session's transaction: the kernel's events, the power events, and the software
/// card's counters as each exchange changes them (a live view).
pub trait SessionObserver: Observer {
    /// The software card's status after an exchange.
    fn card_status(&mut self, status: &CardStatus) {
        let _ = status;
    }
}

/// Sees nothing.
impl SessionObserver for () {}

/// A card and its issuer host, provisioned to agree.
#[derive(Debug)]
pub struct Session {
    /// The card.
    pub card: CardSlot,
    /// The issuer host (`None`: unreachable).
    pub host: Option<IssuerLink>,
    /// The host's reference to the card (from the software card's profile).
    pub card_ref: Option<CardRef>,
    /// The trace being recorded, if recording.
    pub trace: Option<Trace>,
    /// Record PIN-bearing commands in clear (`--record-pins`) instead of redacted.
    pub record_pins: bool,
    /// A card pull armed for the next transaction.
    pub pull: Option<Pull>,
    /// Whether the card is in the reader; share it with whoever may pull the card out.
    pub presence: CardPresence,
    /// Transactions run so far.
    transactions: usize,
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
        let mut session = Self::new(CardSlot::Soft(Box::new(soft)), host);
        session.card_ref = Some(card_ref);
        // a host reached only through its network port (ISO 8583 without --host-api) must
        // know the card already (e.g. `emvbench host serve --provision-profiles`)
        if let Some(h) = session.host.as_mut().filter(|h| h.has_management()) {
            h.provision(&provision, fresh)?;
        }
        Ok(session)
    }

    /// A session over the software card `card` and `host` as they are: no provisioning
    /// (the caller provisioned the host, e.g. with limits of its own). Set
    /// [`Session::card_ref`] for the host part of the outcome.
    pub fn external_soft(card: SoftCard, host: Option<IssuerLink>) -> Self {
        Self::new(CardSlot::Soft(Box::new(card)), host)
    }

    /// A session over a card reached only through APDUs (a reader, a trace) and `host`.
    pub fn external(card: Box<dyn Transport + Send>, host: Option<IssuerLink>) -> Self {
        Self::new(CardSlot::External(card), host)
    }

    fn new(card: CardSlot, host: Option<IssuerLink>) -> Self {
        Session {
            card,
            host,
            card_ref: None,
            trace: None,
            record_pins: false,
            pull: None,
            presence: CardPresence::default(),
            transactions: 0,
        }
    }

    /// Starts recording every exchange (and the host's answers) into a new trace; PIN data
    /// is redacted unless [`Session::record_pins`] is set (`docs/formats.md` §3).
    pub fn record(&mut self) {
        self.trace = Some(Trace {
            pins_in_clear: self.record_pins,
            ..Trace::default()
        });
    }

    /// Adds a marker to the trace, if recording.
    pub fn mark(&mut self, name: &str, args: &[&str], fields: &[(&str, String)]) {
        if let Some(t) = &mut self.trace {
            t.marker(name, args, fields);
        }
    }

    /// Adds the trace's `@card` marker (what a replay personalises), if recording.
    pub fn mark_card(&mut self, spec: &CardSpec, seed: u64) {
        let fields = emv_transport::trace::card_fields(&spec.profile, seed, &spec.overrides);
        self.mark("card", &[], &fields);
    }

    /// Runs one transaction: powers the card on, runs the kernel, powers it off, and fills
    /// the outcome's `card` (software card) and `host` parts. A card that cannot be powered
    /// on is an error; anything the card does after that ends in the outcome. A card pulled
    /// by a [`Pull`] plan is put back afterwards, ready for the next transaction. When
    /// recording, the trace gets the transaction's `@transaction` and `@end` markers and
    /// everything in between.
    pub fn transact(
        &mut self,
        kernel: &Kernel,
        pinpad: &mut dyn PinPad,
        params: &TransactionParams,
    ) -> Result<Outcome, SessionError> {
        self.transactions += 1;
        self.mark_transaction(kernel, params, &TraceLabel::default());
        let outcome = self.run(kernel, pinpad, params, None)?;
        self.mark_end(&outcome);
        Ok(outcome)
    }

    /// [`Session::transact`] with the trace's label and an observer that sees every event
    /// as it happens (a live view).
    pub fn transact_with(
        &mut self,
        kernel: &Kernel,
        pinpad: &mut dyn PinPad,
        params: &TransactionParams,
        label: &TraceLabel,
        observer: &mut dyn SessionObserver,
    ) -> Result<Outcome, SessionError> {
        self.transactions += 1;
        self.mark_transaction(kernel, params, label);
        let outcome = self.run(kernel, pinpad, params, Some(observer))?;
        self.mark_end(&outcome);
        Ok(outcome)
    }

    /// The trace's `@transaction` marker, if recording.
    fn mark_transaction(
        &mut self,
        kernel: &Kernel,
        params: &TransactionParams,
        label: &TraceLabel,
    ) {
        if self.trace.is_none() {
            return;
        }
        let number = label.number.unwrap_or(self.transactions).to_string();
        let fields = crate::replay::transaction_fields(
            label.terminal.as_deref().unwrap_or(&kernel.profile().name),
            &label.terminal_tags,
            params,
            &label.pins,
        );
        self.mark("transaction", &[&number], &fields);
    }

    /// The trace's `@end` marker (the outcome, for people reading the trace), if recording.
    fn mark_end(&mut self, o: &Outcome) {
        self.mark(
            "end",
            &[],
            &[
                ("outcome", o.outcome.name().to_string()),
                ("tvr", o.tvr.to_hex()),
                ("cvm-results", o.cvm_results.to_hex()),
            ],
        );
    }

    fn run(
        &mut self,
        kernel: &Kernel,
        pinpad: &mut dyn PinPad,
        params: &TransactionParams,
        observer: Option<&mut dyn SessionObserver>,
    ) -> Result<Outcome, SessionError> {
        let status = Cell::new(None);
        let live = observer.is_some();
        let mut nobody = ();
        let mut card = Watched {
            card: Pullable::new(&mut self.card, self.presence.clone()),
            status: live.then_some(&status),
        };
        let mut events = Plumbing {
            recorder: self.trace.as_mut().map(TraceRecorder::new),
            plan: self.pull.take(),
            exchanges: 0,
            presence: &self.presence,
            planned_pull: false,
            status: &status,
            user: observer.unwrap_or(&mut nobody),
        };
        let atr = card.power_on()?;
        events.on_event(&Event::PowerOn { atr: &atr });
        if matches!(events.plan, Some(Pull::BeforeCommand(n)) if n <= 1) {
            events.pull_now();
        }
        let mut none = NoHost;
        let host: &mut dyn Host = match &mut self.host {
            Some(h) => h,
            None => &mut none,
        };
        let mut outcome = kernel.run_observed(&mut card, pinpad, host, params, &mut events)?;
        if !self.presence.pulled() {
            // The card leaves the field: its volatile state goes (ISO/IEC 7816-3
            // deactivation).
            events.on_event(&Event::PowerOff);
            let _ = card.power_off();
        }
        if events.planned_pull {
            self.presence.insert();
            if let Some(soft) = self.card.soft_mut() {
                soft.insert();
            }
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
            (Some(h), Some(r)) => h.state(r),
            _ => Ok(None),
        }
    }
}

/// The card as the kernel reaches it in a session: pulled out when the session's presence
/// says so, its counters read after each exchange for a live view.
struct Watched<'a> {
    card: Pullable<&'a mut CardSlot>,
    /// Where the counters go after each exchange (`None`: nobody watches).
    status: Option<&'a Cell<Option<CardStatus>>>,
}

impl Transport for Watched<'_> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.card.transmit(capdu);
        if let Some(cell) = self.status {
            cell.set(self.card.inner().status());
        }
        r
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

/// The session's consumers of the event stream, in order: the trace recorder, the card
/// pull plan, the caller's observer.
struct Plumbing<'a> {
    recorder: Option<TraceRecorder<'a>>,
    plan: Option<Pull>,
    exchanges: usize,
    presence: &'a CardPresence,
    planned_pull: bool,
    status: &'a Cell<Option<CardStatus>>,
    user: &'a mut dyn SessionObserver,
}

impl Plumbing<'_> {
    fn pull_now(&mut self) {
        if !self.planned_pull {
            self.planned_pull = true;
            self.presence.pull();
        }
    }
}

impl Observer for Plumbing<'_> {
    fn on_event(&mut self, event: &Event<'_>) {
        if let Some(r) = &mut self.recorder {
            r.on_event(event);
        }
        match (event, self.plan) {
            (Event::HostAnswer(_), Some(Pull::AfterAuthorisation)) => self.pull_now(),
            (Event::Exchange(_), Some(Pull::BeforeCommand(n))) => {
                self.exchanges += 1;
                if self.exchanges + 1 >= n {
                    self.pull_now();
                }
            }
            _ => {}
        }
        self.user.on_event(event);
        if let Event::Exchange(_) = event
            && let Some(s) = self.status.take()
        {
            self.user.card_status(&s);
        }
    }
}
