//! Builders for every command the card, the kernel and issuer scripts use, with the
//! CLA/INS/P1/P2/Le EMV prescribes.
//!
//! Section numbers are EMV 4.4 Book 3 §6.5 (one subsection per command: §6.5.1
//! APPLICATION BLOCK ... §6.5.12 VERIFY) unless stated otherwise; SELECT and GET RESPONSE
//! are Book 1 commands (application selection, T=0 transport). The post-issuance
//! builders take data that is already enciphered and MACed: the secure messaging
//! cryptography lives in `emv-crypto`.

use crate::cla::Cla;
use crate::command::{Command, MAX_SHORT_NE};
use crate::error::ApduError;

/// Instruction bytes (EMV 4.4 Book 3 §6.3, ISO/IEC 7816-4 §5.4.2).
pub mod ins {
    /// APPLICATION BLOCK (post-issuance).
    pub const APPLICATION_BLOCK: u8 = 0x1E;
    /// APPLICATION UNBLOCK (post-issuance).
    pub const APPLICATION_UNBLOCK: u8 = 0x18;
    /// CARD BLOCK (post-issuance).
    pub const CARD_BLOCK: u8 = 0x16;
    /// EXTERNAL AUTHENTICATE.
    pub const EXTERNAL_AUTHENTICATE: u8 = 0x82;
    /// GENERATE APPLICATION CRYPTOGRAM.
    pub const GENERATE_AC: u8 = 0xAE;
    /// GET CHALLENGE.
    pub const GET_CHALLENGE: u8 = 0x84;
    /// GET DATA.
    pub const GET_DATA: u8 = 0xCA;
    /// GET PROCESSING OPTIONS.
    pub const GET_PROCESSING_OPTIONS: u8 = 0xA8;
    /// GET RESPONSE (T=0).
    pub const GET_RESPONSE: u8 = 0xC0;
    /// INTERNAL AUTHENTICATE.
    pub const INTERNAL_AUTHENTICATE: u8 = 0x88;
    /// PIN CHANGE/UNBLOCK (post-issuance).
    pub const PIN_CHANGE_UNBLOCK: u8 = 0x24;
    /// PUT DATA (post-issuance, scheme-defined).
    pub const PUT_DATA: u8 = 0xDA;
    /// READ RECORD.
    pub const READ_RECORD: u8 = 0xB2;
    /// SELECT.
    pub const SELECT: u8 = 0xA4;
    /// UPDATE RECORD (post-issuance, scheme-defined).
    pub const UPDATE_RECORD: u8 = 0xDC;
    /// VERIFY.
    pub const VERIFY: u8 = 0x20;
}

/// `1PAY.SYS.DDF01`: the Payment System Environment DDF name (EMV 4.4 Book 1 §12, application selection).
pub const PSE_NAME: &[u8] = b"1PAY.SYS.DDF01";
/// `2PAY.SYS.DDF01`: the contactless Proximity Payment System Environment.
pub const PPSE_NAME: &[u8] = b"2PAY.SYS.DDF01";

/// SELECT P1 `04`: select by DF name (AID).
pub const SELECT_BY_NAME: u8 = 0x04;
/// VERIFY P2 `80`: plaintext offline PIN (Book 3 §6.5.12.2 Table 24).
pub const VERIFY_P2_PLAINTEXT: u8 = 0x80;
/// VERIFY P2 `88`: enciphered offline PIN.
pub const VERIFY_P2_ENCIPHERED: u8 = 0x88;

/// Which occurrence SELECT asks for (P2 of SELECT, Book 1 §11.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectOccurrence {
    /// P2 `00`: first or only occurrence.
    First,
    /// P2 `02`: next occurrence (partial AID matching, Book 1 §12.3).
    Next,
}

impl SelectOccurrence {
    /// The P2 value.
    #[must_use]
    pub const fn p2(self) -> u8 {
        match self {
            Self::First => 0x00,
            Self::Next => 0x02,
        }
    }

    /// Decodes P2 (`00` or `02`).
    #[must_use]
    pub const fn from_p2(p2: u8) -> Option<Self> {
        match p2 {
            0x00 => Some(Self::First),
            0x02 => Some(Self::Next),
            _ => None,
        }
    }
}

/// The cryptogram type requested by GENERATE AC: P1 b8-b7 (Book 3 §6.5.5.2 Table 12). The
/// same coding as the CID (9F27), so the type lives with the CID in `emv-tlv`.
pub use emv_tlv::bits::AcType;

/// GENERATE AC reference control parameter (P1, Book 3 §6.5.5.2 Table 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReferenceControl {
    /// Requested cryptogram type (b8-b7).
    pub ac_type: AcType,
    /// b5: CDA signature requested (Book 2 §6.6).
    pub cda: bool,
}

impl ReferenceControl {
    /// P1 b5: CDA signature requested.
    pub const CDA_BIT: u8 = 0x10;
    /// The bits of P1 that are RFU (b6, b4-b1).
    pub const RFU_MASK: u8 = 0x2F;

    /// The P1 byte.
    #[must_use]
    pub const fn p1(self) -> u8 {
        self.ac_type.bits() | if self.cda { Self::CDA_BIT } else { 0 }
    }

    /// Decodes P1. RFU bits (see [`RFU_MASK`](Self::RFU_MASK)) are ignored; a card that
    /// wants to reject them checks `p1 & RFU_MASK` itself.
    #[must_use]
    pub const fn from_p1(p1: u8) -> Self {
        Self {
            ac_type: AcType::from_bits(p1),
            cda: p1 & Self::CDA_BIT != 0,
        }
    }
}

/// PIN CHANGE/UNBLOCK P2 (Book 3 §6.5.10.2). EMV 4.4 itself defines only `00`; `01` and
/// `02` are the payment-system PIN change variants (Visa VIS, Mastercard M/Chip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinChangeMode {
    /// P2 `00`: unblock only (PIN Try Counter := PIN Try Limit); data is the MAC.
    Unblock,
    /// P2 `01`: change the PIN, PIN data built with the current PIN; unblocks too.
    ChangeWithCurrentPin,
    /// P2 `02`: change the PIN without the current PIN; unblocks too.
    ChangeWithoutCurrentPin,
}

impl PinChangeMode {
    /// The P2 value.
    #[must_use]
    pub const fn p2(self) -> u8 {
        match self {
            Self::Unblock => 0x00,
            Self::ChangeWithCurrentPin => 0x01,
            Self::ChangeWithoutCurrentPin => 0x02,
        }
    }

    /// Decodes P2.
    #[must_use]
    pub const fn from_p2(p2: u8) -> Option<Self> {
        match p2 {
            0x00 => Some(Self::Unblock),
            0x01 => Some(Self::ChangeWithCurrentPin),
            0x02 => Some(Self::ChangeWithoutCurrentPin),
            _ => None,
        }
    }

    /// `"unblock"`, `"change with current PIN"`, `"change without current PIN"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unblock => "unblock",
            Self::ChangeWithCurrentPin => "change with current PIN",
            Self::ChangeWithoutCurrentPin => "change without current PIN",
        }
    }
}

/// SELECT by DF name: `00 A4 04 P2 Lc name 00` (Book 1 §11.3; P2 `00` first or only
/// occurrence, `02` next occurrence; Le `00` for the FCI).
#[must_use]
pub fn select_by_name(name: &[u8], occurrence: SelectOccurrence) -> Command {
    Command::new(Cla::ISO.0, ins::SELECT, SELECT_BY_NAME, occurrence.p2())
        .with_data(name)
        .with_ne(MAX_SHORT_NE)
}

/// SELECT, first or only occurrence: `00 A4 04 00 Lc name 00`.
#[must_use]
pub fn select(name: &[u8]) -> Command {
    select_by_name(name, SelectOccurrence::First)
}

/// SELECT, next occurrence: `00 A4 04 02 Lc name 00`.
#[must_use]
pub fn select_next(name: &[u8]) -> Command {
    select_by_name(name, SelectOccurrence::Next)
}

/// SELECT of the PSE `1PAY.SYS.DDF01`.
#[must_use]
pub fn select_pse() -> Command {
    select(PSE_NAME)
}

/// GET PROCESSING OPTIONS: `80 A8 00 00 Lc 83 L pdol-data 00` (§6.5.8.2). The data field
/// is the Command Template tag `83` around the PDOL-related data (empty if the card has
/// no PDOL: `83 00`).
#[must_use]
pub fn get_processing_options(pdol_data: &[u8]) -> Command {
    let mut data = Vec::with_capacity(pdol_data.len() + 6);
    data.push(0x83);
    push_ber_length(&mut data, pdol_data.len());
    data.extend_from_slice(pdol_data);
    Command::new(Cla::PROPRIETARY.0, ins::GET_PROCESSING_OPTIONS, 0x00, 0x00)
        .with_data(data)
        .with_ne(MAX_SHORT_NE)
}

/// READ RECORD: `00 B2 record (sfi<<3)|4 00` (§6.5.11.2; P2 b3-b1 = `100`: P1 is a
/// record number). SFI must be 1..=30 and the record 1..=255.
pub fn read_record(sfi: u8, record: u8) -> Result<Command, ApduError> {
    Ok(Command::new(
        Cla::ISO.0,
        ins::READ_RECORD,
        record_number(record)?,
        sfi_p2(sfi)?,
    )
    .with_ne(MAX_SHORT_NE))
}

/// GET DATA: `80 CA tag 00` (§6.5.7.2), P1 P2 = the tag (9F36 ATC, 9F13 last online ATC,
/// 9F17 PIN Try Counter, 9F4F log format, ...).
#[must_use]
pub fn get_data(tag: u16) -> Command {
    let [p1, p2] = tag.to_be_bytes();
    Command::new(Cla::PROPRIETARY.0, ins::GET_DATA, p1, p2).with_ne(MAX_SHORT_NE)
}

/// GET CHALLENGE: `00 84 00 00 00` (§6.5.6.2); the card returns an 8-byte unpredictable
/// number valid for the next command only.
#[must_use]
pub fn get_challenge() -> Command {
    Command::new(Cla::ISO.0, ins::GET_CHALLENGE, 0x00, 0x00).with_ne(MAX_SHORT_NE)
}

/// VERIFY with a plaintext offline PIN: `00 20 00 80 08 block` (§6.5.12.2 Tables 24, 25;
/// the block is ISO 9564 format 2, e.g. `24 12 34 FF FF FF FF FF` for PIN 1234). Case 3:
/// no Le.
#[must_use]
pub fn verify_plaintext(pin_block: &[u8; 8]) -> Command {
    Command::new(Cla::ISO.0, ins::VERIFY, 0x00, VERIFY_P2_PLAINTEXT).with_data(*pin_block)
}

/// VERIFY with an enciphered offline PIN: `00 20 00 88 Lc data` (§6.5.12.2; data is the
/// RSA-enciphered PIN block of Book 2 §7.2, modulus length). Case 3.
#[must_use]
pub fn verify_enciphered(enciphered: &[u8]) -> Command {
    Command::new(Cla::ISO.0, ins::VERIFY, 0x00, VERIFY_P2_ENCIPHERED).with_data(enciphered)
}

/// INTERNAL AUTHENTICATE: `00 88 00 00 Lc ddol-data 00` (§6.5.9.2, DDA).
#[must_use]
pub fn internal_authenticate(ddol_data: &[u8]) -> Command {
    Command::new(Cla::ISO.0, ins::INTERNAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(ddol_data)
        .with_ne(MAX_SHORT_NE)
}

/// EXTERNAL AUTHENTICATE: `00 82 00 00 Lc issuer-authentication-data` (§6.5.4.2; data is
/// the value of tag 91, 8-16 bytes). Case 3.
#[must_use]
pub fn external_authenticate(issuer_authentication_data: &[u8]) -> Command {
    Command::new(Cla::ISO.0, ins::EXTERNAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(issuer_authentication_data)
}

/// GENERATE AC: `80 AE P1 00 Lc cdol-data 00` (§6.5.5.2), P1 = cryptogram type (AAC `00`,
/// TC `40`, ARQC `80`) plus `10` when a CDA signature is requested.
#[must_use]
pub fn generate_ac(ac_type: AcType, cda: bool, cdol_data: &[u8]) -> Command {
    let p1 = ReferenceControl { ac_type, cda }.p1();
    Command::new(Cla::PROPRIETARY.0, ins::GENERATE_AC, p1, 0x00)
        .with_data(cdol_data)
        .with_ne(MAX_SHORT_NE)
}

/// GET RESPONSE: `00 C0 00 00 xx` (Book 1 §9, T=0 transport of case 2/4 commands) with Le = SW2
/// of the `61xx` answer (`00` = 256).
#[must_use]
pub fn get_response(le: u8) -> Command {
    Command::new(Cla::ISO.0, ins::GET_RESPONSE, 0x00, 0x00).with_le(le)
}

/// PIN CHANGE/UNBLOCK (post-issuance, §6.5.10): `84 24 00 P2 Lc pin-data mac`.
/// `pin_data` is the enciphered new-PIN data (empty for [`PinChangeMode::Unblock`]),
/// `mac` the script MAC (typically 4-8 bytes). CLA `84` = secure messaging format 2;
/// use [`Command::with_cla`] with [`Cla::SM_FORMAT1`] for format 1.
#[must_use]
pub fn pin_change_unblock(mode: PinChangeMode, pin_data: &[u8], mac: &[u8]) -> Command {
    Command::new(Cla::SM_FORMAT2.0, ins::PIN_CHANGE_UNBLOCK, 0x00, mode.p2())
        .with_data(concat(pin_data, mac))
}

/// APPLICATION BLOCK (post-issuance, §6.5.1): `84 1E 00 00 Lc mac`.
#[must_use]
pub fn application_block(mac: &[u8]) -> Command {
    Command::new(Cla::SM_FORMAT2.0, ins::APPLICATION_BLOCK, 0x00, 0x00).with_data(mac)
}

/// APPLICATION UNBLOCK (post-issuance, §6.5.2): `84 18 00 00 Lc mac`.
#[must_use]
pub fn application_unblock(mac: &[u8]) -> Command {
    Command::new(Cla::SM_FORMAT2.0, ins::APPLICATION_UNBLOCK, 0x00, 0x00).with_data(mac)
}

/// CARD BLOCK (post-issuance, §6.5.3): `84 16 00 00 Lc mac`.
#[must_use]
pub fn card_block(mac: &[u8]) -> Command {
    Command::new(Cla::SM_FORMAT2.0, ins::CARD_BLOCK, 0x00, 0x00).with_data(mac)
}

/// PUT DATA (post-issuance, scheme-defined; ISO/IEC 7816-4 PUT DATA): `04 DA tag Lc value
/// mac`, P1 P2 = the tag (e.g. 9F14 lower consecutive offline limit). CLA `04`:
/// interindustry class with format 2 secure messaging.
#[must_use]
pub fn put_data(tag: u16, value: &[u8], mac: &[u8]) -> Command {
    let [p1, p2] = tag.to_be_bytes();
    Command::new(Cla::ISO_SM_FORMAT2.0, ins::PUT_DATA, p1, p2).with_data(concat(value, mac))
}

/// UPDATE RECORD (post-issuance, scheme-defined; ISO/IEC 7816-4 UPDATE RECORD):
/// `04 DC record (sfi<<3)|4 Lc record-data mac`.
pub fn update_record(
    sfi: u8,
    record: u8,
    record_data: &[u8],
    mac: &[u8],
) -> Result<Command, ApduError> {
    Ok(Command::new(
        Cla::ISO_SM_FORMAT2.0,
        ins::UPDATE_RECORD,
        record_number(record)?,
        sfi_p2(sfi)?,
    )
    .with_data(concat(record_data, mac)))
}

/// P2 of READ/UPDATE RECORD for an SFI: `(sfi << 3) | 4`.
fn sfi_p2(sfi: u8) -> Result<u8, ApduError> {
    if (1..=30).contains(&sfi) {
        Ok((sfi << 3) | 0x04)
    } else {
        Err(ApduError::InvalidSfi { sfi })
    }
}

fn record_number(record: u8) -> Result<u8, ApduError> {
    if record == 0 {
        Err(ApduError::InvalidRecordNumber)
    } else {
        Ok(record)
    }
}

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(a.len() + b.len());
    v.extend_from_slice(a);
    v.extend_from_slice(b);
    v
}

/// BER-TLV definite length (EMV 4.4 Book 3 Annex B2): short form below 128, otherwise
/// `81`..`84` followed by the big-endian length.
fn push_ber_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = &bytes[skip..];
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn bytes(c: &Command) -> Vec<u8> {
        let b = c.to_bytes().unwrap();
        // Every builder's output parses back to the same command.
        assert_eq!(Command::parse(&b).unwrap(), *c);
        b
    }

    #[test]
    fn select_commands() {
        assert_eq!(
            bytes(&select_pse()),
            hex!("00A404000E315041592E5359532E444446303100")
        );
        assert_eq!(
            bytes(&select(PPSE_NAME)),
            hex!("00A404000E325041592E5359532E444446303100")
        );
        assert_eq!(
            bytes(&select(&hex!("A0000000031010"))),
            hex!("00A4040007A000000003101000")
        );
        assert_eq!(
            bytes(&select_next(&hex!("A0000000031010"))),
            hex!("00A4040207A000000003101000")
        );
        assert_eq!(
            bytes(&select_by_name(&hex!("A000000004"), SelectOccurrence::Next)),
            hex!("00A4040205A00000000400")
        );
        assert_eq!(
            SelectOccurrence::from_p2(0x02),
            Some(SelectOccurrence::Next)
        );
        assert_eq!(SelectOccurrence::from_p2(0x0C), None);
    }

    #[test]
    fn gpo() {
        assert_eq!(
            bytes(&get_processing_options(&[])),
            hex!("80A8000002830000")
        );
        assert_eq!(
            bytes(&get_processing_options(&hex!("00000001000009780000"))),
            hex!("80A800000C830A0000000100000978000000")
        );
        // PDOL data of 128+ bytes needs a two-byte BER length.
        let pdol = vec![0xAB; 200];
        let b = bytes(&get_processing_options(&pdol));
        assert_eq!(&b[..8], &hex!("80A80000CB8381C8"));
        assert_eq!(b.len(), 5 + 3 + 200 + 1);
        assert_eq!(b[b.len() - 1], 0x00);
    }

    #[test]
    fn ber_lengths() {
        for (len, enc) in [
            (0usize, &hex!("00")[..]),
            (0x7F, &hex!("7F")),
            (0x80, &hex!("8180")),
            (0xFF, &hex!("81FF")),
            (0x100, &hex!("820100")),
            (0x1_0000, &hex!("83010000")),
        ] {
            let mut v = Vec::new();
            push_ber_length(&mut v, len);
            assert_eq!(v, enc, "{len}");
        }
    }

    #[test]
    fn read_record_commands() {
        assert_eq!(bytes(&read_record(1, 1).unwrap()), hex!("00B2010C00"));
        assert_eq!(bytes(&read_record(1, 2).unwrap()), hex!("00B2020C00"));
        assert_eq!(bytes(&read_record(2, 1).unwrap()), hex!("00B2011400"));
        assert_eq!(bytes(&read_record(30, 255).unwrap()), hex!("00B2FFF400"));
        assert_eq!(read_record(0, 1), Err(ApduError::InvalidSfi { sfi: 0 }));
        assert_eq!(read_record(31, 1), Err(ApduError::InvalidSfi { sfi: 31 }));
        assert_eq!(read_record(1, 0), Err(ApduError::InvalidRecordNumber));
    }

    #[test]
    fn get_data_and_challenge() {
        assert_eq!(bytes(&get_data(0x9F17)), hex!("80CA9F1700"));
        assert_eq!(bytes(&get_data(0x9F36)), hex!("80CA9F3600"));
        assert_eq!(bytes(&get_data(0x9F13)), hex!("80CA9F1300"));
        assert_eq!(bytes(&get_data(0x00C1)), hex!("80CA00C100"));
        assert_eq!(bytes(&get_challenge()), hex!("0084000000"));
    }

    #[test]
    fn verify_commands() {
        assert_eq!(
            bytes(&verify_plaintext(&hex!("241234FFFFFFFFFF"))),
            hex!("0020008008241234FFFFFFFFFF")
        );
        let enc = [0x5Cu8; 128];
        let b = bytes(&verify_enciphered(&enc));
        assert_eq!(&b[..5], &hex!("0020008880"));
        assert_eq!(&b[5..], &enc[..]);
        // 2048-bit ICC key: 256 bytes of enciphered data need extended Lc.
        let enc = [0x5Cu8; 256];
        let b = bytes(&verify_enciphered(&enc));
        assert_eq!(&b[..7], &hex!("00200088000100"));
        assert_eq!(b.len(), 7 + 256);
    }

    #[test]
    fn authenticate_commands() {
        assert_eq!(
            bytes(&internal_authenticate(&hex!("01020304"))),
            hex!("008800000401020304 00")
        );
        assert_eq!(
            bytes(&external_authenticate(&hex!("1122334455667788 3030"))),
            hex!("008200000A11223344556677883030")
        );
    }

    #[test]
    fn generate_ac_commands() {
        let cdol = hex!("000000001000");
        assert_eq!(
            bytes(&generate_ac(AcType::Arqc, false, &cdol)),
            hex!("80AE800006000000001000 00")
        );
        assert_eq!(
            bytes(&generate_ac(AcType::Arqc, true, &cdol)),
            hex!("80AE900006000000001000 00")
        );
        assert_eq!(
            bytes(&generate_ac(AcType::Tc, false, &cdol)),
            hex!("80AE400006000000001000 00")
        );
        assert_eq!(
            bytes(&generate_ac(AcType::Tc, true, &cdol)),
            hex!("80AE500006000000001000 00")
        );
        assert_eq!(
            bytes(&generate_ac(AcType::Aac, false, &cdol)),
            hex!("80AE000006000000001000 00")
        );
        assert_eq!(
            bytes(&generate_ac(AcType::Aac, true, &cdol)),
            hex!("80AE100006000000001000 00")
        );
        for p1 in 0..=255u8 {
            let rc = ReferenceControl::from_p1(p1);
            assert_eq!(rc.p1(), p1 & !ReferenceControl::RFU_MASK);
        }
        assert_eq!(
            ReferenceControl::from_p1(0x90),
            ReferenceControl {
                ac_type: AcType::Arqc,
                cda: true
            }
        );
        assert_eq!(AcType::from_bits(0xC0), AcType::Rfu);
    }

    #[test]
    fn get_response_command() {
        assert_eq!(bytes(&get_response(0x1C)), hex!("00C000001C"));
        assert_eq!(bytes(&get_response(0x00)), hex!("00C0000000"));
        assert_eq!(get_response(0).ne, Some(256));
    }

    #[test]
    fn post_issuance_commands() {
        let mac = hex!("EF84B422728D7A24");
        assert_eq!(
            bytes(&pin_change_unblock(PinChangeMode::Unblock, &[], &mac)),
            hex!("8424000008EF84B422728D7A24")
        );
        let enc = hex!("0102030405060708");
        assert_eq!(
            bytes(&pin_change_unblock(
                PinChangeMode::ChangeWithoutCurrentPin,
                &enc,
                &mac
            )),
            hex!("84240002100102030405060708EF84B422728D7A24")
        );
        assert_eq!(
            bytes(&pin_change_unblock(
                PinChangeMode::ChangeWithCurrentPin,
                &enc,
                &mac
            ))
            .get(..5),
            Some(&hex!("8424000110")[..])
        );
        assert_eq!(
            bytes(&application_block(&mac)),
            hex!("841E000008EF84B422728D7A24")
        );
        assert_eq!(
            bytes(&application_unblock(&mac)),
            hex!("8418000008EF84B422728D7A24")
        );
        assert_eq!(bytes(&card_block(&mac[..4])), hex!("8416000004EF84B422"));
        assert_eq!(
            bytes(&put_data(0x9F14, &hex!("05"), &mac[..4])),
            hex!("04DA9F140505EF84B422")
        );
        assert_eq!(
            bytes(&update_record(1, 2, &hex!("7003"), &mac[..4]).unwrap()),
            hex!("04DC020C067003EF84B422")
        );
        assert_eq!(
            bytes(&application_block(&mac).with_cla(Cla::SM_FORMAT1.0)),
            hex!("8C1E000008EF84B422728D7A24")
        );
        assert_eq!(
            update_record(31, 1, &[], &mac),
            Err(ApduError::InvalidSfi { sfi: 31 })
        );
        assert_eq!(
            PinChangeMode::from_p2(2),
            Some(PinChangeMode::ChangeWithoutCurrentPin)
        );
        assert_eq!(PinChangeMode::from_p2(3), None);
    }
}
