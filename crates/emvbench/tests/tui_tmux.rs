//! Smoke test of `emvbench tui` as a person drives it: the real binary in tmux at 80×24,
//! keys sent with `tmux send-keys`, the screen read with `tmux capture-pane -p`. It plays
//! the offline-PIN-blocked-then-ATM-unblock flow (three wrong PINs at an offline-only POS,
//! then cash at an ATM with the right online PIN), resizes to 200×50 and quits.
//!
//! Needs Debian's `tmux`; without it the test says so and passes, unless
//! `EMVBENCH_REQUIRE_TMUX=1` (CI sets it) makes a missing tmux a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success(), "send-keys {keys:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {text:?}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", &self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // our own server on our own socket: ends only what this test started
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn wrong_pin_three_times_then_atm_unblock_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("EMVBENCH_REQUIRE_TMUX").as_deref() == Ok("1") {
            panic!("tmux is missing and EMVBENCH_REQUIRE_TMUX=1: apt-get install tmux");
        }
        eprintln!("SKIPPED tui_tmux: tmux is not installed (apt-get install tmux)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("emvbench-tui-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join("session.jsonl");
    let t = Tmux {
        socket: format!("emvbench-smoke-{}", std::process::id()),
        session: "tui".into(),
    };
    let command = format!(
        "cd '{}' && NO_COLOR=1 '{}' tui --terminal pos-offline-only --seed 1 --date 2026-11-21 \
         --record '{}'; sleep 30",
        root.display(),
        env!("CARGO_BIN_EXE_emvbench"),
        record.display()
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        &t.session,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // the keys are on screen
    let s = t.wait_for("r run");
    assert!(s.contains("? help") && s.contains("t terminal"), "{s}");
    t.wait_for("PIN ███ 3/3");
    t.keys(&["w"]);
    t.wait_for("● REC emvbench");

    // three wrong offline PINs at an offline-only POS: blocked, declined
    t.keys(&["r"]);
    t.wait_for("ENTER PIN");
    t.keys(&["0", "0", "0", "0"]);
    let s = t.wait_for("● ● ● ●");
    assert!(!s.contains("0000"), "the PIN is never shown: {s}");
    t.keys(&["Enter"]);
    t.wait_for("INCORRECT PIN");
    t.keys(&["1", "1", "1", "1", "Enter"]);
    t.wait_for("LAST PIN TRY");
    t.keys(&["2", "2", "2", "2", "Enter"]);
    let s = t.wait_for("Result DECLINED");
    assert!(s.contains("PIN ░░░ 0/3 BLOCKED"), "{s}");
    assert!(
        s.contains("00 00 20 00 00"),
        "TVR: PIN Try Limit exceeded: {s}"
    );

    // the ATM: terminal picker, cash, online PIN
    t.keys(&["t"]);
    t.wait_for("Terminal profile");
    for _ in 0..10 {
        t.keys(&["Up"]);
    }
    for _ in 0..10 {
        if t.screen().contains("▸ atm") {
            break;
        }
        t.keys(&["Down"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    t.wait_for("▸ atm");
    t.keys(&["Enter"]);
    t.wait_for("terminal atm");
    t.keys(&["y"]);
    t.wait_for("type cash");
    t.keys(&["r"]);
    t.wait_for("online PIN (checked by the issuer)");
    t.keys(&["1", "2", "3", "4", "Enter"]);
    let s = t.wait_for("Result ONLINE-APPROVED");
    assert!(
        s.contains("PIN ███ 3/3"),
        "the script unblocked the chip: {s}"
    );
    assert!(s.contains("script results 2000000001"), "{s}");
    assert!(s.contains("last RC 00 Approved"), "{s}");
    assert!(s.contains("scripts 0"), "{s}");
    assert!(s.contains("+ byte 3 bit 3"), "changed bits are marked: {s}");

    // a big window shows all of it
    t.cmd(&["resize-window", "-t", &t.session, "-x", "200", "-y", "50"]);
    let s = t.wait_for("Script res.");
    assert!(s.contains("PIN CHANGE/UNBLOCK"), "{s}");

    // quit: the program ends (the pane's shell then sleeps) and the terminal is restored
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.screen().contains("emvbench ·") {
        assert!(Instant::now() < deadline, "the TUI did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(t.alive());

    // the recording: both transactions, the PINs masked
    let log = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let txns: Vec<_> = lines
        .iter()
        .filter(|v| v["event"] == "transaction")
        .collect();
    assert_eq!(txns.len(), 2, "{log}");
    assert_eq!(txns[0]["outcome"]["outcome"], "declined");
    assert_eq!(txns[1]["outcome"]["outcome"], "online-approved");
    assert_eq!(txns[1]["outcome"]["card"]["pin_try_counter"], 3);
    assert!(log.contains("0020008008****"), "VERIFY data masked");
    let _ = std::fs::remove_dir_all(&dir);
}
