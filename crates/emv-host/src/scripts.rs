//! Issuer scripts that bring the chip's offline PIN in step with the host (docs/pin.md §6;
//! docs/emv.md §5): PIN UNBLOCK and PIN
//! CHANGE, built per CVN with the card's secure-messaging keys, and the Issuer Script
//! Results (9F5B) that settle them.

use std::fmt;

use emv_crypto::Pin;
use emv_crypto::script::{
    IccKeys, ScriptCommand, ScriptContext, build_script_command, issuer_script_template,
};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::chip::ChipData;

/// Total size of the scripts in one response (EMV 4.4 Book 4 §6.3.9; docs/emv.md §5.1).
pub const MAX_SCRIPTS_LEN: usize = 128;

/// What a pending script does on the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case", parse_err_ty = Error, parse_err_fn = unknown_kind)]
pub enum ScriptKind {
    /// PIN CHANGE/UNBLOCK with P2 = 00: the PIN Try Counter back to the limit.
    PinUnblock,
    /// PIN CHANGE/UNBLOCK with P2 = 02: the new PIN (and the counter back to the limit).
    PinChange,
}

impl ScriptKind {
    /// The stored and shown name (`pin-unblock`, `pin-change`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn unknown_kind(s: &str) -> Error {
    Error::Corrupt(format!("unknown script kind {s:?}"))
}

impl fmt::Display for ScriptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a script is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case", parse_err_ty = Error, parse_err_fn = unknown_state)]
pub enum ScriptState {
    /// Waiting for the next online authorisation.
    Pending,
    /// Sent with an approval; waiting for the advice's script results. Sent again with
    /// the next authorisation if no success is reported.
    Sent,
    /// The chip ran it (9F5B reported success).
    Done,
    /// Replaced by a later script that does the same and more.
    Superseded,
}

impl ScriptState {
    /// The stored name (`pending`, `sent`, `done`, `superseded`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn unknown_state(s: &str) -> Error {
    Error::Corrupt(format!("unknown script state {s:?}"))
}

/// A script as the status API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptView {
    /// Script Identifier (9F18), as 8 hex digits.
    pub script_id: String,
    /// What it does.
    pub kind: ScriptKind,
    /// Where it is.
    pub state: ScriptState,
    /// How many responses carried it.
    pub attempts: u32,
    /// The last result reported by a terminal, if any.
    pub last_result: Option<String>,
}

/// The 4-byte Script Identifier of a stored script.
pub fn script_id(id: i64) -> [u8; 4] {
    u32::try_from(id).unwrap_or(u32::MAX).to_be_bytes()
}

/// Builds Issuer Script Template 2 (`72`, run after the final GENERATE AC; EMV 4.4 Book 3
/// §10.10) with Script Identifier `id` and one command: PIN UNBLOCK (`84 24 00 00`) or
/// PIN CHANGE (`84 24 00 02`, enciphered new PIN), secured for this transaction's ATC and
/// ARQC (docs/emv.md §5.4–§5.6).
pub fn build_template(
    keys: &IccKeys,
    cvn: emv_crypto::Cvn,
    chip: &ChipData,
    id: [u8; 4],
    kind: ScriptKind,
    new_pin: Option<&Pin>,
) -> Result<Vec<u8>, Error> {
    let cmd = match (kind, new_pin) {
        (ScriptKind::PinUnblock, _) => ScriptCommand::PinUnblock,
        (ScriptKind::PinChange, Some(pin)) => ScriptCommand::PinChange {
            new_pin: pin.clone(),
            current_pin: None,
        },
        (ScriptKind::PinChange, None) => {
            return Err(Error::Corrupt(
                "a PIN CHANGE script is pending but the new PIN is not stored".into(),
            ));
        }
    };
    // one command per script: command index 0 (M/Chip increments the AC per command)
    let ctx = ScriptContext::new(cvn, chip.atc, chip.arqc).command(0);
    let apdu = build_script_command(keys, &ctx, &cmd)?;
    Ok(issuer_script_template(0x72, Some(id), &[apdu])?)
}

/// One Issuer Script Result (docs/emv.md §5.2; EMV 4.4 Book 4 Annex A5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptResult {
    /// Byte 1 b8-b5: 0 not performed, 1 failed, 2 successful.
    pub result: u8,
    /// Byte 1 b4-b1: sequence number of the failing command (0 = not specified).
    pub sequence: u8,
    /// Bytes 2-5: the Script Identifier.
    pub script_id: [u8; 4],
}

impl ScriptResult {
    /// Whether the script ran successfully.
    pub fn successful(&self) -> bool {
        self.result == 2
    }

    /// A short description (`successful`, `failed at command 2`, `not performed`).
    pub fn describe(&self) -> String {
        match self.result {
            2 => "successful".into(),
            1 if self.sequence == 0 => "failed".into(),
            1 => format!("failed at command {}", self.sequence),
            0 => "not performed".into(),
            r => format!("unknown result {r:X}"),
        }
    }
}

/// Splits a 9F5B value into its 5-byte results.
pub fn parse_results(v: &[u8]) -> Result<Vec<ScriptResult>, Error> {
    if !v.len().is_multiple_of(5) {
        return Err(Error::IccData(format!(
            "9F5B (Issuer Script Results) must be 5 bytes per script, got {}",
            v.len()
        )));
    }
    Ok(v.chunks_exact(5)
        .map(|c| ScriptResult {
            result: c[0] >> 4,
            sequence: c[0] & 0x0F,
            script_id: [c[1], c[2], c[3], c[4]],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_parse() {
        let r = parse_results(&hex::decode("2000000001120000000F").unwrap()).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[0].successful());
        assert_eq!(r[0].script_id, [0, 0, 0, 1]);
        assert_eq!(r[1].describe(), "failed at command 2");
        assert!(parse_results(&[0x20, 0, 0]).is_err());
    }

    #[test]
    fn stored_names_round_trip() {
        for (k, name) in [
            (ScriptKind::PinUnblock, "pin-unblock"),
            (ScriptKind::PinChange, "pin-change"),
        ] {
            assert_eq!(k.name(), name);
            assert_eq!(name.parse::<ScriptKind>().unwrap(), k);
        }
        for (s, name) in [
            (ScriptState::Pending, "pending"),
            (ScriptState::Sent, "sent"),
            (ScriptState::Done, "done"),
            (ScriptState::Superseded, "superseded"),
        ] {
            assert_eq!(s.name(), name);
            assert_eq!(name.parse::<ScriptState>().unwrap(), s);
        }
        let e = "PIN-UNBLOCK".parse::<ScriptKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "store data: unknown script kind \"PIN-UNBLOCK\""
        );
        let e = "gone".parse::<ScriptState>().unwrap_err();
        assert_eq!(e.to_string(), "store data: unknown script state \"gone\"");
    }
}
