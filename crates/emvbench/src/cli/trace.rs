//! `emvbench trace replay|diff`: recorded APDU traces as regression tests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use emv_transport::trace::{self, Trace};

use super::InputError;

pub const EXAMPLES: &str = "\
Examples (from a checkout of the repository, whose apdu-traces/ holds the recorded traces):
  emvbench trace replay apdu-traces/*.trace
  emvbench trace replay apdu-traces/*.trace --junit traces.xml   # for a CI test report
  emvbench trace replay --as-card apdu-traces/*.trace
  emvbench scenario run scenarios/01-offline-pin-blocked-atm-unblock.toml --record /tmp/01.trace
  emvbench trace diff apdu-traces/01-offline-pin-blocked-atm-unblock.trace /tmp/01.trace

`replay` plays the terminal side of a trace (every power-on and C-APDU, in order) against a
fresh software card personalised as the trace's @card line says, and compares every answer
byte for byte; it stops at the first difference and shows both answers decoded.
`replay --as-card` plays the card side: the recorded answers (and the issuer's) play the
card, and the kernel must send the recorded commands (VERIFY data excepted). `diff`
compares two traces exchange by exchange and never prints PIN data.

A trace stores PIN data redacted as [PIN] (recorded with --record-pins it holds it in
clear): the replay enters the card's PIN (or --pin) where the recorded card accepted it and
another PIN where it did not, and compares every answer byte for byte. A trace cut short
(a transaction without its @end line) is refused with the line number (exit 2). Record traces with `emvbench run --record FILE`
or `emvbench scenario run FILE --record FILE`.";

const IMPORT_EXAMPLES: &str = "\
Examples:
  emv-tool --config-xml cfg.xml --txn-amount 1000 --debug-level CARD > /tmp/tool.log
  emvbench trace import --from plain /tmp/tool.log -o /tmp/tool.trace --card visa-cvn18 --seed 7
  emvbench trace replay /tmp/tool.trace          # the log's commands against our card
  emvbench trace import --from pcscd /tmp/pcscd.log -o /tmp/foreign.trace
  emvbench trace replay --as-card /tmp/foreign.trace  # its card's answers against our kernel

Formats: plain (`>>`/`<<`, `->`/`<-`, `C-APDU:`/`R-APDU:` lines; an `ATR:` line is a
power-on), pcscd (`pcscd --foreground --apdu`: `APDU:` and `SW:` lines), pcsc-spy (its
SCardTransmit buffers). PIN data (VERIFY, PIN CHANGE) is stored as [PIN]. Each power-on
starts a transaction, recorded with --terminal, --amount, --type and --date for `replay
--as-card`, which reports where our kernel departs from the log. --card names the software
card the log was made with (profile and --seed, as `card serve --seed` served it), for
`trace replay`. A log that cannot be read is refused with its line (exit 2).";

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// The log's format: plain, pcscd or pcsc-spy.
    #[arg(long = "from", value_name = "FORMAT")]
    format: emv_transport::import::LogFormat,
    /// The log file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The trace to write.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// The software card the log was made with (a card profile), for `trace replay`.
    #[arg(long, value_name = "PROFILE")]
    card: Option<String>,
    /// That card's seed (`card serve --seed N`).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "card")]
    seed: u64,
    /// The terminal profile our kernel runs as when the card side is replayed.
    #[arg(long, value_name = "PROFILE", default_value = "pos-attended")]
    terminal: String,
    /// The amount, in minor units, for the card-side replay.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    amount: u64,
    /// The transaction type for the card-side replay.
    #[arg(long = "type", value_name = "TYPE", default_value = "purchase")]
    transaction_type: String,
    /// The transaction date (YYYY-MM-DD) for the card-side replay.
    #[arg(long, value_name = "DATE", default_value = "2026-01-15")]
    date: String,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay traces against the software card, byte for byte.
    #[command(after_long_help = EXAMPLES)]
    Replay {
        /// Trace files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Replay the card side instead: the recorded answers play the card and the issuer,
        /// the kernel runs each transaction again and must send the recorded commands.
        #[arg(long)]
        as_card: bool,
        /// The PIN entered where the recorded card accepted a redacted PIN ([PIN]; default:
        /// the card's own PIN at that moment).
        #[arg(long, value_name = "PIN", conflicts_with = "as_card")]
        pin: Option<String>,
        /// Also write a JUnit XML report: one test case per power-on and exchange (passed
        /// up to the first difference, that one failed with both answers, the rest
        /// skipped), for CI systems.
        #[arg(long, value_name = "FILE", conflicts_with = "as_card")]
        junit: Option<PathBuf>,
    },
    /// Turn a foreign APDU log (pcscd --apdu, pcsc-spy, a >>/<< or C-APDU:/R-APDU: hex
    /// dump such as emv-tool's --debug-level CARD output) into a trace.
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Compare two traces exchange by exchange.
    #[command(after_long_help = EXAMPLES)]
    Diff {
        /// The first trace.
        a: PathBuf,
        /// The second trace.
        b: PathBuf,
    },
}

fn load(path: &Path) -> Result<Trace> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("reading {}: {e}", path.display())))?;
    Ok(Trace::parse(&text).map_err(|e| InputError(format!("{}: {e}", path.display())))?)
}

/// Dispatch `emvbench trace ...`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Replay {
            files,
            as_card,
            pin,
            junit,
        } => {
            if let Some(p) = &pin {
                emv_crypto::Pin::new(p)
                    .map_err(|e| InputError(format!("--pin: {e} (4 to 12 digits)")))?;
            }
            let mut failed = 0;
            let mut suites = Vec::new();
            for f in &files {
                let t = load(f)?;
                if as_card {
                    match emv_session::replay::replay_as_card(&t) {
                        Ok(s) => outln!(
                            "ok   {}: the kernel sent the {} recorded commands of {} transaction(s)",
                            f.display(),
                            s.commands,
                            s.transactions
                        ),
                        Err(emv_session::replay::ReplayError::Setup(e)) => {
                            return Err(InputError(format!("{}: {e}", f.display())).into());
                        }
                        Err(e) => {
                            failed += 1;
                            outln!("FAIL {}: {e}", f.display());
                        }
                    }
                    continue;
                }
                let mut card = trace::card_for_trace(&t)
                    .map_err(|e| InputError(format!("{}: {e}", f.display())))?;
                let result = trace::replay_against_card_with(&t, &mut card, pin.as_deref());
                if junit.is_some() {
                    suites.push(emv_session::junit::replay_suite(
                        &f.display().to_string(),
                        &t,
                        &result,
                    ));
                }
                match result {
                    Ok(stats) => outln!(
                        "ok   {}: {} exchanges, {} power-ons, identical",
                        f.display(),
                        stats.exchanges,
                        stats.power_ons
                    ),
                    Err(m) => {
                        failed += 1;
                        outln!("FAIL {}: {m}", f.display());
                    }
                }
            }
            if let Some(path) = &junit {
                std::fs::write(path, emv_session::junit::to_xml(&suites))
                    .map_err(|e| InputError(format!("writing {}: {e}", path.display())))?;
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(super::exit::FAILED)
            })
        }
        Command::Import(a) => import(&a),
        Command::Diff { a, b } => {
            let d = trace::diff(&load(&a)?, &load(&b)?);
            if d.is_empty() {
                outln!("the exchanges are identical");
                return Ok(ExitCode::SUCCESS);
            }
            for line in &d {
                outln!("{line}");
            }
            outln!("{} exchange(s) differ", d.len());
            Ok(ExitCode::from(super::exit::FAILED))
        }
    }
}

fn import(a: &ImportArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| InputError(format!("reading {}: {e}", a.file.display())))?;
    if let Some(p) = &a.card {
        // the profile must exist for the trace to replay
        emv_card::Personalisation::load(p, &[])?;
    }
    let opts = emv_transport::import::ImportOptions {
        card: a.card.as_ref().map(|p| {
            emv_transport::trace::card_fields(p, a.seed, &[])
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        }),
        transaction: [
            ("terminal", a.terminal.clone()),
            ("terminal-tags", String::new()),
            ("amount", a.amount.to_string()),
            ("amount-other", "0".into()),
            ("type", a.transaction_type.clone()),
            ("date", a.date.clone()),
            ("time", "120000".into()),
            ("seed", "1".into()),
            ("stan", "1".into()),
            ("forced-online", "false".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        source: a.file.display().to_string(),
    };
    let trace = emv_transport::import::import(a.format, &text, &opts)
        .map_err(|e| InputError(format!("{}: {e}", a.file.display())))?;
    std::fs::write(&a.output, trace.to_text())
        .map_err(|e| InputError(format!("writing {}: {e}", a.output.display())))?;
    outln!(
        "imported {} exchange(s) from {} ({} log) into {}",
        trace.exchanges(),
        a.file.display(),
        a.format,
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
