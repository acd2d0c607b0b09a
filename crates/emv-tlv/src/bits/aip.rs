//! Application Interchange Profile (82) and Application Usage Control (9F07).

use super::{Describe, bitfield, describe_bits};

bitfield! {
    /// Application Interchange Profile (tag 82, 2 bytes), EMV 4.4 Book 3 Annex C1 Table 41;
    /// byte 2 from the contactless kernel books (C-2 Annex A.1.16).
    Aip[2] {
        XDA_SUPPORTED = (1, 0x80, "XDA supported (EMV 4.4)"),
        SDA_SUPPORTED = (1, 0x40, "SDA supported"),
        DDA_SUPPORTED = (1, 0x20, "DDA supported"),
        CARDHOLDER_VERIFICATION_SUPPORTED = (1, 0x10, "Cardholder verification is supported"),
        TERMINAL_RISK_MANAGEMENT = (1, 0x08, "Terminal risk management is to be performed"),
        ISSUER_AUTHENTICATION_SUPPORTED = (1, 0x04, "Issuer authentication is supported"),
        ON_DEVICE_CV_SUPPORTED = (1, 0x02, "On device cardholder verification is supported (contactless)"),
        CDA_SUPPORTED = (1, 0x01, "CDA supported"),
        EMV_MODE_SUPPORTED = (2, 0x80, "EMV mode is supported (contactless)"),
        MOBILE_PHONE = (2, 0x40, "Mobile phone (contactless)"),
        CONTACTLESS_TRANSACTION = (2, 0x20, "Contactless transaction (contactless)"),
        RRP_SUPPORTED = (2, 0x01, "Relay Resistance Protocol is supported (contactless)"),
    }
}

impl Describe for Aip {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

bitfield! {
    /// Application Usage Control (tag 9F07, 2 bytes), EMV 4.4 Book 3 Annex C2 Table 42.
    Auc[2] {
        DOMESTIC_CASH = (1, 0x80, "Valid for domestic cash transactions"),
        INTERNATIONAL_CASH = (1, 0x40, "Valid for international cash transactions"),
        DOMESTIC_GOODS = (1, 0x20, "Valid for domestic goods"),
        INTERNATIONAL_GOODS = (1, 0x10, "Valid for international goods"),
        DOMESTIC_SERVICES = (1, 0x08, "Valid for domestic services"),
        INTERNATIONAL_SERVICES = (1, 0x04, "Valid for international services"),
        ATMS = (1, 0x02, "Valid at ATMs"),
        NON_ATM_TERMINALS = (1, 0x01, "Valid at terminals other than ATMs"),
        DOMESTIC_CASHBACK = (2, 0x80, "Domestic cashback allowed"),
        INTERNATIONAL_CASHBACK = (2, 0x40, "International cashback allowed"),
    }
}

impl Describe for Auc {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aip_5800() {
        let d = Aip([0x58, 0x00]).describe();
        assert_eq!(
            d,
            [
                "byte 1 bit 7: SDA supported",
                "byte 1 bit 5: Cardholder verification is supported",
                "byte 1 bit 4: Terminal risk management is to be performed",
            ]
        );
    }

    #[test]
    fn auc_ff00() {
        let d = Auc([0xFF, 0xC0]).describe();
        assert_eq!(d.len(), 10);
        assert!(d[6].ends_with("Valid at ATMs"));
    }
}
