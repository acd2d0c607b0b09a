//! The CVM cases of `tests/cvm-cases.toml` (written from EMV 4.4 Book 3 §10.5 and Book 4
//! §6.3.4, kept apart from the code) run through `emvbench run --json` with `--card-tag` and
//! `--terminal-tag` overrides, as a user would: CVM Results, TVR, TSI and the other expected
//! fields must match the outcome object for every case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::process::Command;

use toml::Value;

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        Some(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_cvm_case_holds_through_emvbench_run_json() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/cvm-cases.toml");
    let doc: Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["case"].as_array().unwrap();
    assert!(cases.len() >= 40, "{}", cases.len());
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_emvbench"));
        cmd.args([
            "run",
            "--json",
            "--seed",
            "1",
            "--date",
            "2026-01-15",
            "--no-apdus",
        ]);
        cmd.args(["--card", c["card"].as_str().unwrap()]);
        cmd.args(["--terminal", c["terminal"].as_str().unwrap()]);
        cmd.args(["--amount", c["amount"].as_str().unwrap()]);
        if let Some(t) = c.get("type") {
            cmd.args(["--type", t.as_str().unwrap()]);
        }
        for t in strings(c.get("card_tags")) {
            cmd.arg("--card-tag").arg(t);
        }
        for t in strings(c.get("terminal_tags")) {
            cmd.arg("--terminal-tag").arg(t);
        }
        for p in strings(c.get("pins")) {
            cmd.arg("--pin").arg(p);
        }
        if c.get("host").and_then(Value::as_str) == Some("unreachable") {
            cmd.args(["--host", "none"]);
        }
        let out = cmd.output().unwrap();
        if !out.status.success() {
            failures.push(format!("{name}: {}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for (field, want) in c["expect"].as_table().unwrap() {
            let got = match field.as_str() {
                "pin_try_counter" => o["card"]["pin_try_counter"].clone(),
                f => o[f].clone(),
            };
            let same = match (want, &got) {
                (Value::String(w), serde_json::Value::String(g)) => w.eq_ignore_ascii_case(g),
                (Value::Integer(w), serde_json::Value::Number(g)) => g.as_i64() == Some(*w),
                (Value::Boolean(w), serde_json::Value::Bool(g)) => w == g,
                _ => false,
            };
            if !same {
                failures.push(format!("{name}: {field} expected {want}, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
