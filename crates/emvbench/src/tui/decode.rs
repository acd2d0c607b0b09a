//! Pure decoding for the screen: TVR, TSI and CVM Results bit by bit with what changed
//! since the previous transaction, and the decoded view of one APDU exchange (TLV tree
//! with tag names, status word meaning). The stage each exchange belongs to comes from the
//! kernel's event stream, not from here.

use emv_apdu::StatusWord;
use emv_kernel::{ApduRecord, Stage};
use emv_tlv::describe::{DecodeAs, describe_as, render_tree, tree};

/// How a decoded line compares with the previous transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Same as before (or there is no previous transaction).
    Same,
    /// Set now, not before.
    Set,
    /// Set before, not now.
    Cleared,
}

/// One decoded line of a bit field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitLine {
    /// The spec's words for the bit or field (`byte 3 bit 6: PIN Try Limit exceeded`).
    pub text: String,
    /// Compared with the previous value.
    pub change: Change,
}

/// Decodes `now` as `kind`, marking the lines that differ from `before`: set bits of TVR
/// (Book 3 Annex C5) and TSI (Annex C6), and the three bytes of CVM Results (Book 4 Annex
/// A4). The lines of `before` that are gone come last, as `Cleared`.
pub fn bit_lines(kind: DecodeAs, before: Option<&[u8]>, now: &[u8]) -> Vec<BitLine> {
    let decode = |b: &[u8]| describe_as(kind, b).unwrap_or_default();
    let new = decode(now);
    let old = before.map(decode);
    let mut lines: Vec<BitLine> = new
        .iter()
        .map(|l| BitLine {
            text: l.clone(),
            change: match &old {
                Some(o) if !o.contains(l) => Change::Set,
                _ => Change::Same,
            },
        })
        .collect();
    if let Some(o) = &old {
        lines.extend(o.iter().filter(|l| !new.contains(l)).map(|l| BitLine {
            text: l.clone(),
            change: Change::Cleared,
        }));
    }
    lines
}

/// Which bytes of `now` differ from `before`; all `false` without `before`.
pub fn changed_bytes(before: Option<&[u8]>, now: &[u8]) -> Vec<bool> {
    now.iter()
        .enumerate()
        .map(|(i, b)| before.is_some_and(|o| o.get(i) != Some(b)))
        .collect()
}

/// A short label for the stage list.
pub fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::ApplicationSelection => "selection",
        Stage::InitiateApplicationProcessing => "initiate",
        Stage::ReadApplicationData => "read data",
        Stage::OfflineDataAuthentication => "ODA",
        Stage::ProcessingRestrictions => "restrictions",
        Stage::CardholderVerification => "CVM",
        Stage::TerminalRiskManagement => "risk mgmt",
        Stage::TerminalActionAnalysis => "TAA",
        Stage::CardActionAnalysis => "CAA",
        Stage::OnlineProcessing => "online",
        Stage::IssuerScriptProcessing => "scripts",
        Stage::Completion => "completion",
    }
}

/// Position of a stage in [`Stage::ALL`].
pub fn stage_index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

pub use emv_session::report::spaced;

/// The decoded view of one exchange: the command, the response data as a TLV tree with tag
/// names (EMV 4.4 Book 3 Annex A), and the status word's meaning (ISO/IEC 7816-4 §5.1.3,
/// Book 3 §6.3.5). The command's PIN data is already masked by the kernel's log.
pub fn apdu_detail(rec: &ApduRecord) -> Vec<String> {
    let mut out = vec![rec.name.clone(), format!(">> {}", spaced(&rec.command))];
    if rec.response.is_empty() {
        out.push("<< (no answer: the card was removed or mute)".into());
        return out;
    }
    out.push(format!("<< {}", spaced(&rec.response)));
    let Ok(bytes) = hex::decode(&rec.response) else {
        return out;
    };
    if bytes.len() < 2 {
        return out;
    }
    let (data, sw) = bytes.split_at(bytes.len() - 2);
    let sw = StatusWord::from(u16::from_be_bytes([sw[0], sw[1]]));
    out.push(format!("SW {:04X}: {}", u16::from(sw), sw.meaning()));
    if !data.is_empty() {
        match emv_tlv::parse_all(data) {
            Ok(list) if !list.is_empty() => {
                out.extend(render_tree(&tree(&list)).lines().map(str::to_owned));
            }
            // GET CHALLENGE, a format-1 GENERATE AC body... shown as bytes above
            _ => out.push(format!("data: {} bytes, not BER-TLV", data.len())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tvr_changes_are_marked() {
        let (before, now) = ([0, 0, 0x20, 0, 0], [0, 0, 0x04, 0x80, 0]);
        let l = bit_lines(DecodeAs::Tvr, Some(&before), &now);
        let set: Vec<_> = l.iter().filter(|b| b.change == Change::Set).collect();
        let cleared: Vec<_> = l.iter().filter(|b| b.change == Change::Cleared).collect();
        assert_eq!(set.len(), 2);
        assert_eq!(cleared.len(), 1);
        assert!(cleared[0].text.contains("PIN Try Limit exceeded"));
        assert_eq!(
            changed_bytes(Some(&before), &now),
            [false, false, true, true, false]
        );
        assert!(
            bit_lines(DecodeAs::Tsi, None, &[0xF8, 0x00])
                .iter()
                .all(|b| b.change == Change::Same)
        );
    }

    #[test]
    fn exchanges_decode_with_names_and_meaning() {
        let rec = ApduRecord {
            name: "VERIFY (plaintext PIN)".into(),
            command: "0020008008****************".into(),
            response: "63C2".into(),
        };
        let d = apdu_detail(&rec).join("\n");
        assert!(d.contains("Wrong PIN, 2 tries left"), "{d}");
        let rec = ApduRecord {
            name: "GET DATA 9F17".into(),
            command: "80CA9F1700".into(),
            response: "9F1701039000".into(),
        };
        let d = apdu_detail(&rec).join("\n");
        assert!(
            d.contains("9F17 Personal Identification Number (PIN) Try Counter"),
            "{d}"
        );
        assert!(d.contains("3 tries left"), "{d}");
    }
}
