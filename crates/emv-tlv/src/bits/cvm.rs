//! Cardholder Verification Method List (8E) and CVM Results (9F34).
//!
//! Codes: EMV 4.4 Book 3 Annex C3 Tables 43 (CVM codes) and 44 (condition codes);
//! CVM Results: Book 4 Annex A4 Table 33.

use super::Describe;
use crate::error::{TlvError, TlvErrorKind};

/// CVM code (CV Rule byte 1, b6-b1), Book 3 Annex C3 Table 43.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CvmCode {
    /// `00` Fail CVM processing.
    Fail,
    /// `01` Plaintext PIN verification performed by ICC.
    PlaintextPinIcc,
    /// `02` Enciphered PIN verified online.
    EncipheredPinOnline,
    /// `03` Plaintext PIN verification performed by ICC and signature (paper).
    PlaintextPinIccAndSignature,
    /// `04` Enciphered PIN verification performed by ICC.
    EncipheredPinIcc,
    /// `05` Enciphered PIN verification performed by ICC and signature (paper).
    EncipheredPinIccAndSignature,
    /// `06`-`0F` biometrics (EMV 4.4).
    Biometric(u8),
    /// `1E` Signature (paper).
    Signature,
    /// `1F` No CVM required.
    NoCvm,
    /// `20`-`2F` reserved for use by the individual payment systems.
    PaymentSystem(u8),
    /// `30`-`3E` reserved for use by the issuer.
    Issuer(u8),
    /// `3F` not available in CV Rules; in CVM Results it means "no CVM performed".
    NotAvailable,
    /// `10`-`1D`: RFU.
    Rfu(u8),
}

impl CvmCode {
    /// From CV Rule byte 1 (b8 and b7 are ignored).
    pub fn from_byte(b: u8) -> CvmCode {
        match b & 0x3F {
            0x00 => CvmCode::Fail,
            0x01 => CvmCode::PlaintextPinIcc,
            0x02 => CvmCode::EncipheredPinOnline,
            0x03 => CvmCode::PlaintextPinIccAndSignature,
            0x04 => CvmCode::EncipheredPinIcc,
            0x05 => CvmCode::EncipheredPinIccAndSignature,
            c @ 0x06..=0x0F => CvmCode::Biometric(c),
            0x1E => CvmCode::Signature,
            0x1F => CvmCode::NoCvm,
            c @ 0x20..=0x2F => CvmCode::PaymentSystem(c),
            c @ 0x30..=0x3E => CvmCode::Issuer(c),
            0x3F => CvmCode::NotAvailable,
            c => CvmCode::Rfu(c),
        }
    }

    /// The 6-bit code.
    pub fn code(self) -> u8 {
        match self {
            CvmCode::Fail => 0x00,
            CvmCode::PlaintextPinIcc => 0x01,
            CvmCode::EncipheredPinOnline => 0x02,
            CvmCode::PlaintextPinIccAndSignature => 0x03,
            CvmCode::EncipheredPinIcc => 0x04,
            CvmCode::EncipheredPinIccAndSignature => 0x05,
            CvmCode::Signature => 0x1E,
            CvmCode::NoCvm => 0x1F,
            CvmCode::NotAvailable => 0x3F,
            CvmCode::Biometric(c)
            | CvmCode::PaymentSystem(c)
            | CvmCode::Issuer(c)
            | CvmCode::Rfu(c) => c,
        }
    }

    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            CvmCode::Fail => "Fail CVM processing",
            CvmCode::PlaintextPinIcc => "Plaintext PIN verification performed by ICC",
            CvmCode::EncipheredPinOnline => "Enciphered PIN verified online",
            CvmCode::PlaintextPinIccAndSignature => {
                "Plaintext PIN verification performed by ICC and signature (paper)"
            }
            CvmCode::EncipheredPinIcc => "Enciphered PIN verification performed by ICC",
            CvmCode::EncipheredPinIccAndSignature => {
                "Enciphered PIN verification performed by ICC and signature (paper)"
            }
            CvmCode::Biometric(c) => match c {
                0x06 => "Facial biometric verified offline (by ICC) (EMV 4.4)",
                0x07 => "Facial biometric verified online (EMV 4.4)",
                0x08 => "Finger biometric verified offline (by ICC) (EMV 4.4)",
                0x09 => "Finger biometric verified online (EMV 4.4)",
                0x0A => "Palm biometric verified offline (by ICC) (EMV 4.4)",
                0x0B => "Palm biometric verified online (EMV 4.4)",
                0x0C => "Iris biometric verified offline (by ICC) (EMV 4.4)",
                0x0D => "Iris biometric verified online (EMV 4.4)",
                0x0E => "Voice biometric verified offline (by ICC) (EMV 4.4)",
                _ => "Voice biometric verified online (EMV 4.4)",
            },
            CvmCode::Signature => "Signature (paper)",
            CvmCode::NoCvm => "No CVM required",
            CvmCode::PaymentSystem(_) => "Reserved for use by the individual payment systems",
            CvmCode::Issuer(_) => "Reserved for use by the issuer",
            CvmCode::NotAvailable => "No CVM performed",
            CvmCode::Rfu(_) => "RFU",
        }
    }

    /// One of the offline PIN methods (01, 03, 04, 05).
    pub fn is_offline_pin(self) -> bool {
        matches!(
            self,
            CvmCode::PlaintextPinIcc
                | CvmCode::PlaintextPinIccAndSignature
                | CvmCode::EncipheredPinIcc
                | CvmCode::EncipheredPinIccAndSignature
        )
    }

    /// Any PIN method, offline or online.
    pub fn is_pin(self) -> bool {
        self.is_offline_pin() || self == CvmCode::EncipheredPinOnline
    }
}

/// CVM condition code (CV Rule byte 2), Book 3 Annex C3 Table 44.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CvmCondition {
    /// `00` Always.
    Always,
    /// `01` If unattended cash.
    UnattendedCash,
    /// `02` If not unattended cash and not manual cash and not purchase with cashback.
    NotCashNorCashback,
    /// `03` If terminal supports the CVM.
    TerminalSupportsCvm,
    /// `04` If manual cash.
    ManualCash,
    /// `05` If purchase with cashback.
    PurchaseWithCashback,
    /// `06` If transaction is in the application currency and is under X value.
    UnderX,
    /// `07` If transaction is in the application currency and is over X value.
    OverX,
    /// `08` If transaction is in the application currency and is under Y value.
    UnderY,
    /// `09` If transaction is in the application currency and is over Y value.
    OverY,
    /// `0A`-`7F` RFU; `80`-`FF` reserved for payment systems. Unknown to a terminal: the
    /// rule is skipped (Book 3 §10.5).
    Unknown(u8),
}

impl CvmCondition {
    /// From CV Rule byte 2.
    pub fn from_byte(b: u8) -> CvmCondition {
        match b {
            0x00 => CvmCondition::Always,
            0x01 => CvmCondition::UnattendedCash,
            0x02 => CvmCondition::NotCashNorCashback,
            0x03 => CvmCondition::TerminalSupportsCvm,
            0x04 => CvmCondition::ManualCash,
            0x05 => CvmCondition::PurchaseWithCashback,
            0x06 => CvmCondition::UnderX,
            0x07 => CvmCondition::OverX,
            0x08 => CvmCondition::UnderY,
            0x09 => CvmCondition::OverY,
            other => CvmCondition::Unknown(other),
        }
    }

    /// The byte.
    pub fn byte(self) -> u8 {
        match self {
            CvmCondition::Always => 0x00,
            CvmCondition::UnattendedCash => 0x01,
            CvmCondition::NotCashNorCashback => 0x02,
            CvmCondition::TerminalSupportsCvm => 0x03,
            CvmCondition::ManualCash => 0x04,
            CvmCondition::PurchaseWithCashback => 0x05,
            CvmCondition::UnderX => 0x06,
            CvmCondition::OverX => 0x07,
            CvmCondition::UnderY => 0x08,
            CvmCondition::OverY => 0x09,
            CvmCondition::Unknown(b) => b,
        }
    }

    /// The spec's wording.
    pub fn name(self) -> &'static str {
        match self {
            CvmCondition::Always => "Always",
            CvmCondition::UnattendedCash => "If unattended cash",
            CvmCondition::NotCashNorCashback => {
                "If not unattended cash and not manual cash and not purchase with cashback"
            }
            CvmCondition::TerminalSupportsCvm => "If terminal supports the CVM",
            CvmCondition::ManualCash => "If manual cash",
            CvmCondition::PurchaseWithCashback => "If purchase with cashback",
            CvmCondition::UnderX => {
                "If transaction is in the application currency and is under X value"
            }
            CvmCondition::OverX => {
                "If transaction is in the application currency and is over X value"
            }
            CvmCondition::UnderY => {
                "If transaction is in the application currency and is under Y value"
            }
            CvmCondition::OverY => {
                "If transaction is in the application currency and is over Y value"
            }
            CvmCondition::Unknown(b) if b >= 0x80 => "Reserved for use by payment systems",
            CvmCondition::Unknown(_) => "RFU",
        }
    }
}

/// One Cardholder Verification Rule (2 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CvRule {
    /// Byte 1 as in the list (b7 = apply succeeding rule if unsuccessful).
    pub method: u8,
    /// Byte 2.
    pub condition: u8,
}

impl CvRule {
    /// The CVM code.
    pub fn code(self) -> CvmCode {
        CvmCode::from_byte(self.method)
    }

    /// The condition.
    pub fn condition(self) -> CvmCondition {
        CvmCondition::from_byte(self.condition)
    }

    /// b7 of byte 1: "Apply succeeding CV Rule if this CVM is unsuccessful".
    pub fn apply_succeeding_if_unsuccessful(self) -> bool {
        self.method & 0x40 != 0
    }

    /// One line: method, condition, and what happens on failure.
    pub fn describe_line(self) -> String {
        let next = if self.apply_succeeding_if_unsuccessful() {
            "apply succeeding CV Rule if unsuccessful"
        } else {
            "fail cardholder verification if unsuccessful"
        };
        let rfu = if self.method & 0x80 != 0 {
            " [b8 RFU bit set]"
        } else {
            ""
        };
        format!(
            "{:02X}{:02X}: {}; {}; {next}{rfu}",
            self.method,
            self.condition,
            self.code().name(),
            self.condition().name()
        )
    }
}

/// A parsed CVM List: amounts X and Y (binary, in the application currency's minor units,
/// Book 3 Annex C3) and the rules in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CvmList {
    /// Amount X.
    pub x: u32,
    /// Amount Y.
    pub y: u32,
    /// The rules.
    pub rules: Vec<CvRule>,
}

impl CvmList {
    /// Parse the value of tag 8E. Fewer than 8 bytes, or an odd number of bytes after the
    /// amounts, is a format error (Book 3 §10.5 / §7.5: the terminal terminates).
    pub fn parse(data: &[u8]) -> Result<CvmList, TlvError> {
        if data.len() < 8 {
            return Err(TlvError::new(
                0,
                TlvErrorKind::BadValue(format!(
                    "CVM List must be at least 8 bytes (amounts X and Y), got {}",
                    data.len()
                )),
            ));
        }
        if !data.len().is_multiple_of(2) {
            return Err(TlvError::new(
                data.len() - 1,
                TlvErrorKind::BadValue("CVM List has half a CV Rule at the end".into()),
            ));
        }
        let x = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let y = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        let rules = data[8..]
            .chunks_exact(2)
            .map(|c| CvRule {
                method: c[0],
                condition: c[1],
            })
            .collect();
        Ok(CvmList { x, y, rules })
    }

    /// Encode back to the value of tag 8E.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 + 2 * self.rules.len());
        v.extend_from_slice(&self.x.to_be_bytes());
        v.extend_from_slice(&self.y.to_be_bytes());
        for r in &self.rules {
            v.push(r.method);
            v.push(r.condition);
        }
        v
    }
}

impl Describe for CvmList {
    fn describe(&self) -> Vec<String> {
        let mut v = vec![
            format!("Amount X: {}", self.x),
            format!("Amount Y: {}", self.y),
        ];
        if self.rules.is_empty() {
            v.push("No CV Rules (treated as CVM List not present)".into());
        }
        for (i, r) in self.rules.iter().enumerate() {
            v.push(format!("Rule {}: {}", i + 1, r.describe_line()));
        }
        v
    }
}

/// CVM Result (CVM Results byte 3), Book 4 Annex A4 Table 33.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
pub enum CvmResult {
    /// `00` Unknown (signature, online PIN: decided later).
    Unknown,
    /// `01` Failed.
    Failed,
    /// `02` Successful.
    Successful,
    /// Any other value.
    #[strum(serialize = "RFU")]
    Other(u8),
}

impl CvmResult {
    /// From byte 3.
    pub fn from_byte(b: u8) -> CvmResult {
        match b {
            0 => CvmResult::Unknown,
            1 => CvmResult::Failed,
            2 => CvmResult::Successful,
            other => CvmResult::Other(other),
        }
    }

    /// The byte.
    pub fn byte(self) -> u8 {
        match self {
            CvmResult::Unknown => 0,
            CvmResult::Failed => 1,
            CvmResult::Successful => 2,
            CvmResult::Other(b) => b,
        }
    }

    /// The spec's wording.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl AsRef<[u8]> for CvmResults {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// CVM Results (tag 9F34, 3 bytes): CVM performed, its condition, the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CvmResults(pub [u8; 3]);

impl CvmResults {
    /// `3F 00 00`: no CVM performed (Book 4 Annex A4).
    pub const NO_CVM_PERFORMED: CvmResults = CvmResults([0x3F, 0x00, 0x00]);

    /// Upper-case hex.
    pub fn to_hex(self) -> String {
        crate::hex::encode(&self.0)
    }

    /// The method byte as the kernel recorded it (b7 may be kept, see docs/emv.md §8.2).
    pub fn method(self) -> CvmCode {
        CvmCode::from_byte(self.0[0])
    }

    /// The condition.
    pub fn condition(self) -> CvmCondition {
        CvmCondition::from_byte(self.0[1])
    }

    /// The result.
    pub fn result(self) -> CvmResult {
        CvmResult::from_byte(self.0[2])
    }
}

impl Describe for CvmResults {
    fn describe(&self) -> Vec<String> {
        let method = self.method();
        let mut lines = vec![format!(
            "CVM performed: {:02X} {}",
            self.0[0],
            method.name()
        )];
        if self.0[0] & 0x40 != 0 && method != CvmCode::NotAvailable {
            lines[0].push_str(" (b7 kept: apply succeeding CV Rule if unsuccessful)");
        }
        lines.push(format!(
            "CVM condition: {:02X} {}",
            self.0[1],
            self.condition().name()
        ));
        lines.push(format!(
            "CVM result: {:02X} {}",
            self.0[2],
            self.result().name()
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_list() {
        let data = [
            0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x03, 0x42, 0x03, 0x1E, 0x03, 0x1F, 0x00,
        ];
        let list = CvmList::parse(&data).unwrap();
        assert_eq!(list.rules.len(), 4);
        assert_eq!(list.rules[0].code(), CvmCode::PlaintextPinIcc);
        assert!(list.rules[0].apply_succeeding_if_unsuccessful());
        assert_eq!(list.rules[1].code(), CvmCode::EncipheredPinOnline);
        assert_eq!(list.rules[3].condition(), CvmCondition::Always);
        assert_eq!(list.to_bytes(), data);
        let d = list.describe();
        assert_eq!(
            d[2],
            "Rule 1: 4103: Plaintext PIN verification performed by ICC; If terminal supports the CVM; apply succeeding CV Rule if unsuccessful"
        );
    }

    #[test]
    fn amounts_are_binary() {
        let list = CvmList::parse(&[0, 0, 0x27, 0x10, 0, 0, 0x4E, 0x20, 0x01, 0x06]).unwrap();
        assert_eq!((list.x, list.y), (10_000, 20_000));
        assert_eq!(list.rules[0].condition(), CvmCondition::UnderX);
    }

    #[test]
    fn malformed_lists() {
        assert!(CvmList::parse(&[0; 7]).is_err());
        assert!(CvmList::parse(&[0; 9]).is_err());
        assert!(CvmList::parse(&[0; 8]).unwrap().rules.is_empty());
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=0x3Fu8 {
            assert_eq!(CvmCode::from_byte(b).code(), b);
            assert_eq!(CvmCode::from_byte(b | 0x40).code(), b);
        }
        for b in 0..=0xFFu8 {
            assert_eq!(CvmCondition::from_byte(b).byte(), b);
        }
    }

    #[test]
    fn results() {
        let r = CvmResults([0x41, 0x03, 0x02]);
        assert_eq!(r.method(), CvmCode::PlaintextPinIcc);
        assert_eq!(r.result(), CvmResult::Successful);
        let d = CvmResults::NO_CVM_PERFORMED.describe();
        assert_eq!(d[0], "CVM performed: 3F No CVM performed");
        assert_eq!(d[2], "CVM result: 00 Unknown");
    }
}
