//! The CVM case table of `tests/cvm-cases.toml`, driven through the full kernel
//! ([`Kernel::run`]) against the real software card (`emv-card`, in process) with scripted
//! PIN entry.
//!
//! The table is data, kept apart from this code so that the same cases can be run through
//! `emvbench run --json --card-tag ... --terminal-tag ...`; every expected value in it is
//! derived from EMV 4.4 Book 3 §10.5 / Annex C3, Book 4 §6.3.4 / Annex A4 (and, for the
//! rest of the transaction, Book 3 §10.3-10.9), with the section named in each case.
//!
//! A failing case prints its name, the field, the expected and the actual value, and the
//! CV Rule trace of the kernel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::BTreeSet;
use std::sync::Arc;

use emv_apdu::Transport;
use emv_auth::TransactionType;
use emv_card::{Card, MemoryStore, Personalisation, TagOverride};
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionParams};
use emv_transport::InProcessCard;
use emvbench_tests::ChipHost;
use serde::Deserialize;

const CASES: &str = include_str!("cvm-cases.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

/// PIN entries: a list (`["0000", "1234"]`, `"bypass"` entries allowed) or `"bypass"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Pins {
    List(Vec<String>),
    One(String),
}

impl Default for Pins {
    fn default() -> Self {
        Pins::List(Vec::new())
    }
}

impl Pins {
    fn entries(&self) -> Vec<String> {
        match self {
            Pins::List(v) => v.clone(),
            Pins::One(s) => vec![s.clone()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    spec: String,
    card: String,
    #[serde(default)]
    card_tags: Vec<String>,
    terminal: String,
    #[serde(default)]
    terminal_tags: Vec<String>,
    amount: String,
    #[serde(default = "purchase", rename = "type")]
    txn_type: String,
    #[serde(default)]
    pins: Pins,
    #[serde(default = "approving")]
    host: String,
    expect: Expect,
}

fn purchase() -> String {
    "purchase".into()
}

fn approving() -> String {
    "approving".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    cvm_results: String,
    tvr: String,
    tsi: String,
    cvm_performed: String,
    outcome: Option<String>,
    pin_try_counter: Option<u8>,
    signature_required: Option<bool>,
}

/// What one case produced.
struct Ran {
    outcome: Outcome,
    pin_try_counter: u8,
}

fn transaction_type(s: &str) -> TransactionType {
    match s {
        "purchase" => TransactionType::Purchase,
        "cash" => TransactionType::Cash,
        "cashback" => TransactionType::Cashback,
        "refund" => TransactionType::Refund,
        other => panic!("type {other:?}: expected purchase, cash, cashback or refund"),
    }
}

/// `"12.34"` → minor units with `exponent` decimals.
fn minor_units(amount: &str, exponent: u8) -> u64 {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    assert!(
        frac.len() <= usize::from(exponent),
        "amount {amount:?} has more than {exponent} decimals"
    );
    let frac = format!("{frac:0<width$}", width = usize::from(exponent));
    format!("{whole}{frac}")
        .parse()
        .unwrap_or_else(|e| panic!("amount {amount:?}: {e}"))
}

fn run(c: &Case) -> Ran {
    let overrides: Vec<TagOverride> = c
        .card_tags
        .iter()
        .map(|t| {
            t.parse()
                .unwrap_or_else(|e| panic!("{}: card tag {t}: {e}", c.name))
        })
        .collect();
    let perso = Arc::new(
        Personalisation::load(&c.card, &overrides)
            .unwrap_or_else(|e| panic!("{}: card {}: {e}", c.name, c.card)),
    );
    let mut card: InProcessCard<MemoryStore> =
        InProcessCard::new(Card::in_memory(perso.clone()).unwrap().with_seed(7));
    card.power_on().unwrap();
    let mut profile = Profile::load(&c.terminal).unwrap();
    for t in &c.terminal_tags {
        profile
            .override_tag_str(t)
            .unwrap_or_else(|e| panic!("{}: terminal tag {t}: {e}", c.name));
    }
    let params = TransactionParams {
        amount: minor_units(&c.amount, profile.currency_exponent),
        transaction_type: transaction_type(&c.txn_type),
        seed: 1,
        ..TransactionParams::default()
    };
    let kernel = Kernel::new(profile, KernelConfig::default());
    let mut pinpad = ScriptedPinPad::new(c.pins.entries()).unwrap();
    let outcome = match c.host.as_str() {
        "approving" => {
            let mut host = ChipHost::for_card(&perso).unwrap();
            kernel.run(&mut card, &mut pinpad, &mut host, &params)
        }
        "unreachable" => {
            let mut host = TestHost::unreachable();
            kernel.run(&mut card, &mut pinpad, &mut host, &params)
        }
        other => panic!(
            "{}: host {other:?}: expected approving or unreachable",
            c.name
        ),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    Ran {
        pin_try_counter: card.card().state().pin_try_counter,
        outcome,
    }
}

/// Every field of `expect` that differs, as "field: expected X, got Y".
fn mismatches(e: &Expect, r: &Ran) -> Vec<String> {
    let o = &r.outcome;
    let mut wrong = Vec::new();
    let mut check = |field: &str, expected: String, actual: String| {
        if expected != actual {
            wrong.push(format!("{field}: expected {expected}, got {actual}"));
        }
    };
    check(
        "cvm_results",
        e.cvm_results.to_uppercase(),
        o.cvm_results.to_hex(),
    );
    check("tvr", e.tvr.to_uppercase(), o.tvr.to_hex());
    check("tsi", e.tsi.to_uppercase(), o.tsi.to_hex());
    check(
        "cvm_performed",
        e.cvm_performed.clone(),
        o.cvm_performed.name().to_owned(),
    );
    if let Some(x) = &e.outcome {
        check("outcome", x.clone(), o.outcome.name().to_owned());
    }
    if let Some(n) = e.pin_try_counter {
        check(
            "card.pin_try_counter",
            n.to_string(),
            r.pin_try_counter.to_string(),
        );
    }
    if let Some(s) = e.signature_required {
        check(
            "signature_required",
            s.to_string(),
            o.signature_required.to_string(),
        );
    }
    wrong
}

fn cases() -> Vec<Case> {
    toml::from_str::<CaseFile>(CASES)
        .unwrap_or_else(|e| panic!("tests/cvm-cases.toml: {e}"))
        .case
}

#[test]
fn cvm_cases_through_the_software_card() {
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        let r = run(c);
        let wrong = mismatches(&c.expect, &r);
        if !wrong.is_empty() {
            let trace: Vec<String> = r
                .outcome
                .cvm_trace
                .iter()
                .map(|t| {
                    format!(
                        "    rule {} {}: {:?} ({})",
                        t.index, t.rule, t.outcome, t.reason
                    )
                })
                .collect();
            failures.push(format!(
                "case {:?} ({}):\n  {}\n  outcome {}, decisions:\n{}\n  CV Rules:\n{}",
                c.name,
                c.spec,
                wrong.join("\n  "),
                r.outcome.outcome.name(),
                r.outcome
                    .decisions
                    .iter()
                    .map(|d| format!("    [{:?}] {d}", d.stage))
                    .collect::<Vec<_>>()
                    .join("\n"),
                trace.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} CVM cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The CVM List a case runs with: its `8E=` override, else the card profile's.
fn cvm_list(c: &Case) -> Vec<u8> {
    let overrides: Vec<TagOverride> = c.card_tags.iter().map(|t| t.parse().unwrap()).collect();
    let perso = Personalisation::load(&c.card, &overrides).unwrap();
    perso.apps[0]
        .get(0x8E)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// The table covers at least 40 cases, every condition code 00-09
/// and one the terminal does not understand, every CVM code of Annex C3 and unrecognised
/// ones, and the named PIN situations.
#[test]
fn the_case_table_covers_book_3_section_10_5() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut conditions = BTreeSet::new();
    let mut methods = BTreeSet::new();
    for c in &cases {
        let list = cvm_list(c);
        for rule in list.get(8..).unwrap_or_default().chunks_exact(2) {
            methods.insert(rule[0] & 0x3F);
            conditions.insert(rule[1]);
        }
    }
    for code in 0x00..=0x0A {
        assert!(
            conditions.contains(&code),
            "no case with condition code {code:02X}"
        );
    }
    for code in [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x1E, 0x1F, 0x08, 0x30] {
        assert!(methods.contains(&code), "no case with CVM code {code:02X}");
    }
    let text: Vec<String> = cases
        .iter()
        .map(|c| format!("{} {}", c.name, c.spec))
        .collect();
    for topic in [
        "bypass",
        "PIN pad",
        "63C0",
        "6983",
        "6984",
        "PIN Try Counter 0",
        "wrong then right",
        "= X",
        "= Y",
        "unrecognised",
        "no CVM rules",
        "AIP without cardholder verification",
    ] {
        assert!(
            text.iter().any(|t| t.contains(topic)),
            "no case about {topic:?}"
        );
    }
    // a wrong expectation is reported with its field: the comparison can fail
    let c = &cases[0];
    let r = run(c);
    assert!(mismatches(&c.expect, &r).is_empty());
    let mut wrong = c.expect.clone();
    wrong.tvr = "FFFFFFFFFF".into();
    wrong.pin_try_counter = Some(9);
    let m = mismatches(&wrong, &r);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m[0].starts_with("tvr: expected FFFFFFFFFF, got "), "{m:?}");
    assert!(
        m[1].starts_with("card.pin_try_counter: expected 9"),
        "{m:?}"
    );
}
