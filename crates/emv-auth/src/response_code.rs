//! ISO 8583 DE 39 response codes the bench uses (docs/issuer-host.md §3).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// A two-character response code (DE 39). Any two alphanumerics are accepted; the ones
/// the bench produces have constants and a meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseCode(pub [u8; 2]);

impl ResponseCode {
    /// `00` Approved.
    pub const APPROVED: Self = Self(*b"00");
    /// `05` Do not honour.
    pub const DO_NOT_HONOUR: Self = Self(*b"05");
    /// `12` Invalid transaction.
    pub const INVALID_TRANSACTION: Self = Self(*b"12");
    /// `13` Invalid amount.
    pub const INVALID_AMOUNT: Self = Self(*b"13");
    /// `14` Invalid card number.
    pub const INVALID_CARD_NUMBER: Self = Self(*b"14");
    /// `25` Unable to locate record on file (no such original transaction).
    pub const NO_ORIGINAL: Self = Self(*b"25");
    /// `30` Format error.
    pub const FORMAT_ERROR: Self = Self(*b"30");
    /// `51` Insufficient funds.
    pub const INSUFFICIENT_FUNDS: Self = Self(*b"51");
    /// `54` Expired card.
    pub const EXPIRED_CARD: Self = Self(*b"54");
    /// `55` Incorrect PIN.
    pub const INCORRECT_PIN: Self = Self(*b"55");
    /// `57` Transaction not permitted to cardholder.
    pub const NOT_PERMITTED: Self = Self(*b"57");
    /// `62` Restricted card.
    pub const RESTRICTED_CARD: Self = Self(*b"62");
    /// `75` Allowable number of PIN tries exceeded.
    pub const PIN_TRIES_EXCEEDED: Self = Self(*b"75");
    /// `63` Security violation (a message whose MAC does not verify).
    pub const SECURITY_VIOLATION: Self = Self(*b"63");
    /// `91` Issuer or switch inoperative.
    pub const ISSUER_UNAVAILABLE: Self = Self(*b"91");
    /// `96` System malfunction.
    pub const SYSTEM_MALFUNCTION: Self = Self(*b"96");
    /// `Z3` Unable to go online, offline declined (terminal-generated, Book 4 Annex A6).
    pub const UNABLE_TO_GO_ONLINE_DECLINED: Self = Self(*b"Z3");
    /// `Y3` Unable to go online, offline approved (terminal-generated).
    pub const UNABLE_TO_GO_ONLINE_APPROVED: Self = Self(*b"Y3");

    /// Parses two ASCII alphanumerics.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => Ok(Self([*a, *b])),
            _ => Err(format!(
                "response code must be two letters or digits, got {s:?}"
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The code as EMV tag 8A (Authorisation Response Code) carries it: two ASCII bytes.
    pub fn to_arc(self) -> [u8; 2] {
        self.0
    }

    /// Whether the issuer approved.
    pub fn is_approved(self) -> bool {
        // ISO 8583:1987 DE 39: 00, 08 (honour with identification), 10/11 (partial, VIP)
        matches!(&self.0, b"00" | b"08" | b"10" | b"11")
    }

    /// The standard meaning (ISO 8583:1987 DE 39).
    pub fn meaning(self) -> &'static str {
        match &self.0 {
            b"00" => "Approved",
            b"05" => "Do not honour",
            b"12" => "Invalid transaction",
            b"13" => "Invalid amount",
            b"14" => "Invalid card number",
            b"25" => "Unable to locate record on file",
            b"30" => "Format error",
            b"51" => "Insufficient funds",
            b"54" => "Expired card",
            b"55" => "Incorrect PIN",
            b"57" => "Transaction not permitted to cardholder",
            b"62" => "Restricted card",
            b"63" => "Security violation",
            b"75" => "Allowable number of PIN tries exceeded",
            b"91" => "Issuer or switch inoperative",
            b"96" => "System malfunction",
            b"Y1" => "Offline approved",
            b"Z1" => "Offline declined",
            b"Y3" => "Unable to go online, offline approved",
            b"Z3" => "Unable to go online, offline declined",
            _ => "Unknown response code",
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResponseCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResponseCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_mean() {
        assert_eq!(
            ResponseCode::parse("75").unwrap(),
            ResponseCode::PIN_TRIES_EXCEEDED
        );
        assert_eq!(
            ResponseCode::PIN_TRIES_EXCEEDED.meaning(),
            "Allowable number of PIN tries exceeded"
        );
        assert!(ResponseCode::APPROVED.is_approved());
        assert!(!ResponseCode::INCORRECT_PIN.is_approved());
        assert!(ResponseCode::parse("7").is_err());
        assert!(ResponseCode::parse("7é").is_err());
        assert_eq!(ResponseCode::APPROVED.to_arc(), [0x30, 0x30]);
    }
}
