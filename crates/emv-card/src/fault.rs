//! Fault injection: rules from a profile's `[[fault]]` tables that make the card misbehave
//! on purpose, for negative testing of terminals (forced status words, corrupted or
//! missing tags, wrong cryptograms).

use emv_apdu::KnownCommand;

use crate::profile::FaultSection;

/// Which commands a rule applies to, named as a profile's `command` names it
/// (`select`, `gpo` or `get-processing-options`, `read-record`, …, `script`, `any`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "kebab-case", parse_err_ty = String, parse_err_fn = unknown_target)]
pub enum FaultTarget {
    /// SELECT.
    Select,
    /// GET PROCESSING OPTIONS.
    #[strum(serialize = "gpo", serialize = "get-processing-options")]
    Gpo,
    /// READ RECORD.
    ReadRecord,
    /// GET DATA.
    GetData,
    /// GET CHALLENGE.
    GetChallenge,
    /// VERIFY (both forms).
    Verify,
    /// INTERNAL AUTHENTICATE.
    InternalAuthenticate,
    /// GENERATE AC (both).
    GenerateAc,
    /// EXTERNAL AUTHENTICATE.
    ExternalAuthenticate,
    /// Any post-issuance command.
    Script,
    /// Every command.
    Any,
}

fn unknown_target(s: &str) -> String {
    format!(
        "command {s:?}: expected select, gpo, read-record, get-data, get-challenge, verify, \
         internal-authenticate, generate-ac, external-authenticate, script or any"
    )
}

impl FaultTarget {
    /// Whether `cmd` is targeted.
    pub fn matches(self, cmd: KnownCommand) -> bool {
        match self {
            Self::Any => true,
            Self::Select => matches!(cmd, KnownCommand::Select(_)),
            Self::Gpo => cmd == KnownCommand::GetProcessingOptions,
            Self::ReadRecord => matches!(cmd, KnownCommand::ReadRecord { .. }),
            Self::GetData => matches!(cmd, KnownCommand::GetData { .. }),
            Self::GetChallenge => cmd == KnownCommand::GetChallenge,
            Self::Verify => matches!(
                cmd,
                KnownCommand::VerifyPlaintext | KnownCommand::VerifyEnciphered
            ),
            Self::InternalAuthenticate => cmd == KnownCommand::InternalAuthenticate,
            Self::GenerateAc => matches!(cmd, KnownCommand::GenerateAc(_)),
            Self::ExternalAuthenticate => cmd == KnownCommand::ExternalAuthenticate,
            Self::Script => cmd.is_post_issuance(),
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status word, no data, no state change.
    StatusWord(u16),
    /// Flip the last byte of the tag's value in the response.
    CorruptTag(u32),
    /// Drop the tag from the response.
    OmitTag(u32),
    /// Return a wrong application cryptogram.
    WrongCryptogram,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Commands it applies to.
    pub target: FaultTarget,
    /// What it does.
    pub action: FaultAction,
    /// Matching commands skipped before it starts.
    pub after: u32,
    /// Matching commands it applies to (None: all).
    pub times: Option<u32>,
}

impl Fault {
    /// From a profile table.
    pub fn from_section(s: &FaultSection) -> Result<Self, String> {
        let target = s.command.parse::<FaultTarget>()?;
        let tag = |t: &str| {
            emv_tlv::Tag::from_hex(t.trim())
                .map(emv_tlv::Tag::value)
                .map_err(|e| format!("tag {t:?}: {e}"))
        };
        let mut actions = Vec::new();
        if let Some(sw) = &s.sw {
            let v = u16::from_str_radix(sw.trim(), 16)
                .ok()
                .filter(|_| sw.trim().len() == 4)
                .ok_or_else(|| format!("sw {sw:?}: expected 4 hex digits such as 6985"))?;
            actions.push(FaultAction::StatusWord(v));
        }
        if let Some(t) = &s.corrupt_tag {
            actions.push(FaultAction::CorruptTag(tag(t)?));
        }
        if let Some(t) = &s.omit_tag {
            actions.push(FaultAction::OmitTag(tag(t)?));
        }
        if s.wrong_cryptogram {
            actions.push(FaultAction::WrongCryptogram);
        }
        let mut actions = actions.into_iter();
        let (Some(action), None) = (actions.next(), actions.next()) else {
            return Err(
                "give exactly one of sw, corrupt_tag, omit_tag, wrong_cryptogram per [[fault]]"
                    .into(),
            );
        };
        Ok(Self {
            target,
            action,
            after: s.after,
            times: s.times,
        })
    }

    /// Whether the `n`-th (0-based) matching command is hit.
    pub fn hits(&self, n: u32) -> bool {
        n >= self.after && self.times.is_none_or(|t| n - self.after < t)
    }
}

/// Applies a tag fault to a response body (a template such as `70`/`77`, or plain TLVs):
/// corrupts or removes the first occurrence of `tag`, re-encoding lengths.
pub fn apply_tag_fault(body: &[u8], action: &FaultAction) -> Vec<u8> {
    let tag = match action {
        FaultAction::CorruptTag(t) | FaultAction::OmitTag(t) => *t,
        _ => return body.to_vec(),
    };
    rewrite(body, tag, action).unwrap_or_else(|| body.to_vec())
}

fn rewrite(data: &[u8], tag: u32, action: &FaultAction) -> Option<Vec<u8>> {
    let items = emv_tlv::parse_all(data).ok()?;
    let mut out = Vec::with_capacity(data.len());
    for t in items {
        if t.tag().value() == tag {
            match action {
                FaultAction::OmitTag(_) => continue,
                _ => {
                    let mut v = t.value().to_vec();
                    if let Some(last) = v.last_mut() {
                        *last ^= 0xFF;
                    }
                    out.extend(emv_tlv::encode_tlv(t.tag(), &v));
                }
            }
        } else if t.is_constructed() {
            let inner = rewrite(t.value(), tag, action)?;
            out.extend(emv_tlv::encode_tlv(t.tag(), &inner));
        } else {
            out.extend_from_slice(t.raw());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omit_and_corrupt_inside_a_template() {
        let rec = [0x70, 0x07, 0x8C, 0x02, 0x9F, 0x02, 0x5A, 0x01, 0x12];
        assert_eq!(
            apply_tag_fault(&rec, &FaultAction::OmitTag(0x8C)),
            [0x70, 0x03, 0x5A, 0x01, 0x12]
        );
        assert_eq!(
            apply_tag_fault(&rec, &FaultAction::CorruptTag(0x5A)),
            [0x70, 0x07, 0x8C, 0x02, 0x9F, 0x02, 0x5A, 0x01, 0xED]
        );
    }

    #[test]
    fn hits_after_and_times() {
        let f = Fault {
            target: FaultTarget::Verify,
            action: FaultAction::StatusWord(0x6F00),
            after: 1,
            times: Some(2),
        };
        assert_eq!(
            (0..5).map(|n| f.hits(n)).collect::<Vec<_>>(),
            [false, true, true, false, false]
        );
    }

    #[test]
    fn a_rule_needs_exactly_one_action() {
        let s = FaultSection {
            command: "verify".into(),
            ..FaultSection::default()
        };
        assert!(Fault::from_section(&s).unwrap_err().contains("exactly one"));
        let s = FaultSection {
            command: "verfy".into(),
            sw: Some("6985".into()),
            ..FaultSection::default()
        };
        assert!(Fault::from_section(&s).unwrap_err().contains("verfy"));
    }

    #[test]
    fn target_names() {
        for (name, t) in [
            ("select", FaultTarget::Select),
            ("gpo", FaultTarget::Gpo),
            ("get-processing-options", FaultTarget::Gpo),
            ("read-record", FaultTarget::ReadRecord),
            ("get-data", FaultTarget::GetData),
            ("get-challenge", FaultTarget::GetChallenge),
            ("verify", FaultTarget::Verify),
            ("internal-authenticate", FaultTarget::InternalAuthenticate),
            ("generate-ac", FaultTarget::GenerateAc),
            ("external-authenticate", FaultTarget::ExternalAuthenticate),
            ("script", FaultTarget::Script),
            ("any", FaultTarget::Any),
        ] {
            assert_eq!(name.parse::<FaultTarget>(), Ok(t));
        }
        assert_eq!(
            "Verify".parse::<FaultTarget>().unwrap_err(),
            "command \"Verify\": expected select, gpo, read-record, get-data, get-challenge, \
             verify, internal-authenticate, generate-ac, external-authenticate, script or any"
        );
    }
}
