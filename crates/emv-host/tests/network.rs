//! The network routes' rules (docs/issuer-host.md §1-§5), each through the HTTP API: the
//! acquirer key, the journal and its RRNs, advices and reversals that act only on an
//! answer the host gave, amounts, chip and currency, the online PIN without an oracle,
//! and PVV PIN lengths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use emv_auth::{Advice, AdviceReason, AuthResponse, Channel, EntryMode, OriginalData};
use emv_crypto::Cvn;
use emv_host::http::{self, Network};
use emv_host::testkit::{self, Online, TEST_ACQUIRER_KEY, TEST_API_KEY, TempDir, TestCard};
use emv_host::{CardRef, HostKeys, Issuer, PinControl, PinControlConfig, PinVerificationMethod};
use serde_json::{Value, json};
use tower::ServiceExt;

const PAN: &str = "4761739001010010";
const PIN: &str = "4821";
const ACQUIRER: (&str, &str) = ("x-acquirer-key", TEST_ACQUIRER_KEY);
const ISSUER: (&str, &str) = ("x-api-key", TEST_API_KEY);

struct Fixture {
    _dir: TempDir,
    issuer: Issuer,
    app: Router,
    card: TestCard,
}

fn fixture(method: PinVerificationMethod) -> Fixture {
    let dir = TempDir::new("network");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let p = testkit::provision(PAN, Cvn::Visa18, PIN, method);
    issuer.provision(&p, false).unwrap();
    let app = http::router(issuer.clone());
    Fixture {
        _dir: dir,
        issuer,
        app,
        card: TestCard::new(&p).unwrap(),
    }
}

async fn call(
    app: &Router,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl serde::Serialize,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method("POST").uri(uri);
    for (h, v) in headers {
        b = b.header(*h, *v);
    }
    let req = b
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

impl Fixture {
    async fn authorise(&self, req: &emv_auth::AuthRequest) -> AuthResponse {
        let (s, v) = call(&self.app, "/v1/authorise", &[ACQUIRER], req).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }

    async fn online(&mut self, amount: u64, pin: Option<&str>) -> (Online, AuthResponse) {
        let o = self.card.online(amount, pin).unwrap();
        let r = self.authorise(&o.request).await;
        (o, r)
    }

    async fn advise(&self, advice: &Advice) -> Value {
        let (s, v) = call(&self.app, "/v1/advice", &[ACQUIRER], advice).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    fn view(&self) -> emv_host::CardView {
        self.issuer.card_status(&CardRef::new(PAN, None)).unwrap()
    }
}

#[tokio::test]
async fn network_routes_need_an_acquirer_key_and_it_opens_nothing_else() {
    let f = fixture(PinVerificationMethod::Pvv);
    let wrong_pin = testkit::card_not_present(PAN, 100, Some("1357")).unwrap();
    let bad_keys: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-acquirer-key", "wrong-acquirer-key-wrong-acquirer-key")],
        &[ISSUER],
        &[(
            "authorization",
            "Bearer test-issuer-api-key-do-not-use-in-production",
        )],
        &[("x-acquirer-key", "")],
    ];
    let mut bodies = Vec::new();
    for headers in bad_keys {
        for uri in ["/v1/authorise", "/v1/advice"] {
            let (s, v) = call(&f.app, uri, headers, &wrong_pin).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri} {headers:?}: {v}");
            bodies.push(v);
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same answer whatever was wrong: {bodies:?}"
    );
    assert_eq!(f.view().online_pin_tries_left, 3, "nothing was counted");
    // the acquirer key, in its header or as a bearer token
    for h in [
        ACQUIRER,
        (
            "authorization",
            "Bearer test-acquirer-key-do-not-use-in-production",
        ),
    ] {
        let (s, v) = call(&f.app, "/v1/authorise", &[h], &wrong_pin).await;
        assert_eq!(
            (s, v["response_code"].as_str()),
            (StatusCode::OK, Some("55"))
        );
    }
    assert_eq!(f.view().online_pin_tries_left, 1);
    // an acquirer key opens no management route
    for h in [
        ACQUIRER,
        (
            "authorization",
            "Bearer test-acquirer-key-do-not-use-in-production",
        ),
        ("x-api-key", TEST_ACQUIRER_KEY),
    ] {
        let (s, _) = call(
            &f.app,
            &format!("/v1/cards/{PAN}/pin/unblock"),
            &[h],
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{h:?}");
    }
    assert_eq!(f.view().online_pin_tries_left, 1);
    // --insecure-network: no key needed
    let pc = PinControl::new(f.issuer.clone(), PinControlConfig::default()).unwrap();
    let open = http::router_with_network(Arc::new(pc), Network::Insecure);
    let (s, v) = call(&open, "/v1/authorise", &[], &wrong_pin).await;
    assert_eq!(
        (s, v["response_code"].as_str()),
        (StatusCode::OK, Some("55"))
    );
}

#[tokio::test]
async fn every_answer_carries_an_rrn_the_requests_or_a_unique_one() {
    let f = fixture(PinVerificationMethod::Pvv);
    let mut seen = std::collections::HashSet::new();
    for pan in [PAN, "4761739001010028"] {
        for _ in 0..3 {
            let r = f
                .authorise(&testkit::card_not_present(pan, 1, None).unwrap())
                .await;
            let rrn = r.rrn.unwrap();
            assert_eq!(rrn.len(), 12);
            assert!(rrn.bytes().all(|b| b.is_ascii_digit()), "{rrn}");
            assert!(seen.insert(rrn), "unique");
        }
    }
    let mut req = testkit::card_not_present(PAN, 1, None).unwrap();
    req.rrn = Some("A1B2C3D4E5F6".into());
    assert_eq!(f.authorise(&req).await.rrn.as_deref(), Some("A1B2C3D4E5F6"));
    req.rrn = Some("123".into());
    let (s, v) = call(&f.app, "/v1/authorise", &[ACQUIRER], &req).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
}

#[tokio::test]
async fn a_forged_advice_cannot_settle_a_pending_pin_change() {
    let mut f = fixture(PinVerificationMethod::Pvv);
    let card = CardRef::new(PAN, None);
    let out = f
        .issuer
        .reset_pin(&card, emv_host::PinResetMode::New, "test")
        .unwrap();
    let script = hex::decode(&out.pending_scripts[0].script_id).unwrap();
    let new_pin = f.issuer.reveal_pin(&card, "test").unwrap();
    let success = [&[0x20][..], &script].concat();
    let icc = |atc: u16| {
        [
            &[0x9F, 0x36, 0x02][..],
            &atc.to_be_bytes(),
            &[0x9F, 0x5B, 0x05],
            &success,
        ]
        .concat()
    };
    // about no answer at all: 25, nothing changes
    for stan in [0, 1, 2] {
        let forged = Advice {
            reason: AdviceReason::Completion,
            pan: PAN.into(),
            stan,
            rrn: Some(format!("{stan:012}")),
            icc_data: icc(1),
            ..Advice::default()
        };
        let v = f.advise(&forged).await;
        assert_eq!(v["response_code"], "25", "{v}");
        assert_eq!(v["confirmed"], json!([]));
    }
    // quoting a real answer that did not carry the script: ignored
    let ecommerce = testkit::card_not_present(PAN, 1, None).unwrap();
    let r = f.authorise(&ecommerce).await;
    let quoting = Advice {
        reason: AdviceReason::Completion,
        pan: PAN.into(),
        stan: ecommerce.stan,
        rrn: r.rrn.clone(),
        icc_data: [&[0x9F, 0x5B, 0x05][..], &success].concat(),
        ..Advice::default()
    };
    let v = f.advise(&quoting).await;
    assert_eq!(v["response_code"], "00", "{v}");
    assert_eq!(v["confirmed"], json!([]));
    assert_eq!(v["ignored"], json!([hex::encode_upper(&script)]));
    assert_eq!(f.view().pending_scripts, 1);
    assert_eq!(
        f.issuer.reveal_pin(&card, "test").unwrap(),
        new_pin,
        "the only copy of the new PIN is kept"
    );
    // the answer that carried it, quoted with its STAN, RRN and ATC, settles it
    let (o, r) = f.online(100, None).await;
    assert_eq!(r.issuer_scripts.len(), 1);
    let mut wrong_atc = testkit::completion(&o, &r, Some(&success));
    wrong_atc.icc_data = icc(o.atc + 1);
    assert_eq!(f.advise(&wrong_atc).await["response_code"], "25");
    assert_eq!(f.view().pending_scripts, 1);
    let v = f.advise(&testkit::completion(&o, &r, Some(&success))).await;
    assert_eq!(v["confirmed"], json!([hex::encode_upper(&script)]));
    assert_eq!(f.view().pending_scripts, 0);
    assert_eq!(
        f.issuer.reveal_pin(&card, "test").unwrap_err().code(),
        "pin-not-recoverable",
        "the chip has it now: the sealed copy is gone"
    );
}

#[tokio::test]
async fn a_reversal_gives_the_amount_back_once() {
    let mut f = fixture(PinVerificationMethod::Pvv);
    let (o, r) = f.online(500, Some(PIN)).await;
    assert_eq!(r.response_code.as_str(), "00");
    assert_eq!(f.view().open_to_buy, 99_500);
    let v = f.advise(&testkit::reversal(&o, &r)).await;
    assert_eq!(
        (v["response_code"].as_str(), v["reversed"].as_bool()),
        (Some("00"), Some(true))
    );
    assert_eq!(f.view().open_to_buy, 100_000);
    // again (a repeat): answered, nothing changes
    let v = f.advise(&testkit::reversal(&o, &r)).await;
    assert_eq!(
        (v["response_code"].as_str(), v["reversed"].as_bool()),
        (Some("00"), Some(false))
    );
    assert_eq!(f.view().open_to_buy, 100_000);
    // an unknown original: 25, nothing changes
    let mut unknown = testkit::reversal(&o, &r);
    unknown.stan += 1000;
    let v = f.advise(&unknown).await;
    assert_eq!(
        (v["response_code"].as_str(), v["reversed"].as_bool()),
        (Some("25"), Some(false))
    );
    let mut elsewhere = testkit::reversal(&o, &r);
    elsewhere.terminal_id = "ATM00002".into();
    assert_eq!(f.advise(&elsewhere).await["response_code"], "25");
    // by DE 90 alone, partially: at most the original amount
    let (o, r) = f.online(700, None).await;
    assert_eq!(f.view().open_to_buy, 99_300);
    let by_de90 = Advice {
        reason: AdviceReason::Reversal,
        request: false,
        pan: PAN.into(),
        stan: 4242,
        amount: Some(200),
        original: Some(OriginalData {
            mti: o.request.message_type.mti().into(),
            stan: o.request.stan,
            transmitted_at: o.request.transmitted_at.clone().unwrap(),
            ..OriginalData::default()
        }),
        ..Advice::default()
    };
    assert_eq!(f.advise(&by_de90).await["reversed"], true);
    assert_eq!(f.view().open_to_buy, 99_500);
    assert_eq!(f.advise(&by_de90).await["reversed"], false, "once");
    let huge = Advice {
        amount: Some(u64::MAX),
        ..testkit::reversal(&o, &r)
    };
    assert_eq!(f.advise(&huge).await["reversed"], false, "reversed already");
    assert_eq!(f.view().open_to_buy, 99_500);
    // a declined original: no money moves
    let (o, r) = f.online(200_000, None).await;
    assert_eq!(r.response_code.as_str(), "51");
    let v = f.advise(&testkit::reversal(&o, &r)).await;
    assert_eq!(
        (v["response_code"].as_str(), v["reversed"].as_bool()),
        (Some("00"), Some(false))
    );
    assert_eq!(f.view().open_to_buy, 99_500);
}

#[tokio::test]
async fn scripts_sent_in_a_reversed_answer_go_back_to_pending() {
    let mut f = fixture(PinVerificationMethod::Pvv);
    let (s, _) = call(
        &f.app,
        &format!("/v1/cards/{PAN}/pin/unblock"),
        &[ISSUER],
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (o, r) = f.online(100, None).await;
    assert_eq!(r.issuer_scripts.len(), 1);
    assert_eq!(f.view().scripts[0].state.name(), "sent");
    let v = f.advise(&testkit::reversal(&o, &r)).await;
    assert_eq!(v["retry"].as_array().unwrap().len(), 1, "{v}");
    let view = f.view();
    assert_eq!(view.pending_scripts, 1);
    assert_eq!(view.scripts[0].state.name(), "pending");
    // and ride on the next approval
    let (_, r) = f.online(100, None).await;
    assert_eq!(r.issuer_scripts.len(), 1);
}

#[tokio::test]
async fn amounts_are_checked_before_any_arithmetic() {
    let f = fixture(PinVerificationMethod::Pvv);
    // the refund of 2^64-1 that once turned the open-to-buy into a float
    let mut refund = testkit::card_not_present(PAN, u64::MAX, None).unwrap();
    refund.transaction_type = emv_auth::TransactionType::Refund;
    let r = f.authorise(&refund).await;
    assert_eq!(r.response_code.as_str(), "13", "{}", r.reason);
    assert_eq!(f.view().open_to_buy, 100_000);
    for _ in 0..2 {
        let r = f
            .authorise(&testkit::card_not_present(PAN, 100, None).unwrap())
            .await;
        assert_eq!(r.response_code.as_str(), "00", "the card still answers");
    }
    for (amount, other, why) in [
        (1_000_000_000_000, 0, "DE 4 above n 12"),
        (100, 1_000_000_000_000, "amount other above n 12"),
        (100, 101, "cashback above the amount"),
    ] {
        let mut req = testkit::card_not_present(PAN, amount, None).unwrap();
        req.amount_other = other;
        req.transaction_type = emv_auth::TransactionType::Cashback;
        assert_eq!(
            f.authorise(&req).await.response_code.as_str(),
            "13",
            "{why}"
        );
    }
    refund.amount = 100_001;
    assert_eq!(
        f.authorise(&refund).await.response_code.as_str(),
        "13",
        "above the limit"
    );
    // a refund without an original never raises the open-to-buy beyond its limit
    assert_eq!(f.view().open_to_buy, 99_800);
    refund.amount = 5_000;
    assert_eq!(f.authorise(&refund).await.response_code.as_str(), "00");
    assert_eq!(f.view().open_to_buy, 100_000);
    assert_eq!(f.authorise(&refund).await.response_code.as_str(), "00");
    assert_eq!(f.view().open_to_buy, 100_000);
}

#[tokio::test]
async fn chip_channels_require_the_chip_and_the_currency_is_the_cards() {
    let mut f = fixture(PinVerificationMethod::Pvv);
    let chipless = |channel, entry| {
        let mut r = testkit::card_not_present(PAN, 100, Some(PIN)).unwrap();
        r.channel = channel;
        r.entry_mode = entry;
        r
    };
    for (req, why) in [
        (
            chipless(Channel::Pos, Some(EntryMode::Chip)),
            "POS, chip read",
        ),
        (chipless(Channel::Atm, None), "ATM, no entry mode"),
        (
            chipless(Channel::Pos, Some(EntryMode::MagStripe)),
            "POS, stripe",
        ),
        (
            chipless(Channel::Pos, Some(EntryMode::Fallback)),
            "POS, fallback",
        ),
        (
            chipless(Channel::Ecommerce, Some(EntryMode::Contactless)),
            "chip entry mode",
        ),
    ] {
        let r = f.authorise(&req).await;
        assert_eq!(r.response_code.as_str(), "05", "{why}: {}", r.reason);
        assert!(r.reason.contains("ARQC"), "{}", r.reason);
    }
    assert_eq!(f.view().online_pin_tries_left, 3, "no PIN try spent");
    assert_eq!(f.view().open_to_buy, 100_000);
    let r = f
        .authorise(&chipless(Channel::Ecommerce, Some(EntryMode::Ecommerce)))
        .await;
    assert_eq!(r.response_code.as_str(), "00");
    // another currency than the account's: declined, never debited unconverted
    let mut usd = testkit::card_not_present(PAN, 100, None).unwrap();
    usd.currency = 840;
    let r = f.authorise(&usd).await;
    assert_eq!(r.response_code.as_str(), "57");
    assert!(r.reason.contains("currency 840"), "{}", r.reason);
    assert_eq!(f.view().open_to_buy, 99_900);
    let (_, r) = f.online(100, Some(PIN)).await;
    assert_eq!(r.response_code.as_str(), "00", "with the chip's ARQC");
}

#[tokio::test]
async fn a_pvv_card_takes_only_four_digit_pins() {
    let f = fixture(PinVerificationMethod::Pvv);
    let mut p = testkit::provision(
        "4761739001010036",
        Cvn::Visa18,
        "482100",
        PinVerificationMethod::Pvv,
    );
    let (s, v) = call(&f.app, "/v1/cards", &[ISSUER], &p).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid-provisioning");
    assert!(v["detail"].as_str().unwrap().contains("4-digit"), "{v}");
    p.pin_verification = PinVerificationMethod::Ibm3624;
    let (s, v) = call(&f.app, "/v1/cards", &[ISSUER], &p).await;
    assert_eq!(s, StatusCode::OK, "IBM 3624 keeps the length: {v}");
    let change = |pan: &str, pin: &str| {
        let d = testkit::pin_block_iso0(pin, pan).unwrap();
        json!({"pin_block": hex::encode(d.pin_block), "format": 0, "key_id": d.key_id})
    };
    let (s, v) = call(
        &f.app,
        &format!("/v1/cards/{PAN}/pin/change"),
        &[ISSUER],
        change(PAN, "258013"),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pin-length"))
    );
    // the old PIN stands, and a 4-digit one is taken
    let r = f
        .authorise(&testkit::card_not_present(PAN, 1, Some("2580")).unwrap())
        .await;
    assert_eq!(r.response_code.as_str(), "55");
    let (s, v) = call(
        &f.app,
        &format!("/v1/cards/{PAN}/pin/change"),
        &[ISSUER],
        change(PAN, "2580"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = f
        .authorise(&testkit::card_not_present(PAN, 1, Some("2580")).unwrap())
        .await;
    assert_eq!(r.response_code.as_str(), "00");
    let other = "4761739001010036";
    let (s, v) = call(
        &f.app,
        &format!("/v1/cards/{other}/pin/change"),
        &[ISSUER],
        change(other, "258013"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
