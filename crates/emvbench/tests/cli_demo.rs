//! `emvbench demo` tells the seed flows end to end and every expectation holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

#[test]
fn the_demo_plays_every_flow_and_tells_the_story() {
    let out = Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .arg("demo")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
