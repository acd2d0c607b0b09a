//! JWE tests: the J01–J04 vectors, RFC 7518 Appendix C, RFC 7638, round trips and
//! tampering.

use proptest::prelude::*;
use serde_json::Value;

use super::*;

#[path = "../../tests/vectors/jwe.rs"]
mod vectors;
use vectors::*;

fn header_json(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&b64d(part, "test").unwrap()).unwrap()
}

fn j02() -> PrivateJwk {
    PrivateJwk::from_json(J02_PRIVATE_JWK).unwrap()
}

fn j03() -> PrivateJwk {
    PrivateJwk::from_json(J03_PRIVATE_JWK).unwrap()
}

#[test]
fn j01_dir_token_is_byte_exact() {
    let key = PrivateJwk::from_json(J01_JWK).unwrap();
    assert_eq!(key.kid(), Some("viewpin-dir-1"));
    let iv: [u8; 12] = core::array::from_fn(|i| i as u8);
    let token = JweEncrypter::direct_jwk(&key)
        .unwrap()
        .with_iv(iv)
        .encrypt(PLAINTEXT.as_bytes())
        .unwrap();
    assert_eq!(token, J01_TOKEN);
    // The same with the raw key and an explicit kid.
    let raw: Vec<u8> = (0u8..32).collect();
    let token = JweEncrypter::direct(&raw)
        .unwrap()
        .kid("viewpin-dir-1")
        .with_iv(iv)
        .encrypt(PLAINTEXT.as_bytes())
        .unwrap();
    assert_eq!(token, J01_TOKEN);
    let decrypted = decrypt(J01_TOKEN, &key).unwrap();
    assert_eq!(decrypted.plaintext.as_slice(), PLAINTEXT.as_bytes());
    assert_eq!(decrypted.header.alg, KeyManagement::Direct);
    assert_eq!(decrypted.header.kid.as_deref(), Some("viewpin-dir-1"));
}

#[test]
fn j01_tampered_tag_is_rejected() {
    let key = PrivateJwk::from_json(J01_JWK).unwrap();
    let mut parts: Vec<String> = J01_TOKEN.split('.').map(str::to_owned).collect();
    let mut tag = b64d(&parts[4], "t").unwrap();
    tag[0] ^= 1;
    parts[4] = b64e(&tag);
    assert_eq!(
        decrypt(&parts.join("."), &key).unwrap_err(),
        CryptoError::JweDecryption
    );
}

#[test]
fn j02_rsa_oaep_256_token_from_jwcrypto() {
    let key = j02();
    let decrypted = decrypt(J02_TOKEN, &key).unwrap();
    assert_eq!(decrypted.plaintext.as_slice(), PLAINTEXT.as_bytes());
    assert_eq!(decrypted.header.alg, KeyManagement::RsaOaep256);
    assert_eq!(decrypted.header.enc, ContentEncryption::A256Gcm);
    assert_eq!(decrypted.header.kid.as_deref(), Some("viewpin-rsa-1"));
    assert_eq!(decrypted.header.cty.as_deref(), Some("application/json"));
    // The JWK's kid is its RFC 7638 thumbprint.
    let public = key.public_jwk().unwrap();
    assert_eq!(
        public.thumbprint(),
        "5BKpYt72HLC3oJ-E0JbynnNAAXLfI1Ra2WggEa2VmRU"
    );
    assert_eq!(public.kid(), key.kid());
}

#[test]
fn j03_ecdh_es_token_from_jwcrypto() {
    let key = j03();
    let decrypted = decrypt(J03_TOKEN, &key).unwrap();
    assert_eq!(decrypted.plaintext.as_slice(), PLAINTEXT.as_bytes());
    assert_eq!(decrypted.header.alg, KeyManagement::EcdhEs);
    assert_eq!(decrypted.header.kid.as_deref(), Some("viewpin-ec-1"));
    let epk = decrypted.header.epk.unwrap();
    assert_eq!(
        epk.to_json(),
        r#"{"kty":"EC","crv":"P-256","x":"NmC11eJqS7vkhvLZcvFFHc2SV5MFuIv3vPiQ4aB3QZ0","y":"_H8S8wF5EQH4bUPffGP30SXgyxz5btI3zZd0FVWrBpE"}"#
    );
    assert_eq!(
        key.public_jwk().unwrap().thumbprint(),
        "MTGNX1CShlTxTaABu0__VAPkIVZtwAYkpup-joV8xeM"
    );
}

#[test]
fn j04_nested_jws_inside_jwe() {
    let decrypted = decrypt(J04_TOKEN, &j02()).unwrap();
    assert_eq!(decrypted.header.cty.as_deref(), Some("JWT"));
    assert_eq!(decrypted.header.kid, None);
    let jws = core::str::from_utf8(&decrypted.plaintext).unwrap();
    let inner_header = header_json(jws);
    assert_eq!(inner_header["alg"], "ES256");
    assert_eq!(inner_header["kid"], "viewpin-ec-1");
    // Bonus: the ES256 signature verifies with the viewpin-ec-1 (J03) public key.
    let ec_public = j03().public_jwk().unwrap();
    let payload = verify_es256(jws, &ec_public).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["pin"], "1234");
    assert_eq!(claims["sub"], "card:4761739001010119");
    assert_eq!(claims["exp"], 1_735_689_600);
    // A changed payload or a wrong key fails.
    let mut parts: Vec<&str> = jws.split('.').collect();
    let forged = b64e(br#"{"exp":1735689600,"pin":"0000","sub":"card:4761739001010119"}"#);
    parts[1] = &forged;
    assert_eq!(
        verify_es256(&parts.join("."), &ec_public),
        Err(CryptoError::VerificationFailed("JWS ES256 signature"))
    );
    let other = PrivateJwk::generate_p256(&mut rand_core::UnwrapErr(getrandom::SysRng));
    assert!(verify_es256(jws, &other.public_jwk().unwrap()).is_err());
    assert_eq!(
        verify_es256(jws, &j02().public_jwk().unwrap()),
        Err(CryptoError::JweKey("ES256 needs a P-256 key"))
    );
}

const ALICE: &str = r#"{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps","d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}"#;
const BOB: &str = r#"{"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ","y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck","d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}"#;

#[test]
fn rfc7518_appendix_c_concat_kdf() {
    // Z from the RFC, then the full key agreement with the RFC's keys.
    let z: [u8; 32] = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110,
        163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];
    let derived = concat_kdf(&z, 16, b"A128GCM", b"Alice", b"Bob").unwrap();
    assert_eq!(b64e(&derived), "VqqN6vgjbSBcIijNcacQGg");

    let (alice, bob) = (
        PrivateJwk::from_json(ALICE).unwrap(),
        PrivateJwk::from_json(BOB).unwrap(),
    );
    let (PrivateKey::Ec(alice), PrivateKey::Ec(bob)) = (alice.key(), bob.key()) else {
        panic!("EC keys expected");
    };
    let z_alice = alice.diffie_hellman(&bob.public_key());
    let z_bob = bob.diffie_hellman(&alice.public_key());
    assert_eq!(z_alice.raw_secret_bytes().as_slice(), z);
    assert_eq!(z_bob.raw_secret_bytes().as_slice(), z);

    // Longer outputs take several rounds; the first round is a prefix.
    let long = concat_kdf(&z, 48, b"A128GCM", b"Alice", b"Bob").unwrap();
    assert_eq!(long.len(), 48);
    assert!(concat_kdf(&z, 0, b"", b"", b"").is_err());
}

#[test]
fn ecdh_es_with_rfc_keys_and_agreement_info() {
    let alice = PrivateJwk::from_json(ALICE).unwrap();
    let bob = PrivateJwk::from_json(BOB).unwrap();
    let bob_public = bob.public_jwk().unwrap();
    let encrypter = JweEncrypter::new(&bob_public)
        .agreement_info(b"Alice", b"Bob")
        .with_ephemeral_key(&alice)
        .unwrap()
        .with_iv([7; 12]);
    let token = encrypter.encrypt(b"hello").unwrap();
    // Deterministic with the injected ephemeral key and IV.
    assert_eq!(token, encrypter.encrypt(b"hello").unwrap());
    let header = header_json(&token);
    assert_eq!(header["apu"], "QWxpY2U");
    assert_eq!(header["apv"], "Qm9i");
    assert_eq!(
        header["epk"]["x"],
        "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
    );
    let decrypted = decrypt(&token, &bob).unwrap();
    assert_eq!(decrypted.plaintext.as_slice(), b"hello");
    assert_eq!(decrypted.header.apu, b"Alice");
    assert_eq!(decrypted.header.apv, b"Bob");
}

#[test]
fn headers_are_minimal_and_never_null() {
    let ec = j03().public_jwk().unwrap().with_kid("viewpin-ec-1");
    let token = JweEncrypter::new(&ec).encrypt(b"x").unwrap();
    let header_text =
        String::from_utf8(b64d(token.split('.').next().unwrap(), "h").unwrap()).unwrap();
    assert!(!header_text.contains("null"), "{header_text}");
    let header = header_json(&token);
    let keys: Vec<&String> = header.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["alg", "enc", "epk", "kid"]);
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    let epk: Vec<&String> = header["epk"].as_object().unwrap().keys().collect();
    assert_eq!(epk, ["crv", "kty", "x", "y"]);
    assert!(
        header_text.starts_with(
            r#"{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"#
        )
    );
    // ECDH-ES has no encrypted key.
    assert_eq!(token.split('.').nth(1), Some(""));

    let rsa = j02().public_jwk().unwrap();
    let token = JweEncrypter::new(&rsa)
        .content_type("application/json")
        .encrypt(b"x")
        .unwrap();
    let header_text =
        String::from_utf8(b64d(token.split('.').next().unwrap(), "h").unwrap()).unwrap();
    assert_eq!(
        header_text,
        r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"5BKpYt72HLC3oJ-E0JbynnNAAXLfI1Ra2WggEa2VmRU","cty":"application/json"}"#
    );
    // Encrypted key is as long as the modulus.
    assert_eq!(
        b64d(token.split('.').nth(1).unwrap(), "k").unwrap().len(),
        256
    );
    // Without a kid on the JWK there is no kid member.
    let json = rsa.to_json();
    assert!(json.starts_with(r#"{"kty":"RSA","n":""#), "{json}");
    let mut value: Value = serde_json::from_str(J02_PRIVATE_JWK).unwrap();
    value.as_object_mut().unwrap().remove("kid");
    let bare = PublicJwk::from_value(&value).unwrap();
    assert_eq!(bare.kid(), None);
    let token = JweEncrypter::new(&bare).encrypt(b"x").unwrap();
    assert_eq!(
        header_json(&token)
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["alg", "enc"]
    );
}

#[test]
fn jwk_import_export() {
    // As WebCrypto exports a P-256 public key (extra members are ignored).
    let webcrypto = r#"{"crv":"P-256","ext":true,"key_ops":[],"kty":"EC","x":"0nIiWFAlDrgu1G1OJ6ZSakAWrFgiU3POWOF3MVSPicg","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph0"}"#;
    let jwk = PublicJwk::from_json(webcrypto).unwrap();
    assert_eq!(jwk.key_management(), KeyManagement::EcdhEs);
    assert_eq!(
        jwk.to_json(),
        r#"{"kty":"EC","crv":"P-256","x":"0nIiWFAlDrgu1G1OJ6ZSakAWrFgiU3POWOF3MVSPicg","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph0"}"#
    );
    assert_eq!(jwk.thumbprint(), j03().public_jwk().unwrap().thumbprint());
    assert_eq!(jwk.kid(), None);
    let rsa = j02().public_jwk().unwrap();
    assert_eq!(PublicJwk::from_json(&rsa.to_json()).unwrap(), rsa);
    assert_eq!(rsa.key_management(), KeyManagement::RsaOaep256);
    // RFC 7638 §3.1 example thumbprint.
    let rfc7638 = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
    assert_eq!(
        PublicJwk::from_json(rfc7638).unwrap().thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // Private keys never print secrets.
    let printed = format!("{:?}", j03());
    assert!(
        !printed.contains("dBVhVoDOTgjSPXr5OR3PTj5e13Ba5168qYL542v"),
        "{printed}"
    );
    assert!(printed.contains("EC"));
}

#[test]
fn invalid_jwks_are_rejected() {
    // Not on the curve: y + 1.
    let off_curve = r#"{"kty":"EC","crv":"P-256","x":"0nIiWFAlDrgu1G1OJ6ZSakAWrFgiU3POWOF3MVSPicg","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph4"}"#;
    assert_eq!(
        PublicJwk::from_json(off_curve),
        Err(CryptoError::JweKey("not a point on P-256"))
    );
    let short_x =
        r#"{"kty":"EC","crv":"P-256","x":"AQ","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph0"}"#;
    assert!(PublicJwk::from_json(short_x).is_err());
    let p384 = r#"{"kty":"EC","crv":"P-384","x":"AQ","y":"AQ"}"#;
    assert!(matches!(
        PublicJwk::from_json(p384),
        Err(CryptoError::JweUnsupported { what: "crv", .. })
    ));
    assert!(matches!(
        PublicJwk::from_json(r#"{"kty":"OKP","crv":"X25519","x":"AQ"}"#),
        Err(CryptoError::JweUnsupported { what: "kty", .. })
    ));
    assert!(PublicJwk::from_json("[1]").is_err());
    assert!(PublicJwk::from_json("{").is_err());
    assert!(PublicJwk::from_json(r#"{"kty":"EC","crv":"P-256","x":1,"y":2}"#).is_err());
    // RSA below 2048 bits (RFC 7518 §4.3).
    let n1024 = b64e(&[0xC3; 128]);
    assert_eq!(
        PublicJwk::from_json(&format!(r#"{{"kty":"RSA","n":"{n1024}","e":"AQAB"}}"#)),
        Err(CryptoError::JweKey(
            "RSA-OAEP-256 needs a key of at least 2048 bits"
        ))
    );
    // A private EC key whose d does not match x, y.
    let mismatched = J03_PRIVATE_JWK.replace(
        "dBVhVoDOTgjSPXr5OR3PTj5e13Ba5168qYL542v-I-I",
        "dBVhVoDOTgjSPXr5OR3PTj5e13Ba5168qYL542v-I-A",
    );
    assert_eq!(
        PrivateJwk::from_json(&mismatched).unwrap_err(),
        CryptoError::JweKey("d does not match x and y")
    );
    assert!(PrivateJwk::symmetric(&[0; 16]).is_err());
    assert!(JweEncrypter::direct(&[0; 31]).is_err());
    assert!(JweEncrypter::direct_jwk(&j03()).is_err());
    assert!(
        JweEncrypter::new(&j03().public_jwk().unwrap())
            .with_ephemeral_key(&j02())
            .is_err()
    );
}

/// Builds a token whose protected header is `header` (JSON), with junk elsewhere.
fn token_with_header(header: &str) -> String {
    format!(
        "{}..{}.{}.{}",
        b64e(header.as_bytes()),
        b64e(&[0; 12]),
        b64e(b"ct"),
        b64e(&[0; 16])
    )
}

#[test]
fn unsupported_algorithms_and_headers_are_rejected() {
    let key = j03();
    let cases = [
        (r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"ECDH-ES+A256KW","enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"none","enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"dir","enc":"A128GCM"}"#, "enc"),
        (r#"{"alg":"dir","enc":"A256CBC-HS512"}"#, "enc"),
        (r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#, "zip"),
        (
            r#"{"alg":"dir","enc":"A256GCM","crit":["exp"],"exp":1}"#,
            "crit",
        ),
    ];
    for (header, what) in cases {
        match decrypt(&token_with_header(header), &key) {
            Err(CryptoError::JweUnsupported { what: got, .. }) => assert_eq!(got, what, "{header}"),
            other => panic!("{header}: {other:?}"),
        }
    }
    let malformed = [
        r#"{"enc":"A256GCM"}"#,
        r#"{"alg":"dir"}"#,
        r#"{"alg":1,"enc":"A256GCM"}"#,
        r#"{"alg":"ECDH-ES","enc":"A256GCM"}"#,
        r#"["alg"]"#,
        "not json",
        r#"{"alg":"dir","enc":"A256GCM","kid":7}"#,
    ];
    for header in malformed {
        assert!(
            matches!(
                decrypt(&token_with_header(header), &key),
                Err(CryptoError::JweMalformed(_))
            ),
            "{header}"
        );
    }
    // An epk that is not a curve point.
    let bad_epk = r#"{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"0nIiWFAlDrgu1G1OJ6ZSakAWrFgiU3POWOF3MVSPicg","y":"oS5MuczTMUxpbs-UUNUUDlD82c7ToXG84aMa0oRRph4"}}"#;
    assert_eq!(
        decrypt(&token_with_header(bad_epk), &key).unwrap_err(),
        CryptoError::JweKey("not a point on P-256")
    );
    // Structure.
    assert!(decrypt("a.b.c", &key).is_err());
    assert!(decrypt("", &key).is_err());
    assert!(decrypt(&format!("{J03_TOKEN}.x"), &key).is_err());
    assert!(parse_header("!!").is_err());
    assert_eq!(
        parse_header(J03_TOKEN).unwrap().kid.as_deref(),
        Some("viewpin-ec-1")
    );
}

/// All ways of changing one part of `token` by one byte, re-encoded as valid base64url.
fn tampered(token: &str) -> Vec<(usize, String)> {
    let parts: Vec<&str> = token.split('.').collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let bytes = b64d(part, "t").unwrap();
        for pos in [0, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            if bytes.is_empty() {
                continue;
            }
            let mut changed = bytes.clone();
            changed[pos] ^= 0x01;
            let mut new_parts: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            new_parts[i] = b64e(&changed);
            out.push((i, new_parts.join(".")));
        }
    }
    out
}

#[test]
fn tampering_is_rejected_for_every_part() {
    for (token, key) in [
        (J02_TOKEN, j02()),
        (J03_TOKEN, j03()),
        (J01_TOKEN, PrivateJwk::from_json(J01_JWK).unwrap()),
    ] {
        for (part, token) in tampered(token) {
            let err = decrypt(&token, &key).unwrap_err();
            // A changed header byte may also break its JSON or epk; every other change
            // must fail authentication.
            if part == 0 {
                assert!(
                    matches!(
                        err,
                        CryptoError::JweDecryption
                            | CryptoError::JweMalformed(_)
                            | CryptoError::JweKey(_)
                            | CryptoError::JweUnsupported { .. }
                    ),
                    "{err:?}"
                );
            } else {
                assert_eq!(err, CryptoError::JweDecryption, "part {part}");
            }
        }
    }
    // A header changed into different but valid JSON: authentication fails (AAD).
    let parts: Vec<&str> = J01_TOKEN.split('.').collect();
    let other_header = b64e(br#"{"alg":"dir","enc":"A256GCM","kid":"viewpin-dir-2"}"#);
    let token = [other_header.as_str(), "", parts[2], parts[3], parts[4]].join(".");
    assert_eq!(
        decrypt(&token, &PrivateJwk::from_json(J01_JWK).unwrap()).unwrap_err(),
        CryptoError::JweDecryption
    );
    // Wrong IV or tag length.
    let short_iv = [parts[0], "", &b64e(&[0; 11]), parts[3], parts[4]].join(".");
    assert!(matches!(
        decrypt(&short_iv, &PrivateJwk::from_json(J01_JWK).unwrap()),
        Err(CryptoError::JweMalformed(_))
    ));
    // dir with an encrypted key.
    let with_key = [parts[0], "AAAA", parts[2], parts[3], parts[4]].join(".");
    assert_eq!(
        decrypt(&with_key, &PrivateJwk::from_json(J01_JWK).unwrap()).unwrap_err(),
        CryptoError::JweMalformed("encrypted key (must be empty)")
    );
}

#[test]
fn wrong_keys_are_rejected() {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let other_ec = PrivateJwk::generate_p256(&mut rng);
    assert_eq!(
        decrypt(J03_TOKEN, &other_ec).unwrap_err(),
        CryptoError::JweDecryption
    );
    // Key type does not match alg.
    assert_eq!(
        decrypt(J03_TOKEN, &j02()).unwrap_err(),
        CryptoError::JweKey("the key type does not match the token's alg")
    );
    assert!(matches!(
        decrypt(J02_TOKEN, &j03()),
        Err(CryptoError::JweKey(_))
    ));
    assert!(matches!(
        decrypt(J01_TOKEN, &j03()),
        Err(CryptoError::JweKey(_))
    ));
    assert_eq!(
        decrypt(J01_TOKEN, &PrivateJwk::symmetric(&[9; 32]).unwrap()).unwrap_err(),
        CryptoError::JweDecryption
    );
    // RSA: a token for J02 opened with another 2048-bit RSA key (the test CA key E3).
    let ca = crate::oda::test_keys::CA_E3;
    let other_rsa = PrivateJwk::from_json(&format!(
        r#"{{"kty":"RSA","n":"{}","e":"{}","d":"{}","p":"{}","q":"{}"}}"#,
        b64e(ca.modulus),
        b64e(ca.exponent),
        b64e(ca.private_exponent),
        b64e(ca.prime_p),
        b64e(ca.prime_q)
    ))
    .unwrap();
    assert_eq!(
        decrypt(J02_TOKEN, &other_rsa).unwrap_err(),
        CryptoError::JweDecryption
    );
    // A damaged encrypted key: OAEP fails, a random CEK is used, the tag fails.
    let token = JweEncrypter::new(&j02().public_jwk().unwrap())
        .encrypt(b"secret")
        .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut ek = b64d(&parts[1], "ek").unwrap();
    ek[10] ^= 0x40;
    parts[1] = b64e(&ek);
    assert_eq!(
        decrypt(&parts.join("."), &j02()).unwrap_err(),
        CryptoError::JweDecryption
    );
}

#[test]
fn injection_rules() {
    let rsa = j02().public_jwk().unwrap();
    let ec = j03().public_jwk().unwrap();
    // A chosen CEK and IV make RSA-OAEP tokens deterministic apart from the OAEP seed.
    let a = JweEncrypter::new(&rsa)
        .with_cek([1; 32])
        .with_iv([2; 12])
        .encrypt(b"p")
        .unwrap();
    let b = JweEncrypter::new(&rsa)
        .with_cek([1; 32])
        .with_iv([2; 12])
        .encrypt(b"p")
        .unwrap();
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    assert_eq!(pa[0], pb[0]);
    assert_ne!(pa[1], pb[1]);
    assert_eq!(pa[2..], pb[2..]);
    assert_eq!(decrypt(&a, &j02()).unwrap().plaintext.as_slice(), b"p");
    // CEK injection is RSA-only; apu/apv are ECDH-ES-only.
    assert!(
        JweEncrypter::new(&ec)
            .with_cek([1; 32])
            .encrypt(b"p")
            .is_err()
    );
    assert!(
        JweEncrypter::new(&rsa)
            .agreement_info(b"a", b"")
            .encrypt(b"p")
            .is_err()
    );
    assert!(
        JweEncrypter::direct(&[0; 32])
            .unwrap()
            .with_cek([1; 32])
            .encrypt(b"p")
            .is_err()
    );
    // Fresh randomness otherwise.
    let t1 = JweEncrypter::new(&ec).encrypt(b"p").unwrap();
    let t2 = JweEncrypter::new(&ec).encrypt(b"p").unwrap();
    assert_ne!(t1, t2);
    assert_eq!(
        format!("{:?}", JweEncrypter::new(&ec).kid("k")),
        r#"JweEncrypter { alg: EcdhEs, kid: Some("k"), cty: None, .. }"#
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ecdh_es_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let key = j03();
        let token = JweEncrypter::new(&key.public_jwk().unwrap()).encrypt(&payload).unwrap();
        let decrypted = decrypt(&token, &key).unwrap();
        prop_assert_eq!(decrypted.plaintext.as_slice(), payload.as_slice());
    }

    #[test]
    fn rsa_oaep_256_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let key = j02();
        let token = JweEncrypter::new(&key.public_jwk().unwrap())
            .content_type("application/json")
            .encrypt(&payload)
            .unwrap();
        let decrypted = decrypt(&token, &key).unwrap();
        prop_assert_eq!(decrypted.plaintext.as_slice(), payload.as_slice());
        prop_assert_eq!(decrypted.header.cty.as_deref(), Some("application/json"));
    }

    #[test]
    fn dir_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..512), key in any::<[u8; 32]>()) {
        let jwk = PrivateJwk::symmetric(&key).unwrap();
        let token = JweEncrypter::direct_jwk(&jwk).unwrap().encrypt(&payload).unwrap();
        let decrypted = decrypt(&token, &jwk).unwrap();
        prop_assert_eq!(decrypted.plaintext.as_slice(), payload.as_slice());
    }
}
