//! Helpers shared by the CLI tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
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
    let cwd = data.parent().filter(|p| p.is_dir());
    serve_store(cwd, &["--data".as_ref(), data.as_os_str()], log, extra)
}

/// A `host serve` process, killed and reaped when dropped: also when its test panics, so a
/// failed test leaves no host running.
pub struct Node(pub Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Node {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts `host serve` on the PostgreSQL database `url` (docs/postgres.md), as
/// [`serve_listeners`] does on a data directory.
pub fn serve_db(url: &str, log: &Path, extra: &[&str]) -> (Node, Vec<String>) {
    let (child, urls) = serve_store(None, &["--db".as_ref(), url.as_ref()], log, extra);
    (Node(child), urls)
}

fn serve_store(
    cwd: Option<&Path>,
    store: &[&std::ffi::OsStr],
    log: &Path,
    extra: &[&str],
) -> (Child, Vec<String>) {
    let mut command = emvbench();
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let mut child = command
        .args(["host", "serve", "--listen", "127.0.0.1:0"])
        .args(store)
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

/// A fresh empty directory under the system's temp directory.
pub fn empty_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("emvbench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The built binary, copied into `dir` (as `cargo install` or a container image would
/// place it).
pub fn installed(dir: &Path) -> PathBuf {
    let to = dir.join("emvbench");
    std::fs::copy(env!("CARGO_BIN_EXE_emvbench"), &to).unwrap();
    to
}

/// Runs an installed binary from `cwd` with HOME in `home` and none of emvbench's
/// environment variables: its exit code (-1 when killed), stdout and stderr.
pub fn run_installed(bin: &Path, cwd: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    run_installed_with_stdin(bin, cwd, home, args, None)
}

/// [`run_installed`], writing `stdin` to the binary's standard input when given.
pub fn run_installed_with_stdin(
    bin: &Path,
    cwd: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, String, String) {
    let spawn = || {
        Command::new(bin)
            .args(args)
            .current_dir(cwd)
            .env("HOME", home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("EMVBENCH_CARD_PROFILES")
            .env_remove("EMVBENCH_TERMINAL_PROFILES")
            .env_remove("EMVBENCH_HOST_KEYS")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    // a binary copied a moment ago can be "busy" (ETXTBSY) while another test thread's
    // fork still holds the copy's write descriptor: wait for that fork's exec
    let mut tries = 0;
    let mut child = loop {
        match spawn() {
            Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => break r.unwrap(),
        }
    };
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The binary installed alone in an empty directory, run from there with HOME in another
/// empty one (no repository around); both are removed when it is dropped.
pub struct Installed {
    /// The copied binary.
    pub bin: PathBuf,
    /// Its directory, the working directory of every run.
    pub dir: PathBuf,
    /// HOME of every run.
    pub home: PathBuf,
}

impl Installed {
    /// A fresh installation named after `name` (unique per test).
    pub fn new(name: &str) -> Self {
        let dir = empty_dir(name);
        let home = empty_dir(&format!("{name}-home"));
        let bin = installed(&dir);
        Self { bin, dir, home }
    }

    /// Runs it with `args`: exit code, stdout, stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_installed(&self.bin, &self.dir, &self.home, args)
    }

    /// Runs it with `args` and `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        run_installed_with_stdin(&self.bin, &self.dir, &self.home, args, Some(stdin))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Runs the built binary with `args` as a user would run it installed: from an empty
/// temporary directory (no repository around, no card-profiles/ to find), with HOME in
/// another one. Its exit code (-1 when killed), stdout and stderr.
pub fn run_outside(name: &str, args: &[&str]) -> (i32, String, String) {
    let cwd = empty_dir(name);
    let r = run_in(&cwd, args);
    let _ = std::fs::remove_dir_all(&cwd);
    r
}

/// Runs the built binary with `args` in `cwd` (relative paths in `args` are inside it),
/// with HOME in `cwd/home` and none of emvbench's environment variables.
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_emvbench"));
    run_installed(bin, cwd, &cwd.join("home"), args)
}
