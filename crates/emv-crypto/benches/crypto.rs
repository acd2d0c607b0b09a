//! Criterion benches for the symmetric hot paths of the host and the card:
//!
//! * `arqc_generate_verify`: AC session key derivation + ARQC generation + constant-time
//!   verification, for Visa CVN 18 and M/Chip CVN 16;
//! * `pin_block_decrypt_pvv_verify`: ISO 9564 format 0 decipherment + decoding + Visa PVV
//!   verification (the issuer's online-PIN path);
//! * `rsa_private`: the card's RSA private operation (fixed-width CRT, fault-checked) for the
//!   768- and 1024-bit ICC test keys: the DDA/CDA signature, most of a full transaction;
//! * `rsa_public`: what a kernel does per certificate on every transaction: build the
//!   public key from a recovered modulus (Montgomery constants included), then one
//!   recovery (e = 3), for a 1024- and a 1408-bit key;
//! * `iso8583_mac`: ISO/IEC 9797-1 MAC algorithm 3 over 312 bytes (an ISO 8583 0100 in the
//!   ASCII layout), ours (FIPS 46-3 tables, cached schedules) next to the same MAC on the
//!   RustCrypto `des` crate, the peer, in the same run.
//!
//! Run: `cargo bench -p emv-crypto --bench crypto -- --quick`.
// Fixed, known-good inputs: a failure here is a bug in the bench itself.
#![allow(clippy::unwrap_used, missing_docs, clippy::too_many_lines)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use emv_crypto::cryptogram::{AcData, generate_ac, verify_ac};
use emv_crypto::oda::{RsaPublicKey, test_keys};
use emv_crypto::pinblock::{PinBlockFormat, decrypt_pin_block};
use emv_crypto::pvv::verify_visa_pvv;
use emv_crypto::{Cvn, TdesKey};

/// docs/test-vectors.md §1 common transaction data (9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36).
const DATA: [u8; 33] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x26, 0x00, 0x00,
    0x00, 0x80, 0x00, 0x08, 0x26, 0x24, 0x01, 0x15, 0x00, 0x12, 0x34, 0x56, 0x78, 0x58, 0x00, 0x00,
    0x01,
];

fn arqc_generate_verify(c: &mut Criterion) {
    let imk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let mut group = c.benchmark_group("arqc_generate_verify");
    for (cvn, pan, iad) in [
        (
            Cvn::Visa18,
            "4761739001010119",
            &[0x06, 0x01, 0x12, 0x03, 0xA0, 0x00, 0x00][..],
        ),
        (
            Cvn::Mc16,
            "5413330089600010",
            &[0x01, 0x10, 0xA0, 0x00, 0x03, 0x22, 0x00, 0x00, 0x00, 0x00][..],
        ),
    ] {
        let mk = cvn.derive_icc_mk(&imk, pan, None).unwrap();
        let tx = AcData::new(0x0001, [0x12, 0x34, 0x56, 0x78], &DATA, iad);
        group.bench_function(cvn.name(), |b| {
            b.iter(|| {
                let ac = generate_ac(cvn, black_box(&mk), black_box(&tx)).unwrap();
                verify_ac(cvn, &mk, &tx, black_box(&ac)).unwrap();
                ac
            })
        });
    }
    group.finish();
}

fn pin_block_decrypt_pvv_verify(c: &mut Criterion) {
    // psec P01 / P07 / P08: ISO-0 block AC0708A3C923D34D under PEK 0123..3210 → PIN 1234,
    // PVV 0949 (PVKI 1) under the same key as PVK.
    let pek = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let pvk = pek.clone();
    let block = [0xAC, 0x07, 0x08, 0xA3, 0xC9, 0x23, 0xD3, 0x4D];
    let pan = "4761739001010119";
    c.bench_function("pin_block_decrypt_pvv_verify", |b| {
        b.iter(|| {
            let pin = decrypt_pin_block(&pek, PinBlockFormat::Iso0, black_box(&block), Some(pan))
                .unwrap();
            verify_visa_pvv(&pvk, pan, 1, &pin, black_box("0949")).unwrap();
        })
    });
}

fn rsa_private(c: &mut Criterion) {
    let mut group = c.benchmark_group("rsa_private");
    for key in [&test_keys::ICC_768_E3, &test_keys::ICC_1024_E3] {
        let private = key.private_key().unwrap();
        // A DDA-shaped input: header 6A, then bytes below the modulus, trailer BC.
        let mut input = vec![0xBB; private.modulus_len()];
        input[0] = 0x6A;
        *input.last_mut().unwrap() = 0xBC;
        group.bench_function(key.name, |b| {
            b.iter(|| private.sign(black_box(&input)).unwrap())
        });
    }
    group.finish();
}

fn rsa_public(c: &mut Criterion) {
    let mut group = c.benchmark_group("rsa_public");
    for key in [&test_keys::ISSUER_1024_E3, &test_keys::CA_E2] {
        let private = key.private_key().unwrap();
        let mut signature = vec![0xBB; private.modulus_len()];
        signature[0] = 0x6A;
        let signature = private.sign(&signature).unwrap();
        group.bench_function(format!("new_and_recover/{}", key.name), |b| {
            b.iter(|| {
                let public = RsaPublicKey::new(black_box(key.modulus), key.exponent).unwrap();
                public.recover(black_box(&signature)).unwrap()
            })
        });
    }
    group.finish();
}

fn iso8583_mac(c: &mut Criterion) {
    use des::Des;
    use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
    use emv_crypto::block::Padding;
    use emv_crypto::mac::retail_mac;

    let key = TdesKey::from_hex("4F1E8A3BC2D70695E1A0B7C48D2F3961").unwrap();
    let data: Vec<u8> = (0..312u32).map(|i| b'0' + (i % 10) as u8).collect();
    let mut group = c.benchmark_group("iso8583_mac");
    group.bench_function("emv-crypto", |b| {
        b.iter(|| retail_mac(black_box(&key), black_box(&data), Padding::Method1).unwrap())
    });
    // the peer: MAC algorithm 3 on the `des` crate, schedules built per MAC as before
    group.bench_function("des-crate", |b| {
        b.iter(|| {
            let k = black_box(&key).as_bytes();
            let left = Des::new(k[..8].try_into().unwrap());
            let right = Des::new(k[8..16].try_into().unwrap());
            let mut h = [0u8; 8];
            for chunk in black_box(&data).chunks(8) {
                for (x, y) in h.iter_mut().zip(chunk) {
                    *x ^= y;
                }
                left.encrypt_block((&mut h).into());
            }
            right.decrypt_block((&mut h).into());
            left.encrypt_block((&mut h).into());
            h
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    iso8583_mac,
    arqc_generate_verify,
    pin_block_decrypt_pvv_verify,
    rsa_private,
    rsa_public
);
criterion_main!(benches);
