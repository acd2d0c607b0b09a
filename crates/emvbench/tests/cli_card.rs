//! `emvbench card send` and `card profiles` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

fn emvbench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn send_keeps_state_across_runs_and_masks_the_pin() {
    let dir = std::env::temp_dir().join(format!("cli-card-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("card.json");
    let st = state.to_str().unwrap();
    let select = "00A4040007A000000003101000";
    let gpo = "80A8000002830000";
    let wrong = "0020008008249999FFFFFFFFFF";
    let (code, out, err) = emvbench(&[
        "card",
        "send",
        "--profile",
        "visa-cvn18",
        "--state",
        st,
        select,
        gpo,
        wrong,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("<< 63C2  Wrong PIN, 2 tries left"), "{out}");
    assert!(!out.contains("249999"), "the PIN block is masked: {out}");
    assert!(out.contains("PIN try counter 2/3"), "{out}");
    let (_, out, _) = emvbench(&[
        "card",
        "send",
        "--profile",
        "visa-cvn18",
        "--state",
        st,
        "--json",
        select,
        "80CA9F1700",
    ]);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["data"], "9F170102");
    assert_eq!(last["command"], "GET DATA");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let (code, _, err) = emvbench(&["card", "send", "--profile", "visa-cvn18", "00A4", "00ZZ"]);
    assert_eq!(code, 2);
    assert!(err.contains("APDU 2"), "{err}");
    let (code, _, err) = emvbench(&["card", "send", "--profile", "nope", "00A4040000"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown card profile") && err.contains("visa-cvn18"),
        "{err}"
    );
    let (code, _, err) = emvbench(&[
        "card",
        "send",
        "--profile",
        "visa-cvn18",
        "--card-tag",
        "8E",
        "00",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("TAG=HEX"), "{err}");
}

#[test]
fn profiles_are_listed() {
    let (code, out, _) = emvbench(&["card", "profiles"]);
    assert_eq!(code, 0);
    for p in [
        "visa-cvn10",
        "visa-cvn18",
        "visa-cvn22",
        "mc-cvn16",
        "mc-cvn20",
    ] {
        assert!(out.contains(p), "{out}");
    }
}
