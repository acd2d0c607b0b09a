//! ICC master key derivation from an issuer master key (EMV 4.4 Book 2 Annex A1.4).
//!
//! * Option A (A1.4.1): `Y` = the rightmost 16 digits of PAN ‖ PSN (left-padded with
//!   zeros when shorter) as 8 BCD bytes; `MK = TDES(IMK)[Y] ‖ TDES(IMK)[Y ⊕ FF…FF]`, then
//!   odd parity.
//! * Option B (A1.4.2), for PANs longer than 16 digits (identical to A otherwise):
//!   `X` = SHA-1 over BCD(PAN ‖ PSN) (a leading 0 digit if the count is odd); `Y` = the
//!   first 16 decimal digits of `X`'s hex form, completed if needed by the hex letters
//!   A–F in order of appearance mapped to 0–5; then as option A.
//!
//! The PAN is a digit string (8–19 digits), the PSN two digits, `None` meaning "00".

use core::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::{RawBlockCipher, set_odd_parity};
use crate::keys::TdesKey;
use crate::util;

/// Checks a PAN the way every function of this crate does: 8–19 decimal digits
/// (ISO/IEC 7812-1; EMV 4.4 Book 3 Annex A, 5A is cn up to 19 digits).
pub fn validate_pan(pan: &str) -> Result<(), CryptoError> {
    util::pan_digits(pan).map(|_| ())
}

/// Checks a PAN Sequence Number: exactly 2 decimal digits (EMV 4.4 Book 3 Annex A, 5F34 is
/// n 2).
pub fn validate_psn(psn: &str) -> Result<(), CryptoError> {
    util::psn_digits(Some(psn)).map(|_| ())
}

/// Which ICC master key derivation to use (the CLI's `derive-mk --option a|b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString)]
#[strum(ascii_case_insensitive, parse_err_ty = CryptoError, parse_err_fn = option_error)]
pub enum MkDerivation {
    /// EMV 4.4 Book 2 A1.4.1.
    #[strum(
        serialize = "a",
        serialize = "option-a",
        serialize = "option_a",
        serialize = "optiona"
    )]
    OptionA,
    /// EMV 4.4 Book 2 A1.4.2 (equals option A for PANs of 16 digits or fewer).
    #[strum(
        serialize = "b",
        serialize = "option-b",
        serialize = "option_b",
        serialize = "optionb"
    )]
    OptionB,
}

fn option_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "master key derivation option",
        reason: format!("expected a or b, got {got:?}"),
    }
}

impl fmt::Display for MkDerivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OptionA => "option A",
            Self::OptionB => "option B",
        })
    }
}

/// The 8-byte diversification value `Y` for option A: rightmost 16 digits of PAN ‖ PSN,
/// zero-padded on the left (EMV 4.4 Book 2 A1.4.1).
pub fn option_a_y(pan: &str, psn: Option<&str>) -> Result<[u8; 8], CryptoError> {
    let mut digits = util::pan_digits(pan)?;
    digits.extend_from_slice(&util::psn_digits(psn)?);
    let mut y16 = [0u8; 16];
    let take = digits.len().min(16);
    y16[16 - take..].copy_from_slice(&digits[digits.len() - take..]);
    let packed = util::pack_nibbles(&y16);
    util::array("option A Y", &packed)
}

/// The 8-byte value `Y` for option B: SHA-1 of BCD(PAN ‖ PSN) decimalised
/// (EMV 4.4 Book 2 A1.4.2). For PANs of 16 digits or fewer this is [`option_a_y`].
pub fn option_b_y(pan: &str, psn: Option<&str>) -> Result<[u8; 8], CryptoError> {
    let pan_d = util::pan_digits(pan)?;
    if pan_d.len() <= 16 {
        return option_a_y(pan, psn);
    }
    let mut digits = Vec::with_capacity(22);
    if (pan_d.len() + 2) % 2 == 1 {
        digits.push(0);
    }
    digits.extend_from_slice(&pan_d);
    digits.extend_from_slice(&util::psn_digits(psn)?);
    let hash = Sha1::digest(util::pack_nibbles(&digits));
    let nib = util::nibbles(&hash);
    let mut y: Vec<u8> = nib.iter().copied().filter(|&n| n <= 9).take(16).collect();
    if y.len() < 16 {
        let need = 16 - y.len();
        y.extend(nib.iter().filter(|&&n| n >= 10).take(need).map(|n| n - 10));
    }
    util::array("option B Y", &util::pack_nibbles(&y))
}

fn mk_from_y(imk: &TdesKey, y: &[u8; 8]) -> Result<TdesKey, CryptoError> {
    let c = imk.cipher();
    let mut out = Zeroizing::new([0u8; 16]);
    let mut a = *y;
    let mut b = y.map(|v| !v);
    c.encrypt(&mut a);
    c.encrypt(&mut b);
    out[..8].copy_from_slice(&a);
    out[8..].copy_from_slice(&b);
    // EMV 4.4 Book 2 A1.4.1: "…with the parity of each byte adjusted to odd"
    set_odd_parity(&mut out[..]);
    TdesKey::new(&out[..])
}

/// ICC master key by option A (EMV 4.4 Book 2 A1.4.1).
pub fn derive_icc_mk_option_a(
    imk: &TdesKey,
    pan: &str,
    psn: Option<&str>,
) -> Result<TdesKey, CryptoError> {
    mk_from_y(imk, &option_a_y(pan, psn)?)
}

/// ICC master key by option B (EMV 4.4 Book 2 A1.4.2).
pub fn derive_icc_mk_option_b(
    imk: &TdesKey,
    pan: &str,
    psn: Option<&str>,
) -> Result<TdesKey, CryptoError> {
    mk_from_y(imk, &option_b_y(pan, psn)?)
}

/// The CLI's `derive-mk`: ICC master key from `imk`, PAN and PSN (`None` = "00").
pub fn derive_icc_mk(
    imk: &TdesKey,
    pan: &str,
    psn: Option<&str>,
    option: MkDerivation,
) -> Result<TdesKey, CryptoError> {
    match option {
        MkDerivation::OptionA => derive_icc_mk_option_a(imk, pan, psn),
        MkDerivation::OptionB => derive_icc_mk_option_b(imk, pan, psn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn imk() -> TdesKey {
        TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
    }

    /// docs/test-vectors.md §5 (pyemv doctests).
    #[test]
    fn emv_reference_vectors() {
        let a = derive_icc_mk_option_a(&imk(), "12345678901234567", Some("01")).unwrap();
        assert_eq!(a.as_bytes(), hex!("73AD54688CEF2934B0979857E3C719F1"));
        let b = derive_icc_mk_option_b(&imk(), "12345678901234567", Some("01")).unwrap();
        assert_eq!(b.as_bytes(), hex!("AD406D7F6D7570916D75E5DCAB8CF737"));
        let a2 = derive_icc_mk(
            &imk(),
            "99012345678901234",
            Some("45"),
            MkDerivation::OptionA,
        )
        .unwrap();
        assert_eq!(a2.as_bytes(), hex!("67F8292358083E5EA7AB7FDA58D53B6B"));
        // docs/test-vectors.md §4 bench set
        let mc = derive_icc_mk_option_a(&imk(), "5413330089020011", Some("01")).unwrap();
        assert_eq!(mc.as_bytes(), hex!("73C4677545D991E986074A16BFBACD75"));
    }

    /// pyemv V01, V01b, V02, V02b.
    #[test]
    fn pyemv_v01_v02() {
        assert_eq!(
            option_a_y("4761739001010119", None).unwrap(),
            hex!("6173900101011900")
        );
        let mk = derive_icc_mk_option_a(&imk(), "4761739001010119", None).unwrap();
        assert_eq!(mk.as_bytes(), hex!("5183894598EAD6D00402D6CD9B0E2FFE"));
        assert_eq!(mk.kcv(), hex!("488FE4"));
        assert_eq!(mk.left().as_bytes(), &hex!("5183894598EAD6D0"));
        assert!(mk.has_odd_parity());
        let mk01 = derive_icc_mk_option_a(&imk(), "4761739001010119", Some("01")).unwrap();
        assert_eq!(mk01.as_bytes(), hex!("80A89B585BBF64C2F12915BF578FABE0"));
        let b19 = derive_icc_mk_option_b(&imk(), "4761739001010119123", Some("00")).unwrap();
        assert_eq!(b19.as_bytes(), hex!("01D59E9D5134263B76494610DA5D8A51"));
        let b16 = derive_icc_mk(&imk(), "4761739001010119", None, MkDerivation::OptionB).unwrap();
        assert_eq!(b16, mk);
        let smi = TdesKey::from_hex("FEDCBA98765432100123456789ABCDEF").unwrap();
        let smc = TdesKey::from_hex("89ABCDEF0123456776543210FEDCBA98").unwrap();
        assert_eq!(
            derive_icc_mk_option_a(&smi, "4761739001010119", None)
                .unwrap()
                .as_bytes(),
            hex!("FBFD293264F1D001AE7C76BA6715292F")
        );
        assert_eq!(
            derive_icc_mk_option_a(&smc, "4761739001010119", None)
                .unwrap()
                .as_bytes(),
            hex!("25C41094CB08151392A292D0E0EC083B")
        );
    }

    #[test]
    fn input_validation() {
        assert!(matches!(
            derive_icc_mk_option_a(&imk(), "4761x39001010119", None),
            Err(CryptoError::InvalidPan(_))
        ));
        assert!(matches!(
            derive_icc_mk_option_a(&imk(), "4761739001010119", Some("1")),
            Err(CryptoError::InvalidPsn(_))
        ));
        assert_eq!("b".parse::<MkDerivation>().unwrap(), MkDerivation::OptionB);
        assert!("c".parse::<MkDerivation>().is_err());
    }
}
