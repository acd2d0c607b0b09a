//! Fuzz the issuer host's HTTP API (`emv_host::http::router`) with request bodies.
//!
//! Input: one request body (JSON, or anything). It is sent (POST), through
//! `tower::ServiceExt::oneshot` (no socket), to every route that reads a body: authorise,
//! advice, provisioning, PIN reset, PIN change, the PIN Control token, the device's View PIN
//! and Set PIN and the PIN page form; the management routes get the TEST issuer API key,
//! the network routes (authorise, advice) the TEST acquirer key.
//! The host is an in-memory `Issuer` with one provisioned card (`testkit::provision`,
//! PAN [`PAN`], PIN 4821, IBM 3624), rebuilt after any input that a route accepted (2xx),
//! so every input starts from the same state.
//!
//! Invariants: no panic; every status is 2xx or 4xx, never 5xx; a 4xx leaves the card
//! exactly as it was (the whole `card_status` view: online PIN tries, status, scripts,
//! chip knowledge, balance, plastics); a JSON route's 4xx is an `{"error", "detail"}` body
//! with a non-empty error code, and its 2xx is JSON; the online PIN tries stay within the
//! limit.
#![no_main]

use std::sync::{Mutex, OnceLock, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use emv_crypto::Cvn;
use emv_host::http::ErrorBody;
use emv_host::testkit::{self, TEST_ACQUIRER_KEY, TEST_API_KEY};
use emv_host::{CardRef, CardView, HostKeys, Issuer, PinVerificationMethod};
use tower::ServiceExt;

/// The provisioned card (the seeds in `seeds/host_json/` use it).
const PAN: &str = "5413330089020011";
const PIN: &str = "4821";

/// (path, needs the API key, JSON body and answer; `false`: a form posted, HTML back)
const ROUTES: [(&str, bool, bool); 9] = [
    ("/v1/authorise", false, true),
    ("/v1/advice", false, true),
    ("/v1/cards", true, true),
    ("/v1/cards/5413330089020011/pin/reset", true, true),
    ("/v1/cards/5413330089020011/pin/change", true, true),
    ("/pin-control/v1/plastics/P-0011-1/token", true, true),
    ("/pin-control/v1/snapshots/S-fuzz/view", false, true),
    ("/pin-control/v1/snapshots/S-fuzz/set", false, true),
    ("/pin-control/v1/pin", false, false),
];

struct Fixture {
    issuer: Issuer,
    app: Router,
}

fn fixture() -> Fixture {
    let keys = HostKeys::load_test_keys().expect("TEST host keys");
    let issuer = Issuer::in_memory(keys).expect("in-memory issuer");
    let p = testkit::provision(PAN, Cvn::Mc16, PIN, PinVerificationMethod::Ibm3624);
    issuer.provision(&p, false).expect("provisioning");
    let app = emv_host::http::router(issuer.clone());
    Fixture { issuer, app }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
    })
}

fn view(issuer: &Issuer) -> CardView {
    // with the PSN: a provisioning body may add a card with the same PAN and another PSN
    issuer
        .card_status(&CardRef::new(PAN, Some("01")))
        .expect("the provisioned card is known")
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static FIXTURE: Mutex<Option<Fixture>> = Mutex::new(None);
    let mut slot = FIXTURE.lock().unwrap_or_else(PoisonError::into_inner);
    let f = slot.get_or_insert_with(fixture);
    let rt = runtime();
    let mut before = view(&f.issuer);
    let mut accepted = false;
    for (path, auth, json) in ROUTES {
        let mut req = Request::builder().method("POST").uri(path).header(
            header::CONTENT_TYPE,
            if json {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            },
        );
        if auth {
            req = req.header("x-api-key", TEST_API_KEY);
        } else if path == "/v1/authorise" || path == "/v1/advice" {
            req = req.header("x-acquirer-key", TEST_ACQUIRER_KEY);
        }
        let req = req
            .body(Body::from(data.to_vec()))
            .expect("a request with a static URI");
        let (status, body) = rt.block_on(async {
            let resp = f.app.clone().oneshot(req).await.expect("infallible");
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("the answer body");
            (status, body)
        });
        let text = String::from_utf8_lossy(&body);
        assert!(
            status.is_success() || status.is_client_error(),
            "{path}: status {status}: {text}"
        );
        let after = view(&f.issuer);
        if status.is_client_error() {
            assert_eq!(before, after, "{path}: a {status} changed the card: {text}");
            if json {
                let e: ErrorBody = serde_json::from_slice(&body).unwrap_or_else(|e| {
                    panic!("{path}: {status} body is not an error object ({e}): {text}")
                });
                assert!(!e.error.is_empty(), "{path}: empty error code");
            }
        } else {
            accepted = true;
            if json {
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
                    "{path}: {status} answer is not JSON: {text}"
                );
            }
        }
        assert!(after.online_pin_tries_left <= after.online_pin_try_limit);
        before = after;
    }
    if accepted {
        // something changed (or may have: tokens, audit): start the next input afresh
        *slot = None;
    }
});
