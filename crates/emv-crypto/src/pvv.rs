//! PIN verification values: IBM 3624 natural PIN / offset and Visa PVV (the issuer host
//! stores these instead of the PIN; docs/pin.md §5).
//!
//! * IBM 3624 (IBM 3624 Programmer's Guide; ANSI X9.8 Annex): validation data (usually PAN
//!   digits) padded to 16 hex digits with a pad character is enciphered under the PVK; the
//!   ciphertext's hex digits are mapped to decimal by a 16-digit decimalisation table; the
//!   leftmost `n` digits are the natural PIN. `offset = (PIN − natural) mod 10` digit by
//!   digit, `PIN = (natural + offset) mod 10`.
//! * Visa PVV (Visa PIN Verification Service): TSP = the 11 rightmost PAN digits
//!   excluding the check digit ‖ PVKI (1 digit) ‖ the 4 leftmost PIN digits;
//!   `TDES(PVK)[TSP]` is scanned left to right for decimal digits, then (if fewer than 4)
//!   again for A–F mapped to 0–5; the first 4 form the PVV.
//!
//! Verification compares in constant time.

use core::fmt;
use core::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::tdes_encrypt_block;
use crate::keys::TdesKey;
use crate::pinblock::Pin;
use crate::util;

/// A decimalisation table: the decimal digit for each hex digit 0–F.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecimalisationTable([u8; 16]);

impl DecimalisationTable {
    /// The common identity table `0123456789012345`.
    pub const IDENTITY: Self = Self([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]);

    /// A table from 16 decimal digits, e.g. `"0123456789012345"`.
    pub fn new(digits: &str) -> Result<Self, CryptoError> {
        let d = util::decimal_digits(digits)
            .filter(|d| d.len() == 16)
            .ok_or_else(|| CryptoError::InvalidInput {
                what: "decimalisation table",
                reason: format!("must be 16 decimal digits, got {digits:?}"),
            })?;
        let mut t = [0u8; 16];
        t.copy_from_slice(&d);
        Ok(Self(t))
    }

    /// The decimal digit for hex digit `nibble` (0..=15).
    pub fn map(&self, nibble: u8) -> u8 {
        self.0[usize::from(nibble & 0x0F)]
    }
}

impl Default for DecimalisationTable {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl FromStr for DecimalisationTable {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for DecimalisationTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = self.0.iter().map(|d| char::from(b'0' + d)).collect();
        write!(f, "DecimalisationTable({s})")
    }
}

/// IBM 3624 validation data: `len` PAN digits from `start` (0-based), e.g. the whole PAN
/// (`start` 0, `len` = PAN length) or 11 digits from position 4 (psec P06).
pub fn validation_data_from_pan(
    pan: &str,
    start: usize,
    len: usize,
) -> Result<String, CryptoError> {
    util::pan_digits(pan)?;
    pan.get(start..start + len)
        .filter(|v| v.len() <= 16 && !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "validation data",
            reason: format!(
                "PAN positions {start}..{} must lie within the {}-digit PAN and span 1–16 digits",
                start + len,
                pan.len()
            ),
        })
}

/// The 8-byte block enciphered for IBM 3624: validation data (1–16 hex digits) right-padded
/// to 16 with `pad` (a hex digit, commonly `F`).
fn ibm3624_block(validation_data: &str, pad: char) -> Result<[u8; 8], CryptoError> {
    let pad_n = pad
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "validation data pad character",
            reason: format!("must be a hex digit, got {pad:?}"),
        })?;
    let mut nib: Vec<u8> = validation_data
        .chars()
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "validation data",
            reason: format!("must be hex digits, got {validation_data:?}"),
        })?;
    if nib.is_empty() || nib.len() > 16 {
        return Err(CryptoError::InvalidInput {
            what: "validation data",
            reason: format!("must be 1–16 digits, got {}", nib.len()),
        });
    }
    nib.resize(16, pad_n);
    util::array("validation data", &util::pack_nibbles(&nib))
}

/// The IBM 3624 intermediate digits: `TDES(PVK)[validation data]` decimalised (16 digits).
fn ibm3624_intermediate(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let enc = Zeroizing::new(tdes_encrypt_block(
        pvk,
        &ibm3624_block(validation_data, pad)?,
    ));
    Ok(Zeroizing::new(
        util::nibbles(&enc[..])
            .into_iter()
            .map(|n| table.map(n))
            .collect(),
    ))
}

/// IBM 3624 natural PIN of `pin_len` (4–12) digits.
pub fn ibm3624_natural_pin(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
    pin_len: usize,
) -> Result<Pin, CryptoError> {
    let inter = ibm3624_intermediate(pvk, table, validation_data, pad)?;
    Pin::from_digit_values(inter.get(..pin_len).ok_or(CryptoError::PinLength {
        min: 4,
        max: 12,
        got: pin_len,
    })?)
}

/// IBM 3624 offset for a customer-selected `pin`: `(PIN − natural) mod 10` per digit.
pub fn ibm3624_offset(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
    pin: &Pin,
) -> Result<String, CryptoError> {
    let natural = ibm3624_natural_pin(pvk, table, validation_data, pad, pin.len())?;
    Ok(pin
        .digits()
        .iter()
        .zip(natural.digits())
        .map(|(p, n)| char::from(b'0' + (10 + p - n) % 10))
        .collect())
}

/// The PIN an IBM 3624 offset stands for: `(natural + offset) mod 10` per digit.
pub fn ibm3624_pin_from_offset(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
    offset: &str,
) -> Result<Pin, CryptoError> {
    let off = util::decimal_digits(offset).ok_or_else(|| CryptoError::InvalidInput {
        what: "PIN offset",
        reason: "must be decimal digits".into(),
    })?;
    let natural = ibm3624_natural_pin(pvk, table, validation_data, pad, off.len())?;
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(
        natural
            .digits()
            .iter()
            .zip(&off)
            .map(|(n, o)| (n + o) % 10)
            .collect(),
    );
    Pin::from_digit_values(&digits)
}

/// Verifies a PIN against an IBM 3624 offset (constant-time digit comparison).
pub fn verify_ibm3624(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
    offset: &str,
    pin: &Pin,
) -> Result<(), CryptoError> {
    let expected = ibm3624_pin_from_offset(pvk, table, validation_data, pad, offset)?;
    if expected == *pin {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed("PIN (IBM 3624 offset)"))
    }
}

/// Result of the CLI's `ibm3624`: the natural PIN (same length as the PIN) and the offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ibm3624 {
    /// The natural PIN.
    pub natural_pin: Pin,
    /// The offset turning the natural PIN into the customer PIN.
    pub offset: String,
}

/// The CLI's `ibm3624`: natural PIN and offset for `pin`.
pub fn ibm3624(
    pvk: &TdesKey,
    table: &DecimalisationTable,
    validation_data: &str,
    pad: char,
    pin: &Pin,
) -> Result<Ibm3624, CryptoError> {
    Ok(Ibm3624 {
        natural_pin: ibm3624_natural_pin(pvk, table, validation_data, pad, pin.len())?,
        offset: ibm3624_offset(pvk, table, validation_data, pad, pin)?,
    })
}

/// Two-pass decimalisation (Visa PVV/CVV): decimal digits of `hex` left to right, then
/// A–F as 0–5, first `n`.
pub(crate) fn two_pass_decimalise(bytes: &[u8], n: usize) -> Vec<u8> {
    let nib = util::nibbles(bytes);
    let mut out: Vec<u8> = nib.iter().copied().filter(|&d| d <= 9).take(n).collect();
    if out.len() < n {
        let need = n - out.len();
        out.extend(nib.iter().filter(|&&d| d >= 10).take(need).map(|d| d - 10));
    }
    out
}

/// The Visa Transformed Security Parameter: 11 rightmost PAN digits excluding the check
/// digit ‖ PVKI ‖ 4 leftmost PIN digits (8 bytes).
pub fn visa_tsp(pan: &str, pvki: u8, pin: &Pin) -> Result<Zeroizing<[u8; 8]>, CryptoError> {
    let d = util::pan_digits(pan)?;
    if d.len() < 12 {
        return Err(CryptoError::InvalidPan(format!(
            "Visa PVV needs at least 12 PAN digits, got {}",
            d.len()
        )));
    }
    if pvki > 9 {
        return Err(CryptoError::InvalidInput {
            what: "PVKI",
            reason: format!("must be one digit 0–9, got {pvki}"),
        });
    }
    let mut nib = Zeroizing::new(Vec::with_capacity(16));
    nib.extend_from_slice(&d[d.len() - 12..d.len() - 1]);
    nib.push(pvki);
    nib.extend_from_slice(&pin.digits()[..4]);
    let mut out = Zeroizing::new([0u8; 8]);
    out.copy_from_slice(&util::pack_nibbles(&nib));
    Ok(out)
}

/// Visa PVV (4 digits) for `pin` (its 4 leftmost digits are used).
pub fn visa_pvv(pvk: &TdesKey, pan: &str, pvki: u8, pin: &Pin) -> Result<String, CryptoError> {
    let tsp = visa_tsp(pan, pvki, pin)?;
    let enc = Zeroizing::new(tdes_encrypt_block(pvk, &tsp));
    Ok(two_pass_decimalise(&enc[..], 4)
        .into_iter()
        .map(|d| char::from(b'0' + d))
        .collect())
}

/// Verifies a PIN against a stored PVV (constant-time comparison).
pub fn verify_visa_pvv(
    pvk: &TdesKey,
    pan: &str,
    pvki: u8,
    pin: &Pin,
    pvv: &str,
) -> Result<(), CryptoError> {
    if pvv.len() != 4 || !pvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CryptoError::InvalidInput {
            what: "PVV",
            reason: format!("must be 4 digits, got {} characters", pvv.len()),
        });
    }
    let expected = visa_pvv(pvk, pan, pvki, pin)?;
    if bool::from(expected.as_bytes().ct_eq(pvv.as_bytes())) {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed("PIN (Visa PVV)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn pvk() -> TdesKey {
        TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
    }
    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }
    const PAN: &str = "4761739001010119";

    /// docs/test-vectors.md §5 and psec doctests.
    #[test]
    fn emv_reference_ibm3624_and_pvv() {
        let t = DecimalisationTable::new("1234567890123456").unwrap();
        let nat = ibm3624_natural_pin(&pvk(), &t, "1122334455667788", 'F', 4).unwrap();
        assert_eq!(nat, pin("4524"));
        assert_eq!(
            ibm3624_offset(&pvk(), &t, "1122334455667788", 'F', &pin("4524")).unwrap(),
            "0000"
        );
        assert_eq!(
            visa_pvv(&pvk(), "1122334455667788", 3, &pin("4524")).unwrap(),
            "4021"
        );
        // psec README
        assert_eq!(
            visa_pvv(&pvk(), "4321000000001234", 1, &pin("1234")).unwrap(),
            "6629"
        );
    }

    /// psec P06.
    #[test]
    fn psec_p06() {
        let t = DecimalisationTable::new("0123456789012345").unwrap();
        let vd = validation_data_from_pan(PAN, 0, 16).unwrap();
        assert_eq!(
            tdes_encrypt_block(&pvk(), &ibm3624_block(&vd, 'F').unwrap()),
            hex!("7F195CC6538B6058")
        );
        assert_eq!(
            ibm3624_natural_pin(&pvk(), &t, &vd, 'F', 4).unwrap(),
            pin("7519")
        );
        assert_eq!(
            ibm3624_natural_pin(&pvk(), &t, &vd, 'F', 6).unwrap(),
            pin("751952")
        );
        let r = ibm3624(&pvk(), &t, &vd, 'F', &pin("1234")).unwrap();
        assert_eq!(r.offset, "4725");
        assert_eq!(r.natural_pin, pin("7519"));
        assert_eq!(
            ibm3624_pin_from_offset(&pvk(), &t, &vd, 'F', "4725").unwrap(),
            pin("1234")
        );
        assert!(verify_ibm3624(&pvk(), &t, &vd, 'F', "4725", &pin("1234")).is_ok());
        assert_eq!(
            verify_ibm3624(&pvk(), &t, &vd, 'F', "4725", &pin("9999")),
            Err(CryptoError::VerificationFailed("PIN (IBM 3624 offset)"))
        );
        let vd2 = validation_data_from_pan(PAN, 4, 11).unwrap();
        assert_eq!(vd2, "73900101011");
        assert_eq!(ibm3624_block(&vd2, 'F').unwrap(), hex!("73900101011FFFFF"));
        assert_eq!(
            ibm3624_offset(&pvk(), &t, &vd2, 'F', &pin("1234")).unwrap(),
            "3896"
        );
    }

    /// psec P07 and P08.
    #[test]
    fn psec_p07_p08() {
        assert_eq!(
            *visa_tsp(PAN, 1, &pin("1234")).unwrap(),
            hex!("7390010101111234")
        );
        assert_eq!(
            tdes_encrypt_block(&pvk(), &visa_tsp(PAN, 1, &pin("1234")).unwrap()),
            hex!("09499F3FC4736465")
        );
        assert_eq!(visa_pvv(&pvk(), PAN, 1, &pin("1234")).unwrap(), "0949");
        assert!(verify_visa_pvv(&pvk(), PAN, 1, &pin("1234"), "0949").is_ok());
        assert_eq!(
            verify_visa_pvv(&pvk(), PAN, 1, &pin("9999"), "0949"),
            Err(CryptoError::VerificationFailed("PIN (Visa PVV)"))
        );
        assert_eq!(visa_pvv(&pvk(), PAN, 0, &pin("1234")).unwrap(), "2381");
        // P08: decrypt the P01 ISO-0 block, then check the PVV on file
        let p = crate::pinblock::decrypt_pin_block(
            &pvk(),
            crate::pinblock::PinBlockFormat::Iso0,
            &hex!("AC0708A3C923D34D"),
            Some(PAN),
        )
        .unwrap();
        assert_eq!(p, pin("1234"));
        assert!(verify_visa_pvv(&pvk(), PAN, 1, &p, "0949").is_ok());
    }

    #[test]
    fn input_errors() {
        assert!(DecimalisationTable::new("012345678901234").is_err());
        assert!(DecimalisationTable::new("01234567890123AB").is_err());
        assert!(ibm3624_block("12X4", 'F').is_err());
        assert!(ibm3624_block("1234", 'G').is_err());
        assert!(ibm3624_block("", 'F').is_err());
        assert!(validation_data_from_pan(PAN, 10, 11).is_err());
        assert!(visa_pvv(&pvk(), PAN, 10, &pin("1234")).is_err());
        assert!(visa_pvv(&pvk(), "12345678901", 1, &pin("1234")).is_err());
        assert!(verify_visa_pvv(&pvk(), PAN, 1, &pin("1234"), "949").is_err());
        assert_eq!(two_pass_decimalise(&hex!("ABCDEF12"), 4), vec![1, 2, 0, 1]);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn pvv_and_ibm_round_trip(key in any::<[u8; 16]>(), p in "[0-9]{4,12}", pan in "[0-9]{12,19}",
                                      pvki in 0u8..10, other in "[0-9]{4,12}") {
                let k = TdesKey::new(&key).unwrap();
                let pin = Pin::new(&p).unwrap();
                let pvv = visa_pvv(&k, &pan, pvki, &pin).unwrap();
                prop_assert!(verify_visa_pvv(&k, &pan, pvki, &pin, &pvv).is_ok());
                let t = DecimalisationTable::IDENTITY;
                let vd = validation_data_from_pan(&pan, 0, pan.len().min(16)).unwrap();
                let off = ibm3624_offset(&k, &t, &vd, 'F', &pin).unwrap();
                prop_assert!(verify_ibm3624(&k, &t, &vd, 'F', &off, &pin).is_ok());
                let other = Pin::new(&other).unwrap();
                if other != pin {
                    prop_assert!(verify_ibm3624(&k, &t, &vd, 'F', &off, &other).is_err());
                }
            }
        }
    }
}
