//! Offline data authentication: EMV 4.4 Book 2 §5 (SDA), §6 (DDA and CDA), Annex A2
//! (SHA-1) and Annex B2 (RSA).
//!
//! Both sides live here:
//! * the issuer/personalisation side *issues* certificates ([`issue_issuer_certificate`],
//!   [`issue_icc_certificate`], [`issue_icc_pin_encipherment_certificate`]) and signs
//!   static data ([`sign_static_application_data`]);
//! * the card side signs dynamic data ([`sign_dynamic_application_data`], [`sign_cda`]);
//! * the terminal side recovers and checks everything
//!   ([`recover_issuer_public_key`], [`recover_icc_public_key`],
//!   [`recover_icc_pin_encipherment_public_key`], [`verify_static_application_data`],
//!   [`recover_dynamic_application_data`], [`verify_cda`]).
//!
//! Inputs are plain byte slices (tag values, Static Data to be Authenticated, DOL data): the
//! kernel assembles them with the TLV crate. Every failed check returns its own
//! [`CryptoError`] variant (`Oda*`), so the kernel can set the right TVR bit.
//!
//! The certification authority for tests is in [`test_keys`] (RID `F0 00 00 00 01`,
//! indices `E1`, `E2`, `E3`).

mod ca;
mod cert;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz_support;
mod rsa_fixed;
mod rsa_key;
mod signed_data;
pub mod test_keys;

pub use ca::{CaKeyStore, CaPublicKey};
pub use cert::{
    CertifiedKey, PublicKeyCertificate, issue_icc_certificate,
    issue_icc_pin_encipherment_certificate, issue_issuer_certificate, issuer_identifier_from_pan,
    recover_icc_pin_encipherment_public_key, recover_icc_public_key, recover_issuer_public_key,
};
pub use rsa_key::{MAX_MODULUS_BITS, MIN_MODULUS_BITS, RsaPrivateKey, RsaPublicKey};
pub use signed_data::{
    CdaInput, CdaRecovered, cda_transaction_data_hash, dda_icc_dynamic_data, icc_dynamic_number,
    recover_dynamic_application_data, sign_cda, sign_dynamic_application_data,
    sign_static_application_data, verify_cda, verify_static_application_data,
};

use crate::CryptoError;
use sha1::Digest as _;

/// Recovered Data Header (Book 2 Tables 6, 7, 14, 17).
pub const RECOVERED_DATA_HEADER: u8 = 0x6A;
/// Recovered Data Trailer (Book 2 Tables 6, 7, 14, 17).
pub const RECOVERED_DATA_TRAILER: u8 = 0xBC;
/// Pad byte of certificates and signed data (Book 2 §5.1, Tables 6, 7, 14, 17).
pub const PAD: u8 = 0xBB;
/// Hash Algorithm Indicator for SHA-1, the only one defined (Book 2 Annex B3.1).
pub const HASH_ALGORITHM_SHA1: u8 = 0x01;
/// Public Key Algorithm Indicator for RSA, the only one defined (Book 2 Annex B2.1).
pub const PK_ALGORITHM_RSA: u8 = 0x01;
/// Certificate Format of an Issuer Public Key Certificate (Book 2 Table 6).
pub const FORMAT_ISSUER_CERTIFICATE: u8 = 0x02;
/// Signed Data Format of Signed Static Application Data (Book 2 Table 7).
pub const FORMAT_SIGNED_STATIC_DATA: u8 = 0x03;
/// Certificate Format of an ICC (or ICC PIN Encipherment) Public Key Certificate
/// (Book 2 Table 14, §7.1).
pub const FORMAT_ICC_CERTIFICATE: u8 = 0x04;
/// Signed Data Format of Signed Dynamic Application Data (Book 2 Table 17).
pub const FORMAT_SIGNED_DYNAMIC_DATA: u8 = 0x05;
/// Length of a SHA-1 hash result.
pub const HASH_LEN: usize = 20;

/// SHA-1 over the concatenation of `parts` (Book 2 Annex B3.1).
pub(crate) fn sha1(parts: &[&[u8]]) -> [u8; HASH_LEN] {
    let mut h = sha1::Sha1::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// A year and month, for certificate expiry checks (Book 2 §5.3 step 9: "the last day of
/// the month specified in the Certificate Expiration Date is equal to or later than today's
/// date", so comparing year and month is enough).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: u16,
    month: u8,
}

fn bcd_byte(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// Two-digit year to four digits with the EMV window (Book 4 §6.7.3: YY 00–49 → 20YY,
/// 50–99 → 19YY).
fn expand_year(yy: u8) -> u16 {
    if yy < 50 {
        2000 + u16::from(yy)
    } else {
        1900 + u16::from(yy)
    }
}

impl YearMonth {
    /// A year (e.g. 2026) and month (1..=12).
    pub fn new(year: u16, month: u8) -> Result<Self, CryptoError> {
        if !(1..=12).contains(&month) {
            return Err(CryptoError::InvalidInput {
                what: "month",
                reason: format!("{month} is not 1..=12"),
            });
        }
        Ok(Self { year, month })
    }

    /// From a Transaction Date (tag 9A, `YYMMDD` in BCD).
    pub fn from_transaction_date(yymmdd: &[u8]) -> Result<Self, CryptoError> {
        let bad = || CryptoError::InvalidInput {
            what: "transaction date",
            reason: "expected 3 BCD bytes YYMMDD".into(),
        };
        let [yy, mm, _dd] = yymmdd else {
            return Err(bad());
        };
        let (yy, mm) = (
            bcd_byte(*yy).ok_or_else(bad)?,
            bcd_byte(*mm).ok_or_else(bad)?,
        );
        Self::new(expand_year(yy), mm)
    }

    /// From a Certificate Expiration Date (`MMYY` in BCD), if it is a valid date.
    pub fn from_mmyy(mmyy: [u8; 2]) -> Option<Self> {
        let mm = bcd_byte(mmyy[0])?;
        let yy = bcd_byte(mmyy[1])?;
        Self::new(expand_year(yy), mm).ok()
    }

    /// The year, four digits.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(&self) -> u8 {
        self.month
    }
}

/// Decimal digits of a `cn` value (PAN, Issuer Identifier): nibbles up to the first `F`,
/// which must be followed only by `F`s. `None` if a nibble is A–E or padding is broken.
pub(crate) fn cn_digits(value: &[u8]) -> Option<Vec<u8>> {
    let mut digits = Vec::with_capacity(value.len() * 2);
    let mut padding = false;
    for nibble in value.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match (padding, nibble) {
            (false, 0..=9) => digits.push(nibble),
            (_, 0x0F) => padding = true,
            _ => return None,
        }
    }
    Some(digits)
}

/// Packs digits as `cn` into exactly `len` bytes, right-padded with `F`.
pub(crate) fn cn_pack(digits: &[u8], len: usize) -> Option<Vec<u8>> {
    if digits.len() > len * 2 || digits.iter().any(|&d| d > 9) {
        return None;
    }
    let mut out = vec![0xFFu8; len];
    for (i, &d) in digits.iter().enumerate() {
        let byte = &mut out[i / 2];
        *byte = if i % 2 == 0 {
            (d << 4) | 0x0F
        } else {
            (*byte & 0xF0) | d
        };
    }
    Some(out)
}

/// Recovers `signed` with `key` and checks the parts common to every EMV signature
/// format: length (step 1), trailer (step 2), header (step 3) and format (step 4) of
/// Book 2 §5.3, §5.4, §6.3, §6.5.2 and §6.6.2.
pub(crate) fn recover_frame(
    key: &RsaPublicKey,
    signed: &[u8],
    what: &'static str,
    format: u8,
) -> Result<Vec<u8>, CryptoError> {
    let n = key.modulus_len();
    if signed.len() != n {
        return Err(CryptoError::OdaLength {
            what,
            expected: n,
            got: signed.len(),
        });
    }
    let recovered = key.recover(signed)?;
    // Every frame is at least header + format + hash + trailer long; our minimum modulus
    // (64 bytes) guarantees that.
    let trailer = recovered.last().copied().unwrap_or_default();
    if trailer != RECOVERED_DATA_TRAILER {
        return Err(CryptoError::OdaTrailer { what, got: trailer });
    }
    if recovered[0] != RECOVERED_DATA_HEADER {
        return Err(CryptoError::OdaHeader {
            what,
            got: recovered[0],
        });
    }
    if recovered[1] != format {
        return Err(CryptoError::OdaFormat {
            what,
            expected: format,
            got: recovered[1],
        });
    }
    Ok(recovered)
}

/// Checks the recovered Hash Result (the 20 bytes before the trailer) against SHA-1 of
/// `parts` (Book 2 §5.3 steps 6–7 and equivalents), in constant time.
pub(crate) fn check_hash(
    recovered: &[u8],
    hash_algorithm: u8,
    parts: &[&[u8]],
    what: &'static str,
) -> Result<(), CryptoError> {
    use subtle::ConstantTimeEq;
    if hash_algorithm != HASH_ALGORITHM_SHA1 {
        return Err(CryptoError::OdaHashAlgorithm {
            what,
            got: hash_algorithm,
        });
    }
    let end = recovered.len() - 1;
    let expected = &recovered[end - HASH_LEN..end];
    let computed = sha1(parts);
    if bool::from(computed.ct_eq(expected)) {
        Ok(())
    } else {
        Err(CryptoError::OdaHash { what })
    }
}

/// Completes a frame: appends SHA-1 of (`frame[1..]` ‖ `extra`...) and the trailer, then
/// signs it with `signer`.
pub(crate) fn seal_frame(
    signer: &RsaPrivateKey,
    mut frame: Vec<u8>,
    extra: &[&[u8]],
) -> Result<Vec<u8>, CryptoError> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(extra.len() + 1);
    parts.push(frame.get(1..).unwrap_or_default());
    parts.extend_from_slice(extra);
    let hash = sha1(&parts);
    frame.extend_from_slice(&hash);
    frame.push(RECOVERED_DATA_TRAILER);
    debug_assert_eq!(frame.len(), signer.modulus_len());
    signer.sign(&frame)
}

#[cfg(test)]
mod tests;
