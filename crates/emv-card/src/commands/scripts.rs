//! Post-issuance commands from issuer scripts, with secure messaging (EMV 4.4 Book 3
//! §6.5.1 APPLICATION BLOCK, §6.5.2 APPLICATION UNBLOCK, §6.5.3 CARD BLOCK, §6.5.10 PIN
//! CHANGE/UNBLOCK; Book 2 §9 secure messaging; docs/emv.md §5). The MAC is checked
//! with the session key the CVN defines before anything changes; a bad MAC is refused
//! with `6988`, counted, and changes nothing else.
//!
//! The card identifies the command (the dispatcher's [`KnownCommand`]) and splits it
//! here; emv-crypto only checks the MAC and deciphers the new PIN.

use emv_apdu::{KnownCommand, PinChangeMode, Response, StatusWord};
use emv_crypto::script::{SCRIPT_MAC_LEN, ScriptContext, decipher_pin_change_data};
use emv_crypto::{CryptoError, Pin};

use super::processing::GET_DATA_TAGS;
use crate::card::CmdResult;
use crate::store::CardStore;
use crate::{Card, Personalisation};

/// A secured command as received: `CLA INS P1 P2 Lc` (the MAC covers it, Lc included),
/// the command data and the MAC.
struct Secured<'a> {
    header: &'a [u8; 5],
    data: &'a [u8],
    mac: &'a [u8],
}

impl<'a> Secured<'a> {
    /// Splits a script command. Secure messaging format 2 commands are short case 3 (a
    /// trailing Le is tolerated, case 4), so the fifth byte is the Lc: a case 2 command's
    /// Le `00` reads as an Lc too short for the MAC (`6700`), any other length that does
    /// not add up is malformed (`6A80`; docs/emv.md §5.8).
    fn split(raw: &'a [u8]) -> Result<Self, StatusWord> {
        let (header, rest) = raw
            .split_first_chunk::<5>()
            .ok_or(StatusWord::IncorrectData)?;
        let lc = usize::from(header[4]);
        if rest.len() != lc && rest.len() != lc + 1 {
            return Err(StatusWord::IncorrectData);
        }
        if lc < SCRIPT_MAC_LEN {
            return Err(StatusWord::WrongLength);
        }
        let (data, mac) = rest[..lc].split_at(lc - SCRIPT_MAC_LEN);
        Ok(Self { header, data, mac })
    }
}

/// What an authenticated script command does to the card.
enum ScriptAction<'a> {
    /// PIN UNBLOCK (P2 = 00): the PIN Try Counter back to the limit (Book 3 §6.5.10.4).
    Unblock,
    /// PIN CHANGE (P2 = 01/02): the new PIN, and the counter back to the limit.
    ChangePin(Pin),
    /// APPLICATION BLOCK (`true`) or UNBLOCK (`false`).
    BlockApplication(bool),
    /// CARD BLOCK.
    BlockCard,
    /// PUT DATA of one of the limits and counters GET DATA exposes.
    PutData { tag: u32, value: &'a [u8] },
}

/// Why a script command is refused.
enum Refusal {
    /// The MAC did not verify: `6988`, counted (docs/emv.md §5.8).
    BadMac,
    /// Anything else about the command.
    Status(StatusWord),
}

impl From<StatusWord> for Refusal {
    fn from(sw: StatusWord) -> Self {
        Self::Status(sw)
    }
}

/// Checks a script command the dispatcher identified as `cmd`: its length, its MAC (before
/// anything else about it), its class and data, and deciphers a new PIN. `current_pin`
/// is the card's PIN (PIN data built with it, Visa P2 = 01).
fn authenticate<'a>(
    perso: &Personalisation,
    ctx: &ScriptContext,
    raw: &'a [u8],
    cmd: KnownCommand,
    current_pin: &Pin,
) -> Result<ScriptAction<'a>, Refusal> {
    let cmd_parts = Secured::split(raw)?;
    let Secured { header, data, mac } = cmd_parts;
    let (sk_smi, sk_smc) = ctx
        .session_keys(&perso.keys)
        .map_err(|_| StatusWord::IncorrectData)?;
    match ctx.verify_command_mac(&sk_smi, header, data, mac) {
        Ok(()) => {}
        Err(CryptoError::VerificationFailed(_) | CryptoError::MacLength { .. }) => {
            return Err(Refusal::BadMac);
        }
        Err(_) => return Err(StatusWord::IncorrectData.into()),
    }
    // Secure messaging on the basic channel only (logical channel bits b2-b1 = 00).
    if header[0] & 0x03 != 0 {
        return Err(StatusWord::IncorrectData.into());
    }
    let no_data = |action| {
        if data.is_empty() {
            Ok(action)
        } else {
            // the command carries nothing but its MAC (Book 3 §6.5.1.2, §6.5.3.2, §6.5.10.2)
            Err(Refusal::Status(StatusWord::WrongLength))
        }
    };
    match cmd {
        KnownCommand::PinChangeUnblock(PinChangeMode::Unblock) => no_data(ScriptAction::Unblock),
        KnownCommand::PinChangeUnblock(mode) => {
            let with_current = (mode == PinChangeMode::ChangeWithCurrentPin).then_some(current_pin);
            decipher_pin_change_data(perso.cvn, &perso.keys.ac, &sk_smc, data, with_current)
                .map(ScriptAction::ChangePin)
                .map_err(|e| match e {
                    // P2 = 01 on a CVN whose PIN data does not carry the current PIN
                    CryptoError::CvnInput { .. } => StatusWord::IncorrectP1P2.into(),
                    _ => StatusWord::IncorrectData.into(),
                })
        }
        KnownCommand::ApplicationBlock => no_data(ScriptAction::BlockApplication(true)),
        KnownCommand::ApplicationUnblock => no_data(ScriptAction::BlockApplication(false)),
        KnownCommand::CardBlock => no_data(ScriptAction::BlockCard),
        KnownCommand::PutData { tag } => {
            let tag = u32::from(tag);
            // Only the limits and counters GET DATA exposes are writable here.
            if !GET_DATA_TAGS.contains(&tag) || data.is_empty() {
                return Err(StatusWord::ReferencedDataNotFound.into());
            }
            Ok(ScriptAction::PutData { tag, value: data })
        }
        // the dispatcher sends only the post-issuance commands here
        _ => Err(StatusWord::ConditionsNotSatisfied.into()),
    }
}

impl<S: CardStore> Card<S> {
    pub(crate) fn post_issuance(&mut self, raw: &[u8], cmd: KnownCommand) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // Scripts ride on an online transaction: the session keys come from its ATC and
        // ARQC (Book 2 §9.2, docs/emv.md §5.4), so there must have been an ARQC.
        let Some(online) = self.session.phase.online_mut() else {
            return Err(StatusWord::ConditionsNotSatisfied);
        };
        let index = online.script_commands;
        online.script_commands = index.saturating_add(1);
        let arqc = online.first.ac;
        if index == 0 {
            // The CVR reports the script processing of the last transaction with scripts.
            self.state.script_commands_last = 0;
            self.state.script_failed_last = false;
            self.state.pin_changed_last = false;
        }
        let ctx = ScriptContext::new(self.perso.cvn, self.state.atc, arqc).command(index);
        // A state whose PIN cannot be read answers 6581 before the command is looked at.
        let current = self.current_pin()?;
        let perso = self.perso.clone();
        let action = match authenticate(&perso, &ctx, raw, cmd, &current) {
            Ok(a) => a,
            Err(refusal) => {
                let sw = match refusal {
                    Refusal::BadMac => {
                        // A bad MAC: counted (Visa/M/Chip count SM failures), optionally
                        // blocking the application at the profile's limit.
                        self.state.sm_failures = self.state.sm_failures.saturating_add(1);
                        let limit = u16::from(perso.risk.sm_failure_limit);
                        if limit > 0 && self.state.sm_failures >= limit {
                            self.state.set_app_blocked(&perso.apps[i].aid, true);
                        }
                        StatusWord::SmDataObjectsIncorrect
                    }
                    Refusal::Status(sw) => sw,
                };
                self.state.script_failed_last = true;
                self.persist()?;
                return Err(sw);
            }
        };
        let aid = &perso.apps[i].aid;
        match action {
            ScriptAction::Unblock => self.state.pin_try_counter = perso.pin_try_limit,
            ScriptAction::ChangePin(pin) => {
                self.set_pin(&pin)?;
                self.state.pin_try_counter = perso.pin_try_limit;
                self.state.pin_changed_last = true;
            }
            ScriptAction::BlockApplication(blocked) => self.state.set_app_blocked(aid, blocked),
            ScriptAction::BlockCard => self.state.card_blocked = true,
            ScriptAction::PutData { tag, value } => {
                self.state
                    .data_updates
                    .insert(format!("{tag:X}"), hex::encode_upper(value));
            }
        }
        self.state.script_commands_last = self.state.script_commands_last.saturating_add(1);
        self.persist()?;
        Ok(Response::success(Vec::new()))
    }
}
