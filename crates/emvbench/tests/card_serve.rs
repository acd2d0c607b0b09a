//! `emvbench card serve` and `emvbench readers` as a user runs them: the software card in
//! vpcd's virtual reader, reached by third-party PC/SC programs (pcsc_scan, opensc-tool,
//! python-emv's emvtool). Needs pcscd with vsmartcard-vpcd running and those tools
//! installed (`emvtool` on PATH or in $EMVTOOL); without them the test says so on stderr
//! and passes, unless `EMVBENCH_REQUIRE_PCSC=1` (CI), which makes it fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::Write as _;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_emvbench");
const OUR_ATR: &str = "3B 68 00 00 65 6D 76 62 65 6E 63 68";

fn required() -> bool {
    std::env::var("EMVBENCH_REQUIRE_PCSC").is_ok_and(|v| v == "1")
}

fn skip(test: &str, why: &str) {
    if required() {
        panic!("{test}: EMVBENCH_REQUIRE_PCSC=1 but {why}");
    }
    // straight to stderr: the test harness captures eprintln! of passing tests
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: {why}\n*** (set EMVBENCH_REQUIRE_PCSC=1 to make this a failure)\n"
    );
}

/// Runs a command with a deadline (a PC/SC client can hang on a stuck reader,
/// docs/virtual-reader.md §9 pitfall 11), capturing its output.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish in {limit:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The index of vpcd's slot-0 reader in the PC/SC list, from `opensc-tool -l`.
fn vpcd_reader_index() -> Result<usize, String> {
    let o = run(
        Command::new("opensc-tool").arg("-l"),
        Duration::from_secs(10),
    );
    let t = text(&o);
    t.lines()
        .find(|l| l.trim_end().ends_with("Virtual PCD 00 00"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| {
            format!("no \"Virtual PCD 00 00\" reader (pcscd running with vsmartcard-vpcd?):\n{t}")
        })
}

/// The served card: a child process stopped with a signal.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, state: &Path) -> Self {
        let log = dir.join("serve.log");
        let child = Command::new(BIN)
            .args(["card", "serve", "--profile", "visa-cvn18", "-v", "--state"])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Serve { child, log }
    }

    fn stop(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "card serve ignored {signal}");
            std::thread::sleep(Duration::from_millis(10));
        };
        (status, std::fs::read_to_string(&self.log).unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn third_party_pcsc_clients_use_the_served_card() {
    const T: &str = "third_party_pcsc_clients_use_the_served_card";
    if !Path::new("/run/pcscd/pcscd.comm").exists() {
        return skip(T, "pcscd is not running (no /run/pcscd/pcscd.comm)");
    }
    for tool in ["pcsc_scan", "opensc-tool"] {
        if on_path(tool).is_none() {
            return skip(T, &format!("{tool} is not installed (pcsc-tools, opensc)"));
        }
    }
    let emvtool = std::env::var_os("EMVTOOL")
        .map(PathBuf::from)
        .or_else(|| on_path("emvtool"));
    let Some(emvtool) = emvtool else {
        return skip(
            T,
            "python-emv's emvtool is not installed (pip install emv; or set EMVTOOL)",
        );
    };
    let reader = match vpcd_reader_index() {
        Ok(i) => i.to_string(),
        Err(why) => return skip(T, &why),
    };

    let dir = std::env::temp_dir().join(format!("emvbench-card-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("card.json");
    let serve = Serve::start(&dir, &state);

    // pcsc_scan sees the card (pcscd notices it on its 400 ms poll, docs/virtual-reader.md §7)
    let deadline = Instant::now() + Duration::from_secs(5);
    let scan = loop {
        let o = run(
            Command::new("pcsc_scan").args(["-c", "-n"]),
            Duration::from_secs(10),
        );
        let t = text(&o);
        if t.contains(OUR_ATR) || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        scan.contains("Virtual PCD 00 00") && scan.contains(OUR_ATR),
        "pcsc_scan:\n{scan}"
    );

    // opensc-tool sends an APDU: SELECT the Visa AID
    let o = run(
        Command::new("opensc-tool").args(["-r", &reader, "-s", "00A4040007A000000003101000"]),
        Duration::from_secs(10),
    );
    let t = text(&o);
    assert!(
        o.status.success()
            && t.contains("SW1=0x90, SW2=0x00")
            && t.contains("84 07 A0 00 00 00 03 10 10"),
        "opensc-tool:\n{t}"
    );

    // the card's ATR offers T=0 only (EMV 4.4 Book 1 §8.3): opensc-tool's session leaves
    // no T=1 behind, so emvtool (which insists on T=0) runs at once, with no "protocol
    // mismatch" window to wait out (docs/virtual-reader.md §5)

    // python-emv: info, cap with the right PIN, cap with a wrong one
    // (docs/virtual-reader.md §10.4)
    let emv = |args: &[&str]| {
        run(
            Command::new(&emvtool).arg("-r").arg(&reader).args(args),
            Duration::from_secs(30),
        )
    };
    let o = emv(&["info"]);
    let t = text(&o);
    assert!(
        o.status.success() && t.contains("pin_retries") && t.contains("VISA"),
        "emvtool info:\n{t}"
    );
    let o = emv(&["-p", "1234", "cap"]);
    let t = text(&o);
    let code = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(
        o.status.success() && !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()),
        "emvtool cap:\n{t}"
    );
    let o = emv(&["-p", "9999", "cap"]);
    let t = text(&o);
    assert!(
        o.status.code() == Some(1) && t.contains("Invalid PIN"),
        "emvtool cap with a wrong PIN:\n{t}"
    );

    #[cfg(feature = "pcsc")]
    {
        let o = run(
            Command::new(BIN).args(["readers", "--json"]),
            Duration::from_secs(10),
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = v["readers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "Virtual PCD 00 00")
            .unwrap();
        assert_eq!(r["card_present"], true);
        assert_eq!(r["atr"], OUR_ATR.replace(' ', ""));
        // an EMV basic ATR: T=0 only (a T=1 ATR is a profile option)
        assert_eq!(r["protocols"], serde_json::json!(["T=0"]));
        assert_eq!(r["historical_text"], "emvbench");

        // our own kernel through the reader: `emvbench run --reader`. The cardholder
        // bypasses PIN entry, so the chip keeps the count of the wrong PIN above (GET DATA
        // 9F17 answers 2 tries left) and the state checks below still hold.
        let o = run(
            Command::new(BIN).args([
                "run",
                "--reader",
                &reader,
                "--amount",
                "25.00",
                "--pin-bypass",
                "--json",
            ]),
            Duration::from_secs(30),
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("run --reader: {e}\n{}", text(&o)));
        assert_eq!(v["cvm_performed"], "signature", "{v}");
        assert!(
            v["apdus"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["response"] == "9F1701029000"),
            "{v}"
        );
        assert_eq!(
            v["card"],
            serde_json::Value::Null,
            "a reader's card state is not known"
        );
    }

    // Ctrl-C: the card leaves, the state is saved, exit 0
    let (status, log) = serve.stop("-INT");
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("waiting for vpcd") || log.contains("connected to vpcd"),
        "{log}"
    );
    assert!(
        log.contains("VERIFY") && log.contains("SW 63C2"),
        "APDUs logged:\n{log}"
    );
    assert!(!log.contains("249999"), "no PIN block in the log:\n{log}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["pin_try_counter"], 2,
        "one wrong PIN counted: {saved}"
    );

    // and it comes back with that state (GET DATA 9F17: 2 tries left), then stops on
    // SIGTERM too
    let serve = Serve::start(&dir, &state);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = run(
            Command::new("opensc-tool").args([
                "-r",
                &reader,
                "-s",
                "00A4040007A000000003101000",
                "-s",
                "80CA9F1700",
            ]),
            Duration::from_secs(10),
        );
        let t = text(&o);
        if t.contains("9F 17 01 02") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "GET DATA 9F17 after restart:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, log) = serve.stop("-TERM");
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("PIN try counter 2/3"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn card_serve_rejects_bad_arguments_before_waiting() {
    let o = run(
        Command::new(BIN).args([
            "card",
            "serve",
            "--profile",
            "visa-cvn18",
            "--vpcd",
            "nohostport",
        ]),
        Duration::from_secs(10),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("HOST:PORT"), "{}", text(&o));
    let o = run(
        Command::new(BIN).args([
            "card",
            "serve",
            "--profile",
            "visa-cvn18",
            "--profile",
            "mc-cvn16",
            "--state",
            "/tmp/x.json",
        ]),
        Duration::from_secs(10),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("one per card"), "{}", text(&o));
}

#[cfg(not(feature = "pcsc"))]
#[test]
fn readers_without_the_pcsc_feature_explain_what_to_install() {
    let o = run(Command::new(BIN).args(["readers"]), Duration::from_secs(10));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("apt-get install libpcsclite-dev pcscd"), "{t}");
    assert!(t.contains("cargo build --release --features pcsc"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}
