//! Status words SW1 SW2, decoded once into an enum with data.
//!
//! Sources: ISO/IEC 7816-4 §5.6 (Tables 5 and 6), EMV 4.4 Book 3 §6.3.5 (coding of the
//! status bytes) and the per-command tables of Book 3 §6.5; issuer-script result rule of
//! Book 3 §10.10.

use std::fmt;
use std::hash::{Hash, Hasher};

/// A decoded status word (the trailer SW1 SW2 of every R-APDU).
///
/// Decode with [`StatusWord::from_u16`] (or `From<u16>`, `From<[u8; 2]>`); every one of
/// the 65536 values decodes to exactly one variant and [`to_u16`](Self::to_u16) gives the
/// same value back. Status words that have no variant of their own land in
/// [`Warning`](Self::Warning) (SW1 `62`/`63`) or [`Other`](Self::Other).
///
/// Equality and hashing compare the two bytes, so a hand-built `Other(0x9000)` equals
/// [`Success`](Self::Success).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum StatusWord {
    /// `9000`: normal processing, no further qualification.
    Success,
    /// `61xx`: normal processing, SW2 more response bytes are available; fetch them with
    /// GET RESPONSE (T=0). `00` means 256 or more.
    MoreData(u8),
    /// `6Cxx`: wrong Le; SW2 is the exact number of available bytes (`00` = 256). Re-send
    /// the same command with Le = SW2.
    WrongLe(u8),
    /// `63Cx`: verification failed, x = remaining tries. For VERIFY (EMV 4.4 Book 3
    /// §6.5.12) this is "wrong PIN", x the new PIN Try Counter; `63C0` means the PIN
    /// just became blocked. Encoding saturates `tries_left` at 15.
    VerifyFailed {
        /// Remaining tries (low nibble of SW2).
        tries_left: u8,
    },
    /// `6300`: authentication failed, no information given. EMV: EXTERNAL AUTHENTICATE
    /// with a wrong ARPC (issuer authentication failed, Book 3 §6.5.4).
    AuthenticationFailed,
    /// `6283`: selected file invalidated. EMV: SELECT of a blocked application (Book 1
    /// §12 / APPLICATION BLOCK, Book 3 §6.5.1).
    SelectedFileInvalidated,
    /// Any other warning (SW1 `62` or `63`); holds the whole status word.
    Warning(u16),
    /// `6581`: memory failure (execution error, non-volatile memory changed).
    MemoryFailure,
    /// `6700`: wrong length (Lc or Le).
    WrongLength,
    /// `6982`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `6983`: authentication method blocked. EMV: VERIFY when the PIN Try Counter is 0
    /// (PIN blocked, Book 3 §6.5.12).
    AuthMethodBlocked,
    /// `6984`: referenced data invalidated (reference data not usable). EMV: enciphered
    /// PIN that cannot be recovered or does not carry the ICC challenge.
    ReferenceDataInvalidated,
    /// `6985`: conditions of use not satisfied (command out of sequence, second EXTERNAL
    /// AUTHENTICATE, GENERATE AC after an AAC, post-issuance command without SM, ...).
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `6987`: expected secure messaging data objects missing.
    SmDataObjectsMissing,
    /// `6988`: secure messaging data objects incorrect. EMV: a script command whose MAC
    /// does not verify.
    SmDataObjectsIncorrect,
    /// `6A80`: incorrect parameters in the command data field.
    IncorrectData,
    /// `6A81`: function not supported. EMV: the answer to SELECT when the card is blocked
    /// (Book 1 §12, CARD BLOCK Book 3 §6.5.3).
    FunctionNotSupported,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A83`: record not found (READ RECORD past the last record).
    RecordNotFound,
    /// `6A84`: not enough memory space in the file.
    NotEnoughMemory,
    /// `6A86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A88`: referenced data or reference data not found (GET DATA of an unknown tag).
    ReferencedDataNotFound,
    /// `6B00`: wrong parameters P1-P2 (ISO's older code for the same error as
    /// [`IncorrectP1P2`](Self::IncorrectP1P2); see [`is_wrong_p1p2`](Self::is_wrong_p1p2)).
    WrongP1P2,
    /// `6D00`: instruction code not supported or invalid.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any status word without a variant of its own.
    Other(u16),
}

impl StatusWord {
    /// Decodes a status word. Total: every value maps to exactly one variant.
    #[must_use]
    pub const fn from_u16(sw: u16) -> Self {
        match sw {
            0x9000 => Self::Success,
            0x6100..=0x61FF => Self::MoreData((sw & 0xFF) as u8),
            0x6C00..=0x6CFF => Self::WrongLe((sw & 0xFF) as u8),
            0x63C0..=0x63CF => Self::VerifyFailed {
                tries_left: (sw & 0x0F) as u8,
            },
            0x6300 => Self::AuthenticationFailed,
            0x6283 => Self::SelectedFileInvalidated,
            0x6200..=0x63FF => Self::Warning(sw),
            0x6581 => Self::MemoryFailure,
            0x6700 => Self::WrongLength,
            0x6982 => Self::SecurityStatusNotSatisfied,
            0x6983 => Self::AuthMethodBlocked,
            0x6984 => Self::ReferenceDataInvalidated,
            0x6985 => Self::ConditionsNotSatisfied,
            0x6986 => Self::CommandNotAllowed,
            0x6987 => Self::SmDataObjectsMissing,
            0x6988 => Self::SmDataObjectsIncorrect,
            0x6A80 => Self::IncorrectData,
            0x6A81 => Self::FunctionNotSupported,
            0x6A82 => Self::FileNotFound,
            0x6A83 => Self::RecordNotFound,
            0x6A84 => Self::NotEnoughMemory,
            0x6A86 => Self::IncorrectP1P2,
            0x6A88 => Self::ReferencedDataNotFound,
            0x6B00 => Self::WrongP1P2,
            0x6D00 => Self::InsNotSupported,
            0x6E00 => Self::ClaNotSupported,
            0x6F00 => Self::NoPreciseDiagnosis,
            other => Self::Other(other),
        }
    }

    /// Decodes SW1 and SW2.
    #[must_use]
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// The two bytes as a big-endian `u16` (`0x9000` for success).
    #[must_use]
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::MoreData(n) => 0x6100 | n as u16,
            Self::WrongLe(n) => 0x6C00 | n as u16,
            Self::VerifyFailed { tries_left } => {
                let x = if tries_left > 0x0F { 0x0F } else { tries_left };
                0x63C0 | x as u16
            }
            Self::AuthenticationFailed => 0x6300,
            Self::SelectedFileInvalidated => 0x6283,
            Self::Warning(sw) | Self::Other(sw) => sw,
            Self::MemoryFailure => 0x6581,
            Self::WrongLength => 0x6700,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthMethodBlocked => 0x6983,
            Self::ReferenceDataInvalidated => 0x6984,
            Self::ConditionsNotSatisfied => 0x6985,
            Self::CommandNotAllowed => 0x6986,
            Self::SmDataObjectsMissing => 0x6987,
            Self::SmDataObjectsIncorrect => 0x6988,
            Self::IncorrectData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::FileNotFound => 0x6A82,
            Self::RecordNotFound => 0x6A83,
            Self::NotEnoughMemory => 0x6A84,
            Self::IncorrectP1P2 => 0x6A86,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::WrongP1P2 => 0x6B00,
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
        }
    }

    /// SW1 SW2 as bytes, ready to append to response data.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// SW1.
    #[must_use]
    pub const fn sw1(self) -> u8 {
        self.to_bytes()[0]
    }

    /// SW2.
    #[must_use]
    pub const fn sw2(self) -> u8 {
        self.to_bytes()[1]
    }

    /// `9000` only.
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.to_u16() == 0x9000
    }

    /// Normal processing: `9000` or `61xx` (more data waiting for GET RESPONSE).
    #[must_use]
    pub const fn is_normal(self) -> bool {
        matches!(self.sw1(), 0x61) || self.is_success()
    }

    /// Warning processing: SW1 `62` or `63` (the command was processed).
    #[must_use]
    pub const fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// Execution or checking error: SW1 `64`..=`6F` (includes `6Cxx` wrong Le).
    #[must_use]
    pub const fn is_error(self) -> bool {
        matches!(self.sw1(), 0x64..=0x6F)
    }

    /// `6A86` or `6B00`: the two ISO codes for wrong P1/P2.
    #[must_use]
    pub const fn is_wrong_p1p2(self) -> bool {
        matches!(self.to_u16(), 0x6A86 | 0x6B00)
    }

    /// Remaining tries of a `63Cx` answer.
    #[must_use]
    pub const fn tries_left(self) -> Option<u8> {
        match self.to_u16() {
            sw @ 0x63C0..=0x63CF => Some((sw & 0x0F) as u8),
            _ => None,
        }
    }

    /// Whether an issuer-script command counts as processed: EMV 4.4 Book 3 §10.10 has
    /// the terminal look at SW1 only, and `90`, `62` or `63` let script processing
    /// continue; anything else stops the script and marks it failed.
    #[must_use]
    pub const fn script_command_ok(self) -> bool {
        matches!(self.sw1(), 0x90 | 0x62 | 0x63)
    }

    /// A human-readable meaning, with the EMV interpretation where EMV gives one,
    /// e.g. `"Wrong PIN, 2 tries left"` or `"Function not supported (card blocked)"`.
    #[must_use]
    pub fn meaning(self) -> String {
        match self {
            Self::Success => "Success".to_owned(),
            Self::MoreData(0) => "256 or more response bytes available (GET RESPONSE)".to_owned(),
            Self::MoreData(n) => format!("{n} more response bytes available (GET RESPONSE)"),
            Self::WrongLe(n) => {
                let available = if n == 0 { 256 } else { usize::from(n) };
                format!("Wrong Le: {available} bytes available (re-send with Le={n:02X})")
            }
            Self::VerifyFailed { .. } => {
                let n = self.sw2() & 0x0F;
                match n {
                    0 => "Wrong PIN, 0 tries left (PIN now blocked)".to_owned(),
                    1 => "Wrong PIN, 1 try left".to_owned(),
                    n => format!("Wrong PIN, {n} tries left"),
                }
            }
            Self::AuthenticationFailed => {
                "Authentication failed (issuer authentication failed)".to_owned()
            }
            Self::SelectedFileInvalidated => {
                "Selected file invalidated (application blocked)".to_owned()
            }
            Self::MemoryFailure => "Memory failure".to_owned(),
            Self::WrongLength => "Wrong length (Lc or Le)".to_owned(),
            Self::SecurityStatusNotSatisfied => "Security status not satisfied".to_owned(),
            Self::AuthMethodBlocked => "Authentication method blocked (PIN blocked)".to_owned(),
            Self::ReferenceDataInvalidated => {
                "Referenced data invalidated (enciphered PIN data not usable)".to_owned()
            }
            Self::ConditionsNotSatisfied => "Conditions of use not satisfied".to_owned(),
            Self::CommandNotAllowed => "Command not allowed (no current EF)".to_owned(),
            Self::SmDataObjectsMissing => {
                "Expected secure messaging data objects missing".to_owned()
            }
            Self::SmDataObjectsIncorrect => {
                "Secure messaging data objects incorrect (script MAC failed)".to_owned()
            }
            Self::IncorrectData => "Incorrect parameters in the data field".to_owned(),
            Self::FunctionNotSupported => "Function not supported (card blocked)".to_owned(),
            Self::FileNotFound => "File or application not found".to_owned(),
            Self::RecordNotFound => "Record not found".to_owned(),
            Self::NotEnoughMemory => "Not enough memory space in the file".to_owned(),
            Self::IncorrectP1P2 => "Incorrect parameters P1-P2".to_owned(),
            Self::ReferencedDataNotFound => "Referenced data not found".to_owned(),
            Self::WrongP1P2 => "Wrong parameters P1-P2".to_owned(),
            Self::InsNotSupported => "Instruction code not supported or invalid".to_owned(),
            Self::ClaNotSupported => "Class not supported".to_owned(),
            Self::NoPreciseDiagnosis => "No precise diagnosis".to_owned(),
            Self::Warning(sw) | Self::Other(sw) => generic_meaning(sw),
        }
    }
}

/// Meaning of a status word without a variant of its own (ISO/IEC 7816-4 Tables 5, 6).
fn generic_meaning(sw: u16) -> String {
    let [sw1, sw2] = sw.to_be_bytes();
    let specific = match sw {
        0x6200 => Some("Warning: no information given (non-volatile memory unchanged)"),
        0x6281 => Some("Warning: part of returned data may be corrupted"),
        0x6282 => Some("Warning: end of file or record reached before reading Ne bytes"),
        0x6284 => Some("Warning: file control information not formatted per ISO 7816-4"),
        0x6285 => Some("Warning: selected file in termination state"),
        0x6381 => Some("Warning: file filled up by the last write"),
        0x6400 => Some("Execution error (non-volatile memory unchanged)"),
        0x6881 => Some("Logical channel not supported"),
        0x6882 => Some("Secure messaging not supported"),
        0x6883 => Some("Last command of the chain expected"),
        0x6884 => Some("Command chaining not supported"),
        0x6981 => Some("Command incompatible with file structure"),
        0x6A85 => Some("Nc inconsistent with TLV structure"),
        0x6A87 => Some("Nc inconsistent with parameters P1-P2"),
        0x6A89 => Some("File already exists"),
        0x6A8A => Some("DF name already exists"),
        _ => None,
    };
    if let Some(text) = specific {
        return text.to_owned();
    }
    let class = match sw1 {
        0x62 => "Warning (non-volatile memory unchanged)",
        0x63 => "Warning (non-volatile memory changed)",
        0x64 => "Execution error (non-volatile memory unchanged)",
        0x65 => "Execution error (non-volatile memory changed)",
        0x66 => "Security-related issue",
        0x67 => "Wrong length",
        0x68 => "Functions in CLA not supported",
        0x69 => "Command not allowed",
        0x6A | 0x6B => "Wrong parameters P1-P2",
        0x6D => "Instruction code not supported or invalid",
        0x6E => "Class not supported",
        0x6F => "No precise diagnosis",
        0x90 => "Normal processing (non-standard SW2)",
        _ => "Unknown status word",
    };
    format!("{class}, SW2={sw2:02X}")
}

impl PartialEq for StatusWord {
    fn eq(&self, other: &Self) -> bool {
        self.to_u16() == other.to_u16()
    }
}

impl Eq for StatusWord {}

impl Hash for StatusWord {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.to_u16().hash(state);
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl From<[u8; 2]> for StatusWord {
    fn from([sw1, sw2]: [u8; 2]) -> Self {
        Self::from_bytes(sw1, sw2)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.to_u16()
    }
}

impl From<StatusWord> for [u8; 2] {
    fn from(sw: StatusWord) -> Self {
        sw.to_bytes()
    }
}

/// Four upper-case hex digits, e.g. `6A82`.
impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.to_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::StatusWord as Sw;

    #[test]
    fn round_trip_all_65536_values() {
        for x in 0..=u16::MAX {
            let sw = Sw::from_u16(x);
            assert_eq!(sw.to_u16(), x, "{x:04X} decoded to {sw:?}");
            assert_eq!(Sw::from(sw.to_bytes()), sw);
            assert_eq!(Sw::from_bytes(sw.sw1(), sw.sw2()).to_u16(), x);
        }
    }

    #[test]
    fn table() {
        let cases: &[(u16, Sw)] = &[
            (0x9000, Sw::Success),
            (0x6110, Sw::MoreData(0x10)),
            (0x6100, Sw::MoreData(0)),
            (0x6C08, Sw::WrongLe(8)),
            (0x63C2, Sw::VerifyFailed { tries_left: 2 }),
            (0x63C0, Sw::VerifyFailed { tries_left: 0 }),
            (0x63CF, Sw::VerifyFailed { tries_left: 15 }),
            (0x6300, Sw::AuthenticationFailed),
            (0x6283, Sw::SelectedFileInvalidated),
            (0x6281, Sw::Warning(0x6281)),
            (0x6381, Sw::Warning(0x6381)),
            (0x6581, Sw::MemoryFailure),
            (0x6700, Sw::WrongLength),
            (0x6982, Sw::SecurityStatusNotSatisfied),
            (0x6983, Sw::AuthMethodBlocked),
            (0x6984, Sw::ReferenceDataInvalidated),
            (0x6985, Sw::ConditionsNotSatisfied),
            (0x6986, Sw::CommandNotAllowed),
            (0x6987, Sw::SmDataObjectsMissing),
            (0x6988, Sw::SmDataObjectsIncorrect),
            (0x6A80, Sw::IncorrectData),
            (0x6A81, Sw::FunctionNotSupported),
            (0x6A82, Sw::FileNotFound),
            (0x6A83, Sw::RecordNotFound),
            (0x6A84, Sw::NotEnoughMemory),
            (0x6A86, Sw::IncorrectP1P2),
            (0x6A88, Sw::ReferencedDataNotFound),
            (0x6B00, Sw::WrongP1P2),
            (0x6D00, Sw::InsNotSupported),
            (0x6E00, Sw::ClaNotSupported),
            (0x6F00, Sw::NoPreciseDiagnosis),
            (0x6A85, Sw::Other(0x6A85)),
            (0x9100, Sw::Other(0x9100)),
            (0x0000, Sw::Other(0x0000)),
        ];
        for &(code, expected) in cases {
            let got = Sw::from_u16(code);
            // Compare the variant structurally too, not only through the code-based `==`.
            assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{code:04X}");
            assert_eq!(expected.to_u16(), code);
        }
    }

    #[test]
    fn verify_failed_decodes_tries() {
        assert!(matches!(
            Sw::from_u16(0x63C2),
            Sw::VerifyFailed { tries_left: 2 }
        ));
        assert!(matches!(
            Sw::from_u16(0x63C0),
            Sw::VerifyFailed { tries_left: 0 }
        ));
        assert_eq!(Sw::from_u16(0x63C2).tries_left(), Some(2));
        assert_eq!(Sw::from_u16(0x63C0).tries_left(), Some(0));
        assert_eq!(Sw::from_u16(0x6983).tries_left(), None);
        assert_eq!(Sw::from_u16(0x6300).tries_left(), None);
        // Encoding saturates at 15.
        assert_eq!(Sw::VerifyFailed { tries_left: 20 }.to_u16(), 0x63CF);
    }

    #[test]
    fn meanings() {
        assert_eq!(Sw::from_u16(0x63C2).meaning(), "Wrong PIN, 2 tries left");
        assert_eq!(Sw::from_u16(0x63C1).meaning(), "Wrong PIN, 1 try left");
        assert_eq!(
            Sw::from_u16(0x63C0).meaning(),
            "Wrong PIN, 0 tries left (PIN now blocked)"
        );
        assert_eq!(
            Sw::from_u16(0x6983).meaning(),
            "Authentication method blocked (PIN blocked)"
        );
        assert_eq!(
            Sw::from_u16(0x6A81).meaning(),
            "Function not supported (card blocked)"
        );
        assert_eq!(
            Sw::from_u16(0x6A82).meaning(),
            "File or application not found"
        );
        assert_eq!(Sw::from_u16(0x9000).meaning(), "Success");
        assert_eq!(
            Sw::from_u16(0x6C10).meaning(),
            "Wrong Le: 16 bytes available (re-send with Le=10)"
        );
        assert_eq!(
            Sw::from_u16(0x6282).meaning(),
            "Warning: end of file or record reached before reading Ne bytes"
        );
        assert_eq!(Sw::from_u16(0x6A89).meaning(), "File already exists");
        assert_eq!(
            Sw::from_u16(0x6899).meaning(),
            "Functions in CLA not supported, SW2=99"
        );
        assert_eq!(
            Sw::from_u16(0x1234).meaning(),
            "Unknown status word, SW2=34"
        );
        // Every value has a non-empty meaning.
        for x in 0..=u16::MAX {
            assert!(!Sw::from_u16(x).meaning().is_empty());
        }
    }

    #[test]
    fn classes() {
        assert!(Sw::Success.is_success());
        assert!(!Sw::MoreData(3).is_success());
        assert!(Sw::MoreData(3).is_normal());
        assert!(!Sw::WrongLe(3).is_normal());
        assert!(Sw::WrongLe(3).is_error());
        assert!(Sw::from_u16(0x6283).is_warning());
        assert!(Sw::from_u16(0x63C1).is_warning());
        assert!(!Sw::from_u16(0x63C1).is_error());
        assert!(Sw::from_u16(0x6985).is_error());
        assert!(!Sw::from_u16(0x9000).is_error());
        assert!(Sw::from_u16(0x6A86).is_wrong_p1p2());
        assert!(Sw::from_u16(0x6B00).is_wrong_p1p2());
        assert!(!Sw::from_u16(0x6A80).is_wrong_p1p2());
        assert_eq!(Sw::from_u16(0x6A82).sw1(), 0x6A);
        assert_eq!(Sw::from_u16(0x6A82).sw2(), 0x82);
    }

    #[test]
    fn script_rule_looks_at_sw1_only() {
        for (code, ok) in [
            (0x9000, true),
            (0x9001, true),
            (0x6283, true),
            (0x63C1, true),
            (0x6300, true),
            (0x6985, false),
            (0x6988, false),
            (0x6A80, false),
            (0x6100, false),
            (0x6D00, false),
        ] {
            assert_eq!(Sw::from_u16(code).script_command_ok(), ok, "{code:04X}");
        }
    }

    #[test]
    fn equality_is_by_code() {
        assert_eq!(Sw::Other(0x9000), Sw::Success);
        assert_eq!(Sw::Warning(0x6283), Sw::SelectedFileInvalidated);
        assert_ne!(Sw::IncorrectP1P2, Sw::WrongP1P2);
        let set: std::collections::HashSet<Sw> =
            [Sw::Other(0x9000), Sw::Success].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn conversions_and_display() {
        assert_eq!(u16::from(Sw::FileNotFound), 0x6A82);
        assert_eq!(<[u8; 2]>::from(Sw::FileNotFound), [0x6A, 0x82]);
        assert_eq!(Sw::from([0x90, 0x00]), Sw::Success);
        assert_eq!(Sw::from(0x6A83u16), Sw::RecordNotFound);
        assert_eq!(Sw::from_u16(0x6a82).to_string(), "6A82");
        assert_eq!(Sw::MoreData(0x1F).to_string(), "611F");
    }
}
