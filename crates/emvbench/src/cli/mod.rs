//! The clap command tree and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Writes `text` to standard output; a closed pipe (`emvbench ... | head`) ends the output
/// quietly instead of panicking.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// `println!` through [`emit`] (returns early with the error from the calling function).
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::emit(&format!("{}\n", format_args!($($t)*)))?
    };
}

/// `print!` through [`emit`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::emit(&format!($($t)*))?
    };
}

pub mod bench;
pub mod calc;
pub mod card;
pub mod decode;
pub mod decode_iso8583;
pub mod demo;
pub mod host;
pub mod readers;
pub mod run;
pub mod scenario;
pub mod trace;
pub mod tui;

/// emvbench: a software EMV card, a terminal test bench and a simulated issuer host, for
/// people who build and test card payments.
#[derive(Debug, Parser)]
#[command(name = "emvbench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// A directory of card profiles (NAME.toml) that override or extend the built-in ones
    /// (default: ./card-profiles or one in a parent directory, when there is one).
    // its own id: `host provision` has a `profiles` argument of its own
    #[arg(
        long = "profiles",
        global = true,
        value_name = "DIR",
        env = "EMVBENCH_CARD_PROFILES"
    )]
    card_profile_dir: Option<std::path::PathBuf>,
    /// A directory of terminal profiles (NAME.toml) that override or extend the built-in
    /// ones (default: ./terminal-profiles, when there is one).
    #[arg(
        long = "terminal-profiles",
        global = true,
        value_name = "DIR",
        env = "EMVBENCH_TERMINAL_PROFILES"
    )]
    terminal_profile_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play the PIN flows of the product end to end (software card, terminals, issuer host)
    /// and print a transcript: the place to start.
    #[command(after_long_help = demo::EXAMPLES)]
    Demo(demo::Args),
    /// Decode EMV data: a BER-TLV tree with tag names and bit fields, or one field (TVR,
    /// TSI, AIP, CVM List, ...), or a C-APDU / R-APDU.
    #[command(after_long_help = decode::EXAMPLES)]
    Decode(decode::Args),
    /// A payment engineer's crypto calculator: KCV, ICC master and session keys, ARQC,
    /// ARPC, MACs, issuer-script commands, PIN blocks, PVV and IBM 3624 offsets.
    #[command(after_long_help = calc::EXAMPLES)]
    Calc(calc::Args),
    /// The software EMV card: send it APDUs by hand, list the card profiles.
    Card(card::Args),
    /// Run one full transaction between a card and a terminal, with the issuer host, and
    /// print a stage-by-stage report (or the JSON outcome).
    #[command(after_long_help = run::EXAMPLES)]
    Run(Box<run::Args>),
    /// Scenarios: multi-step flows (transactions, host calls, a pulled card) with
    /// expectations, from TOML files.
    Scenario(scenario::Args),
    /// APDU traces: replay them against the software card, compare two.
    Trace(trace::Args),
    /// The simulated issuer host: serve its HTTP API, provision cards, show a card.
    #[command(after_long_help = host::EXAMPLES)]
    Host(host::Args),
    /// List the PC/SC readers, whether a card is in each, and its ATR decoded (protocols,
    /// historical bytes). Needs a build with `--features pcsc`.
    Readers(readers::Args),
    /// Measure throughput in one run: TLV parsing, card commands, full in-process
    /// transactions against their cryptographic floor, trace replay, memory.
    #[command(after_long_help = bench::EXAMPLES)]
    Bench(bench::Args),
    /// The interactive bench: run transactions by hand against the card and the host and
    /// watch the PIN counters, the APDUs and every TVR/TSI/CVM bit change.
    #[command(after_long_help = tui::EXAMPLES)]
    Tui(Box<tui::Args>),
}

/// Bad input from the user (hex, TLV, values): reported with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    for (flag, dir) in [
        ("--profiles", &cli.card_profile_dir),
        ("--terminal-profiles", &cli.terminal_profile_dir),
    ] {
        if let Some(d) = dir.as_ref().filter(|d| !d.is_dir()) {
            return Err(InputError(format!("{flag} {}: not a directory", d.display())).into());
        }
    }
    if let Some(d) = cli.card_profile_dir {
        emv_card::profile::set_profile_dir(d);
    }
    if let Some(d) = cli.terminal_profile_dir {
        emv_kernel::set_terminal_profile_dir(d);
    }
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Calc(args) => calc::run(args),
        Command::Card(args) => card::run(args),
        Command::Host(args) => host::run(args),
        Command::Run(args) => run::run(*args),
        Command::Scenario(args) => scenario::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Readers(args) => readers::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Tui(args) => tui::run(*args),
    }
}
