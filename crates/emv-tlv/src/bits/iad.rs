//! Issuer Application Data (9F10) and the Card Verification Results inside it.
//!
//! Layouts: Visa VSDC IAD formats 0/1/3 and 2/4, Mastercard M/Chip (CVN `1x`), and the EMV
//! Common Core Definitions (EMV 4.4 Book 3 Annex C9). The scheme specifications are not
//! public; the bit assignments follow docs/emv.md §4.5 and openemv/emv-utils
//! (`emv_fields.h`), which cite them.

use super::{Bit, Describe, bitfield, describe_bits};

/// Which IAD layout a value follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
pub enum IadFormat {
    /// Visa VSDC IAD format 0, 1 or 3: `06 DKI CVN CVR(4) [len discretionary]`, the CVR's
    /// byte 1 being its length `03`.
    #[strum(serialize = "Visa VSDC IAD format 0/1/3")]
    Visa,
    /// Visa VSDC IAD format 2 or 4: 32 bytes starting `1F`.
    #[strum(serialize = "Visa VSDC IAD format 2/4")]
    Visa2,
    /// Mastercard M/Chip: `DKI CVN(1x) CVR(6) DAC/IDN(2) counters...`, 18-28 bytes.
    #[strum(serialize = "Mastercard M/Chip")]
    Mastercard,
    /// EMV CCD: `0F CCI DKI CVR(5) counters(8) 0F discretionary(15)`, 32 bytes.
    #[strum(serialize = "EMV Common Core Definitions (CCD)")]
    Ccd,
}

impl IadFormat {
    /// Name for display.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Issuer Application Data, borrowed, with its layout recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iad<'a> {
    /// The layout.
    pub format: IadFormat,
    /// The whole value.
    pub bytes: &'a [u8],
}

impl<'a> Iad<'a> {
    /// Recognise the layout from the bytes; `None` when none fits.
    pub fn detect(bytes: &'a [u8]) -> Option<Iad<'a>> {
        let format = match bytes {
            [0x0F, cci, ..] if bytes.len() == 32 && cci & 0xF0 == 0xA0 => IadFormat::Ccd,
            [0x06, _, _, 0x03, ..] if bytes.len() >= 7 => IadFormat::Visa,
            [0x1F, ..] if bytes.len() == 32 => IadFormat::Visa2,
            [_, cvn, ..] if matches!(bytes.len(), 18 | 20 | 26 | 28) && cvn & 0xF0 == 0x10 => {
                IadFormat::Mastercard
            }
            _ => return None,
        };
        Some(Iad { format, bytes })
    }

    /// Read `bytes` as the given layout (when the caller knows the scheme); `None` if too
    /// short for it.
    pub fn with_format(bytes: &'a [u8], format: IadFormat) -> Option<Iad<'a>> {
        let min = match format {
            IadFormat::Visa => 7,
            IadFormat::Visa2 | IadFormat::Ccd => 32,
            IadFormat::Mastercard => 8,
        };
        (bytes.len() >= min).then_some(Iad { format, bytes })
    }

    /// The Cryptogram Version Number byte.
    pub fn cvn(&self) -> u8 {
        match self.format {
            IadFormat::Visa => self.bytes[2],
            IadFormat::Visa2 => self.bytes[1],
            IadFormat::Mastercard => self.bytes[1],
            IadFormat::Ccd => self.bytes[1] & 0x0F,
        }
    }

    /// The Derivation Key Index.
    pub fn dki(&self) -> u8 {
        match self.format {
            IadFormat::Visa => self.bytes[1],
            IadFormat::Visa2 | IadFormat::Ccd => self.bytes[2],
            IadFormat::Mastercard => self.bytes[0],
        }
    }

    /// The CVR bytes as the scheme numbers them (Visa: 4 bytes, byte 1 the length `03`;
    /// M/Chip: 6 bytes; CCD: 5 bytes; Visa format 2/4: 5 bytes).
    pub fn cvr(&self) -> &'a [u8] {
        match self.format {
            IadFormat::Visa => &self.bytes[3..7],
            IadFormat::Visa2 | IadFormat::Ccd => &self.bytes[3..8],
            IadFormat::Mastercard => &self.bytes[2..8],
        }
    }
}

impl Describe for Iad<'_> {
    fn describe(&self) -> Vec<String> {
        let mut v = vec![format!("Format: {}", self.format.name())];
        match self.format {
            IadFormat::Ccd => v.push(format!(
                "Common Core Identifier: {:02X} (format {:X}, {})",
                self.bytes[1],
                self.bytes[1] >> 4,
                cvn_name(self.cvn())
            )),
            _ => v.push(format!(
                "Cryptogram Version Number: {}",
                cvn_name(self.cvn())
            )),
        }
        v.push(format!("Derivation Key Index: {:02X}", self.dki()));
        v.push(format!(
            "Card Verification Results: {}",
            crate::hex::encode(self.cvr())
        ));
        let cvr_lines = match self.format {
            IadFormat::Visa => VisaCvr::from_slice(self.cvr()).map(|c| c.describe()),
            IadFormat::Mastercard => McCvr::from_slice(self.cvr()).map(|c| c.describe()),
            IadFormat::Ccd => CcdCvr::from_slice(self.cvr()).map(|c| c.describe()),
            IadFormat::Visa2 => None,
        };
        v.extend(
            cvr_lines
                .unwrap_or_default()
                .into_iter()
                .map(|l| format!("  CVR {l}")),
        );
        match self.format {
            IadFormat::Visa if self.bytes.len() > 7 => v.push(format!(
                "Issuer discretionary data: {}",
                crate::hex::encode(&self.bytes[7..])
            )),
            IadFormat::Mastercard if self.bytes.len() >= 10 => {
                v.push(format!(
                    "DAC/IDN: {}",
                    crate::hex::encode(&self.bytes[8..10])
                ));
                if self.bytes.len() > 10 {
                    v.push(format!(
                        "Counters: {}",
                        crate::hex::encode(&self.bytes[10..])
                    ));
                }
            }
            IadFormat::Ccd => {
                v.push(format!(
                    "Counters: {}",
                    crate::hex::encode(&self.bytes[8..16])
                ));
                v.push(format!(
                    "Issuer discretionary data: {}",
                    crate::hex::encode(&self.bytes[16..])
                ));
            }
            _ => {}
        }
        v
    }
}

/// A Cryptogram Version Number as people write it, with its byte: `CVN 18 (0x12)`. CVNs
/// are named by the byte's decimal value (Visa 10 = `0A`, 18 = `12`, M/Chip 16 = `10`,
/// Interac 133 = `85`), except Visa's `22`, named by its hex digits as Visa names it (the
/// names `emv_crypto::Cvn` uses).
pub fn cvn_name(byte: u8) -> String {
    let number = if byte == 0x22 {
        "22".to_owned()
    } else {
        byte.to_string()
    };
    format!("CVN {number} (0x{byte:02X})")
}

/// Cryptogram type in CVR bits (b8-b7 second GENERATE AC, b6-b5 first) of CVR byte `n`.
fn ac_pair_lines(n: u8, b: u8) -> [String; 2] {
    let second = match b >> 6 {
        0 => "AAC",
        1 => "TC",
        2 => "Second GENERATE AC not requested",
        _ => "RFU",
    };
    let first = match (b >> 4) & 3 {
        0 => "AAC",
        1 => "TC",
        2 => "ARQC",
        _ => "RFU",
    };
    [
        format!("byte {n} bits 8-7: Cryptogram returned in second GENERATE AC: {second}"),
        format!("byte {n} bits 6-5: Cryptogram returned in first GENERATE AC: {first}"),
    ]
}

/// Lines for `bytes` where `multi` lines already explain the bits zeroed by `masks`.
fn with_multibit(
    bytes: &[u8],
    masks: &[(usize, u8)],
    table: &[Bit],
    multi: Vec<String>,
) -> Vec<String> {
    let mut rest = bytes.to_vec();
    for &(i, m) in masks {
        if let Some(b) = rest.get_mut(i) {
            *b &= !m;
        }
    }
    let mut lines = multi;
    lines.extend(describe_bits(&rest, table));
    lines
}

bitfield! {
    /// Visa VSDC CVR, numbered as VIS numbers it: byte 1 is the length (`03`), byte 2
    /// b8-b5 hold the cryptogram types, byte 4 b8-b5 the number of issuer script commands.
    VisaCvr[4] {
        ISSUER_AUTH_FAILED = (2, 0x08, "Issuer authentication performed and failed"),
        OFFLINE_PIN_PERFORMED = (2, 0x04, "Offline PIN verification performed"),
        OFFLINE_PIN_FAILED = (2, 0x02, "Offline PIN verification failed"),
        UNABLE_TO_GO_ONLINE = (2, 0x01, "Unable to go online"),
        LAST_ONLINE_NOT_COMPLETED = (3, 0x80, "Last online transaction not completed"),
        PIN_TRY_LIMIT_EXCEEDED = (3, 0x40, "PIN Try Limit exceeded"),
        VELOCITY_EXCEEDED = (3, 0x20, "Exceeded velocity checking counters"),
        NEW_CARD = (3, 0x10, "New card"),
        ISSUER_AUTH_FAILED_LAST = (3, 0x08, "Issuer authentication failure on last online transaction"),
        ISSUER_AUTH_NOT_PERFORMED = (3, 0x04, "Issuer authentication not performed after online authorisation"),
        BLOCKED_PTL = (3, 0x02, "Application blocked by card because PIN Try Limit exceeded"),
        SDA_FAILED_LAST = (3, 0x01, "Offline static data authentication failed on last transaction and transaction declined offline"),
        SCRIPT_FAILED = (4, 0x08, "Issuer script processing failed on last transaction"),
        DDA_FAILED_LAST = (4, 0x04, "Offline dynamic data authentication failed on last transaction and transaction declined offline"),
        DDA_PERFORMED = (4, 0x02, "Offline dynamic data authentication performed"),
        PIN_NOT_RECEIVED = (4, 0x01, "PIN verification command not received for a PIN-expecting card"),
    }
}

impl VisaCvr {
    /// The CVR's length byte (byte 1): the three bytes that follow.
    pub const LENGTH: u8 = 0x03;

    /// All bits clear, with the length byte.
    pub const fn empty() -> Self {
        VisaCvr([Self::LENGTH, 0, 0, 0])
    }

    /// Number of issuer script commands processed on the last transaction (byte 4 b8-b5).
    pub fn script_count(&self) -> u8 {
        self.0[3] >> 4
    }
}

impl Describe for VisaCvr {
    fn describe(&self) -> Vec<String> {
        let mut multi = vec![format!("byte 1: length {:02X}", self.0[0])];
        multi.extend(ac_pair_lines(2, self.0[1]));
        multi.push(format!(
            "byte 4 bits 8-5: Issuer script commands processed on last transaction: {}",
            self.script_count()
        ));
        with_multibit(
            &self.0,
            &[(0, 0xFF), (1, 0xF0), (3, 0xF0)],
            Self::ALL,
            multi,
        )
    }
}

bitfield! {
    /// Mastercard M/Chip CVR (6 bytes). Byte 1 b8-b5 hold the cryptogram types; byte 3
    /// holds the script counter (b8-b5) and PIN try counter (b4-b1).
    McCvr[6] {
        DATE_CHECK_FAILED = (1, 0x08, "Date check failed"),
        OFFLINE_PIN_PERFORMED = (1, 0x04, "Offline PIN verification performed"),
        OFFLINE_ENCRYPTED_PIN_PERFORMED = (1, 0x02, "Offline encrypted PIN verification performed"),
        OFFLINE_PIN_SUCCESSFUL = (1, 0x01, "Offline PIN verification successful"),
        DDA_RETURNED = (2, 0x80, "DDA returned"),
        CDA_FIRST = (2, 0x40, "Combined DDA/AC generation returned in first GENERATE AC"),
        CDA_SECOND = (2, 0x20, "Combined DDA/AC generation returned in second GENERATE AC"),
        ISSUER_AUTH_PERFORMED = (2, 0x10, "Issuer authentication performed"),
        CIAC_SKIPPED_CAT3 = (2, 0x08, "CIAC-default skipped on CAT3"),
        OFFLINE_CHANGE_PIN_SUCCESSFUL = (2, 0x04, "Offline change PIN result successful"),
        ISSUER_DISCRETIONARY_2 = (2, 0x02, "Issuer discretionary"),
        ISSUER_DISCRETIONARY_1 = (2, 0x01, "Issuer discretionary"),
        LAST_ONLINE_NOT_COMPLETED = (4, 0x80, "Last online transaction not completed"),
        UNABLE_TO_GO_ONLINE = (4, 0x40, "Unable to go online"),
        OFFLINE_PIN_NOT_PERFORMED = (4, 0x20, "Offline PIN verification not performed"),
        OFFLINE_PIN_FAILED = (4, 0x10, "Offline PIN verification failed"),
        PTL_EXCEEDED = (4, 0x08, "PIN Try Limit exceeded"),
        INTERNATIONAL = (4, 0x04, "International transaction"),
        DOMESTIC = (4, 0x02, "Domestic transaction"),
        TERMINAL_ERRONEOUSLY_PIN_OK = (4, 0x01, "Terminal erroneously considers offline PIN OK"),
        LOWER_CONSECUTIVE_EXCEEDED = (5, 0x80, "Lower consecutive offline limit exceeded"),
        UPPER_CONSECUTIVE_EXCEEDED = (5, 0x40, "Upper consecutive offline limit exceeded"),
        LOWER_CUMULATIVE_EXCEEDED = (5, 0x20, "Lower cumulative offline limit exceeded"),
        UPPER_CUMULATIVE_EXCEEDED = (5, 0x10, "Upper cumulative offline limit exceeded"),
        GO_ONLINE_NEXT = (5, 0x08, "Go online on next transaction was set"),
        ISSUER_AUTH_FAILED = (5, 0x04, "Issuer authentication failed"),
        SCRIPT_RECEIVED = (5, 0x02, "Script received"),
        SCRIPT_FAILED = (5, 0x01, "Script failed"),
        LOWER_CONSECUTIVE_2_EXCEEDED = (6, 0x80, "Lower consecutive counter 2 limit exceeded"),
        UPPER_CONSECUTIVE_2_EXCEEDED = (6, 0x40, "Upper consecutive counter 2 limit exceeded"),
        LOWER_CUMULATIVE_2_EXCEEDED = (6, 0x20, "Lower cumulative accumulator 2 limit exceeded"),
        UPPER_CUMULATIVE_2_EXCEEDED = (6, 0x10, "Upper cumulative accumulator 2 limit exceeded"),
        MTA_EXCEEDED = (6, 0x08, "MTA limit exceeded"),
        DAYS_OFFLINE_EXCEEDED = (6, 0x04, "Number of days offline limit exceeded"),
        MATCH_ADDITIONAL_CHECK = (6, 0x02, "Match found in additional check table"),
        NO_MATCH_ADDITIONAL_CHECK = (6, 0x01, "No match found in additional check table"),
    }
}

impl McCvr {
    /// Script counter (byte 3 b8-b5).
    pub fn script_counter(&self) -> u8 {
        self.0[2] >> 4
    }

    /// Low nibble of the PIN try counter (byte 3 b4-b1).
    pub fn pin_try_counter(&self) -> u8 {
        self.0[2] & 0x0F
    }
}

impl Describe for McCvr {
    fn describe(&self) -> Vec<String> {
        let mut multi = ac_pair_lines(1, self.0[0]).to_vec();
        multi.push(format!(
            "byte 3 bits 8-5: Script counter: {}",
            self.script_counter()
        ));
        multi.push(format!(
            "byte 3 bits 4-1: PIN Try Counter: {}",
            self.pin_try_counter()
        ));
        with_multibit(&self.0, &[(0, 0xF0), (2, 0xFF)], Self::ALL, multi)
    }
}

bitfield! {
    /// EMV CCD CVR (5 bytes), EMV 4.4 Book 3 Annex C9.3. Byte 1 b8-b5 hold the cryptogram
    /// types, byte 2 b8-b5 the PIN try counter, byte 4 b8-b5 the script command count.
    CcdCvr[5] {
        CDA_PERFORMED = (1, 0x08, "CDA performed"),
        DDA_PERFORMED = (1, 0x04, "Offline DDA performed"),
        ISSUER_AUTH_NOT_PERFORMED = (1, 0x02, "Issuer authentication not performed"),
        ISSUER_AUTH_FAILED = (1, 0x01, "Issuer authentication failed"),
        OFFLINE_PIN_PERFORMED = (2, 0x08, "Offline PIN verification performed"),
        OFFLINE_PIN_NOT_SUCCESSFUL = (2, 0x04, "Offline PIN verification performed and PIN not successfully verified"),
        PIN_TRY_LIMIT_EXCEEDED = (2, 0x02, "PIN Try Limit exceeded"),
        LAST_ONLINE_NOT_COMPLETED = (2, 0x01, "Last online transaction not completed"),
        LOWER_COUNT_EXCEEDED = (3, 0x80, "Lower offline transaction count limit exceeded"),
        UPPER_COUNT_EXCEEDED = (3, 0x40, "Upper offline transaction count limit exceeded"),
        LOWER_AMOUNT_EXCEEDED = (3, 0x20, "Lower cumulative offline amount limit exceeded"),
        UPPER_AMOUNT_EXCEEDED = (3, 0x10, "Upper cumulative offline amount limit exceeded"),
        ISSUER_BIT_1 = (3, 0x08, "Issuer-discretionary bit 1"),
        ISSUER_BIT_2 = (3, 0x04, "Issuer-discretionary bit 2"),
        ISSUER_BIT_3 = (3, 0x02, "Issuer-discretionary bit 3"),
        ISSUER_BIT_4 = (3, 0x01, "Issuer-discretionary bit 4"),
        SCRIPT_FAILED = (4, 0x08, "Issuer script processing failed"),
        ODA_FAILED_PREVIOUS = (4, 0x04, "Offline data authentication failed on previous transaction"),
        GO_ONLINE_NEXT = (4, 0x02, "Go online on next transaction was set"),
        UNABLE_TO_GO_ONLINE = (4, 0x01, "Unable to go online"),
    }
}

impl Describe for CcdCvr {
    fn describe(&self) -> Vec<String> {
        let mut multi = ac_pair_lines(1, self.0[0]).to_vec();
        multi.push(format!(
            "byte 2 bits 8-5: PIN Try Counter (low nibble): {}",
            self.0[1] >> 4
        ));
        multi.push(format!(
            "byte 4 bits 8-5: Secure messaging script commands processed: {}",
            self.0[3] >> 4
        ));
        with_multibit(
            &self.0,
            &[(0, 0xF0), (1, 0xF0), (3, 0xF0)],
            Self::ALL,
            multi,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::decode;

    #[test]
    fn visa_cvn18_iad() {
        let iad = decode("06011203A04000").unwrap();
        let iad = Iad::detect(&iad).unwrap();
        assert_eq!(iad.format, IadFormat::Visa);
        assert_eq!(iad.cvn(), 0x12);
        assert_eq!(iad.dki(), 0x01);
        let d = iad.describe();
        assert!(d.iter().any(|l| l.contains("first GENERATE AC: ARQC")));
        assert!(
            d.iter()
                .any(|l| l.contains("Second GENERATE AC not requested"))
        );
        assert!(d.iter().any(|l| l.ends_with("PIN Try Limit exceeded")));
        assert!(
            !d.iter()
                .any(|l| l.ends_with("Application blocked by card because PIN Try Limit exceeded"))
        );
        // numbered as VIS numbers the 4-byte CVR: byte 1 is its length
        for line in [
            "Cryptogram Version Number: CVN 18 (0x12)",
            "Card Verification Results: 03A04000",
            "  CVR byte 1: length 03",
            "  CVR byte 2 bits 6-5: Cryptogram returned in first GENERATE AC: ARQC",
            "  CVR byte 3 bit 7: PIN Try Limit exceeded",
            "  CVR byte 4 bits 8-5: Issuer script commands processed on last transaction: 0",
        ] {
            assert!(d.iter().any(|l| l == line), "{line:?} not in {d:#?}");
        }
    }

    #[test]
    fn cvns_are_named_with_their_byte() {
        assert_eq!(cvn_name(0x12), "CVN 18 (0x12)");
        assert_eq!(cvn_name(0x0A), "CVN 10 (0x0A)");
        assert_eq!(cvn_name(0x22), "CVN 22 (0x22)");
        assert_eq!(cvn_name(0x10), "CVN 16 (0x10)");
        assert_eq!(cvn_name(0x85), "CVN 133 (0x85)");
        let mc = Iad::detect(&decode("0110A00003220000000000000000000000FF").unwrap())
            .unwrap()
            .describe();
        assert!(mc.contains(&"Cryptogram Version Number: CVN 16 (0x10)".to_owned()));
    }

    #[test]
    fn visa_pin_bits() {
        let cvr = VisaCvr([0x03, 0x86, 0x42, 0x28]);
        assert!(cvr.is_set(VisaCvr::OFFLINE_PIN_PERFORMED));
        assert!(cvr.is_set(VisaCvr::OFFLINE_PIN_FAILED));
        assert!(cvr.is_set(VisaCvr::PIN_TRY_LIMIT_EXCEEDED));
        assert!(cvr.is_set(VisaCvr::BLOCKED_PTL));
        assert!(cvr.is_set(VisaCvr::SCRIPT_FAILED));
        assert_eq!(cvr.script_count(), 2);
        assert!(!cvr.describe().iter().any(|l| l.contains("RFU")));
    }

    #[test]
    fn mastercard_iad() {
        let raw = decode("0110A00003220000000000000000000000FF").unwrap();
        let iad = Iad::detect(&raw).unwrap();
        assert_eq!(iad.format, IadFormat::Mastercard);
        assert_eq!(iad.cvn(), 0x10);
        let cvr = McCvr::from_slice(iad.cvr()).unwrap();
        assert_eq!(cvr.pin_try_counter(), 3);
        assert_eq!(cvr.script_counter(), 0);
        let d = cvr.describe();
        assert!(d.iter().any(|l| l.ends_with("PIN Try Counter: 3")));
        assert!(
            d.iter()
                .any(|l| l.ends_with("Offline PIN verification not performed"))
        );
    }

    #[test]
    fn ccd_iad() {
        let mut raw = decode("0FA501A03800000000000000000000000F").unwrap();
        raw.resize(32, 0);
        let iad = Iad::detect(&raw).unwrap();
        assert_eq!(iad.format, IadFormat::Ccd);
        let cvr = CcdCvr::from_slice(iad.cvr()).unwrap();
        assert!(cvr.is_set(CcdCvr::OFFLINE_PIN_PERFORMED));
        assert_eq!(cvr.0[1] >> 4, 3);
    }

    #[test]
    fn unknown_layouts() {
        assert!(Iad::detect(&[0x01, 0x02]).is_none());
        assert!(Iad::with_format(&[0x06, 0x01], IadFormat::Visa).is_none());
    }
}
