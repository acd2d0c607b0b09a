//! The TUI's state and what keys and worker events do to it. Pure: no terminal, no
//! threads; every key returns the requests for the worker, so the tests feed key
//! sequences and check the state.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use emv_auth::{OnlinePinResult, ResponseCode, TransactionType};
use emv_host::{CardView, PinResetMode};
use emv_kernel::{
    ApduRecord, Outcome, OutcomeKind, PinEntry, Stage, TransactionDate, TransactionParams,
    TransactionTime,
};
use emv_session::{format_amount, parse_amount};
use zeroize::Zeroizing;

use super::decode::stage_index;
use super::pin_dialog::{PinDialog, PinKey};
use super::worker::{CardChoice, CardInfo, Event, HostAction, Request, TerminalInfo};
use crate::cli::run::TxnType;

/// How long View PIN shows the PIN.
pub const VIEW_PIN_SECONDS: u64 = 5;

/// The keys of the main screen: key, short footer label, help text. The footer and the
/// help overlay are drawn from this one table.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("?", "help", "this help"),
    ("r", "run", "run a transaction (Enter too)"),
    (
        "t",
        "terminal",
        "switch terminal profile (POS, ATM, unattended, no PIN pad)",
    ),
    ("a", "amount", "change the amount"),
    (
        "y",
        "type",
        "change the transaction type (purchase, cash, cashback, refund)",
    ),
    (
        "x",
        "pull",
        "pull the card out (also during a transaction) / put it back",
    ),
    (
        "u",
        "unblock",
        "host: unblock PIN (online counter reset, PIN UNBLOCK script queued)",
    ),
    (
        "n",
        "new PIN",
        "host: reset PIN with a new PIN (PIN CHANGE script queued)",
    ),
    (
        "k",
        "keep PIN",
        "host: reset PIN, keep the PIN (online counter reset)",
    ),
    ("b", "block", "host: block / unblock the card"),
    (
        "v",
        "view PIN",
        "host: View PIN (shown a few seconds, never logged)",
    ),
    (
        "c",
        "card",
        "switch the card: software profiles or a real reader",
    ),
    (
        "R",
        "reset",
        "reset the software card (and its record at the host)",
    ),
    (
        "w",
        "record",
        "record the session to a file (JSON lines) / stop",
    ),
    ("q", "quit", "quit (Ctrl-C too)"),
    (
        "↑↓",
        "",
        "select an exchange in the APDU log (End: follow the newest)",
    ),
    ("PgUp/PgDn", "", "scroll the decoded exchange"),
    ("[ ]", "", "scroll the transaction panel"),
];

/// The keys of the PIN pad dialog.
pub const PIN_KEYS: &[(&str, &str)] = &[
    ("0-9", "a digit (shown as a dot)"),
    ("Backspace", "erase the last digit"),
    ("Enter", "OK"),
    ("b", "bypass PIN entry (Book 4 §6.3.4.3)"),
    ("Esc", "cancel (the PIN CVM fails)"),
    ("x", "pull the card"),
];

/// What the session starts with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The card.
    pub card: CardChoice,
    /// Terminal profile name.
    pub terminal: String,
    /// Amount in major units, as typed.
    pub amount: String,
    /// Transaction type.
    pub txn_type: TxnType,
    /// The host, for the title (`embedded`, `http://...`, `none`).
    pub host: String,
    /// Transaction date and time (fixed for the whole session).
    pub date: TransactionDate,
    /// Transaction time.
    pub time: TransactionTime,
    /// Seed of the first transaction; each next transaction adds one.
    pub seed: u64,
    /// Where `w` records the session.
    pub record_path: PathBuf,
}

/// How a status message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Something went well.
    Good,
    /// Something failed.
    Bad,
}

/// An overlay over the main screen.
pub enum Overlay {
    /// None.
    None,
    /// The key list.
    Help,
    /// Typing a new amount.
    Amount {
        /// What is typed.
        input: String,
    },
    /// Picking a terminal profile or a card.
    Pick {
        /// Terminal or card.
        what: PickWhat,
        /// The choices.
        items: Vec<String>,
        /// The highlighted one.
        selected: usize,
    },
    /// View PIN: the PIN, until a moment.
    ViewPin {
        /// The PIN's digits (zeroized when dropped).
        pin: Zeroizing<String>,
        /// When it disappears.
        until: Instant,
    },
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Help => f.write_str("Help"),
            Self::Amount { input } => write!(f, "Amount({input:?})"),
            Self::Pick { what, selected, .. } => write!(f, "Pick({what:?}, {selected})"),
            Self::ViewPin { .. } => f.write_str("ViewPin(****)"),
        }
    }
}

/// What a picker picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickWhat {
    /// A terminal profile.
    Terminal,
    /// A card.
    Card,
}

/// The label of the real-reader choice in the card picker.
pub const READER_CHOICE: &str = "PC/SC reader 0 (real card)";

/// How a stage stands in the transaction panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Not reached (yet).
    Pending,
    /// Running now.
    Running,
    /// Done.
    Done,
    /// The transaction was terminated here.
    Failed,
    /// Not performed in this transaction.
    Skipped,
}

/// The transaction panel.
#[derive(Debug, Default)]
pub struct Txn {
    /// A transaction is running on the worker.
    pub running: bool,
    /// The stage running now (from the last command sent).
    pub stage: Option<Stage>,
    /// The exchanges of this transaction (live, then the kernel's log).
    pub apdus: Vec<ApduRecord>,
    /// The last finished transaction.
    pub outcome: Option<Box<Outcome>>,
    /// The one before (for the changed bits).
    pub previous: Option<Box<Outcome>>,
    /// Why the last transaction could not run.
    pub error: Option<String>,
    /// Transactions started.
    pub count: u64,
}

/// The host panel.
#[derive(Debug, Default)]
pub struct HostPanel {
    /// The host's view of the card.
    pub view: Option<CardView>,
    /// Why there is no view.
    pub error: Option<String>,
    /// The last response code (ISO 8583 DE 39).
    pub last_rc: Option<ResponseCode>,
    /// The host's verdict on the last online PIN.
    pub last_online_pin: Option<OnlinePinResult>,
}

/// The whole state.
#[derive(Debug)]
pub struct App {
    /// Settings (terminal, amount, type, card...).
    pub settings: Settings,
    /// The terminal profile the worker loaded.
    pub terminal: Option<TerminalInfo>,
    /// The card as last seen.
    pub card: Option<CardInfo>,
    /// The card is in the reader (not pulled out).
    pub card_present: bool,
    /// The host panel.
    pub host: HostPanel,
    /// The transaction panel.
    pub txn: Txn,
    /// The selected exchange (`None`: follow the newest).
    pub apdu_selected: Option<usize>,
    /// Scroll of the decoded exchange.
    pub detail_scroll: u16,
    /// Scroll of the transaction panel.
    pub txn_scroll: u16,
    /// How far the decoded exchange can scroll, as last drawn (scrolling stops there).
    pub detail_scroll_max: Cell<u16>,
    /// How far the transaction panel can scroll, as last drawn.
    pub txn_scroll_max: Cell<u16>,
    /// The PIN pad dialog, while the kernel waits for a PIN.
    pub pin: Option<PinDialog>,
    /// The overlay.
    pub overlay: Overlay,
    /// The last message.
    pub status: Option<(String, Level)>,
    /// Where the session is being recorded.
    pub recording: Option<String>,
    /// Terminal profiles to pick from.
    pub terminal_names: Vec<String>,
    /// Card profiles to pick from.
    pub card_names: Vec<String>,
    /// The clock (set by [`App::tick`]).
    pub now: Instant,
    /// The user asked to quit.
    pub quit: bool,
}

impl App {
    /// A new session's state.
    pub fn new(settings: Settings, terminal_names: Vec<String>, card_names: Vec<String>) -> Self {
        App {
            settings,
            terminal: None,
            card: None,
            card_present: true,
            host: HostPanel::default(),
            txn: Txn::default(),
            apdu_selected: None,
            detail_scroll: 0,
            txn_scroll: 0,
            detail_scroll_max: Cell::new(u16::MAX),
            txn_scroll_max: Cell::new(u16::MAX),
            pin: None,
            overlay: Overlay::None,
            status: None,
            recording: None,
            terminal_names,
            card_names,
            now: Instant::now(),
            quit: false,
        }
    }

    /// The clock moves: View PIN disappears when its time is up.
    pub fn tick(&mut self, now: Instant) {
        self.now = now;
        if let Overlay::ViewPin { until, .. } = &self.overlay
            && now >= *until
        {
            self.overlay = Overlay::None;
        }
    }

    fn say(&mut self, text: impl Into<String>, level: Level) {
        self.status = Some((text.into(), level));
    }

    /// Decimals of the terminal's currency (Transaction Currency Exponent, 5F36).
    pub fn exponent(&self) -> u32 {
        self.terminal.as_ref().map_or(2, |t| t.exponent)
    }

    /// The transaction in words (`cash 100.00`).
    pub fn transaction_words(&self) -> String {
        format!(
            "{} {}",
            TransactionType::from(self.settings.txn_type).name(),
            self.settings.amount
        )
    }

    /// A key.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return vec![Request::Quit];
        }
        if self.pin.is_some() {
            return self.pin_key(key);
        }
        match &mut self.overlay {
            Overlay::None => self.main_key(key),
            Overlay::Help | Overlay::ViewPin { .. } => {
                self.overlay = Overlay::None;
                Vec::new()
            }
            Overlay::Amount { input } => match key.code {
                KeyCode::Char(c) if c.is_ascii_digit() || c == '.' => {
                    if input.len() < 16 {
                        input.push(c);
                    }
                    Vec::new()
                }
                KeyCode::Backspace => {
                    input.pop();
                    Vec::new()
                }
                KeyCode::Esc => {
                    self.overlay = Overlay::None;
                    Vec::new()
                }
                KeyCode::Enter => {
                    let text = input.clone();
                    match parse_amount(&text, self.exponent()) {
                        Ok(minor) => {
                            self.settings.amount = format_amount(minor, self.exponent());
                            self.overlay = Overlay::None;
                            self.say(format!("amount {}", self.settings.amount), Level::Info);
                        }
                        Err(e) => self.say(format!("amount: {e}"), Level::Bad),
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Overlay::Pick {
                what,
                items,
                selected,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Vec::new()
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    if *selected + 1 < items.len() {
                        *selected += 1;
                    }
                    Vec::new()
                }
                KeyCode::Esc | KeyCode::Char('q') => {
                    self.overlay = Overlay::None;
                    Vec::new()
                }
                KeyCode::Enter => {
                    let what = *what;
                    let choice = items.get(*selected).cloned();
                    self.overlay = Overlay::None;
                    match (what, choice) {
                        (PickWhat::Terminal, Some(name)) => vec![Request::SetTerminal(name)],
                        (PickWhat::Card, Some(name)) if name == READER_CHOICE => {
                            vec![Request::SwitchCard(CardChoice::Reader("0".into()))]
                        }
                        (PickWhat::Card, Some(name)) => {
                            vec![Request::SwitchCard(CardChoice::Profile(name))]
                        }
                        (_, None) => Vec::new(),
                    }
                }
                _ => Vec::new(),
            },
        }
    }

    fn pin_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let pin_key = match key.code {
            KeyCode::Char(c) if c.is_ascii_digit() => PinKey::Digit(c as u8 - b'0'),
            KeyCode::Backspace => PinKey::Backspace,
            KeyCode::Enter => PinKey::Enter,
            KeyCode::Char('b') => PinKey::Bypass,
            KeyCode::Esc => PinKey::Cancel,
            KeyCode::Char('x') => {
                // the card leaves the reader while the PIN pad waits: the cardholder
                // walks away; the next exchange fails with "card removed"
                self.pin = None;
                self.card_present = false;
                self.say("card pulled out during PIN entry", Level::Bad);
                // the pull first: the PIN pad must see the card gone before the kernel,
                // woken by the cancel, asks for the next PIN
                return vec![Request::PullCard, Request::Pin(PinEntry::Cancel)];
            }
            _ => return Vec::new(),
        };
        let Some(dialog) = &mut self.pin else {
            return Vec::new();
        };
        match dialog.key(pin_key) {
            Some(entry) => {
                self.pin = None;
                vec![Request::Pin(entry)]
            }
            None => Vec::new(),
        }
    }

    fn busy(&mut self) -> bool {
        if self.txn.running {
            self.say(
                "a transaction is running: answer the PIN pad, wait, or pull the card (x)",
                Level::Bad,
            );
        }
        self.txn.running
    }

    fn main_key(&mut self, key: KeyEvent) -> Vec<Request> {
        match key.code {
            KeyCode::Char('q') => {
                self.quit = true;
                vec![Request::Quit]
            }
            KeyCode::Char('?') => self.show(Overlay::Help),
            KeyCode::Char('r') | KeyCode::Enter => self.start_transaction(),
            KeyCode::Char('x') => self.pull_or_insert_card(),
            KeyCode::Up => self.move_apdu(-1),
            KeyCode::Down => self.move_apdu(1),
            KeyCode::Home => self.scroll(|a| a.apdu_selected = Some(0)),
            KeyCode::End => self.scroll(|a| a.apdu_selected = None),
            // scrolling stops at the end of what the panel holds
            KeyCode::PageDown => self.scroll(|a| {
                a.detail_scroll = a
                    .detail_scroll
                    .saturating_add(5)
                    .min(a.detail_scroll_max.get());
            }),
            KeyCode::PageUp => self.scroll(|a| {
                a.detail_scroll = a
                    .detail_scroll
                    .min(a.detail_scroll_max.get())
                    .saturating_sub(5);
            }),
            KeyCode::Char(']') => self.scroll(|a| {
                a.txn_scroll = a.txn_scroll.saturating_add(3).min(a.txn_scroll_max.get());
            }),
            KeyCode::Char('[') => self.scroll(|a| {
                a.txn_scroll = a.txn_scroll.min(a.txn_scroll_max.get()).saturating_sub(3);
            }),
            // nothing below while a transaction or a host call is running
            _ if self.busy() => Vec::new(),
            KeyCode::Char('t') => self.pick_terminal(),
            KeyCode::Char('c') => self.pick_card(),
            KeyCode::Char('a') => self.show(Overlay::Amount {
                input: String::new(),
            }),
            KeyCode::Char('y') => self.next_transaction_type(),
            KeyCode::Char('u') => self.host_action(HostAction::UnblockPin),
            KeyCode::Char('n') => self.host_action(HostAction::ResetPin(PinResetMode::New)),
            KeyCode::Char('k') => self.host_action(HostAction::ResetPin(PinResetMode::Keep)),
            KeyCode::Char('b') => self.block_or_unblock_card(),
            KeyCode::Char('v') => self.host_action(HostAction::ViewPin),
            KeyCode::Char('R') => self.reset_card(),
            KeyCode::Char('w') => self.start_or_stop_recording(),
            _ => Vec::new(),
        }
    }

    fn show(&mut self, overlay: Overlay) -> Vec<Request> {
        self.overlay = overlay;
        Vec::new()
    }

    /// A change of what the panels show, no request.
    fn scroll(&mut self, change: impl FnOnce(&mut Self)) -> Vec<Request> {
        change(self);
        Vec::new()
    }

    fn pull_or_insert_card(&mut self) -> Vec<Request> {
        if self.card_present {
            self.card_present = false;
            self.say(
                if self.txn.running {
                    "card pulled out during the transaction"
                } else {
                    "card pulled out (x puts it back)"
                },
                Level::Info,
            );
            vec![Request::PullCard]
        } else {
            self.card_present = true;
            self.say("card inserted", Level::Info);
            vec![Request::InsertCard]
        }
    }

    /// The previous (`-1`) or next (`1`) exchange in the APDU list.
    fn move_apdu(&mut self, step: isize) -> Vec<Request> {
        let n = self.txn.apdus.len();
        self.apdu_selected = if step < 0 {
            let cur = self.apdu_selected.unwrap_or(n.saturating_sub(1));
            Some(cur.saturating_sub(1))
        } else {
            match self.apdu_selected {
                Some(i) if i + 2 < n => Some(i + 1),
                Some(_) if n > 0 => Some(n - 1),
                other => other,
            }
        };
        self.detail_scroll = 0;
        Vec::new()
    }

    fn pick_terminal(&mut self) -> Vec<Request> {
        let items = self.terminal_names.clone();
        let selected = items
            .iter()
            .position(|n| *n == self.settings.terminal)
            .unwrap_or(0);
        self.show(Overlay::Pick {
            what: PickWhat::Terminal,
            items,
            selected,
        })
    }

    fn pick_card(&mut self) -> Vec<Request> {
        let mut items = self.card_names.clone();
        items.push(READER_CHOICE.to_owned());
        let selected = match &self.settings.card {
            CardChoice::Profile(p) => items.iter().position(|n| n == p).unwrap_or(0),
            CardChoice::Reader(_) => items.len() - 1,
        };
        self.show(Overlay::Pick {
            what: PickWhat::Card,
            items,
            selected,
        })
    }

    fn next_transaction_type(&mut self) -> Vec<Request> {
        self.settings.txn_type = match self.settings.txn_type {
            TxnType::Purchase => TxnType::Cash,
            TxnType::Cash => TxnType::Cashback,
            TxnType::Cashback => TxnType::Refund,
            TxnType::Refund => TxnType::Purchase,
        };
        self.say(
            format!(
                "transaction type {}",
                TransactionType::from(self.settings.txn_type).name()
            ),
            Level::Info,
        );
        Vec::new()
    }

    fn block_or_unblock_card(&mut self) -> Vec<Request> {
        let blocked = self
            .host
            .view
            .as_ref()
            .is_some_and(|v| v.card_status == emv_host::CardStatus::Blocked);
        self.host_action(if blocked {
            HostAction::UnblockCard
        } else {
            HostAction::BlockCard
        })
    }

    fn reset_card(&mut self) -> Vec<Request> {
        self.card_present = true;
        self.txn = Txn::default();
        self.apdu_selected = None;
        vec![Request::ResetCard]
    }

    fn start_or_stop_recording(&mut self) -> Vec<Request> {
        if self.recording.is_some() {
            vec![Request::Record(None)]
        } else {
            vec![Request::Record(Some(self.settings.record_path.clone()))]
        }
    }

    fn host_action(&mut self, action: HostAction) -> Vec<Request> {
        vec![Request::Host(action)]
    }

    /// The parameters of the next transaction, or why there is none.
    pub fn next_params(&self) -> Result<TransactionParams, String> {
        let exponent = self.exponent();
        let amount = parse_amount(&self.settings.amount, exponent)?;
        let seed = self.settings.seed.wrapping_add(self.txn.count);
        let params = TransactionParams {
            amount,
            transaction_type: self.settings.txn_type.into(),
            date: self.settings.date,
            time: self.settings.time,
            seed,
            // System trace audit number: six digits from the seed (ISO 8583 DE 11), as run
            stan: u32::try_from(seed % 999_999).unwrap_or(0) + 1,
            ..TransactionParams::default()
        };
        params.validate().map_err(|e| e.to_string())?;
        Ok(params)
    }

    fn start_transaction(&mut self) -> Vec<Request> {
        if self.busy() {
            return Vec::new();
        }
        if self.terminal.is_none() {
            self.say("no terminal profile loaded (t to pick one)", Level::Bad);
            return Vec::new();
        }
        let params = match self.next_params() {
            Ok(p) => p,
            Err(e) => {
                self.say(e, Level::Bad);
                return Vec::new();
            }
        };
        self.txn.running = true;
        self.txn.count += 1;
        self.txn.stage = None;
        self.txn.apdus.clear();
        self.txn.error = None;
        self.apdu_selected = None;
        self.detail_scroll = 0;
        self.txn_scroll = 0;
        self.say(
            format!(
                "transaction {} running: {} at {}",
                self.txn.count,
                self.transaction_words(),
                self.settings.terminal
            ),
            Level::Info,
        );
        vec![Request::Transact(params)]
    }

    /// An event from the worker.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Terminal(info) => {
                self.settings.terminal = info.name.clone();
                // keep the amount valid for the new currency exponent
                if let Ok(m) = parse_amount(&self.settings.amount, info.exponent) {
                    self.settings.amount = format_amount(m, info.exponent);
                }
                self.say(format!("terminal {}", info.name), Level::Info);
                self.terminal = Some(info);
            }
            Event::Card(info) => {
                if let Some(c) = &info {
                    self.settings.card = CardChoice::Profile(c.profile.clone());
                }
                self.card = info;
            }
            Event::CardSwitched => {
                self.card_present = true;
                self.txn = Txn::default();
                self.apdu_selected = None;
            }
            Event::Host(view) => match view {
                Ok(v) => {
                    self.host.view = v;
                    self.host.error = None;
                }
                Err(e) => {
                    self.host.view = None;
                    self.host.error = Some(e);
                }
            },
            Event::Stage(s) => {
                // the panel moves forward only: issuer scripts interrupt a stage that the
                // kernel then re-enters
                if self
                    .txn
                    .stage
                    .is_none_or(|cur| stage_index(s) >= stage_index(cur))
                {
                    self.txn.stage = Some(s);
                }
            }
            Event::Apdu(rec) => self.txn.apdus.push(rec),
            Event::PinRequest(prompt) => {
                self.txn.stage = Some(Stage::CardholderVerification);
                self.pin = Some(PinDialog::new(prompt, self.exponent()));
            }
            Event::Finished(result) => {
                self.txn.running = false;
                self.pin = None;
                match result {
                    Ok(o) => {
                        self.host.last_rc = o.host_response_code;
                        self.host.last_online_pin = o.online_pin;
                        let level = match o.outcome {
                            OutcomeKind::Approved | OutcomeKind::OnlineApproved => Level::Good,
                            _ => Level::Bad,
                        };
                        let mut text = format!(
                            "transaction {}: {}",
                            self.txn.count,
                            o.outcome.name().to_uppercase()
                        );
                        if let Some(r) = &o.termination_reason {
                            text.push_str(&format!(" ({r})"));
                        }
                        self.say(text, level);
                        self.txn.apdus = o.apdus.clone();
                        self.txn.previous = self.txn.outcome.replace(o);
                    }
                    Err(e) => {
                        self.say(format!("transaction not run: {e}"), Level::Bad);
                        self.txn.error = Some(e);
                    }
                }
            }
            Event::Message(m) => self.say(m, Level::Good),
            Event::Error(e) => self.say(e, Level::Bad),
            Event::PinRevealed(pin) => {
                self.overlay = Overlay::ViewPin {
                    pin,
                    until: self.now + Duration::from_secs(VIEW_PIN_SECONDS),
                };
            }
            Event::Recording(r) => {
                self.say(
                    match &r {
                        Some(p) => format!("recording the session to {p}"),
                        None => "recording stopped".to_owned(),
                    },
                    Level::Info,
                );
                self.recording = r;
            }
        }
    }

    /// The stages of the transaction panel and how each stands.
    pub fn stage_marks(&self) -> Vec<(Stage, Mark)> {
        if self.txn.running {
            let cur = self.txn.stage.map(stage_index);
            return Stage::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mark = match cur {
                        Some(c) if i < c => Mark::Done,
                        Some(c) if i == c => Mark::Running,
                        _ => Mark::Pending,
                    };
                    (*s, mark)
                })
                .collect();
        }
        let Some(o) = &self.txn.outcome else {
            return Stage::ALL.iter().map(|s| (*s, Mark::Pending)).collect();
        };
        Stage::ALL
            .iter()
            .map(|s| {
                let mark = if o.terminated_at == Some(*s) && o.outcome == OutcomeKind::Terminated {
                    Mark::Failed
                } else if o.decisions.iter().any(|d| d.stage == *s)
                    || (*s == Stage::CardholderVerification && !o.cvm_trace.is_empty())
                {
                    Mark::Done
                } else {
                    Mark::Skipped
                };
                (*s, mark)
            })
            .collect()
    }

    /// The exchange shown in the APDU detail.
    pub fn selected_apdu(&self) -> Option<(usize, &ApduRecord)> {
        let n = self.txn.apdus.len();
        if n == 0 {
            return None;
        }
        let i = self.apdu_selected.unwrap_or(n - 1).min(n - 1);
        self.txn.apdus.get(i).map(|a| (i, a))
    }
}
