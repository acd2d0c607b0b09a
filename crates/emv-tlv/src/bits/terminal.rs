//! Terminal Capabilities (9F33), Additional Terminal Capabilities (9F40), Terminal Type
//! (9F35).

use super::{Describe, bitfield, describe_bits};

bitfield! {
    /// Terminal Capabilities (tag 9F33, 3 bytes), EMV 4.4 Book 4 Annex A2 Tables 25-27.
    TerminalCapabilities[3] {
        MANUAL_KEY_ENTRY = (1, 0x80, "Manual key entry"),
        MAGNETIC_STRIPE = (1, 0x40, "Magnetic stripe"),
        IC_WITH_CONTACTS = (1, 0x20, "IC with contacts"),
        PLAINTEXT_PIN_ICC = (2, 0x80, "Plaintext PIN for ICC verification"),
        ENCIPHERED_PIN_ONLINE = (2, 0x40, "Enciphered PIN for online verification"),
        SIGNATURE = (2, 0x20, "Signature (paper)"),
        ENCIPHERED_PIN_OFFLINE = (2, 0x10, "Enciphered PIN for offline verification (RSA ODE)"),
        NO_CVM_REQUIRED = (2, 0x08, "No CVM required"),
        ONLINE_BIOMETRIC = (2, 0x04, "Online Biometric (EMV 4.4)"),
        OFFLINE_BIOMETRIC = (2, 0x02, "Offline Biometric (EMV 4.4)"),
        ENCIPHERED_PIN_OFFLINE_ECC = (2, 0x01, "Enciphered PIN for offline verification (ECC ODE, EMV 4.4)"),
        SDA = (3, 0x80, "SDA"),
        DDA = (3, 0x40, "DDA"),
        CARD_CAPTURE = (3, 0x20, "Card capture"),
        CDA = (3, 0x08, "CDA"),
        XDA = (3, 0x04, "XDA (EMV 4.4)"),
    }
}

impl Describe for TerminalCapabilities {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

bitfield! {
    /// Additional Terminal Capabilities (tag 9F40, 5 bytes), EMV 4.4 Book 4 Annex A3
    /// Tables 28-32.
    AdditionalTerminalCapabilities[5] {
        CASH = (1, 0x80, "Cash"),
        GOODS = (1, 0x40, "Goods"),
        SERVICES = (1, 0x20, "Services"),
        CASHBACK = (1, 0x10, "Cashback"),
        INQUIRY = (1, 0x08, "Inquiry"),
        TRANSFER = (1, 0x04, "Transfer"),
        PAYMENT = (1, 0x02, "Payment"),
        ADMINISTRATIVE = (1, 0x01, "Administrative"),
        CASH_DEPOSIT = (2, 0x80, "Cash deposit"),
        NUMERIC_KEYS = (3, 0x80, "Numeric keys"),
        ALPHABETIC_KEYS = (3, 0x40, "Alphabetic and special characters keys"),
        COMMAND_KEYS = (3, 0x20, "Command keys"),
        FUNCTION_KEYS = (3, 0x10, "Function keys"),
        PRINT_ATTENDANT = (4, 0x80, "Print, attendant"),
        PRINT_CARDHOLDER = (4, 0x40, "Print, cardholder"),
        DISPLAY_ATTENDANT = (4, 0x20, "Display, attendant"),
        DISPLAY_CARDHOLDER = (4, 0x10, "Display, cardholder"),
        CODE_TABLE_10 = (4, 0x02, "Code table 10"),
        CODE_TABLE_9 = (4, 0x01, "Code table 9"),
        CODE_TABLE_8 = (5, 0x80, "Code table 8"),
        CODE_TABLE_7 = (5, 0x40, "Code table 7"),
        CODE_TABLE_6 = (5, 0x20, "Code table 6"),
        CODE_TABLE_5 = (5, 0x10, "Code table 5"),
        CODE_TABLE_4 = (5, 0x08, "Code table 4"),
        CODE_TABLE_3 = (5, 0x04, "Code table 3"),
        CODE_TABLE_2 = (5, 0x02, "Code table 2"),
        CODE_TABLE_1 = (5, 0x01, "Code table 1"),
    }
}

impl Describe for AdditionalTerminalCapabilities {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

/// Terminal Type (tag 9F35, n2), EMV 4.4 Book 4 Annex A1 Table 24: high digit =
/// operational control, low digit = environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TerminalType(pub u8);

impl TerminalType {
    /// Who operates the terminal: 1 financial institution, 2 merchant, 3 cardholder.
    pub fn operational_control(self) -> Option<&'static str> {
        match self.0 >> 4 {
            1 => Some("Financial institution"),
            2 => Some("Merchant"),
            3 => Some("Cardholder"),
            _ => None,
        }
    }

    /// The environment (attended or unattended; online/offline capability).
    pub fn environment(self) -> Option<&'static str> {
        match self.0 & 0x0F {
            1 => Some("Attended, online only"),
            2 => Some("Attended, offline with online capability"),
            3 => Some("Attended, offline only"),
            4 => Some("Unattended, online only"),
            5 => Some("Unattended, offline with online capability"),
            6 => Some("Unattended, offline only"),
            _ => None,
        }
    }

    /// Environment 4-6 (Book 4 Table 24).
    pub fn is_unattended(self) -> bool {
        matches!(self.0 & 0x0F, 4..=6)
    }

    /// Online only (environment 1 or 4).
    pub fn is_online_only(self) -> bool {
        matches!(self.0 & 0x0F, 1 | 4)
    }

    /// Offline only (environment 3 or 6).
    pub fn is_offline_only(self) -> bool {
        matches!(self.0 & 0x0F, 3 | 6)
    }

    /// One of the values Table 24 defines (11-16, 21-26, 34-36).
    pub fn is_valid(self) -> bool {
        matches!(self.0, 0x11..=0x16 | 0x21..=0x26 | 0x34..=0x36)
    }
}

impl Describe for TerminalType {
    fn describe(&self) -> Vec<String> {
        match (
            self.operational_control(),
            self.environment(),
            self.is_valid(),
        ) {
            (Some(op), Some(env), true) => {
                let mut v = vec![
                    format!("Operational control: {op}"),
                    format!("Environment: {env}"),
                ];
                if self.0 == 0x14 || self.0 == 0x15 || self.0 == 0x16 {
                    v.push("Typical of an ATM (financial institution, unattended)".into());
                }
                v
            }
            _ => vec![format!(
                "{:02X}: not a Terminal Type value of Book 4 Table 24",
                self.0
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_e0f0c8() {
        let d = TerminalCapabilities([0xE0, 0xF0, 0xC8]).describe();
        assert_eq!(d.len(), 10);
        assert!(d.contains(&"byte 2 bit 8: Plaintext PIN for ICC verification".to_string()));
        assert!(d.contains(&"byte 3 bit 4: CDA".to_string()));
    }

    #[test]
    fn terminal_types() {
        assert!(TerminalType(0x14).is_unattended());
        assert!(TerminalType(0x14).is_online_only());
        assert!(!TerminalType(0x22).is_unattended());
        assert_eq!(
            TerminalType(0x22).describe()[0],
            "Operational control: Merchant"
        );
        assert!(!TerminalType(0x31).is_valid());
        assert!(TerminalType(0x31).describe()[0].contains("not a Terminal Type"));
    }

    #[test]
    fn additional_capabilities() {
        let d = AdditionalTerminalCapabilities([0x60, 0x00, 0xF0, 0xA0, 0x01]).describe();
        assert_eq!(d.len(), 9);
        assert!(d[0].ends_with("Goods"));
    }
}
