//! The readable transaction report of `emvbench run`: what happened stage by stage (the
//! kernel's decisions and the CV Rules it tried), the APDUs, and the result with TVR, TSI
//! and CVM Results decoded bit by bit. It is one of the consumers of the kernel's event
//! stream (through the journal the outcome carries). PINs never appear: the journal's APDU
//! log is redacted by `emv_apdu::describe`.

use std::fmt::Write as _;

use emv_kernel::{Outcome, RuleOutcome, Stage, Topic};
use emv_tlv::describe::{DecodeAs, describe_as};

/// What the report says about the transaction besides the outcome.
#[derive(Debug, Clone, Default)]
pub struct ReportHeader {
    /// The card (profile name, or reader).
    pub card: String,
    /// The terminal profile.
    pub terminal: String,
    /// Transaction type and amount in words (`purchase 25.00 EUR`).
    pub transaction: String,
    /// The host (`embedded`, `http://...`, `none`).
    pub host: String,
}

/// What to include.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    /// List every APDU exchange.
    pub apdus: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self { apdus: true }
    }
}

/// Renders the report.
pub fn render(outcome: &Outcome, header: &ReportHeader, opts: ReportOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · card {} · terminal {} · host {}",
        header.transaction, header.card, header.terminal, header.host
    );
    stages(&mut out, outcome);
    if opts.apdus {
        apdus(&mut out, outcome);
    }
    result(&mut out, outcome);
    out
}

/// One section per stage, in the order the stages first ran (a stage that runs again
/// later, like completion after the scripts of template 72, adds to its section). The
/// cardholder verification section lists the CVM List, then every CV Rule tried, then what
/// the card answered.
fn stages(out: &mut String, o: &Outcome) {
    let mut order: Vec<Stage> = Vec::new();
    for d in &o.decisions {
        if !order.contains(&d.stage) {
            order.push(d.stage);
        }
    }
    if !o.cvm_trace.is_empty() && !order.contains(&Stage::CardholderVerification) {
        order.push(Stage::CardholderVerification);
    }
    for stage in order {
        let _ = writeln!(out, "\n{}", title(stage));
        let cv = stage == Stage::CardholderVerification;
        let mut rules_shown = false;
        for d in o.decisions.iter().filter(|d| d.stage == stage) {
            let _ = writeln!(out, "  · {d}");
            // the CVM List comes first, then the rules tried from it
            if cv && !rules_shown && d.topic == Topic::Cvm {
                cv_rules(out, o);
                rules_shown = true;
            }
        }
        if cv && !rules_shown {
            cv_rules(out, o);
        }
    }
}

fn title(stage: Stage) -> String {
    let name = stage.name();
    let mut t = name[..1].to_uppercase();
    t.push_str(&name[1..]);
    t
}

fn cv_rules(out: &mut String, o: &Outcome) {
    for r in &o.cvm_trace {
        let (verdict, reason) = rule_verdict(r);
        let _ = writeln!(
            out,
            "  rule {} {}: {}, {} → {verdict}: {reason}",
            r.index, r.rule, r.cvm, r.condition
        );
    }
}

/// What became of a CV Rule in words, and why (without repeating the verdict).
pub fn rule_verdict(r: &emv_kernel::CvRuleTrace) -> (&'static str, &str) {
    let verdict = match r.outcome {
        RuleOutcome::ConditionNotSatisfied => "condition not satisfied",
        RuleOutcome::Unrecognised => "CVM not recognised",
        RuleOutcome::NotSupported => "not supported",
        RuleOutcome::Failed => "FAILED",
        RuleOutcome::Successful => "successful",
    };
    let reason = r
        .reason
        .strip_prefix(verdict)
        .map_or(r.reason.as_str(), |s| s.trim_start_matches([':', ' ']));
    (verdict, reason)
}

fn apdus(out: &mut String, o: &Outcome) {
    let _ = writeln!(out, "\nAPDU exchanges ({})", o.apdus.len());
    for (i, a) in o.apdus.iter().enumerate() {
        let _ = writeln!(out, "  {:>2} {}", i + 1, a.name);
        let _ = writeln!(out, "     >> {}", spaced(&a.command));
        if a.response.is_empty() {
            let _ = writeln!(out, "     << (no answer)");
        } else {
            let _ = writeln!(out, "     << {}", spaced(&a.response));
        }
    }
}

/// `6F1A8407` → `6F 1A 84 07` (masked `**` digits stay pairs).
pub fn spaced(hex: &str) -> String {
    let b = hex.as_bytes();
    b.chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn result(out: &mut String, o: &Outcome) {
    let _ = writeln!(out);
    let mut line = format!("Result: {}", o.outcome.name().to_uppercase());
    if let Some(rc) = &o.host_response_code {
        let _ = write!(line, " · host response code {rc}");
    }
    if let Some(p) = &o.online_pin {
        let _ = write!(line, " · online PIN {}", p.name());
    }
    if o.signature_to_take() {
        line.push_str(" · SIGNATURE REQUIRED");
    }
    let _ = writeln!(out, "{line}");
    if let Some(reason) = &o.termination_reason {
        let at = o.terminated_at.map(|s| s.name()).unwrap_or("?");
        let _ = writeln!(out, "  terminated at {at}: {reason}");
    }
    if let Some(r) = &o.reversal {
        let _ = writeln!(out, "  {}", r.summary());
    }
    let cid = |c: Option<emv_tlv::bits::Cid>| c.map_or_else(|| "-".to_owned(), |c| c.to_hex());
    let _ = writeln!(
        out,
        "  CID          first {} · final {}",
        cid(o.cid_first),
        cid(o.cid_final)
    );
    field(out, "TVR", &o.tvr.0, DecodeAs::Tvr);
    field(out, "TSI", &o.tsi.0, DecodeAs::Tsi);
    field(out, "CVM Results", &o.cvm_results.0, DecodeAs::CvmResults);
    let _ = writeln!(out, "  CVM          {}", o.cvm_performed.name());
    if let Some(sr) = o.script_results_bytes() {
        field(out, "Script res.", &sr, DecodeAs::ScriptResults);
    }
    if let Some(c) = &o.card {
        let _ = writeln!(
            out,
            "  Card         PIN try counter {} of {}{} · ATC {} · application {} · card {}",
            c.pin_try_counter,
            c.pin_try_limit,
            if c.pin_try_counter == 0 {
                " (offline PIN BLOCKED)"
            } else {
                ""
            },
            c.atc,
            if c.app_blocked { "BLOCKED" } else { "usable" },
            if c.card_blocked { "BLOCKED" } else { "usable" },
        );
    }
    if let Some(h) = &o.host {
        let _ = writeln!(
            out,
            "  Host         online PIN tries left {}{} · card {} · pending scripts {}",
            h.online_pin_tries_left,
            if h.online_pin_tries_left == 0 {
                " (online PIN BLOCKED)"
            } else {
                ""
            },
            h.card_status,
            h.pending_scripts
        );
    }
    let _ = writeln!(out, "  APDUs        {}", o.apdu_count);
}

fn field(out: &mut String, name: &str, bytes: &[u8], kind: DecodeAs) {
    let _ = writeln!(out, "  {name:<12} {}", emv_tlv::hex::encode(bytes));
    if bytes.iter().all(|b| *b == 0) && kind == DecodeAs::Tvr {
        let _ = writeln!(out, "               (no bit set)");
        return;
    }
    if let Ok(lines) = describe_as(kind, bytes) {
        for l in lines {
            let _ = writeln!(out, "               {l}");
        }
    }
}
