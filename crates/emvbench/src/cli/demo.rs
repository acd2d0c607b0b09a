//! `emvbench demo`: the PIN flows of docs/pin.md §6 played end to end in-process (software
//! card, kernel, embedded issuer host on a temporary SQLite store), told as a transcript a
//! payment engineer can follow: who does what, each counter before and after, each
//! script, each decision with its reason.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use emv_kernel::{Outcome, RuleOutcome, Stage, Topic};
use emv_session::scenario::{self, Action, RunOptions, ScenarioReport, StepReport};
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
        let _ = write!(
            out,
            "{}",
            fit(&format!(
                "emvbench demo: a software EMV card, terminals (shop, ATM, unattended) and the \
                 issuer's\nhost, all in this process. The host keeps its database in {}\n\
                 (removed at the end). Card PINs: visa-cvn18 and mc-cvn16 are personalised with \
                 the TEST PIN 1234.\n",
                tmp.display()
            ))
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
            let _ = write!(out, "{}", fit(&transcript(i + 1, &s, &ran.report)));
            let _ = out.flush();
        }
        reports.push(ran.report);
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&reports)?);
    } else if failed == 0 {
        outln!(
            "\nAll {} flows behaved as docs/pin.md §6 says. Replay any of them with\n  \
             emvbench scenario run scenarios/01-offline-pin-blocked-atm-unblock.toml\n\
             (the files are in the repository's scenarios/), or explore by hand with\n  \
             emvbench run --card visa-cvn18 --state card.json --amount 25 --pin 1234",
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
        "chip PIN try counter {} · ATC {}\n     host online PIN tries {} · scripts pending {} · card {}",
        arrow("card.pin_try_counter"),
        arrow("card.atc"),
        arrow("host.online_pin_tries_left"),
        arrow("host.pending_scripts"),
        arrow("host.card_status"),
    )
}

/// Widest line the transcript prints (a test checks every line).
pub const WIDTH: usize = 100;

/// `text` with every line longer than [`WIDTH`] wrapped at spaces; continuation lines keep
/// the line's indentation plus two spaces.
fn fit(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if body.chars().count() <= WIDTH {
            out.push_str(line);
            continue;
        }
        let indent = body.len() - body.trim_start().len();
        let cont = " ".repeat(indent + 2);
        let mut cur = " ".repeat(indent);
        for word in body.split_whitespace() {
            let fresh = cur.trim().is_empty();
            if !fresh && cur.chars().count() + 1 + word.chars().count() > WIDTH {
                out.push_str(&cur);
                out.push('\n');
                cur = cont.clone();
            } else if !fresh {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push_str(&cur);
        out.push_str(nl);
    }
    out
}

fn transcript(n: usize, scenario: &scenario::Scenario, r: &ScenarioReport) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "\n━━ Flow {n}. {} ━━", r.name);
    for l in scenario
        .description
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let _ = writeln!(t, "   {}", l.trim());
    }
    let mut before = r.initial.clone();
    for s in &r.steps {
        let step = scenario.steps.iter().find(|st| st.index == s.step);
        let _ = writeln!(t);
        let _ = writeln!(t, "  {}. {}", s.step, headline(s, step));
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

/// A step's first line. A transaction names its terminal, type, amount and PIN entries, and
/// then what came of it.
fn headline(s: &StepReport, step: Option<&scenario::Step>) -> String {
    match (&s.outcome, step.map(|st| &st.action)) {
        (
            Some(o),
            Some(Action::Transaction {
                terminal,
                kernel,
                params,
                pins,
                ..
            }),
        ) => {
            let profile = kernel.profile();
            let entries = match pins.len() {
                0 => "no PIN entry".to_owned(),
                1 => "1 PIN entry".to_owned(),
                k => format!("{k} PIN entries"),
            };
            format!(
                "Transaction at {terminal}: {} {} (currency {:04}), {entries}\n     → {}",
                params.transaction_type.name(),
                emv_session::format_amount(params.amount, u32::from(profile.currency_exponent)),
                profile.currency_code,
                result_words(o)
            )
        }
        (Some(_), _) => format!("Transaction — {}", s.summary),
        (None, _) => match s.action.as_str() {
            "host" => format!("Issuer host — {}", s.summary),
            "remove-card" => format!("Card — {}", s.summary),
            _ => format!("Check — {}", s.summary),
        },
    }
}

/// What came of a transaction, in a few words.
fn result_words(o: &Outcome) -> String {
    let mut w = o.outcome.name().to_uppercase();
    if let Some(rc) = &o.host_response_code {
        let _ = write!(w, " (issuer {rc} {})", rc.meaning());
    }
    let _ = write!(w, ", CVM {}", o.cvm_performed.name());
    if let Some(p) = &o.online_pin {
        let _ = write!(w, ", online PIN {p}");
    }
    if o.signature_to_take() {
        w.push_str(", the cardholder signs the receipt");
    }
    if let Some(r) = &o.termination_reason {
        let _ = write!(w, ": {r}");
    }
    w
}

/// Whether a CV Rule's method (its first byte, b6-b1) is an offline PIN verified by the
/// card: plaintext or enciphered, alone or with a signature (EMV 4.4 Book 3 §10.5, Annex C3).
fn offline_pin_rule(rule: &str) -> bool {
    u8::from_str_radix(rule.get(..2).unwrap_or(""), 16)
        .is_ok_and(|m| matches!(m & 0x3F, 0x01 | 0x03 | 0x04 | 0x05))
}

/// Whether a CV Rule's b7 says "apply succeeding CV Rule if this CVM is unsuccessful"
/// (EMV 4.4 Book 3 §10.5, Annex C3).
fn apply_succeeding(rule: &str) -> bool {
    u8::from_str_radix(rule.get(..2).unwrap_or(""), 16).is_ok_and(|m| m & 0x40 != 0)
}

/// The decisions a payment engineer wants to see: the CVM List, each CV Rule tried with
/// the card's answer to every PIN tried under it and why the terminal moved on, then the
/// issuer's verdict and the scripts.
fn decisions(t: &mut String, o: &Outcome) {
    if let Some(list) = o.decisions.iter().find(|d| d.topic == Topic::Cvm) {
        let _ = writeln!(t, "     {list}");
    }
    let mut pin_shown = false;
    let mut failed: Option<&emv_kernel::CvRuleTrace> = None;
    for r in &o.cvm_trace {
        let (verdict, reason) = emv_session::report::rule_verdict(r);
        let _ = writeln!(t, "     rule {} {}: {verdict}", r.rule, r.cvm);
        let performed = matches!(r.outcome, RuleOutcome::Failed | RuleOutcome::Successful);
        if performed && offline_pin_rule(&r.rule) && !pin_shown {
            // every PIN tried under this rule, with the card's answer
            for d in o.decisions.iter().filter(|d| d.topic == Topic::OfflinePin) {
                let _ = writeln!(t, "       {d}");
            }
            pin_shown = true;
        }
        if !reason.is_empty() {
            let _ = writeln!(t, "       {reason}");
        }
        if r.outcome == RuleOutcome::Failed && apply_succeeding(&r.rule) {
            failed = failed.or(Some(r));
        }
        if r.outcome == RuleOutcome::Successful
            && o.cvm_performed == emv_kernel::CvmPerformed::Signature
            && let Some(f) = failed
        {
            let _ = writeln!(
                t,
                "       → signature: rule {} failed and its b7 says \"if unsuccessful, apply \
                 succeeding CV Rule\" (EMV 4.4 Book 3 §10.5){}",
                f.rule,
                if o.signature_to_take() {
                    ""
                } else {
                    "; declined, so there is no receipt to sign"
                }
            );
        }
    }
    for d in &o.decisions {
        // everything from the card's cryptogram on
        let shown = matches!(
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
        "     result {} · TVR {} · TSI {} · CVM Results {}",
        o.outcome.name().to_uppercase(),
        o.tvr.to_hex(),
        o.tsi.to_hex(),
        o.cvm_results.to_hex(),
    );
    if let Some(s) = o.script_results_hex() {
        let _ = writeln!(t, "     script results {s}");
    }
}
