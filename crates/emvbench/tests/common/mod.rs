//! Helpers shared by the CLI tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub fn emvbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_emvbench"))
}

/// Runs the binary with `args`: its exit code (-1 when killed), stdout and stderr.
pub fn run_binary(args: &[&str]) -> (i32, String, String) {
    let out = emvbench().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `host serve` on a free port with its store in `data`; returns the child and its
/// URL. Its stderr (the log) goes to `log`.
pub fn serve(data: &Path, log: &Path) -> (Child, String) {
    serve_with(data, log, &[])
}

/// [`serve`] with extra `host serve` arguments.
pub fn serve_with(data: &Path, log: &Path, extra: &[&str]) -> (Child, String) {
    let (child, urls) = serve_listeners(data, log, extra);
    let http = urls
        .into_iter()
        .find(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("no http:// address"));
    (child, http)
}

/// Starts `host serve` with `extra` arguments and returns the child and every address it
/// prints (`iso8583://...` lines first when asked for, then `http://...`). The host runs
/// in `data`'s parent directory, away from the repository, as an installed binary would.
pub fn serve_listeners(data: &Path, log: &Path, extra: &[&str]) -> (Child, Vec<String>) {
    let mut command = emvbench();
    if let Some(parent) = data.parent().filter(|p| p.is_dir()) {
        command.current_dir(parent);
    }
    let mut child = command
        .args(["host", "serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut urls = Vec::new();
    // the HTTP address is printed last
    while !urls.iter().any(|u: &String| u.starts_with("http://")) {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("host serve printed no http:// address: {urls:?}");
        }
        urls.extend(
            line.split_whitespace()
                .filter(|w| w.starts_with("http://") || w.starts_with("iso8583://"))
                .map(str::to_string),
        );
    }
    (child, urls)
}

/// A fresh empty directory under the system's temp directory, named after `name` and this
/// process.
pub fn empty_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("emvbench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary with `args` as a user would run it installed: from an empty temporary
/// directory (no repository around, no card-profiles/ to find), with HOME in another one.
/// Its exit code (-1 when killed), stdout and stderr.
pub fn run_outside(name: &str, args: &[&str]) -> (i32, String, String) {
    let cwd = empty_dir(name);
    let r = run_in(&cwd, args);
    let _ = std::fs::remove_dir_all(&cwd);
    r
}

/// Runs the binary with `args` in `cwd` (relative paths in `args` are inside it), with
/// HOME in `cwd/home`, no XDG data directory and no profile or key environment.
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = emvbench()
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd.join("home"))
        .env_remove("XDG_DATA_HOME")
        .env_remove("EMVBENCH_CARD_PROFILES")
        .env_remove("EMVBENCH_TERMINAL_PROFILES")
        .env_remove("EMVBENCH_HOST_KEYS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
