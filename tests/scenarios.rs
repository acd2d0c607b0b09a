//! Every scenario in `scenarios/` runs and holds its expectations; every trace in
//! `apdu-traces/` replays byte for byte against the software card and is what the scenario
//! records today; mutated traces and wrong expectations are caught with useful messages.
//!
//! Re-record the traces after an intended change with
//! `cargo run -- scenario run scenarios/*.toml --record-dir apdu-traces`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::{Path, PathBuf};

use emv_host::HostKeys;
use emv_session::scenario::{self, RunOptions};
use emv_transport::trace::{self, Event, Trace};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

const RERECORD: &str = "cargo run -- scenario run scenarios/*.toml --record-dir apdu-traces";

#[test]
fn every_scenario_passes_and_matches_its_recorded_trace() {
    let scenarios = files("scenarios", "toml");
    assert!(scenarios.len() >= 9, "{scenarios:?}");
    for path in scenarios {
        let s = scenario::load(&path).unwrap();
        let ran = scenario::run(
            &s,
            HostKeys::load_test_keys().unwrap(),
            &RunOptions {
                record: true,
                ..RunOptions::default()
            },
        )
        .unwrap();
        let failures: Vec<String> = ran
            .report
            .steps
            .iter()
            .flat_map(|st| {
                st.failures.iter().map(move |f| {
                    format!(
                        "step {} {}: expected {}, got {}",
                        st.step, f.field, f.expected, f.actual
                    )
                })
            })
            .collect();
        assert!(ran.report.passed, "{}: {failures:#?}", path.display());
        let stem = path.file_stem().unwrap().to_string_lossy();
        let trace_path = root().join("apdu-traces").join(format!("{stem}.trace"));
        let recorded = std::fs::read_to_string(&trace_path)
            .unwrap_or_else(|e| panic!("{}: {e}; record it with {RERECORD}", trace_path.display()));
        let fresh = ran.trace.unwrap();
        let d = trace::diff(&Trace::parse(&recorded).unwrap(), &fresh);
        assert!(
            d.is_empty(),
            "{} no longer matches what the scenario sends and receives:\n{}\n\
             If the change is intended, re-record with {RERECORD}",
            trace_path.display(),
            d.join("\n")
        );
        assert_eq!(
            recorded,
            fresh.to_text(),
            "{}: markers differ",
            trace_path.display()
        );
    }
}

#[test]
fn every_recorded_trace_replays_byte_for_byte() {
    let traces = files("apdu-traces", "trace");
    assert!(traces.len() >= 9);
    for path in traces {
        let t = Trace::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut card = trace::card_for_trace(&t).unwrap();
        let stats = trace::replay_against_card(&t, &mut card)
            .unwrap_or_else(|m| panic!("{}: {m}", path.display()));
        assert_eq!(stats.exchanges, t.exchanges(), "{}", path.display());
        assert!(stats.exchanges > 20, "{}", path.display());
    }
}

#[test]
fn a_mutated_response_is_caught_with_the_line_and_the_decoded_difference() {
    let path = root().join("apdu-traces/01-offline-pin-blocked-atm-unblock.trace");
    let mut t = Trace::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // change one byte of the 5th response: the GET PROCESSING OPTIONS answer (AIP length)
    let (n, line) = t
        .lines
        .iter_mut()
        .filter(|l| matches!(l.event, Event::Exchange { .. }))
        .nth(4)
        .map(|l| (l.number, l))
        .unwrap();
    let Event::Exchange {
        response: Ok(r), ..
    } = &mut line.event
    else {
        panic!("no response")
    };
    r[3] ^= 0x01;
    let mut card = trace::card_for_trace(&t).unwrap();
    let m = trace::replay_against_card(&t, &mut card).unwrap_err();
    assert_eq!(m.line, n);
    assert_eq!(m.offset, Some(3));
    let text = m.to_string();
    assert!(text.contains(&format!("line {n}")), "{text}");
    assert!(text.contains("first difference at byte 3"), "{text}");
    assert!(text.contains("GET PROCESSING OPTIONS"), "{text}");
    assert!(text.contains("9000 Success"), "{text}");
    // the card's actual answer is decoded as a TLV tree with tag names
    assert!(text.contains("Application Interchange Profile"), "{text}");
}

#[test]
fn a_wrong_expectation_names_the_step_the_field_and_both_values() {
    let text = r#"
name = "wrong on purpose"
card = "visa-cvn18"
[[step]]
do = "transaction"
terminal = "pos-offline-only"
amount = "10.00"
pin = "9999"
[step.expect]
"card.pin_try_counter" = 3
outcome = "approved"
"#;
    let s = scenario::parse(Path::new("wrong.toml"), text).unwrap();
    let ran = scenario::run(
        &s,
        HostKeys::load_test_keys().unwrap(),
        &RunOptions::default(),
    )
    .unwrap();
    assert!(!ran.report.passed);
    let f = &ran.report.steps[0].failures;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].field, "card.pin_try_counter");
    assert_eq!(f[0].expected, serde_json::json!(3));
    assert_eq!(f[0].actual, serde_json::json!(2));
}

#[test]
fn scenario_file_errors_name_the_file_line_and_field() {
    let cases = [
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"transaction\"\namount = \"1.234\"\n",
            5,
            "amount",
        ),
        (
            "name = \"x\"\ncard = \"no-such-card\"\n[[step]]\ndo = \"check\"\n",
            2,
            "card",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"check\"\ncolour = \"red\"\n",
            5,
            "colour",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"dance\"\n",
            4,
            "do",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"transaction\"\namount = \"1\"\nterminal = \"nope\"\n",
            6,
            "terminal",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"transaction\"\namount = \"1\"\npin = \"12\"\n",
            6,
            "pin",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"host\"\ncall = \"reset-pin\"\nmode = \"maybe\"\n",
            6,
            "mode",
        ),
        (
            "name = \"x\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"check\"\n[step.expect]\n\"card.colour\" = 1\n",
            5,
            "card.colour",
        ),
    ];
    for (text, line, field) in cases {
        let e = scenario::parse(Path::new("bad.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("bad.toml:{line}:")), "{text:?}: {e}");
        assert!(e.contains(field), "{text:?}: {e}");
    }
}

#[test]
fn every_trace_replays_as_the_card_against_the_kernel() {
    for path in files("apdu-traces", "trace") {
        let t = Trace::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let stats = emv_session::replay::replay_as_card(&t)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(stats.commands, t.exchanges(), "{}", path.display());
    }
}

#[test]
fn a_kernel_that_sends_something_else_is_caught_by_the_card_side_replay() {
    let path = root().join("apdu-traces/05-reset-keep-pin.trace");
    let text = std::fs::read_to_string(&path).unwrap();
    // the first transaction is now for 30.01 instead of 30.00: the first GENERATE AC's
    // CDOL1 data (Amount, Authorised) differs from the recording
    let changed = text.replacen("amount=3000 ", "amount=3001 ", 1);
    assert_ne!(changed, text);
    let t = Trace::parse(&changed).unwrap();
    let e = emv_session::replay::replay_as_card(&t)
        .unwrap_err()
        .to_string();
    assert!(e.contains("GENERATE AC"), "{e}");
    assert!(e.contains("first difference at byte"), "{e}");
}
