//! What `emvbench run` tells the user, run from an empty directory as an installed binary:
//! the script commands the issuer delivered, by name; one section per stage; no empty
//! lines of data; the CVM List before the rules tried from it; the floor-limit check either
//! way (EMV 4.4 Book 3 §10.6.1); no signature to take on a declined transaction; and the JSON
//! outcome echoing its inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::Value;

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let all = [&["run", "--seed", "7", "--date", "2026-11-22"][..], args].concat();
    let (code, out, err) = common::run_in(dir, &all);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

/// The report's section titles, in order (lines without indentation after a blank line).
fn sections(report: &str) -> Vec<&str> {
    report
        .split("\n\n")
        .filter_map(|block| block.lines().next())
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect()
}

#[test]
fn the_report_names_scripts_keeps_one_section_per_stage_and_shows_every_check() {
    let dir = common::empty_dir("run-report");
    let state = [
        "--card",
        "visa-cvn18",
        "--state",
        "card.json",
        "--data",
        "host",
    ];
    let shop = [
        &state[..],
        &["--terminal", "pos-offline-only", "--amount", "20"],
    ]
    .concat();
    // a wrong PIN, then a signature: approved, the cardholder signs
    let first = run(
        &dir,
        &[&shop[..], &["--pin", "9999", "--no-apdus"]].concat(),
    );
    assert!(
        first.contains("Result: APPROVED · SIGNATURE REQUIRED"),
        "{first}"
    );
    run(&dir, &[&shop[..], &["--pin", "9999"]].concat());
    // the third wrong PIN blocks the chip: declined, and no signature to take
    let third = run(
        &dir,
        &[&shop[..], &["--pin", "9999", "--no-apdus"]].concat(),
    );
    assert!(third.contains("Result: DECLINED"), "{third}");
    assert!(!third.contains("SIGNATURE"), "{third}");
    // the ATM: the issuer's PIN UNBLOCK script, named
    let atm = run(
        &dir,
        &[
            &state[..],
            &[
                "--terminal",
                "atm",
                "--type",
                "cash",
                "--amount",
                "50",
                "--pin",
                "1234",
            ],
        ]
        .concat(),
    );
    assert!(
        atm.contains(
            "script 00000001 in template 72, 1 command(s): PIN CHANGE/UNBLOCK (unblock) → 9000; \
             result 20 (successful)"
        ),
        "{atm}"
    );
    let titles = sections(&atm);
    for t in [
        "Completion",
        "Issuer script processing",
        "Cardholder verification",
    ] {
        assert_eq!(
            titles.iter().filter(|l| **l == t).count(),
            1,
            "{t} in {titles:#?}"
        );
    }
    assert!(
        atm.contains("floor limit check: amount 50.00 ≥ floor limit 0.00"),
        "{atm}"
    );
    // no line that announces data and shows none
    for report in [&first, &third, &atm] {
        assert!(
            report.lines().all(|l| !l.trim_end().ends_with(':')),
            "{report}"
        );
        assert!(report.contains("no PDOL (9F38)"), "{report}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cvm_list_comes_before_the_rules_and_the_floor_limit_shows_below_it() {
    let dir = common::empty_dir("run-report-cvm");
    let out = run(
        &dir,
        &["--card", "visa-cvn18", "--amount", "25.00", "--pin", "1234"],
    );
    let list = out.find("· CVM List: X = 0, Y = 0, 4 rule(s): 4103 4203 1E03 1F03");
    let rule = out.find("  rule 1 4103:");
    assert!(list.is_some() && rule.is_some() && list < rule, "{out}");
    assert!(
        out.contains(
            "floor limit check: amount 25.00 < floor limit 50.00: TVR byte 4 bit 8 \
             \"Transaction exceeds floor limit\" stays clear (Book 3 §10.6.1)"
        ),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_json_outcome_echoes_its_inputs() {
    let dir = common::empty_dir("run-report-json");
    let o: Value = serde_json::from_str(&run(
        &dir,
        &[
            "--card",
            "mc-cvn16",
            "--terminal",
            "atm",
            "--type",
            "cash",
            "--amount",
            "100",
            "--pin",
            "1234",
            "--json",
        ],
    ))
    .unwrap();
    let input = &o["input"];
    assert_eq!(input["card"], "mc-cvn16", "{o}");
    assert_eq!(input["terminal"], "atm");
    assert_eq!(input["type"], "cash");
    assert_eq!(input["amount"], "100.00");
    assert_eq!(input["cashback"], Value::Null);
    assert_eq!(input["currency"], 978);
    assert_eq!(input["host"], "embedded (in memory)");
    // the contract's fields are all still there, unchanged
    assert_eq!(o["outcome"], "online-approved");
    assert!(o["card"]["pin_try_counter"].is_number(), "{o}");
    assert!(
        input
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("pin")),
        "no PIN is echoed: {input}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
