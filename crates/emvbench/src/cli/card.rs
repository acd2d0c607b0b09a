//! `emvbench card`: talk to the software card by hand.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use emv_apdu::ResponseView;
use emv_card::{Card, CardStore, FileStore, MemoryStore, Personalisation, TagOverride, profile};
use emv_tlv::describe;
use serde_json::json;

use super::InputError;

pub const EXAMPLES: &str = "\
Examples:
  emvbench card profiles
  emvbench card send --profile visa-cvn18 00A404000E315041592E5359532E444446303100
  emvbench card send --profile visa-cvn18 --state /tmp/card.json --decode \\
      00A4040007A000000003101000 80A8000002830000 00B2010C00 80CA9F1700
  emvbench card send --profile visa-cvn18 --state /tmp/card.json \\
      00A4040007A000000003101000 80A8000002830000 0020008008249999FFFFFFFFFF

Without --state the card starts fresh and forgets everything when the command ends; with
--state FILE its PIN Try Counter, ATC, blocks and PIN survive between runs (the file is
written atomically; the PIN is stored enciphered). VERIFY data is masked in the output
unless --show-pin is given.";

/// Arguments of `emvbench card`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CardCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CardCommand {
    /// Send C-APDUs to a software card and print each response with its status word.
    #[command(after_long_help = EXAMPLES)]
    Send(SendArgs),
    /// List the card profiles: the built-in ones and those of --profiles DIR (or
    /// $EMVBENCH_CARD_PROFILES, else ./card-profiles), each with where it comes from.
    Profiles,
    /// Put the software card into vsmartcard's virtual PC/SC reader (vpcd), so that any
    /// PC/SC program sees it; runs until Ctrl-C or SIGTERM.
    #[command(after_long_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
}

const SERVE_EXAMPLES: &str = "\
Examples:
  emvbench card serve --profile visa-cvn18                 # slot 0: reader \"Virtual PCD 00 00\"
  emvbench card serve --profile visa-cvn18 --state /tmp/card.json
  emvbench card serve --profile visa-cvn18 --profile mc-cvn16   # slots 0 and 1
  emvbench card serve --profile visa-cvn18 --slots 2       # two fresh visa-cvn18 cards
  emvbench card serve --profile visa-cvn18 --seed 1 --record foreign.trace   # then replay it
  pcsc_scan                                                # in another terminal
  emvbench readers

Needs pcscd and vsmartcard-vpcd (apt-get install pcscd vsmartcard-vpcd; start pcscd, e.g.
`pcscd --foreground &` as root). vpcd listens on 35963 (slot 0) and 35964 (slot 1); card n
connects to PORT+n, so more than two cards need more vpcd entries in /etc/reader.conf.d.
The card waits (and reconnects) until vpcd is up. Ctrl-C or SIGTERM takes the cards out
of the readers, saves their state and exits 0. Log level: RUST_LOG (default info), or -v
for every power event and APDU (command names and status words; no PIN or record data).";

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Card profile: a name in card-profiles/ or a path. Repeat it for several cards: the
    /// n-th card goes into slot n.
    #[arg(long, value_name = "PROFILE", required = true)]
    profile: Vec<String>,
    /// Keep the card's state in this file (created on first use); with several cards,
    /// give one per card in the order of --profile.
    #[arg(long, value_name = "FILE")]
    state: Vec<std::path::PathBuf>,
    /// vpcd's address for slot 0; slot n is PORT + n.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// Serve N cards of the one --profile, in slots 0..N-1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    slots: Option<u16>,
    /// Override a data object of the profile (every card), e.g. 9F17=05 (repeatable), where
    /// the card serves it: a record, GET DATA, the FCI (card-profiles/README.md); a tag the
    /// card has no place for is refused.
    #[arg(long = "card-tag", value_name = "TAG=HEX")]
    card_tags: Vec<TagOverride>,
    /// Seed for GET CHALLENGE and ICC dynamic numbers (deterministic answers).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Log every power event and APDU (same as RUST_LOG=debug).
    #[arg(short, long)]
    verbose: bool,
    /// Write every power event and APDU the card sees to this trace, as it happens (one
    /// card only): what a foreign terminal did, replayable with `emvbench trace replay`
    /// against a fresh card (serve it without --state, or with a new one, and with --seed).
    /// PIN data is recorded as [PIN].
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// With --record: keep VERIFY and PIN CHANGE data in clear (the trace says so).
    #[arg(long, requires = "record")]
    record_pins: bool,
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    /// Card profile: a name in card-profiles/ (e.g. visa-cvn18) or a path to a TOML file.
    #[arg(long, value_name = "PROFILE")]
    profile: String,
    /// Keep the card's state in this file (created on first use).
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Override a data object of the profile, e.g. 8E=000000000000000042031F03 (repeatable),
    /// where the card serves it: a record, GET DATA, the FCI (card-profiles/README.md); a
    /// tag the card has no place for is refused.
    #[arg(long = "card-tag", value_name = "TAG=HEX")]
    card_tags: Vec<TagOverride>,
    /// Seed for GET CHALLENGE and ICC dynamic numbers (deterministic output).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also print each response's TLV tree with tag names.
    #[arg(long)]
    decode: bool,
    /// Print VERIFY and PIN CHANGE data instead of masking it.
    #[arg(long)]
    show_pin: bool,
    /// Print one JSON object per exchange instead of text.
    #[arg(long)]
    json: bool,
    /// The C-APDUs, in hex (spaces inside one argument are allowed). `-` reads them from
    /// standard input, one per line, answering each line at once (so a program can build
    /// the next command from the last answer, e.g. an issuer script from the ARQC).
    #[arg(required = true, value_name = "APDU_HEX")]
    apdus: Vec<String>,
}

/// Dispatch `emvbench card ...`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        CardCommand::Profiles => {
            let mut invalid = 0;
            for e in profile::catalog() {
                let desc = Personalisation::load(&e.name, &[])
                    .map(|p| p.description)
                    .unwrap_or_else(|err| {
                        invalid += 1;
                        format!("(invalid: {err})")
                    });
                outln!("{:<28} {desc}  [{}]", e.name, e.source);
            }
            // a profile that does not build is an unusable file (exit 2)
            if invalid > 0 {
                return Err(InputError(format!("{invalid} profile(s) are invalid")).into());
            }
            Ok(ExitCode::SUCCESS)
        }
        CardCommand::Send(a) => send(a),
        CardCommand::Serve(a) => serve(a),
    }
}

/// A card of any store, so that several cards fit one slice.
type ServedCard = Card<Box<dyn CardStore + Send>>;

fn serve(a: ServeArgs) -> Result<ExitCode> {
    let count = match a.slots {
        Some(_) if a.profile.len() > 1 => {
            return Err(InputError(
                "--slots N takes one --profile (or give several --profile and no --slots)".into(),
            )
            .into());
        }
        Some(n) => usize::from(n),
        None => a.profile.len(),
    };
    if !a.state.is_empty() && a.state.len() != count {
        return Err(InputError(format!(
            "{count} card(s) but {} --state file(s): give one per card or none",
            a.state.len()
        ))
        .into());
    }
    for (i, s) in a.state.iter().enumerate() {
        if a.state[..i].contains(s) {
            return Err(InputError(format!("--state {} given twice", s.display())).into());
        }
    }
    if a.record.is_some() && count > 1 {
        return Err(InputError(
            "--record records one card: give one --profile and no --slots".into(),
        )
        .into());
    }
    // fail on a bad address before waiting for vpcd
    let mut addrs = Vec::new();
    for slot in 0..count {
        let slot = u16::try_from(slot).map_err(|_| InputError("too many cards".into()))?;
        addrs.push(
            emv_transport::vpcd::slot_address(&a.vpcd, slot)
                .map_err(|e| InputError(e.to_string()))?,
        );
    }
    let seed = card_seed(&a);
    let mut cards: Vec<ServedCard> = Vec::new();
    for i in 0..count {
        let name = a.profile.get(i).unwrap_or(&a.profile[0]);
        let perso = Personalisation::load(name, &a.card_tags)?;
        let store: Box<dyn CardStore + Send> = match a.state.get(i) {
            Some(p) => Box::new(FileStore::new(p)),
            None => Box::new(MemoryStore::new()),
        };
        let mut card = Card::new(Arc::new(perso), store)
            .with_context(|| format!("opening the state of card {i} ({name})"))?;
        if let Some(seed) = seed {
            card = card.with_seed(seed.wrapping_add(i as u64));
        }
        cards.push(card);
    }

    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !a.verbose && !f.is_empty() => tracing_subscriber::EnvFilter::new(f),
        _ => tracing_subscriber::EnvFilter::new(if a.verbose { "debug" } else { "info" }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    for (i, (card, addr)) in cards.iter().zip(&addrs).enumerate() {
        tracing::info!(
            "slot {i}: card {} ({}) for vpcd at {addr}",
            card.personalisation().name,
            card.store().describe()
        );
    }

    let stop = emv_transport::vpcd::Shutdown::new();
    stop_on_signals(stop.clone())?;
    match &a.record {
        None => emv_transport::vpcd::serve_slots(
            &mut cards,
            &a.vpcd,
            &stop,
            emv_transport::vpcd::Backoff::default(),
        )?,
        Some(path) => serve_recorded(&mut cards, &a, seed, path, &stop)?,
    }

    // The card saves every change as it happens; one last save makes sure the file is
    // there and current even for a card that was never used.
    for (i, card) in cards.iter_mut().enumerate() {
        let state = card.state().clone();
        card.store_mut()
            .save(&state)
            .with_context(|| format!("saving the state of card {i}"))?;
        let st = card.status();
        eprintln!(
            "slot {i}: {} removed; state in {}: PIN try counter {}/{}, ATC {}",
            card.personalisation().name,
            card.store().describe(),
            st.pin_try_counter,
            st.pin_try_limit,
            st.atc
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The seed of the served cards: `--seed`, or one drawn now when recording, so that a
/// recorded card's own numbers (GET CHALLENGE, ICC dynamic numbers) come from a seed the
/// trace names and a replay gets the same answers.
fn card_seed(a: &ServeArgs) -> Option<u64> {
    a.seed.or_else(|| {
        a.record.as_ref().map(|_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
    })
}

/// Serves the one card of `cards` in slot 0 with every event written to the trace at
/// `path` (`--record`).
fn serve_recorded(
    cards: &mut [ServedCard],
    a: &ServeArgs,
    seed: Option<u64>,
    path: &std::path::Path,
    stop: &emv_transport::vpcd::Shutdown,
) -> Result<()> {
    let file = std::fs::File::create(path)
        .map_err(|e| InputError(format!("--record {}: {e}", path.display())))?;
    let fields = emv_transport::trace::card_fields(&a.profile[0], seed.unwrap_or(0), &a.card_tags);
    let card_line = emv_transport::trace::Event::Marker {
        name: "card".into(),
        args: Vec::new(),
        fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    };
    let writer = emv_transport::trace::TraceWriter::new(
        std::io::BufWriter::new(file),
        a.record_pins,
        &[card_line],
    )
    .map_err(|e| InputError(format!("--record {}: {e}", path.display())))?;
    let card = cards
        .first_mut()
        .ok_or_else(|| InputError("no card to record".into()))?;
    let mut recorded = [emv_transport::vpcd::Recorded::new(card, writer)];
    emv_transport::vpcd::serve_slots(
        &mut recorded,
        &a.vpcd,
        stop,
        emv_transport::vpcd::Backoff::default(),
    )?;
    Ok(())
}

/// Ctrl-C (SIGINT) and SIGTERM stop the cards (tokio's signal handling, already in the
/// dependency tree for the host).
fn stop_on_signals(stop: emv_transport::vpcd::Shutdown) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal handler")?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // registered here, before serving starts, so no early signal is lost
        let (mut int, mut term) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })?;
        std::thread::spawn(move || {
            rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
            tracing::info!("stopping: taking the cards out of the readers");
            stop.trigger();
        });
    }
    #[cfg(not(unix))]
    std::thread::spawn(move || {
        let _ = rt.block_on(tokio::signal::ctrl_c());
        stop.trigger();
    });
    Ok(())
}

fn send(a: SendArgs) -> Result<ExitCode> {
    // Parse every APDU first: a typo in the third one must not leave the card changed.
    let mut apdus = Vec::new();
    let interactive = a.apdus.iter().any(|h| h == "-");
    if interactive && a.apdus.len() > 1 {
        return Err(InputError(
            "`-` (read APDUs from standard input) must be the only APDU argument".into(),
        )
        .into());
    }
    for (i, h) in a.apdus.iter().enumerate().filter(|_| !interactive) {
        let bytes = emv_tlv::hex::decode(h)
            .map_err(|e| InputError(format!("APDU {} ({h:?}): {e}", i + 1)))?;
        apdus.push(bytes);
    }
    let perso = Arc::new(Personalisation::load(&a.profile, &a.card_tags)?);
    match &a.state {
        // an unusable state file is a CardError naming it (exit code 2)
        Some(path) => exchange_all(Card::new(perso, FileStore::new(path))?, &apdus, &a),
        None => exchange_all(Card::new(perso, MemoryStore::new())?, &apdus, &a),
    }
}

fn exchange_all<S: CardStore>(
    mut card: Card<S>,
    apdus: &[Vec<u8>],
    a: &SendArgs,
) -> Result<ExitCode> {
    if let Some(seed) = a.seed {
        card = card.with_seed(seed);
    }
    let mut rejected = 0;
    if a.apdus.iter().any(|h| h == "-") {
        // One line in, one exchange out, flushed, until the end of the input; a line that
        // is not hex is reported once and skipped (the card is not touched), and the exit
        // code is then 2, bad input (README "Exit codes").
        use std::io::{BufRead, Write};
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match emv_tlv::hex::decode(t) {
                Ok(capdu) => print_exchange(&mut card, &capdu, a),
                Err(e) => {
                    rejected += 1;
                    eprintln!("error: line {}: {e} (skipped)", n + 1);
                }
            }
            std::io::stdout().flush()?;
        }
    }
    for capdu in apdus {
        print_exchange(&mut card, capdu, a);
    }
    let st = card.status();
    if !a.json {
        println!(
            "card: PIN try counter {}/{}, ATC {}, application {}, card {}",
            st.pin_try_counter,
            st.pin_try_limit,
            st.atc,
            if st.app_blocked { "blocked" } else { "usable" },
            if st.card_blocked { "blocked" } else { "usable" },
        );
    }
    Ok(if rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::BAD_INPUT)
    })
}

fn print_exchange<S: CardStore>(card: &mut Card<S>, capdu: &[u8], a: &SendArgs) {
    let rapdu = card.handle(capdu);
    let name = emv_apdu::describe::command_label(capdu);
    let shown = shown(capdu, a.show_pin);
    let (data, sw, meaning) = match ResponseView::parse(&rapdu) {
        Ok(r) => (
            r.data.to_vec(),
            format!("{:04X}", u16::from(r.sw)),
            r.sw.meaning(),
        ),
        Err(_) => (Vec::new(), String::new(), "no answer".to_owned()),
    };
    if a.json {
        println!(
            "{}",
            json!({
                "command": name, "capdu": shown, "data": hex::encode_upper(&data),
                "sw": sw, "meaning": meaning,
            })
        );
    } else {
        println!(">> {shown}  {name}");
        println!("<< {}{sw}  {meaning}", spaced(&data));
        if a.decode && !data.is_empty() {
            match emv_tlv::parse_all(&data) {
                Ok(list) => {
                    print!("{}", indent(&describe::render_tree(&describe::tree(&list))))
                }
                Err(e) => println!("   (not BER-TLV: {e})"),
            }
        }
    }
}

fn spaced(data: &[u8]) -> String {
    if data.is_empty() {
        String::new()
    } else {
        format!("{} ", hex::encode_upper(data))
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   {l}\n")).collect()
}

/// The C-APDU as printed: the data of commands that carry a PIN is masked.
/// The C-APDU as shown: redacted by the one rule of [`emv_apdu::describe`] unless the
/// user asked to see the PIN data (`--show-pin`).
fn shown(capdu: &[u8], show: bool) -> String {
    if show {
        return hex::encode_upper(capdu);
    }
    emv_apdu::describe::redacted_hex(capdu)
}
