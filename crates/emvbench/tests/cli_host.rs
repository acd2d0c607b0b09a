//! `emvbench host` as a user runs it: provisioning, serving, a SIGKILL in the middle of a
//! wrong-PIN load (every acknowledged counter change survives), graceful shutdown, and no
//! clear PIN in the database or the logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emv_auth::{Host, ResponseCode};
use emv_host::testkit::{self, TempDir};
use emv_host::{CardRef, HostKeys, HttpHost, Issuer};

const CLEAR_PIN: &str = "739182645017";
/// A PVV covers exactly 4 digits, so the PVV cards' PIN (docs/pin.md §5).
const PVV_PIN: &str = "7391";
const CARDS: usize = 32;
const LIMIT: usize = 15;

fn pan(i: usize) -> String {
    format!("4761739001{:06}", 100 + i)
}

fn card_toml(i: usize) -> String {
    format!(
        r#"pan = "{}"
psn = "01"
expiry = "4912"
cvn = "visa-18"
imk_ac = "0123456789ABCDEFFEDCBA9876543210"
imk_smi = "FEDCBA98765432100123456789ABCDEF"
imk_smc = "89ABCDEF0123456776543210FEDCBA98"
pin = "{}"
pin_verification = "{}"
online_pin_try_limit = {LIMIT}
open_to_buy = 100000
currency = 978
"#,
        pan(i),
        if i.is_multiple_of(3) {
            PVV_PIN
        } else {
            CLEAR_PIN
        },
        ["pvv", "ibm3624", "encrypted"][i % 3]
    )
}

mod common;
use common::{emvbench, serve, serve_with};

fn provision(dir: &TempDir) -> std::path::PathBuf {
    let data = dir.path().join("data");
    let files: Vec<_> = (0..CARDS)
        .map(|i| {
            let f = dir.path().join(format!("card{i}.toml"));
            std::fs::write(&f, card_toml(i)).unwrap();
            f
        })
        .collect();
    let out = emvbench()
        .args(["host", "provision", "--data"])
        .arg(&data)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("Created")
            .count(),
        CARDS
    );
    data
}

/// Sends `signal` (`-INT`, `-TERM`) to the host and waits for it to exit, at most `limit`
/// (then it is killed and the test fails).
fn signal_and_wait(
    child: &mut std::process::Child,
    signal: &str,
    limit: Duration,
) -> std::process::ExitStatus {
    let st = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after kill {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sigkill_mid_load_keeps_every_acknowledged_counter_change_and_no_clear_pin() {
    sigkill_mid_load("full");
}

/// `--sync normal` answers before the fsync: a killed process still loses nothing
/// acknowledged (the WAL is in the OS cache, which outlives the process).
#[test]
fn sigkill_mid_load_with_sync_normal_keeps_every_acknowledged_counter_change() {
    sigkill_mid_load("normal");
}

fn sigkill_mid_load(sync: &str) {
    let dir = TempDir::new(&format!("cli-host-kill-{sync}"));
    let data = provision(&dir);
    let log = dir.path().join("serve.log");
    let (mut child, addr) = serve_with(&data, &log, &["--sync", sync]);

    // 16 clients send wrong PINs (card not present) round-robin over the cards
    let sent: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let acked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let total_acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|t| {
            let (sent, acked, total, stop, addr) = (
                sent.clone(),
                acked.clone(),
                total_acked.clone(),
                stop.clone(),
                addr.clone(),
            );
            std::thread::spawn(move || {
                let mut host = HttpHost::new(&addr)
                    .unwrap()
                    .with_acquirer_key(testkit::TEST_ACQUIRER_KEY)
                    .with_timeout(Duration::from_secs(10));
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    let pan = pan(n % CARDS);
                    n += 16;
                    let req = testkit::card_not_present(&pan, 100, Some("1357")).unwrap();
                    *sent.lock().unwrap().entry(pan.clone()).or_default() += 1;
                    match host.authorise(&req) {
                        Ok(r) if r.response_code == ResponseCode::INCORRECT_PIN => {
                            *acked.lock().unwrap().entry(pan).or_default() += 1;
                            total.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => assert_eq!(r.response_code, ResponseCode::PIN_TRIES_EXCEEDED),
                        Err(_) => break, // the host is gone
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    while total_acked.load(Ordering::Relaxed) < 200 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let total = total_acked.load(Ordering::Relaxed);
    assert!(
        total >= 200,
        "only {total} acknowledged before the deadline"
    );

    // reopen: every acknowledged decrement is there, and none that was never sent
    let issuer = Issuer::open(&data, HostKeys::load_test_keys().unwrap()).unwrap();
    let (sent, acked) = (sent.lock().unwrap(), acked.lock().unwrap());
    let mut checked = 0;
    for i in 0..CARDS {
        let p = pan(i);
        let left = usize::from(
            issuer
                .card_status(&CardRef::new(p.clone(), None))
                .unwrap()
                .online_pin_tries_left,
        );
        let a = acked.get(&p).copied().unwrap_or(0);
        let s = sent.get(&p).copied().unwrap_or(0);
        assert!(
            left <= LIMIT - a,
            "card {i}: {left} tries left after {a} acknowledged wrong PINs"
        );
        assert!(
            left >= LIMIT.saturating_sub(s),
            "card {i}: {left} left after only {s} sent"
        );
        checked += a;
    }
    assert_eq!(checked, total);
    drop(issuer);

    // the clear PIN is in no database file and not in the log
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(log.clone());
    let bcd = [0x73, 0x91, 0x82, 0x64, 0x50, 0x17];
    for f in files {
        // the -wal/-shm files go away when the last connection closes
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        assert!(
            !contains(&bytes, CLEAR_PIN.as_bytes()),
            "clear PIN in {}",
            f.display()
        );
        assert!(!contains(&bytes, &bcd), "BCD PIN in {}", f.display());
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("authorisation"),
        "the log is captured: {log:.300}"
    );
    assert!(!log.contains(&pan(0)), "no full PAN in the log");
}

#[test]
fn serve_stops_gracefully_on_sigint_and_the_store_reopens() {
    let dir = TempDir::new("cli-host-int");
    let data = provision(&dir);
    let (mut child, addr) = serve(&data, &dir.path().join("serve.log"));
    let mut host = HttpHost::new(&addr)
        .unwrap()
        .with_acquirer_key(testkit::TEST_ACQUIRER_KEY);
    let r = host
        .authorise(&testkit::card_not_present(&pan(1), 100, Some(CLEAR_PIN)).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED, "{}", r.reason);
    let status = signal_and_wait(&mut child, "-INT", Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let out = emvbench()
        .args(["host", "status", "--data"])
        .arg(&data)
        .arg(pan(1))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["open_to_buy"], 100_000 - 100);
}

/// SIGTERM stops the host within 5 s whatever its clients do: half-sent requests, an idle
/// kept-alive connection and a body that never ends (docs/issuer-host.md §1).
#[test]
fn sigterm_stops_the_host_within_5_s_whatever_its_clients_do() {
    use std::io::{Read, Write};
    let dir = TempDir::new("cli-host-term");
    let data = provision(&dir);
    let (mut child, addr) = serve(&data, &dir.path().join("serve.log"));
    let hostport = addr.trim_start_matches("http://").to_string();
    let connect = || std::net::TcpStream::connect(&hostport).unwrap();
    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut s = connect();
        s.write_all(b"POST /v1/authorise HTTP/1.1\r\nHost: x\r\nX-Acq")
            .unwrap();
        clients.push(s);
    }
    let mut body = connect();
    body.write_all(
        b"POST /v1/authorise HTTP/1.1\r\nHost: x\r\nX-Acquirer-Key: test-acquirer-key-do-not-use-in-production\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"pan\"",
    )
    .unwrap();
    clients.push(body);
    let mut idle = connect();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    clients.push(idle);
    // /health still answers with all of them connected
    let mut h = connect();
    h.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    h.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    let status = signal_and_wait(&mut child, "-TERM", Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    drop(clients);
}

/// The network routes need the acquirer key unless `--insecure-network`, which says so on
/// stderr and in the log.
#[test]
fn insecure_network_is_opt_in_and_loud() {
    let dir = TempDir::new("cli-host-insecure");
    let data = provision(&dir);
    let req = testkit::card_not_present(&pan(1), 100, None).unwrap();
    for (flags, keyless_ok) in [(&[][..], false), (&["--insecure-network"][..], true)] {
        let log = dir.path().join("serve.log");
        let (mut child, addr) = serve_with(&data, &log, flags);
        let r = HttpHost::new(&addr).unwrap().authorise(&req);
        assert_eq!(r.is_ok(), keyless_ok, "{flags:?}: {r:?}");
        if let Err(e) = r {
            assert!(e.to_string().contains("401"), "{e}");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.matches("WARNING: --insecure-network").count(),
            if keyless_ok { 2 } else { 0 },
            "stderr and the log: {text}"
        );
    }
}

#[test]
fn bad_provisioning_files_exit_2_naming_the_file() {
    let dir = TempDir::new("cli-host-bad");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, card_toml(0).replace("visa-18", "visa-99")).unwrap();
    let out = emvbench()
        .args(["host", "provision", "--data"])
        .arg(dir.path().join("data"))
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("visa-99"), "{err}");
    assert!(!err.contains(CLEAR_PIN), "{err}");
}

#[test]
fn cards_are_provisioned_from_card_profiles() {
    let dir = TempDir::new("cli-host-profiles");
    let data = dir.path().join("data");
    let run = |extra: &[&str]| {
        let out = emvbench()
            .args(["host", "provision", "--data"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run(&["--profile", "visa-cvn18"]);
    assert!(
        first.starts_with("Created card 476173******0119"),
        "{first}"
    );
    let again = run(&["--all-profiles"]);
    assert!(again.contains("Updated card 476173******0119"), "{again}");
    assert!(again.contains("Created card 541333******0011"), "{again}");
    let issuer = Issuer::open(&data, HostKeys::load_test_keys().unwrap()).unwrap();
    let plastics = issuer
        .plastics(&CardRef::new("4761739001010119", Some("01")))
        .unwrap();
    assert_eq!(plastics.len(), 2);
    let bad = emvbench()
        .args(["host", "provision", "--data"])
        .arg(&data)
        .args(["--profile", "no-such-card"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A port in use is one clear error that names the address and the OS reason once.
#[test]
fn a_busy_port_is_named_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = TempDir::new("busy-port");
    let out = emvbench()
        .args(["host", "serve", "--listen", &addr, "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("binding {addr}")), "{err}");
    assert_eq!(err.matches("Address already in use").count(), 1, "{err}");
}
