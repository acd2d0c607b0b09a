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
