//! `emvbench run`: one full transaction between a card and a terminal, with the issuer
//! host, printed as a readable report or as the JSON outcome object.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use emv_auth::TransactionType;
use emv_card::TagOverride;
use emv_kernel::{
    Kernel, KernelConfig, Profile, ScriptedPinPad, TransactionDate, TransactionParams,
    TransactionTime,
};
use emv_session::report::{ReportHeader, ReportOptions, render};
use emv_session::{CardSpec, HostSpec, Session, format_amount, parse_amount};

use super::InputError;

pub const EXAMPLES: &str = "\
Examples:
  emvbench run --card visa-cvn18 --amount 25.00 --pin 1234
  emvbench run --card visa-cvn18 --amount 25.00 --pin 0000 --pin 1234     # wrong, then right
  emvbench run --card mc-cvn16 --terminal atm --type cash --amount 100 --pin 1234 --json
  emvbench run --card visa-cvn18 --amount 60 --pin-bypass
  emvbench run --card visa-cvn18 --amount 10 --card-tag 8E=000000000000000042031E031F00 \\
               --terminal-tag 9F33=E0B8C8 --pin 1234 --json
  emvbench run --card visa-cvn18 --state card.json --amount 25 --pin 9999   # the card remembers
  emvbench run --card visa-cvn18 --amount 25 --pin 1234 --host http://127.0.0.1:8080

Each --pin is one PIN entry at the PIN pad: after a wrong offline PIN the kernel asks again
and takes the next --pin; when the entries run out the cardholder cancels. `--pin bypass`
(or --pin-bypass) bypasses PIN entry at that prompt. Without any --pin nobody is at the PIN
pad: a PIN CVM fails as 'PIN not entered' (the next CV Rule applies, often signature) and
the report says the cardholder was not asked because no --pin was given.

State: without --state the card is freshly personalised from its profile, and the embedded
host is a fresh in-memory one provisioned from the same profile, so every run starts from
the profile and gives the same result. With --state FILE the card keeps its state (PIN try
counter, ATC, blocks) in FILE and the embedded host keeps its own in --data DIR (default
$XDG_DATA_HOME/emvbench or ~/.local/share/emvbench): a sequence of runs then behaves like
one card and its issuer (wrong PINs add up, scripts wait for the next online transaction).
A new state file re-issues the card at the host (PIN, counters and scripts reset).

The exit code is 0 whatever the outcome (approved, declined or terminated): read it from
the report or from --json. Errors in the arguments or profiles exit with 2.";

/// Transaction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TxnType {
    /// Goods and services (9C 00).
    Purchase,
    /// Cash withdrawal or manual cash (9C 01).
    Cash,
    /// Purchase with cashback (9C 09).
    Cashback,
    /// Refund (9C 20).
    Refund,
}

impl From<TxnType> for TransactionType {
    fn from(t: TxnType) -> Self {
        match t {
            TxnType::Purchase => TransactionType::Purchase,
            TxnType::Cash => TransactionType::Cash,
            TxnType::Cashback => TransactionType::Cashback,
            TxnType::Refund => TransactionType::Refund,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which-card").required(true).args(["card", "reader"])))]
pub struct Args {
    /// Card profile (a name in card-profiles/ or a path): the software card.
    #[arg(long, value_name = "PROFILE")]
    card: Option<String>,
    /// A real card in a PC/SC reader: the reader's index in `emvbench readers` or part of
    /// its name.
    #[arg(long, value_name = "N")]
    reader: Option<String>,
    /// Terminal profile (a name in terminal-profiles/ or a path).
    #[arg(long, value_name = "PROFILE", default_value = "pos-attended")]
    terminal: String,
    /// Amount, Authorised in the terminal's currency, e.g. 12.34 (it includes any
    /// cashback).
    #[arg(long, value_name = "AMOUNT")]
    amount: String,
    /// Cashback part of the amount (Amount, Other), e.g. 5.00; with --type cashback.
    #[arg(long, value_name = "AMOUNT")]
    cashback: Option<String>,
    /// Transaction type.
    #[arg(long = "type", value_enum, default_value = "purchase")]
    txn_type: TxnType,
    /// One PIN entry (4-12 digits, or `bypass`); repeat for the next tries.
    #[arg(long, value_name = "PIN")]
    pin: Vec<String>,
    /// Bypass PIN entry at the first PIN prompt (before any --pin).
    #[arg(long)]
    pin_bypass: bool,
    #[command(flatten)]
    session: SessionArgs,
    /// Override a card data object: TAG=HEX (repeatable), e.g. 8E=0000...4203, where the
    /// card serves it: a record, GET DATA, the FCI (card-profiles/README.md); a tag the card
    /// has no place for is refused.
    #[arg(long = "card-tag", value_name = "TAG=HEX")]
    card_tags: Vec<TagOverride>,
    /// Override a terminal data object: TAG=HEX (repeatable), e.g. 9F33=E0F8C8.
    #[arg(long = "terminal-tag", value_name = "TAG=HEX")]
    terminal_tags: Vec<String>,
    /// Transaction date YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Seed of the terminal's and the card's random numbers (default: random). With the
    /// same seed, date and state, a run sends the same APDUs.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// The merchant forces the transaction online.
    #[arg(long)]
    force_online: bool,
    /// Leave the APDU listing out of the report.
    #[arg(long)]
    no_apdus: bool,
    /// Record the APDU trace of the transaction into FILE (replay it with `emvbench trace
    /// replay FILE`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Record the VERIFY and PIN CHANGE data in clear (default: redacted as [PIN]); the
    /// trace's header then warns that it holds PINs.
    #[arg(long, requires = "record")]
    record_pins: bool,
    /// Print the outcome object (JSON) instead of the report.
    #[arg(long)]
    json: bool,
}

/// Which issuer host the terminal goes online to, and its credentials (`run`, `tui`,
/// `scenario run`).
#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// The issuer host: `embedded` (in-process), `http://HOST:PORT` (a running `emvbench
    /// host serve`), `iso8583://HOST:PORT[?format=ascii|binary&header=2b|4a|none&tpdu=HEX&
    /// link=NAME&mac=off]` (an ISO 8583 port, docs/iso8583.md) or `none` (unreachable: the
    /// terminal decides offline).
    #[arg(long, value_name = "HOST", default_value = "embedded")]
    pub(crate) host: String,
    /// With an `iso8583://` host: the same host's HTTP API (`http://HOST:PORT`) for
    /// provisioning the card and the PIN management calls. Without it the card must be
    /// known to the host already and the report shows no host state.
    #[arg(long, value_name = "URL")]
    pub(crate) host_api: Option<String>,
    /// The embedded host on a PostgreSQL database (postgres://USER[:PASSWORD]@HOST/DB)
    /// instead of SQLite: the same store a lab's shared `host serve --db` uses.
    #[arg(long, value_name = "URL")]
    pub(crate) db: Option<String>,
    /// Issuer API key for a remote host's management API (default: $EMVBENCH_API_KEY, else
    /// the first API key of the key file).
    #[arg(
        long,
        value_name = "KEY",
        env = "EMVBENCH_API_KEY",
        hide_env_values = true
    )]
    pub(crate) api_key: Option<String>,
    /// Acquirer key for a remote host's network routes (authorisation, advice) (default:
    /// $EMVBENCH_ACQUIRER_KEY, else the first acquirer key of the key file).
    #[arg(
        long,
        value_name = "KEY",
        env = "EMVBENCH_ACQUIRER_KEY",
        hide_env_values = true
    )]
    pub(crate) acquirer_key: Option<String>,
}

/// Where the card keeps its state and which issuer host a session talks to (`run`, `tui`).
#[derive(Debug, clap::Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub(crate) net: HostArgs,
    /// Where the embedded host keeps its SQLite store (default: in memory without --state,
    /// the per-user data directory with --state).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Where the software card keeps its state (created on first use).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Host key file (default: $EMVBENCH_HOST_KEYS, else the built-in TEST keys).
    #[arg(long, value_name = "FILE")]
    pub(crate) keys: Option<PathBuf>,
}

impl SessionArgs {
    /// The host's key file and the host of these arguments.
    pub(crate) fn host(&self) -> Result<(emv_host::HostKeys, HostSpec)> {
        let keys = super::host::load_keys(self.keys.as_deref(), false)?;
        let host = self
            .net
            .spec(self.data.as_deref(), self.state.is_some(), &keys)?;
        Ok((keys, host))
    }
}

/// Run `emvbench run`.
pub fn run(a: Args) -> Result<ExitCode> {
    let mut profile = Profile::load(&a.terminal).map_err(|e| input(e.to_string()))?;
    for t in &a.terminal_tags {
        profile
            .override_tag_str(t)
            .map_err(|e| input(e.to_string()))?;
    }
    let mut entries: Vec<String> = Vec::new();
    if a.pin_bypass {
        entries.push("bypass".into());
    }
    entries.extend(a.pin.iter().cloned());
    let mut pinpad = ScriptedPinPad::new(entries.iter().map(String::as_str))
        .map_err(|e| input(format!("--pin: {e}")))?;
    if entries.is_empty() {
        // nobody is at the PIN pad: the outcome says so, not "the cardholder cancelled"
        pinpad = pinpad.when_empty(NO_PIN_GIVEN);
    }
    let params = transaction_params(&a, &profile)?;
    let (keys, host) = a.session.host()?;
    let (card_profile, mut session) = open_session(&a, params.seed, keys, &host)?;
    let kernel = Kernel::new(profile, KernelConfig::default());
    if a.record.is_some() {
        start_recording(&a, &card_profile, params.seed, &mut session);
    }
    let label = emv_session::TraceLabel {
        number: Some(1),
        terminal: Some(a.terminal.clone()),
        terminal_tags: a.terminal_tags.join(","),
        pins: entries
            .iter()
            .map(|e| if e == "bypass" { "bypass" } else { "pin" })
            .collect(),
    };
    let outcome = session
        .transact_with(&kernel, &mut pinpad, &params, &label, &mut ())
        .context("running the transaction")?;
    if let (Some(path), Some(trace)) = (&a.record, &session.trace) {
        let text = trace.to_text();
        super::write_file(path, &text)?;
        eprintln!("recorded {}", path.display());
    }

    let header = report_header(&a, &kernel, &params, card_profile, &host);
    if a.json {
        // the outcome object with what was asked for (docs/formats.md §1 `input`)
        let mut v = serde_json::to_value(&outcome)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("input".into(), input_json(&a, &kernel, &params, &header));
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "{}",
        render(&outcome, &header, ReportOptions { apdus: !a.no_apdus })
    );
    if entries.is_empty() && !pinpad.prompts().is_empty() {
        outln!(
            "  note: the terminal asked for a PIN; no --pin was given, so the cardholder was \
             not asked\n        (give --pin PIN, or --pin-bypass to bypass PIN entry)"
        );
    }
    if pinpad.remaining() > 0 {
        outln!(
            "  note: {} PIN entr{} not used",
            pinpad.remaining(),
            if pinpad.remaining() == 1 {
                "y was"
            } else {
                "ies were"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Why nobody enters a PIN at a PIN prompt of a `run` without `--pin`.
const NO_PIN_GIVEN: &str = "no --pin was given";

/// A bad argument (exit code 2).
fn input(m: String) -> anyhow::Error {
    anyhow::Error::from(InputError(m))
}

/// The transaction the arguments ask for: amounts in the terminal's currency exponent, the
/// date (today unless `--date`), the seed and the STAN it gives.
fn transaction_params(a: &Args, profile: &Profile) -> Result<TransactionParams> {
    let exponent = u32::from(profile.currency_exponent);
    let amount = parse_amount(&a.amount, exponent).map_err(|e| input(format!("--amount {e}")))?;
    let cashback = match &a.cashback {
        Some(c) => parse_amount(c, exponent).map_err(|e| input(format!("--cashback {e}")))?,
        None => 0,
    };
    // Amount, Other (9F03) is the cashback of a purchase with cashback (9C = 09) and is
    // part of Amount, Authorised (EMV 4.4 Book 3 Annex A1: 9C, 9F02, 9F03)
    if cashback > 0 && TransactionType::from(a.txn_type) != TransactionType::Cashback {
        return Err(input(format!(
            "--cashback goes with --type cashback (a {} has no cashback)",
            TransactionType::from(a.txn_type).name()
        )));
    }
    let seed = a.seed.unwrap_or_else(random_seed);
    let (date, time) = match &a.date {
        Some(d) => (
            TransactionDate::parse(d).map_err(|e| input(format!("--date: {e}")))?,
            TransactionTime {
                hour: 12,
                minute: 0,
                second: 0,
            },
        ),
        None => today(),
    };
    let params = TransactionParams {
        amount,
        amount_other: cashback,
        transaction_type: a.txn_type.into(),
        date,
        time,
        seed,
        // System trace audit number: six digits from the seed (ISO 8583 DE 11).
        stan: u32::try_from(seed % 999_999).unwrap_or(0) + 1,
        merchant_forced_online: a.force_online,
        ..TransactionParams::default()
    };
    params.validate().map_err(|e| input(e.to_string()))?;
    Ok(params)
}

/// The card (software card or reader) and the host; the card's name for the report.
fn open_session(
    a: &Args,
    seed: u64,
    keys: emv_host::HostKeys,
    host: &HostSpec,
) -> Result<(String, Session)> {
    match (&a.reader, &a.card) {
        (Some(reader), _) => {
            if a.session.state.is_some() || !a.card_tags.is_empty() {
                return Err(input(
                    "--state and --card-tag are for the software card (--card), not a reader"
                        .into(),
                ));
            }
            let card = open_reader(reader)?;
            let link = host.connect(keys).context("setting up the issuer host")?;
            Ok((format!("reader {reader}"), Session::external(card, link)))
        }
        (None, Some(profile)) => {
            let spec = CardSpec {
                profile: profile.clone(),
                overrides: a.card_tags.clone(),
                state: a.session.state.clone(),
                seed: Some(seed),
            };
            let session = Session::open(&spec, host, keys).map_err(|e| match e {
                emv_session::SessionError::Card(_)
                | emv_session::SessionError::Provision { .. } => input(e.to_string()),
                other => anyhow::Error::from(other).context("setting up the card and the host"),
            })?;
            Ok((profile.clone(), session))
        }
        (None, None) => Err(input("give --card PROFILE or --reader N".into())),
    }
}

/// `--record`: the trace starts with the `@card` marker a replay personalises from.
fn start_recording(a: &Args, card_profile: &str, seed: u64, session: &mut Session) {
    session.record_pins = a.record_pins;
    session.record();
    // a card with saved state cannot be replayed from its profile alone
    if let Some(state) = &a.session.state {
        eprintln!(
            "note: the card has saved state ({}); the trace replays only against a card in that state",
            state.display()
        );
    }
    let spec = CardSpec {
        profile: card_profile.to_owned(),
        overrides: a.card_tags.clone(),
        ..CardSpec::default()
    };
    session.mark_card(&spec, seed);
}

/// The run's inputs as the JSON outcome echoes them: card, terminal, type, amounts (in
/// the terminal's currency, as given), currency and host. PINs are never echoed.
fn input_json(
    a: &Args,
    kernel: &Kernel,
    params: &TransactionParams,
    header: &ReportHeader,
) -> serde_json::Value {
    let exponent = u32::from(kernel.profile().currency_exponent);
    serde_json::json!({
        "card": header.card,
        "terminal": kernel.profile().name,
        "type": TransactionType::from(a.txn_type).name(),
        "amount": format_amount(params.amount, exponent),
        "cashback": (params.amount_other > 0).then(|| format_amount(params.amount_other, exponent)),
        "currency": kernel.profile().currency_code,
        "host": header.host,
    })
}

/// The report's first line: the transaction in words, the card, the terminal, the host.
fn report_header(
    a: &Args,
    kernel: &Kernel,
    params: &TransactionParams,
    card: String,
    host: &HostSpec,
) -> ReportHeader {
    let exponent = u32::from(kernel.profile().currency_exponent);
    ReportHeader {
        card,
        terminal: kernel.profile().name.clone(),
        transaction: format!(
            "{} {}{} (currency {:04})",
            TransactionType::from(a.txn_type).name(),
            format_amount(params.amount, exponent),
            if params.amount_other > 0 {
                format!(
                    " incl. cashback {}",
                    format_amount(params.amount_other, exponent)
                )
            } else {
                String::new()
            },
            kernel.profile().currency_code
        ),
        host: match host {
            HostSpec::EmbeddedInMemory => "embedded (in memory)".into(),
            HostSpec::EmbeddedAt(d) => format!("embedded ({})", d.display()),
            HostSpec::EmbeddedDb(url) => format!("embedded ({})", emv_host::redact_url(url)),
            HostSpec::Remote { url, .. } => url.clone(),
            HostSpec::Iso8583 { addr, framing, .. } => format!(
                "iso8583://{addr} ({}, header {})",
                framing.format.name(),
                framing.header.name()
            ),
            HostSpec::None => "none (unreachable)".into(),
        },
    }
}

/// The card in a PC/SC reader (index or part of the name, as `emvbench readers` lists).
#[cfg(feature = "pcsc")]
pub(crate) fn open_reader(selector: &str) -> Result<Box<dyn emv_apdu::Transport + Send>> {
    let r = emv_transport::pcsc::PcscReader::open(selector)
        .map_err(|e| anyhow::anyhow!("--reader {selector}: {e}"))?;
    Ok(Box::new(r))
}

/// Without the `pcsc` feature there is no reader to open: say what to install.
#[cfg(not(feature = "pcsc"))]
pub(crate) fn open_reader(_selector: &str) -> Result<Box<dyn emv_apdu::Transport + Send>> {
    Err(super::readers::pcsc_unavailable())
}

impl HostArgs {
    /// The issuer host of these arguments (with `--data` and whether the card has a
    /// `--state` file, for the embedded host).
    pub(crate) fn spec(
        &self,
        data: Option<&std::path::Path>,
        card_has_state: bool,
        keys: &emv_host::HostKeys,
    ) -> Result<HostSpec> {
        let h = self.host.trim();
        if (data.is_some() || self.db.is_some()) && h != "embedded" {
            let flag = if data.is_some() { "--data" } else { "--db" };
            return Err(InputError(format!(
                "{flag} is for the embedded host; a remote host keeps its own store"
            ))
            .into());
        }
        if data.is_some() && self.db.is_some() {
            return Err(InputError(
                "--data and --db both name the embedded host's store: give one".into(),
            )
            .into());
        }
        if self.host_api.is_some() && !h.starts_with("iso8583://") {
            return Err(InputError(
                "--host-api goes with an iso8583:// host (an http:// host is its own API)".into(),
            )
            .into());
        }
        Ok(match h {
            "embedded" => match (data, card_has_state) {
                _ if let Some(url) = &self.db => HostSpec::EmbeddedDb(url.clone()),
                (Some(d), _) => {
                    super::host_data_dir(d, false)?;
                    HostSpec::EmbeddedAt(d.to_path_buf())
                }
                (None, true) => HostSpec::EmbeddedAt(emv_host::default_data_dir()),
                (None, false) => HostSpec::EmbeddedInMemory,
            },
            "none" => HostSpec::None,
            url if url.starts_with("http://") => HostSpec::Remote {
                url: url.to_string(),
                api_key: self.api_key(keys)?,
                // the network routes' credential: a host without one in its key file
                // serves them only with --insecure-network, where no key is needed
                acquirer_key: self
                    .acquirer_key
                    .clone()
                    .or_else(|| keys.client_acquirer_key().map(|k| k.expose().to_string())),
            },
            url if url.starts_with("iso8583://") => {
                let api = match &self.host_api {
                    Some(u) => Some((u.clone(), self.api_key(keys)?)),
                    None => None,
                };
                iso8583_spec(url, api)?
            }
            other => {
                return Err(InputError(format!(
                    "--host {other:?}: expected embedded, none, http://HOST:PORT or \
                     iso8583://HOST:PORT"
                ))
                .into());
            }
        })
    }

    fn api_key(&self, keys: &emv_host::HostKeys) -> Result<String> {
        match &self.api_key {
            Some(k) => Ok(k.clone()),
            None => keys
                .client_api_key()
                .map(|k| k.expose().to_string())
                .ok_or_else(|| {
                    InputError(
                        "the key file has no API key; give --api-key or EMVBENCH_API_KEY".into(),
                    )
                    .into()
                }),
        }
    }
}

/// `iso8583://HOST:PORT[?format=..&header=..&tpdu=..&link=..&mac=off]` (docs/iso8583.md).
fn iso8583_spec(url: &str, api: Option<(String, String)>) -> Result<HostSpec> {
    let rest = url.trim_start_matches("iso8583://");
    let (addr, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !addr.contains(':') {
        return Err(InputError(format!("--host {url:?}: needs HOST:PORT")).into());
    }
    let bad =
        |what: String| -> anyhow::Error { InputError(format!("--host {url:?}: {what}")).into() };
    let mut framing = emv_iso8583::Framing::default();
    let (mut link, mut insecure) = (None, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| bad(format!("{pair:?} is not key=value")))?;
        match k {
            "format" => {
                framing.format = emv_iso8583::Format::parse(v)
                    .ok_or_else(|| bad(format!("format must be ascii or binary, got {v:?}")))?;
            }
            "header" => {
                framing.header = emv_iso8583::Header::parse(v)
                    .ok_or_else(|| bad(format!("header must be 2b, 4a or none, got {v:?}")))?;
            }
            "tpdu" => {
                framing.tpdu =
                    Some(emv_iso8583::Tpdu::from_hex(v).map_err(|e| bad(format!("tpdu: {e}")))?);
            }
            "link" => link = Some(v.to_string()),
            "mac" => {
                insecure = match v {
                    "off" => true,
                    "on" => false,
                    _ => return Err(bad(format!("mac must be on or off, got {v:?}"))),
                };
            }
            _ => {
                return Err(bad(format!(
                    "unknown option {k:?}; known: format, header, tpdu, link, mac"
                )));
            }
        }
    }
    Ok(HostSpec::Iso8583 {
        addr: addr.to_string(),
        framing,
        link,
        insecure,
        api,
    })
}

/// Today's date and time (UTC).
pub(crate) fn today() -> (TransactionDate, TransactionTime) {
    let (y, mo, d, h, mi, s) = emv_host::time::civil(emv_host::time::now_unix());
    let date = u16::try_from(y)
        .ok()
        .and_then(|y| TransactionDate::new(y, mo as u8, d as u8).ok())
        .unwrap_or(TransactionDate {
            year: 2026,
            month: 1,
            day: 1,
        });
    let time = TransactionTime {
        hour: h as u8,
        minute: mi as u8,
        second: s as u8,
    };
    (date, time)
}

/// A random seed (0 if the system has no random source).
pub(crate) fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    // a seed only makes runs different; if the system has no random source, 0 will do
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod iso8583_url_tests {
    use super::*;

    #[test]
    fn iso8583_urls_name_the_framing_the_link_and_the_mac() {
        let spec = iso8583_spec(
            "iso8583://127.0.0.1:8583?format=binary&header=4a&tpdu=6000010002&link=lab&mac=off",
            None,
        )
        .unwrap();
        let HostSpec::Iso8583 {
            addr,
            framing,
            link,
            insecure,
            api,
        } = spec
        else {
            panic!("{spec:?}");
        };
        assert_eq!(addr, "127.0.0.1:8583");
        assert_eq!(framing.format, emv_iso8583::Format::Binary);
        assert_eq!(framing.header, emv_iso8583::Header::parse("4a").unwrap());
        assert!(framing.tpdu.is_some());
        assert_eq!(link.as_deref(), Some("lab"));
        assert!(insecure && api.is_none());
        let plain = iso8583_spec("iso8583://h:1", None).unwrap();
        assert!(matches!(
            plain,
            HostSpec::Iso8583 {
                insecure: false,
                link: None,
                ..
            }
        ));
        for bad in [
            "iso8583://nohost",
            "iso8583://h:1?format=ebcdic",
            "iso8583://h:1?header=3b",
            "iso8583://h:1?mac=maybe",
            "iso8583://h:1?colour=red",
            "iso8583://h:1?format",
        ] {
            let e = iso8583_spec(bad, None).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }
}
