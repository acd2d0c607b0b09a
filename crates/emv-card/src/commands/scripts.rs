//! Post-issuance commands from issuer scripts, with secure messaging (EMV 4.4 Book 3
//! §6.5.1 APPLICATION BLOCK, §6.5.2 APPLICATION UNBLOCK, §6.5.3 CARD BLOCK, §6.5.10 PIN
//! CHANGE/UNBLOCK; Book 2 §9 secure messaging; emv-reference §4). The MAC is checked
//! with the session key the CVN defines before anything changes; a bad MAC is refused
//! with `6988`, counted, and changes nothing else.

use emv_apdu::{KnownCommand, Response, StatusWord};
use emv_crypto::CryptoError;
use emv_crypto::script::{ScriptCommandKind, ScriptContext, verify_script_command};
use emv_tlv::bits::AcType;

use super::processing::GET_DATA_TAGS;
use crate::Card;
use crate::card::CmdResult;
use crate::store::CardStore;

impl<S: CardStore> Card<S> {
    pub(crate) fn post_issuance(&mut self, raw: &[u8], cmd: KnownCommand) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // Scripts ride on an online transaction: the session keys come from its ATC and
        // ARQC (Book 2 §9.2, emv-reference §4.4), so there must have been an ARQC.
        let first = match &self.session.first_ac {
            Some(f) if f.ac_type == AcType::Arqc => f.clone(),
            _ => return Err(StatusWord::ConditionsNotSatisfied),
        };
        let index = self.session.script_commands;
        self.session.script_commands = index.saturating_add(1);
        if index == 0 {
            // The CVR reports the script processing of the last transaction with scripts.
            self.state.script_commands_last = 0;
            self.state.script_failed_last = false;
            self.state.pin_changed_last = false;
        }
        let ctx = ScriptContext::new(self.perso.cvn, self.state.atc, first.ac).command(index);
        let current = self.current_pin()?;
        let perso = self.perso.clone();
        let verified = match verify_script_command(&perso.keys, &ctx, raw, Some(&current)) {
            Ok(v) => v,
            Err(e) => {
                let sw = match &e {
                    CryptoError::VerificationFailed(_) | CryptoError::MacLength { .. } => {
                        // A bad MAC: counted (Visa/M/Chip count SM failures), optionally
                        // blocking the application at the profile's limit.
                        self.state.sm_failures = self.state.sm_failures.saturating_add(1);
                        let limit = u16::from(perso.risk.sm_failure_limit);
                        if limit > 0 && self.state.sm_failures >= limit {
                            let aid = perso.apps[i].aid.clone();
                            self.state.set_app_blocked(&aid, true);
                        }
                        StatusWord::SmDataObjectsIncorrect
                    }
                    CryptoError::ScriptCommand(m) if m.contains("MAC") => StatusWord::WrongLength,
                    CryptoError::CvnInput { .. } => StatusWord::IncorrectP1P2,
                    _ => StatusWord::IncorrectData,
                };
                self.state.script_failed_last = true;
                self.persist()?;
                return Err(sw);
            }
        };
        let aid = perso.apps[i].aid.clone();
        match verified.kind {
            ScriptCommandKind::PinUnblock => {
                // P2 = 00: the PIN Try Counter goes back to the limit (Book 3 §6.5.10.4).
                self.state.pin_try_counter = perso.pin_try_limit;
            }
            ScriptCommandKind::PinChange => {
                // P2 = 01/02: new PIN, and the counter reset (Book 3 §6.5.10.4).
                let Some(pin) = verified.new_pin.as_ref() else {
                    return Err(StatusWord::IncorrectData);
                };
                self.set_pin(pin)?;
                self.state.pin_try_counter = perso.pin_try_limit;
                self.state.pin_changed_last = true;
            }
            ScriptCommandKind::ApplicationBlock => self.state.set_app_blocked(&aid, true),
            ScriptCommandKind::ApplicationUnblock => self.state.set_app_blocked(&aid, false),
            ScriptCommandKind::CardBlock => self.state.card_blocked = true,
            ScriptCommandKind::PutData => {
                let KnownCommand::PutData { tag } = cmd else {
                    return Err(StatusWord::ConditionsNotSatisfied);
                };
                let tag = u32::from(tag);
                // Only the limits and counters GET DATA exposes are writable here.
                if !GET_DATA_TAGS.contains(&tag) || verified.data.is_empty() {
                    self.state.script_failed_last = true;
                    self.persist()?;
                    return Err(StatusWord::ReferencedDataNotFound);
                }
                self.state
                    .data_updates
                    .insert(format!("{tag:X}"), hex::encode_upper(&verified.data));
            }
        }
        self.state.script_commands_last = self.state.script_commands_last.saturating_add(1);
        self.persist()?;
        Ok(Response::success(Vec::new()))
    }
}
