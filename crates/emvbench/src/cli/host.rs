//! `emvbench host`: run the simulated issuer host, provision cards into its store, and
//! look at a card's state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use emv_host::http::ServeConfig;
use emv_host::{CardProvision, CardRef, HostKeys, Issuer, SyncMode};

use super::InputError;

pub const EXAMPLES: &str = "\
Examples:
  emvbench host serve                                   # 127.0.0.1:8080, TEST keys
  emvbench host serve --data /tmp/issuer --listen 127.0.0.1:9090 --keys host-keys/test-keys.toml
  emvbench host provision --data /tmp/issuer --profile visa-cvn18   # from a card profile
  emvbench host provision --data /tmp/issuer --all-profiles         # or FILE.toml (see its --help)
  emvbench host serve --provision-profiles                  # every card profile, if new
  emvbench host serve --sync normal      # answer once in the WAL, not yet fsynced (load tests)
  emvbench host status --data /tmp/issuer 4761739001010010
  emvbench host serve --db postgres://emvbench@127.0.0.1:5432/issuer  # a host shared by a lab

The host keeps its SQLite database in --data DIR (default: $XDG_DATA_HOME/emvbench or
~/.local/share/emvbench), or, with --db URL, in a PostgreSQL database that several host
processes (on one or more machines) share as one issuer (docs/postgres.md). Keys come from --keys FILE, else $EMVBENCH_HOST_KEYS, else the
built-in TEST keys (the repository's host-keys/test-keys.toml; never use them in production).";

const SERVE_EXAMPLES: &str = "\
Examples:
  emvbench host serve --listen 127.0.0.1:8080
  curl -s localhost:8080/openapi.json
  curl -s -H 'Authorization: Bearer <issuer API key>' localhost:8080/v1/cards/4761739001010010
  emvbench run --card visa-cvn18 --amount 25 --pin 1234 --host http://127.0.0.1:8080

Routes: with an acquirer key (`X-Acquirer-Key: KEY`, [[acquirer_keys]] of the key file;
none with --insecure-network): POST /v1/authorise, POST /v1/advice; with an issuer API key
(`Authorization: Bearer KEY` or `X-Api-Key: KEY`): POST /v1/cards, GET /v1/cards/{pan},
GET /v1/cards/{pan}/plastics, POST /v1/cards/{pan}/pin/unblock|reset|change,
POST /v1/cards/{pan}/block|unblock, GET /v1/audit, POST
/pin-control/v1/plastics/{plasticId}/token (View PIN / Set PIN; the device then POSTs
controlId to the pinURL; 5 tokens per plastic in any 60 s, then 429 with Retry-After; a
VIEW_PIN token for a card whose PIN the host cannot show is refused with 409). Ctrl-C or SIGTERM stops it within 5 s: running requests
finish, slow or idle clients are cut. Log level: RUST_LOG (default info); logs never hold a PAN or a PIN.";

const PROVISION_EXAMPLES: &str = r#"Example card file (TOML):
  pan = "4761739001010010"
  psn = "01"
  expiry = "2912"
  cvn = "visa-18"                 # visa-10 visa-18 visa-22 mc-16 mc-17 mc-20 mc-21 interac-133
  imk_ac = "0123456789ABCDEFFEDCBA9876543210"
  imk_smi = "FEDCBA98765432100123456789ABCDEF"
  imk_smc = "89ABCDEF0123456776543210FEDCBA98"
  pin = "4821"                    # used once to compute the verification data
  pin_verification = "pvv"        # pvv | ibm3624 | encrypted
  online_pin_try_limit = 3
  offline_pin_try_limit = 3
  open_to_buy = 100000            # minor units
  currency = 978
  [[plastics]]
  plastic_id = "P-0010-1"
  expiry = "2912"
  status = "ACTIVE"

Provisioning an existing PAN+PSN again refreshes keys, expiry, limits and plastics and
keeps its PIN, counters, balance and pending scripts; --reset starts it afresh."#;

/// Arguments of `emvbench host`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, Subcommand)]
enum Op {
    /// Serve the issuer host's HTTP API (authorisation, advice, PIN management,
    /// /openapi.json) over its store: SQLite in --data, or PostgreSQL with --db.
    #[command(after_long_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Provision cards from TOML files (one card per file) into the host's store.
    #[command(after_long_help = PROVISION_EXAMPLES)]
    Provision(ProvisionArgs),
    /// Show a card's state as JSON: online PIN counter, what the host knows of the chip,
    /// pending scripts, plastics.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct Store {
    /// Data directory holding the host's SQLite database (created on first use by `serve`
    /// and `provision`).
    #[arg(long, value_name = "DIR", conflicts_with = "db")]
    data: Option<PathBuf>,
    /// A PostgreSQL database instead of SQLite: postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// (schema created on first use; several hosts on one database are one issuer).
    #[arg(long, value_name = "URL", env = "EMVBENCH_DB", hide_env_values = true)]
    db: Option<String>,
    /// Most connections this host opens to --db.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
    db_pool: u16,
    /// Key file (TOML): PIN verification keys, storage keys, terminal PIN keys, API keys.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

impl Store {
    fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(emv_host::default_data_dir)
    }

    fn keys(&self) -> Result<HostKeys> {
        load_keys(self.keys.as_deref(), true)
    }

    /// The store: the --db database, or the one in the data directory (`read_only`
    /// commands never create that one).
    fn open(&self, read_only: bool) -> Result<Issuer> {
        if let Some(url) = &self.db {
            return open_database(url, self.keys()?, self.db_pool);
        }
        let dir = self.data_dir();
        super::host_data_dir(&dir, read_only)?;
        // a directory whose store cannot be opened is unusable input (exit code 2)
        Issuer::open(&dir, self.keys()?).map_err(|e| {
            InputError(format!("opening the host store in {}: {e}", dir.display())).into()
        })
    }
}

/// The host on a database server: one that cannot be reached, or a URL that is not one,
/// is unusable input (exit code 2), named without its password.
fn open_database(url: &str, keys: HostKeys, pool: u16) -> Result<Issuer> {
    // the store's errors name the URL (without its password)
    Issuer::open_database(url, keys, usize::from(pool))
        .map_err(|e| InputError(format!("opening the host store: {e}")).into())
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    store: Store,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// View PIN: base URL devices reach this host at, used in pinURL (default: from the
    /// request's Host header).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// View PIN: CSP frame-ancestors of the PIN page, for iframe embedding
    /// (e.g. "'self' https://app.example.com"; default 'none').
    #[arg(long, value_name = "SOURCES", default_value = "'none'")]
    frame_ancestors: String,
    /// View PIN: seconds the page shows the PIN before hiding and wiping it.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pin_display_seconds: u32,
    /// View PIN: CSS appended to the PIN page (override the --pc-* custom properties).
    #[arg(long, value_name = "FILE")]
    pin_theme: Option<PathBuf>,
    /// Provision the cards of every card profile (card-profiles/) that the store does not
    /// know yet, so that `emvbench run --host http://...` and the API work at once.
    #[arg(long)]
    provision_profiles: bool,
    /// When an answer is given: `full` once the change is fsynced (survives a power cut);
    /// `normal` once it is in the write-ahead log in the OS cache (survives a killed host
    /// process; a power cut can lose the last changes): about 3x the throughput of one
    /// caller, for load tests.
    #[arg(long, value_name = "MODE", default_value = "full", value_parser = parse_sync, conflicts_with = "db")]
    sync: SyncMode,
    /// Serve POST /v1/authorise and /v1/advice WITHOUT an acquirer key, and the ISO 8583
    /// port without MACs: anyone who reaches the ports can spend, reverse and settle
    /// scripts on every card. Local play only; the host says so loudly on stderr and in
    /// its log.
    #[arg(long)]
    insecure_network: bool,
    #[command(flatten)]
    iso8583: Iso8583Args,
}

/// The ISO 8583 listener (docs/iso8583.md).
#[derive(Debug, clap::Args)]
struct Iso8583Args {
    /// Also accept ISO 8583:1987 over TCP on ADDR (a bare port listens on 127.0.0.1; the
    /// address is printed). Every message needs the link's MAC in DE 64/128.
    #[arg(long = "iso8583", value_name = "ADDR")]
    iso8583: Option<String>,
    /// ISO 8583 layout: `ascii` (pyiso8583 default_ascii) or `binary` (pyiso8583 default).
    #[arg(long = "iso8583-format", value_name = "FORMAT", default_value = "ascii", value_parser = parse_iso_format)]
    iso8583_format: emv_iso8583::Format,
    /// ISO 8583 length header: `2b` (2-byte binary), `4a` (4 ASCII digits) or `none`.
    #[arg(long = "iso8583-header", value_name = "HEADER", default_value = "2b", value_parser = parse_iso_header)]
    iso8583_header: emv_iso8583::Header,
    /// A 5-byte TPDU before each MTI (10 hex digits); answers swap its addresses.
    #[arg(long, value_name = "HEX", value_parser = parse_tpdu)]
    tpdu: Option<emv_iso8583::Tpdu>,
    /// The key file's [[iso8583_links]] entry (MAC key, default PIN key); default: the first.
    #[arg(long = "iso8583-link", value_name = "NAME")]
    iso8583_link: Option<String>,
}

impl Iso8583Args {
    fn config(self, insecure: bool) -> Option<emv_host::iso8583::Iso8583Config> {
        let listen = self.iso8583?;
        // a bare port: loopback only
        let listen = match listen.parse::<u16>() {
            Ok(port) => format!("127.0.0.1:{port}"),
            Err(_) => listen,
        };
        let framing = emv_iso8583::Framing {
            format: self.iso8583_format,
            header: self.iso8583_header,
            tpdu: self.tpdu,
        };
        let mut c = emv_host::iso8583::Iso8583Config::new(listen);
        c.framing = framing;
        c.link = self.iso8583_link;
        c.insecure = insecure;
        c.on_listening = Some(Box::new(move |addr| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "emvbench host listening on iso8583://{addr} ({}, header {}{})",
                framing.format.name(),
                framing.header.name(),
                if framing.tpdu.is_some() { ", TPDU" } else { "" }
            );
            let _ = out.flush();
        }));
        Some(c)
    }
}

fn parse_iso_format(s: &str) -> Result<emv_iso8583::Format, String> {
    emv_iso8583::Format::parse(s).ok_or_else(|| format!("expected ascii or binary, got {s:?}"))
}

fn parse_iso_header(s: &str) -> Result<emv_iso8583::Header, String> {
    emv_iso8583::Header::parse(s).ok_or_else(|| format!("expected 2b, 4a or none, got {s:?}"))
}

fn parse_tpdu(s: &str) -> Result<emv_iso8583::Tpdu, String> {
    emv_iso8583::Tpdu::from_hex(s).map_err(|e| e.to_string())
}

fn parse_sync(s: &str) -> Result<SyncMode, String> {
    s.parse()
}

#[derive(Debug, clap::Args)]
struct ProvisionArgs {
    #[command(flatten)]
    store: Store,
    /// Reset existing cards to the file's data (PIN, counters, balance, status).
    #[arg(long)]
    reset: bool,
    /// Card provisioning files (TOML, format below).
    #[arg(value_name = "FILE", required_unless_present_any = ["profiles", "all_profiles"])]
    files: Vec<PathBuf>,
    /// Provision the card of a card profile (card-profiles/), as the software card is
    /// personalised: PAN, keys, PIN, online PIN try limit, plastics (repeatable).
    #[arg(long = "profile", value_name = "PROFILE")]
    profiles: Vec<String>,
    /// Provision the cards of every card profile.
    #[arg(long)]
    all_profiles: bool,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    store: Store,
    /// PAN sequence number, when several cards share the PAN.
    #[arg(long)]
    psn: Option<String>,
    /// The card's PAN.
    pan: String,
}

/// The host's key file: `path`, else `$EMVBENCH_HOST_KEYS`, else the built-in TEST keys
/// (with a note on stderr when `announce`).
pub(crate) fn load_keys(path: Option<&Path>, announce: bool) -> Result<HostKeys> {
    let path = match (path, std::env::var_os("EMVBENCH_HOST_KEYS")) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
        _ => {
            if announce {
                eprintln!(
                    "note: using the built-in TEST keys (host-keys/test-keys.toml; never use \
                     them in production)"
                );
            }
            return Ok(HostKeys::load_test_keys()?);
        }
    };
    Ok(HostKeys::load(&path)?)
}

/// Run `host`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.op {
        Op::Serve(a) => serve(a),
        Op::Provision(a) => provision(a),
        Op::Status(a) => {
            let issuer = a.store.open(true)?;
            let v = issuer.card_status(&CardRef::new(a.pan, a.psn.as_deref()))?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(a: ServeArgs) -> Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let data_dir = a.store.data_dir();
    if a.store.db.is_none() {
        super::host_data_dir(&data_dir, false)?;
    }
    let pin_control = emv_host::PinControlConfig {
        public_url: a.public_url,
        frame_ancestors: a.frame_ancestors,
        display_seconds: a.pin_display_seconds,
        theme_css: a.pin_theme.as_deref().map(read).transpose()?,
        ..emv_host::PinControlConfig::default()
    };
    pin_control.validate()?;
    // the key file once (and its TEST-keys note once)
    let keys = a.store.keys()?;
    if a.provision_profiles {
        // new cards only: cards the store knows keep their PIN and counters
        let keys = load_keys(a.store.keys.as_deref(), false)?;
        let issuer = match &a.store.db {
            Some(url) => open_database(url, keys, a.store.db_pool)?,
            None => Issuer::open(&data_dir, keys).map_err(|e| {
                InputError(format!(
                    "opening the host store in {}: {e}",
                    data_dir.display()
                ))
            })?,
        };
        let profiles = emv_card::profile::available_profiles();
        let created = provision_profiles(&issuer, &profiles, false, false)?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "provisioned the cards of {} card profile(s): {created} new, {} already in the \
             store (kept with their PIN and counters)",
            profiles.len(),
            profiles.len() - created
        );
    }
    let where_ = match &a.store.db {
        Some(url) => emv_host::redact_url(url),
        None => format!("data {}", data_dir.display()),
    };
    let config = ServeConfig {
        data_dir: data_dir.clone(),
        database: a
            .store
            .db
            .clone()
            .map(|url| (url, usize::from(a.store.db_pool))),
        listen: a.listen,
        keys,
        pin_control,
        sync: a.sync,
        insecure_network: a.insecure_network,
        limits: emv_host::http::ListenerLimits::default(),
        iso8583: a.iso8583.config(a.insecure_network),
    };
    emv_host::http::serve(config, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "emvbench host listening on http://{addr} ({where_})");
        let _ = out.flush();
    })?;
    Ok(ExitCode::SUCCESS)
}

fn provision(a: ProvisionArgs) -> Result<ExitCode> {
    let issuer = a.store.open(false)?;
    for f in &a.files {
        let text = zeroize::Zeroizing::new(read(f)?);
        let p = CardProvision::from_toml(&text)
            .map_err(|e| InputError(format!("{}: {e}", f.display())))?;
        let outcome = issuer
            .provision(&p, a.reset)
            .with_context(|| f.display().to_string())?;
        println!("{outcome:?} {p}");
    }
    let mut names = a.profiles.clone();
    if a.all_profiles {
        names.extend(emv_card::profile::available_profiles());
    }
    provision_profiles(&issuer, &names, a.reset, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Provisions the cards of card profiles (the same data the software card is
/// personalised from, so that card and host agree out of the box); how many were new.
fn provision_profiles(
    issuer: &Issuer,
    names: &[String],
    reset: bool,
    print: bool,
) -> Result<usize> {
    let mut created = 0;
    for name in names {
        let perso = emv_card::Personalisation::load(name, &[])?;
        let p = emv_session::card_provision(&perso)?;
        let outcome = issuer.provision(&p, reset)?;
        if outcome == emv_host::service::ProvisionOutcome::Created {
            created += 1;
        }
        if print {
            println!("{outcome:?} {p} from profile {name}");
        }
    }
    Ok(created)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("reading {}: {e}", path.display())).into())
}
