//! The kernel worker: a thread that owns the session (card and host) and runs
//! transactions and host calls, so the UI thread only draws and reads keys. It answers
//! requests with events; during a transaction it forwards the kernel's event stream (the
//! stage entered, every exchange, the card's counters) and asks the PIN pad dialog through
//! [`UiPinPad`].
//!
//! Pulling the card: the UI sets the session's shared [`CardPresence`]; the session's
//! [`Pullable`](emv_transport::Pullable) card obeys it at the next exchange, which fails
//! with [`TransportError::CardRemoved`], and the kernel terminates the transaction (EMV
//! 4.4 Book 4 §11.1). The same works for any card behind a
//! [`Transport`](emv_apdu::Transport) (`CardSlot::External`, the PC/SC reader).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use emv_apdu::TransportError;
use emv_card::CardStatus;
use emv_host::{CardStatus as HostCardStatus, CardView, HostKeys, PinResetMode};
use emv_kernel::{
    ApduRecord, Kernel, KernelConfig, Observer, Outcome, PinEntry, PinPrompt, Profile, Stage,
    TransactionParams,
};
use emv_session::{
    CardSlot, CardSpec, HostSpec, IssuerLink, Session, SessionObserver, TraceLabel, card_provision,
    issuer::ACTOR,
};
pub use emv_transport::CardPresence;
use zeroize::Zeroizing;

use super::pinpad::UiPinPad;
use super::record::Recorder;

/// Which card the session drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChoice {
    /// A software card profile.
    Profile(String),
    /// A real card in a PC/SC reader (index or part of its name).
    Reader(String),
}

/// A host call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAction {
    /// Unblock PIN.
    UnblockPin,
    /// Reset PIN (new or keep).
    ResetPin(PinResetMode),
    /// Block the card.
    BlockCard,
    /// Unblock the card.
    UnblockCard,
    /// View PIN.
    ViewPin,
}

impl HostAction {
    /// The name in messages and the session log.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnblockPin => "unblock-pin",
            Self::ResetPin(PinResetMode::New) => "reset-pin (new)",
            Self::ResetPin(PinResetMode::Keep) => "reset-pin (keep)",
            Self::BlockCard => "block-card",
            Self::UnblockCard => "unblock-card",
            Self::ViewPin => "view-pin",
        }
    }
}

/// What the UI asks the worker (and, for `Pin` and `PullCard`, the UI loop itself).
#[derive(Debug)]
pub enum Request {
    /// Load a terminal profile.
    SetTerminal(String),
    /// Run a transaction.
    Transact(TransactionParams),
    /// The cardholder's answer at the PIN pad (routed to the PIN pad, not the worker).
    Pin(PinEntry),
    /// Pull the card out (the flag is set at once by the UI loop).
    PullCard,
    /// Put the card back.
    InsertCard,
    /// A host call.
    Host(HostAction),
    /// Re-personalise the software card from its profile (the host re-issues it).
    ResetCard,
    /// Another card.
    SwitchCard(CardChoice),
    /// Start (`Some`) or stop recording.
    Record(Option<PathBuf>),
    /// Stop the worker.
    Quit,
}

/// The terminal panel's facts about the loaded profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    /// Profile name.
    pub name: String,
    /// Terminal Type (9F35).
    pub terminal_type: u8,
    /// A PIN pad is fitted.
    pub pin_pad: bool,
    /// Transaction Currency Code (5F2A).
    pub currency_code: u16,
    /// Transaction Currency Exponent (5F36).
    pub exponent: u32,
}

/// The card panel's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// Profile name.
    pub profile: String,
    /// PAN, masked (first 6, last 4: PCI DSS 3.4).
    pub pan: String,
    /// The chip's counters and flags.
    pub status: CardStatus,
}

/// What the worker tells the UI.
pub enum Event {
    /// A terminal profile was loaded.
    Terminal(TerminalInfo),
    /// The card as it is now (`None`: not a software card).
    Card(Option<CardInfo>),
    /// Another card is in the slot (a switch or a reset).
    CardSwitched,
    /// The host's view of the card (`None`: no host).
    Host(Result<Option<CardView>, String>),
    /// The kernel entered a stage.
    Stage(Stage),
    /// One exchange, as it happened.
    Apdu(ApduRecord),
    /// The kernel asks for a PIN.
    PinRequest(PinPrompt),
    /// A transaction ended (or could not start).
    Finished(Result<Box<Outcome>, String>),
    /// Something went well.
    Message(String),
    /// Something failed.
    Error(String),
    /// View PIN's answer (shown for a few seconds, never logged).
    PinRevealed(Zeroizing<String>),
    /// Recording started (path) or stopped.
    Recording(Option<String>),
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PinRevealed(_) => f.write_str("PinRevealed(****)"),
            Self::Terminal(t) => write!(f, "Terminal({})", t.name),
            Self::Card(c) => write!(f, "Card({c:?})"),
            Self::CardSwitched => f.write_str("CardSwitched"),
            Self::Host(_) => f.write_str("Host(..)"),
            Self::Stage(s) => write!(f, "Stage({s})"),
            Self::Apdu(a) => write!(f, "Apdu({})", a.name),
            Self::PinRequest(p) => write!(f, "PinRequest({:?})", p.kind),
            Self::Finished(r) => write!(f, "Finished({:?})", r.as_ref().map(|o| o.outcome)),
            Self::Message(m) => write!(f, "Message({m})"),
            Self::Error(e) => write!(f, "Error({e})"),
            Self::Recording(r) => write!(f, "Recording({r:?})"),
        }
    }
}

/// How the worker sets up its session.
pub struct WorkerConfig {
    /// The card.
    pub card: CardChoice,
    /// The software card's state file (the starting card only).
    pub state: Option<PathBuf>,
    /// The host.
    pub host: HostSpec,
    /// The host's keys.
    pub keys: HostKeys,
    /// Seed of the software card's random numbers.
    pub seed: u64,
    /// The terminal profile to load first.
    pub terminal: String,
}

/// What the TUI says when the reader cannot be used.
pub const NO_READER: &str = "the card in the reader cannot be used (pick a software card with c)";

/// Starts the worker. Events go to `events`; PIN pad answers come from `pins`.
pub fn spawn(
    config: WorkerConfig,
    requests: Receiver<Request>,
    events: Sender<Event>,
    pins: Receiver<PinEntry>,
    presence: CardPresence,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("emvbench-kernel".into())
        .spawn(move || {
            let mut w = Worker {
                session: None,
                kernel: None,
                events,
                pins,
                presence,
                recorder: None,
                spare_host: None,
                state: config.state.clone(),
                seed: config.seed,
                profile: String::new(),
            };
            w.start(config);
            while let Ok(req) = requests.recv() {
                if matches!(req, Request::Quit) {
                    break;
                }
                w.handle(req);
            }
        })
}

struct Worker {
    session: Option<Session>,
    kernel: Option<Kernel>,
    events: Sender<Event>,
    pins: Receiver<PinEntry>,
    presence: CardPresence,
    recorder: Option<Recorder>,
    /// The host while there is no session (a `--reader` start).
    spare_host: Option<IssuerLink>,
    state: Option<PathBuf>,
    seed: u64,
    profile: String,
}

impl Worker {
    fn send(&self, e: Event) {
        // the UI may be gone (quitting): nothing to tell then
        let _ = self.events.send(e);
    }

    fn start(&mut self, config: WorkerConfig) {
        self.set_terminal(&config.terminal);
        match &config.card {
            CardChoice::Reader(sel) => {
                let host = match config.host.connect(config.keys) {
                    Ok(h) => h,
                    Err(e) => {
                        self.send(Event::Error(format!("host: {e}")));
                        None
                    }
                };
                match crate::cli::run::open_reader(sel) {
                    // the card in the reader: only its APDUs are known (no counters panel)
                    Ok(card) => self.session = Some(self.adopt(Session::external(card, host))),
                    Err(e) => {
                        // no card: the host waits for the software card the user picks (`c`)
                        self.spare_host = host;
                        self.send(Event::Error(format!("{NO_READER}: {e:#}")));
                    }
                }
            }
            CardChoice::Profile(p) => {
                self.profile = p.clone();
                let spec = self.spec();
                match Session::open(&spec, &config.host, config.keys) {
                    Ok(s) => self.session = Some(self.adopt(s)),
                    Err(e) => self.send(Event::Error(format!("card {p}: {e}"))),
                }
            }
        }
        self.snapshot();
    }

    /// A new session pulled out by the UI's presence flag.
    fn adopt(&self, mut session: Session) -> Session {
        session.presence = self.presence.clone();
        session
    }

    fn spec(&self) -> CardSpec {
        CardSpec {
            profile: self.profile.clone(),
            overrides: Vec::new(),
            state: self.state.clone(),
            seed: Some(self.seed),
        }
    }

    fn record_action(&mut self, action: &str, result: &str) {
        if let Some(r) = &mut self.recorder
            && let Err(e) = r.action(action, result)
        {
            let msg = format!("recording to {} failed: {e}", r.path().display());
            self.recorder = None;
            self.send(Event::Recording(None));
            self.send(Event::Error(msg));
        }
    }

    fn handle(&mut self, req: Request) {
        match req {
            Request::SetTerminal(name) => self.set_terminal(&name),
            Request::Transact(params) => self.transact(&params),
            Request::Pin(_) | Request::Quit => {}
            Request::PullCard => {
                if self.presence.pulled()
                    && let Some(c) = self.session.as_mut().and_then(|s| s.card.soft_mut())
                {
                    c.remove();
                }
                self.record_action("pull-card", "ok");
                self.snapshot();
            }
            Request::InsertCard => {
                self.presence.insert();
                if let Some(c) = self.session.as_mut().and_then(|s| s.card.soft_mut()) {
                    c.insert();
                }
                self.record_action("insert-card", "ok");
                self.snapshot();
            }
            Request::Host(a) => self.host_action(a),
            Request::ResetCard => self.reset_card(),
            Request::SwitchCard(choice) => self.switch_card(choice),
            Request::Record(path) => self.record(path),
        }
    }

    fn set_terminal(&mut self, name: &str) {
        match Profile::load(name) {
            Ok(profile) => {
                let info = TerminalInfo {
                    name: profile.name.clone(),
                    terminal_type: profile.terminal_type.0,
                    pin_pad: profile.pin_pad,
                    currency_code: profile.currency_code,
                    exponent: u32::from(profile.currency_exponent),
                };
                self.kernel = Some(Kernel::new(profile, KernelConfig::default()));
                self.send(Event::Terminal(info));
            }
            Err(e) => self.send(Event::Error(format!("terminal {name}: {e}"))),
        }
    }

    fn snapshot(&mut self) {
        let Some(s) = &mut self.session else {
            self.send(Event::Card(None));
            self.send(Event::Host(Ok(None)));
            return;
        };
        let card = match (&s.card, s.card.status()) {
            (CardSlot::Soft(c), Some(status)) => {
                let perso = c.card().personalisation();
                Some(CardInfo {
                    profile: perso.name.clone(),
                    pan: mask_pan(&perso.pan),
                    status,
                })
            }
            _ => None,
        };
        let host = match (&mut s.host, &s.card_ref) {
            (Some(h), Some(r)) => h.card_status(r).map(Some).map_err(|e| e.to_string()),
            _ => Ok(None),
        };
        self.send(Event::Card(card));
        self.send(Event::Host(host));
    }

    fn transact(&mut self, params: &TransactionParams) {
        let (Some(session), Some(kernel)) = (&mut self.session, &self.kernel) else {
            self.send(Event::Finished(Err("no card or no terminal".into())));
            return;
        };
        let mut pinpad = UiPinPad::new(
            &self.events,
            &self.pins,
            &self.presence,
            kernel.profile().pin_pad,
        );
        let mut live = Live {
            events: &self.events,
            card: session
                .card
                .personalisation()
                .map(|p| (p.name.clone(), mask_pan(&p.pan))),
        };
        let result = session.transact_with(
            kernel,
            &mut pinpad,
            params,
            &TraceLabel::default(),
            &mut live,
        );
        let terminal = kernel.profile().name.clone();
        // the panels first, then the outcome: `Finished` is the transaction's last event
        self.snapshot();
        match result {
            Ok(outcome) => {
                if let Some(r) = &mut self.recorder
                    && let Err(e) = r.transaction(&self.profile, &terminal, params, &outcome)
                {
                    self.send(Event::Error(format!("recording failed: {e}")));
                }
                self.send(Event::Finished(Ok(Box::new(outcome))));
            }
            Err(e) => {
                let text = match e {
                    emv_session::SessionError::Transport(TransportError::CardRemoved) => {
                        "the card is out of the reader (x puts it back)".to_owned()
                    }
                    other => other.to_string(),
                };
                self.send(Event::Finished(Err(text)));
            }
        }
    }

    fn host_action(&mut self, action: HostAction) {
        let result = self.call_host(action);
        let logged = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.clone(),
        };
        self.record_action(action.name(), &logged);
        // the panels first, then the answer: the message is the action's last event
        self.snapshot();
        match &result {
            Ok(Some(msg)) => self.send(Event::Message(format!("{}: {msg}", action.name()))),
            Ok(None) => {}
            Err(e) => self.send(Event::Error(format!("{}: {e}", action.name()))),
        }
    }

    /// A host call; `Ok(Some(message))` to show, `Ok(None)` when the answer went
    /// elsewhere (View PIN).
    fn call_host(&mut self, action: HostAction) -> Result<Option<String>, String> {
        let Some(s) = &mut self.session else {
            return Err("no card".into());
        };
        let (Some(host), Some(card)) = (&mut s.host, &s.card_ref) else {
            return Err("no issuer host in this session (--host none, or a real card)".into());
        };
        let err = |e: emv_session::SessionError| e.to_string();
        let text = |o: emv_host::PinOutcome| {
            let mut m = o.message;
            if let Some(n) = o.next_step {
                m.push_str(&format!("; {n}"));
            }
            m
        };
        Ok(Some(match action {
            HostAction::UnblockPin => text(host.unblock_pin(card).map_err(err)?),
            HostAction::ResetPin(mode) => text(host.reset_pin(card, mode).map_err(err)?),
            HostAction::BlockCard => {
                host.set_card_status(card, HostCardStatus::Blocked)
                    .map_err(err)?;
                "card blocked at the host: every authorisation is declined".into()
            }
            HostAction::UnblockCard => {
                host.set_card_status(card, HostCardStatus::Active)
                    .map_err(err)?;
                "card active again at the host".into()
            }
            HostAction::ViewPin => {
                let issuer = host.embedded().ok_or(
                    "View PIN from the TUI reads the embedded host; a remote host reveals the \
                     PIN only through its View PIN token flow",
                )?;
                let pin = issuer.reveal_pin(card, ACTOR).map_err(|e| e.to_string())?;
                self.send(Event::PinRevealed(pin.expose()));
                return Ok(None);
            }
        }))
    }

    fn reset_card(&mut self) {
        if self.profile.is_empty() {
            self.send(Event::Error("no software card to reset".into()));
            return;
        }
        if let Some(path) = &self.state
            && let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            self.send(Event::Error(format!("reset: {}: {e}", path.display())));
            return;
        }
        self.presence.insert();
        let host = self.session.take().and_then(|mut s| s.host.take());
        match Session::with_host(&self.spec(), host) {
            Ok(s) => {
                self.session = Some(self.adopt(s));
                self.send(Event::CardSwitched);
                self.record_action("reset-card", "ok");
                self.snapshot();
                self.send(Event::Message(format!(
                    "card {} re-personalised from its profile (and re-issued at the host)",
                    self.profile
                )));
            }
            Err(e) => {
                self.snapshot();
                self.send(Event::Error(format!("reset: {e}")));
            }
        }
    }

    fn switch_card(&mut self, choice: CardChoice) {
        let profile = match choice {
            CardChoice::Reader(sel) => {
                match crate::cli::run::open_reader(&sel) {
                    Ok(card) => {
                        let host = match self.session.take() {
                            Some(mut s) => s.host.take(),
                            None => self.spare_host.take(),
                        };
                        self.session = Some(self.adopt(Session::external(card, host)));
                        self.send(Event::CardSwitched);
                        self.record_action(&format!("switch-card reader {sel}"), "ok");
                        self.snapshot();
                    }
                    Err(e) => self.send(Event::Error(format!("{NO_READER}: {e:#}"))),
                }
                return;
            }
            CardChoice::Profile(p) => p,
        };
        // check the profile before the host moves over to the new session
        let check = emv_card::Personalisation::load(&profile, &[])
            .map_err(|e| e.to_string())
            .and_then(|p| card_provision(&p).map_err(|e| e.to_string()));
        if let Err(e) = check {
            self.send(Event::Error(format!("card {profile}: {e}")));
            return;
        }
        self.presence.insert();
        let old = std::mem::replace(&mut self.profile, profile);
        // the state file belongs to the starting card; another profile lives in memory
        self.state = None;
        let host = match self.session.take() {
            Some(mut s) => s.host.take(),
            None => self.spare_host.take(),
        };
        match Session::with_host(&self.spec(), host) {
            Ok(s) => {
                self.session = Some(self.adopt(s));
                self.send(Event::CardSwitched);
                let what = format!("switch-card {}", self.profile);
                self.record_action(&what, "ok");
                self.snapshot();
                self.send(Event::Message(format!("card {}", self.profile)));
            }
            Err(e) => {
                let msg = format!(
                    "card {}: {e}; the host connection was lost with it: restart the TUI",
                    self.profile
                );
                self.profile = old;
                self.snapshot();
                self.send(Event::Error(msg));
            }
        }
    }

    fn record(&mut self, path: Option<PathBuf>) {
        match path {
            None => {
                self.recorder = None;
                self.send(Event::Recording(None));
            }
            Some(p) => match Recorder::create(&p) {
                Ok(r) => {
                    self.recorder = Some(r);
                    self.send(Event::Recording(Some(p.display().to_string())));
                }
                Err(e) => self.send(Event::Error(format!("record {}: {e}", p.display()))),
            },
        }
    }
}

/// The live view: the kernel's stages and exchanges, and the software card's counters as
/// they change.
struct Live<'a> {
    events: &'a Sender<Event>,
    /// The software card's profile name and masked PAN (`None`: a card in a reader).
    card: Option<(String, String)>,
}

impl Observer for Live<'_> {
    fn on_event(&mut self, event: &emv_kernel::Event<'_>) {
        let e = match event {
            emv_kernel::Event::Stage(s) => Event::Stage(*s),
            emv_kernel::Event::Exchange(x) => Event::Apdu(ApduRecord::of(x)),
            _ => return,
        };
        let _ = self.events.send(e);
    }
}

impl SessionObserver for Live<'_> {
    fn card_status(&mut self, status: &CardStatus) {
        if let Some((profile, pan)) = &self.card {
            let _ = self.events.send(Event::Card(Some(CardInfo {
                profile: profile.clone(),
                pan: pan.clone(),
                status: *status,
            })));
        }
    }
}

/// First six and last four digits (PCI DSS 3.4).
pub fn mask_pan(pan: &str) -> String {
    let digits: Vec<char> = pan.chars().collect();
    let n = digits.len();
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if n >= 11 && (i < 6 || i >= n - 4) {
                *c
            } else {
                '*'
            }
        })
        .collect()
}
