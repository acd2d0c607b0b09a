//! The seed scenarios against a running `emvbench host serve`, as a user runs them with
//! `emvbench scenario run --host URL`: the card is provisioned afresh on the shared host,
//! the terminal goes online over the network, View PIN and Set PIN take the device's HTTP
//! steps (token, page, reveal or set), and every expectation that holds on the embedded
//! host holds there too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use emv_host::testkit::TempDir;

mod common;
use common::{emvbench, serve};

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

#[test]
fn every_seed_scenario_passes_over_http() {
    let dir = TempDir::new("scenarios-http");
    let (mut child, url) = serve(&dir.path().join("data"), &dir.path().join("host.log"));
    let files = scenario_files();
    let out = emvbench()
        .args(["scenario", "run", "--host", &url])
        .args(&files)
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = files.len();
    assert!(
        stdout.contains(&format!("{n} scenario(s): {n} passed, 0 failed")),
        "{stdout}"
    );
    // the reversal of scenario 06 went over the network too
    let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap();
    assert!(log.contains("/v1/advice"), "{log}");
}
