//! APDUs for people: the one place that names a command and decides what of it may be
//! shown. Every printer goes through here: the kernel's journal (`run --json`, the
//! report), trace comments, the TUI's live log, `card send` and the vpcd front end's log.
//!
//! Redaction rule (one rule, everywhere): the data field of a command that carries a PIN,
//! clear or enciphered, is never shown:
//! - VERIFY (INS `20`, any qualifier): the plaintext PIN block (P2 `80`, ISO 9564-1 format 2
//!   as EMV 4.4 Book 3 §6.5.12 uses it) or the PIN enciphered with the card's public key
//!   (P2 `88`, Book 2 §7);
//! - PIN CHANGE/UNBLOCK (INS `24`) with P2 `01`/`02`: the new PIN enciphered under the
//!   card's session key (Book 3 §6.5.10, Book 2 §9.5). P2 `00` (unblock) carries only a MAC.
//!
//! The bytes themselves stay exact where a replay needs them (the `>>` lines of a trace):
//! only the text meant for reading is redacted.

use crate::command::CommandView;
use crate::commands::{VERIFY_P2_PLAINTEXT, ins};
use crate::known::ins_name;
use crate::status::StatusWord;

/// What a command's data field holds that must not be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secret {
    /// A PIN block in clear (plaintext offline PIN, VERIFY P2 `80`).
    ClearPin,
    /// A PIN enciphered for the card (VERIFY P2 `88`, PIN CHANGE/UNBLOCK P2 `01`/`02`).
    EncipheredPin,
}

/// The secret a C-APDU's data carries, if any (lenient: any CLA, any length with data, so
/// that a malformed VERIFY is redacted too).
#[must_use]
pub fn secret(capdu: &[u8]) -> Option<Secret> {
    let [_, instruction, _, p2, _, _, ..] = *capdu else {
        return None;
    };
    match instruction {
        ins::VERIFY if p2 == VERIFY_P2_PLAINTEXT => Some(Secret::ClearPin),
        ins::VERIFY => Some(Secret::EncipheredPin),
        ins::PIN_CHANGE_UNBLOCK if p2 != 0 => Some(Secret::EncipheredPin),
        _ => None,
    }
}

/// The name of a C-APDU: the command with its decoded parameters (`READ RECORD SFI 1
/// record 2`, `GET DATA 9F17`, `VERIFY (plaintext PIN)`), a lenient label of its INS when
/// EMV does not define it with these parameters, or `UNKNOWN`.
#[must_use]
pub fn command_name(capdu: &[u8]) -> String {
    if let Ok(view) = CommandView::parse(capdu)
        && let Some(known) = view.identify()
    {
        return known.to_string();
    }
    capdu
        .get(1)
        .and_then(|&i| ins_name(i))
        .unwrap_or("UNKNOWN")
        .to_owned()
}

/// Upper-case hex of a C-APDU with everything after the header and Lc of a PIN-bearing
/// command shown as `*` (two per byte, so the length stays visible).
#[must_use]
pub fn redacted_hex(capdu: &[u8]) -> String {
    match secret(capdu) {
        Some(_) => {
            let mut s = emv_tlv::hex::encode(&capdu[..5]);
            s.push_str(&"*".repeat(2 * (capdu.len() - 5)));
            s
        }
        None => emv_tlv::hex::encode(capdu),
    }
}

/// The comment a trace line carries for a C-APDU: its name, and `PIN ****` where the
/// exact bytes on that line hold a PIN in clear.
#[must_use]
pub fn command_comment(capdu: &[u8]) -> String {
    let name = command_name(capdu);
    if secret(capdu) == Some(Secret::ClearPin) {
        return format!("{name}, PIN ****");
    }
    name
}

/// The short name of a C-APDU, without its parameters (`READ RECORD`, `VERIFY (plaintext
/// PIN)`), `unknown command`, or `malformed C-APDU` when it does not parse.
#[must_use]
pub fn command_label(capdu: &[u8]) -> &'static str {
    match CommandView::parse(capdu) {
        Ok(v) => v.identify().map_or_else(
            || ins_name(v.ins).unwrap_or("unknown command"),
            crate::KnownCommand::name,
        ),
        Err(_) => "malformed C-APDU",
    }
}

/// A C-APDU for an operational log that shows no data at all (records hold the PAN,
/// VERIFY the PIN): header, short name and Lc.
#[must_use]
pub fn command_summary(capdu: &[u8]) -> String {
    let header = emv_tlv::hex::encode(&capdu[..capdu.len().min(4)]);
    match CommandView::parse(capdu) {
        Ok(v) => format!("{header} {} (Lc {})", command_label(capdu), v.data.len()),
        Err(_) => format!("{header} malformed C-APDU ({} bytes)", capdu.len()),
    }
}

/// The comment of an R-APDU: its status word and what it means (`63C2 Wrong PIN, 2 tries
/// left`).
#[must_use]
pub fn response_comment(rapdu: &[u8]) -> String {
    match rapdu {
        [.., a, b] => {
            let sw = StatusWord::from_u16(u16::from_be_bytes([*a, *b]));
            format!("{a:02X}{b:02X} {}", sw.meaning())
        }
        _ => "(no status word)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: [u8; 13] = [
        0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    #[test]
    fn names() {
        assert_eq!(
            command_name(&[0x80, 0xCA, 0x9F, 0x17, 0x00]),
            "GET DATA 9F17"
        );
        assert_eq!(
            command_name(&[0x00, 0xB2, 0x02, 0x0C, 0x00]),
            "READ RECORD SFI 1 record 2"
        );
        assert_eq!(command_name(&[0x00, 0x0E, 0x00, 0x00]), "UNKNOWN");
        // a VERIFY with a qualifier EMV does not define keeps a lenient name
        assert_eq!(
            command_name(&[0x00, 0x20, 0x00, 0x81, 0x01, 0x00]),
            "VERIFY"
        );
        assert_eq!(command_name(&PLAIN), "VERIFY (plaintext PIN)");
    }

    #[test]
    fn every_pin_bearing_command_is_redacted() {
        let m = redacted_hex(&PLAIN);
        assert_eq!(m, "0020008008****************");
        assert!(!m.contains("1234"));
        assert_eq!(command_comment(&PLAIN), "VERIFY (plaintext PIN), PIN ****");

        let enciphered = [0x00, 0x20, 0x00, 0x88, 0x04, 0xAA, 0xBB, 0xCC, 0xDD];
        assert_eq!(secret(&enciphered), Some(Secret::EncipheredPin));
        assert_eq!(redacted_hex(&enciphered), "0020008804********");
        assert_eq!(command_comment(&enciphered), "VERIFY (enciphered PIN)");

        let change = [0x84, 0x24, 0x00, 0x02, 0x03, 0x11, 0x22, 0x33];
        assert_eq!(redacted_hex(&change), "8424000203******");
        // PIN UNBLOCK carries only its MAC
        let unblock = [0x84, 0x24, 0x00, 0x00, 0x02, 0x11, 0x22];
        assert_eq!(secret(&unblock), None);
        assert_eq!(redacted_hex(&unblock), "84240000021122");

        // no data: nothing to hide; other commands are shown whole
        assert_eq!(redacted_hex(&[0x00, 0x20, 0x00, 0x80]), "00200080");
        assert_eq!(redacted_hex(&[0x00, 0x84, 0x00, 0x00, 0x00]), "0084000000");
    }

    #[test]
    fn summaries_show_no_data() {
        let s = command_summary(&PLAIN);
        assert_eq!(s, "00200080 VERIFY (plaintext PIN) (Lc 8)");
        assert_eq!(command_summary(&[0x00]), "00 malformed C-APDU (1 bytes)");
        assert_eq!(
            command_label(&[0x00, 0xB2, 0x02, 0x0C, 0x00]),
            "READ RECORD"
        );
        assert_eq!(command_label(&[0x00, 0x0E, 0x00, 0x00]), "unknown command");
        assert_eq!(command_label(&[0x00]), "malformed C-APDU");
        assert_eq!(
            response_comment(&[0x63, 0xC2]),
            "63C2 Wrong PIN, 2 tries left"
        );
        assert_eq!(response_comment(&[0x90]), "(no status word)");
    }
}
