//! Symmetric key types: single DES, TDES (2- and 3-key) and AES (128/192/256).
//!
//! The bytes live in [`zeroize::Zeroizing`] buffers (wiped on drop), `Debug` shows only the
//! length and the key check value, and equality is constant time. To print a key on
//! purpose (the `emvbench calc` CLI does), call `to_hex()`.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;
use std::sync::Arc;

use crate::block::{self, Aes, Tdes};
use crate::util;

/// A single-DES key (8 bytes; parity bits are carried, not checked).
#[derive(Clone)]
pub struct DesKey(Zeroizing<[u8; 8]>);

/// A TDES key: double length (2-key, K1 K2 K1) or triple length (3-key, K1 K2 K3).
#[derive(Clone)]
pub struct TdesKey {
    bytes: Zeroizing<[u8; 24]>,
    len: usize,
    /// The expanded key schedule, built once: EMV keys (session keys included) encrypt
    /// several blocks each, and expanding 48 DES subkeys costs as much as a block. The des
    /// crate zeroizes it on drop (feature `zeroize`).
    cipher: Arc<Tdes>,
}

/// An AES key of 128, 192 or 256 bits.
#[derive(Clone)]
pub struct AesKey {
    bytes: Zeroizing<[u8; 32]>,
    len: usize,
}

fn key_length_error(algorithm: &'static str, expected: &'static str, got: usize) -> CryptoError {
    CryptoError::KeyLength {
        algorithm,
        expected,
        got,
    }
}

impl DesKey {
    /// A single-DES key from 8 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 8] = bytes
            .try_into()
            .map_err(|_| key_length_error("DES", "8 bytes", bytes.len()))?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// A single-DES key from 16 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(util::from_hex("DES key", hex)?);
        Self::new(&bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// Key check value: the first 3 bytes of `DES(K)[00…00]` (ANSI X9.24-1 KCV).
    pub fn kcv(&self) -> [u8; 3] {
        let e = block::des_encrypt_block(self, &[0; 8]);
        [e[0], e[1], e[2]]
    }

    /// This key with every byte set to odd parity (FIPS 46-3 §2: bit 8 of each byte).
    pub fn with_odd_parity(&self) -> Self {
        let mut b = self.0.clone();
        block::set_odd_parity(&mut *b);
        Self(b)
    }

    /// Whether every byte has odd parity.
    pub fn has_odd_parity(&self) -> bool {
        block::has_odd_parity(&*self.0)
    }

    /// Upper-case hex of the key bytes: deliberately reveals the secret.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(util::to_hex(&*self.0))
    }
}

impl TdesKey {
    /// A TDES key from 16 (2-key) or 24 (3-key) bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 16 && bytes.len() != 24 {
            return Err(key_length_error(
                "TDES",
                "16 (2-key) or 24 (3-key) bytes",
                bytes.len(),
            ));
        }
        let mut arr = Zeroizing::new([0u8; 24]);
        arr[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            cipher: Arc::new(Tdes::new(bytes)),
            bytes: arr,
            len: bytes.len(),
        })
    }

    /// A TDES key from 32 or 48 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(util::from_hex("TDES key", hex)?);
        Self::new(&bytes)
    }

    /// The key bytes (16 or 24).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Key length in bytes (16 or 24).
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// Left 8 bytes K1 (the "K_L" of ISO/IEC 9797-1 MAC algorithm 3).
    pub fn left(&self) -> DesKey {
        let mut k = Zeroizing::new([0u8; 8]);
        k.copy_from_slice(&self.bytes[..8]);
        DesKey(k)
    }

    /// Second 8 bytes K2 (the "K_R" of ISO/IEC 9797-1 MAC algorithm 3 for a 2-key TDES key).
    pub fn right(&self) -> DesKey {
        let mut k = Zeroizing::new([0u8; 8]);
        k.copy_from_slice(&self.bytes[8..16]);
        DesKey(k)
    }

    /// Key check value: the first 3 bytes of `TDES(K)[00…00]` (ANSI X9.24-1 KCV).
    pub fn kcv(&self) -> [u8; 3] {
        let e = block::tdes_encrypt_block(self, &[0; 8]);
        [e[0], e[1], e[2]]
    }

    /// Key check value of `len` bytes (1..=8) of `TDES(K)[00…00]`; 2 and 3 are common.
    pub fn check_value(&self, len: usize) -> Result<Vec<u8>, CryptoError> {
        if !(1..=8).contains(&len) {
            return Err(CryptoError::InvalidInput {
                what: "KCV length",
                reason: format!("must be 1–8 bytes for TDES, got {len}"),
            });
        }
        Ok(block::tdes_encrypt_block(self, &[0; 8])[..len].to_vec())
    }

    /// This key with every byte set to odd parity (FIPS 46-3 §2).
    pub fn with_odd_parity(&self) -> Self {
        let mut bytes = self.bytes.clone();
        block::set_odd_parity(&mut bytes[..self.len]);
        Self::rebuilt(bytes, self.len)
    }

    /// A key from bytes already checked to be a TDES key's (the schedule is rebuilt).
    fn rebuilt(bytes: Zeroizing<[u8; 24]>, len: usize) -> Self {
        Self {
            cipher: Arc::new(Tdes::new(&bytes[..len])),
            bytes,
            len,
        }
    }

    /// Whether every byte has odd parity.
    pub fn has_odd_parity(&self) -> bool {
        block::has_odd_parity(self.as_bytes())
    }

    /// This key with a key variant applied: `variant × 8` XORed into the first byte of each
    /// 8-byte component (the variant scheme of psec `apply_key_variant`, variants 0–31).
    pub fn with_variant(&self, variant: u8) -> Result<Self, CryptoError> {
        if variant > 31 {
            return Err(CryptoError::InvalidInput {
                what: "key variant",
                reason: format!("must be 0–31, got {variant}"),
            });
        }
        let mut bytes = self.bytes.clone();
        for i in (0..self.len).step_by(8) {
            bytes[i] ^= variant << 3;
        }
        Ok(Self::rebuilt(bytes, self.len))
    }

    /// Upper-case hex of the key bytes: deliberately reveals the secret.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(util::to_hex(self.as_bytes()))
    }

    /// The cipher instance (2-key EDE or 3-key EDE).
    pub(crate) fn cipher(&self) -> &Tdes {
        &self.cipher
    }
}

impl AesKey {
    /// An AES key from 16, 24 or 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        if ![16, 24, 32].contains(&bytes.len()) {
            return Err(key_length_error("AES", "16, 24 or 32 bytes", bytes.len()));
        }
        let mut arr = Zeroizing::new([0u8; 32]);
        arr[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            bytes: arr,
            len: bytes.len(),
        })
    }

    /// An AES key from 32, 48 or 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(util::from_hex("AES key", hex)?);
        Self::new(&bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Key length in bytes (16, 24 or 32).
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// Key check value as commonly used for AES (and by this crate's CLI): the first 3 bytes
    /// of `AES-ECB(K)[00…00]` (one 16-byte zero block).
    pub fn kcv(&self) -> [u8; 3] {
        let e = block::aes_encrypt_block(self, &[0; 16]);
        [e[0], e[1], e[2]]
    }

    /// CMAC-based key check value (ANSI X9.24-1 Annex A style, as AWS Payment Cryptography
    /// computes it): the leftmost 3 bytes of `AES-CMAC(K)[00…00]` over 16 zero bytes.
    /// Differs from [`AesKey::kcv`] for the same key.
    pub fn kcv_cmac(&self) -> [u8; 3] {
        let m = crate::mac::aes_cmac(self, &[0; 16]);
        [m[0], m[1], m[2]]
    }

    /// Upper-case hex of the key bytes: deliberately reveals the secret.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(util::to_hex(self.as_bytes()))
    }

    /// The cipher instance.
    pub(crate) fn cipher(&self) -> Aes {
        Aes::new(self.as_bytes())
    }
}

/// Key family for the CLI's `kcv` (a 16-byte key is either a TDES or an AES-128 key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString)]
#[strum(ascii_case_insensitive, parse_err_ty = CryptoError, parse_err_fn = algorithm_error)]
pub enum KeyAlgorithm {
    /// Single DES (8 bytes) or TDES (16/24 bytes): KCV = `E_K(00×8)`.
    #[strum(
        serialize = "des",
        serialize = "tdes",
        serialize = "3des",
        serialize = "tdea"
    )]
    Tdes,
    /// AES (16/24/32 bytes): KCV = `AES_K(00×16)`.
    #[strum(serialize = "aes")]
    Aes,
    /// AES, CMAC-based KCV = `AES-CMAC_K(00×16)`.
    #[strum(serialize = "aes-cmac", serialize = "cmac")]
    AesCmac,
}

fn algorithm_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "key algorithm",
        reason: format!("expected tdes, aes or aes-cmac, got {got:?}"),
    }
}

/// The CLI's `kcv`: the 3-byte key check value of raw key bytes.
pub fn kcv(algorithm: KeyAlgorithm, key: &[u8]) -> Result<[u8; 3], CryptoError> {
    match algorithm {
        KeyAlgorithm::Tdes if key.len() == 8 => Ok(DesKey::new(key)?.kcv()),
        KeyAlgorithm::Tdes => Ok(TdesKey::new(key)?.kcv()),
        KeyAlgorithm::Aes => Ok(AesKey::new(key)?.kcv()),
        KeyAlgorithm::AesCmac => Ok(AesKey::new(key)?.kcv_cmac()),
    }
}

impl fmt::Debug for DesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesKey")
            .field("len", &8)
            .field("kcv", &util::to_hex(&self.kcv()))
            .finish()
    }
}

impl fmt::Debug for TdesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TdesKey")
            .field("len", &self.len)
            .field("kcv", &util::to_hex(&self.kcv()))
            .finish()
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesKey")
            .field("len", &self.len)
            .field("kcv", &util::to_hex(&self.kcv()))
            .finish()
    }
}

impl PartialEq for DesKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}
impl Eq for DesKey {}

impl PartialEq for TdesKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}
impl Eq for TdesKey {}

impl PartialEq for AesKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}
impl Eq for AesKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// The key schedule is cached: keys derived by changing bytes must encrypt with their
    /// own bytes, exactly as a key built fresh from them.
    #[test]
    fn derived_keys_encrypt_with_their_own_bytes() {
        let k = TdesKey::new(&hex!("0022446688AACCEE1133557799BBDDFF")).unwrap();
        let parity = k.with_odd_parity();
        assert_ne!(parity.as_bytes(), k.as_bytes());
        let fresh = TdesKey::new(parity.as_bytes()).unwrap();
        assert_eq!(parity.kcv(), fresh.kcv());
        let v = k.with_variant(1).unwrap();
        let fresh = TdesKey::new(v.as_bytes()).unwrap();
        assert_eq!(v.kcv(), fresh.kcv());
        assert_ne!(v.kcv(), k.kcv());
    }

    #[test]
    fn lengths_are_validated() {
        assert!(TdesKey::new(&[0; 16]).is_ok());
        assert!(TdesKey::new(&[0; 24]).is_ok());
        let e = TdesKey::new(&[0; 8]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "key length 8 bytes is invalid for TDES (expected 16 (2-key) or 24 (3-key) bytes)"
        );
        assert!(AesKey::new(&[0; 16]).is_ok());
        assert!(AesKey::new(&[0; 24]).is_ok());
        assert!(AesKey::new(&[0; 32]).is_ok());
        assert!(AesKey::new(&[0; 20]).is_err());
        assert!(DesKey::new(&[0; 7]).is_err());
        assert!(TdesKey::from_hex("0123").is_err());
    }

    #[test]
    fn debug_shows_only_length_and_kcv() {
        let k = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let d = format!("{k:?}");
        assert_eq!(d, r#"TdesKey { len: 16, kcv: "08D7B4" }"#);
        assert!(!d.contains("0123"));
        let a = AesKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        assert!(!format!("{a:?}").contains("0011"));
    }

    /// pyemv V18 / psec P10: kcv_IMK_AC_2 = 08D7, kcv_IMK_AC_3 = 08D7B4; pyemv V01 kcv 488FE4.
    #[test]
    fn tdes_kcv_vectors() {
        let k = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        assert_eq!(k.kcv(), hex!("08D7B4"));
        assert_eq!(k.check_value(2).unwrap(), hex!("08D7"));
        assert!(k.check_value(9).is_err());
        let mk = TdesKey::from_hex("5183894598EAD6D00402D6CD9B0E2FFE").unwrap();
        assert_eq!(mk.kcv(), hex!("488FE4"));
    }

    /// AES KCV (ECB of a zero block) against FIPS-197-independent value computed from the
    /// same primitive: AES-128 key 00..0F encrypts 00..00 to C6A13B37878F5B826F4F8162A1C8D879.
    #[test]
    fn aes_kcv() {
        let k = AesKey::from_hex("000102030405060708090A0B0C0D0E0F").unwrap();
        assert_eq!(k.kcv(), hex!("C6A13B"));
        // AES-CMAC of one zero block under 2B7E1516… (RFC 4493 key) computed independently
        // with Python `cryptography`: leftmost 3 bytes
        let r = AesKey::from_hex("2B7E151628AED2A6ABF7158809CF4F3C").unwrap();
        assert_eq!(r.kcv_cmac(), hex!("7AD386"));
        assert_ne!(k.kcv_cmac(), k.kcv());
    }

    /// pyemv tools.adjust_key_parity doc / V18 parity_adjust_1A2B3C4D5F0A1B2C.
    #[test]
    fn parity_adjust() {
        let k = TdesKey::from_hex("1A2B3C4D5F0A1B2C4D5F6A7B8C9D0F1A").unwrap();
        let p = k.with_odd_parity();
        assert_eq!(p.as_bytes(), hex!("1A2A3D4C5E0B1A2C4C5E6B7A8C9D0E1A"));
        assert!(p.has_odd_parity());
        assert!(!k.has_odd_parity());
    }

    /// psec P10 key_variant_1 and psec des.apply_key_variant doc.
    #[test]
    fn key_variant() {
        let k = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        assert_eq!(
            k.with_variant(1).unwrap().as_bytes(),
            hex!("0923456789ABCDEFF6DCBA9876543210")
        );
        assert!(k.with_variant(32).is_err());
    }

    #[test]
    fn cli_kcv() {
        let k = hex!("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(kcv(KeyAlgorithm::Tdes, &k).unwrap(), hex!("08D7B4"));
        assert_ne!(kcv(KeyAlgorithm::Aes, &k).unwrap(), hex!("08D7B4"));
        assert_eq!(
            kcv("des".parse().unwrap(), &hex!("0123456789ABCDEF")).unwrap(),
            DesKey::from_hex("0123456789ABCDEF").unwrap().kcv()
        );
        assert!(kcv(KeyAlgorithm::Aes, &[0; 8]).is_err());
        assert!("rsa".parse::<KeyAlgorithm>().is_err());
    }

    #[test]
    fn equality_is_by_value() {
        let a = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let b = TdesKey::new(a.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, a.with_variant(1).unwrap());
        assert_eq!(a.left().as_bytes(), &hex!("0123456789ABCDEF"));
        assert_eq!(a.right().as_bytes(), &hex!("FEDCBA9876543210"));
    }
}
