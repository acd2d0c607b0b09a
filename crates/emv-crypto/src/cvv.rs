//! Card verification values: Visa/Mastercard CVV, CVV2 and iCVV, and the Mastercard
//! contactless dynamic CVC3.
//!
//! * CVV (Visa Card Verification Value; the same DES algorithm is used for CVC1/CVC2):
//!   `PAN ‖ expiry (YYMM) ‖ service code` right-padded with zeros to 32 digits, split into
//!   two 8-byte blocks B1, B2; `R = TDES(K)[DES(K_A)[B1] ⊕ B2]`; the value is the first 3
//!   digits of the two-pass decimalisation of R. CVV2 uses service code `000`, iCVV `999`.
//! * CVC3 (M/Chip 4 / PayPass mag-stripe; as pyemv `cvv.generate_cvc3`): IVCVC3 = the 2
//!   rightmost bytes of MAC algorithm 3 (padding 2) over the track template;
//!   CVC3 = the 2 rightmost bytes of `TDES(K)[IVCVC3 ‖ UN ‖ ATC]` as an integer.

use crate::CryptoError;
use crate::block::{Padding, RawBlockCipher, SingleDes, tdes_encrypt_block};
use crate::keys::TdesKey;
use crate::mac::retail_mac;
use crate::pvv::two_pass_decimalise;
use crate::util;

fn digits(what: &'static str, s: &str, len: usize) -> Result<Vec<u8>, CryptoError> {
    util::decimal_digits(s)
        .filter(|d| d.len() == len)
        .ok_or_else(|| CryptoError::InvalidInput {
            what,
            reason: format!("must be {len} digits, got {s:?}"),
        })
}

/// CVV / CVC of 3 digits for `pan`, `expiry` (YYMM) and `service_code` (3 digits); use
/// service code `000` for CVV2 and `999` for iCVV.
pub fn cvv(
    cvk: &TdesKey,
    pan: &str,
    expiry_yymm: &str,
    service_code: &str,
) -> Result<String, CryptoError> {
    let mut d = util::pan_digits(pan)?;
    d.extend(digits("expiry date (YYMM)", expiry_yymm, 4)?);
    d.extend(digits("service code", service_code, 3)?);
    d.resize(32, 0);
    let packed = util::pack_nibbles(&d);
    let b1: [u8; 8] = util::array("CVV block", &packed[..8])?;
    let b2: [u8; 8] = util::array("CVV block", &packed[8..])?;
    let mut r = b1;
    SingleDes::new(cvk.left().as_bytes()).encrypt(&mut r);
    util::xor_in_place(&mut r, &b2);
    let r = tdes_encrypt_block(cvk, &r);
    Ok(two_pass_decimalise(&r, 3)
        .into_iter()
        .map(|x| char::from(b'0' + x))
        .collect())
}

/// Verifies a CVV/CVV2/iCVV in constant time.
pub fn verify_cvv(
    cvk: &TdesKey,
    pan: &str,
    expiry_yymm: &str,
    service_code: &str,
    value: &str,
) -> Result<(), CryptoError> {
    use subtle::ConstantTimeEq;
    let expected = cvv(cvk, pan, expiry_yymm, service_code)?;
    if expected.len() == value.len() && bool::from(expected.as_bytes().ct_eq(value.as_bytes())) {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed("card verification value"))
    }
}

/// Mastercard CVC3 (0–65535; printed as 5 digits) from the ICC CVC3 key, the track 1 or
/// track 2 template bytes, the reader's UN and the ATC.
pub fn cvc3(
    icc_cvc3_key: &TdesKey,
    track_template: &[u8],
    un: &[u8; 4],
    atc: u16,
) -> Result<u16, CryptoError> {
    let iv = retail_mac(icc_cvc3_key, track_template, Padding::Method2)?;
    let [a, b] = atc.to_be_bytes();
    let block = [iv[6], iv[7], un[0], un[1], un[2], un[3], a, b];
    let c = tdes_encrypt_block(icc_cvc3_key, &block);
    Ok(u16::from_be_bytes([c[6], c[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn cvk() -> TdesKey {
        TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
    }

    /// psec P09 and the psec cvv doctest.
    #[test]
    fn psec_p09() {
        let pan = "4761739001010119";
        assert_eq!(cvv(&cvk(), pan, "2512", "201").unwrap(), "347");
        assert_eq!(cvv(&cvk(), pan, "2512", "000").unwrap(), "093");
        assert_eq!(cvv(&cvk(), pan, "2512", "999").unwrap(), "310");
        assert_eq!(
            cvv(&cvk(), "1234567890123456", "9912", "220").unwrap(),
            "170"
        );
        assert!(verify_cvv(&cvk(), pan, "2512", "201", "347").is_ok());
        assert!(verify_cvv(&cvk(), pan, "2512", "201", "348").is_err());
        assert!(cvv(&cvk(), pan, "251", "201").is_err());
        assert!(cvv(&cvk(), pan, "2512", "2O1").is_err());
    }

    /// pyemv V18 CVC3 and the pyemv cvv doctest.
    #[test]
    fn pyemv_cvc3() {
        let k = TdesKey::from_hex("86E5AE087FDC86B3CB15C7805D45FE6D").unwrap();
        let track = hex!("5413330089600010D25122010000000000000F");
        assert_eq!(cvc3(&k, &track, &hex!("12345678"), 0x0001).unwrap(), 64099);
        let imk = TdesKey::from_hex("01234567899876543210012345678998").unwrap();
        let icc = crate::kdf::derive_icc_mk_option_a(&imk, "5123456789012345", Some("00")).unwrap();
        let track2 = hex!("5123456789012345D35121010000000000000F");
        assert_eq!(
            cvc3(&icc, &track2, &hex!("00000899"), 0x005E).unwrap(),
            29488
        );
    }
}
