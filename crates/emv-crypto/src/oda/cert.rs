//! Public key certificates: Issuer Public Key Certificate (Book 2 §5.3, Table 6), ICC Public
//! Key Certificate (§6.4, Table 14) and ICC PIN Encipherment Public Key Certificate (§7.1).
//!
//! All three share one layout, differing only in the format byte, the width of the
//! identifier field (4-byte Issuer Identifier or 10-byte PAN) and whether the Static Data to
//! be Authenticated is hashed too:
//!
//! ```text
//! 6A | format | id (4 or 10) | expiry MMYY (2) | serial (3) | hash algo 01 | PK algo 01 |
//! key length | exponent length | key or leftmost digits (N - 32 - id) | hash (20) | BC
//! ```

use super::rsa_key::{RsaPrivateKey, RsaPublicKey};
use super::{
    FORMAT_ICC_CERTIFICATE, FORMAT_ISSUER_CERTIFICATE, HASH_ALGORITHM_SHA1, HASH_LEN, PAD,
    PK_ALGORITHM_RSA, RECOVERED_DATA_HEADER, YearMonth, check_hash, cn_digits, cn_pack,
    recover_frame, seal_frame,
};
use crate::CryptoError;

/// Width of the Issuer Identifier field (Table 6).
const ISSUER_ID_LEN: usize = 4;
/// Width of the Application PAN field (Table 14).
const PAN_FIELD_LEN: usize = 10;
/// The largest key a one-byte length field can describe: 248 bytes (1984 bits), the EMV
/// maximum (Book 2 Annex B2.1.1).
const MAX_CERTIFIED_KEY_LEN: usize = 248;

/// A public key certificate as stored on the card: the certificate itself (tag `90`,
/// `9F46` or `9F2D`), the key remainder (`92`, `9F48` or `9F2F`; empty if the whole key fits
/// in the certificate) and the key exponent (`9F32`, `9F47` or `9F2E`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyCertificate {
    /// The signed certificate, as long as the signer's modulus.
    pub certificate: Vec<u8>,
    /// Rightmost bytes of the key that did not fit (empty if none).
    pub remainder: Vec<u8>,
    /// The certified key's exponent (`03` or `01 00 01`).
    pub exponent: Vec<u8>,
}

/// A key recovered from a verified certificate, with the certificate's data fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertifiedKey {
    /// The certified public key.
    pub key: RsaPublicKey,
    /// The identifier field: Issuer Identifier (4 bytes) or Application PAN (10 bytes),
    /// `F`-padded.
    pub identifier: Vec<u8>,
    /// Certificate Expiration Date, `MMYY` BCD.
    pub expiry: [u8; 2],
    /// Certificate Serial Number (for the revocation check of Book 2 §5.3 step 10, which
    /// the caller does with its revocation list).
    pub serial: [u8; 3],
}

/// Which certificate, and how it differs from the generic layout.
struct Kind {
    what: &'static str,
    format: u8,
    id_len: usize,
}

const ISSUER: Kind = Kind {
    what: "Issuer Public Key Certificate",
    format: FORMAT_ISSUER_CERTIFICATE,
    id_len: ISSUER_ID_LEN,
};
const ICC: Kind = Kind {
    what: "ICC Public Key Certificate",
    format: FORMAT_ICC_CERTIFICATE,
    id_len: PAN_FIELD_LEN,
};
const ICC_PIN: Kind = Kind {
    what: "ICC PIN Encipherment Public Key Certificate",
    format: FORMAT_ICC_CERTIFICATE,
    id_len: PAN_FIELD_LEN,
};

impl Kind {
    /// Bytes before the key field: header, format, id, expiry, serial, 2 indicators,
    /// 2 lengths.
    fn key_field_offset(&self) -> usize {
        11 + self.id_len
    }

    /// Width of the key field in a certificate signed with a key of `n` bytes:
    /// N_CA − 36 (Table 6) or N_I − 42 (Table 14).
    fn key_field_len(&self, n: usize) -> usize {
        n - self.key_field_offset() - HASH_LEN - 1
    }
}

/// Issuer Identifier for a certificate: the leftmost `digits` (3..=8) digits of the PAN,
/// padded with `F` (Book 2 Table 6). `pan` is the value of tag `5A`.
pub fn issuer_identifier_from_pan(pan: &[u8], digits: usize) -> Result<[u8; 4], CryptoError> {
    let bad = |reason: &str| CryptoError::InvalidInput {
        what: "issuer identifier",
        reason: reason.into(),
    };
    if !(3..=8).contains(&digits) {
        return Err(bad("must be 3 to 8 PAN digits"));
    }
    let pan_digits = cn_digits(pan).ok_or_else(|| bad("PAN is not a cn value"))?;
    let leftmost = pan_digits
        .get(..digits)
        .ok_or_else(|| bad("PAN is shorter than the identifier"))?;
    let packed = cn_pack(leftmost, ISSUER_ID_LEN).ok_or_else(|| bad("cannot pack digits"))?;
    let mut out = [0u8; 4];
    out.copy_from_slice(&packed);
    Ok(out)
}

/// Application PAN field of an ICC certificate: the PAN digits, `F`-padded to 10 bytes.
fn pan_field(pan: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let bad = |reason: &str| CryptoError::InvalidInput {
        what: "application PAN",
        reason: reason.into(),
    };
    let digits = cn_digits(pan).ok_or_else(|| bad("not a cn value"))?;
    if digits.is_empty() {
        return Err(bad("no digits"));
    }
    cn_pack(&digits, PAN_FIELD_LEN).ok_or_else(|| bad("more than 20 digits"))
}

fn check_bcd_mmyy(expiry: [u8; 2]) -> Result<(), CryptoError> {
    YearMonth::from_mmyy(expiry)
        .map(|_| ())
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "certificate expiration date",
            reason: "expected MMYY in BCD".into(),
        })
}

/// Builds and signs a certificate of `kind` (Book 2 §5.1 and §6.1 describe the issuing
/// side; the layout is Table 6 / Table 14).
fn issue(
    kind: &Kind,
    signer: &RsaPrivateKey,
    identifier: &[u8],
    expiry: [u8; 2],
    serial: [u8; 3],
    key: &RsaPublicKey,
    static_data: &[u8],
) -> Result<PublicKeyCertificate, CryptoError> {
    check_bcd_mmyy(expiry)?;
    let n = signer.modulus_len();
    let key_len = key.modulus_len();
    // Book 2 §5.1: N_I ≤ N_CA; §6.1: N_IC ≤ N_I.
    if key_len > n || key_len > MAX_CERTIFIED_KEY_LEN {
        return Err(CryptoError::InvalidInput {
            what: kind.what,
            reason: format!(
                "a {key_len}-byte key cannot be certified by a {n}-byte key (max {})",
                n.min(MAX_CERTIFIED_KEY_LEN)
            ),
        });
    }
    let field_len = kind.key_field_len(n);
    let modulus = key.modulus();
    let (leftmost, remainder) = modulus.split_at(key_len.min(field_len));

    let mut frame = Vec::with_capacity(n);
    frame.push(RECOVERED_DATA_HEADER);
    frame.push(kind.format);
    frame.extend_from_slice(identifier);
    frame.extend_from_slice(&expiry);
    frame.extend_from_slice(&serial);
    frame.push(HASH_ALGORITHM_SHA1);
    frame.push(PK_ALGORITHM_RSA);
    frame.push(u8::try_from(key_len).unwrap_or(u8::MAX));
    frame.push(u8::try_from(key.exponent().len()).unwrap_or(u8::MAX));
    frame.extend_from_slice(leftmost);
    frame.resize(kind.key_field_offset() + field_len, PAD);
    // Hash input: format … key field ‖ remainder ‖ exponent (‖ static data for the ICC
    // certificate) — Book 2 §5.3 step 5, §6.4 step 5.
    let certificate = seal_frame(signer, frame, &[remainder, key.exponent(), static_data])?;
    Ok(PublicKeyCertificate {
        certificate,
        remainder: remainder.to_vec(),
        exponent: key.exponent().to_vec(),
    })
}

/// Recovers and verifies a certificate of `kind` (Book 2 §5.3 steps 1–11, §6.4 steps
/// 1–11). The identifier check is left to the caller (`check_id`).
#[allow(clippy::too_many_arguments)]
fn recover(
    kind: &Kind,
    signer: &RsaPublicKey,
    certificate: &[u8],
    remainder: &[u8],
    exponent: &[u8],
    static_data: &[u8],
    today: YearMonth,
    check_id: impl FnOnce(&[u8]) -> Result<(), CryptoError>,
) -> Result<CertifiedKey, CryptoError> {
    let what = kind.what;
    // Steps 1–4: length, trailer, header, format.
    let recovered = recover_frame(signer, certificate, what, kind.format)?;
    let n = recovered.len();
    let off = 2 + kind.id_len;
    let identifier = &recovered[2..off];
    let expiry = [recovered[off], recovered[off + 1]];
    let serial = [recovered[off + 2], recovered[off + 3], recovered[off + 4]];
    let hash_algorithm = recovered[off + 5];
    let pk_algorithm = recovered[off + 6];
    let key_len = usize::from(recovered[off + 7]);
    let exponent_len = usize::from(recovered[off + 8]);
    let field_len = kind.key_field_len(n);
    let field = &recovered[kind.key_field_offset()..kind.key_field_offset() + field_len];

    // The remainder must be exactly the part of the key that did not fit (Table 6 note:
    // present only if N_I > N_CA − 36); checked before hashing so a missing remainder is
    // reported as such (TVR "ICC data missing") rather than as a hash failure.
    let expected_remainder = key_len.saturating_sub(field_len);
    if remainder.is_empty() && expected_remainder > 0 {
        return Err(CryptoError::OdaRemainderMissing { what });
    }
    if remainder.len() != expected_remainder {
        return Err(CryptoError::OdaPublicKey {
            what,
            reason: "public key remainder has the wrong length",
        });
    }
    // Steps 5–7: SHA-1 over format … key field ‖ remainder ‖ exponent (‖ static data).
    check_hash(
        &recovered,
        hash_algorithm,
        &[
            &recovered[1..n - HASH_LEN - 1],
            remainder,
            exponent,
            static_data,
        ],
        what,
    )?;
    // Step 8: identifier (Issuer Identifier vs PAN, or PAN vs PAN).
    check_id(identifier)?;
    // Step 9: expiry — the last day of the month MMYY must not be before today.
    match YearMonth::from_mmyy(expiry) {
        Some(valid_until) if valid_until >= today => {}
        _ => return Err(CryptoError::OdaExpired { what, expiry }),
    }
    // Step 10 (revocation by RID, CA index and serial) is the caller's, with `serial`.
    // Step 11: the public key algorithm must be recognised.
    if pk_algorithm != PK_ALGORITHM_RSA {
        return Err(CryptoError::OdaKeyAlgorithm {
            what,
            got: pk_algorithm,
        });
    }
    if exponent_len != exponent.len() {
        return Err(CryptoError::OdaPublicKey {
            what,
            reason: "exponent length differs from the exponent data object",
        });
    }
    let mut modulus = field[..key_len.min(field_len)].to_vec();
    modulus.extend_from_slice(remainder);
    let key = RsaPublicKey::new(&modulus, exponent).map_err(|_| CryptoError::OdaPublicKey {
        what,
        reason: "recovered key is not a valid EMV RSA key",
    })?;
    if key.modulus_len() != key_len {
        return Err(CryptoError::OdaPublicKey {
            what,
            reason: "recovered modulus has a leading zero byte",
        });
    }
    Ok(CertifiedKey {
        key,
        identifier: identifier.to_vec(),
        expiry,
        serial,
    })
}

/// Issues an Issuer Public Key Certificate (Book 2 §5.1, Table 6) with the CA's private key.
/// `issuer_identifier` comes from [`issuer_identifier_from_pan`]; `expiry` is `MMYY` BCD.
pub fn issue_issuer_certificate(
    ca: &RsaPrivateKey,
    issuer_identifier: [u8; 4],
    expiry: [u8; 2],
    serial: [u8; 3],
    issuer_key: &RsaPublicKey,
) -> Result<PublicKeyCertificate, CryptoError> {
    if cn_digits(&issuer_identifier).is_none_or(|d| !(3..=8).contains(&d.len())) {
        return Err(CryptoError::InvalidInput {
            what: "issuer identifier",
            reason: "expected 3 to 8 digits padded with F".into(),
        });
    }
    issue(
        &ISSUER,
        ca,
        &issuer_identifier,
        expiry,
        serial,
        issuer_key,
        &[],
    )
}

/// Recovers the Issuer Public Key (Book 2 §5.3): checks length, trailer, header, format,
/// hash, that the Issuer Identifier matches the leftmost digits of `pan` (tag `5A` value),
/// and that the certificate has not expired before `today`. Revocation (step 10) is left to
/// the caller, using the returned serial number.
pub fn recover_issuer_public_key(
    ca: &RsaPublicKey,
    certificate: &[u8],
    remainder: &[u8],
    exponent: &[u8],
    pan: &[u8],
    today: YearMonth,
) -> Result<CertifiedKey, CryptoError> {
    recover(
        &ISSUER,
        ca,
        certificate,
        remainder,
        exponent,
        &[],
        today,
        |identifier| {
            // Step 8: the Issuer Identifier (3–8 digits, F-padded) must equal the leftmost
            // PAN digits.
            let id = cn_digits(identifier).filter(|d| (3..=8).contains(&d.len()));
            let pan = cn_digits(pan);
            match (id, pan) {
                (Some(id), Some(pan)) if pan.starts_with(&id) => Ok(()),
                _ => Err(CryptoError::OdaIssuerIdentifier),
            }
        },
    )
}

/// Issues an ICC Public Key Certificate (Book 2 §6.1, Table 14) with the issuer's private
/// key. `pan` is the tag `5A` value; `static_data` is the Static Data to be Authenticated
/// (§5.4), which the certificate's hash covers.
pub fn issue_icc_certificate(
    issuer: &RsaPrivateKey,
    pan: &[u8],
    expiry: [u8; 2],
    serial: [u8; 3],
    icc_key: &RsaPublicKey,
    static_data: &[u8],
) -> Result<PublicKeyCertificate, CryptoError> {
    let pan = pan_field(pan)?;
    issue(&ICC, issuer, &pan, expiry, serial, icc_key, static_data)
}

fn check_pan(what: &'static str, pan: &[u8]) -> impl FnOnce(&[u8]) -> Result<(), CryptoError> {
    let expected = pan_field(pan);
    move |field| match expected {
        Ok(expected) if expected.as_slice() == field => Ok(()),
        _ => Err(CryptoError::OdaPan { what }),
    }
}

/// Recovers the ICC Public Key (Book 2 §6.4) with the recovered issuer key: checks length,
/// trailer, header, format, hash (which covers `static_data`), that the certificate's PAN
/// equals `pan` (tag `5A` value) and expiry against `today`.
pub fn recover_icc_public_key(
    issuer: &RsaPublicKey,
    certificate: &[u8],
    remainder: &[u8],
    exponent: &[u8],
    static_data: &[u8],
    pan: &[u8],
    today: YearMonth,
) -> Result<CertifiedKey, CryptoError> {
    recover(
        &ICC,
        issuer,
        certificate,
        remainder,
        exponent,
        static_data,
        today,
        check_pan(ICC.what, pan),
    )
}

/// Issues an ICC PIN Encipherment Public Key Certificate (Book 2 §7.1): the layout of
/// Table 14 with format `04`, but the hash does not cover Static Data to be Authenticated.
pub fn issue_icc_pin_encipherment_certificate(
    issuer: &RsaPrivateKey,
    pan: &[u8],
    expiry: [u8; 2],
    serial: [u8; 3],
    pin_key: &RsaPublicKey,
) -> Result<PublicKeyCertificate, CryptoError> {
    let pan = pan_field(pan)?;
    issue(&ICC_PIN, issuer, &pan, expiry, serial, pin_key, &[])
}

/// Recovers the ICC PIN Encipherment Public Key (Book 2 §7.1, checks as in §6.4 without
/// Static Data to be Authenticated).
pub fn recover_icc_pin_encipherment_public_key(
    issuer: &RsaPublicKey,
    certificate: &[u8],
    remainder: &[u8],
    exponent: &[u8],
    pan: &[u8],
    today: YearMonth,
) -> Result<CertifiedKey, CryptoError> {
    recover(
        &ICC_PIN,
        issuer,
        certificate,
        remainder,
        exponent,
        &[],
        today,
        check_pan(ICC_PIN.what, pan),
    )
}
