//! Block ciphers (DES, TDES, AES) in ECB and CBC over whole blocks, ISO/IEC 9797-1 padding
//! and DES key parity.
//!
//! AES comes from the RustCrypto `aes` crate (cipher 0.5), DES and TDES from the
//! table-driven FIPS 46-3 schedules in [`crate::fips46`] (checked against the RustCrypto
//! `des` crate in its tests; why: see that module); the modes are a few lines here so that every caller gets the same exact, allocation-light code
//! path. Nothing here pads implicitly: ECB/CBC take whole blocks (a clear error otherwise),
//! and [`pad`] applies ISO/IEC 9797-1 padding when the caller asks for it.

use core::fmt;

use aes::{Aes128, Aes192, Aes256};
use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use crate::CryptoError;
use crate::fips46::Des;
use crate::keys::{AesKey, DesKey, TdesKey};

/// DES/TDES block size in bytes.
pub const DES_BLOCK: usize = 8;
/// AES block size in bytes.
pub const AES_BLOCK: usize = 16;

/// A block cipher over `N`-byte blocks (crate-internal seam for the modes and MACs).
pub(crate) trait RawBlockCipher<const N: usize> {
    fn encrypt(&self, block: &mut [u8; N]);
    fn decrypt(&self, block: &mut [u8; N]);
}

/// Single DES.
pub(crate) struct SingleDes(Des);

impl SingleDes {
    pub(crate) fn new(key: &[u8; 8]) -> Self {
        Self(Des::new(key))
    }
}

impl RawBlockCipher<8> for SingleDes {
    fn encrypt(&self, block: &mut [u8; 8]) {
        self.0.encrypt(block);
    }
    fn decrypt(&self, block: &mut [u8; 8]) {
        self.0.decrypt(block);
    }
}

/// TDES, 2-key or 3-key EDE (ISO/IEC 18033-3, ANSI X9.52): `E_K3(D_K2(E_K1(x)))`, with
/// K3 = K1 for a 2-key key. The three schedules are kept, so ISO/IEC 9797-1 MAC
/// algorithm 3 can use K1 and K2 on their own ([`Tdes::k1`], [`Tdes::k2`]).
pub(crate) struct Tdes {
    k1: SingleDes,
    k2: SingleDes,
    /// `None` for a 2-key key (K3 = K1).
    k3: Option<SingleDes>,
}

impl Tdes {
    /// `key` is 16 or 24 bytes (guaranteed by [`TdesKey`]).
    pub(crate) fn new(key: &[u8]) -> Self {
        let part = |i: usize| {
            let mut k = [0u8; 8];
            if let Some(src) = key.get(8 * i..8 * i + 8) {
                k.copy_from_slice(src);
            }
            let c = SingleDes::new(&k);
            zeroize::Zeroize::zeroize(&mut k);
            c
        };
        Self {
            k1: part(0),
            k2: part(1),
            k3: (key.len() == 24).then(|| part(2)),
        }
    }

    /// K1's schedule (K_L of MAC algorithm 3).
    pub(crate) fn k1(&self) -> &SingleDes {
        &self.k1
    }

    /// K2's schedule (K_R of MAC algorithm 3).
    pub(crate) fn k2(&self) -> &SingleDes {
        &self.k2
    }
}

impl RawBlockCipher<8> for Tdes {
    fn encrypt(&self, block: &mut [u8; 8]) {
        self.k1.encrypt(block);
        self.k2.decrypt(block);
        self.k3.as_ref().unwrap_or(&self.k1).encrypt(block);
    }
    fn decrypt(&self, block: &mut [u8; 8]) {
        self.k3.as_ref().unwrap_or(&self.k1).decrypt(block);
        self.k2.encrypt(block);
        self.k1.decrypt(block);
    }
}

/// AES-128/192/256 (FIPS 197).
pub(crate) enum Aes {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl Aes {
    /// `key` is 16, 24 or 32 bytes (guaranteed by [`AesKey`]).
    pub(crate) fn new(key: &[u8]) -> Self {
        if let Ok(k) = <&[u8; 16]>::try_from(key) {
            Self::A128(Aes128::new(k.into()))
        } else if let Ok(k) = <&[u8; 24]>::try_from(key) {
            Self::A192(Aes192::new(k.into()))
        } else {
            let mut k32 = [0u8; 32];
            k32[..key.len().min(32)].copy_from_slice(&key[..key.len().min(32)]);
            let c = Self::A256(Aes256::new((&k32).into()));
            zeroize::Zeroize::zeroize(&mut k32);
            c
        }
    }
}

impl RawBlockCipher<16> for Aes {
    fn encrypt(&self, block: &mut [u8; 16]) {
        match self {
            Self::A128(c) => c.encrypt_block(block.into()),
            Self::A192(c) => c.encrypt_block(block.into()),
            Self::A256(c) => c.encrypt_block(block.into()),
        }
    }
    fn decrypt(&self, block: &mut [u8; 16]) {
        match self {
            Self::A128(c) => c.decrypt_block(block.into()),
            Self::A192(c) => c.decrypt_block(block.into()),
            Self::A256(c) => c.decrypt_block(block.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// generic modes (NIST SP 800-38A §6.1 ECB, §6.2 CBC)

fn check_blocks(what: &'static str, block: usize, data: &[u8]) -> Result<(), CryptoError> {
    if !data.len().is_multiple_of(block) {
        return Err(CryptoError::BlockLength {
            what,
            block,
            got: data.len(),
        });
    }
    Ok(())
}

pub(crate) fn ecb_encrypt_in_place<const N: usize, C: RawBlockCipher<N>>(c: &C, data: &mut [u8]) {
    for chunk in data.chunks_exact_mut(N) {
        if let Ok(b) = <&mut [u8; N]>::try_from(chunk) {
            c.encrypt(b);
        }
    }
}

pub(crate) fn ecb_decrypt_in_place<const N: usize, C: RawBlockCipher<N>>(c: &C, data: &mut [u8]) {
    for chunk in data.chunks_exact_mut(N) {
        if let Ok(b) = <&mut [u8; N]>::try_from(chunk) {
            c.decrypt(b);
        }
    }
}

pub(crate) fn cbc_encrypt_in_place<const N: usize, C: RawBlockCipher<N>>(
    c: &C,
    iv: &[u8; N],
    data: &mut [u8],
) {
    let mut chain = *iv;
    for chunk in data.chunks_exact_mut(N) {
        if let Ok(b) = <&mut [u8; N]>::try_from(chunk) {
            for (x, y) in b.iter_mut().zip(chain.iter()) {
                *x ^= y;
            }
            c.encrypt(b);
            chain = *b;
        }
    }
}

pub(crate) fn cbc_decrypt_in_place<const N: usize, C: RawBlockCipher<N>>(
    c: &C,
    iv: &[u8; N],
    data: &mut [u8],
) {
    let mut chain = *iv;
    for chunk in data.chunks_exact_mut(N) {
        if let Ok(b) = <&mut [u8; N]>::try_from(chunk) {
            let next = *b;
            c.decrypt(b);
            for (x, y) in b.iter_mut().zip(chain.iter()) {
                *x ^= y;
            }
            chain = next;
        }
    }
}

// ---------------------------------------------------------------------------------------
// single blocks

/// `DES(K)[block]`.
pub fn des_encrypt_block(key: &DesKey, block: &[u8; 8]) -> [u8; 8] {
    let mut b = *block;
    SingleDes::new(key.as_bytes()).encrypt(&mut b);
    b
}

/// `DES⁻¹(K)[block]`.
pub fn des_decrypt_block(key: &DesKey, block: &[u8; 8]) -> [u8; 8] {
    let mut b = *block;
    SingleDes::new(key.as_bytes()).decrypt(&mut b);
    b
}

/// `TDES(K)[block]` (EDE with K1 K2 K1 or K1 K2 K3).
pub fn tdes_encrypt_block(key: &TdesKey, block: &[u8; 8]) -> [u8; 8] {
    let mut b = *block;
    key.cipher().encrypt(&mut b);
    b
}

/// `TDES⁻¹(K)[block]`.
pub fn tdes_decrypt_block(key: &TdesKey, block: &[u8; 8]) -> [u8; 8] {
    let mut b = *block;
    key.cipher().decrypt(&mut b);
    b
}

/// `AES(K)[block]`.
pub fn aes_encrypt_block(key: &AesKey, block: &[u8; 16]) -> [u8; 16] {
    let mut b = *block;
    key.cipher().encrypt(&mut b);
    b
}

/// `AES⁻¹(K)[block]`.
pub fn aes_decrypt_block(key: &AesKey, block: &[u8; 16]) -> [u8; 16] {
    let mut b = *block;
    key.cipher().decrypt(&mut b);
    b
}

// ---------------------------------------------------------------------------------------
// whole-buffer ECB / CBC

/// TDES-ECB encryption of whole 8-byte blocks.
pub fn tdes_ecb_encrypt(key: &TdesKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks("TDES-ECB data", DES_BLOCK, data)?;
    let mut out = data.to_vec();
    ecb_encrypt_in_place(key.cipher(), &mut out);
    Ok(out)
}

/// TDES-ECB decryption of whole 8-byte blocks.
pub fn tdes_ecb_decrypt(key: &TdesKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks("TDES-ECB data", DES_BLOCK, data)?;
    let mut out = data.to_vec();
    ecb_decrypt_in_place(key.cipher(), &mut out);
    Ok(out)
}

/// TDES-CBC encryption of whole blocks; `iv` `None` = eight zero bytes (the EMV default,
/// EMV 4.4 Book 2 A1.1).
pub fn tdes_cbc_encrypt(
    key: &TdesKey,
    iv: Option<&[u8; 8]>,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_blocks("TDES-CBC data", DES_BLOCK, data)?;
    let mut out = data.to_vec();
    cbc_encrypt_in_place(key.cipher(), iv.unwrap_or(&[0; 8]), &mut out);
    Ok(out)
}

/// TDES-CBC decryption of whole blocks; `iv` `None` = eight zero bytes.
pub fn tdes_cbc_decrypt(
    key: &TdesKey,
    iv: Option<&[u8; 8]>,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_blocks("TDES-CBC data", DES_BLOCK, data)?;
    let mut out = data.to_vec();
    cbc_decrypt_in_place(key.cipher(), iv.unwrap_or(&[0; 8]), &mut out);
    Ok(out)
}

/// AES-ECB encryption of whole 16-byte blocks.
pub fn aes_ecb_encrypt(key: &AesKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks("AES-ECB data", AES_BLOCK, data)?;
    let mut out = data.to_vec();
    ecb_encrypt_in_place(&key.cipher(), &mut out);
    Ok(out)
}

/// AES-ECB decryption of whole 16-byte blocks.
pub fn aes_ecb_decrypt(key: &AesKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks("AES-ECB data", AES_BLOCK, data)?;
    let mut out = data.to_vec();
    ecb_decrypt_in_place(&key.cipher(), &mut out);
    Ok(out)
}

/// AES-CBC encryption of whole blocks; `iv` `None` = sixteen zero bytes.
pub fn aes_cbc_encrypt(
    key: &AesKey,
    iv: Option<&[u8; 16]>,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_blocks("AES-CBC data", AES_BLOCK, data)?;
    let mut out = data.to_vec();
    cbc_encrypt_in_place(&key.cipher(), iv.unwrap_or(&[0; 16]), &mut out);
    Ok(out)
}

/// AES-CBC decryption of whole blocks; `iv` `None` = sixteen zero bytes.
pub fn aes_cbc_decrypt(
    key: &AesKey,
    iv: Option<&[u8; 16]>,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_blocks("AES-CBC data", AES_BLOCK, data)?;
    let mut out = data.to_vec();
    cbc_decrypt_in_place(&key.cipher(), iv.unwrap_or(&[0; 16]), &mut out);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// ISO/IEC 9797-1 padding

/// ISO/IEC 9797-1:2011 §6.3 padding methods, parsed from `1`, `m1`, `method1` or
/// `method-1` (and so on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString)]
#[strum(parse_err_ty = CryptoError, parse_err_fn = padding_error)]
pub enum Padding {
    /// Method 1: append `00` bytes up to a block multiple (none if already aligned); an
    /// empty message becomes one zero block (the padded string must be a *positive*
    /// multiple of the block length). Used by Visa CVN 10 cryptograms.
    #[strum(
        serialize = "1",
        serialize = "m1",
        serialize = "method1",
        serialize = "method-1"
    )]
    Method1,
    /// Method 2: append `80` then `00` bytes up to a block multiple (always at least one
    /// byte added). Used by EMV cryptograms, ARPC method 2 and secure messaging.
    #[strum(
        serialize = "2",
        serialize = "m2",
        serialize = "method2",
        serialize = "method-2"
    )]
    Method2,
    /// Method 3: a block holding the message length in bits (big-endian), then the message
    /// padded as method 1 (no padding if aligned; empty message = length block only).
    #[strum(
        serialize = "3",
        serialize = "m3",
        serialize = "method3",
        serialize = "method-3"
    )]
    Method3,
}

fn padding_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "padding",
        reason: format!("expected 1, 2 or 3 (ISO/IEC 9797-1 method), got {got:?}"),
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match self {
            Self::Method1 => 1,
            Self::Method2 => 2,
            Self::Method3 => 3,
        };
        write!(f, "ISO/IEC 9797-1 padding method {n}")
    }
}

/// Pads `data` to a multiple of `block_size` (8 or 16) per ISO/IEC 9797-1 §6.3.
pub fn pad(data: &[u8], padding: Padding, block_size: usize) -> Vec<u8> {
    let bs = block_size.max(1);
    match padding {
        Padding::Method1 => {
            let mut out = data.to_vec();
            let target = if data.is_empty() {
                bs
            } else {
                data.len().div_ceil(bs) * bs
            };
            out.resize(target, 0);
            out
        }
        Padding::Method2 => {
            let mut out = Vec::with_capacity(data.len() + bs);
            out.extend_from_slice(data);
            out.push(0x80);
            let target = out.len().div_ceil(bs) * bs;
            out.resize(target, 0);
            out
        }
        Padding::Method3 => {
            let bits = (data.len() as u128).saturating_mul(8).to_be_bytes();
            let mut out = vec![0u8; bs];
            let take = bits.len().min(bs);
            out[bs - take..].copy_from_slice(&bits[bits.len() - take..]);
            out.extend_from_slice(data);
            let target = out.len().div_ceil(bs) * bs;
            out.resize(target, 0);
            out
        }
    }
}

/// Removes ISO/IEC 9797-1 method 2 padding: the last non-zero byte must be `80` and be in
/// the final block (padding is at most one block).
pub fn unpad_method2(data: &[u8], block_size: usize) -> Result<&[u8], CryptoError> {
    let pos = data
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(CryptoError::InvalidPadding("no 80 marker byte"))?;
    if data[pos] != 0x80 {
        return Err(CryptoError::InvalidPadding(
            "last non-zero byte is not the 80 marker",
        ));
    }
    if data.len() - pos > block_size {
        return Err(CryptoError::InvalidPadding("padding longer than one block"));
    }
    Ok(&data[..pos])
}

// ---------------------------------------------------------------------------------------
// DES parity (FIPS 46-3 §2: the 8th bit of each key byte makes the byte's parity odd)

/// Sets each byte to odd parity by adjusting its least significant bit.
pub fn set_odd_parity(bytes: &mut [u8]) {
    for b in bytes {
        let high = *b & 0xFE;
        *b = if high.count_ones() % 2 == 0 {
            high | 1
        } else {
            high
        };
    }
}

/// Whether every byte has an odd number of set bits.
pub fn has_odd_parity(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.count_ones() % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn tk(h: &str) -> TdesKey {
        TdesKey::from_hex(h).unwrap()
    }

    /// DES known-answer tests: FIPS 81 / NBS "Now is t" and the textbook key 133457799BBCDFF1.
    #[test]
    fn des_kat() {
        let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
        assert_eq!(des_encrypt_block(&k, b"Now is t"), hex!("3FA40E8A984D4815"));
        assert_eq!(
            des_decrypt_block(&k, &hex!("3FA40E8A984D4815")),
            *b"Now is t"
        );
        let k2 = DesKey::from_hex("133457799BBCDFF1").unwrap();
        assert_eq!(
            des_encrypt_block(&k2, &hex!("0123456789ABCDEF")),
            hex!("85E813540F0AB405")
        );
    }

    /// pyemv tools doc: TDES-ECB and CBC(IV 0) of "12345678" = 41D2FFBA3CDC15FE; a 3-key
    /// key K1 K2 K1 equals the 2-key key.
    #[test]
    fn tdes_kat() {
        let k = tk("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(
            tdes_ecb_encrypt(&k, b"12345678").unwrap(),
            hex!("41D2FFBA3CDC15FE")
        );
        assert_eq!(
            tdes_cbc_encrypt(&k, None, b"12345678").unwrap(),
            hex!("41D2FFBA3CDC15FE")
        );
        let k3 = tk("0123456789ABCDEFFEDCBA98765432100123456789ABCDEF");
        assert_eq!(
            tdes_ecb_encrypt(&k3, b"12345678").unwrap(),
            hex!("41D2FFBA3CDC15FE")
        );
        // docs/test-vectors.md §5: MC PIN data under 0123..3210 in CBC = 9859240AE52820C3
        let ct = tdes_cbc_encrypt(&k, None, &hex!("241234FFFFFFFFFF")).unwrap();
        assert_eq!(ct, hex!("9859240AE52820C3"));
        assert!(matches!(
            tdes_ecb_encrypt(&k, &[0; 7]),
            Err(CryptoError::BlockLength {
                block: 8,
                got: 7,
                ..
            })
        ));
    }

    /// FIPS-197 Appendix C.1 (AES-128), C.2 (AES-192), C.3 (AES-256).
    #[test]
    fn aes_fips197() {
        let pt = hex!("00112233445566778899AABBCCDDEEFF");
        let k128 = AesKey::from_hex("000102030405060708090A0B0C0D0E0F").unwrap();
        assert_eq!(
            aes_encrypt_block(&k128, &pt),
            hex!("69C4E0D86A7B0430D8CDB78070B4C55A")
        );
        let k192 = AesKey::from_hex("000102030405060708090A0B0C0D0E0F1011121314151617").unwrap();
        assert_eq!(
            aes_encrypt_block(&k192, &pt),
            hex!("DDA97CA4864CDFE06EAF70A0EC0D7191")
        );
        let k256 =
            AesKey::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
                .unwrap();
        let ct = hex!("8EA2B7CA516745BFEAFC49904B496089");
        assert_eq!(aes_encrypt_block(&k256, &pt), ct);
        assert_eq!(aes_decrypt_block(&k256, &ct), pt);
        assert_eq!(aes_ecb_decrypt(&k256, &ct).unwrap(), pt);
    }

    /// NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, first two blocks.
    #[test]
    fn aes_cbc_sp800_38a() {
        let k = AesKey::from_hex("2B7E151628AED2A6ABF7158809CF4F3C").unwrap();
        let iv = hex!("000102030405060708090A0B0C0D0E0F");
        let pt = hex!("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51");
        let ct = aes_cbc_encrypt(&k, Some(&iv), &pt).unwrap();
        assert_eq!(
            ct,
            hex!("7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2")
        );
        assert_eq!(aes_cbc_decrypt(&k, Some(&iv), &ct).unwrap(), pt);
        assert!(aes_cbc_encrypt(&k, None, &pt[..17]).is_err());
    }

    /// pyemv V06 and psec P10 padding vectors.
    #[test]
    fn padding_vectors() {
        assert_eq!(
            pad(&hex!("1234"), Padding::Method1, 8),
            hex!("1234000000000000")
        );
        assert_eq!(
            pad(&hex!("1234"), Padding::Method2, 8),
            hex!("1234800000000000")
        );
        let d8 = hex!("1234567890ABCDEF");
        assert_eq!(pad(&d8, Padding::Method1, 8), d8);
        assert_eq!(
            pad(&d8, Padding::Method2, 8),
            hex!("1234567890ABCDEF8000000000000000")
        );
        assert_eq!(pad(&[], Padding::Method1, 8), hex!("0000000000000000"));
        assert_eq!(pad(&[], Padding::Method2, 8), hex!("8000000000000000"));
        assert_eq!(
            pad(&hex!("1234"), Padding::Method3, 8),
            hex!("00000000000000101234000000000000")
        );
        assert_eq!(pad(&[], Padding::Method3, 8), hex!("0000000000000000"));
        assert_eq!(pad(&hex!("01"), Padding::Method2, 16).len(), 16);
    }

    #[test]
    fn unpad_method2_rules() {
        assert_eq!(
            unpad_method2(&hex!("1234800000000000"), 8).unwrap(),
            hex!("1234")
        );
        assert_eq!(
            unpad_method2(&hex!("1234567890ABCDEF8000000000000000"), 8).unwrap(),
            hex!("1234567890ABCDEF")
        );
        assert!(unpad_method2(&hex!("1234000000000000"), 8).is_err());
        assert!(unpad_method2(&hex!("0000000000000000"), 8).is_err());
        assert!(unpad_method2(&hex!("8000000000000000 0000000000000000"), 8).is_err());
    }

    #[test]
    fn parity() {
        let mut b = hex!("1A2B3C4D5F0A1B2C");
        set_odd_parity(&mut b);
        assert_eq!(b, hex!("1A2A3D4C5E0B1A2C"));
        assert!(has_odd_parity(&b));
        assert!(!has_odd_parity(&hex!("00")));
    }

    #[test]
    fn padding_from_str() {
        assert_eq!("2".parse::<Padding>().unwrap(), Padding::Method2);
        assert!("4".parse::<Padding>().is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn tdes_ecb_cbc_round_trip(key in prop::collection::vec(any::<u8>(), 16..=16),
                                       three in any::<bool>(), k3 in prop::collection::vec(any::<u8>(), 8..=8),
                                       blocks in prop::collection::vec(any::<[u8; 8]>(), 0..6),
                                       iv in any::<[u8; 8]>()) {
                let mut kb = key.clone();
                if three { kb.extend_from_slice(&k3); }
                let k = TdesKey::new(&kb).unwrap();
                let data: Vec<u8> = blocks.concat();
                let e = tdes_ecb_encrypt(&k, &data).unwrap();
                prop_assert_eq!(tdes_ecb_decrypt(&k, &e).unwrap(), data.clone());
                let c = tdes_cbc_encrypt(&k, Some(&iv), &data).unwrap();
                prop_assert_eq!(tdes_cbc_decrypt(&k, Some(&iv), &c).unwrap(), data.clone());
                // CBC with IV 0 over one block equals ECB
                if data.len() >= 8 {
                    let c0 = tdes_cbc_encrypt(&k, None, &data[..8]).unwrap();
                    prop_assert_eq!(&c0[..], &e[..8]);
                }
            }

            #[test]
            fn aes_ecb_cbc_round_trip(len in prop::sample::select(vec![16usize, 24, 32]),
                                      key in prop::collection::vec(any::<u8>(), 32..=32),
                                      blocks in prop::collection::vec(any::<[u8; 16]>(), 0..5),
                                      iv in any::<[u8; 16]>()) {
                let k = AesKey::new(&key[..len]).unwrap();
                let data: Vec<u8> = blocks.concat();
                let e = aes_ecb_encrypt(&k, &data).unwrap();
                prop_assert_eq!(aes_ecb_decrypt(&k, &e).unwrap(), data.clone());
                let c = aes_cbc_encrypt(&k, Some(&iv), &data).unwrap();
                prop_assert_eq!(aes_cbc_decrypt(&k, Some(&iv), &c).unwrap(), data);
            }

            #[test]
            fn method2_round_trip(data in prop::collection::vec(any::<u8>(), 0..40)) {
                let p = pad(&data, Padding::Method2, 8);
                prop_assert_eq!(p.len() % 8, 0);
                prop_assert_eq!(unpad_method2(&p, 8).unwrap(), &data[..]);
            }
        }
    }
}
