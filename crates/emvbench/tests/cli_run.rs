//! `emvbench run` as a user runs it: the report, the JSON outcome, PIN entries, tag
//! overrides, a card that remembers (--state), the remote host, and bad arguments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::process::Output;

use emv_host::testkit::TempDir;
use serde_json::Value;

mod common;
use common::emvbench;

fn run(args: &[&str]) -> Output {
    emvbench()
        .arg("run")
        .args(["--seed", "7", "--date", "2026-11-22"])
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn s<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

#[test]
fn the_report_tells_the_story_stage_by_stage() {
    let out = run(&["--card", "visa-cvn18", "--amount", "25.00", "--pin", "1234"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "purchase 25.00",
        "Application selection",
        "Cardholder verification",
        "rule 1 4103",
        "VERIFY (plaintext PIN)",
        "Result: APPROVED",
        "TVR          0000000000",
        "CVM Results  410302",
        "CVM result: 02 Successful",
        "PIN try counter 3 of 3",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // the plaintext PIN block is masked in the APDU listing
    assert!(text.contains("00 20 00 80 08 ** **"), "{text}");
    assert!(!text.contains("24 12 34 FF"), "{text}");
}

#[test]
fn json_outcome_has_the_contract_fields() {
    let o = json(&["--card", "visa-cvn18", "--amount", "25.00", "--pin", "1234"]);
    assert_eq!(o["outcome"], "approved");
    assert_eq!(o["tvr"], "0000000000");
    assert_eq!(o["tsi"], "E800");
    assert_eq!(o["cvm_results"], "410302");
    assert_eq!(o["cvm_performed"], "offline-plaintext-pin");
    assert_eq!(o["cid_first"], "40");
    assert_eq!(o["host_response_code"], Value::Null);
    assert_eq!(s(&o, "card.pin_try_counter"), 3);
    assert_eq!(s(&o, "card.atc"), 1);
    assert_eq!(s(&o, "host.online_pin_tries_left"), 3);
    assert_eq!(s(&o, "host.pending_scripts"), 0);
    assert!(o["apdu_count"].as_u64().unwrap() >= 10);
}

#[test]
fn each_pin_is_one_entry_wrong_then_right() {
    let o = json(&[
        "--card",
        "visa-cvn18",
        "--amount",
        "25",
        "--pin",
        "0000",
        "--pin",
        "1234",
    ]);
    assert_eq!(o["cvm_results"], "410302");
    // a correct PIN resets the counter (docs/pin.md §2: only consecutive failures block)
    assert_eq!(s(&o, "card.pin_try_counter"), 3);
    let verifies = o["apdus"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "VERIFY (plaintext PIN)")
        .count();
    assert_eq!(verifies, 2);
}

#[test]
fn terminal_and_card_tags_change_the_cvm_chosen() {
    // 9F33 byte 2 without offline plaintext PIN (b8) and enciphered (b5): only online PIN,
    // signature and no CVM; the card's list offers offline PIN then online PIN (Book 3
    // §10.5: an unsupported CVM is skipped when the rule says "if terminal supports").
    let o = json(&[
        "--card",
        "visa-cvn18",
        "--amount",
        "25",
        "--pin",
        "1234",
        "--terminal-tag",
        "9F33=E060C8",
    ]);
    assert_eq!(o["cvm_results"], "420300", "{o}");
    assert_eq!(o["online_pin"], "verified");
    assert_eq!(o["outcome"], "online-approved");
    // a CVM list of "signature, always" only
    let o = json(&[
        "--card",
        "visa-cvn18",
        "--amount",
        "25",
        "--card-tag",
        "8E=00000000000000001E00",
    ]);
    assert_eq!(o["cvm_results"], "1E0000", "{o}");
    assert_eq!(o["signature_required"], true);
}

#[test]
fn without_state_every_run_starts_from_the_profile() {
    for _ in 0..2 {
        let o = json(&["--card", "visa-cvn18", "--amount", "25", "--pin", "9999"]);
        assert_eq!(s(&o, "card.pin_try_counter"), 2, "{o}");
        assert_eq!(s(&o, "card.atc"), 1);
    }
}

#[test]
fn with_state_the_card_and_the_host_remember_and_resync() {
    let dir = TempDir::new("run-state");
    let state = dir.path().join("card.json");
    let data = dir.path().join("host");
    let args = |pin: &'static str, terminal: &'static str| {
        vec![
            "--card".to_string(),
            "visa-cvn18".into(),
            "--state".into(),
            state.display().to_string(),
            "--data".into(),
            data.display().to_string(),
            "--terminal".into(),
            terminal.into(),
            "--amount".into(),
            "25".into(),
            "--pin".into(),
            pin.into(),
        ]
    };
    let run_json = |v: Vec<String>| json(&v.iter().map(String::as_str).collect::<Vec<_>>());
    for left in [2, 1, 0] {
        let o = run_json(args("9999", "pos-attended"));
        assert_eq!(s(&o, "card.pin_try_counter"), left, "{o}");
    }
    // offline PIN blocked: the ATM's online PIN is verified and the host's answer carries
    // the PIN UNBLOCK script (docs/pin.md §6.2)
    let mut atm = args("1234", "atm");
    atm.extend(["--type".into(), "cash".into()]);
    let o = run_json(atm);
    assert_eq!(o["outcome"], "online-approved", "{o}");
    assert_eq!(o["online_pin"], "verified");
    assert!(
        o["script_results"].as_str().unwrap().starts_with('2'),
        "{o}"
    );
    assert_eq!(s(&o, "card.pin_try_counter"), 3, "{o}");
    assert_eq!(s(&o, "host.pending_scripts"), 0);
    // and the offline PIN works again at the POS
    let o = run_json(args("1234", "pos-attended"));
    assert_eq!(o["cvm_results"], "410302", "{o}");
    assert_eq!(s(&o, "card.atc"), 5);
}

#[test]
fn a_remote_host_over_http_sees_the_same_card() {
    let dir = TempDir::new("run-remote");
    let (mut child, url) = common::serve(&dir.path().join("host"), &dir.path().join("log"));
    let state = dir.path().join("card.json");
    let state = state.to_str().unwrap();
    let base = [
        "--card",
        "mc-cvn16",
        "--state",
        state,
        "--host",
        &url,
        "--terminal",
        "atm",
        "--type",
        "cash",
        "--amount",
        "40",
    ];
    let with = |pin: &'static str| {
        let mut v = base.to_vec();
        v.extend(["--pin", pin]);
        json(&v)
    };
    let o = with("9999");
    assert_eq!(o["host_response_code"], "55", "{o}");
    assert_eq!(s(&o, "host.online_pin_tries_left"), 2);
    let o = with("1234");
    assert_eq!(o["outcome"], "online-approved", "{o}");
    assert_eq!(s(&o, "host.online_pin_tries_left"), 3);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bad_arguments_are_explained_with_exit_code_2() {
    for (args, needle) in [
        (
            vec!["--card", "no-such-card", "--amount", "1"],
            "unknown card profile",
        ),
        (vec!["--card", "visa-cvn18", "--amount", "1.234"], "decimal"),
        (
            vec!["--card", "visa-cvn18", "--amount", "ten"],
            "not an amount",
        ),
        (
            vec!["--card", "visa-cvn18", "--amount", "1", "--pin", "12"],
            "4–12 digits",
        ),
        (
            vec!["--card", "visa-cvn18", "--amount", "1", "--host", "ftp://x"],
            "expected embedded",
        ),
        (
            vec![
                "--card",
                "visa-cvn18",
                "--amount",
                "1",
                "--terminal",
                "nope",
            ],
            "nope",
        ),
        (
            vec![
                "--card",
                "visa-cvn18",
                "--amount",
                "1",
                "--terminal-tag",
                "9F33",
            ],
            "9F33",
        ),
        (
            vec![
                "--card",
                "visa-cvn18",
                "--amount",
                "1",
                "--card-tag",
                "8E=XYZ",
            ],
            "8E",
        ),
        (
            vec![
                "--card",
                "visa-cvn18",
                "--amount",
                "5",
                "--cashback",
                "6",
                "--type",
                "cashback",
            ],
            "amount other",
        ),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Cashback (Amount, Other) belongs to a purchase with cashback and is part of the amount.
#[test]
fn cashback_goes_with_the_cashback_type_and_within_the_amount() {
    for (args, says) in [
        (
            &["--cashback", "5"][..],
            "--cashback goes with --type cashback",
        ),
        (
            &["--cashback", "11", "--type", "cashback"][..],
            "amount other",
        ),
    ] {
        let out = run(&[
            &["--card", "visa-cvn18", "--amount", "10", "--host", "none"][..],
            args,
        ]
        .concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}"
        );
    }
    let v = json(&[
        "--card",
        "visa-cvn18",
        "--amount",
        "10",
        "--cashback",
        "5",
        "--type",
        "cashback",
        "--host",
        "none",
    ]);
    assert!(v["outcome"].is_string(), "{v}");
}
