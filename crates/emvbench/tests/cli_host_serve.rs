//! What `emvbench host serve` tells the user when it starts: how many cards it provisioned
//! from the card profiles, and the TEST-keys note once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// Starts `host serve --provision-profiles` in `dir` until it listens; its stdout lines
/// up to the address, and its stderr.
fn start(dir: &std::path::Path) -> (Vec<String>, String) {
    let err = dir.join("stderr.log");
    let mut child = common::emvbench()
        .args([
            "host",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            "data",
            "--provision-profiles",
        ])
        .current_dir(dir)
        .env_remove("EMVBENCH_HOST_KEYS")
        .env_remove("EMVBENCH_CARD_PROFILES")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("http://")) {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "{lines:?}");
        lines.push(line.trim_end().to_owned());
    }
    let _ = child.kill();
    let _ = child.wait();
    (lines, std::fs::read_to_string(&err).unwrap())
}

#[test]
fn serve_says_how_many_cards_it_provisioned_and_warns_about_test_keys_once() {
    let dir = common::empty_dir("serve-says");
    let profiles = emv_card::profile::builtin_names().count();
    let (out, err) = start(&dir);
    assert_eq!(
        out[0],
        format!(
            "provisioned the cards of {profiles} card profile(s): {profiles} new, 0 already in \
             the store (kept with their PIN and counters)"
        ),
        "{out:?}"
    );
    assert_eq!(
        err.matches("using the built-in TEST keys").count(),
        1,
        "{err}"
    );
    // started again on the same store: nothing new
    let (out, err) = start(&dir);
    assert!(
        out[0].contains(&format!("0 new, {profiles} already in the store")),
        "{out:?}"
    );
    assert_eq!(
        err.matches("using the built-in TEST keys").count(),
        1,
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
