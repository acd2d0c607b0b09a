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

/// The rule of [`exit`], in `emvbench --help` (and the README's "Exit codes").
const EXIT_CODES: &str = "\
Exit codes (every command): 0 it did what was asked (a declined transaction is a result);
1 a check or an expectation failed (scenario, trace replay or diff, demo) or the work failed
while it ran (a host that cannot be reached, a port in use); 2 bad arguments or unusable
files (a profile, a --card-tag the card has no place for, a state, key or trace file, a
--data directory, a scenario, a `card send -` line that is not hex). One error, one line.";

/// emvbench: a software EMV card, a terminal test bench and a simulated issuer host, for
/// people who build and test card payments.
#[derive(Debug, Parser)]
#[command(
    name = "emvbench",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_CODES
)]
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

/// Bad input from the user (hex, TLV, values, unusable files): reported with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The exit code of every command, one rule (README "Exit codes", `emvbench --help`).
/// 0 (`ExitCode::SUCCESS`): the command did what was asked (a declined transaction is a
/// result, not an error).
pub mod exit {
    /// A check or an expectation failed (a scenario step, a trace replay or diff, a demo
    /// flow), or the work failed while it ran (a host that cannot be reached, a port in use).
    pub const FAILED: u8 = 1;
    /// The command could not start: bad arguments (clap's usage errors too) or unusable
    /// files and directories (a profile, a --card-tag, a state file, a key file, a data
    /// directory, a trace, a scenario, an input line that is not an APDU).
    pub const BAD_INPUT: u8 = 2;
}

/// A host data directory (`--data DIR`) a command can use: not a file, and for a command
/// that only reads (`host status`), one that holds a store already, so that a typo never
/// leaves an empty store behind.
pub fn host_data_dir(dir: &std::path::Path, read_only: bool) -> Result<(), InputError> {
    if dir.exists() && !dir.is_dir() {
        return Err(InputError(format!(
            "--data {}: not a directory",
            dir.display()
        )));
    }
    if read_only && !dir.join(emv_host::store::DB_FILE).is_file() {
        return Err(InputError(format!(
            "no host data at {} (run `emvbench host provision` or `host serve` first)",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes a file the user named (`--record FILE`, `--record-dir DIR`): one that cannot be
/// written is unusable input (exit code 2), like one that cannot be read.
pub fn write_file(path: &std::path::Path, contents: &str) -> Result<(), InputError> {
    std::fs::write(path, contents)
        .map_err(|e| InputError(format!("writing {}: {e}", path.display())))
}

/// What `main` prints and returns for an error: its message, each link of the chain once
/// (a library error that repeats its cause in its own message is not printed twice), and
/// the exit code of the rule in [`exit`].
pub fn report(err: &anyhow::Error) -> (String, ExitCode) {
    let mut message = String::new();
    for link in err.chain() {
        let m = link.to_string();
        if m.is_empty() || message.contains(&m) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&m);
    }
    let code = if err.chain().any(is_bad_input) {
        exit::BAD_INPUT
    } else {
        exit::FAILED
    };
    (message, ExitCode::from(code))
}

/// Whether an error of the chain is the user's input ([`exit::BAD_INPUT`]): ours, or a
/// library's error that says the input was refused.
fn is_bad_input(e: &(dyn std::error::Error + 'static)) -> bool {
    use emv_session::SessionError as S;
    let host =
        |e: &emv_host::Error| e.is_client_error() || matches!(e, emv_host::Error::KeyFile(_));
    if e.is::<InputError>() || e.is::<emv_card::CardError>() {
        return true;
    }
    if let Some(e) = e.downcast_ref::<emv_host::Error>() {
        return host(e);
    }
    if let Some(e) = e.downcast_ref::<emv_kernel::KernelError>() {
        return kernel(e);
    }
    match e.downcast_ref::<S>() {
        Some(S::Card(_) | S::Provision { .. } | S::Scenario { .. } | S::Input(_)) => true,
        Some(S::Kernel(k)) => kernel(k),
        Some(S::Host(h)) => host(h),
        _ => false,
    }
}

/// The kernel's errors about its input (a terminal profile, the transaction parameters,
/// PIN entries), not a card that failed while the transaction ran.
fn kernel(e: &emv_kernel::KernelError) -> bool {
    use emv_kernel::KernelError as K;
    matches!(
        e,
        K::Profile { .. } | K::ProfileNotFound(_) | K::Params(_) | K::PinPad(_)
    )
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: anyhow::Error) -> ExitCode {
        report(&e).1
    }

    #[test]
    fn each_link_of_an_error_is_printed_once() {
        // a library error whose message repeats its source (thiserror's "{0}" with #[from])
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = emv_card::CardError::ProfileIo {
            path: "x.toml".into(),
            source: io(),
        };
        let (m, _) = report(&anyhow::Error::from(e).context("loading the card"));
        assert_eq!(
            m,
            "loading the card: cannot read card profile x.toml: No such file"
        );
        let (m, _) = report(&anyhow::Error::from(io()).context("reading y"));
        assert_eq!(m, "reading y: No such file");
    }

    #[test]
    fn the_exit_code_rule() {
        let bad = ExitCode::from(exit::BAD_INPUT);
        let failed = ExitCode::from(exit::FAILED);
        assert_eq!(code(InputError("--amount".into()).into()), bad);
        // whatever context was added on the way
        let card = emv_card::CardError::Override("9F7F".into());
        assert_eq!(code(anyhow::Error::from(card).context("card 0")), bad);
        let host = emv_host::Error::WeakPin("too easy");
        assert_eq!(code(emv_session::SessionError::Host(host).into()), bad);
        assert_eq!(code(emv_host::Error::KeyFile("k".into()).into()), bad);
        let terminal = emv_kernel::KernelError::ProfileNotFound("atm2".into());
        assert_eq!(
            code(emv_session::SessionError::Kernel(terminal).into()),
            bad
        );
        // the work failed while it ran
        assert_eq!(code(emv_host::Error::Stopped.into()), failed);
        let unreachable = emv_auth::HostError::Unreachable("refused".into());
        assert_eq!(
            code(emv_session::SessionError::Remote(unreachable).into()),
            failed
        );
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "in use");
        let e = emv_host::Error::Io {
            context: "binding 127.0.0.1:8080".into(),
            io,
        };
        assert_eq!(code(e.into()), failed);
    }
}
