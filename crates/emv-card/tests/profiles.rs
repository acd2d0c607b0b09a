//! Every shipped card profile builds, and profile errors name the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::Arc;

use emv_card::{Card, CardError, Personalisation, profile};

#[test]
fn every_shipped_profile_builds_and_selects() {
    let names = profile::available_profiles();
    assert!(names.len() >= 10, "{names:?}");
    for n in &names {
        let p = Personalisation::load(n, &[]).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(&p.name, n, "profile name must match its file name");
        let aid = p.apps[0].aid.clone();
        let mut card = Card::in_memory(Arc::new(p)).unwrap();
        let mut sel = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
        sel.extend_from_slice(&aid);
        sel.push(0);
        let r = card.handle(&sel);
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "{n}");
    }
}

#[test]
fn field_errors_name_the_field() {
    let base = profile::resolve("visa-cvn18").unwrap().text().unwrap();
    let cases = [
        ("pin = \"1234\"", "pin = \"12a4\"", "card.pin"),
        (
            "pin_try_limit = 3\n",
            "pin_try_limit = 16\n",
            "card.pin_try_limit",
        ),
        ("expiry = \"2912\"", "expiry = \"2913\"", "card.expiry"),
        ("cvn = \"visa-18\"", "cvn = \"visa-19\"", "cvn"),
        ("\"8C\"   = \"9F02", "\"8C\"   = \"ZZ02", "data.8C"),
        (
            "{ sfi = 1, record = 1, tags = [\"57\", \"5F20\"] }",
            "{ sfi = 1, record = 1, tags = [\"57\", \"9F99\"] }",
            "application[0].records[0].tags[1]",
        ),
        (
            "{ sfi = 1, record = 1,",
            "{ sfi = 31, record = 1,",
            "application[0].records[0].sfi",
        ),
        (
            "issuer_key = \"ISSUER_1024_E3\"",
            "issuer_key = \"ISSUER_9999\"",
            "oda.issuer_key",
        ),
    ];
    for (from, to, field) in cases {
        assert!(base.contains(from), "fixture drifted: {from}");
        let text = base.replacen(from, to, 1);
        let file = profile::parse(&text, "test.toml").unwrap();
        let err = Personalisation::build(file, "test.toml", &[]).unwrap_err();
        match &err {
            CardError::ProfileField { field: f, .. } => assert_eq!(f, field, "{err}"),
            other => panic!("{field}: unexpected {other}"),
        }
    }
    // unknown keys are a syntax error with the line
    let err = profile::parse(
        &base
            .replacen("pse = ", "pse_x = ", 1)
            .replacen("[card]", "[card]\npinn = \"1\"", 1),
        "t.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("pinn"), "{err}");
    assert!(err.to_string().contains("line"), "{err}");
}

#[test]
fn a_profile_whose_answer_needs_more_than_a_short_apdu_is_refused() {
    // every answer fits in 256 data bytes (ISO/IEC 7816-4 §5.1): the shipped profiles do
    for n in profile::available_profiles() {
        let p = Personalisation::load(&n, &[]).unwrap();
        for (k, rec) in &p.apps[0].records {
            assert!(
                rec.len() <= 256,
                "{n} SFI {} record {}: {}",
                k.0,
                k.1,
                rec.len()
            );
        }
    }
    let base = profile::resolve("visa-cvn18").unwrap().text().unwrap();
    let refuse = |from: &str, to: &str| {
        assert!(base.contains(from), "fixture drifted: {from}");
        let file = profile::parse(&base.replacen(from, to, 1), "big.toml").unwrap();
        Personalisation::build(file, "big.toml", &[]).unwrap_err()
    };
    // the issuer certificate and the SDA signature in one record: 311 bytes
    let err = refuse(
        "{ sfi = 3, record = 1, tags = [\"8F\", \"90\", \"9F32\", \"92\"] },\n    { sfi = 3, record = 2, tags = [\"93\"] },",
        "{ sfi = 3, record = 1, tags = [\"8F\", \"90\", \"9F32\", \"92\", \"93\"] },",
    );
    let CardError::ProfileField { field, reason, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(field, "application[0].records[3]", "{err}");
    assert!(
        reason.contains("READ RECORD SFI 3 record 1") && reason.contains("311 data bytes"),
        "{err}"
    );
    // an FCI that does not fit: a 250-character preferred name (9F12)
    let err = refuse(
        "label = \"VISA CREDIT\"\n",
        &format!(
            "label = \"VISA CREDIT\"\npreferred_name = \"{}\"\n",
            "N".repeat(250)
        ),
    );
    let CardError::ProfileField { field, reason, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(field, "application[0]", "{err}");
    assert!(
        reason.contains("FCI") && reason.contains("data bytes"),
        "{err}"
    );
}

#[test]
fn unknown_profile_lists_the_available_ones() {
    let err = Personalisation::load("visa-cvn99", &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("visa-cvn99") && msg.contains("visa-cvn18"),
        "{msg}"
    );
}

#[test]
fn the_published_test_ca_file_matches_the_built_in_keys() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../card-profiles/ca/test-ca.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let t: toml::Table = text.parse().unwrap();
    let keys = t["key"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for (k, (idx, test)) in keys.iter().zip(emv_crypto::oda::test_keys::TEST_CA_KEYS) {
        assert_eq!(k["index"].as_str().unwrap(), format!("{idx:02X}"));
        let public = test.public_key().unwrap();
        assert_eq!(
            k["modulus"].as_str().unwrap(),
            hex::encode_upper(public.modulus())
        );
        assert_eq!(
            k["exponent"].as_str().unwrap(),
            hex::encode_upper(public.exponent())
        );
    }
}
