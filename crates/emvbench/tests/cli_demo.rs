//! `emvbench demo` tells the seed flows end to end and every expectation holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

mod common;

#[test]
fn the_demo_plays_every_flow_and_tells_the_story() {
    let (code, text, err) = common::run_outside("demo", &["demo"]);
    assert_eq!(code, 0, "{text}\n{err}");
    assert_eq!(text.matches("━━ Flow").count(), 7, "{text}");
    assert_eq!(
        text.matches("✓ every expectation of this flow held")
            .count(),
        7,
        "{text}"
    );
    for needle in [
        "chip PIN try counter 3 → 2",
        "chip PIN try counter 0 → 3",
        "host online PIN tries 1 → 0",
        "scripts pending 0 → 1",
        "issuer answered 75",
        "script results 2000000001",
        "card removed",
        "host recommends: Make an ATM transaction",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    // the PINs typed by the cardholder never appear in the transcript
    assert!(!text.contains("9999"));
    // the temporary host database is gone at the end
    let dir = text
        .split_whitespace()
        .find(|w| w.contains("emvbench-demo-"))
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    assert!(!std::path::Path::new(dir).exists(), "{dir} left behind");
}

/// Each transaction step names its terminal, type and amount; every PIN tried shows the
/// card's answer; a wrong PIN that ends in a signature says why (the CV Rule's b7); no line
/// is wider than 100 columns.
#[test]
fn the_demo_shows_every_pin_try_and_why_the_terminal_fell_back() {
    let (code, text, err) = common::run_outside("demo-pins", &["demo"]);
    assert_eq!(code, 0, "{text}\n{err}");
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 100).collect();
    assert!(wide.is_empty(), "lines over 100 columns: {wide:#?}");
    // flow 1, step 1: the first wrong PIN at the shop
    let step = text
        .split("\n\n")
        .find(|s| s.contains("1. Transaction at pos-offline-only: purchase"))
        .unwrap_or_else(|| panic!("{text}"));
    for needle in [
        "(currency 0978), 1 PIN entry",
        "rule 4103 Plaintext PIN verification performed by ICC: FAILED",
        "wrong PIN (63C2): 2 tries left",
        "→ signature: rule 4103 failed and its b7 says \"if unsuccessful, apply succeeding CV Rule\"",
        "(EMV 4.4 Book 3 §10.5)",
    ] {
        assert!(step.contains(needle), "{needle:?} not in:\n{step}");
    }
    // every transaction step says where, what and how much
    let headlines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(". Transaction"))
        .collect();
    assert!(headlines.len() >= 30, "{headlines:#?}");
    for h in &headlines {
        assert!(
            h.contains(". Transaction at ") && h.contains("(currency "),
            "{h}"
        );
        let words: Vec<&str> = h.split_whitespace().collect();
        assert!(
            words
                .iter()
                .any(|w| ["purchase", "cash", "cashback", "refund"].contains(w)),
            "{h}"
        );
        assert!(
            words
                .iter()
                .any(|w| w.contains('.') && w.chars().filter(|c| c.is_ascii_digit()).count() >= 3),
            "{h}"
        );
    }
    // three wrong PINs in one transaction: three answers of the card
    for sw in ["63C2", "63C1", "63C0"] {
        assert!(text.contains(sw), "{sw}");
    }
    // a declined signature fallback has no receipt to sign
    assert!(text.contains("declined, so there is no receipt to sign"));
    // the unblock answer warns about merchant declines only where the chip's PIN was
    // blocked (flow 3), not where only the host's was (flow 2)
    assert_eq!(text.matches("may still be declined").count(), 1, "{text}");
}

#[test]
fn the_demo_json_holds_every_outcome() {
    let out = Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .args(["demo", "--json", "--flow", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flows = v.as_array().unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0]["passed"], true);
    let codes: Vec<&str> = flows[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["result"]["host_response_code"].as_str())
        .collect();
    assert!(
        codes.contains(&"75") && codes.contains(&"55") && codes.contains(&"00"),
        "{codes:?}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .args(["demo", "--flow", "9"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
