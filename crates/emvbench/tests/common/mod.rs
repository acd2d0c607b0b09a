//! Helpers shared by the CLI tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub fn emvbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_emvbench"))
}

/// Starts `host serve` on a free port with its store in `data`; returns the child and its
/// URL. Its stderr (the log) goes to `log`.
pub fn serve(data: &Path, log: &Path) -> (Child, String) {
    serve_with(data, log, &[])
}

/// [`serve`] with extra `host serve` arguments.
pub fn serve_with(data: &Path, log: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = emvbench()
        .args(["host", "serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, addr)
}
