//! The HTTP API through `tower::ServiceExt::oneshot` (no port), and the `HttpHost`
//! client against a real listener.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use emv_auth::{Advice, AdviceReason, Host, HostError, ResponseCode};
use emv_crypto::Cvn;
use emv_host::testkit::{self, TEST_API_KEY, TempDir, TestCard};
use emv_host::{CardRef, HostKeys, HttpHost, Issuer, PinVerificationMethod, http};
use serde_json::{Value, json};
use tower::ServiceExt;

const PAN: &str = "5413330089020011";
const PIN: &str = "4821";

fn setup() -> (TempDir, Issuer, Router, TestCard) {
    let dir = TempDir::new("http");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let p = testkit::provision(PAN, Cvn::Mc16, PIN, PinVerificationMethod::Ibm3624);
    issuer.provision(&p, false).unwrap();
    let app = http::router(issuer.clone());
    (dir, issuer, app, TestCard::new(&p).unwrap())
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    auth: Option<(&str, &str)>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some((h, v)) = auth {
        b = b.header(h, v);
    }
    let req = b
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

const BEARER: (&str, &str) = (
    "authorization",
    "Bearer test-issuer-api-key-do-not-use-in-production",
);

const ACQUIRER: (&str, &str) = (
    "x-acquirer-key",
    "test-acquirer-key-do-not-use-in-production",
);

fn tries(issuer: &Issuer) -> u8 {
    issuer
        .card_status(&CardRef::new(PAN, None))
        .unwrap()
        .online_pin_tries_left
}

#[tokio::test]
async fn management_needs_an_api_key() {
    let (_d, _i, app, _) = setup();
    let uri = format!("/v1/cards/{PAN}");
    let (s, v) = call(&app, "GET", &uri, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "unauthorized");
    let (s, _) = call(
        &app,
        "GET",
        &uri,
        Some(("authorization", "Bearer wrong-key-wrong-key-wrong")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &app,
        "POST",
        &format!("{uri}/pin/unblock"),
        Some(("x-api-key", "nope")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(&app, "GET", &uri, Some(BEARER), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["pan"], "541333******0011");
    // the scheme name is case-insensitive (RFC 9110 §11.1)
    let lower = format!("bearer {TEST_API_KEY}");
    let (s, v) = call(&app, "GET", &uri, Some(("authorization", &lower)), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["online_pin_tries_left"], 3);
    let (s, v) = call(
        &app,
        "GET",
        &format!("{uri}/plastics"),
        Some(("x-api-key", TEST_API_KEY)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v[0]["plastic_id"], "P-0011-1");
    assert_eq!(v[0]["status"], "ACTIVE");
}

#[tokio::test]
async fn bad_authorisations_are_4xx_json_and_change_nothing() {
    let (_d, issuer, app, mut card) = setup();
    let o = card.online(100, Some("1357")).unwrap();
    let good = serde_json::to_value(&o.request).unwrap();
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut v = good.clone();
    v["pin"]["key_id"] = json!("TPK-UNKNOWN");
    cases.push((v, "unknown-key-id"));
    let mut v = good.clone();
    v["pin"]["format"] = json!(4);
    cases.push((v, "wrong-pin-block-format"));
    let mut v = good.clone();
    v["pinn"] = json!("1234");
    cases.push((v, "invalid-request"));
    let mut v = good.clone();
    v["icc_data"] = json!("9F2608");
    cases.push((v, "invalid-icc-data"));
    let mut v = good.clone();
    v["pan"] = json!("12");
    cases.push((v, "bad-request"));
    for (body, code) in cases {
        let (s, v) = call(
            &app,
            "POST",
            "/v1/authorise",
            Some(ACQUIRER),
            Some(body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{code}: {v}");
        assert_eq!(v["error"], code, "{v}");
        assert!(v["detail"].as_str().unwrap().len() > 5, "{v}");
    }
    let (s, v) = call(
        &app,
        "POST",
        "/v1/authorise",
        Some(ACQUIRER),
        Some("{\"pan\": ".into()),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed-json"))
    );
    assert_eq!(tries(&issuer), 3, "no counter changed");
    // unknown PAN: an ISO answer
    let mut v = good.clone();
    v["pan"] = json!("5413330089020029");
    v["icc_data"] = json!("");
    v["pin"] = Value::Null;
    let (s, v) = call(
        &app,
        "POST",
        "/v1/authorise",
        Some(ACQUIRER),
        Some(v.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["response_code"], "14");
    // the good one: a decline 55 with the counter down
    let (s, v) = call(
        &app,
        "POST",
        "/v1/authorise",
        Some(ACQUIRER),
        Some(good.to_string()),
    )
    .await;
    assert_eq!(
        (s, v["response_code"].as_str()),
        (StatusCode::OK, Some("55"))
    );
    assert_eq!(v["online_pin"], "incorrect");
    assert_eq!(tries(&issuer), 2);
    // a block that does not decode is a wrong PIN: same code, reason and counter effect,
    // no 4xx telling the caller why (docs/issuer-host.md §3)
    let mut garbled =
        serde_json::to_value(card.online(100, Some("1357")).unwrap().request).unwrap();
    garbled["pin"]["pin_block"] = json!("0000000000000000");
    let (s, g) = call(
        &app,
        "POST",
        "/v1/authorise",
        Some(ACQUIRER),
        Some(garbled.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["response_code"], "55");
    assert_eq!(g["online_pin"], "incorrect");
    assert_eq!(g["reason"], "incorrect PIN: 1 online PIN tries left");
    assert_eq!(tries(&issuer), 1);
    // from the same counter, a wrong PIN and a garbled block answer alike
    let keep = || {
        issuer
            .reset_pin(
                &CardRef::new(PAN, None),
                emv_host::PinResetMode::Keep,
                "test",
            )
            .unwrap()
    };
    let mut answers = Vec::new();
    for garble in [false, true] {
        keep();
        let mut r = serde_json::to_value(card.online(100, Some("1357")).unwrap().request).unwrap();
        if garble {
            r["pin"]["pin_block"] = json!("FFFFFFFFFFFFFFFF");
        }
        let (s, v) = call(
            &app,
            "POST",
            "/v1/authorise",
            Some(ACQUIRER),
            Some(r.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(tries(&issuer), 2, "one try spent");
        answers.push((
            v["response_code"].clone(),
            v["reason"].clone(),
            v["online_pin"].clone(),
            v["auth_code"].clone(),
            v["issuer_scripts"].clone(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    // unknown routes and management errors are JSON too
    let (s, v) = call(&app, "GET", "/v2/nothing", None, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (s, v) = call(
        &app,
        "GET",
        "/v1/cards/5413330089020029",
        Some(BEARER),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown-card"))
    );
    let (s, v) = call(
        &app,
        "GET",
        &format!("/v1/cards/{PAN}?psn=1"),
        Some(BEARER),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    let (s, v) = call(
        &app,
        "GET",
        &format!("/v1/cards/{PAN}?pns=01"),
        Some(BEARER),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-query"))
    );
}

#[tokio::test]
async fn authorise_and_advice_over_http_settle_an_unblock() {
    let (_d, issuer, app, mut card) = setup();
    let uri = format!("/v1/cards/{PAN}/pin/unblock");
    let (s, v) = call(&app, "POST", &uri, Some(BEARER), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["pending_scripts"][0]["kind"], "pin-unblock");
    assert!(v["next_step"].as_str().unwrap().contains("ATM"));
    let o = card.online(2000, Some(PIN)).unwrap();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/authorise",
        Some(ACQUIRER),
        Some(serde_json::to_string(&o.request).unwrap()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let resp: emv_auth::AuthResponse = serde_json::from_value(v).unwrap();
    assert_eq!(resp.response_code, ResponseCode::APPROVED);
    assert_eq!(resp.issuer_scripts.len(), 1);
    card.check_response(&o, &resp).unwrap();
    let advice = Advice {
        reason: AdviceReason::Completion,
        pan: PAN.into(),
        psn: Some("01".into()),
        stan: o.request.stan,
        rrn: resp.rrn.clone(),
        icc_data: [
            vec![0x9F, 0x36, 0x02],
            o.atc.to_be_bytes().to_vec(),
            vec![0x9F, 0x5B, 0x05],
            testkit::script_results_ok(&resp),
        ]
        .concat(),
        ..Advice::default()
    };
    let (s, v) = call(
        &app,
        "POST",
        "/v1/advice",
        Some(ACQUIRER),
        Some(serde_json::to_string(&advice).unwrap()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"].as_array().unwrap().len(), 1);
    assert_eq!(
        issuer
            .card_status(&CardRef::new(PAN, None))
            .unwrap()
            .pending_scripts,
        0
    );
}

#[tokio::test]
async fn pin_management_routes() {
    let (_d, issuer, app, _) = setup();
    let base = format!("/v1/cards/{PAN}");
    for _ in 0..3 {
        issuer
            .authorise(&testkit::card_not_present(PAN, 1, Some("1357")).unwrap())
            .unwrap();
    }
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/reset"),
        Some(BEARER),
        Some(r#"{"mode":"keep"}"#.into()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["online_pin_tries_left"], 3);
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/reset"),
        Some(BEARER),
        Some(r#"{"mode":"sometimes"}"#.into()),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-request"))
    );
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/reset"),
        Some(BEARER),
        Some(r#"{"mode":"new"}"#.into()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["pending_scripts"][0]["kind"], "pin-change");
    assert!(
        !v.to_string().contains("\"pin\""),
        "the new PIN is never in the answer: {v}"
    );
    // change: a clear PIN is refused, a weak one is 422, an encrypted one works
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/change"),
        Some(BEARER),
        Some(r#"{"pin":"2580"}"#.into()),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("clear-pin-refused"))
    );
    let body = |pin: &str| {
        let d = testkit::pin_block_iso0(pin, PAN).unwrap();
        json!({"pin_block": hex::encode(d.pin_block), "format": 0, "key_id": d.key_id}).to_string()
    };
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/change"),
        Some(BEARER),
        Some(body("1111")),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("weak-pin"))
    );
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/pin/change"),
        Some(BEARER),
        Some(body("2580")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 1, Some("2580")).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
    // block / unblock
    let (s, v) = call(&app, "POST", &format!("{base}/block"), Some(BEARER), None).await;
    assert_eq!(
        (s, v["card_status"].as_str()),
        (StatusCode::OK, Some("blocked"))
    );
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 1, None).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::RESTRICTED_CARD);
    let (s, v) = call(&app, "POST", &format!("{base}/unblock"), Some(BEARER), None).await;
    assert_eq!(
        (s, v["card_status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    // the audit trail
    let (s, v) = call(&app, "GET", "/v1/audit?limit=20", Some(BEARER), None).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "pin-reset-keep",
        "pin-reset-new",
        "pin-change",
        "block-card",
        "unblock-card",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "api:test-issuer" || e["actor"] == "provisioning")
    );
    assert!(!v.to_string().contains(PAN));
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let (_d, _i, app, _) = setup();
    let (s, v) = call(&app, "GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["openapi"], "3.1.0");
    for p in [
        "/v1/authorise",
        "/v1/advice",
        "/v1/cards",
        "/v1/cards/{pan}",
        "/v1/cards/{pan}/plastics",
        "/v1/cards/{pan}/pin/unblock",
        "/v1/cards/{pan}/pin/reset",
        "/v1/cards/{pan}/pin/change",
        "/v1/cards/{pan}/block",
        "/v1/cards/{pan}/unblock",
        "/v1/audit",
    ] {
        assert!(v["paths"][p].is_object(), "{p} missing");
    }
    // every documented route answers something other than the fallback
    for (p, item) in v["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            let uri = p.replace("{pan}", PAN);
            let (_, body) = call(
                &app,
                &m.to_uppercase(),
                &uri,
                Some(BEARER),
                Some("{}".into()),
            )
            .await;
            assert_ne!(body["error"], "not-found", "{m} {p}");
        }
    }
}

#[test]
fn http_host_client_against_a_real_listener() {
    let (_d, issuer, _app, mut card) = setup();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(http::serve_on(listener, issuer.clone(), async {
        let _ = stopped.await;
    }));
    let mut host = HttpHost::new(&format!("http://{addr}"))
        .unwrap()
        .with_api_key(TEST_API_KEY)
        .with_acquirer_key(testkit::TEST_ACQUIRER_KEY);
    // keep-alive: several requests on one connection
    for _ in 0..3 {
        let o = card.online(100, Some(PIN)).unwrap();
        let r = host.authorise(&o.request).unwrap();
        assert_eq!(r.response_code, ResponseCode::APPROVED, "{}", r.reason);
        card.check_response(&o, &r).unwrap();
    }
    let mut bad = card.online(100, Some(PIN)).unwrap().request;
    bad.pin.as_mut().unwrap().key_id = "TPK-NOPE".into();
    match host.authorise(&bad) {
        Err(HostError::Rejected(m)) => assert!(m.contains("unknown-key-id"), "{m}"),
        other => panic!("{other:?}"),
    }
    host.advise(&Advice {
        reason: AdviceReason::Completion,
        pan: PAN.into(),
        psn: None,
        stan: 1,
        icc_data: Vec::new(),
        ..Advice::default()
    })
    .unwrap();
    let v = host.card_status(&CardRef::new(PAN, Some("01"))).unwrap();
    assert_eq!(v.online_pin_tries_left, 3);
    assert_eq!(v.open_to_buy, 100_000 - 300);
    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();
    assert!(matches!(
        host.authorise(&card.online(1, None).unwrap().request),
        Err(HostError::Unreachable(_))
    ));
}

/// A plain `GET /health` on a new connection: the status line, or the error.
fn health(addr: std::net::SocketAddr) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.lines().next().unwrap_or_default().to_string())
}

/// Opens `n` connections that send half a request header and then nothing.
fn half_sent(addr: std::net::SocketAddr, n: usize) -> Vec<std::net::TcpStream> {
    use std::io::Write;
    (0..n)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /v1/authorise HTTP/1.1\r\nHost: x\r\nContent-Le")
                .unwrap();
            s
        })
        .collect()
}

#[test]
fn slow_clients_cannot_hold_the_listener() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let (_d, issuer, _app, _) = setup();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let serve = |limits: http::ListenerLimits| {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(http::serve_router_with(
            listener,
            http::router(issuer.clone()),
            async {
                let _ = stopped.await;
            },
            limits,
        ));
        (addr, stop, server)
    };
    // 300 half-sent requests: /health still answers at once
    let (addr, stop, server) = serve(http::ListenerLimits::default());
    let slow = half_sent(addr, 300);
    let t = Instant::now();
    assert_eq!(health(addr).unwrap(), "HTTP/1.1 200 OK");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // shutdown with 300 slow clients connected: within the grace period
    let t = Instant::now();
    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    drop(slow);
    // with every connection slot taken by slow clients, the header timeout frees them
    let limits = http::ListenerLimits {
        header_timeout: Duration::from_millis(500),
        max_connections: 16,
        ..http::ListenerLimits::default()
    };
    let (addr, stop, server) = serve(limits);
    let mut slow = half_sent(addr, 100);
    let t = Instant::now();
    assert_eq!(health(addr).unwrap(), "HTTP/1.1 200 OK");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // a slow client is cut after the header timeout (no answer, or a 408)
    let first = &mut slow[0];
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = first.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || head.starts_with("HTTP/1.1 408"), "{head}");
    // an idle kept-alive connection too
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    std::io::Write::write_all(&mut idle, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200 OK"));
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "closed when idle: {:?}",
        t.elapsed()
    );
    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();
}
