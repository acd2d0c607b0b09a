//! Message authentication codes: ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC) and algorithm 3
//! (the "retail MAC" of ANSI X9.19 used throughout EMV), AES-CMAC (RFC 4493 / NIST SP
//! 800-38B) and TDES-CMAC, truncation and constant-time verification.
//!
//! Padding is explicit ([`Padding`]): EMV uses method 2 for cryptograms and secure
//! messaging (EMV 4.4 Book 2 A1.2.1), Visa CVN 10 uses method 1.

use core::fmt;

use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, KeyInit, Mac};
use des::{TdesEde2, TdesEde3};
use subtle::ConstantTimeEq;

use crate::CryptoError;
use crate::block::{self, Padding, RawBlockCipher, SingleDes};
use crate::keys::{AesKey, DesKey, TdesKey};

/// ISO/IEC 9797-1 MAC algorithm number, as the CLI names it (`--algorithm 1|3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString)]
#[strum(ascii_case_insensitive, parse_err_ty = CryptoError, parse_err_fn = algorithm_error)]
pub enum MacAlgorithm {
    /// Algorithm 1: CBC-MAC with the whole key (single DES or TDES), IV zero.
    #[strum(
        serialize = "1",
        serialize = "alg1",
        serialize = "algorithm1",
        serialize = "cbc-mac"
    )]
    Alg1,
    /// Algorithm 3: single-DES CBC with K_L, final block `DES⁻¹(K_R)` then `DES(K_L)`.
    #[strum(
        serialize = "3",
        serialize = "alg3",
        serialize = "algorithm3",
        serialize = "retail",
        serialize = "retail-mac"
    )]
    Alg3,
}

fn algorithm_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "MAC algorithm",
        reason: format!("expected 1 or 3 (ISO/IEC 9797-1), got {got:?}"),
    }
}

impl fmt::Display for MacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Alg1 => f.write_str("ISO/IEC 9797-1 MAC algorithm 1"),
            Self::Alg3 => f.write_str("ISO/IEC 9797-1 MAC algorithm 3"),
        }
    }
}

/// CBC over padded data with IV zero; returns the last block (ISO/IEC 9797-1 §7.1, alg 1).
fn cbc_mac_raw<const N: usize, C: RawBlockCipher<N>>(c: &C, padded: &[u8]) -> [u8; N] {
    let mut chain = [0u8; N];
    for chunk in padded.chunks_exact(N) {
        for (x, y) in chain.iter_mut().zip(chunk) {
            *x ^= y;
        }
        c.encrypt(&mut chain);
    }
    chain
}

/// MAC algorithm 1 with single DES: CBC-MAC, IV zero, `padding` applied (ISO/IEC 9797-1
/// §7.2.1; ANSI X9.9).
pub fn cbc_mac_des(key: &DesKey, data: &[u8], padding: Padding) -> [u8; 8] {
    let padded = block::pad(data, padding, 8);
    cbc_mac_raw(&SingleDes::new(key.as_bytes()), &padded)
}

/// MAC algorithm 1 with TDES as the block cipher (CBC-MAC, IV zero).
pub fn cbc_mac_tdes(key: &TdesKey, data: &[u8], padding: Padding) -> [u8; 8] {
    let padded = block::pad(data, padding, 8);
    cbc_mac_raw(key.cipher(), &padded)
}

/// MAC algorithm 1 with AES as the block cipher (CBC-MAC, IV zero, 16-byte blocks).
pub fn cbc_mac_aes(key: &AesKey, data: &[u8], padding: Padding) -> [u8; 16] {
    let padded = block::pad(data, padding, 16);
    cbc_mac_raw(&key.cipher(), &padded)
}

/// MAC algorithm 3 with two single-DES keys K (= K_L) and K' (= K_R): single-DES CBC with
/// K over all blocks, then the output transformation 3 `DES(K)[DES⁻¹(K')[H_q]]`
/// (ISO/IEC 9797-1:2011 §7.3 and §7.4; EMV 4.4 Book 2 A1.2.1).
pub fn retail_mac_keys(kl: &DesKey, kr: &DesKey, data: &[u8], padding: Padding) -> [u8; 8] {
    let (left, right) = (SingleDes::new(kl.as_bytes()), SingleDes::new(kr.as_bytes()));
    retail_mac_with(&left, &right, data, padding)
}

/// MAC algorithm 3 ("retail MAC") with a double-length key K_L ‖ K_R; 8 bytes, truncate
/// with [`truncate_mac`]. A triple-length key is rejected: algorithm 3 takes two keys. Uses
/// the key's cached schedules (no key setup per MAC).
pub fn retail_mac(key: &TdesKey, data: &[u8], padding: Padding) -> Result<[u8; 8], CryptoError> {
    if key.byte_len() != 16 {
        return Err(CryptoError::KeyLength {
            algorithm: "ISO/IEC 9797-1 MAC algorithm 3",
            expected: "16 bytes (K_L ‖ K_R)",
            got: key.byte_len(),
        });
    }
    let c = key.cipher();
    Ok(retail_mac_with(c.k1(), c.k2(), data, padding))
}

/// MAC algorithm 3 over two key schedules (see [`retail_mac_keys`]).
fn retail_mac_with(left: &SingleDes, right: &SingleDes, data: &[u8], padding: Padding) -> [u8; 8] {
    let padded = block::pad(data, padding, 8);
    let mut h = cbc_mac_raw(left, &padded);
    right.decrypt(&mut h);
    left.encrypt(&mut h);
    h
}

/// AES-CMAC (RFC 4493; NIST SP 800-38B), 16 bytes, any AES key size.
pub fn aes_cmac(key: &AesKey, data: &[u8]) -> [u8; 16] {
    fn run<C: cmac::block_api::CmacCipher + KeyInit>(key: &[u8], data: &[u8]) -> [u8; 16]
    where
        Cmac<C>: KeyInit,
    {
        let mut out = [0u8; 16];
        if let Ok(mut m) = <Cmac<C> as KeyInit>::new_from_slice(key) {
            m.update(data);
            let tag = m.finalize().into_bytes();
            let n = tag.len().min(16);
            out[..n].copy_from_slice(&tag[..n]);
        }
        out
    }
    match key.byte_len() {
        16 => run::<Aes128>(key.as_bytes(), data),
        24 => run::<Aes192>(key.as_bytes(), data),
        _ => run::<Aes256>(key.as_bytes(), data),
    }
}

/// TDES-CMAC (NIST SP 800-38B with the 64-bit constant R64 = 0x1B), 8 bytes; used by
/// TR-31 version B key derivation and authentication.
pub fn tdes_cmac(key: &TdesKey, data: &[u8]) -> [u8; 8] {
    fn run<C: cmac::block_api::CmacCipher + KeyInit>(key: &[u8], data: &[u8]) -> [u8; 8]
    where
        Cmac<C>: KeyInit,
    {
        let mut out = [0u8; 8];
        if let Ok(mut m) = <Cmac<C> as KeyInit>::new_from_slice(key) {
            m.update(data);
            let tag = m.finalize().into_bytes();
            let n = tag.len().min(8);
            out[..n].copy_from_slice(&tag[..n]);
        }
        out
    }
    if key.byte_len() == 16 {
        run::<TdesEde2>(key.as_bytes(), data)
    } else {
        run::<TdesEde3>(key.as_bytes(), data)
    }
}

/// The leftmost `len` bytes of a MAC (ISO/IEC 9797-1 §7.5 truncation); `len` must be at
/// least 4 (EMV 4.4 Book 2 A1.2: MACs are 4–8 bytes) and at most the MAC length.
pub fn truncate_mac(mac: &[u8], len: usize) -> Result<Vec<u8>, CryptoError> {
    if len < 4 || len > mac.len() {
        return Err(CryptoError::MacLength {
            min: 4,
            max: mac.len(),
            got: len,
        });
    }
    Ok(mac[..len].to_vec())
}

/// Compares a received (possibly truncated) MAC with the full computed one in constant
/// time. The received length must be 4..=computed length.
pub fn verify_mac_value(
    received: &[u8],
    computed: &[u8],
    what: &'static str,
) -> Result<(), CryptoError> {
    if received.len() < 4 || received.len() > computed.len() {
        return Err(CryptoError::MacLength {
            min: 4,
            max: computed.len(),
            got: received.len(),
        });
    }
    if bool::from(received.ct_eq(&computed[..received.len()])) {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed(what))
    }
}

/// The CLI's `mac` operation: ISO/IEC 9797-1 `algorithm` 1 (key of 8, 16 or 24 bytes: DES
/// or TDES CBC-MAC) or 3 (key of 16 bytes), with `padding`, truncated to `length` (4–8).
pub fn compute_mac(
    algorithm: MacAlgorithm,
    key: &[u8],
    padding: Padding,
    length: usize,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let full = match algorithm {
        MacAlgorithm::Alg1 if key.len() == 8 => cbc_mac_des(&DesKey::new(key)?, data, padding),
        MacAlgorithm::Alg1 => cbc_mac_tdes(&TdesKey::new(key)?, data, padding),
        MacAlgorithm::Alg3 => {
            if key.len() != 16 {
                return Err(CryptoError::KeyLength {
                    algorithm: "ISO/IEC 9797-1 MAC algorithm 3",
                    expected: "16 bytes (K_L ‖ K_R)",
                    got: key.len(),
                });
            }
            retail_mac(&TdesKey::new(key)?, data, padding)?
        }
    };
    truncate_mac(&full, length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn tk(h: &str) -> TdesKey {
        TdesKey::from_hex(h).unwrap()
    }

    /// ISO/IEC 9797-1:1999 Annex B: K = 0123456789ABCDEF, K' = FEDCBA9876543210,
    /// D = "Now is the time for all ", padding method 1: algorithm 1 = 70A30640CC76DD8B,
    /// algorithm 3 = A1C72E74EA3FA9B6 (docs/test-vectors.md §5).
    #[test]
    fn iso9797_annex_b() {
        let d = b"Now is the time for all ";
        let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
        assert_eq!(
            cbc_mac_des(&k, d, Padding::Method1),
            hex!("70A30640CC76DD8B")
        );
        let kk = tk("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(
            retail_mac(&kk, d, Padding::Method1).unwrap(),
            hex!("A1C72E74EA3FA9B6")
        );
    }

    /// pyemv V06 / psec P10 MAC vectors (key 0123..3210).
    #[test]
    fn pyemv_psec_mac_vectors() {
        let k = tk("0123456789ABCDEFFEDCBA9876543210");
        let d8 = hex!("1234567890ABCDEF");
        assert_eq!(
            retail_mac(&k, &d8, Padding::Method2).unwrap(),
            hex!("912476C111DB4238")
        );
        assert_eq!(
            retail_mac(&k, &d8, Padding::Method1).unwrap(),
            hex!("479EF7C1ECFE64AC")
        );
        assert_eq!(
            retail_mac(&k, &d8, Padding::Method3).unwrap(),
            hex!("D6E62DA408438847")
        );
        let d5 = hex!("8424000008");
        assert_eq!(
            retail_mac(&k, &d5, Padding::Method2).unwrap(),
            hex!("0BFFF5DF3FAA24E1")
        );
        assert_eq!(
            compute_mac(MacAlgorithm::Alg3, k.as_bytes(), Padding::Method2, 4, &d5).unwrap(),
            hex!("0BFFF5DF")
        );
        // psec P10: CBC-MAC with TDES (key 0123..3210) and with AES, padding 2. The file lists
        // only the TDES key; cbc_mac_aes_pad2 was computed with the P05 AES key 0011..EEFF
        // (re-derived with psec 1.3.0: under 0123..3210 it would be 1B4F88EDEBAF88C8…).
        assert_eq!(
            cbc_mac_tdes(&k, &d8, Padding::Method2),
            hex!("925B1737EF681AD3")
        );
        let a = AesKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        assert_eq!(
            cbc_mac_aes(&a, &d8, Padding::Method2),
            hex!("AFDF3145A619BB85FDC2B0B35D8665DE")
        );
        assert_eq!(
            compute_mac(MacAlgorithm::Alg1, k.as_bytes(), Padding::Method2, 8, &d8).unwrap(),
            hex!("925B1737EF681AD3")
        );
    }

    /// pyemv V06 "pitfall_16byte_keys_doc_example": passing two *16-byte* keys to a retail
    /// MAC (TDES CBC with key1, final D(key2)/E(key1)) gives 644AA5C915DBDAF8, not the
    /// algorithm 3 value 912476C111DB4238 of the same 16-byte key split in 8-byte halves.
    #[test]
    fn pitfall_two_double_length_keys() {
        let k1 = tk("0123456789ABCDEFFEDCBA9876543210");
        let k2 = tk("FEDCBA98765432100123456789ABCDEF");
        let padded = block::pad(&hex!("1234567890ABCDEF"), Padding::Method2, 8);
        let mut h = cbc_mac_raw(k1.cipher(), &padded);
        k2.cipher().decrypt(&mut h);
        k1.cipher().encrypt(&mut h);
        assert_eq!(h, hex!("644AA5C915DBDAF8"));
        assert_ne!(
            h,
            retail_mac(&k1, &hex!("1234567890ABCDEF"), Padding::Method2).unwrap()
        );
    }

    /// docs/test-vectors.md §5: script MAC vectors with SK-SMI 0123..3210.
    #[test]
    fn emv_reference_script_mac() {
        let k = tk("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(
            retail_mac(&k, &hex!("8424000008"), Padding::Method2).unwrap(),
            hex!("0BFFF5DF3FAA24E1")
        );
        assert_eq!(
            retail_mac(
                &k,
                &hex!("8424000008FFFF1234567890123456"),
                Padding::Method2
            )
            .unwrap(),
            hex!("E07B8DF1B4184282")
        );
    }

    /// RFC 4493 §4 examples 1–4 (AES-128 key 2B7E1516…).
    #[test]
    fn rfc4493() {
        let k = AesKey::from_hex("2B7E151628AED2A6ABF7158809CF4F3C").unwrap();
        let m = hex!(
            "6BC1BEE22E409F96E93D7E117393172A AE2D8A571E03AC9C9EB76FAC45AF8E51"
            "30C81C46A35CE411E5FBC1191A0A52EF F69F2445DF4F9B17AD2B417BE66C3710"
        );
        assert_eq!(aes_cmac(&k, &[]), hex!("BB1D6929E95937287FA37D129B756746"));
        assert_eq!(
            aes_cmac(&k, &m[..16]),
            hex!("070A16B46B4D4144F79BDD9DD04A287C")
        );
        assert_eq!(
            aes_cmac(&k, &m[..40]),
            hex!("DFA66747DE9AE63030CA32611497C827")
        );
        assert_eq!(
            aes_cmac(&k, &m[..64]),
            hex!("51F0BEBF7E3B9D92FC49741779363CFE")
        );
    }

    /// NIST SP 800-38B D.4 (three-key TDEA): example 1 (empty) and example 2 (Mlen = 64).
    #[test]
    fn tdes_cmac_sp800_38b() {
        let k = tk("8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5");
        assert_eq!(tdes_cmac(&k, &[]), hex!("B7A688E122FFAF95"));
        assert_eq!(
            tdes_cmac(&k, &hex!("6BC1BEE22E409F96")),
            hex!("8E8F293136283797")
        );
    }

    #[test]
    fn truncation_and_verification() {
        let mac = hex!("0BFFF5DF3FAA24E1");
        assert_eq!(truncate_mac(&mac, 4).unwrap(), hex!("0BFFF5DF"));
        assert!(matches!(
            truncate_mac(&mac, 3),
            Err(CryptoError::MacLength { got: 3, .. })
        ));
        assert!(truncate_mac(&mac, 9).is_err());
        assert!(verify_mac_value(&mac[..4], &mac, "x").is_ok());
        assert!(verify_mac_value(&mac, &mac, "x").is_ok());
        let mut bad = mac;
        bad[7] ^= 1;
        assert_eq!(
            verify_mac_value(&bad, &mac, "script MAC"),
            Err(CryptoError::VerificationFailed("script MAC"))
        );
        assert!(verify_mac_value(&mac[..3], &mac, "x").is_err());
        assert!(compute_mac(MacAlgorithm::Alg3, &[0; 24], Padding::Method2, 8, &[]).is_err());
    }

    #[test]
    fn algorithm_from_str() {
        assert_eq!("1".parse::<MacAlgorithm>().unwrap(), MacAlgorithm::Alg1);
        assert_eq!("3".parse::<MacAlgorithm>().unwrap(), MacAlgorithm::Alg3);
        assert!("2".parse::<MacAlgorithm>().is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// a flipped bit anywhere in a retail MAC is rejected
            #[test]
            fn flipped_mac_bit_rejected(key in any::<[u8; 16]>(), data in prop::collection::vec(any::<u8>(), 0..40),
                                        bit in 0usize..64) {
                let k = TdesKey::new(&key).unwrap();
                let mac = retail_mac(&k, &data, Padding::Method2).unwrap();
                prop_assert!(verify_mac_value(&mac, &mac, "m").is_ok());
                let mut bad = mac;
                bad[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(verify_mac_value(&bad, &mac, "m").is_err());
            }
        }
    }
}
