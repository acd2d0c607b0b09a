//! Tests of offline data authentication: certificate chains with the embedded test keys,
//! every check of every recovery, and RSA round trips.

use hex_literal::hex;
use proptest::prelude::*;

use super::test_keys::*;
use super::*;

const PAN: [u8; 8] = hex!("4761739001010119");
const EXPIRY: [u8; 2] = hex!("1230"); // December 2030
const SERIAL: [u8; 3] = hex!("000001");
/// Static Data to be Authenticated: a READ RECORD template value and the AIP.
const STATIC_DATA: &[u8] = &hex!("5A0847617390010101195F24033012315F25032401019F0702FF00 3900");

fn today() -> YearMonth {
    YearMonth::new(2026, 11).unwrap()
}

fn private(key: &TestRsaKey) -> RsaPrivateKey {
    key.private_key().unwrap()
}

fn public(key: &TestRsaKey) -> RsaPublicKey {
    key.public_key().unwrap()
}

fn issuer_id() -> [u8; 4] {
    issuer_identifier_from_pan(&PAN, 6).unwrap()
}

/// A whole chain: CA → issuer → ICC, with SDA, DDA and CDA on top.
struct Chain {
    ca: RsaPrivateKey,
    issuer: RsaPrivateKey,
    icc: RsaPrivateKey,
    issuer_cert: PublicKeyCertificate,
    icc_cert: PublicKeyCertificate,
}

fn chain(ca: &TestRsaKey, issuer: &TestRsaKey, icc: &TestRsaKey) -> Chain {
    let (ca, issuer, icc) = (private(ca), private(issuer), private(icc));
    let issuer_cert =
        issue_issuer_certificate(&ca, issuer_id(), EXPIRY, SERIAL, issuer.public_key()).unwrap();
    let icc_cert = issue_icc_certificate(
        &issuer,
        &PAN,
        EXPIRY,
        hex!("000002"),
        icc.public_key(),
        STATIC_DATA,
    )
    .unwrap();
    Chain {
        ca,
        issuer,
        icc,
        issuer_cert,
        icc_cert,
    }
}

impl Chain {
    fn recover_issuer(&self) -> Result<CertifiedKey, CryptoError> {
        recover_issuer_public_key(
            self.ca.public_key(),
            &self.issuer_cert.certificate,
            &self.issuer_cert.remainder,
            &self.issuer_cert.exponent,
            &PAN,
            today(),
        )
    }

    fn recover_icc(&self) -> Result<CertifiedKey, CryptoError> {
        let issuer = self.recover_issuer()?.key;
        recover_icc_public_key(
            &issuer,
            &self.icc_cert.certificate,
            &self.icc_cert.remainder,
            &self.icc_cert.exponent,
            STATIC_DATA,
            &PAN,
            today(),
        )
    }
}

fn check_full_chain(ca: &TestRsaKey, issuer: &TestRsaKey, icc: &TestRsaKey) {
    let c = chain(ca, issuer, icc);
    let n_ca = c.ca.modulus_len();
    let n_i = c.issuer.modulus_len();
    let n_ic = c.icc.modulus_len();
    // Remainders: Table 6 / Table 14 key fields are N_CA − 36 and N_I − 42 bytes.
    assert_eq!(c.issuer_cert.certificate.len(), n_ca);
    assert_eq!(c.issuer_cert.remainder.len(), n_i.saturating_sub(n_ca - 36));
    assert_eq!(c.icc_cert.certificate.len(), n_i);
    assert_eq!(c.icc_cert.remainder.len(), n_ic.saturating_sub(n_i - 42));

    let issuer_key = c.recover_issuer().unwrap();
    assert_eq!(&issuer_key.key, c.issuer.public_key());
    assert_eq!(issuer_key.identifier, hex!("476173FF"));
    assert_eq!(issuer_key.expiry, EXPIRY);
    assert_eq!(issuer_key.serial, SERIAL);

    let icc_key = c.recover_icc().unwrap();
    assert_eq!(&icc_key.key, c.icc.public_key());
    assert_eq!(icc_key.identifier, hex!("4761739001010119FFFF"));
    assert_eq!(icc_key.serial, hex!("000002"));

    // SDA (Book 2 §5.4).
    let ssad = sign_static_application_data(&c.issuer, hex!("DAC1"), STATIC_DATA).unwrap();
    assert_eq!(ssad.len(), n_i);
    assert_eq!(
        verify_static_application_data(&issuer_key.key, &ssad, STATIC_DATA).unwrap(),
        hex!("DAC1")
    );

    // DDA (Book 2 §6.5): DDOL = 9F37 04.
    let ddol_data = hex!("01020304");
    let icc_data = dda_icc_dynamic_data(&hex!("1122334455667788")).unwrap();
    let sdad = sign_dynamic_application_data(&c.icc, &icc_data, &ddol_data).unwrap();
    let recovered = recover_dynamic_application_data(&icc_key.key, &sdad, &ddol_data).unwrap();
    assert_eq!(recovered, icc_data);
    assert_eq!(
        icc_dynamic_number(&recovered).unwrap(),
        hex!("1122334455667788")
    );

    // CDA (Book 2 §6.6).
    let (input_hash, un) = cda_fixture();
    let sdad = sign_cda(&c.icc, &cda_input(&input_hash, &un)).unwrap();
    let got = verify_cda(&icc_key.key, &sdad, &un, 0x40, &input_hash).unwrap();
    assert_eq!(got.icc_dynamic_number, hex!("A1A2A3A4"));
    assert_eq!(got.application_cryptogram, hex!("0123456789ABCDEF"));
}

fn cda_fixture() -> ([u8; 20], [u8; 4]) {
    let pdol = hex!("0000000010000826");
    let cdol1 = hex!("000000001000 000000000000 0826 0000000000 0826 261121 00 DEADBEEF");
    let response = hex!("9F2701409F360200429F1007 06010A03A00000");
    (
        cda_transaction_data_hash(&pdol, &cdol1, None, &response),
        hex!("DEADBEEF"),
    )
}

fn cda_input<'a>(hash: &[u8; 20], un: &'a [u8]) -> CdaInput<'a> {
    CdaInput {
        icc_dynamic_number: &hex!("A1A2A3A4"),
        cid: 0x40,
        application_cryptogram: hex!("0123456789ABCDEF"),
        transaction_data_hash: *hash,
        unpredictable_number: un,
    }
}

#[test]
fn chain_1024_e3_ca_896_issuer_768_icc() {
    // Issuer remainder 20 bytes, ICC remainder 26 bytes.
    check_full_chain(&CA_E1, &ISSUER_896_E3, &ICC_768_E3);
}

#[test]
fn chain_1024_ca_issuer_of_equal_length() {
    // N_I = N_CA: remainder of 36 bytes (the maximum).
    check_full_chain(&CA_E1, &ISSUER_1024_E3, &ICC_1024_E3);
}

#[test]
fn chain_1408_e65537_ca_no_issuer_remainder() {
    // 1024-bit issuer fits in the 140-byte field: BB padding, no remainder.
    check_full_chain(&CA_E2, &ISSUER_1024_E3, &ICC_896_E65537);
}

#[test]
fn chain_2048_ca_1408_issuer() {
    check_full_chain(&CA_E3, &ISSUER_1408_E65537, &ICC_1024_E3);
    check_full_chain(&CA_E2, &ISSUER_1408_E65537, &ICC_768_E3);
}

#[test]
fn embedded_test_keys_are_valid_and_of_the_advertised_size() {
    let all = [
        (CA_E1, 1024, 1),
        (CA_E2, 1408, 3),
        (CA_E3, 2048, 3),
        (ISSUER_896_E3, 896, 1),
        (ISSUER_1024_E3, 1024, 1),
        (ISSUER_1408_E65537, 1408, 3),
        (ICC_768_E3, 768, 1),
        (ICC_896_E65537, 896, 3),
        (ICC_1024_E3, 1024, 1),
    ];
    for (key, bits, exponent_len) in all {
        let private = key.private_key().unwrap();
        assert_eq!(private.public_key().bits(), bits, "{}", key.name);
        assert_eq!(private.public_key().exponent().len(), exponent_len);
        // Sign/recover one block to show d matches.
        let mut block = vec![0x6Au8; private.modulus_len()];
        block[1] = 0x01;
        let signature = private.sign(&block).unwrap();
        assert_eq!(private.public_key().recover(&signature).unwrap(), block);
    }
}

#[test]
fn ca_store_lookup_and_test_rid() {
    let store = CaKeyStore::with_test_keys().unwrap();
    assert_eq!(store.len(), 3);
    assert_eq!(TEST_CA_RID, hex!("F000000001"));
    let e1 = store.get(&TEST_CA_RID, 0xE1).unwrap();
    assert_eq!(e1.key.bits(), 1024);
    assert!(store.get(&TEST_CA_RID, 0x01).is_none());
    assert_eq!(
        store
            .get_for_aid(&hex!("F0000000011010"), 0xE3)
            .unwrap()
            .key
            .bits(),
        2048
    );
    assert!(store.get_for_aid(&hex!("A000"), 0xE3).is_none());
    // The checksum is SHA-1(RID ‖ index ‖ modulus ‖ exponent).
    let mut input = TEST_CA_RID.to_vec();
    input.push(0xE1);
    input.extend_from_slice(CA_E1.modulus);
    input.push(0x03);
    assert_eq!(e1.checksum(), sha1(&[&input]));

    let mut store = CaKeyStore::new();
    assert!(store.is_empty());
    store.insert_test_keys(hex!("A000000003")).unwrap();
    assert!(store.get_for_aid(&hex!("A0000000031010"), 0xE2).is_some());
    assert!(store.remove(&hex!("A000000003"), 0xE2).is_some());
    assert_eq!(store.iter().count(), 2);
}

// ---------------------------------------------------------------------------------------
// Tampering: re-sign modified frames with the signer's private key, so each check is
// reached with everything before it valid.

/// Recovers `signed` with `signer`'s public key, lets `edit` change the frame, re-signs.
fn resign(signer: &RsaPrivateKey, signed: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut frame = signer.public_key().recover(signed).unwrap();
    edit(&mut frame);
    signer.sign(&frame).unwrap()
}

/// Recomputes the hash of a frame over `frame[1..n-21] ‖ extra`.
fn rehash(frame: &mut [u8], extra: &[&[u8]]) {
    let n = frame.len();
    let mut parts: Vec<&[u8]> = vec![&frame[1..n - 21]];
    parts.extend_from_slice(extra);
    let hash = sha1(&parts);
    frame[n - 21..n - 1].copy_from_slice(&hash);
}

#[test]
fn every_bit_of_the_issuer_certificate_frame_is_checked() {
    let c = chain(&CA_E1, &ISSUER_896_E3, &ICC_768_E3);
    let n = c.ca.modulus_len();
    let what = "Issuer Public Key Certificate";
    for i in 0..n {
        let mut cc = chain_clone(&c);
        cc.issuer_cert.certificate = resign(&c.ca, &c.issuer_cert.certificate, |f| f[i] ^= 0x01);
        let err = cc.recover_issuer().unwrap_err();
        let expected = match i {
            0 => CryptoError::OdaHeader { what, got: 0x6B },
            1 => CryptoError::OdaFormat {
                what,
                expected: 0x02,
                got: 0x03,
            },
            // Hash algorithm indicator (offset 11).
            11 => CryptoError::OdaHashAlgorithm { what, got: 0x00 },
            // Issuer public key length (offset 13): the remainder no longer fits.
            13 => CryptoError::OdaPublicKey {
                what,
                reason: "public key remainder has the wrong length",
            },
            _ if i == n - 1 => CryptoError::OdaTrailer { what, got: 0xBD },
            _ => CryptoError::OdaHash { what },
        };
        assert_eq!(err, expected, "byte {i}");
    }
}

#[test]
fn every_byte_of_the_raw_certificate_is_checked() {
    let c = chain(&CA_E1, &ISSUER_896_E3, &ICC_768_E3);
    for i in 0..c.issuer_cert.certificate.len() {
        let mut cc = chain_clone(&c);
        cc.issuer_cert.certificate[i] ^= 0x80;
        assert!(cc.recover_issuer().is_err(), "byte {i}");
    }
    for i in 0..c.issuer_cert.remainder.len() {
        let mut cc = chain_clone(&c);
        cc.issuer_cert.remainder[i] ^= 0x01;
        assert_eq!(
            cc.recover_issuer().unwrap_err(),
            CryptoError::OdaHash {
                what: "Issuer Public Key Certificate"
            }
        );
    }
}

fn chain_clone(c: &Chain) -> Chain {
    // Keys are not Clone on purpose; the tests only need fresh copies of the certificates.
    Chain {
        ca: private_like(&c.ca),
        issuer: private_like(&c.issuer),
        icc: private_like(&c.icc),
        issuer_cert: c.issuer_cert.clone(),
        icc_cert: c.icc_cert.clone(),
    }
}

fn private_like(key: &RsaPrivateKey) -> RsaPrivateKey {
    let found = super::test_keys::ALL
        .iter()
        .find(|k| k.modulus == key.public_key().modulus())
        .unwrap();
    private(found)
}

#[test]
fn issuer_certificate_checks_each_give_their_own_error() {
    let c = chain(&CA_E1, &ISSUER_896_E3, &ICC_768_E3);
    let what = "Issuer Public Key Certificate";
    let ca_pk = c.ca.public_key();
    let recover = |cert: &[u8], rem: &[u8], exp: &[u8], pan: &[u8], today: YearMonth| {
        recover_issuer_public_key(ca_pk, cert, rem, exp, pan, today)
    };
    let cert = &c.issuer_cert;

    // Step 1: length.
    assert_eq!(
        recover(
            &cert.certificate[1..],
            &cert.remainder,
            &cert.exponent,
            &PAN,
            today()
        ),
        Err(CryptoError::OdaLength {
            what,
            expected: 128,
            got: 127
        })
    );
    // Wrong CA key (same length): garbage recovered, trailer check fails first (mostly).
    let other_ca = private(&ISSUER_1024_E3);
    assert!(matches!(
        recover_issuer_public_key(
            other_ca.public_key(),
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            &PAN,
            today()
        ),
        Err(CryptoError::OdaTrailer { .. } | CryptoError::OdaHeader { .. })
    ));
    // Missing remainder.
    assert_eq!(
        recover(&cert.certificate, &[], &cert.exponent, &PAN, today()),
        Err(CryptoError::OdaRemainderMissing { what })
    );
    // Wrong exponent object: the exponent is hashed.
    assert_eq!(
        recover(
            &cert.certificate,
            &cert.remainder,
            &hex!("010001"),
            &PAN,
            today()
        ),
        Err(CryptoError::OdaHash { what })
    );
    // Issuer identifier vs PAN.
    assert_eq!(
        recover(
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            &hex!("4761749001010119"),
            today()
        ),
        Err(CryptoError::OdaIssuerIdentifier)
    );
    // Expiry: valid through the end of 12/2030.
    assert!(
        recover(
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            &PAN,
            YearMonth::new(2030, 12).unwrap()
        )
        .is_ok()
    );
    assert_eq!(
        recover(
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            &PAN,
            YearMonth::new(2031, 1).unwrap()
        ),
        Err(CryptoError::OdaExpired {
            what,
            expiry: EXPIRY
        })
    );
    // Public key algorithm indicator (offset 12), with a correct hash.
    let extra: [&[u8]; 2] = [&cert.remainder, &cert.exponent];
    let bad_algo = resign(&c.ca, &cert.certificate, |f| {
        f[12] = 0x02;
        rehash(f, &extra);
    });
    assert_eq!(
        recover(&bad_algo, &cert.remainder, &cert.exponent, &PAN, today()),
        Err(CryptoError::OdaKeyAlgorithm { what, got: 0x02 })
    );
    // Exponent length field (offset 14) inconsistent with 9F32, with a correct hash.
    let bad_exp_len = resign(&c.ca, &cert.certificate, |f| {
        f[14] = 0x03;
        rehash(f, &extra);
    });
    assert_eq!(
        recover(&bad_exp_len, &cert.remainder, &cert.exponent, &PAN, today()),
        Err(CryptoError::OdaPublicKey {
            what,
            reason: "exponent length differs from the exponent data object"
        })
    );
    // Invalid expiry date in the certificate, with a correct hash: treated as expired.
    let bad_date = resign(&c.ca, &cert.certificate, |f| {
        f[6] = 0x13;
        rehash(f, &extra);
    });
    assert_eq!(
        recover(&bad_date, &cert.remainder, &cert.exponent, &PAN, today()),
        Err(CryptoError::OdaExpired {
            what,
            expiry: hex!("1330")
        })
    );
}

#[test]
fn issuer_identifier_matching() {
    assert_eq!(
        issuer_identifier_from_pan(&PAN, 3).unwrap(),
        hex!("476FFFFF")
    );
    assert_eq!(
        issuer_identifier_from_pan(&PAN, 8).unwrap(),
        hex!("47617390")
    );
    assert!(issuer_identifier_from_pan(&PAN, 2).is_err());
    assert!(issuer_identifier_from_pan(&PAN, 9).is_err());
    assert!(issuer_identifier_from_pan(&hex!("47FF"), 3).is_err());

    let ca = private(&CA_E1);
    let issuer = private(&ISSUER_896_E3);
    // A 3-digit identifier matches any PAN starting with those digits (odd PAN length too).
    let cert = issue_issuer_certificate(&ca, hex!("476FFFFF"), EXPIRY, SERIAL, issuer.public_key())
        .unwrap();
    let odd_pan = hex!("476173900101011F");
    let recover = |pan: &[u8]| {
        recover_issuer_public_key(
            ca.public_key(),
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            pan,
            today(),
        )
    };
    assert!(recover(&odd_pan).is_ok());
    assert_eq!(
        recover(&hex!("4671")),
        Err(CryptoError::OdaIssuerIdentifier)
    );
    assert_eq!(recover(&hex!("47")), Err(CryptoError::OdaIssuerIdentifier));
    // Identifiers that are not 3..=8 digits are refused when issuing.
    assert!(
        issue_issuer_certificate(&ca, hex!("47FFFFFF"), EXPIRY, SERIAL, issuer.public_key())
            .is_err()
    );
    assert!(
        issue_issuer_certificate(&ca, hex!("4761F390"), EXPIRY, SERIAL, issuer.public_key())
            .is_err()
    );
}

#[test]
fn icc_certificate_checks() {
    let c = chain(&CA_E1, &ISSUER_896_E3, &ICC_768_E3);
    let what = "ICC Public Key Certificate";
    let issuer_pk = c.issuer.public_key();
    let cert = &c.icc_cert;
    let recover = |cert: &[u8], rem: &[u8], static_data: &[u8], pan: &[u8]| {
        recover_icc_public_key(
            issuer_pk,
            cert,
            rem,
            &c.icc_cert.exponent,
            static_data,
            pan,
            today(),
        )
    };
    assert!(recover(&cert.certificate, &cert.remainder, STATIC_DATA, &PAN).is_ok());
    // Static data is covered by the hash (Book 2 §6.4 step 5).
    let mut other_static = STATIC_DATA.to_vec();
    other_static[3] ^= 1;
    assert_eq!(
        recover(&cert.certificate, &cert.remainder, &other_static, &PAN),
        Err(CryptoError::OdaHash { what })
    );
    // PAN (step 8), including a PAN that only differs in length.
    assert_eq!(
        recover(
            &cert.certificate,
            &cert.remainder,
            STATIC_DATA,
            &hex!("4761739001010118")
        ),
        Err(CryptoError::OdaPan { what })
    );
    assert_eq!(
        recover(
            &cert.certificate,
            &cert.remainder,
            STATIC_DATA,
            &hex!("476173900101011F")
        ),
        Err(CryptoError::OdaPan { what })
    );
    // An issuer certificate given where the ICC certificate is expected: format.
    let n = c.issuer.modulus_len();
    let frame_as_issuer = resign(&c.issuer, &cert.certificate, |f| f[1] = 0x02);
    assert_eq!(
        recover(&frame_as_issuer, &cert.remainder, STATIC_DATA, &PAN),
        Err(CryptoError::OdaFormat {
            what,
            expected: 0x04,
            got: 0x02
        })
    );
    // Every byte of the frame.
    for i in 0..n {
        let tampered = resign(&c.issuer, &cert.certificate, |f| f[i] ^= 0x10);
        let err = recover(&tampered, &cert.remainder, STATIC_DATA, &PAN).unwrap_err();
        let expected = match i {
            0 => CryptoError::OdaHeader { what, got: 0x7A },
            1 => CryptoError::OdaFormat {
                what,
                expected: 0x04,
                got: 0x14,
            },
            17 => CryptoError::OdaHashAlgorithm { what, got: 0x11 },
            19 => CryptoError::OdaPublicKey {
                what,
                reason: "public key remainder has the wrong length",
            },
            _ if i == n - 1 => CryptoError::OdaTrailer { what, got: 0xAC },
            _ => CryptoError::OdaHash { what },
        };
        assert_eq!(err, expected, "byte {i}");
    }
    // Expired ICC certificate.
    let issuer = private(&ISSUER_896_E3);
    let expired = issue_icc_certificate(
        &issuer,
        &PAN,
        hex!("1026"),
        SERIAL,
        c.icc.public_key(),
        STATIC_DATA,
    )
    .unwrap();
    assert_eq!(
        recover(&expired.certificate, &expired.remainder, STATIC_DATA, &PAN),
        Err(CryptoError::OdaExpired {
            what,
            expiry: hex!("1026")
        })
    );
}

#[test]
fn icc_pin_encipherment_certificate() {
    let issuer = private(&ISSUER_1024_E3);
    let pin_key = private(&ICC_896_E65537);
    let cert =
        issue_icc_pin_encipherment_certificate(&issuer, &PAN, EXPIRY, SERIAL, pin_key.public_key())
            .unwrap();
    // 896-bit key in a 1024-bit certificate: 112 − (128 − 42) = 26 bytes of remainder.
    assert_eq!(cert.remainder.len(), 26);
    let got = recover_icc_pin_encipherment_public_key(
        issuer.public_key(),
        &cert.certificate,
        &cert.remainder,
        &cert.exponent,
        &PAN,
        today(),
    )
    .unwrap();
    assert_eq!(&got.key, pin_key.public_key());
    // Same layout as an ICC certificate but without static data in the hash.
    assert_eq!(
        recover_icc_public_key(
            issuer.public_key(),
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            STATIC_DATA,
            &PAN,
            today()
        ),
        Err(CryptoError::OdaHash {
            what: "ICC Public Key Certificate"
        })
    );
    assert!(
        recover_icc_public_key(
            issuer.public_key(),
            &cert.certificate,
            &cert.remainder,
            &cert.exponent,
            &[],
            &PAN,
            today()
        )
        .is_ok()
    );
}

#[test]
fn key_larger_than_signer_is_refused() {
    let ca = private(&CA_E1);
    let big = private(&ISSUER_1408_E65537);
    assert!(issue_issuer_certificate(&ca, issuer_id(), EXPIRY, SERIAL, big.public_key()).is_err());
    // 2048-bit keys cannot be described by the one-byte length field.
    let ca3 = private(&CA_E3);
    let ca3_as_issuer = public(&CA_E3);
    assert!(issue_issuer_certificate(&ca3, issuer_id(), EXPIRY, SERIAL, &ca3_as_issuer).is_err());
    // Bad expiry BCD.
    assert!(
        issue_issuer_certificate(
            &ca,
            issuer_id(),
            hex!("1A30"),
            SERIAL,
            private(&ISSUER_896_E3).public_key()
        )
        .is_err()
    );
}

#[test]
fn sda_checks() {
    let issuer = private(&ISSUER_896_E3);
    let what = "Signed Static Application Data";
    let ssad = sign_static_application_data(&issuer, hex!("1234"), STATIC_DATA).unwrap();
    let pk = issuer.public_key();
    // Layout of Table 7.
    let frame = pk.recover(&ssad).unwrap();
    assert_eq!(frame[..5], hex!("6A03011234"));
    assert!(frame[5..frame.len() - 21].iter().all(|&b| b == 0xBB));
    assert_eq!(frame.len() - 21 - 5, 112 - 26);

    assert_eq!(
        verify_static_application_data(pk, &ssad, b"other"),
        Err(CryptoError::OdaHash { what })
    );
    assert_eq!(
        verify_static_application_data(pk, &ssad[..100], STATIC_DATA),
        Err(CryptoError::OdaLength {
            what,
            expected: 112,
            got: 100
        })
    );
    let n = ssad.len();
    for i in 0..n {
        let tampered = resign(&issuer, &ssad, |f| f[i] ^= 0x01);
        let err = verify_static_application_data(pk, &tampered, STATIC_DATA).unwrap_err();
        let expected = match i {
            0 => CryptoError::OdaHeader { what, got: 0x6B },
            1 => CryptoError::OdaFormat {
                what,
                expected: 0x03,
                got: 0x02,
            },
            2 => CryptoError::OdaHashAlgorithm { what, got: 0x00 },
            _ if i == n - 1 => CryptoError::OdaTrailer { what, got: 0xBD },
            _ => CryptoError::OdaHash { what },
        };
        assert_eq!(err, expected, "byte {i}");
    }
}

#[test]
fn dda_checks() {
    let icc = private(&ICC_768_E3);
    let pk = icc.public_key();
    let what = "Signed Dynamic Application Data";
    let ddol = hex!("CAFEBABE");
    let data = dda_icc_dynamic_data(&hex!("0102")).unwrap();
    let sdad = sign_dynamic_application_data(&icc, &data, &ddol).unwrap();
    let frame = pk.recover(&sdad).unwrap();
    assert_eq!(frame[..7], hex!("6A0501 03 020102"));
    assert_eq!(
        recover_dynamic_application_data(pk, &sdad, &hex!("CAFEBABF")),
        Err(CryptoError::OdaHash { what })
    );
    // L_DD beyond N_IC − 25, correctly hashed.
    let too_long = resign(&icc, &sdad, |f| {
        f[3] = 72;
        rehash(f, &[&ddol]);
    });
    assert_eq!(
        recover_dynamic_application_data(pk, &too_long, &ddol),
        Err(CryptoError::OdaDynamicData(
            "ICC dynamic data length exceeds N_IC - 25"
        ))
    );
    // The maximum L_DD = N_IC − 25 works.
    let max = vec![0x02u8; 96 - 25];
    let sdad = sign_dynamic_application_data(&icc, &max, &ddol).unwrap();
    assert_eq!(
        recover_dynamic_application_data(pk, &sdad, &ddol).unwrap(),
        max
    );
    assert!(sign_dynamic_application_data(&icc, &[0u8; 72], &ddol).is_err());
    assert!(dda_icc_dynamic_data(&[1]).is_err());
    assert!(dda_icc_dynamic_data(&[1; 9]).is_err());
    assert_eq!(
        icc_dynamic_number(&hex!("09")),
        Err(CryptoError::OdaDynamicData(
            "ICC dynamic number length is not 2..=8"
        ))
    );
    assert!(icc_dynamic_number(&hex!("0401")).is_err());
    assert!(icc_dynamic_number(&[]).is_err());
    // An SSAD offered as SDAD: format.
    let issuer_like = private(&ICC_768_E3);
    let ssad = sign_static_application_data(&issuer_like, hex!("0000"), b"").unwrap();
    assert_eq!(
        recover_dynamic_application_data(pk, &ssad, &ddol),
        Err(CryptoError::OdaFormat {
            what,
            expected: 0x05,
            got: 0x03
        })
    );
}

#[test]
fn cda_checks() {
    let icc = private(&ICC_1024_E3);
    let pk = icc.public_key();
    let (hash, un) = cda_fixture();
    let sdad = sign_cda(&icc, &cda_input(&hash, &un)).unwrap();

    // Book 2 §6.6.1 layout of the CDA ICC Dynamic Data.
    let frame = pk.recover(&sdad).unwrap();
    assert_eq!(frame[3], 1 + 4 + 1 + 8 + 20);
    assert_eq!(frame[4..10], hex!("04A1A2A3A4 40"));

    assert!(verify_cda(pk, &sdad, &un, 0x40, &hash).is_ok());
    // Step 5: CID.
    assert_eq!(
        verify_cda(pk, &sdad, &un, 0x80, &hash),
        Err(CryptoError::OdaCdaCid {
            signed: 0x40,
            response: 0x80
        })
    );
    // Steps 6–8: the UN is hashed.
    assert_eq!(
        verify_cda(pk, &sdad, &hex!("DEADBEEE"), 0x40, &hash),
        Err(CryptoError::OdaHash {
            what: "Signed Dynamic Application Data"
        })
    );
    // Steps 9–11: the transaction data (e.g. a changed response TLV).
    let pdol = hex!("0000000010000826");
    let cdol1 = hex!("000000001000 000000000000 0826 0000000000 0826 261121 00 DEADBEEF");
    let tampered_response = hex!("9F2701409F360200439F1007 06010A03A00000");
    let other = cda_transaction_data_hash(&pdol, &cdol1, None, &tampered_response);
    assert_eq!(
        verify_cda(pk, &sdad, &un, 0x40, &other),
        Err(CryptoError::OdaTransactionDataHash)
    );
    // Second GENERATE AC: CDOL2 values join the hash.
    let second = cda_transaction_data_hash(
        &pdol,
        &cdol1,
        Some(&hex!("3030")),
        &hex!("9F2701409F36020042"),
    );
    assert_ne!(second, hash);
    let sdad2 = sign_cda(&icc, &cda_input(&second, &un)).unwrap();
    assert!(verify_cda(pk, &sdad2, &un, 0x40, &second).is_ok());
    assert_eq!(
        cda_transaction_data_hash(b"ab", b"c", Some(b"d"), b"e"),
        sha1(&[b"abcde"])
    );
    // A DDA signature (no CID/AC/hash inside) is rejected as malformed CDA data.
    let dda =
        sign_dynamic_application_data(&icc, &dda_icc_dynamic_data(&hex!("0102")).unwrap(), &un)
            .unwrap();
    assert_eq!(
        verify_cda(pk, &dda, &un, 0x40, &hash),
        Err(CryptoError::OdaDynamicData(
            "too short for CID, cryptogram and transaction data hash"
        ))
    );
}

#[test]
fn year_month_parsing() {
    assert_eq!(
        YearMonth::from_transaction_date(&hex!("261121")).unwrap(),
        YearMonth::new(2026, 11).unwrap()
    );
    assert_eq!(
        YearMonth::from_transaction_date(&hex!("991231"))
            .unwrap()
            .year(),
        1999
    );
    assert!(YearMonth::from_transaction_date(&hex!("2611")).is_err());
    assert!(YearMonth::from_transaction_date(&hex!("261321")).is_err());
    assert!(YearMonth::from_transaction_date(&hex!("2A1121")).is_err());
    assert_eq!(YearMonth::from_mmyy(hex!("0049")).map(|d| d.month()), None);
    assert_eq!(
        YearMonth::from_mmyy(hex!("1249")),
        Some(YearMonth::new(2049, 12).unwrap())
    );
    assert!(YearMonth::new(2026, 0).is_err());
}

// ---------------------------------------------------------------------------------------
// RSA primitives.

#[test]
fn rsa_limits() {
    // Modulus of 504 bits and of 2056 bits are refused; exponent 5 is refused.
    let mut small = vec![0xFFu8; 63];
    small[62] = 0xFB;
    assert!(RsaPublicKey::new(&small, &[3]).is_err());
    let big = vec![0xFFu8; 257];
    assert!(RsaPublicKey::new(&big, &[3]).is_err());
    assert!(RsaPublicKey::new(CA_E1.modulus, &[5]).is_err());
    assert!(RsaPublicKey::new(CA_E1.modulus, &[]).is_err());
    // Leading zeros are ignored; exponent 00 00 03 is 3.
    let mut padded = vec![0u8, 0];
    padded.extend_from_slice(CA_E1.modulus);
    let pk = RsaPublicKey::new(&padded, &[0, 0, 3]).unwrap();
    assert_eq!(pk.modulus(), CA_E1.modulus);
    assert_eq!(pk.exponent(), [3]);
    assert_eq!(
        format!("{pk:?}"),
        "RsaPublicKey { bits: 1024, exponent: [3], .. }"
    );

    // Input checks: wrong length, not below the modulus.
    assert!(pk.recover(&[0u8; 127]).is_err());
    assert!(pk.recover(CA_E1.modulus).is_err());
    assert!(pk.recover(&[0xFF; 128]).is_err());
    let key = private(&CA_E1);
    assert!(key.sign(CA_E1.modulus).is_err());
    assert!(key.sign(&[0u8; 129]).is_err());
    // Zero and one are fixed points.
    assert_eq!(pk.recover(&[0u8; 128]).unwrap(), vec![0u8; 128]);
    let mut one = vec![0u8; 128];
    one[127] = 1;
    assert_eq!(key.sign(&one).unwrap(), one);
    // Private keys never print their secrets.
    let printed = format!("{key:?}");
    assert!(printed.starts_with("RsaPrivateKey"), "{printed}");
    assert!(!printed.contains("d:"));
}

#[test]
fn rsa_output_is_padded_to_the_modulus_length() {
    // Results with leading zero bytes keep the modulus length: pick signatures below
    // 2^(8(N-2)), get their messages with the public operation, and sign those back.
    for key in [ICC_768_E3, ICC_896_E65537, CA_E2] {
        let key = private(&key);
        let n = key.modulus_len();
        for fill in [0x01u8, 0x5A, 0xFF] {
            let mut s = vec![fill; n];
            s[0] = 0;
            s[1] = 0;
            let x = key.public_key().recover(&s).unwrap();
            assert_eq!(x.len(), n);
            assert_eq!(key.sign(&x).unwrap(), s);
        }
        // Small messages with e = 3 give small results: leading zeros on recovery too.
        let mut x = vec![0u8; n];
        x[n - 1] = 7;
        let s = key.sign(&x).unwrap();
        assert_eq!(key.public_key().recover(&s).unwrap(), x);
    }
}

#[test]
fn private_key_from_d_only() {
    // The O01 key of the offline PIN vectors: n, e = 3, d, no primes.
    let n = hex!(
        "BA1D2CC24705E323348B15EE12180984F0916FBE90518F189705569835F8EE3AF303B3A55C176BC6F6158DF8B287EC884F33FCD1A7AEC0186D0A2D3C84CF174078A2EBC7C4E61C8387027777EA1D3FD3162A664753AEE081B52C6CA35600B506B124DB0178479A4302CADB0ACF59B23997DF9C5641558DDD37F625DD74C09953"
    );
    let d = hex!(
        "7C13732C2F594217785CB94961655BADF5B64A7F0AE10A1064AE39BACEA5F4274CAD226E3D64F284A40E5EA5CC5A9DB034CD53366FC9D5659E06C8D30334BA29D5CC141A0D533914E453E968B8422BD7C3614521CD2F72B624C3DD608E75B35697520587AD4E5A2962458C5CCCD38150920FFF6564083888B847C8B189A80FBB"
    );
    let key = RsaPrivateKey::from_private_exponent(&n, &[3], &d).unwrap();
    let mut x = vec![0x6Au8; 128];
    x[127] = 0xBC;
    let s = key.sign(&x).unwrap();
    assert_eq!(key.public_key().recover(&s).unwrap(), x);
    // A wrong d is caught by the self-test.
    let mut bad = d;
    bad[127] ^= 2;
    assert!(RsaPrivateKey::from_private_exponent(&n, &[3], &bad).is_err());
    // Components that do not match are refused.
    assert!(
        RsaPrivateKey::from_components(
            CA_E1.modulus,
            CA_E1.exponent,
            CA_E1.private_exponent,
            CA_E2.prime_p,
            CA_E1.prime_q
        )
        .is_err()
    );
}

#[test]
fn generate_small_keys() {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    for e in [3, 65537] {
        let key = RsaPrivateKey::generate(&mut rng, 512, e).unwrap();
        assert_eq!(key.public_key().bits(), 512);
        let x = [0x11u8; 64];
        assert_eq!(key.public_key().recover(&key.sign(&x).unwrap()).unwrap(), x);
    }
    assert!(RsaPrivateKey::generate(&mut rng, 504, 3).is_err());
    assert!(RsaPrivateKey::generate(&mut rng, 512, 17).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_recover_round_trip(
        top in 0u8..0x80,
        body in proptest::collection::vec(any::<u8>(), 175),
        which in 0usize..4,
    ) {
        let key = [CA_E2, ISSUER_896_E3, ICC_768_E3, ICC_896_E65537][which];
        let key = private(&key);
        let n = key.modulus_len();
        let mut x = vec![top];
        x.extend_from_slice(&body[..n - 1]);
        let s = key.sign(&x).unwrap();
        prop_assert_eq!(s.len(), n);
        prop_assert_eq!(key.public_key().recover(&s).unwrap(), x);
    }

    #[test]
    fn sda_round_trip_random_static_data(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        dac in any::<[u8; 2]>(),
    ) {
        let issuer = private(&ISSUER_1024_E3);
        let ssad = sign_static_application_data(&issuer, dac, &data).unwrap();
        prop_assert_eq!(
            verify_static_application_data(issuer.public_key(), &ssad, &data).unwrap(),
            dac
        );
    }

    #[test]
    fn dda_round_trip_random_data(
        icc_data in proptest::collection::vec(any::<u8>(), 0..=71),
        ddol in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let icc = private(&ICC_768_E3);
        let sdad = sign_dynamic_application_data(&icc, &icc_data, &ddol).unwrap();
        prop_assert_eq!(
            recover_dynamic_application_data(icc.public_key(), &sdad, &ddol).unwrap(),
            icc_data
        );
    }
}
