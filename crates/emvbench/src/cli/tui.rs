//! `emvbench tui`: the command line, and the terminal's setup and teardown. Raw mode and
//! the alternate screen are undone on every way out: a normal quit, an error (the guard's
//! `Drop`) and a panic (the panic hook).

use std::io::{IsTerminal, Stdout};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use emv_kernel::{TransactionDate, TransactionTime};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::InputError;
use super::run::TxnType;
use crate::tui::app::{App, Settings};
use crate::tui::view::Theme;
use crate::tui::worker::{self, CardChoice, CardPresence, Request, WorkerConfig};
use crate::tui::{Link, run_loop};

pub const EXAMPLES: &str = "\
Examples:
  emvbench tui                                   # visa-cvn18 at a POS, embedded host
  emvbench tui --card mc-cvn16 --terminal atm --type cash --amount 100
  emvbench tui --terminal pos-offline-only --seed 1 --date 2026-11-21

Offline PIN blocked, then unblocked at an ATM: r, type three wrong PINs (Enter after
each), then t → atm, y → cash, r, the right PIN (1234 for the test profiles). The card
panel's PIN gauge goes 3 → 0 → 3; the transaction panel shows the PIN UNBLOCK script's
result. Press ? for every key.

NO_COLOR=1 draws without colours (highlights become reversed video and +/- marks).";

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which-card").args(["card", "reader"])))]
pub struct Args {
    /// Card profile (a name in card-profiles/ or a path): the software card.
    #[arg(long, value_name = "PROFILE", default_value = "visa-cvn18")]
    card: String,
    /// A real card in a PC/SC reader: its index in `emvbench readers` or part of its name
    /// (needs a build with `--features pcsc`).
    #[arg(long, value_name = "N")]
    reader: Option<String>,
    /// Terminal profile (a name in terminal-profiles/ or a path).
    #[arg(long, value_name = "PROFILE", default_value = "pos-attended")]
    terminal: String,
    /// Amount, Authorised to start with.
    #[arg(long, value_name = "AMOUNT", default_value = "25.00")]
    amount: String,
    /// Transaction type to start with.
    #[arg(long = "type", value_enum, default_value = "purchase")]
    txn_type: TxnType,
    #[command(flatten)]
    session: super::run::SessionArgs,
    /// Transaction date YYYY-MM-DD for the whole session (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Seed of the first transaction (each next one adds 1) and of the card.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Where `w` records the session (JSON lines).
    #[arg(long, value_name = "FILE", default_value = "emvbench-session.jsonl")]
    record: PathBuf,
}

/// Run `emvbench tui`.
pub fn run(a: Args) -> Result<ExitCode> {
    let input = |m: String| anyhow::Error::from(InputError(m));
    if !std::io::stdout().is_terminal() {
        return Err(input(
            "emvbench tui needs a terminal (use `emvbench run` in scripts)".into(),
        ));
    }
    let (keys, host) = a.session.host()?;
    let (date, time) = match &a.date {
        Some(d) => (
            TransactionDate::parse(d).map_err(|e| input(format!("--date: {e}")))?,
            TransactionTime {
                hour: 12,
                minute: 0,
                second: 0,
            },
        ),
        None => super::run::today(),
    };
    let seed = a.seed.unwrap_or_else(super::run::random_seed);
    let card = match &a.reader {
        Some(r) => CardChoice::Reader(r.clone()),
        None => CardChoice::Profile(a.card.clone()),
    };
    let settings = Settings {
        card: card.clone(),
        terminal: a.terminal.clone(),
        amount: a.amount.clone(),
        txn_type: a.txn_type,
        host: a.session.net.host.clone(),
        date,
        time,
        seed,
        record_path: a.record.clone(),
    };
    let mut app = App::new(
        settings,
        terminal_names(),
        emv_card::profile::available_profiles(),
    );

    let (req_tx, req_rx) = channel();
    let (ev_tx, ev_rx) = channel();
    let (pin_tx, pin_rx) = channel();
    let presence = CardPresence::default();
    let handle = worker::spawn(
        WorkerConfig {
            card,
            state: a.session.state.clone(),
            host,
            keys,
            seed,
            terminal: a.terminal.clone(),
        },
        req_rx,
        ev_tx,
        pin_rx,
        presence.clone(),
    )
    .context("starting the kernel worker")?;
    let link = Link {
        requests: req_tx,
        pins: pin_tx,
        events: ev_rx,
        presence,
    };

    // https://no-color.org: set and not empty
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = Theme::new(color);
    let result = {
        let mut guard = TerminalGuard::enter()?;
        run_loop(&mut guard.terminal, &mut app, &theme, &link)
    };
    // the guard is dropped: the terminal is back to normal before anything is printed
    let Link { requests, pins, .. } = link;
    let _ = requests.send(Request::Quit);
    drop(pins); // a PIN prompt still waiting is cancelled
    drop(requests);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The built-in terminal profiles and those of the terminal profile directory.
fn terminal_names() -> Vec<String> {
    emv_kernel::Profile::catalog()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// Raw mode and the alternate screen, undone on drop and by the panic hook.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

fn restore_terminal() {
    // best effort: each step on its own, whatever state the terminal is in
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

impl TerminalGuard {
    fn enter() -> Result<Self> {
        let ui_thread = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // a panic on the UI thread ends the program: give the terminal back first so
            // the message is readable (a worker panic shows up as "worker stopped")
            if std::thread::current().id() == ui_thread {
                restore_terminal();
            }
            previous(info);
        }));
        enable_raw_mode().context("switching the terminal to raw mode")?;
        let setup = execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            crossterm::cursor::Hide
        )
        .context("entering the alternate screen")
        .and_then(|()| {
            Terminal::new(CrosstermBackend::new(std::io::stdout())).context("opening the terminal")
        });
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore_terminal();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}
