//! PIN Control (View PIN / Set PIN): every rule and failure of `emv_host::pin_control`,
//! in-process and through the HTTP router (no port). The device is played with our own
//! JWE code here; `pin_control_device.rs` plays it with Node and a real Chromium.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use emv_crypto::Cvn;
use emv_crypto::jwe::{self, JweEncrypter, PrivateJwk, PublicJwk};
use emv_host::pin_control::{Clock, PinControl, PinControlConfig, Scope};
use emv_host::testkit::{self, TEST_API_KEY, TempDir};
use emv_host::{CardRef, Error, HostKeys, Issuer, PinVerificationMethod, Plastic, PlasticStatus};
use serde_json::{Value, json};
use tower::ServiceExt;

const PAN: &str = "4761739001010119";
/// Long and unusual, so that a scan for it cannot hit by chance.
const PIN: &str = "739164825037";
const NEW_PIN: &str = "86420975";
const PLASTIC: &str = "P-0119-1";
const OLD_PLASTIC: &str = "P-0119-0";

struct Fixture {
    dir: TempDir,
    issuer: Issuer,
    pc: Arc<PinControl>,
    now: Arc<AtomicI64>,
}

fn fixture(config: PinControlConfig) -> Fixture {
    fixture_with_keys(config, HostKeys::load_test_keys().unwrap())
}

/// The TEST key file with another storage data key (and so another PIN Control key).
fn other_keys() -> HostKeys {
    let text = emv_host::keys::TEST_KEYS_TOML.replace(
        "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
        "1F352C073B6108D72D9810A30914DFF4603DEB1015CA71BE2B73AEF0857D7781",
    );
    assert_ne!(text, emv_host::keys::TEST_KEYS_TOML);
    HostKeys::from_toml(&text).unwrap()
}

fn fixture_with_keys(config: PinControlConfig, keys: HostKeys) -> Fixture {
    let dir = TempDir::new("pin-control");
    let issuer = testkit::open_issuer(&dir, keys).unwrap();
    let mut p = testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Encrypted);
    p.plastics.push(Plastic {
        plastic_id: OLD_PLASTIC.into(),
        expiry: "2401".into(),
        status: PlasticStatus::Replaced,
    });
    issuer.provision(&p, false).unwrap();
    let now = Arc::new(AtomicI64::new(1_900_000_000));
    let n = Arc::clone(&now);
    let clock: Clock = Arc::new(move || n.load(Ordering::SeqCst));
    let pc = Arc::new(PinControl::with_clock(issuer.clone(), config, clock).unwrap());
    Fixture {
        dir,
        issuer,
        pc,
        now,
    }
}

impl Fixture {
    fn advance(&self, s: i64) {
        self.now.fetch_add(s, Ordering::SeqCst);
    }

    fn token(&self, scope: Scope) -> String {
        self.pc
            .issue_token(PLASTIC, scope, "api:test-issuer", "http://host")
            .unwrap()
            .id
    }

    /// Everything the host keeps in its store, as text.
    fn disk(&self) -> String {
        let all = testkit::stored_bytes(&self.dir).unwrap();
        let text = String::from_utf8_lossy(&all).into_owned();
        // the store is there to be searched: it holds the card
        assert!(text.contains(PLASTIC), "nothing read from the store");
        text
    }
}

fn device_key() -> (PrivateJwk, Value) {
    let k = PrivateJwk::generate_p256(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let public: Value = serde_json::from_str(&k.public_jwk().unwrap().to_json()).unwrap();
    (k, public)
}

fn config() -> PinControlConfig {
    PinControlConfig {
        rate_limit: 100,
        ..PinControlConfig::default()
    }
}

#[test]
fn view_pin_reaches_only_the_device_key_and_is_audited_without_the_pin() {
    let f = fixture(config());
    let answer =
        f.pc.issue_token(PLASTIC, Scope::ViewPin, "api:test-issuer", "http://h:1")
            .unwrap();
    assert_eq!(answer.expires_in, 30);
    assert_eq!(answer.pin_url, "http://h:1/pin-control/v1/pin");
    assert_eq!(answer.plastic_status, PlasticStatus::Active);
    assert!(!answer.id.contains(PLASTIC), "the id is opaque");
    let snap = f.pc.open_snapshot(&answer.id).unwrap();
    assert_eq!(snap.scope, Scope::ViewPin);
    assert!(snap.service_key.is_none());
    let (key, public) = device_key();
    let v = f.pc.view(&snap.snapshot_id, &public).unwrap();
    assert_eq!(v.display_seconds, 60);
    let d = jwe::decrypt(&v.pin, &key).unwrap();
    assert_eq!(d.header.alg.name(), "ECDH-ES");
    assert_eq!(d.header.enc.name(), "A256GCM");
    assert_eq!(
        d.header.apv,
        snap.snapshot_id.as_bytes(),
        "bound to the snapshot"
    );
    assert_eq!(&d.plaintext[..], PIN.as_bytes());
    // another key cannot open it
    let (other, _) = device_key();
    assert!(jwe::decrypt(&v.pin, &other).is_err());
    // a second reveal for the same snapshot fails
    assert!(matches!(
        f.pc.view(&snap.snapshot_id, &public),
        Err(Error::SnapshotUsed)
    ));
    let audit = f.issuer.audit_log(50).unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for a in [
        "pin-control-token VIEW_PIN",
        "pin-control-open",
        "pin-control-view",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
    assert!(
        audit
            .iter()
            .all(|a| a.actor == "api:test-issuer" || a.actor == "provisioning")
    );
    let text = serde_json::to_string(&audit).unwrap();
    assert!(!text.contains(PIN) && !text.contains(PAN), "{text}");
    drop(f.issuer.clone());
    assert!(!f.disk().contains(PIN), "the PIN is on disk in clear");
}

#[test]
fn plastics_are_validated_listed_and_their_status_returned() {
    let f = fixture(config());
    assert!(matches!(
        f.pc.issue_token("P-NOPE", Scope::ViewPin, "a", ""),
        Err(Error::UnknownPlastic(_))
    ));
    assert!(matches!(
        f.pc.issue_token("", Scope::ViewPin, "a", ""),
        Err(Error::BadRequest(_))
    ));
    // docs/pin.md §7 step 2: no status check, but the status is returned
    let a =
        f.pc.issue_token(OLD_PLASTIC, Scope::ViewPin, "a", "")
            .unwrap();
    assert_eq!(a.plastic_status, PlasticStatus::Replaced);
    assert_eq!(a.pin_url, "/pin-control/v1/pin");
    let list = f.issuer.plastics(&CardRef::new(PAN, None)).unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .any(|p| p.plastic_id == PLASTIC && p.status == PlasticStatus::Active)
    );
}

/// A PVV card: with `view_pin` the host keeps the PIN sealed next to the PVV and View PIN
/// shows it; without, the token is refused at once (409, audited) rather than on the
/// device, while Set PIN still works and a pending new PIN can be viewed.
#[test]
fn a_pvv_card_shows_its_pin_only_when_provisioned_for_view_pin() {
    let dir = TempDir::new("pin-control-pvv");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let mut viewable = testkit::provision(PAN, Cvn::Visa18, "7391", PinVerificationMethod::Pvv);
    viewable.view_pin = true;
    issuer.provision(&viewable, false).unwrap();
    let one_way = testkit::provision(
        "4761739001010127",
        Cvn::Visa18,
        "7391",
        PinVerificationMethod::Pvv,
    );
    issuer.provision(&one_way, false).unwrap();
    let pc = PinControl::new(issuer.clone(), config()).unwrap();
    assert!(
        issuer
            .card_status(&CardRef::new(PAN, None))
            .unwrap()
            .view_pin
    );
    let (key, public) = device_key();
    let t = pc
        .issue_token(PLASTIC, Scope::ViewPin, "api:test-issuer", "")
        .unwrap();
    let snap = pc.open_snapshot(&t.id).unwrap();
    let v = pc.view(&snap.snapshot_id, &public).unwrap();
    assert_eq!(&jwe::decrypt(&v.pin, &key).unwrap().plaintext[..], b"7391");
    // the PVV still verifies the PIN
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 1, Some("7391")).unwrap())
        .unwrap();
    assert_eq!(r.response_code.as_str(), "00");

    let other = CardRef::new("4761739001010127", None);
    assert!(!issuer.card_status(&other).unwrap().view_pin);
    let e = pc
        .issue_token("P-0127-1", Scope::ViewPin, "api:test-issuer", "")
        .unwrap_err();
    assert!(matches!(e, Error::PinNotRecoverable(_)), "{e:?}");
    assert!(e.to_string().contains("View PIN is not offered"), "{e}");
    let audit = issuer.audit_log(5).unwrap();
    assert_eq!(audit[0].action, "pin-control-token VIEW_PIN");
    assert_eq!(audit[0].outcome, "refused: PIN not recoverable");
    // Set PIN is offered; its pending new PIN can be viewed until the chip has it
    pc.issue_token("P-0127-1", Scope::SetPin, "api:test-issuer", "")
        .unwrap();
    issuer
        .reset_pin(&other, emv_host::PinResetMode::New, "test")
        .unwrap();
    assert!(issuer.card_status(&other).unwrap().view_pin);
    pc.issue_token("P-0127-1", Scope::ViewPin, "api:test-issuer", "")
        .unwrap();
}

#[test]
fn control_ids_expire_are_single_use_and_tamper_evident() {
    let f = fixture(config());
    // used twice
    let id = f.token(Scope::ViewPin);
    f.pc.open_snapshot(&id).unwrap();
    assert!(matches!(f.pc.open_snapshot(&id), Err(Error::ControlIdUsed)));
    // expired after 30 s (valid at 30 s)
    let id = f.token(Scope::ViewPin);
    f.advance(30);
    let id2 = f.token(Scope::ViewPin);
    f.advance(1);
    assert!(matches!(
        f.pc.open_snapshot(&id),
        Err(Error::ControlIdExpired)
    ));
    f.pc.open_snapshot(&id2).unwrap();
    // tampered: every part of the compact JWE is protected
    let id = f.token(Scope::ViewPin);
    for part in 0..5 {
        let mut parts: Vec<String> = id.split('.').map(str::to_string).collect();
        if parts[part].is_empty() {
            parts[part] = "AA".into();
        } else {
            let c = parts[part].pop().unwrap();
            parts[part].push(if c == 'A' { 'B' } else { 'A' });
        }
        assert!(
            matches!(
                f.pc.open_snapshot(&parts.join(".")),
                Err(Error::InvalidControlId(_))
            ),
            "part {part}"
        );
    }
    for junk in ["", "x", "a.b.c.d.e", &"A".repeat(5000)] {
        assert!(matches!(
            f.pc.open_snapshot(junk),
            Err(Error::InvalidControlId(_))
        ));
    }
    // a token minted under another key file (another data key)
    let other = fixture_with_keys(config(), other_keys());
    let foreign = other.token(Scope::ViewPin);
    assert!(matches!(
        f.pc.open_snapshot(&foreign),
        Err(Error::InvalidControlId(_))
    ));
    // the untampered id still works (the failures did not spend it)
    f.pc.open_snapshot(&id).unwrap();
}

#[test]
fn snapshots_check_scope_existence_expiry_and_device_key() {
    let f = fixture(config());
    let (_, public) = device_key();
    assert!(matches!(
        f.pc.view("0123456789abcdef0123456789abcdef", &public),
        Err(Error::UnknownSnapshot)
    ));
    let set = f.pc.open_snapshot(&f.token(Scope::SetPin)).unwrap();
    assert!(matches!(
        f.pc.view(&set.snapshot_id, &public),
        Err(Error::WrongScope { .. })
    ));
    let view = f.pc.open_snapshot(&f.token(Scope::ViewPin)).unwrap();
    assert!(matches!(
        f.pc.set(&view.snapshot_id, "x"),
        Err(Error::WrongScope { .. })
    ));
    // bad keys are refused before the snapshot is spent
    let private: Value =
        serde_json::from_str(r#"{"kty":"EC","crv":"P-256","x":"0nIiWFAlDrgu1G1OJ6ZSakAWrFgiU3POWOF3MVSPicg","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph0","d":"dBVhVoDOTgjSPXr5OR3PTj5e13Ba5168qYL542v-I-I"}"#).unwrap();
    for bad in [
        json!("key"),
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}),
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        private,
    ] {
        assert!(
            matches!(
                f.pc.view(&view.snapshot_id, &bad),
                Err(Error::InvalidDeviceKey(_))
            ),
            "{bad}"
        );
    }
    f.pc.view(&view.snapshot_id, &public).unwrap();
    // expiry of the snapshot
    let late = f.pc.open_snapshot(&f.token(Scope::ViewPin)).unwrap();
    f.advance(121);
    assert!(matches!(
        f.pc.view(&late.snapshot_id, &public),
        Err(Error::SnapshotExpired)
    ));
}

#[test]
fn tokens_are_rate_limited_per_plastic() {
    let f = fixture(PinControlConfig {
        rate_limit: 3,
        rate_window_seconds: 60,
        ..PinControlConfig::default()
    });
    for _ in 0..3 {
        f.token(Scope::ViewPin);
    }
    match f.pc.issue_token(PLASTIC, Scope::ViewPin, "a", "") {
        Err(Error::RateLimited { retry_after }) => assert!((1..=60).contains(&retry_after)),
        other => panic!("{other:?}"),
    }
    // another plastic is not affected; unknown plastics do not count
    f.pc.issue_token(OLD_PLASTIC, Scope::ViewPin, "a", "")
        .unwrap();
    f.advance(61);
    f.token(Scope::ViewPin);
    let refusals = f
        .issuer
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|a| a.outcome == "refused: rate limited")
        .count();
    assert_eq!(refusals, 1);
}

#[test]
fn a_token_from_one_host_process_is_redeemed_once_on_any_other_and_they_share_the_limit() {
    // two host processes (two issuers, two PIN Control services) on one store
    let f = fixture(PinControlConfig {
        rate_limit: 3,
        rate_window_seconds: 60,
        ..PinControlConfig::default()
    });
    let other = testkit::open_issuer(&f.dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let n = Arc::clone(&f.now);
    let clock: Clock = Arc::new(move || n.load(Ordering::SeqCst));
    let b = PinControl::with_clock(other, f.pc.config().clone(), clock).unwrap();
    let id = f.token(Scope::ViewPin);
    b.open_snapshot(&id).unwrap();
    assert!(matches!(f.pc.open_snapshot(&id), Err(Error::ControlIdUsed)));
    assert!(matches!(b.open_snapshot(&id), Err(Error::ControlIdUsed)));
    // and the other way round
    let id = b
        .issue_token(PLASTIC, Scope::ViewPin, "api:test-issuer", "")
        .unwrap()
        .id;
    f.pc.open_snapshot(&id).unwrap();
    assert!(matches!(b.open_snapshot(&id), Err(Error::ControlIdUsed)));
    // three tokens were issued in this minute (two by one process, one by the other):
    // the fourth is refused by both
    f.token(Scope::ViewPin);
    for pc in [&*f.pc, &b] {
        assert!(matches!(
            pc.issue_token(PLASTIC, Scope::ViewPin, "a", ""),
            Err(Error::RateLimited { .. })
        ));
    }
}

/// What the device sends for Set PIN: the digits as a JWE to the snapshot's service key.
fn encrypt_pin(service_key: &str, snapshot_id: &str, pin: &str) -> String {
    let key = PublicJwk::from_json(service_key).unwrap();
    JweEncrypter::new(&key)
        .agreement_info(b"", snapshot_id.as_bytes())
        .encrypt(pin.as_bytes())
        .unwrap()
}

#[test]
fn set_pin_checks_the_pin_stores_it_and_queues_the_pin_change_script() {
    let f = fixture(config());
    let card = CardRef::new(PAN, None);
    let snap = f.pc.open_snapshot(&f.token(Scope::SetPin)).unwrap();
    let sk = snap.service_key.clone().unwrap();
    let sid = snap.snapshot_id.as_str();
    // trivial PINs are refused with a clear message; the snapshot stays usable
    for weak in ["0000", "1111", "1234", "98765"] {
        match f.pc.set(sid, &encrypt_pin(&sk, sid, weak)) {
            Err(e @ Error::WeakPin(_)) => {
                assert!(e.to_string().contains("choose a less guessable PIN"));
                // the message names examples, never the PIN that was sent
                let examples = ["0000", "1111", "1234", "9876"];
                assert!(!e.to_string().contains(weak) || examples.contains(&weak));
            }
            other => panic!("{weak}: {other:?}"),
        }
    }
    // not 4-12 digits (the fifth refusal)
    assert!(matches!(
        f.pc.set(sid, &encrypt_pin(&sk, sid, "123")),
        Err(Error::InvalidPin(_))
    ));
    assert_eq!(
        f.issuer.card_status(&card).unwrap().pending_scripts,
        0,
        "nothing changed"
    );
    // too many refusals spend the snapshot
    assert!(matches!(
        f.pc.set(sid, &encrypt_pin(&sk, sid, NEW_PIN)),
        Err(Error::SnapshotUsed)
    ));

    let snap = f.pc.open_snapshot(&f.token(Scope::SetPin)).unwrap();
    let sk = snap.service_key.clone().unwrap();
    let sid = snap.snapshot_id.as_str();
    for bad in ["1234567890123", "12a4"] {
        assert!(
            matches!(
                f.pc.set(sid, &encrypt_pin(&sk, sid, bad)),
                Err(Error::InvalidPin(_))
            ),
            "{bad}: {:?}",
            f.pc.set(sid, &encrypt_pin(&sk, sid, bad))
        );
    }
    // bound to another snapshot / not for this key
    assert!(matches!(
        f.pc.set(sid, &encrypt_pin(&sk, "another", NEW_PIN)),
        Err(Error::InvalidPin(_))
    ));
    let (other, _) = device_key();
    let wrong = JweEncrypter::new(&other.public_jwk().unwrap())
        .agreement_info(b"", sid.as_bytes())
        .encrypt(NEW_PIN.as_bytes())
        .unwrap();
    assert!(matches!(f.pc.set(sid, &wrong), Err(Error::InvalidPin(_))));
    let ok = f.pc.set(sid, &encrypt_pin(&sk, sid, NEW_PIN)).unwrap();
    assert_eq!(ok.result, "PIN_SET");
    assert_eq!(ok.pending_scripts, 1);
    let status = f.issuer.card_status(&card).unwrap();
    assert_eq!(
        status.pending_script_kinds,
        vec![emv_host::scripts::ScriptKind::PinChange]
    );
    assert_eq!(
        f.issuer.reveal_pin(&card, "test").unwrap(),
        emv_crypto::Pin::new(NEW_PIN).unwrap()
    );
    assert!(matches!(
        f.pc.set(sid, &encrypt_pin(&sk, sid, "2580")),
        Err(Error::SnapshotUsed)
    ));
    // and View PIN now shows the new PIN
    let view = f.pc.open_snapshot(&f.token(Scope::ViewPin)).unwrap();
    let (key, public) = device_key();
    let v = f.pc.view(&view.snapshot_id, &public).unwrap();
    assert_eq!(
        &jwe::decrypt(&v.pin, &key).unwrap().plaintext[..],
        NEW_PIN.as_bytes()
    );
    let audit = serde_json::to_string(&f.issuer.audit_log(100).unwrap()).unwrap();
    assert!(audit.contains("pin-control-set") && audit.contains("refused: weak PIN"));
    assert!(!audit.contains(NEW_PIN) && !audit.contains(PIN));
    let disk = f.disk();
    assert!(!disk.contains(NEW_PIN) && !disk.contains(PIN));
}

#[test]
fn config_is_checked() {
    for bad in [
        PinControlConfig {
            frame_ancestors: "'self'; script-src *".into(),
            ..PinControlConfig::default()
        },
        PinControlConfig {
            frame_ancestors: " ".into(),
            ..PinControlConfig::default()
        },
        PinControlConfig {
            display_seconds: 0,
            ..PinControlConfig::default()
        },
        PinControlConfig {
            public_url: Some("ftp://x".into()),
            ..PinControlConfig::default()
        },
        PinControlConfig {
            theme_css: Some("</style><script>".into()),
            ..PinControlConfig::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    PinControlConfig {
        frame_ancestors: "'self' https://app.example.com".into(),
        ..PinControlConfig::default()
    }
    .validate()
    .unwrap();
}

// ------------------------------------------------------------------------------------
// HTTP

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

const JSON_CT: (&str, &str) = ("content-type", "application/json");
const FORM_CT: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const KEY: (&str, &str) = ("x-api-key", TEST_API_KEY);

fn page_data(html: &str) -> Value {
    let start = html.find("id=\"pc-data\">").unwrap() + "id=\"pc-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn http_flow_headers_and_errors() {
    let f = fixture(PinControlConfig {
        frame_ancestors: "'self' https://app.example".into(),
        ..config()
    });
    let app = emv_host::http::router_with(Arc::clone(&f.pc));
    let token_uri = format!("/pin-control/v1/plastics/{PLASTIC}/token");
    let body = json!({"scope": "VIEW_PIN"}).to_string();
    // the issuer API key is required
    let (s, _, _) = send(&app, "POST", &token_uri, &[JSON_CT], body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, b) = send(
        &app,
        "POST",
        &token_uri,
        &[JSON_CT, KEY],
        json!({"scope": "PEEK"}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _, b) = send(
        &app,
        "POST",
        "/pin-control/v1/plastics/P-NOPE/token",
        &[JSON_CT, KEY],
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["error"],
        "unknown-plastic"
    );
    let (s, h, b) = send(
        &app,
        "POST",
        &token_uri,
        &[JSON_CT, KEY, ("host", "pin.example:8443")],
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h["cache-control"], "no-store");
    let t: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(t["expiresIn"], 30);
    assert_eq!(t["plasticStatus"], "ACTIVE");
    assert_eq!(t["pinURL"], "http://pin.example:8443/pin-control/v1/pin");
    let id = t["id"].as_str().unwrap().to_string();
    // plastics of the card, with status and expiry
    let (s, _, b) = send(
        &app,
        "GET",
        &format!("/pin-control/v1/cards/{PAN}/plastics"),
        &[KEY],
        String::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b.contains("REPLACED") && b.contains("\"expiry\":\"4912\""),
        "{b}"
    );

    // the device page
    let form = format!("controlId={id}");
    let (s, h, html) = send(
        &app,
        "POST",
        "/pin-control/v1/pin",
        &[FORM_CT],
        form.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    for part in [
        "default-src 'none'",
        "connect-src 'self'",
        "frame-ancestors 'self' https://app.example",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    assert!(nonce.len() >= 32);
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
    assert!(html.contains("--pc-accent"), "CSS variables");
    assert!(!html.contains(PIN) && !html.contains(PAN));
    let data = page_data(&html);
    assert_eq!(data["scope"], "VIEW_PIN");
    assert_eq!(data["displaySeconds"], 60);
    // replay of the id: a clear page, 409
    let (s, h, html2) = send(&app, "POST", "/pin-control/v1/pin", &[FORM_CT], form).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html2.contains("data-code=\"control-id-used\""), "{html2}");
    let csp2 = h["content-security-policy"].to_str().unwrap();
    assert!(!csp2.contains(&nonce), "a nonce per response");
    // tampered / missing
    let (s, _, html3) = send(
        &app,
        "POST",
        "/pin-control/v1/pin",
        &[FORM_CT],
        format!("controlId={}", tamper(&id)),
    )
    .await;
    assert!(
        s == StatusCode::BAD_REQUEST && html3.contains("invalid-control-id"),
        "{s} {html3}"
    );
    let (s, _, _) = send(&app, "POST", "/pin-control/v1/pin", &[JSON_CT], "{}".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // reveal
    let view_uri = data["viewURL"].as_str().unwrap().to_string();
    let (key, public) = device_key();
    let (s, _, b) = send(
        &app,
        "POST",
        &view_uri,
        &[JSON_CT],
        json!({"publicKey": {"kty": "RSA"}}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.contains("invalid-public-key"));
    let (s, h, b) = send(
        &app,
        "POST",
        &view_uri,
        &[JSON_CT],
        json!({"publicKey": public}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!b.contains(PIN));
    let v: Value = serde_json::from_str(&b).unwrap();
    let d = jwe::decrypt(v["pin"].as_str().unwrap(), &key).unwrap();
    assert_eq!(&d.plaintext[..], PIN.as_bytes());
    let (s, _, b) = send(
        &app,
        "POST",
        &view_uri,
        &[JSON_CT],
        json!({"publicKey": public}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(b.contains("snapshot-used"));
    let (s, _, b) = send(
        &app,
        "POST",
        "/pin-control/v1/snapshots/nope/view",
        &[JSON_CT],
        json!({"publicKey": public}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(b.contains("unknown-snapshot"));
    // expired id: 410
    let (_, _, b) = send(&app, "POST", &token_uri, &[JSON_CT, KEY], body.clone()).await;
    let id: String = serde_json::from_str::<Value>(&b).unwrap()["id"]
        .as_str()
        .unwrap()
        .into();
    f.advance(31);
    let (s, _, html) = send(
        &app,
        "POST",
        "/pin-control/v1/pin",
        &[FORM_CT],
        format!("controlId={id}"),
    )
    .await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("control-id-expired"));

    // Set PIN over HTTP, with a weak PIN first
    let (_, _, b) = send(
        &app,
        "POST",
        &token_uri,
        &[JSON_CT, KEY],
        json!({"scope": "SET_PIN"}).to_string(),
    )
    .await;
    let id: String = serde_json::from_str::<Value>(&b).unwrap()["id"]
        .as_str()
        .unwrap()
        .into();
    let (s, _, html) = send(
        &app,
        "POST",
        "/pin-control/v1/pin",
        &[FORM_CT],
        format!("controlId={id}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let data = page_data(&html);
    assert_eq!(data["scope"], "SET_PIN");
    let sk = data["serviceKey"].to_string();
    let sid = data["snapshotId"].as_str().unwrap();
    let set_uri = data["setURL"].as_str().unwrap();
    let (s, _, b) = send(
        &app,
        "POST",
        set_uri,
        &[JSON_CT],
        json!({"encryptedPin": encrypt_pin(&sk, sid, "2222")}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("weak-pin") && !b.contains("2222"), "{b}");
    // a clear PIN field is not accepted
    let (s, _, _) = send(
        &app,
        "POST",
        set_uri,
        &[JSON_CT],
        json!({"pin": NEW_PIN}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, b) = send(
        &app,
        "POST",
        set_uri,
        &[JSON_CT],
        json!({"encryptedPin": encrypt_pin(&sk, sid, NEW_PIN)}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains("PIN_SET"));

    // rate limit over HTTP: 429 with Retry-After
    let limited = fixture(PinControlConfig {
        rate_limit: 1,
        ..PinControlConfig::default()
    });
    let app2 = emv_host::http::router_with(Arc::clone(&limited.pc));
    send(&app2, "POST", &token_uri, &[JSON_CT, KEY], body.clone()).await;
    let (s, h, b) = send(&app2, "POST", &token_uri, &[JSON_CT, KEY], body).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert!(h.contains_key("retry-after"));
}

#[tokio::test]
async fn openapi_documents_pin_control() {
    let app = emv_host::http::router(fixture(config()).issuer);
    let (s, _, b) = send(&app, "GET", "/openapi.json", &[], String::new()).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&b).unwrap();
    for p in [
        "/pin-control/v1/plastics/{plasticId}/token",
        "/pin-control/v1/cards/{pan}/plastics",
        "/pin-control/v1/pin",
        "/pin-control/v1/snapshots/{snapshotId}/view",
        "/pin-control/v1/snapshots/{snapshotId}/set",
    ] {
        assert!(v["paths"][p].is_object(), "{p} missing");
    }
}

/// The id with one base64url character in the middle of its ciphertext changed (never the
/// last character, whose low bits may be padding a decoder ignores).
fn tamper(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    let mut i = chars.len() / 2;
    while chars[i] == '.' {
        i += 1;
    }
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
