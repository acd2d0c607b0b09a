//! `emvbench demo`: the PIN flows of docs/pin.md §6 played end to end in-process (software
//! card, kernel, embedded issuer host on a temporary SQLite store), told as a transcript a
//! payment engineer can follow: who does what, each counter before and after, each
//! script, each decision with its reason.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use emv_kernel::{Outcome, Stage, Topic};
use emv_session::scenario::{self, RunOptions, ScenarioReport, StepReport};
use serde_json::Value;

/// The flows of docs/pin.md §6, by scenario number (compiled in: the demo runs anywhere).
const FLOWS: &[(&str, &str)] = &[
    (
        "01-offline-pin-blocked-atm-unblock.toml",
        include_str!("../../../../scenarios/01-offline-pin-blocked-atm-unblock.toml"),
    ),
    (
        "02-online-pin-blocked-every-channel.toml",
        include_str!("../../../../scenarios/02-online-pin-blocked-every-channel.toml"),
    ),
    (
        "03-both-blocked.toml",
        include_str!("../../../../scenarios/03-both-blocked.toml"),
    ),
    (
        "04-reset-new-pin-view-pin-atm-sync.toml",
        include_str!("../../../../scenarios/04-reset-new-pin-view-pin-atm-sync.toml"),
    ),
    (
        "05-reset-keep-pin.toml",
        include_str!("../../../../scenarios/05-reset-keep-pin.toml"),
    ),
    (
        "06-card-pulled-before-script.toml",
        include_str!("../../../../scenarios/06-card-pulled-before-script.toml"),
    ),
    (
        "07-set-pin-chip-follows.toml",
        include_str!("../../../../scenarios/07-set-pin-chip-follows.toml"),
    ),
];

pub const EXAMPLES: &str = "\
Examples:
  emvbench demo                 # the transcript
  emvbench demo --json          # the scenario reports with every outcome object
  emvbench demo --flow 6        # only the card-pulled-before-the-script flow

The same flows are files in scenarios/ (run them with `emvbench scenario run`), and their
APDU traces are in apdu-traces/.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the reports (with every outcome object) as JSON instead of the transcript.
    #[arg(long)]
    json: bool,
    /// Play only flow N (1-7).
    #[arg(long, value_name = "N")]
    flow: Option<usize>,
}

/// Run the demo.
pub fn run(a: Args) -> Result<ExitCode> {
    if let Some(n) = a.flow
        && !(1..=FLOWS.len()).contains(&n)
    {
        return Err(
            super::InputError(format!("--flow {n}: there are flows 1 to {}", FLOWS.len())).into(),
        );
    }
    let tmp = std::env::temp_dir().join(format!("emvbench-demo-{}", std::process::id()));
    let result = play(&a, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn play(a: &Args, tmp: &Path) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut reports = Vec::new();
    if !a.json {
        use std::io::Write as _;
        let _ = writeln!(
            out,
            "emvbench demo: a software EMV card, terminals (shop, ATM, unattended) and the issuer's\n\
             host, all in this process. The host keeps its database in {} (removed at the end).\n\
             Card PINs: visa-cvn18 and mc-cvn16 are personalised with the TEST PIN 1234.",
            tmp.display()
        );
    }
    for (i, (name, text)) in FLOWS.iter().enumerate() {
        if a.flow.is_some_and(|n| n != i + 1) {
            continue;
        }
        let s = scenario::parse(Path::new(name), text)?;
        let dir = tmp.join(format!("flow{}", i + 1));
        let keys = emv_host::HostKeys::load_test_keys().context("loading the TEST host keys")?;
        let ran = scenario::run(
            &s,
            keys,
            &RunOptions {
                host_dir: Some(dir),
                ..RunOptions::default()
            },
        )
        .with_context(|| format!("flow {}: {}", i + 1, s.name))?;
        if !a.json {
            use std::io::Write as _;
            let _ = write!(out, "{}", transcript(i + 1, &s.description, &ran.report));
            let _ = out.flush();
        }
        reports.push(ran.report);
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&reports)?);
    } else if failed == 0 {
        outln!(
            "\nAll {} flows behaved as docs/pin.md §6 says. Replay any of them with\n  emvbench scenario run scenarios/NN-....toml\nor explore by hand with `emvbench run --card visa-cvn18 --state card.json ...`.",
            reports.len()
        );
    } else {
        outln!("\n{failed} flow(s) did NOT behave as expected (see FAIL above).");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::FAILED)
    })
}

fn num(v: &Value, path: &str) -> String {
    match scenario::lookup(v, path) {
        Value::Null => "-".into(),
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn counters(before: &Value, after: &Value) -> String {
    let arrow = |path: &str| {
        let (b, a) = (num(before, path), num(after, path));
        if b == a { a } else { format!("{b} → {a}") }
    };
    format!(
        "chip PIN try counter {} · ATC {} · host online PIN tries {} · scripts pending {} · host card {}",
        arrow("card.pin_try_counter"),
        arrow("card.atc"),
        arrow("host.online_pin_tries_left"),
        arrow("host.pending_scripts"),
        arrow("host.card_status"),
    )
}

fn transcript(n: usize, description: &str, r: &ScenarioReport) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "\n━━ Flow {n}. {} ━━", r.name);
    for l in description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(t, "   {}", l.trim());
    }
    let mut before = r.initial.clone();
    for s in &r.steps {
        let _ = writeln!(t);
        let _ = writeln!(t, "  {}. {}", s.step, headline(s));
        if let Some(say) = &s.say {
            let _ = writeln!(t, "     {say}");
        }
        if let Some(o) = &s.outcome {
            decisions(&mut t, o);
        } else if s.action == "host" {
            if let Some(m) = s.result.pointer("/result/message").and_then(Value::as_str) {
                let _ = writeln!(t, "     host: {m}");
            }
            if let Some(m) = s
                .result
                .pointer("/result/next_step")
                .and_then(Value::as_str)
            {
                let _ = writeln!(t, "     host recommends: {m}");
            }
            if let Some(rc) = s
                .result
                .pointer("/result/response_code")
                .and_then(Value::as_str)
            {
                let reason = s
                    .result
                    .pointer("/result/reason")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let _ = writeln!(t, "     host answered {rc} ({reason})");
            }
        }
        let after = match &s.outcome {
            Some(_) => serde_json::json!({ "card": s.result["card"], "host": s.result["host"] }),
            None => s.result.clone(),
        };
        let _ = writeln!(t, "     {}", counters(&before, &after));
        before = after;
        for f in &s.failures {
            let _ = writeln!(
                t,
                "     FAIL {}: expected {}, got {}",
                f.field, f.expected, f.actual
            );
        }
    }
    let _ = writeln!(
        t,
        "\n  {}",
        if r.passed {
            "✓ every expectation of this flow held"
        } else {
            "✗ this flow did not behave as expected"
        }
    );
    t
}

fn headline(s: &StepReport) -> String {
    match &s.outcome {
        Some(_) => format!("Transaction — {}", s.summary),
        None => match s.action.as_str() {
            "host" => format!("Issuer host — {}", s.summary),
            "remove-card" => format!("Card — {}", s.summary),
            _ => format!("Check — {}", s.summary),
        },
    }
}

/// The decisions a payment engineer wants to see: the CV Rules tried, the card's and the
/// issuer's verdicts, the scripts.
fn decisions(t: &mut String, o: &Outcome) {
    for r in &o.cvm_trace {
        let (verdict, reason) = emv_session::report::rule_verdict(r);
        let _ = writeln!(
            t,
            "     CVM rule {} {} — {verdict}: {reason}",
            r.rule, r.cvm
        );
    }
    for d in &o.decisions {
        // the chip's offline PIN, then everything from the card's cryptogram on
        let shown = d.topic == Topic::OfflinePin
            || matches!(
                d.stage,
                Stage::CardActionAnalysis
                    | Stage::OnlineProcessing
                    | Stage::IssuerScriptProcessing
                    | Stage::Completion
            );
        if shown {
            let _ = writeln!(t, "     {}: {d}", d.stage);
        }
    }
    let _ = writeln!(
        t,
        "     result {} · TVR {} · TSI {} · CVM Results {}{}",
        o.outcome.name().to_uppercase(),
        o.tvr.to_hex(),
        o.tsi.to_hex(),
        o.cvm_results.to_hex(),
        o.script_results_hex()
            .map(|s| format!(" · script results {s}"))
            .unwrap_or_default()
    );
}
