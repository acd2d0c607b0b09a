//! PIN Control end to end over a real listener (docs/issuer-host.md §6):
//! - an independent client (Node: fetch + WebCrypto, no project code) plays the back-end
//!   and the device and must recover the PIN; expired, replayed and tampered ids fail;
//! - a real headless Chromium (Debian's `chromium`, driven over the DevTools pipe by
//!   `tests/device/browser.mjs`) shows the PIN from a harness page that embeds the PIN page
//!   in an iframe, hides it after the (shortened) timeout, tells the app, refuses a replay,
//!   and sets a new PIN;
//! - the host's logs and database are scanned for the PINs.
//!
//! Without `node` (or `chromium`) the tests are skipped loudly; `EMVBENCH_REQUIRE_NODE=1` /
//! `EMVBENCH_REQUIRE_BROWSER=1` make them mandatory (CI sets both).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::Query;
use axum::response::Html;
use emv_crypto::Cvn;
use emv_host::pin_control::{Clock, PinControl, PinControlConfig, Scope};
use emv_host::testkit::{self, TEST_API_KEY, TempDir};
use emv_host::{CardRef, HostKeys, Issuer, PinVerificationMethod};
use serde_json::{Value, json};

const PAN: &str = "4761739001010127";
const PLASTIC: &str = "P-0127-1";
/// Long and unusual PINs, so that a scan for them cannot hit by chance.
const PIN: &str = "739164825037";
const NEW_PIN: &str = "86420975";
const WEAK_PIN: &str = "1111";
const DISPLAY_SECONDS: u32 = 2;

// ------------------------------------------------------------------------------------
// log capture: everything the host logs in this test binary

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = Arc::clone(&buf);
        let _ = tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&b)))
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .try_init();
        buf
    })
    .clone()
}

// ------------------------------------------------------------------------------------
// tools

fn found(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip(var: &str, what: &str) -> bool {
    assert!(
        std::env::var(var).as_deref() != Ok("1"),
        "{var}=1 but {what} was not found"
    );
    let _ = std::io::stderr().write_all(
        format!(
            "\n**********************************************************************\n\
             *** SKIPPED pin_control_device: {what} not found; this end-to-end test\n\
             *** did NOT run. Set {var}=1 to make this an error.\n\
             **********************************************************************\n"
        )
        .as_bytes(),
    );
    false
}

fn node_or_skip() -> bool {
    found("node", "--version") || skip("EMVBENCH_REQUIRE_NODE", "`node`")
}

/// The chromium binary: `$EMVBENCH_CHROMIUM`, else `chromium`, else `chromium-browser`.
fn chromium() -> Option<String> {
    if let Ok(c) = std::env::var("EMVBENCH_CHROMIUM")
        && !c.is_empty()
    {
        return Some(c);
    }
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| found(c, "--version"))
        .map(str::to_string)
}

fn run_node(script: &str, stdin: &Value) -> Value {
    let path = format!("{}/tests/device/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{script}: {e}: {stdout}"))
}

// ------------------------------------------------------------------------------------
// the host and the harness on real listeners

struct Servers {
    /// Runs the two servers; dropping it stops them.
    _rt: tokio::runtime::Runtime,
    dir: TempDir,
    issuer: Issuer,
    pc: Arc<PinControl>,
    offset: Arc<AtomicI64>,
    host: String,
    harness: String,
}

const HARNESS: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>app harness</title></head><body>
<form id="f" method="POST" action="ACTION" target="pc"><input type="hidden" name="controlId" value="ID"></form>
<iframe name="pc" id="pc" width="420" height="420"></iframe>
<script>
window.events = [];
window.addEventListener('message', (e) => { window.events.push({ origin: e.origin, data: e.data }); });
document.getElementById('f').submit();
</script></body></html>"#;

fn start(config: impl FnOnce(&str) -> PinControlConfig) -> Servers {
    capture_logs();
    let dir = TempDir::new("pin-control-device");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let p = testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Encrypted);
    issuer.provision(&p, false).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host_l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let harness_l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let host = format!("http://{}", host_l.local_addr().unwrap());
    let harness = format!("http://{}", harness_l.local_addr().unwrap());
    let offset = Arc::new(AtomicI64::new(0));
    let o = Arc::clone(&offset);
    let clock: Clock = Arc::new(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        i64::try_from(now).unwrap() + o.load(Ordering::SeqCst)
    });
    let pc = Arc::new(PinControl::with_clock(issuer.clone(), config(&harness), clock).unwrap());
    let app = emv_host::http::router_with(Arc::clone(&pc));
    rt.spawn(emv_host::http::serve_router(
        host_l,
        app,
        std::future::pending(),
    ));
    let harness_app = axum::Router::new().route(
        "/harness",
        axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
            let ok = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
            };
            let id = q.get("id").cloned().unwrap_or_default();
            let action = q.get("action").cloned().unwrap_or_default();
            assert!(ok(&id) && ok(&action));
            Html(HARNESS.replace("ACTION", &action).replace("ID", &id))
        }),
    );
    rt.spawn(async move { axum::serve(harness_l, harness_app).await });
    Servers {
        _rt: rt,
        dir,
        issuer,
        pc,
        offset,
        host,
        harness,
    }
}

impl Servers {
    fn token(&self, scope: Scope) -> String {
        self.pc
            .issue_token(PLASTIC, scope, "api:test-issuer", &self.host)
            .unwrap()
            .id
    }

    /// The PINs must not be in the logs, the database or the audit trail.
    fn assert_no_pin_server_side(&self, pins: &[&str]) {
        let logs = String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned();
        assert!(logs.contains("pin-control"), "logs were captured: {logs}");
        let mut disk = Vec::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap() {
            disk.extend(std::fs::read(e.unwrap().path()).unwrap());
        }
        let disk = String::from_utf8_lossy(&disk);
        let audit = serde_json::to_string(&self.issuer.audit_log(1000).unwrap()).unwrap();
        for pin in pins {
            assert!(!logs.contains(pin), "a PIN is in the logs");
            assert!(!disk.contains(pin), "a PIN is in the database files");
            assert!(!audit.contains(pin), "a PIN is in the audit trail");
        }
    }

    fn assert_new_pin_set(&self) {
        let card = CardRef::new(PAN, None);
        assert_eq!(
            self.issuer.reveal_pin(&card, "test").unwrap(),
            emv_crypto::Pin::new(NEW_PIN).unwrap()
        );
        let st = self.issuer.card_status(&card).unwrap();
        assert_eq!(
            st.pending_script_kinds,
            vec![emv_host::scripts::ScriptKind::PinChange],
            "the PIN CHANGE script waits for the chip"
        );
    }
}

// ------------------------------------------------------------------------------------

#[test]
fn an_independent_client_recovers_the_pin_and_sets_a_new_one() {
    if !node_or_skip() {
        return;
    }
    let s = start(|_| PinControlConfig::default());
    // an id that will be past its 30 s when the client uses it
    let expired = s.token(Scope::ViewPin);
    s.offset.store(31, Ordering::SeqCst);
    let out = run_node(
        "client.mjs",
        &json!({
            "base": s.host, "apiKey": TEST_API_KEY, "plasticId": PLASTIC,
            "expiredId": expired, "expectPin": PIN, "weakPin": WEAK_PIN, "newPin": NEW_PIN,
        }),
    );
    assert_eq!(out["pin"], PIN, "{out}");
    assert_eq!(out["apvIsSnapshot"], true);
    assert_eq!(out["expiresIn"], 30);
    assert_eq!(out["plasticStatus"], "ACTIVE");
    assert_eq!(out["pageStatus"], 200);
    assert_eq!(out["pageHasPin"], false);
    assert!(out["csp"].as_str().unwrap().contains("default-src 'none'"));
    assert_eq!(out["viewStatus"], 200);
    assert_eq!(
        out["secondReveal"], 409,
        "a second reveal for the same snapshot"
    );
    assert_eq!(out["revealWithoutSnapshot"], 404);
    assert_eq!(out["replay"], 409, "id used twice");
    assert_eq!(out["tampered"], 400);
    assert_eq!(out["expired"], 410);
    assert_eq!(out["weakStatus"], 422);
    assert_eq!(out["weakError"], "weak-pin");
    assert!(
        out["weakDetail"]
            .as_str()
            .unwrap()
            .contains("less guessable")
    );
    assert_eq!(out["setStatus"], 200, "{out}");
    assert_eq!(out["setResult"], "PIN_SET");
    s.assert_new_pin_set();
    s.assert_no_pin_server_side(&[PIN, NEW_PIN]);
}

#[test]
fn a_real_browser_shows_hides_and_sets_the_pin() {
    if !node_or_skip() {
        return;
    }
    let Some(chromium) = chromium() else {
        skip("EMVBENCH_REQUIRE_BROWSER", "`chromium`");
        return;
    };
    let s = start(|harness| PinControlConfig {
        frame_ancestors: harness.to_string(),
        display_seconds: DISPLAY_SECONDS,
        ..PinControlConfig::default()
    });
    let (h, x) = (s.host.clone(), s.harness.clone());
    let action = format!("{h}/pin-control/v1/pin");
    let view = s.token(Scope::ViewPin);
    let set = s.token(Scope::SetPin);
    let harness = |id: &str| format!("{x}/harness?id={id}&action={action}");
    let events =
        "JSON.stringify(window.events.map((e) => [e.origin, e.data.event, e.data.reason || null]))";
    let submit = |pin: &str| {
        format!(
            "(() => {{ document.getElementById('pin1').value = '{pin}'; \
             document.getElementById('pin2').value = '{pin}'; \
             document.getElementById('set-form').requestSubmit(); return true; }})()"
        )
    };
    let status_kind = |kind: &str| {
        format!(
            "(() => {{ const s = document.getElementById('status'); \
             return s && s.dataset.kind === '{kind}' ? s.textContent : ''; }})()"
        )
    };
    let mut steps = vec![
        json!({"op": "goto", "url": harness(&view)}),
        json!({"op": "wait", "origin": h, "expr": "(() => { const p = document.getElementById('pin'); return p && p.dataset.state === 'shown' ? p.textContent : ''; })()"}),
        json!({"op": "wait", "origin": h, "timeoutMs": 20000, "expr": "(() => { const p = document.getElementById('pin'); return p && p.dataset.state === 'hidden' ? document.body.innerText : ''; })()"}),
        json!({"op": "eval", "origin": x, "expr": events}),
        json!({"op": "goto", "url": harness(&view)}),
        json!({"op": "wait", "origin": h, "expr": "(() => { const e = document.getElementById('error'); return e ? e.dataset.code : ''; })()"}),
        json!({"op": "goto", "url": harness(&set)}),
        json!({"op": "wait", "origin": h, "expr": "!!document.getElementById('set-form')"}),
        json!({"op": "eval", "origin": h, "expr": submit(WEAK_PIN)}),
        json!({"op": "wait", "origin": h, "expr": status_kind("error")}),
        json!({"op": "eval", "origin": h, "expr": submit(NEW_PIN)}),
        json!({"op": "wait", "origin": h, "expr": status_kind("ok")}),
        json!({"op": "eval", "origin": x, "expr": events}),
    ];
    if let Ok(dir) = std::env::var("EMVBENCH_SCREENSHOT_DIR") {
        steps.insert(
            2,
            json!({"op": "screenshot", "path": format!("{dir}/view-pin.png")}),
        );
        steps.push(json!({"op": "screenshot", "path": format!("{dir}/set-pin.png")}));
    }
    let out = run_node(
        "browser.mjs",
        &json!({"chromium": chromium, "steps": steps}),
    );
    assert_eq!(out["ok"], true, "{out:#}");
    let r: Vec<&Value> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["op"] != "screenshot")
        .collect();
    // the PIN appears, decrypted in the page
    assert_eq!(r[1]["value"], PIN, "{out:#}");
    // and disappears after the display time (shortened to 2 s here)
    let hidden_after = r[2]["ms"].as_i64().unwrap() - r[1]["ms"].as_i64().unwrap();
    assert!(
        (i64::from(DISPLAY_SECONDS) * 1000 - 700..i64::from(DISPLAY_SECONDS) * 1000 + 8000)
            .contains(&hidden_after),
        "hidden after {hidden_after} ms"
    );
    assert!(!r[2]["value"].as_str().unwrap().contains(PIN));
    // the app was told, from the PIN page's origin (postMessage to the iframe's parent)
    let ev: Vec<Value> = serde_json::from_str(r[3]["value"].as_str().unwrap()).unwrap();
    assert!(ev.contains(&json!([h, "view_pin_success", null])), "{ev:?}");
    assert!(ev.contains(&json!([h, "pin_closed", "timeout"])), "{ev:?}");
    assert!(ev.iter().all(|e| e[0] == h.as_str()));
    // a replayed controlId fails
    assert_eq!(r[5]["value"], "control-id-used");
    // Set PIN: a trivial PIN is refused with a clear message, then the new PIN is set
    assert!(
        r[9]["value"].as_str().unwrap().contains("less guessable"),
        "{out:#}"
    );
    assert!(r[11]["value"].as_str().unwrap().contains("PIN is set"));
    let ev: Vec<Value> = serde_json::from_str(r[12]["value"].as_str().unwrap()).unwrap();
    assert!(
        ev.contains(&json!([h, "set_pin_validation_error", null])),
        "{ev:?}"
    );
    assert!(ev.contains(&json!([h, "set_pin_success", null])), "{ev:?}");
    // the CSP let the page's own script and style run, and nothing else was refused
    let log = out["log"].to_string();
    assert!(!log.contains("Refused to"), "CSP violations: {log}");
    assert!(!log.contains(PIN) && !log.contains(NEW_PIN));
    s.assert_new_pin_set();
    s.assert_no_pin_server_side(&[PIN, NEW_PIN]);
}
