//! Bad input gets a clear error: one `error:` line, and the exit code of the one rule (0
//! ok, 1 a failed check, 2 bad arguments or unusable files). Each test runs the installed
//! binary from an empty directory, as a user who copied or installed it would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Installed;

const SELECT_VISA: &str = "00A4040007A000000003101000";

/// The `error:` lines of stderr; exactly one is expected for one error.
fn one_error(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{err}");
    lines[0]
}

// ---- --card-tag: placed where the card serves it, or refused naming where tags go ----

#[test]
fn a_card_tag_the_card_cannot_place_is_refused_by_every_command() {
    let b = Installed::new("bad-card-tag");
    for tag in ["9F7F=AB", "DF45=01"] {
        let (code, out, err) = b.run(&[
            "run",
            "--card",
            "visa-cvn18",
            "--host",
            "none",
            "--amount",
            "10",
            "--card-tag",
            tag,
        ]);
        assert_eq!(code, 2, "{tag}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        let e = one_error(&err);
        let t = &tag[..4];
        assert!(e.contains(&format!("no data object {t}")), "{e}");
        for place in ["record", "GET DATA", "FCI"] {
            assert!(e.contains(place), "{place}: {e}");
        }
        let (code, _, err) = b.run(&[
            "card",
            "send",
            "--profile",
            "visa-cvn18",
            "--card-tag",
            tag,
            SELECT_VISA,
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(one_error(&err).contains(t), "{err}");
        // before any wait for vpcd (nothing listens on port 1)
        let (code, _, err) = b.run(&[
            "card",
            "serve",
            "--profile",
            "visa-cvn18",
            "--vpcd",
            "127.0.0.1:1",
            "--card-tag",
            tag,
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(one_error(&err).contains(t), "{err}");
    }
    // a scenario's card_tags: the file, the line and the field
    let file = b.dir.join("tags.toml");
    std::fs::write(
        &file,
        "name = \"tags\"\ncard = \"visa-cvn18\"\ncard_tags = [\"9F7F=AB\"]\n\
         [[step]]\ndo = \"check\"\n",
    )
    .unwrap();
    let (code, _, err) = b.run(&["scenario", "run", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(one_error(&err).contains("tags.toml:3: card_tags"), "{err}");
}

#[test]
fn tags_that_are_not_tags_are_refused_as_arguments() {
    let b = Installed::new("not-a-tag");
    for tag in ["00=01", "FF01=01", "9F=01", "84=A0000000031010"] {
        let (code, out, err) = b.run(&[
            "run",
            "--card",
            "visa-cvn18",
            "--host",
            "none",
            "--amount",
            "10",
            "--card-tag",
            tag,
        ]);
        assert_eq!(code, 2, "{tag}: {out}{err}");
        assert!(one_error(&err).contains(&tag[..2]), "{err}");
    }
}

#[test]
fn a_card_tag_goes_where_the_card_serves_it() {
    let b = Installed::new("placed-card-tag");
    // GET DATA: a counter the card keeps in its state, a limit the profile lacks
    let (code, out, err) = b.run(&[
        "card",
        "send",
        "--profile",
        "visa-cvn18",
        "--card-tag",
        "9F13=0005",
        "--card-tag",
        "9F53=42",
        SELECT_VISA,
        "80CA9F1300",
        "80CA9F5300",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("<< 9F13020005 9000"), "{out}");
    assert!(out.contains("<< 9F530142 9000"), "{out}");
    // a record of the profile and the FCI
    let (code, out, err) = b.run(&[
        "card",
        "send",
        "--profile",
        "visa-cvn18",
        "--card-tag",
        "9F07=FFC0",
        "--card-tag",
        "50=4D59204C4142454C",
        SELECT_VISA,
        "00B2011400",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("50084D59204C4142454C"), "{out}");
    assert!(out.contains("9F0702FFC0"), "{out}");
}

// ---- one exit-code rule ----

#[test]
fn help_states_the_exit_code_rule() {
    let b = Installed::new("help-exit-codes");
    let (code, out, _) = b.run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
    for rule in ["0 it did what was asked", "1 a check", "2 bad arguments"] {
        assert!(out.contains(rule), "{rule}: {out}");
    }
}

#[test]
fn a_data_path_that_is_a_file_is_bad_input_everywhere() {
    let b = Installed::new("data-file");
    let file = b.dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        &["host", "status", "--data", f, "4761739001010119"][..],
        &["host", "provision", "--data", f, "--profile", "visa-cvn18"],
        &["run", "--card", "visa-cvn18", "--amount", "10", "--data", f],
    ] {
        let (code, out, err) = b.run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        let e = one_error(&err);
        assert!(e.contains(&format!("--data {f}: not a directory")), "{e}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn an_unusable_state_file_is_bad_input_in_run_and_card_send_alike() {
    let b = Installed::new("bad-state");
    let dir = b.dir.join("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.to_str().unwrap();
    for args in [
        &[
            "card",
            "send",
            "--profile",
            "visa-cvn18",
            "--state",
            s,
            SELECT_VISA,
        ][..],
        &[
            "run",
            "--card",
            "visa-cvn18",
            "--host",
            "none",
            "--amount",
            "10",
            "--state",
            s,
        ],
    ] {
        let (code, out, err) = b.run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        let e = one_error(&err);
        // the state file is named once
        assert_eq!(e.matches(s).count(), 1, "{e}");
    }
}

#[test]
fn a_rejected_line_of_card_send_stdin_is_reported_once_and_exits_2() {
    let b = Installed::new("send-stdin");
    let input = format!("{SELECT_VISA}\nnot hex\n# a comment\n80CA9F1700\n");
    let (code, out, err) =
        b.run_with_stdin(&["card", "send", "--profile", "visa-cvn18", "-"], &input);
    assert_eq!(code, 2, "{out}{err}");
    // the other lines are answered
    assert!(out.contains("<< 9F170103 9000"), "{out}");
    let e = one_error(&err);
    assert!(e.starts_with("error: line 2:"), "{e}");
    // without a bad line: 0
    let (code, _, err) = b.run_with_stdin(
        &["card", "send", "--profile", "visa-cvn18", "-"],
        &format!("{SELECT_VISA}\n"),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_weak_pin_in_a_set_pin_step_fails_the_step_once_with_the_summary() {
    let b = Installed::new("weak-set-pin");
    let file = b.dir.join("weak.toml");
    std::fs::write(
        &file,
        "name = \"weak PIN\"\ncard = \"visa-cvn18\"\n[[step]]\ndo = \"host\"\n\
         call = \"set-pin\"\nnew_pin = \"1111\"\n[[step]]\ndo = \"check\"\n",
    )
    .unwrap();
    let (code, out, err) = b.run(&["scenario", "run", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains("error:"), "{err}");
    assert!(out.contains("FAIL weak PIN"), "{out}");
    assert!(
        out.contains("FAIL step 1 host: the host refused the call"),
        "{out}"
    );
    assert_eq!(out.matches("PIN refused").count(), 1, "{out}");
    assert!(
        out.contains("result.error expected null, got \"weak-pin\""),
        "{out}"
    );
    assert!(out.contains("ok   step 2 check"), "{out}");
    assert!(out.contains("1 scenario(s): 0 passed, 1 failed"), "{out}");
}

#[test]
fn a_read_only_host_command_never_creates_a_store() {
    let b = Installed::new("status-typo");
    let typo = b.dir.join("isuer");
    let (code, out, err) = b.run(&[
        "host",
        "status",
        "--data",
        typo.to_str().unwrap(),
        "4761739001010119",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    let e = one_error(&err);
    assert!(
        e.contains(&format!(
            "no host data at {} (run `emvbench host provision` or `host serve` first)",
            typo.display()
        )),
        "{e}"
    );
    assert!(!typo.exists(), "a store was created");
    // once provisioned, status reads it
    let d = b.dir.join("issuer");
    let d = d.to_str().unwrap();
    let (code, _, err) = b.run(&["host", "provision", "--data", d, "--profile", "visa-cvn18"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = b.run(&["host", "status", "--data", d, "4761739001010119"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("online_pin_tries_left"), "{out}");
}

// ---- a PIN terminal without --pin ----

#[test]
fn without_pin_the_report_says_the_cardholder_was_not_asked() {
    let b = Installed::new("no-pin");
    let args = [
        "run",
        "--card",
        "visa-cvn18",
        "--amount",
        "10",
        "--seed",
        "1",
        "--date",
        "2026-01-15",
        "--no-apdus",
    ];
    let (code, out, err) = b.run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("the cardholder was not asked for a PIN: no --pin was given"),
        "{out}"
    );
    assert!(
        out.contains("no --pin was given, so the cardholder was not asked"),
        "{out}"
    );
    assert!(!out.contains("cancelled"), "{out}");
    // the outcome object says it too, with the EMV bits of PIN not entered (TVR byte 3 b4)
    let (code, out, err) = b.run(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tvr"], "0000080000", "{out}");
    let says = |field: &str, key: &str, text: &str| {
        v[field]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d[key].as_str().is_some_and(|t| t.contains(text)))
    };
    assert!(
        says(
            "cvm_trace",
            "reason",
            "the cardholder was not asked for a PIN: no --pin was given"
        ),
        "{out}"
    );
    assert!(
        says(
            "decisions",
            "text",
            "the cardholder was not asked for a PIN (no --pin was given)"
        ),
        "{out}"
    );
    // with a PIN, no such note
    let (code, out, err) = b.run(&[&args[..], &["--pin", "1234"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("not asked"), "{out}");
}

/// `bench --pcsc` in a build without PC/SC says how to get one, at once (not after the
/// minute the rest of the bench takes), with exit code 2.
#[cfg(not(feature = "pcsc"))]
#[test]
fn bench_pcsc_without_the_pcsc_feature_is_exit_2_at_once() {
    let start = std::time::Instant::now();
    let (code, _, err) = common::run_binary(&["bench", "--quick", "--pcsc"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--features emvbench/pcsc"), "{err}");
    // a --quick bench in a debug build takes minutes: 20 s means nothing was measured
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "it measured first"
    );
}
