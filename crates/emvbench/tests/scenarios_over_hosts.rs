//! The seed scenarios against a running `emvbench host serve`, as a user runs them with
//! `emvbench scenario run --host URL`: the card is provisioned afresh on the shared host,
//! the terminal goes online over HTTP or over ISO 8583 (MACed, the acquirer translating
//! the ATM's AES PIN block to the link's zone PIN key), View PIN and Set PIN take the
//! device's HTTP steps (token, page, reveal or set), and every expectation that holds on
//! the embedded host holds there too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use emv_host::testkit::TempDir;

mod common;
use common::{emvbench, serve, serve_listeners};

fn scenario_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

/// Runs every seed scenario with `host_args` against the running `child`, stops it, checks
/// that all passed and that scenario 06's reversal was matched by the host; returns the
/// host's log.
fn all_pass(what: &str, child: &mut std::process::Child, host_args: &[&str], log: &Path) -> String {
    let files = scenario_files();
    let out = emvbench()
        .args(["scenario", "run"])
        .args(host_args)
        .args(&files)
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = files.len();
    assert!(
        stdout.contains(&format!("{n} scenario(s): {n} passed, 0 failed")),
        "{what}: {stdout}"
    );
    // scenario 06's ATM reversed its approval (0400) and the host matched it
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("reason=Reversal code=\"00\"") && log.contains("reversed=true"),
        "{what}: {log}"
    );
    log
}

#[test]
fn every_seed_scenario_passes_over_http() {
    let dir = TempDir::new("scenarios-http");
    let log = dir.path().join("host.log");
    let (mut child, url) = serve(&dir.path().join("data"), &log);
    let log = all_pass("HTTP", &mut child, &["--host", &url], &log);
    // the reversal went over the network too
    assert!(log.contains("/v1/advice"), "{log}");
}

#[test]
fn every_seed_scenario_passes_over_iso8583() {
    let dir = TempDir::new("scenarios-iso8583");
    for (format, header) in [("ascii", "2b"), ("binary", "4a")] {
        let log = dir.path().join(format!("host-{format}.log"));
        let (mut child, urls) = serve_listeners(
            &dir.path().join(format!("data-{format}")),
            &log,
            &[
                "--iso8583",
                "127.0.0.1:0",
                "--iso8583-format",
                format,
                "--iso8583-header",
                header,
            ],
        );
        let http = urls.iter().find(|u| u.starts_with("http://")).unwrap();
        let iso = urls.iter().find(|u| u.starts_with("iso8583://")).unwrap();
        let host = format!("{iso}?format={format}&header={header}");
        let log = all_pass(
            format,
            &mut child,
            &["--host", &host, "--host-api", http],
            &log,
        );
        // the authorisations went over ISO 8583, not over the HTTP API
        assert!(!log.contains("/v1/authorise"), "{format}: {log}");
    }
}
