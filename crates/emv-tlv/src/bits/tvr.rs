//! Terminal Verification Results (95) and Transaction Status Information (9B).

use super::{Describe, bitfield, describe_bits};

bitfield! {
    /// Terminal Verification Results (tag 95, 5 bytes), EMV 4.4 Book 3 Annex C5 Table 46.
    Tvr[5] {
        ODA_NOT_PERFORMED = (1, 0x80, "Offline data authentication was not performed"),
        SDA_FAILED = (1, 0x40, "SDA failed"),
        ICC_DATA_MISSING = (1, 0x20, "ICC data missing"),
        CARD_ON_EXCEPTION_FILE = (1, 0x10, "Card appears on terminal exception file"),
        DDA_FAILED = (1, 0x08, "DDA failed"),
        CDA_FAILED = (1, 0x04, "CDA failed"),
        SDA_SELECTED = (1, 0x02, "SDA selected"),
        XDA_SELECTED = (1, 0x01, "XDA selected (EMV 4.4)"),
        VERSIONS_DIFFER = (2, 0x80, "ICC and terminal have different application versions"),
        EXPIRED_APPLICATION = (2, 0x40, "Expired application"),
        NOT_YET_EFFECTIVE = (2, 0x20, "Application not yet effective"),
        SERVICE_NOT_ALLOWED = (2, 0x10, "Requested service not allowed for card product"),
        NEW_CARD = (2, 0x08, "New card"),
        BIOMETRIC_SUCCESSFUL = (2, 0x02, "Biometric performed and successful (EMV 4.4)"),
        BIOMETRIC_TEMPLATE_NOT_SUPPORTED = (2, 0x01, "Biometric template format not supported (EMV 4.4)"),
        CVM_NOT_SUCCESSFUL = (3, 0x80, "Cardholder verification was not successful"),
        UNRECOGNISED_CVM = (3, 0x40, "Unrecognised CVM"),
        PIN_TRY_LIMIT_EXCEEDED = (3, 0x20, "PIN Try Limit exceeded"),
        PIN_PAD_NOT_WORKING = (3, 0x10, "PIN entry required and PIN pad not present or not working"),
        PIN_NOT_ENTERED = (3, 0x08, "PIN entry required, PIN pad present, but PIN was not entered"),
        ONLINE_CVM_CAPTURED = (3, 0x04, "Online CVM captured (EMV 4.3: Online PIN entered)"),
        BIOMETRIC_CAPTURE_NOT_WORKING = (3, 0x02, "Biometric required but Biometric capture device not working (EMV 4.4)"),
        BIOMETRIC_SUBTYPE_BYPASSED = (3, 0x01, "Biometric required, Biometric capture device present, but Biometric Subtype entry was bypassed (EMV 4.4)"),
        FLOOR_LIMIT_EXCEEDED = (4, 0x80, "Transaction exceeds floor limit"),
        LOWER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED = (4, 0x40, "Lower consecutive offline limit exceeded"),
        UPPER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED = (4, 0x20, "Upper consecutive offline limit exceeded"),
        RANDOMLY_SELECTED_ONLINE = (4, 0x10, "Transaction selected randomly for online processing"),
        MERCHANT_FORCED_ONLINE = (4, 0x08, "Merchant forced transaction online"),
        BIOMETRIC_TRY_LIMIT_EXCEEDED = (4, 0x04, "Biometric Try Limit exceeded (EMV 4.4)"),
        BIOMETRIC_TYPE_NOT_SUPPORTED = (4, 0x02, "A selected Biometric Type not supported (EMV 4.4)"),
        XDA_SIGNATURE_FAILED = (4, 0x01, "XDA signature verification failed (EMV 4.4)"),
        DEFAULT_TDOL_USED = (5, 0x80, "Default TDOL used"),
        ISSUER_AUTHENTICATION_FAILED = (5, 0x40, "Issuer authentication failed"),
        SCRIPT_FAILED_BEFORE_FINAL_GENERATE_AC = (5, 0x20, "Script processing failed before final GENERATE AC"),
        SCRIPT_FAILED_AFTER_FINAL_GENERATE_AC = (5, 0x10, "Script processing failed after final GENERATE AC"),
        CONTACTLESS_RESERVED_B4 = (5, 0x08, "Reserved for use by the EMV Contactless Specifications"),
        CA_ECC_KEY_MISSING = (5, 0x04, "CA ECC key missing (EMV 4.4)"),
        ECC_KEY_RECOVERY_FAILED = (5, 0x02, "ECC key recovery failed (EMV 4.4)"),
        CONTACTLESS_RESERVED_B1 = (5, 0x01, "Reserved for use by the EMV Contactless Specifications"),
    }
}

impl Describe for Tvr {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

bitfield! {
    /// Transaction Status Information (tag 9B, 2 bytes), EMV 4.4 Book 3 Annex C6 Table 47.
    Tsi[2] {
        ODA_PERFORMED = (1, 0x80, "Offline data authentication was performed"),
        CVM_PERFORMED = (1, 0x40, "Cardholder verification was performed"),
        CARD_RISK_MANAGEMENT_PERFORMED = (1, 0x20, "Card risk management was performed"),
        ISSUER_AUTHENTICATION_PERFORMED = (1, 0x10, "Issuer authentication was performed"),
        TERMINAL_RISK_MANAGEMENT_PERFORMED = (1, 0x08, "Terminal risk management was performed"),
        SCRIPT_PROCESSING_PERFORMED = (1, 0x04, "Script processing was performed"),
    }
}

impl Describe for Tsi {
    fn describe(&self) -> Vec<String> {
        describe_bits(&self.0, Self::ALL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tvr_byte3_bit8() {
        let tvr = Tvr([0, 0, 0x80, 0, 0]);
        assert!(tvr.is_set(Tvr::CVM_NOT_SUCCESSFUL));
        assert_eq!(
            tvr.describe(),
            ["byte 3 bit 8: Cardholder verification was not successful"]
        );
    }

    #[test]
    fn every_tvr_bit_has_a_distinct_position() {
        // 5 bytes x 8 bits minus the one RFU bit (byte 2 b3)
        assert_eq!(Tvr::ALL.len(), 39);
        for (i, a) in Tvr::ALL.iter().enumerate() {
            for b in &Tvr::ALL[i + 1..] {
                assert!(!(a.byte == b.byte && a.mask == b.mask), "{a:?} {b:?}");
            }
            let mut t = Tvr::new();
            t.set(*a);
            assert_eq!(t.set_bits(), vec![*a]);
            t.clear(*a);
            assert_eq!(t, Tvr::new());
        }
    }

    #[test]
    fn rfu_bits_are_reported() {
        assert_eq!(
            Tvr([0, 0x04, 0, 0, 0]).describe(),
            ["byte 2 bit 3: RFU bit set"]
        );
        assert_eq!(Tsi([0x01, 0x80]).describe().len(), 2);
    }

    #[test]
    fn tsi_names() {
        let tsi = Tsi([0xE8, 0x00]);
        let d = tsi.describe();
        assert_eq!(d.len(), 4);
        assert!(d[1].ends_with("Cardholder verification was performed"));
        assert!(d[3].ends_with("Terminal risk management was performed"));
    }
}
