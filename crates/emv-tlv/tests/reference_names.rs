//! Every TVR, TSI, CVM List and CVM Results bit and code listed in the project's EMV
//! notes (docs/emv.md §2.2-§2.4, §3.1-§3.2, after EMV 4.4 Book 3 Annex C
//! and Book 4 Annex A4) decodes to its name. The expected names are copied here from that
//! table so the test stands alone.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use emv_tlv::bits::{CvmCode, CvmCondition, CvmResult, Describe, Tsi, Tvr};

fn tvr_line(byte: usize, mask: u8) -> String {
    let mut b = [0u8; 5];
    b[byte - 1] = mask;
    let lines = Tvr(b).describe();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0].clone()
}

#[test]
fn tvr_bits() {
    // (byte, mask, words the reference uses)
    let table: &[(usize, u8, &str)] = &[
        (1, 0x80, "Offline data authentication was not performed"),
        (1, 0x40, "SDA failed"),
        (1, 0x20, "ICC data missing"),
        (1, 0x10, "Card appears on terminal exception file"),
        (1, 0x08, "DDA failed"),
        (1, 0x04, "CDA failed"),
        (1, 0x02, "SDA selected"),
        (1, 0x01, "XDA selected"),
        (
            2,
            0x80,
            "ICC and terminal have different application versions",
        ),
        (2, 0x40, "Expired application"),
        (2, 0x20, "Application not yet effective"),
        (2, 0x10, "Requested service not allowed for card product"),
        (2, 0x08, "New card"),
        (2, 0x02, "Biometric performed and successful"),
        (2, 0x01, "Biometric template format not supported"),
        (3, 0x80, "Cardholder verification was not successful"),
        (3, 0x40, "Unrecognised CVM"),
        (3, 0x20, "PIN Try Limit exceeded"),
        (
            3,
            0x10,
            "PIN entry required and PIN pad not present or not working",
        ),
        (
            3,
            0x08,
            "PIN entry required, PIN pad present, but PIN was not entered",
        ),
        (3, 0x04, "Online PIN entered"),
        (3, 0x04, "Online CVM captured"),
        (
            3,
            0x02,
            "Biometric required but Biometric capture device not working",
        ),
        (3, 0x01, "Biometric Subtype entry was bypassed"),
        (4, 0x80, "Transaction exceeds floor limit"),
        (4, 0x40, "Lower consecutive offline limit exceeded"),
        (4, 0x20, "Upper consecutive offline limit exceeded"),
        (
            4,
            0x10,
            "Transaction selected randomly for online processing",
        ),
        (4, 0x08, "Merchant forced transaction online"),
        (4, 0x04, "Biometric Try Limit exceeded"),
        (4, 0x02, "Biometric Type not supported"),
        (4, 0x01, "XDA signature verification failed"),
        (5, 0x80, "Default TDOL used"),
        (5, 0x40, "Issuer authentication failed"),
        (5, 0x20, "Script processing failed before final GENERATE AC"),
        (5, 0x10, "Script processing failed after final GENERATE AC"),
        (
            5,
            0x08,
            "Reserved for use by the EMV Contactless Specifications",
        ),
        (5, 0x04, "CA ECC key missing"),
        (5, 0x02, "ECC key recovery failed"),
        (
            5,
            0x01,
            "Reserved for use by the EMV Contactless Specifications",
        ),
    ];
    for &(byte, mask, words) in table {
        let line = tvr_line(byte, mask);
        let bit = 8 - mask.leading_zeros();
        assert!(
            line.starts_with(&format!("byte {byte} bit {bit}: ")),
            "{line}"
        );
        assert!(
            line.contains(words),
            "byte {byte} mask {mask:02X}: {line:?} lacks {words:?}"
        );
    }
    // the one RFU bit of the TVR
    assert_eq!(tvr_line(2, 0x04), "byte 2 bit 3: RFU bit set");
}

#[test]
fn tsi_bits() {
    let table: &[(u8, &str)] = &[
        (0x80, "Offline data authentication was performed"),
        (0x40, "Cardholder verification was performed"),
        (0x20, "Card risk management was performed"),
        (0x10, "Issuer authentication was performed"),
        (0x08, "Terminal risk management was performed"),
        (0x04, "Script processing was performed"),
    ];
    for &(mask, words) in table {
        let lines = Tsi([mask, 0]).describe();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with(words), "{lines:?}");
    }
    assert_eq!(Tsi([0x02, 0]).describe(), ["byte 1 bit 2: RFU bit set"]);
    assert_eq!(Tsi([0, 0x01]).describe(), ["byte 2 bit 1: RFU bit set"]);
}

#[test]
fn cvm_codes() {
    let table: &[(u8, &str)] = &[
        (0x00, "Fail CVM processing"),
        (0x01, "Plaintext PIN verification performed by ICC"),
        (0x02, "Enciphered PIN verified online"),
        (
            0x03,
            "Plaintext PIN verification performed by ICC and signature (paper)",
        ),
        (0x04, "Enciphered PIN verification performed by ICC"),
        (
            0x05,
            "Enciphered PIN verification performed by ICC and signature (paper)",
        ),
        (0x06, "Facial biometric verified offline"),
        (0x07, "Facial biometric verified online"),
        (0x08, "Finger biometric verified offline"),
        (0x09, "Finger biometric verified online"),
        (0x0A, "Palm biometric verified offline"),
        (0x0B, "Palm biometric verified online"),
        (0x0C, "Iris biometric verified offline"),
        (0x0D, "Iris biometric verified online"),
        (0x0E, "Voice biometric verified offline"),
        (0x0F, "Voice biometric verified online"),
        (0x1E, "Signature (paper)"),
        (0x1F, "No CVM required"),
        (0x20, "Reserved for use by the individual payment systems"),
        (0x2F, "Reserved for use by the individual payment systems"),
        (0x30, "Reserved for use by the issuer"),
        (0x3E, "Reserved for use by the issuer"),
        (0x3F, "No CVM performed"),
        (0x10, "RFU"),
        (0x1D, "RFU"),
    ];
    for &(code, words) in table {
        let name = CvmCode::from_byte(code).name();
        assert!(name.starts_with(words), "{code:02X}: {name:?}");
    }
}

#[test]
fn cvm_conditions() {
    let table: &[(u8, &str)] = &[
        (0x00, "Always"),
        (0x01, "If unattended cash"),
        (
            0x02,
            "If not unattended cash and not manual cash and not purchase with cashback",
        ),
        (0x03, "If terminal supports the CVM"),
        (0x04, "If manual cash"),
        (0x05, "If purchase with cashback"),
        (
            0x06,
            "If transaction is in the application currency and is under X value",
        ),
        (
            0x07,
            "If transaction is in the application currency and is over X value",
        ),
        (
            0x08,
            "If transaction is in the application currency and is under Y value",
        ),
        (
            0x09,
            "If transaction is in the application currency and is over Y value",
        ),
        (0x0A, "RFU"),
        (0x80, "Reserved for use by payment systems"),
    ];
    for &(code, words) in table {
        assert_eq!(CvmCondition::from_byte(code).name(), words, "{code:02X}");
    }
}

#[test]
fn cvm_results() {
    assert_eq!(CvmResult::from_byte(0).name(), "Unknown");
    assert_eq!(CvmResult::from_byte(1).name(), "Failed");
    assert_eq!(CvmResult::from_byte(2).name(), "Successful");
    // the outcome table of docs/emv.md §2.6, decoded
    let cases: &[([u8; 3], &str, &str, &str)] = &[
        ([0x3F, 0x00, 0x00], "No CVM performed", "Always", "Unknown"),
        ([0x3F, 0x00, 0x01], "No CVM performed", "Always", "Failed"),
        (
            [0x00, 0x00, 0x01],
            "Fail CVM processing",
            "Always",
            "Failed",
        ),
        (
            [0x1F, 0x03, 0x02],
            "No CVM required",
            "If terminal supports the CVM",
            "Successful",
        ),
        (
            [0x1E, 0x03, 0x00],
            "Signature (paper)",
            "If terminal supports the CVM",
            "Unknown",
        ),
        (
            [0x02, 0x00, 0x00],
            "Enciphered PIN verified online",
            "Always",
            "Unknown",
        ),
        (
            [0x01, 0x00, 0x02],
            "Plaintext PIN verification performed by ICC",
            "Always",
            "Successful",
        ),
        (
            [0x04, 0x00, 0x01],
            "Enciphered PIN verification performed by ICC",
            "Always",
            "Failed",
        ),
    ];
    for (bytes, method, cond, result) in cases {
        let d = emv_tlv::bits::CvmResults(*bytes).describe();
        assert!(d[0].ends_with(method), "{d:?}");
        assert!(d[1].ends_with(cond), "{d:?}");
        assert!(d[2].ends_with(result), "{d:?}");
    }
}
