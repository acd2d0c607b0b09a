//! Identification of the commands EMV defines, for the card's dispatcher and for traces.

use std::fmt;

use crate::cla::Cla;
use crate::command::CommandView;
use crate::commands::{
    AcType, PinChangeMode, ReferenceControl, SELECT_BY_NAME, SelectOccurrence,
    VERIFY_P2_ENCIPHERED, VERIFY_P2_PLAINTEXT, ins,
};

/// A command EMV defines, recognised from its header with the parameters decoded.
///
/// Identification is strict about P1/P2 (a VERIFY with P2 `81` is not "known") but does
/// not look at the CLA beyond rejecting `FF`: the card decides whether a class is
/// acceptable (compare with [`default_cla`](Self::default_cla)). For a lenient label of
/// any INS use [`ins_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KnownCommand {
    /// SELECT by DF name (P1 `04`).
    Select(SelectOccurrence),
    /// GET RESPONSE (P1 P2 `0000`).
    GetResponse,
    /// GET PROCESSING OPTIONS (P1 P2 `0000`).
    GetProcessingOptions,
    /// READ RECORD by record number (P2 b3-b1 = `100`).
    ReadRecord {
        /// Short file identifier (P2 b8-b4).
        sfi: u8,
        /// Record number (P1).
        record: u8,
    },
    /// GET DATA of a tag (P1 P2).
    GetData {
        /// The tag.
        tag: u16,
    },
    /// GET CHALLENGE (P1 P2 `0000`).
    GetChallenge,
    /// VERIFY, P2 `80`.
    VerifyPlaintext,
    /// VERIFY, P2 `88`.
    VerifyEnciphered,
    /// INTERNAL AUTHENTICATE (P1 P2 `0000`).
    InternalAuthenticate,
    /// EXTERNAL AUTHENTICATE (P1 P2 `0000`).
    ExternalAuthenticate,
    /// GENERATE AC (P2 `00`) with its reference control parameter.
    GenerateAc(ReferenceControl),
    /// PIN CHANGE/UNBLOCK (P1 `00`, P2 `00`/`01`/`02`).
    PinChangeUnblock(PinChangeMode),
    /// APPLICATION BLOCK (P1 P2 `0000`).
    ApplicationBlock,
    /// APPLICATION UNBLOCK (P1 P2 `0000`).
    ApplicationUnblock,
    /// CARD BLOCK (P1 P2 `0000`).
    CardBlock,
    /// PUT DATA of a tag (P1 P2).
    PutData {
        /// The tag.
        tag: u16,
    },
    /// UPDATE RECORD by record number (P2 b3-b1 = `100`).
    UpdateRecord {
        /// Short file identifier (P2 b8-b4).
        sfi: u8,
        /// Record number (P1).
        record: u8,
    },
}

impl KnownCommand {
    /// Identifies a command from its header; `None` if EMV does not define it with these
    /// parameters.
    #[must_use]
    pub const fn identify(cla: u8, ins: u8, p1: u8, p2: u8) -> Option<Self> {
        if !Cla(cla).is_valid() {
            return None;
        }
        let p1p2 = u16::from_be_bytes([p1, p2]);
        let cmd = match ins {
            ins::SELECT if p1 == SELECT_BY_NAME => match SelectOccurrence::from_p2(p2) {
                Some(occurrence) => Self::Select(occurrence),
                None => return None,
            },
            ins::GET_RESPONSE if p1p2 == 0 => Self::GetResponse,
            ins::GET_PROCESSING_OPTIONS if p1p2 == 0 => Self::GetProcessingOptions,
            ins::READ_RECORD if p2 & 0x07 == 0x04 => Self::ReadRecord {
                sfi: p2 >> 3,
                record: p1,
            },
            ins::GET_DATA => Self::GetData { tag: p1p2 },
            ins::GET_CHALLENGE if p1p2 == 0 => Self::GetChallenge,
            ins::VERIFY if p1 == 0 && p2 == VERIFY_P2_PLAINTEXT => Self::VerifyPlaintext,
            ins::VERIFY if p1 == 0 && p2 == VERIFY_P2_ENCIPHERED => Self::VerifyEnciphered,
            ins::INTERNAL_AUTHENTICATE if p1p2 == 0 => Self::InternalAuthenticate,
            ins::EXTERNAL_AUTHENTICATE if p1p2 == 0 => Self::ExternalAuthenticate,
            ins::GENERATE_AC if p2 == 0 => Self::GenerateAc(ReferenceControl::from_p1(p1)),
            ins::PIN_CHANGE_UNBLOCK if p1 == 0 => match PinChangeMode::from_p2(p2) {
                Some(mode) => Self::PinChangeUnblock(mode),
                None => return None,
            },
            ins::APPLICATION_BLOCK if p1p2 == 0 => Self::ApplicationBlock,
            ins::APPLICATION_UNBLOCK if p1p2 == 0 => Self::ApplicationUnblock,
            ins::CARD_BLOCK if p1p2 == 0 => Self::CardBlock,
            ins::PUT_DATA => Self::PutData { tag: p1p2 },
            ins::UPDATE_RECORD if p2 & 0x07 == 0x04 => Self::UpdateRecord {
                sfi: p2 >> 3,
                record: p1,
            },
            _ => return None,
        };
        Some(cmd)
    }

    /// Identifies a parsed command.
    #[must_use]
    pub const fn from_view(view: &CommandView<'_>) -> Option<Self> {
        Self::identify(view.cla, view.ins, view.p1, view.p2)
    }

    /// The instruction byte.
    #[must_use]
    pub const fn ins(self) -> u8 {
        match self {
            Self::Select(_) => ins::SELECT,
            Self::GetResponse => ins::GET_RESPONSE,
            Self::GetProcessingOptions => ins::GET_PROCESSING_OPTIONS,
            Self::ReadRecord { .. } => ins::READ_RECORD,
            Self::GetData { .. } => ins::GET_DATA,
            Self::GetChallenge => ins::GET_CHALLENGE,
            Self::VerifyPlaintext | Self::VerifyEnciphered => ins::VERIFY,
            Self::InternalAuthenticate => ins::INTERNAL_AUTHENTICATE,
            Self::ExternalAuthenticate => ins::EXTERNAL_AUTHENTICATE,
            Self::GenerateAc(_) => ins::GENERATE_AC,
            Self::PinChangeUnblock(_) => ins::PIN_CHANGE_UNBLOCK,
            Self::ApplicationBlock => ins::APPLICATION_BLOCK,
            Self::ApplicationUnblock => ins::APPLICATION_UNBLOCK,
            Self::CardBlock => ins::CARD_BLOCK,
            Self::PutData { .. } => ins::PUT_DATA,
            Self::UpdateRecord { .. } => ins::UPDATE_RECORD,
        }
    }

    /// The CLA the builders in [`crate::commands`] use: `00` for the ISO commands, `80`
    /// for GET PROCESSING OPTIONS, GET DATA and GENERATE AC, `84` (SM format 2) for the
    /// post-issuance commands, `04` for PUT DATA and UPDATE RECORD.
    #[must_use]
    pub const fn default_cla(self) -> u8 {
        match self {
            Self::GetProcessingOptions | Self::GetData { .. } | Self::GenerateAc(_) => {
                Cla::PROPRIETARY.0
            }
            Self::PinChangeUnblock(_)
            | Self::ApplicationBlock
            | Self::ApplicationUnblock
            | Self::CardBlock => Cla::SM_FORMAT2.0,
            Self::PutData { .. } | Self::UpdateRecord { .. } => Cla::ISO_SM_FORMAT2.0,
            Self::Select(_)
            | Self::GetResponse
            | Self::ReadRecord { .. }
            | Self::GetChallenge
            | Self::VerifyPlaintext
            | Self::VerifyEnciphered
            | Self::InternalAuthenticate
            | Self::ExternalAuthenticate => Cla::ISO.0,
        }
    }

    /// Whether this is a post-issuance (issuer script) command, which requires secure
    /// messaging.
    #[must_use]
    pub const fn is_post_issuance(self) -> bool {
        matches!(
            self,
            Self::PinChangeUnblock(_)
                | Self::ApplicationBlock
                | Self::ApplicationUnblock
                | Self::CardBlock
                | Self::PutData { .. }
                | Self::UpdateRecord { .. }
        )
    }

    /// Whether EMV allows command chaining (CLA b5) for it: VERIFY and PIN CHANGE/UNBLOCK
    /// only (EMV 4.4 Book 3 §6.5.13).
    #[must_use]
    pub const fn allows_chaining(self) -> bool {
        matches!(
            self,
            Self::VerifyPlaintext | Self::VerifyEnciphered | Self::PinChangeUnblock(_)
        )
    }

    /// The readable name traces and the decoder print, e.g. `"SELECT"`,
    /// `"VERIFY (plaintext PIN)"`, `"GENERATE AC (ARQC, CDA)"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Select(SelectOccurrence::First) => "SELECT",
            Self::Select(SelectOccurrence::Next) => "SELECT (next occurrence)",
            Self::GetResponse => "GET RESPONSE",
            Self::GetProcessingOptions => "GET PROCESSING OPTIONS",
            Self::ReadRecord { .. } => "READ RECORD",
            Self::GetData { .. } => "GET DATA",
            Self::GetChallenge => "GET CHALLENGE",
            Self::VerifyPlaintext => "VERIFY (plaintext PIN)",
            Self::VerifyEnciphered => "VERIFY (enciphered PIN)",
            Self::InternalAuthenticate => "INTERNAL AUTHENTICATE",
            Self::ExternalAuthenticate => "EXTERNAL AUTHENTICATE",
            Self::GenerateAc(rc) => match (rc.ac_type, rc.cda) {
                (AcType::Aac, false) => "GENERATE AC (AAC)",
                (AcType::Aac, true) => "GENERATE AC (AAC, CDA)",
                (AcType::Tc, false) => "GENERATE AC (TC)",
                (AcType::Tc, true) => "GENERATE AC (TC, CDA)",
                (AcType::Arqc, false) => "GENERATE AC (ARQC)",
                (AcType::Arqc, true) => "GENERATE AC (ARQC, CDA)",
                (AcType::Rfu, false) => "GENERATE AC (RFU)",
                (AcType::Rfu, true) => "GENERATE AC (RFU, CDA)",
            },
            Self::PinChangeUnblock(_) => "PIN CHANGE/UNBLOCK",
            Self::ApplicationBlock => "APPLICATION BLOCK",
            Self::ApplicationUnblock => "APPLICATION UNBLOCK",
            Self::CardBlock => "CARD BLOCK",
            Self::PutData { .. } => "PUT DATA",
            Self::UpdateRecord { .. } => "UPDATE RECORD",
        }
    }
}

/// The name plus the decoded parameters, e.g. `READ RECORD SFI 1 record 2`,
/// `GET DATA 9F17`, `PIN CHANGE/UNBLOCK (unblock)`.
impl fmt::Display for KnownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Self::ReadRecord { sfi, record } | Self::UpdateRecord { sfi, record } => {
                write!(f, " SFI {sfi} record {record}")
            }
            Self::GetData { tag } | Self::PutData { tag } => write!(f, " {tag:04X}"),
            Self::PinChangeUnblock(mode) => write!(f, " ({})", mode.name()),
            _ => Ok(()),
        }
    }
}

/// A lenient label for any instruction byte EMV or ISO/IEC 7816-4 uses, whatever the
/// parameters: for traces of commands [`KnownCommand::identify`] rejects.
#[must_use]
pub const fn ins_name(ins: u8) -> Option<&'static str> {
    Some(match ins {
        ins::APPLICATION_BLOCK => "APPLICATION BLOCK",
        ins::APPLICATION_UNBLOCK => "APPLICATION UNBLOCK",
        ins::CARD_BLOCK => "CARD BLOCK",
        ins::EXTERNAL_AUTHENTICATE => "EXTERNAL AUTHENTICATE",
        ins::GENERATE_AC => "GENERATE AC",
        ins::GET_CHALLENGE => "GET CHALLENGE",
        ins::GET_DATA => "GET DATA",
        ins::GET_PROCESSING_OPTIONS => "GET PROCESSING OPTIONS",
        ins::GET_RESPONSE => "GET RESPONSE",
        ins::INTERNAL_AUTHENTICATE => "INTERNAL AUTHENTICATE",
        ins::PIN_CHANGE_UNBLOCK => "PIN CHANGE/UNBLOCK",
        ins::PUT_DATA => "PUT DATA",
        ins::READ_RECORD => "READ RECORD",
        ins::SELECT => "SELECT",
        ins::UPDATE_RECORD => "UPDATE RECORD",
        ins::VERIFY => "VERIFY",
        0xB0 => "READ BINARY",
        0xD6 => "UPDATE BINARY",
        0xE2 => "APPEND RECORD",
        0x70 => "MANAGE CHANNEL",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandView;
    use crate::commands;
    use hex_literal::hex;

    fn name_of(apdu: &[u8]) -> Option<&'static str> {
        CommandView::parse(apdu)
            .unwrap()
            .identify()
            .map(KnownCommand::name)
    }

    #[test]
    fn names_of_real_commands() {
        let cases: &[(&[u8], &str)] = &[
            (&hex!("00A404000E315041592E5359532E444446303100"), "SELECT"),
            (
                &hex!("00A4040207A000000003101000"),
                "SELECT (next occurrence)",
            ),
            (&hex!("80A8000002830000"), "GET PROCESSING OPTIONS"),
            (&hex!("00B2010C00"), "READ RECORD"),
            (&hex!("80CA9F1700"), "GET DATA"),
            (&hex!("0084000000"), "GET CHALLENGE"),
            (
                &hex!("0020008008241234FFFFFFFFFF"),
                "VERIFY (plaintext PIN)",
            ),
            (
                &hex!("0020008008241234FFFFFFFFFF00"),
                "VERIFY (plaintext PIN)",
            ),
            (&hex!("0020008804AABBCCDD"), "VERIFY (enciphered PIN)"),
            (&hex!("008800000401020304 00"), "INTERNAL AUTHENTICATE"),
            (
                &hex!("008200000A11223344556677883030"),
                "EXTERNAL AUTHENTICATE",
            ),
            (&hex!("80AE80000100 00"), "GENERATE AC (ARQC)"),
            (&hex!("80AE90000100 00"), "GENERATE AC (ARQC, CDA)"),
            (&hex!("80AE40000100 00"), "GENERATE AC (TC)"),
            (&hex!("80AE50000100 00"), "GENERATE AC (TC, CDA)"),
            (&hex!("80AE00000100 00"), "GENERATE AC (AAC)"),
            (&hex!("80AE10000100 00"), "GENERATE AC (AAC, CDA)"),
            (&hex!("00C000001C"), "GET RESPONSE"),
            (&hex!("8424000008EF84B422728D7A24"), "PIN CHANGE/UNBLOCK"),
            (&hex!("841E000004EF84B422"), "APPLICATION BLOCK"),
            (&hex!("8418000004EF84B422"), "APPLICATION UNBLOCK"),
            (&hex!("8416000004EF84B422"), "CARD BLOCK"),
            (&hex!("04DA9F140505EF84B422"), "PUT DATA"),
            (&hex!("04DC020C067003EF84B422"), "UPDATE RECORD"),
        ];
        for (apdu, name) in cases {
            assert_eq!(name_of(apdu), Some(*name), "{apdu:02X?}");
        }
    }

    #[test]
    fn decoded_parameters() {
        assert_eq!(
            KnownCommand::identify(0x00, 0xB2, 0x02, 0x0C),
            Some(KnownCommand::ReadRecord { sfi: 1, record: 2 })
        );
        assert_eq!(
            KnownCommand::identify(0x80, 0xCA, 0x9F, 0x36),
            Some(KnownCommand::GetData { tag: 0x9F36 })
        );
        assert_eq!(
            KnownCommand::identify(0x84, 0x24, 0x00, 0x02),
            Some(KnownCommand::PinChangeUnblock(
                PinChangeMode::ChangeWithoutCurrentPin
            ))
        );
        assert_eq!(
            KnownCommand::identify(0x80, 0xAE, 0x90, 0x00),
            Some(KnownCommand::GenerateAc(ReferenceControl {
                ac_type: AcType::Arqc,
                cda: true
            }))
        );
    }

    #[test]
    fn display() {
        let show = |c: &[u8]| {
            CommandView::parse(c)
                .unwrap()
                .identify()
                .unwrap()
                .to_string()
        };
        assert_eq!(show(&hex!("00B2020C00")), "READ RECORD SFI 1 record 2");
        assert_eq!(show(&hex!("80CA9F1700")), "GET DATA 9F17");
        assert_eq!(
            show(&hex!("8424000008EF84B422728D7A24")),
            "PIN CHANGE/UNBLOCK (unblock)"
        );
        assert_eq!(
            show(&hex!("8424000108EF84B422728D7A24")),
            "PIN CHANGE/UNBLOCK (change with current PIN)"
        );
        assert_eq!(show(&hex!("80AE900001AA00")), "GENERATE AC (ARQC, CDA)");
        assert_eq!(show(&hex!("04DA9F1401AA")), "PUT DATA 9F14");
    }

    #[test]
    fn rejects_unknown_parameters() {
        assert_eq!(KnownCommand::identify(0x00, 0x20, 0x00, 0x81), None);
        assert_eq!(KnownCommand::identify(0x00, 0x20, 0x01, 0x80), None);
        assert_eq!(KnownCommand::identify(0x00, 0xA4, 0x00, 0x00), None);
        assert_eq!(KnownCommand::identify(0x00, 0xA4, 0x04, 0x0C), None);
        assert_eq!(KnownCommand::identify(0x00, 0xB2, 0x01, 0x0B), None);
        assert_eq!(KnownCommand::identify(0x80, 0xA8, 0x01, 0x00), None);
        assert_eq!(KnownCommand::identify(0x80, 0xAE, 0x80, 0x01), None);
        assert_eq!(KnownCommand::identify(0x84, 0x24, 0x00, 0x03), None);
        assert_eq!(KnownCommand::identify(0x84, 0x1E, 0x00, 0x01), None);
        assert_eq!(KnownCommand::identify(0x00, 0x0E, 0x00, 0x00), None);
        assert_eq!(KnownCommand::identify(0xFF, 0xA4, 0x04, 0x00), None);
        // Lenient names still label them.
        assert_eq!(ins_name(0x20), Some("VERIFY"));
        assert_eq!(ins_name(0xB0), Some("READ BINARY"));
        assert_eq!(ins_name(0x0E), None);
    }

    #[test]
    fn builders_identify_as_themselves() {
        let mac = [0u8; 8];
        let cases = [
            (
                commands::select_pse(),
                KnownCommand::Select(SelectOccurrence::First),
            ),
            (
                commands::get_processing_options(&[]),
                KnownCommand::GetProcessingOptions,
            ),
            (
                commands::read_record(3, 4).unwrap(),
                KnownCommand::ReadRecord { sfi: 3, record: 4 },
            ),
            (
                commands::get_data(0x9F4F),
                KnownCommand::GetData { tag: 0x9F4F },
            ),
            (commands::get_challenge(), KnownCommand::GetChallenge),
            (
                commands::verify_plaintext(&[0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
                KnownCommand::VerifyPlaintext,
            ),
            (
                commands::verify_enciphered(&[1; 128]),
                KnownCommand::VerifyEnciphered,
            ),
            (
                commands::internal_authenticate(&[1, 2, 3, 4]),
                KnownCommand::InternalAuthenticate,
            ),
            (
                commands::external_authenticate(&[1; 10]),
                KnownCommand::ExternalAuthenticate,
            ),
            (
                commands::generate_ac(AcType::Tc, true, &[0; 29]),
                KnownCommand::GenerateAc(ReferenceControl {
                    ac_type: AcType::Tc,
                    cda: true,
                }),
            ),
            (commands::get_response(0x10), KnownCommand::GetResponse),
            (
                commands::pin_change_unblock(PinChangeMode::Unblock, &[], &mac),
                KnownCommand::PinChangeUnblock(PinChangeMode::Unblock),
            ),
            (
                commands::application_block(&mac),
                KnownCommand::ApplicationBlock,
            ),
            (
                commands::application_unblock(&mac),
                KnownCommand::ApplicationUnblock,
            ),
            (commands::card_block(&mac), KnownCommand::CardBlock),
            (
                commands::put_data(0x9F14, &[3], &mac),
                KnownCommand::PutData { tag: 0x9F14 },
            ),
            (
                commands::update_record(2, 1, &[0x70, 0x00], &mac).unwrap(),
                KnownCommand::UpdateRecord { sfi: 2, record: 1 },
            ),
        ];
        for (cmd, known) in cases {
            assert_eq!(cmd.identify(), Some(known), "{cmd:?}");
            assert_eq!(known.ins(), cmd.ins);
            assert_eq!(known.default_cla(), cmd.cla, "{known}");
            assert_eq!(
                known.is_post_issuance(),
                Cla(cmd.cla).has_secure_messaging(),
                "{known}"
            );
        }
        assert!(KnownCommand::VerifyPlaintext.allows_chaining());
        assert!(KnownCommand::PinChangeUnblock(PinChangeMode::Unblock).allows_chaining());
        assert!(!KnownCommand::GetProcessingOptions.allows_chaining());
    }
}
