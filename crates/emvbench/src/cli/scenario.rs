//! `emvbench scenario run`: multi-step flows from TOML files, with expectations.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use emv_session::scenario::{self, RunOptions, ScenarioReport};

use super::InputError;

pub const EXAMPLES: &str = "\
Examples (from a checkout of the repository, whose scenarios/ holds the seed scenarios):
  emvbench scenario run scenarios/01-offline-pin-blocked-atm-unblock.toml
  emvbench scenario run scenarios/*.toml --json
  emvbench scenario run scenarios/06-card-pulled-before-script.toml --record pulled.trace
  emvbench scenario run scenarios/*.toml --record-dir apdu-traces     # re-record every trace
  emvbench scenario run scenarios/*.toml --junit scenarios.xml         # for a CI test report

A scenario (TOML) names a card profile and a list of [[step]]s: `do = \"transaction\"` at a
terminal profile with an amount, a type and PIN entries; `do = \"host\"` with call =
unblock-pin | reset-pin (mode = new|keep) | change-pin (new_pin) | view-pin | set-pin
(new_pin) | block-card | unblock-card | ecommerce (amount); `do = \"remove-card\"` (the card
is pulled out as soon as the issuer answers the next transaction); `do = \"check\"`. Each step may carry [step.expect]
with any field of the outcome object (`outcome`, `tvr`, `card.pin_try_counter`,
`host.pending_scripts`, ...). A scenario runs against a fresh software card and a fresh
in-memory issuer host, with a fixed date and fixed seeds: the same file gives the same
APDUs every time. The exit code is 1 when an expectation failed, 2 for an invalid file.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files and check their expectations.
    #[command(after_long_help = EXAMPLES)]
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario files (TOML).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print the reports as JSON (one array of scenarios).
    #[arg(long)]
    json: bool,
    /// Record the APDU trace of the (single) scenario into FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "record_dir")]
    record: Option<PathBuf>,
    /// Record each scenario's trace into DIR/<scenario file stem>.trace.
    #[arg(long, value_name = "DIR")]
    record_dir: Option<PathBuf>,
    /// Record the VERIFY and PIN CHANGE data in clear (default: redacted as [PIN]); the
    /// trace's header then warns that it holds PINs.
    #[arg(long)]
    record_pins: bool,
    /// Also write a JUnit XML report (one test case per step, the expected and actual
    /// values of each failed expectation in its failure), for CI systems.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Host key file (default: $EMVBENCH_HOST_KEYS, else the built-in TEST keys).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    // the issuer host (`embedded`: a fresh in-memory host per scenario, seeded, so the run
    // matches the recorded traces; a remote host gets the scenario's card provisioned
    // afresh, the expectations must hold, the exchanges may differ from the recorded trace
    // where the host draws a random PIN)
    #[command(flatten)]
    net: super::run::HostArgs,
}

/// Dispatch `emvbench scenario ...`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Run(a) => run_files(a),
    }
}

fn run_files(a: RunArgs) -> Result<ExitCode> {
    if a.record.is_some() && a.files.len() > 1 {
        return Err(InputError(
            "--record FILE takes one scenario; use --record-dir DIR for several".into(),
        )
        .into());
    }
    // check every file before running any
    let mut scenarios = Vec::new();
    for f in &a.files {
        scenarios.push(scenario::load(f).map_err(|e| InputError(e.to_string()))?);
    }
    if let Some(dir) = &a.record_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| InputError(format!("--record-dir {}: {e}", dir.display())))?;
    }
    let record = a.record.is_some() || a.record_dir.is_some();
    let mut reports: Vec<ScenarioReport> = Vec::new();
    for s in &scenarios {
        let keys = super::host::load_keys(a.keys.as_deref(), false)?;
        let host = a.net.spec(None, false, &keys)?;
        let ran = scenario::run(
            s,
            keys,
            &RunOptions {
                record,
                record_pins: a.record_pins,
                host: Some(host),
                ..RunOptions::default()
            },
        )
        .with_context(|| format!("{}", s.file.display()))?;
        if let Some(trace) = &ran.trace {
            let path = a.record.clone().unwrap_or_else(|| {
                let stem = s.file.file_stem().unwrap_or_default().to_string_lossy();
                a.record_dir
                    .clone()
                    .unwrap_or_default()
                    .join(format!("{stem}.trace"))
            });
            super::write_file(&path, &trace.to_text())?;
            if !a.json {
                eprintln!(
                    "recorded {} ({} exchanges)",
                    path.display(),
                    trace.exchanges()
                );
            }
        }
        if !a.json {
            out!("{}", render(&ran.report));
        }
        reports.push(ran.report);
    }
    if let Some(path) = &a.junit {
        let suites: Vec<_> = reports
            .iter()
            .map(emv_session::junit::scenario_suite)
            .collect();
        std::fs::write(path, emv_session::junit::to_xml(&suites))
            .map_err(|e| InputError(format!("writing {}: {e}", path.display())))?;
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&reports)?);
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    if !a.json {
        outln!(
            "{} scenario(s): {} passed, {failed} failed",
            reports.len(),
            reports.len() - failed
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::FAILED)
    })
}

/// The text report of one scenario.
pub fn render(r: &ScenarioReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({})",
        if r.passed { "PASS" } else { "FAIL" },
        r.name,
        r.file
    );
    for s in &r.steps {
        let mark = if s.failures.is_empty() {
            "ok  "
        } else {
            "FAIL"
        };
        let _ = writeln!(out, "  {mark} step {} {}: {}", s.step, s.action, s.summary);
        for f in &s.failures {
            let _ = writeln!(
                out,
                "         step {} (line {}): {} expected {}, got {}",
                s.step, s.line, f.field, f.expected, f.actual
            );
        }
    }
    out
}
