//! Issuer script processing: EMV 4.4 Book 3 §10.10, Book 4 §6.3.9 and Annex A5 (Issuer
//! Script Results, 9F5B).

use emv_apdu::Transport;
use emv_auth::Host;
use emv_tlv::bits::{Tsi, Tvr};
use emv_tlv::tags;

use crate::error::KernelError;
use crate::event::{Event, ScriptResult, Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;
use crate::util::hex;

/// Issuer Script Results byte 1 high nibble (Book 4 Annex A5).
const NOT_PERFORMED: u8 = 0x00;
const FAILED: u8 = 0x10;
const SUCCESSFUL: u8 = 0x20;

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Runs every script template `template` (`0x71` before, `0x72` after the final
    /// GENERATE AC) in order. Each 86 command is sent as is; SW1 `90`, `62` or `63` lets
    /// the script continue, anything else stops that script (Book 3 §10.10). One 5-byte
    /// result per script: status ‖ sequence number of the failing command, then the Script
    /// Identifier (9F18) or zeros (Book 4 Annex A5).
    pub fn process_scripts(
        &mut self,
        scripts: &[Vec<u8>],
        template: u8,
    ) -> Result<(), KernelError> {
        let mine: Vec<&Vec<u8>> = scripts
            .iter()
            .filter(|s| s.first() == Some(&template))
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        let previous = self.stage;
        self.enter(Stage::IssuerScriptProcessing);
        let failure_bit = if template == 0x71 {
            Tvr::SCRIPT_FAILED_BEFORE_FINAL_GENERATE_AC
        } else {
            Tvr::SCRIPT_FAILED_AFTER_FINAL_GENERATE_AC
        };
        for script in mine {
            let mut id = [0u8; 4];
            let mut cmds: Vec<Vec<u8>> = Vec::new();
            let parsed = emv_tlv::parse_one(script).and_then(|t| {
                for c in t.children() {
                    let c = c?;
                    match c.tag() {
                        x if x == tags::ISSUER_SCRIPT_IDENTIFIER => {
                            if let Ok(v) = <[u8; 4]>::try_from(c.value()) {
                                id = v;
                            }
                        }
                        x if x == tags::ISSUER_SCRIPT_COMMAND => cmds.push(c.value().to_vec()),
                        _ => {}
                    }
                }
                Ok(())
            });
            if let Err(e) = parsed {
                self.set_tvr(
                    failure_bit,
                    Topic::Script,
                    None,
                    &format!("script {} malformed: {e}", hex(&id)),
                );
                self.script_done(ScriptResult {
                    template,
                    id,
                    commands: 0,
                    status: NOT_PERFORMED,
                });
                continue;
            }
            self.set_tsi(Tsi::SCRIPT_PROCESSING_PERFORMED);
            let mut status = SUCCESSFUL;
            // what was delivered, named by the one namer of commands (emv_apdu::describe)
            let mut delivered: Vec<String> = Vec::new();
            for (i, cmd) in cmds.iter().enumerate() {
                let resp = self.send_raw(cmd)?;
                delivered.push(format!(
                    "{} → {:04X}",
                    emv_apdu::describe::command_name(cmd),
                    resp.sw.to_u16()
                ));
                if !resp.sw.script_command_ok() {
                    let seq = u8::try_from(i + 1).unwrap_or(0x0F).min(0x0F);
                    status = FAILED | seq;
                    self.set_tvr(
                        failure_bit,
                        Topic::Script,
                        Some("Book 3 §10.10"),
                        &format!(
                            "script {} command {} answered {:04X}",
                            hex(&id),
                            i + 1,
                            resp.sw.to_u16()
                        ),
                    );
                    break;
                }
            }
            self.decide_per(
                Topic::Script,
                "Book 4 Annex A5",
                delivered_words(&id, template, cmds.len(), &delivered, status),
            );
            self.script_done(ScriptResult {
                template,
                id,
                commands: cmds.len(),
                status,
            });
        }
        self.enter(previous);
        Ok(())
    }

    fn script_done(&mut self, result: ScriptResult) {
        self.events.emit(&Event::ScriptResult(&result));
        self.script_results.push(result);
    }
}

/// What a script delivered, in words: its identifier and template, each command by name
/// with the card's status word, and its result byte (Book 4 Annex A5).
fn delivered_words(
    id: &[u8; 4],
    template: u8,
    commands: usize,
    delivered: &[String],
    status: u8,
) -> String {
    let verdict = match status {
        SUCCESSFUL => "successful".to_owned(),
        NOT_PERFORMED => "not performed".to_owned(),
        _ => format!("failed at command {}", status & 0x0F),
    };
    let sent = if delivered.is_empty() {
        "none sent".to_owned()
    } else {
        delivered.join(", ")
    };
    format!(
        "script {} in template {template:02X}, {commands} command(s): {sent}; result \
         {status:02X} ({verdict})",
        hex(id)
    )
}
