//! Scenarios: multi-step flows in TOML (docs/formats.md §2) — transactions at
//! named terminals, issuer host calls, a card pulled before the script ran, state checks —
//! each step with expectations on the outcome object. A scenario is deterministic: it fixes
//! the date, the seeds of the card, the kernel and the host's PIN generator.
//!
//! A scenario file is checked completely (profiles, amounts, PINs, calls, expectation
//! fields) before its first step runs; an error names the file, the line and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emv_auth::{AuthRequest, TransactionType};
use emv_crypto::pinblock::{Fill, Pin};
use emv_host::{CardStatus, HostKeys, Issuer, PinResetMode};
use emv_kernel::{
    Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionDate, TransactionParams,
    TransactionTime,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;

use crate::SessionError;
use crate::card::CardSpec;
use crate::issuer::IssuerLink;
use crate::provision::parse_amount;
use crate::session::TraceLabel;
use crate::session::{HostSpec, Pull, Session};

/// The default date of a scenario's transactions (a fixed clock).
pub const DEFAULT_DATE: &str = "2026-01-15";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    name: String,
    #[serde(default)]
    description: String,
    card: Spanned<String>,
    #[serde(default)]
    card_tags: Vec<Spanned<String>>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    date: Option<Spanned<String>>,
    #[serde(rename = "step", default)]
    steps: Vec<StepToml>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PinsToml {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepToml {
    #[serde(rename = "do")]
    action: Spanned<String>,
    #[serde(default)]
    say: Option<String>,
    #[serde(default)]
    terminal: Option<Spanned<String>>,
    #[serde(default)]
    terminal_tags: Vec<Spanned<String>>,
    #[serde(default)]
    amount: Option<Spanned<String>>,
    #[serde(default)]
    cashback: Option<Spanned<String>>,
    #[serde(rename = "type", default)]
    txn_type: Option<Spanned<String>>,
    #[serde(default)]
    pin: Option<Spanned<PinsToml>>,
    #[serde(default)]
    force_online: bool,
    #[serde(default)]
    call: Option<Spanned<String>>,
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    new_pin: Option<Spanned<String>>,
    #[serde(default)]
    at: Option<Spanned<String>>,
    #[serde(default)]
    expect: Option<Spanned<BTreeMap<String, toml::Value>>>,
}

/// One PIN entry of a scripted cardholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSpec {
    /// These digits.
    Pin(String),
    /// Bypass PIN entry.
    Bypass,
    /// The PIN the cardholder last read through View PIN (`"$viewed"`).
    Viewed,
}

/// A host call of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum HostCall {
    /// Reset the online counter and queue a PIN UNBLOCK script.
    UnblockPin,
    /// Reset the PIN: a new random one, or keep it.
    ResetPin(PinResetMode),
    /// Change the PIN to this one (sent as an encrypted PIN block).
    ChangePin(String),
    /// Read the PIN as the cardholder's app would (View PIN); remembered as `$viewed`.
    ViewPin,
    /// Choose a new PIN in the cardholder's app (Set PIN), encrypted on the device.
    SetPin(String),
    /// Block the card at the host.
    BlockCard,
    /// Unblock the card at the host.
    UnblockCard,
    /// A card-not-present (e-commerce) authorisation of this amount in minor units: the
    /// channel docs/pin.md §3 names for "every authorisation is declined".
    Ecommerce(u64),
}

impl HostCall {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// A transaction at a terminal.
    Transaction {
        /// The terminal profile's name.
        terminal: String,
        /// Its `terminal_tags` overrides, as written.
        terminal_tags: Vec<String>,
        /// The kernel (profile with overrides).
        kernel: Box<Kernel>,
        /// The transaction parameters.
        params: TransactionParams,
        /// The cardholder's PIN entries.
        pins: Vec<PinSpec>,
    },
    /// An issuer host call.
    Host(HostCall),
    /// The card will be pulled out during the next transaction.
    RemoveCard(Pull),
    /// Only the expectations.
    Check,
}

/// One checked step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position.
    pub index: usize,
    /// Line of its `do =` in the file.
    pub line: usize,
    /// What it does.
    pub action: Action,
    /// What the demo says about it.
    pub say: Option<String>,
    /// Expected values by field path (`outcome`, `card.pin_try_counter`, ...).
    pub expect: Vec<(String, Value)>,
}

/// A checked scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub file: PathBuf,
    /// Its title.
    pub name: String,
    /// Its longer description.
    pub description: String,
    /// The card.
    pub card: CardSpec,
    /// The seed of the card, the kernel and the host's PIN generator.
    pub seed: u64,
    /// The date of its transactions.
    pub date: TransactionDate,
    /// The steps.
    pub steps: Vec<Step>,
}

/// A failed expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The field path.
    pub field: String,
    /// Expected value.
    pub expected: Value,
    /// Actual value (`null` when the field does not exist).
    pub actual: Value,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based position.
    pub step: usize,
    /// Line in the file.
    pub line: usize,
    /// `transaction`, `host`, `remove-card`, `check`.
    #[serde(rename = "do")]
    pub action: String,
    /// One line: what happened.
    pub summary: String,
    /// What the demo says about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub say: Option<String>,
    /// The object the expectations were checked against: the transaction's outcome, or
    /// `{card, host, result}` for the other steps.
    pub result: Value,
    /// Failed expectations.
    pub failures: Vec<Failure>,
    /// The transaction's outcome (transaction steps).
    #[serde(skip)]
    pub outcome: Option<Box<Outcome>>,
}

/// What a scenario did.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The file.
    pub file: String,
    /// Its title.
    pub name: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// The card and host state before the first step (`{card, host}`).
    pub initial: Value,
    /// The steps run (a scenario stops at the first step that fails to run, not at a
    /// failed expectation).
    pub steps: Vec<StepReport>,
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .map_or(1, |t| t.bytes().filter(|b| *b == b'\n').count() + 1)
    }

    fn err<T>(&self, span: &Spanned<T>, field: &str, reason: impl Into<String>) -> SessionError {
        SessionError::Scenario {
            file: self.file.display().to_string(),
            line: self.line(span.span().start),
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, SessionError> {
    let text = std::fs::read_to_string(path).map_err(|e| SessionError::Scenario {
        file: path.display().to_string(),
        line: 0,
        field: String::new(),
        reason: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// Checks a scenario's text (`path` names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<Scenario, SessionError> {
    let ctx = Ctx { file: path, text };
    let raw: FileToml = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| ctx.line(s.start));
        SessionError::Scenario {
            file: path.display().to_string(),
            line,
            field: String::new(),
            reason: e.message().to_string(),
        }
    })?;
    let overrides = raw
        .card_tags
        .iter()
        .map(|t| {
            t.get_ref()
                .parse()
                .map_err(|e: emv_card::CardError| ctx.err(t, "card_tags", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seed = raw.seed.unwrap_or(1);
    let card = CardSpec {
        profile: raw.card.get_ref().clone(),
        overrides,
        state: None,
        seed: Some(seed),
    };
    // the profile must load (and be provisionable) before anything runs
    if let Err(e) = emv_card::Personalisation::load(&card.profile, &card.overrides) {
        // an override the card cannot place: name its line (on the error path only, each
        // override is tried alone to find it)
        let culprit = matches!(e, emv_card::CardError::Override(_))
            .then(|| {
                raw.card_tags.iter().zip(&card.overrides).find(|(_, o)| {
                    emv_card::Personalisation::load(&card.profile, std::slice::from_ref(*o))
                        .is_err()
                })
            })
            .flatten();
        return Err(match culprit {
            Some((t, _)) => ctx.err(t, "card_tags", e.to_string()),
            None => ctx.err(&raw.card, "card", e.to_string()),
        });
    }
    let date = match &raw.date {
        Some(d) => {
            TransactionDate::parse(d.get_ref()).map_err(|e| ctx.err(d, "date", e.to_string()))?
        }
        None => TransactionDate::parse(DEFAULT_DATE)?,
    };
    if raw.steps.is_empty() {
        return Err(SessionError::Scenario {
            file: path.display().to_string(),
            line: 1,
            field: "step".into(),
            reason: "a scenario needs at least one [[step]]".into(),
        });
    }
    let mut steps = Vec::new();
    for (i, s) in raw.steps.iter().enumerate() {
        steps.push(step(&ctx, i + 1, s, seed, date)?);
    }
    Ok(Scenario {
        file: path.to_path_buf(),
        name: raw.name,
        description: raw.description,
        card,
        seed,
        date,
        steps,
    })
}

/// Fields a step kind may use besides `do`, `say` and `expect`.
fn allowed(action: &str) -> &'static [&'static str] {
    match action {
        "transaction" => &[
            "terminal",
            "terminal_tags",
            "amount",
            "cashback",
            "type",
            "pin",
            "force_online",
        ],
        "host" => &["call", "mode", "new_pin", "amount"],
        "remove-card" => &["at"],
        _ => &[],
    }
}

/// The step kind exists and only fields it takes are set.
fn check_fields(ctx: &Ctx<'_>, s: &StepToml, name: &str) -> Result<(), SessionError> {
    let present: [(&str, bool); 10] = [
        ("terminal", s.terminal.is_some()),
        ("terminal_tags", !s.terminal_tags.is_empty()),
        ("amount", s.amount.is_some()),
        ("cashback", s.cashback.is_some()),
        ("type", s.txn_type.is_some()),
        ("pin", s.pin.is_some()),
        ("force_online", s.force_online),
        ("call", s.call.is_some()),
        ("mode", s.mode.is_some()),
        ("new_pin", s.new_pin.is_some()),
    ];
    if !matches!(name, "transaction" | "host" | "remove-card" | "check") {
        return Err(ctx.err(
            &s.action,
            "do",
            format!("{name:?} is not a step: use transaction, host, remove-card or check"),
        ));
    }
    for (field, set) in present.iter().chain([("at", s.at.is_some())].iter()) {
        if *set && !allowed(name).contains(field) {
            return Err(ctx.err(
                &s.action,
                field,
                format!("a {name} step has no {field} (it takes: {})", {
                    let a = allowed(name);
                    if a.is_empty() {
                        "only expect".to_string()
                    } else {
                        a.join(", ")
                    }
                }),
            ));
        }
    }
    Ok(())
}

fn step(
    ctx: &Ctx<'_>,
    index: usize,
    s: &StepToml,
    seed: u64,
    date: TransactionDate,
) -> Result<Step, SessionError> {
    let name = s.action.get_ref().as_str();
    let line = ctx.line(s.action.span().start);
    check_fields(ctx, s, name)?;
    let action = match name {
        "transaction" => transaction(ctx, index, s, seed, date)?,
        "host" => Action::Host(parse_host_call(ctx, s)?),
        "remove-card" => Action::RemoveCard(parse_remove_card(ctx, s)?),
        _ => Action::Check,
    };
    let mut expect = Vec::new();
    if let Some(e) = &s.expect {
        for (k, v) in e.get_ref() {
            check_field(&action, k).map_err(|r| ctx.err(e, &format!("expect.{k}"), r))?;
            let v = serde_json::to_value(v)
                .map_err(|er| ctx.err(e, &format!("expect.{k}"), er.to_string()))?;
            expect.push((k.clone(), v));
        }
    }
    Ok(Step {
        index,
        line,
        action,
        say: s.say.clone(),
        expect,
    })
}

/// The call of a `host` step (`call` and the fields that call takes).
fn parse_host_call(ctx: &Ctx<'_>, s: &StepToml) -> Result<HostCall, SessionError> {
    let Some(call) = &s.call else {
        return Err(ctx.err(&s.action, "call", "a host step needs call = ..."));
    };
    let c = match call.get_ref().as_str() {
        "unblock-pin" => HostCall::UnblockPin,
        "reset-pin" => {
            let mode = match s.mode.as_ref().map(|m| m.get_ref().as_str()) {
                Some("new") => PinResetMode::New,
                Some("keep") => PinResetMode::Keep,
                Some(other) => {
                    return Err(ctx.err(
                        s.mode.as_ref().unwrap_or(call),
                        "mode",
                        format!("{other:?}: expected \"new\" or \"keep\""),
                    ));
                }
                None => {
                    return Err(ctx.err(
                        call,
                        "mode",
                        "reset-pin needs mode = \"new\" or \"keep\"",
                    ));
                }
            };
            HostCall::ResetPin(mode)
        }
        "change-pin" => {
            let Some(p) = &s.new_pin else {
                return Err(ctx.err(call, "new_pin", "change-pin needs new_pin = \"....\""));
            };
            emv_crypto::pinblock::Pin::new(p.get_ref())
                .map_err(|e| ctx.err(p, "new_pin", e.to_string()))?;
            HostCall::ChangePin(p.get_ref().clone())
        }
        "view-pin" => HostCall::ViewPin,
        "set-pin" => {
            let Some(p) = &s.new_pin else {
                return Err(ctx.err(call, "new_pin", "set-pin needs new_pin = \"....\""));
            };
            emv_crypto::pinblock::Pin::new(p.get_ref())
                .map_err(|e| ctx.err(p, "new_pin", e.to_string()))?;
            HostCall::SetPin(p.get_ref().clone())
        }
        "block-card" => HostCall::BlockCard,
        "unblock-card" => HostCall::UnblockCard,
        "ecommerce" => {
            let Some(a) = &s.amount else {
                return Err(ctx.err(call, "amount", "ecommerce needs amount = \"12.34\""));
            };
            // the account currency (EUR, 2 decimals) of the test card profiles
            HostCall::Ecommerce(parse_amount(a.get_ref(), 2).map_err(|e| ctx.err(a, "amount", e))?)
        }
        other => {
            return Err(ctx.err(
                call,
                "call",
                format!(
                    "{other:?}: expected unblock-pin, reset-pin, change-pin, view-pin, \
                     set-pin, block-card, unblock-card or ecommerce"
                ),
            ));
        }
    };
    if s.mode.is_some() && !matches!(c, HostCall::ResetPin(_)) {
        return Err(ctx.err(call, "mode", "only reset-pin takes a mode"));
    }
    if s.amount.is_some() && !matches!(c, HostCall::Ecommerce(_)) {
        return Err(ctx.err(call, "amount", "only ecommerce takes an amount"));
    }
    if s.new_pin.is_some() && !matches!(c, HostCall::ChangePin(_) | HostCall::SetPin(_)) {
        return Err(ctx.err(call, "new_pin", "only change-pin and set-pin take new_pin"));
    }
    Ok(c)
}

/// When a `remove-card` step pulls the card (`at`).
fn parse_remove_card(ctx: &Ctx<'_>, s: &StepToml) -> Result<Pull, SessionError> {
    Ok(match s.at.as_ref().map(|a| a.get_ref().as_str()) {
        None | Some("after-authorisation") => Pull::AfterAuthorisation,
        Some(other) => match other
            .strip_prefix("before-command-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
        {
            Some(n) => Pull::BeforeCommand(n),
            None => {
                return Err(ctx.err(
                    s.at.as_ref().unwrap_or(&s.action),
                    "at",
                    format!("{other:?}: expected after-authorisation or before-command-N"),
                ));
            }
        },
    })
}

fn transaction(
    ctx: &Ctx<'_>,
    index: usize,
    s: &StepToml,
    seed: u64,
    date: TransactionDate,
) -> Result<Action, SessionError> {
    let terminal = s
        .terminal
        .as_ref()
        .map_or("pos-attended", |t| t.get_ref().as_str());
    let mut profile = Profile::load(terminal).map_err(|e| match &s.terminal {
        Some(t) => ctx.err(t, "terminal", e.to_string()),
        None => ctx.err(&s.action, "terminal", e.to_string()),
    })?;
    for t in &s.terminal_tags {
        profile
            .override_tag_str(t.get_ref())
            .map_err(|e| ctx.err(t, "terminal_tags", e.to_string()))?;
    }
    let exponent = u32::from(profile.currency_exponent);
    let Some(amount_s) = &s.amount else {
        return Err(ctx.err(
            &s.action,
            "amount",
            "a transaction needs amount = \"12.34\"",
        ));
    };
    let amount =
        parse_amount(amount_s.get_ref(), exponent).map_err(|e| ctx.err(amount_s, "amount", e))?;
    let cashback = match &s.cashback {
        Some(c) => parse_amount(c.get_ref(), exponent).map_err(|e| ctx.err(c, "cashback", e))?,
        None => 0,
    };
    let transaction_type = match &s.txn_type {
        None => TransactionType::Purchase,
        Some(t) => t.get_ref().parse().map_err(|_| {
            ctx.err(
                t,
                "type",
                format!(
                    "{:?}: expected purchase, cash, cashback or refund",
                    t.get_ref()
                ),
            )
        })?,
    };
    let mut pins = Vec::new();
    if let Some(p) = &s.pin {
        let list = match p.get_ref() {
            PinsToml::One(one) => vec![one.clone()],
            PinsToml::Many(v) => v.clone(),
        };
        for entry in list {
            pins.push(match entry.as_str() {
                "bypass" => PinSpec::Bypass,
                "$viewed" => PinSpec::Viewed,
                digits => {
                    emv_crypto::pinblock::Pin::new(digits).map_err(|e| {
                        ctx.err(p, "pin", format!("{e} (or \"bypass\", \"$viewed\")"))
                    })?;
                    PinSpec::Pin(digits.to_string())
                }
            });
        }
    }
    let step = u64::try_from(index).unwrap_or(u64::MAX);
    let params = TransactionParams {
        amount,
        amount_other: cashback,
        transaction_type,
        date,
        time: TransactionTime {
            hour: 12,
            minute: u8::try_from(index % 60).unwrap_or(0),
            second: 0,
        },
        // a different unpredictable number for every step, the same on every run
        seed: seed.wrapping_mul(1000).wrapping_add(step),
        stan: u32::try_from(index).unwrap_or(u32::MAX),
        merchant_forced_online: s.force_online,
        ..TransactionParams::default()
    };
    params
        .validate()
        .map_err(|e| ctx.err(amount_s, "amount", e.to_string()))?;
    Ok(Action::Transaction {
        terminal: terminal.to_string(),
        terminal_tags: s
            .terminal_tags
            .iter()
            .map(|t| t.get_ref().clone())
            .collect(),
        kernel: Box::new(Kernel::new(profile, KernelConfig::default())),
        params,
        pins,
    })
}

/// The fields a step's expectations may name.
const OUTCOME_FIELDS: &[&str] = &[
    "outcome",
    "cid_first",
    "cid_final",
    "tvr",
    "tsi",
    "cvm_results",
    "cvm_performed",
    "host_response_code",
    "online_pin",
    "script_results",
    "apdu_count",
    "aid",
    "arc",
    "signature_required",
    "terminated_at",
    "termination_reason",
];
const CARD_FIELDS: &[&str] = &[
    "pin_try_counter",
    "pin_try_limit",
    "app_blocked",
    "card_blocked",
    "atc",
];
const HOST_FIELDS: &[&str] = &["online_pin_tries_left", "card_status", "pending_scripts"];
const REVERSAL_FIELDS: &[&str] = &["why", "response_code", "error"];

fn check_field(action: &Action, field: &str) -> Result<(), String> {
    let ok = match field.split_once('.') {
        Some(("card", f)) => CARD_FIELDS.contains(&f),
        Some(("host", f)) => HOST_FIELDS.contains(&f),
        Some(("result", _)) => matches!(action, Action::Host(_)),
        Some(("reversal", f)) => {
            matches!(action, Action::Transaction { .. }) && REVERSAL_FIELDS.contains(&f)
        }
        Some(_) => false,
        None => matches!(action, Action::Transaction { .. }) && OUTCOME_FIELDS.contains(&field),
    };
    if ok {
        return Ok(());
    }
    let mut known: Vec<String> = Vec::new();
    if matches!(action, Action::Transaction { .. }) {
        known.extend(OUTCOME_FIELDS.iter().map(|f| (*f).to_string()));
        known.extend(REVERSAL_FIELDS.iter().map(|f| format!("reversal.{f}")));
    }
    known.extend(CARD_FIELDS.iter().map(|f| format!("card.{f}")));
    known.extend(HOST_FIELDS.iter().map(|f| format!("host.{f}")));
    if matches!(action, Action::Host(_)) {
        known.push("result.<field of the call's answer>".into());
    }
    Err(format!(
        "unknown field {field:?} for this step; known: {}",
        known.join(", ")
    ))
}

/// Options of a scenario run.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Record the exchanges into a trace.
    pub record: bool,
    /// Record the PIN-bearing commands in clear (default: redacted).
    pub record_pins: bool,
    /// Keep the embedded host's SQLite store in this directory instead of in memory.
    pub host_dir: Option<PathBuf>,
    /// Run against this host instead of a fresh embedded one (`None`: embedded). A remote
    /// host chooses its own random PINs and answers with its own RRNs, so the exchanges
    /// of a scenario that resets a PIN differ from its recorded trace; the expectations
    /// hold on every host.
    pub host: Option<HostSpec>,
}

/// A scenario's report and, when asked, its trace.
#[derive(Debug)]
pub struct Ran {
    /// What happened.
    pub report: ScenarioReport,
    /// The recorded trace.
    pub trace: Option<emv_transport::trace::Trace>,
}

/// Runs a checked scenario with a fresh in-memory embedded host.
pub fn run(scenario: &Scenario, keys: HostKeys, opts: &RunOptions) -> Result<Ran, SessionError> {
    if let Some(spec) = opts.host.as_ref().filter(|h| {
        !matches!(
            h,
            HostSpec::EmbeddedInMemory | HostSpec::EmbeddedAt(_) | HostSpec::EmbeddedDb(_)
        )
    }) {
        let link = spec.connect(keys)?;
        let mut session = Session::with_host(&scenario.card, link)?;
        session.record_pins = opts.record_pins;
        return run_in(scenario, &mut session, opts.record);
    }
    // an embedded host, seeded so that the PINs it makes are the scenario's
    let issuer = match (&opts.host, &opts.host_dir) {
        (Some(HostSpec::EmbeddedDb(url)), _) => Issuer::open_database(url, keys, 4)?,
        (_, Some(dir)) => Issuer::open(dir, keys)?,
        (_, None) => Issuer::in_memory(keys)?,
    }
    .with_pin_seed(scenario.seed);
    let mut session = Session::with_host(&scenario.card, Some(IssuerLink::Embedded(issuer)))?;
    session.record_pins = opts.record_pins;
    run_in(scenario, &mut session, opts.record)
}

/// Runs a checked scenario's steps in a session the caller opened: the scenario's card with
/// its state in a file, a store that injects faults (the crash tests kill the process at
/// every write of the card's state), a host kept elsewhere. The session's host should use
/// the scenario's seed for its PINs ([`Issuer::with_pin_seed`]) for a run that matches the
/// recorded trace; [`run`] opens such a session.
pub fn run_in(
    scenario: &Scenario,
    session: &mut Session,
    record: bool,
) -> Result<Ran, SessionError> {
    if record {
        session.record();
    }
    session.mark_card(&scenario.card, scenario.seed);
    session.mark(
        "scenario",
        &[],
        &[
            ("name", scenario.name.clone()),
            (
                "file",
                scenario
                    .file
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        ],
    );
    let initial = state_json(session, Value::Null)?;
    let mut viewed: Option<zeroize::Zeroizing<String>> = None;
    let mut steps = Vec::new();
    for step in &scenario.steps {
        let r = run_step(session, step, &mut viewed)?;
        steps.push(r);
    }
    let report = ScenarioReport {
        file: scenario.file.display().to_string(),
        name: scenario.name.clone(),
        passed: steps.iter().all(|s| s.failures.is_empty()),
        initial,
        steps,
    };
    Ok(Ran {
        report,
        trace: session.trace.take(),
    })
}

fn state_json(session: &mut Session, result: Value) -> Result<Value, SessionError> {
    let card = serde_json::to_value(session.card_state()).unwrap_or(Value::Null);
    let host = serde_json::to_value(session.host_state()?).unwrap_or(Value::Null);
    Ok(serde_json::json!({ "card": card, "host": host, "result": result }))
}

fn run_step(
    session: &mut Session,
    step: &Step,
    viewed: &mut Option<zeroize::Zeroizing<String>>,
) -> Result<StepReport, SessionError> {
    let at = |e: SessionError| SessionError::Step {
        step: step.index,
        line: step.line,
        source: Box::new(e),
    };
    // the error code of a host call the host refused
    let mut refused: Option<Value> = None;
    let (action, summary, result, outcome) = match &step.action {
        Action::Transaction {
            terminal,
            terminal_tags,
            kernel,
            params,
            pins,
        } => {
            let o = transaction_step(
                session,
                step,
                viewed,
                (terminal, terminal_tags),
                kernel,
                params,
                pins,
            )
            .map_err(at)?;
            let summary = transaction_summary(terminal, &o);
            let json = serde_json::to_value(&o).unwrap_or(Value::Null);
            ("transaction", summary, json, Some(Box::new(o)))
        }
        Action::Host(call) => {
            session.mark("host-call", &[call.name()], &[]);
            let (summary, result, code) = host_step(session, call, viewed).map_err(at)?;
            refused = code;
            (
                "host",
                summary,
                state_json(session, result).map_err(at)?,
                None,
            )
        }
        Action::RemoveCard(p) => {
            session.pull = Some(*p);
            let what = match p {
                Pull::AfterAuthorisation => {
                    "the card will be pulled out as soon as the issuer answers the next transaction"
                        .to_string()
                }
                Pull::BeforeCommand(n) => {
                    format!(
                        "the card will be pulled out before command {n} of the next transaction"
                    )
                }
            };
            (
                "remove-card",
                what,
                state_json(session, Value::Null).map_err(at)?,
                None,
            )
        }
        Action::Check => (
            "check",
            "state checked".to_string(),
            state_json(session, Value::Null).map_err(at)?,
            None,
        ),
    };
    // a remote host, or an embedded one on a database others use (its script ids are
    // the database's, not the scenario's)
    let shared_host = session
        .host
        .as_ref()
        .is_some_and(|h| h.embedded().is_none_or(emv_host::Issuer::shared_store));
    let failures = failures(step, &result, refused, shared_host);
    Ok(StepReport {
        step: step.index,
        line: step.line,
        action: action.to_string(),
        summary,
        say: step.say.clone(),
        result,
        failures,
        outcome,
    })
}

/// A `host` step: the call's summary and answer, or, when the host refused the call (a
/// weak PIN, ...), the refusal as the step's result (`{error, detail}`) and its code.
fn host_step(
    session: &mut Session,
    call: &HostCall,
    viewed: &mut Option<zeroize::Zeroizing<String>>,
) -> Result<(String, Value, Option<Value>), SessionError> {
    match host_call(session, call, viewed) {
        Ok((summary, result)) => Ok((summary, result, None)),
        Err(e) => match refusal(&e) {
            Some((code, detail)) => Ok((
                format!("the host refused the call: {detail}"),
                serde_json::json!({ "error": code, "detail": detail }),
                Some(Value::String(code)),
            )),
            None => Err(e),
        },
    }
}

/// The step's failed expectations against its `result`. A refused host call (`refused`,
/// its code) fails the step unless the step expects the refusal (`expect = {
/// "result.error" = "weak-pin" }`, docs/formats.md §2).
fn failures(
    step: &Step,
    result: &Value,
    refused: Option<Value>,
    shared_host: bool,
) -> Vec<Failure> {
    let mut failures: Vec<Failure> = Vec::new();
    if let Some(code) = refused
        && !step.expect.iter().any(|(f, _)| f == "result.error")
    {
        failures.push(Failure {
            field: "result.error".into(),
            expected: Value::Null,
            actual: code,
        });
    }
    failures.extend(step.expect.iter().filter_map(|(field, expected)| {
        let actual = lookup(result, field);
        let met = if shared_host && field == "script_results" {
            same_script_results(expected, &actual)
        } else {
            matches(expected, &actual)
        };
        (!met).then(|| Failure {
            field: field.clone(),
            expected: expected.clone(),
            actual,
        })
    }));
    failures
}

/// A `transaction` step: the PIN pad's entries (`"$viewed"` the PIN last read through
/// View PIN) and the transaction, labelled with the step number in the trace.
fn transaction_step(
    session: &mut Session,
    step: &Step,
    viewed: &Option<zeroize::Zeroizing<String>>,
    (terminal, terminal_tags): (&String, &[String]),
    kernel: &Kernel,
    params: &TransactionParams,
    pins: &[PinSpec],
) -> Result<Outcome, SessionError> {
    let mut entries: Vec<zeroize::Zeroizing<String>> = Vec::new();
    for p in pins {
        entries.push(match p {
            PinSpec::Pin(d) => zeroize::Zeroizing::new(d.clone()),
            PinSpec::Bypass => zeroize::Zeroizing::new("bypass".to_string()),
            PinSpec::Viewed => viewed.clone().ok_or_else(|| {
                SessionError::Input("pin \"$viewed\" needs a view-pin host step before it".into())
            })?,
        });
    }
    let mut pad = ScriptedPinPad::new(entries.iter().map(|e| e.as_str()))?;
    let label = TraceLabel {
        number: Some(step.index),
        terminal: Some(terminal.clone()),
        terminal_tags: terminal_tags.join(","),
        pins: pins
            .iter()
            .map(|p| match p {
                PinSpec::Bypass => "bypass",
                _ => "pin",
            })
            .collect(),
    };
    session.transact_with(kernel, &mut pad, params, &label, &mut ())
}

/// A host call the host refused as a caller's mistake (its error code and message), as
/// opposed to a host that failed or could not be reached.
fn refusal(e: &SessionError) -> Option<(String, String)> {
    match e {
        SessionError::Host(h) if h.is_client_error() => Some((h.code().to_string(), h.to_string())),
        SessionError::Remote(emv_auth::HostError::Rejected(m)) => {
            Some(("rejected".to_string(), m.clone()))
        }
        _ => None,
    }
}

fn host_call(
    session: &mut Session,
    call: &HostCall,
    viewed: &mut Option<zeroize::Zeroizing<String>>,
) -> Result<(String, Value), SessionError> {
    let card = session
        .card_ref
        .clone()
        .ok_or_else(|| SessionError::Input("host calls need the software card".into()))?;
    let Some(host) = session.host.as_mut() else {
        return Err(SessionError::Input(
            "this session has no issuer host".into(),
        ));
    };
    Ok(match call {
        HostCall::UnblockPin => {
            let o = host.unblock_pin(&card)?;
            (o.message.clone(), to_json(&o))
        }
        HostCall::ResetPin(mode) => {
            let o = host.reset_pin(&card, *mode)?;
            (o.message.clone(), to_json(&o))
        }
        HostCall::ChangePin(pin) => {
            // The back office sends the new PIN as an ISO 9564-1 format 0 block under the
            // TEST terminal PIN key, as the attended POS's PIN pad would (docs/issuer-host.md
            // §7, change-pin API).
            let key = Profile::builtin("pos-attended")?
                .online_pin
                .ok_or_else(|| SessionError::Input("pos-attended has no online PIN key".into()))?;
            let block = key.pin_block(&Pin::new(pin)?, &card.pan, &Fill::Random)?;
            let o = host.change_pin(&card, &block)?;
            (o.message.clone(), to_json(&o))
        }
        HostCall::ViewPin => {
            let pin = host.view_pin(&card)?;
            let len = pin.len();
            *viewed = Some(pin);
            (
                format!(
                    "the cardholder read the {len}-digit PIN in the app (View PIN: a 30-second \
                     token, the PIN encrypted to a key made on the device)"
                ),
                serde_json::json!({ "pin_length": len }),
            )
        }
        HostCall::SetPin(pin) => {
            let answer = host.set_pin(&card, pin)?;
            (
                "the cardholder chose a new PIN in the app (Set PIN: encrypted on the device to \
                 the PIN service's key); a PIN CHANGE script is queued for the chip"
                    .to_string(),
                serde_json::from_str(&answer).unwrap_or(Value::Null),
            )
        }
        HostCall::BlockCard => {
            let v = host.set_card_status(&card, CardStatus::Blocked)?;
            ("the card is blocked at the host".into(), to_json(&v))
        }
        HostCall::UnblockCard => {
            let v = host.set_card_status(&card, CardStatus::Active)?;
            ("the card is active again at the host".into(), to_json(&v))
        }
        HostCall::Ecommerce(amount) => {
            // the test cards' account: EUR (978) at a French merchant (250)
            let req = AuthRequest::card_not_present(&card.pan, *amount, 978, 250, None);
            let r = emv_auth::Host::authorise(host, &req)?;
            (
                format!(
                    "e-commerce authorisation answered {} {}",
                    r.response_code.as_str(),
                    r.reason
                ),
                serde_json::json!({
                    "response_code": r.response_code.as_str(),
                    "reason": r.reason,
                }),
            )
        }
    })
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One line about a transaction.
pub fn transaction_summary(terminal: &str, o: &Outcome) -> String {
    let mut s = format!("{terminal}: {}", o.outcome.name());
    if let Some(rc) = &o.host_response_code {
        s.push_str(&format!(" (host {rc})"));
    }
    s.push_str(&format!(", CVM {}", o.cvm_performed.name()));
    if let Some(p) = &o.online_pin {
        s.push_str(&format!(", online PIN {p}"));
    }
    if let Some(c) = &o.card {
        s.push_str(&format!(
            ", chip PTC {}/{}",
            c.pin_try_counter, c.pin_try_limit
        ));
    }
    if let Some(h) = &o.host {
        s.push_str(&format!(
            ", host tries {}, scripts pending {}",
            h.online_pin_tries_left, h.pending_scripts
        ));
    }
    if let Some(r) = &o.termination_reason {
        s.push_str(&format!(" — {r}"));
    }
    s
}

/// The value at a dotted path (`card.pin_try_counter`); `null` if absent.
pub fn lookup(v: &Value, path: &str) -> Value {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Issuer Script Results (9F5B) from a host that is not the scenario's own: the same
/// number of scripts with the same results; the identifiers (the script's 9F18) are that
/// host's own sequence numbers (docs/issuer-host.md §4), so they are not compared.
fn same_script_results(expected: &Value, actual: &Value) -> bool {
    let (Value::String(e), Value::String(a)) = (expected, actual) else {
        return matches(expected, actual);
    };
    // 5 bytes per script (EMV 4.4 Book 4 Annex A5): result byte, then the identifier
    e.len() == a.len()
        && e.len() % 10 == 0
        && e.as_bytes()
            .chunks(10)
            .zip(a.as_bytes().chunks(10))
            .all(|(x, y)| x[..2].eq_ignore_ascii_case(&y[..2]))
}

/// Whether an actual value meets an expectation: numbers by value, strings ignoring the
/// case of hex digits, `"null"` for an absent value.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), Value::Null) => e == "null",
        (Value::String(e), Value::String(a)) => e.eq_ignore_ascii_case(a),
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => e == a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_host_s_script_ids_are_its_own_the_results_are_compared() {
        let v = |s: &str| Value::String(s.into());
        assert!(same_script_results(&v("2000000001"), &v("2000000005")));
        assert!(same_script_results(
            &v("2000000001100000000A"),
            &v("200000000710000000FF")
        ));
        // a failed script, one script too many or too few: not the same
        assert!(!same_script_results(&v("2000000001"), &v("1000000001")));
        assert!(!same_script_results(
            &v("2000000001"),
            &v("20000000012000000002")
        ));
        assert!(!same_script_results(&v("2000000001"), &Value::Null));
        assert!(same_script_results(&v("null"), &Value::Null));
        // the embedded host's comparison stays exact
        assert!(!matches(&v("2000000001"), &v("2000000005")));
    }

    /// A scenario file with `body` in a fresh directory.
    fn scenario_file(name: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("emv-session-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn a_host_call_the_host_refuses_fails_its_step_unless_the_step_expects_it() {
        let body = |expect: &str| {
            format!(
                "name = \"weak\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"host\"\n\
                 call = \"set-pin\"\nnew_pin = \"1111\"\n{expect}\n[[step]]\ndo = \"check\"\n"
            )
        };
        let report = |p: &Path| {
            let s = load(p).unwrap();
            run(
                &s,
                HostKeys::load_test_keys().unwrap(),
                &RunOptions::default(),
            )
            .unwrap()
            .report
        };
        let p = scenario_file("refused", &body(""));
        let r = report(&p);
        assert!(!r.passed);
        let s = &r.steps[0];
        assert!(
            s.summary
                .starts_with("the host refused the call: PIN refused"),
            "{}",
            s.summary
        );
        assert_eq!(
            s.failures,
            [Failure {
                field: "result.error".into(),
                expected: Value::Null,
                actual: Value::String("weak-pin".into()),
            }]
        );
        // the scenario goes on after the failed step
        assert!(r.steps[1].failures.is_empty());
        let p2 = scenario_file(
            "refused-expected",
            &body("expect = { \"result.error\" = \"weak-pin\" }"),
        );
        assert!(report(&p2).passed);
        for p in [p, p2] {
            std::fs::remove_dir_all(p.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn an_override_the_card_cannot_place_names_its_line() {
        let p = scenario_file(
            "card-tags",
            "name = \"x\"\ncard = \"visa-cvn18\"\ncard_tags = [\n  \"9F07=FFC0\",\n  \
             \"9F7F=AB\",\n]\n[[step]]\ndo = \"check\"\n",
        );
        let e = load(&p).unwrap_err();
        let SessionError::Scenario { line, field, .. } = &e else {
            panic!("{e}");
        };
        assert_eq!((*line, field.as_str()), (5, "card_tags"), "{e}");
        assert!(e.to_string().contains("9F7F"), "{e}");
        std::fs::remove_dir_all(p.parent().unwrap()).unwrap();
    }
}
