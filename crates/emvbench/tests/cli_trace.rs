//! Traces are honest: PIN data is redacted unless asked for, a trace cut short is refused
//! with its line, `--as-card` names the real line, `trace diff` never prints a PIN.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

mod common;
use common::run_binary as emvbench;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("emvbench-cli-trace-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Records one offline-PIN purchase with a wrong then the right PIN.
fn record(path: &Path, pins: &[&str], extra: &[&str]) -> String {
    let mut args = vec![
        "run",
        "--card",
        "visa-cvn18",
        "--terminal",
        "pos-offline-only",
        "--amount",
        "25",
        "--seed",
        "7",
        "--date",
        "2026-01-15",
        "--host",
        "none",
        "--record",
        path.to_str().unwrap(),
    ];
    for p in pins {
        args.extend(["--pin", p]);
    }
    args.extend(extra);
    let (code, out, err) = emvbench(&args);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn pins_are_redacted_by_default_and_replay_still_compares_every_answer() {
    let d = dir();
    let path = d.join("redacted.trace");
    let text = record(&path, &["9999", "1234"], &[]);
    assert!(
        !text.contains("249999") && !text.contains("241234"),
        "{text}"
    );
    assert_eq!(text.matches(">> 0020008008[PIN]").count(), 2, "{text}");
    assert!(!text.contains("WARNING"), "{text}");
    let (code, out, err) = emvbench(&["trace", "replay", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("identical"), "{out}");
    // the card's answers are still compared: a replay whose right PIN is wrong fails
    let (code, out, _) = emvbench(&["trace", "replay", "--pin", "4321", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL") && out.contains("63C"), "{out}");
    assert!(!out.contains("244321"), "{out}");
    let (code, out, err) = emvbench(&["trace", "replay", "--as-card", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    // --record-pins keeps them, and says so in the header
    let clear = d.join("clear.trace");
    let text = record(&clear, &["9999", "1234"], &["--record-pins"]);
    assert!(text.contains("0020008008249999FF") && text.contains("0020008008241234FF"));
    assert!(
        text.lines()
            .take(4)
            .any(|l| l.starts_with("# WARNING") && l.contains("PIN"))
    );
    let (code, out, err) = emvbench(&["trace", "replay", clear.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    // diff never prints a PIN: two clear traces whose PINs differ
    let other = d.join("other.trace");
    record(&other, &["9998", "1234"], &["--record-pins"]);
    let (code, out, _) = emvbench(&[
        "trace",
        "diff",
        clear.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VERIFY"), "{out}");
    for pin in ["9999", "9998", "1234"] {
        assert!(!out.contains(pin), "{pin} printed:\n{out}");
    }
    // a redacted trace and a clear one of the same run are the same exchanges
    let (code, out, _) = emvbench(&[
        "trace",
        "diff",
        path.to_str().unwrap(),
        clear.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_trace_cut_short_fails_with_the_line() {
    let d = dir();
    let path = d.join("full.trace");
    let text = record(&path, &["1234"], &[]);
    let lines: Vec<&str> = text.lines().collect();
    let end = lines.iter().position(|l| l.starts_with("@end")).unwrap();
    // cut at every line boundary from the first exchange's answer to just before @end
    let first = lines.iter().position(|l| l.starts_with("<<")).unwrap();
    for cut in first + 1..=end {
        let cut_path = d.join("cut.trace");
        std::fs::write(&cut_path, lines[..cut].join("\n") + "\n").unwrap();
        for extra in [&[][..], &["--as-card"][..]] {
            let mut args = vec!["trace", "replay"];
            args.extend(extra);
            args.push(cut_path.to_str().unwrap());
            let (code, out, err) = emvbench(&args);
            assert_eq!(code, 2, "cut at {cut} {extra:?}: {out}{err}");
            assert!(err.contains(&format!("line {cut}")), "cut at {cut}: {err}");
        }
    }
}

#[test]
fn as_card_names_the_real_line_and_never_decodes_a_command_as_a_status_word() {
    let d = dir();
    let path = d.join("full.trace");
    let text = record(&path, &["1234"], &[]);
    let lines: Vec<&str> = text.lines().collect();
    // drop the last exchange (GENERATE AC) of the transaction: the kernel sends it anyway
    let end = lines.iter().position(|l| l.starts_with("@end")).unwrap();
    let gen_ac = lines
        .iter()
        .rposition(|l| l.starts_with(">> 80AE"))
        .unwrap();
    let mut kept: Vec<&str> = lines.clone();
    kept.drain(gen_ac..gen_ac + 2);
    let short = d.join("short.trace");
    std::fs::write(&short, kept.join("\n") + "\n").unwrap();
    let (code, out, err) = emvbench(&["trace", "replay", "--as-card", short.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    // the @end line, now two lines earlier
    assert!(out.contains(&format!("line {}:", end + 1 - 2)), "{out}");
    assert!(!out.contains("line 0"), "{out}");
    assert!(out.contains("GENERATE AC"), "{out}");
    assert!(
        !out.contains("  actual:") && !out.contains("  expected:"),
        "{out}"
    );
}
