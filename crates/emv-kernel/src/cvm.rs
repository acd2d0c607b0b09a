//! Cardholder verification: the CVM List algorithm of EMV 4.4 Book 3 §10.5 and Book 4
//! §6.3.4, with the offline PIN sub-flow (Book 3 §10.5.1, Book 4 §6.3.4.1-6.3.4.3), online
//! PIN (Book 3 §10.5.2), signature and no CVM, and CVM Results as Book 4 Annex A4 defines
//! them.
//!
//! Summary of the algorithm as implemented (each step is cited again where it happens):
//! 1. AIP byte 1 bit 5 clear → no cardholder verification; CVM Results `3F 00 00`.
//! 2. No CVM List (or one without CV Rules) → CVM Results `3F 00 00`, TSI "cardholder
//!    verification was performed" left clear, TVR "ICC data missing" (configurable).
//! 3. A malformed list (shorter than 8 bytes, odd length) → the transaction terminates.
//! 4. Each rule in turn: a condition that is not understood, whose data is missing or that
//!    is not satisfied → next rule. A CVM code the terminal does not recognise → TVR
//!    "Unrecognised CVM", the rule fails. A CVM the terminal does not support (9F33, PIN
//!    pad, PIN key) → TVR "PIN entry required and PIN pad not present or not working" when
//!    it is a PIN CVM the terminal cannot take at all, the rule fails. Otherwise the CVM
//!    is performed. A failed rule continues with the next rule when its b7 ("apply
//!    succeeding CV Rule") is set, else cardholder verification fails.
//! 5. Success: CVM Results = the rule, result `02` (offline PIN, no CVM) or `00`
//!    (signature, online PIN, PIN + signature).
//! 6. Failure (or the list ran out): TVR "Cardholder verification was not successful";
//!    CVM Results = the last CVM performed with result `01`, or `3F 00 01` if none was
//!    performed.
//! 7. TSI "Cardholder verification was performed" whenever the list had rules.

use emv_apdu::{StatusWord, Transport, commands};
use emv_auth::Host;
use emv_crypto::oda::{self, RsaPublicKey};
use emv_crypto::offline_pin::{self, OfflinePin};
use emv_crypto::pinblock::Fill;
use emv_tlv::bits::{
    Aip, CvRule, CvmCode, CvmCondition, CvmList, CvmResults, TerminalCapabilities as Caps, Tsi, Tvr,
};
use emv_tlv::tags;
use serde::Serialize;

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::{PinEntry, PinKind, PinPad, PinPadStatus, PinPrompt};
use crate::util::{cn_digits, from_bcd, hex};

/// Most offline PIN entries asked for one CVM (a card counts down from at most 15).
const MAX_PIN_ENTRIES: u32 = 16;

/// What became of one CV Rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    /// The condition was not understood, its data was missing, or it was not satisfied.
    ConditionNotSatisfied,
    /// The terminal does not recognise the CVM code.
    Unrecognised,
    /// The terminal does not support the CVM (capabilities, PIN pad, PIN key).
    NotSupported,
    /// The CVM was performed and failed (wrong PIN, bypass, PIN blocked, Fail CVM, ...).
    Failed,
    /// The CVM was performed successfully: cardholder verification ends here.
    Successful,
}

/// One line of the CVM decision log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CvRuleTrace {
    /// Position in the CVM List, from 1.
    pub index: usize,
    /// The CV Rule, hex (`4103`).
    pub rule: String,
    /// The CVM in the spec's words.
    pub cvm: &'static str,
    /// The condition in the spec's words.
    pub condition: &'static str,
    /// What happened.
    pub outcome: RuleOutcome,
    /// Why, with the spec section.
    pub reason: String,
}

/// Result of performing a CVM.
enum Performed {
    /// Successful; CVM Results byte 3.
    Success(u8),
    /// Performed and failed.
    Failed(String),
}

/// What to do after one CV Rule (Book 3 §10.5).
enum RuleStep {
    /// Its condition did not hold: the next rule.
    Next,
    /// Performed successfully: cardholder verification ends.
    Verified,
    /// Unsuccessful: the next rule if `apply_next` (b7), else cardholder verification
    /// fails. `performed`: the CVM was performed (and failed), so it names CVM Results.
    Failed { performed: bool, apply_next: bool },
}

/// Whether the terminal supports a recognised CVM.
enum Support {
    Yes,
    /// No; `pin_pad_bit`: set TVR "PIN entry required and PIN pad not present or not
    /// working".
    No {
        pin_pad_bit: bool,
        reason: String,
    },
}

/// CVM codes this terminal recognises: the EMV 4.3 set (00-05, 1E, 1F). Biometric codes
/// (06-0F, EMV 4.4), payment-system and issuer codes are not recognised.
fn recognised(code: CvmCode) -> bool {
    matches!(
        code,
        CvmCode::Fail
            | CvmCode::PlaintextPinIcc
            | CvmCode::EncipheredPinOnline
            | CvmCode::PlaintextPinIccAndSignature
            | CvmCode::EncipheredPinIcc
            | CvmCode::EncipheredPinIccAndSignature
            | CvmCode::Signature
            | CvmCode::NoCvm
    )
}

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Cardholder verification (Book 3 §10.5, Book 4 §6.3.4). Sets CVM Results (9F34), the
    /// TVR byte 3 bits and TSI byte 1 bit 7; logs each rule in the CVM trace.
    pub fn cardholder_verification(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::CardholderVerification);
        let Some(list) = self.cvm_list()? else {
            return Ok(());
        };
        let rules: Vec<String> = list
            .rules
            .iter()
            .map(|r| format!("{:02X}{:02X}", r.method, r.condition))
            .collect();
        self.decide(
            Topic::Cvm,
            format!(
                "CVM List: X = {}, Y = {}, {} rule(s): {}",
                list.x,
                list.y,
                list.rules.len(),
                rules.join(" ")
            ),
        );
        // the last CVM actually performed (and failed), for CVM Results on failure
        let mut last_failed: Option<CvRule> = None;
        let mut verified = false;
        for (i, &rule) in list.rules.iter().enumerate() {
            match self.apply_rule(i + 1, rule, &list)? {
                RuleStep::Next => {}
                RuleStep::Verified => {
                    verified = true;
                    break;
                }
                RuleStep::Failed {
                    performed,
                    apply_next,
                } => {
                    if performed {
                        last_failed = Some(rule);
                    }
                    if !apply_next {
                        break;
                    }
                }
            }
        }
        if !verified {
            // Book 3 §10.5: CVM List exhausted or a failed rule without b7: "Cardholder
            // verification was not successful"; Book 4 Annex A4: CVM Results name the last
            // CVM performed with result 'failed', or 3F 00 01 if none was performed.
            self.set_tvr(
                Tvr::CVM_NOT_SUCCESSFUL,
                Topic::Cvm,
                Some("Book 3 §10.5"),
                "no CV Rule was performed successfully",
            );
            self.cvm_results = match last_failed {
                Some(rule) => self.results(rule, 0x01),
                None => CvmResults([0x3F, 0x00, 0x01]),
            };
        }
        // Book 3 §10.5 / Book 4 §6.3.4: the list was processed: set TSI byte 1 bit 7.
        self.set_tsi(Tsi::CVM_PERFORMED);
        self.sync_results();
        self.decide(
            Topic::Cvm,
            format!("CVM Results {}", hex(&self.cvm_results.0)),
        );
        Ok(())
    }

    /// The CVM List to process, or `None` when cardholder verification ends before any
    /// rule (CVM Results `3F 00 00`).
    fn cvm_list(&mut self) -> Result<Option<CvmList>, KernelError> {
        // Book 3 §10.5: cardholder verification is performed only when the AIP says the
        // card supports it; CVM Results "3F 00 00" (Book 4 Annex A4: no CVM performed).
        if !self.aip.is_set(Aip::CARDHOLDER_VERIFICATION_SUPPORTED) {
            self.cvm_results = CvmResults::NO_CVM_PERFORMED;
            self.sync_results();
            self.decide_per(
                Topic::Cvm,
                "Book 3 §10.5",
                "AIP: cardholder verification not supported; CVM Results 3F0000",
            );
            return Ok(None);
        }
        let list = match self.data.icc(tags::CVM_LIST) {
            None => None,
            // Book 3 §10.5 / §7.5: a CVM List that is not 8 bytes + whole CV Rules is a
            // format error: the transaction is terminated.
            Some(v) => Some(CvmList::parse(v).map_err(|e| {
                KernelError::terminate(format!("CVM List (8E) malformed: {e} (Book 3 §10.5)"))
            })?),
        };
        match list {
            Some(l) if !l.rules.is_empty() => Ok(Some(l)),
            absent => {
                // Book 3 §10.5: "If the CVM List is not present in the ICC, the terminal
                // shall terminate cardholder verification without setting the 'Cardholder
                // verification was performed' bit in the TSI." A list with no CV Rules is
                // the same as no list (Book 3 §10.5 note).
                self.cvm_results = CvmResults::NO_CVM_PERFORMED;
                self.sync_results();
                let what = if absent.is_some() {
                    "CVM List has no CV Rules"
                } else {
                    "no CVM List"
                };
                if self.config.missing_cvm_list_sets_icc_data_missing {
                    self.set_tvr(
                        Tvr::ICC_DATA_MISSING,
                        Topic::Cvm,
                        Some("Book 3 §10.5"),
                        &format!("{what} although the AIP announces cardholder verification"),
                    );
                }
                self.decide_per(
                    Topic::Cvm,
                    "Book 3 §10.5",
                    format!(
                        "{what}: cardholder verification ends, CVM Results 3F0000, TSI not set"
                    ),
                );
                Ok(None)
            }
        }
    }

    /// One CV Rule (the `index`-th of the list): its condition, then whether the terminal
    /// recognises and supports its CVM, then the CVM itself. Logs the rule's trace.
    fn apply_rule(
        &mut self,
        index: usize,
        rule: CvRule,
        list: &CvmList,
    ) -> Result<RuleStep, KernelError> {
        let code = rule.code();
        let mut trace = CvRuleTrace {
            index,
            rule: hex(&[rule.method, rule.condition]),
            cvm: code.name(),
            condition: rule.condition().name(),
            outcome: RuleOutcome::ConditionNotSatisfied,
            reason: String::new(),
        };
        // Book 3 §10.5: a condition not understood, whose data is missing, or not
        // satisfied: go to the next rule.
        if let Err(reason) = self.condition_satisfied(rule, list) {
            trace.reason = reason;
            self.cv_rule(trace);
            return Ok(RuleStep::Next);
        }
        let (outcome, reason) = if recognised(code) {
            self.supported_rule(rule)?
        } else {
            // Book 3 §10.5: a CVM Code the terminal does not recognise: set
            // 'Unrecognised CVM' and treat the rule as unsuccessful.
            self.set_tvr(
                Tvr::UNRECOGNISED_CVM,
                Topic::Cvm,
                Some("Book 3 §10.5"),
                &format!("CVM code {:02X} not recognised", rule.method & 0x3F),
            );
            let reason = format!(
                "CVM code {:02X} is not recognised by this terminal (Book 3 §10.5)",
                rule.method & 0x3F
            );
            (RuleOutcome::Unrecognised, reason)
        };
        trace.outcome = outcome;
        trace.reason = reason;
        if outcome == RuleOutcome::Successful {
            self.cv_rule(trace);
            return Ok(RuleStep::Verified);
        }
        let apply_next = rule.apply_succeeding_if_unsuccessful();
        trace.reason.push_str(if apply_next {
            "; b7 set: apply succeeding CV Rule"
        } else {
            "; b7 clear: cardholder verification fails"
        });
        self.cv_rule(trace);
        Ok(RuleStep::Failed {
            performed: outcome == RuleOutcome::Failed,
            apply_next,
        })
    }

    /// A recognised CVM: not supported by this terminal, or performed (successfully or
    /// not). Sets CVM Results on success.
    fn supported_rule(&mut self, rule: CvRule) -> Result<(RuleOutcome, String), KernelError> {
        Ok(match self.support(rule.code()) {
            Support::No {
                pin_pad_bit,
                reason,
            } => {
                if pin_pad_bit {
                    // Book 3 §10.5.1 / §10.5.2, Book 4 §6.3.4.1: PIN CVM with no usable
                    // PIN pad (or no PIN capability at all).
                    self.set_tvr(Tvr::PIN_PAD_NOT_WORKING, Topic::Cvm, None, &reason);
                }
                (RuleOutcome::NotSupported, reason)
            }
            Support::Yes => match self.perform(rule)? {
                Performed::Success(result) => {
                    self.cvm_results = self.results(rule, result);
                    (
                        RuleOutcome::Successful,
                        format!("CVM Results byte 3 = {result:02X} (Book 4 Annex A4)"),
                    )
                }
                Performed::Failed(reason) => (RuleOutcome::Failed, reason),
            },
        })
    }

    /// CVM Results for `rule` (Book 4 Annex A4 Table 33): method as in the list (b7 kept
    /// unless configured otherwise), condition, result.
    fn results(&self, rule: CvRule, result: u8) -> CvmResults {
        let method = if self.config.cvm_results_keep_b7 {
            rule.method
        } else {
            rule.method & 0x3F
        };
        CvmResults([method, rule.condition, result])
    }

    fn pin_pad_usable(&self) -> Result<(), String> {
        if !self.profile.pin_pad {
            return Err("no PIN pad".into());
        }
        match self.pinpad.status() {
            PinPadStatus::Working => Ok(()),
            PinPadStatus::NotWorking => Err("PIN pad not working".into()),
            PinPadStatus::Absent => Err("no PIN pad".into()),
        }
    }

    /// Whether the terminal's capabilities support a recognised CVM: Terminal Capabilities
    /// byte 2 (Book 4 Annex A2 Table 26). This is what condition code 03 "if terminal
    /// supports the CVM" asks (Book 3 Annex C3 Table 44): Book 3 §10.5.1 tells "the
    /// terminal does not support offline PIN" apart from "the terminal supports offline
    /// PIN, but the PIN pad is malfunctioning", so a missing or broken PIN pad does not make
    /// the CVM unsupported; it makes it fail when performed (see [`Self::support`]).
    fn capability(&self, code: CvmCode) -> Support {
        let caps = self.profile.capabilities;
        let no = |pin_pad_bit: bool, reason: String| Support::No {
            pin_pad_bit,
            reason,
        };
        match code {
            CvmCode::Fail => Support::Yes,
            CvmCode::NoCvm if caps.is_set(Caps::NO_CVM_REQUIRED) => Support::Yes,
            CvmCode::NoCvm => no(false, "9F33: No CVM required not supported".into()),
            CvmCode::Signature if caps.is_set(Caps::SIGNATURE) => Support::Yes,
            CvmCode::Signature => no(false, "9F33: signature not supported".into()),
            // Book 3 §10.5: "the CVM was online PIN and online PIN was not supported" →
            // 'PIN entry required and PIN pad not present or not working'
            CvmCode::EncipheredPinOnline if caps.is_set(Caps::ENCIPHERED_PIN_ONLINE) => {
                Support::Yes
            }
            CvmCode::EncipheredPinOnline => no(
                true,
                "online PIN required but 9F33 does not support it (Book 3 §10.5)".into(),
            ),
            _ => {
                // offline PIN forms (01, 03, 04, 05)
                let plaintext = caps.is_set(Caps::PLAINTEXT_PIN_ICC);
                let enciphered = caps.is_set(Caps::ENCIPHERED_PIN_OFFLINE);
                let signature = caps.is_set(Caps::SIGNATURE);
                let needed = match code {
                    CvmCode::PlaintextPinIcc => plaintext,
                    CvmCode::PlaintextPinIccAndSignature => plaintext && signature,
                    CvmCode::EncipheredPinIcc => enciphered,
                    _ => enciphered && signature,
                };
                if !plaintext && !enciphered {
                    // Book 3 §10.5: "the CVM included any form of offline PIN, and neither
                    // form of offline PIN was supported"
                    no(
                        true,
                        "offline PIN required but 9F33 supports no offline PIN (Book 3 §10.5)"
                            .into(),
                    )
                } else if !needed {
                    no(
                        false,
                        format!("9F33 {} does not support {}", hex(&caps.0), code.name()),
                    )
                } else {
                    Support::Yes
                }
            }
        }
    }

    /// Whether the terminal can perform a recognised CVM now: the capability (9F33), then
    /// a PIN pad that is present and working for PIN CVMs (Book 3 §10.5.1, §10.5.2: "the
    /// terminal supports offline/online PIN, but the PIN pad is malfunctioning" → 'PIN
    /// entry required and PIN pad not present or not working') and a PIN key for online
    /// PIN.
    fn support(&self, code: CvmCode) -> Support {
        if let no @ Support::No { .. } = self.capability(code) {
            return no;
        }
        let no = |reason: String| Support::No {
            pin_pad_bit: true,
            reason,
        };
        match code {
            CvmCode::EncipheredPinOnline => {
                if let Err(why) = self.pin_pad_usable() {
                    no(format!("online PIN required: {why} (Book 3 §10.5.2)"))
                } else if self.profile.online_pin.is_none() {
                    no(
                        "online PIN required but the terminal has no PIN key (Book 3 §10.5.2)"
                            .into(),
                    )
                } else {
                    Support::Yes
                }
            }
            CvmCode::PlaintextPinIcc
            | CvmCode::PlaintextPinIccAndSignature
            | CvmCode::EncipheredPinIcc
            | CvmCode::EncipheredPinIccAndSignature => match self.pin_pad_usable() {
                Err(why) => no(format!("offline PIN required: {why} (Book 3 §10.5.1)")),
                Ok(()) => Support::Yes,
            },
            _ => Support::Yes,
        }
    }

    /// CVM condition codes (Book 3 Annex C3 Table 44); `Err(reason)` = go to the next rule.
    fn condition_satisfied(&self, rule: CvRule, list: &CvmList) -> Result<(), String> {
        let unattended = self.profile.terminal_type.is_unattended();
        let cash = self.params.is_cash();
        let cashback = self.params.is_cashback();
        let yes_no = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("condition not satisfied: {what}"))
            }
        };
        match rule.condition() {
            CvmCondition::Always => Ok(()),
            CvmCondition::UnattendedCash => yes_no(unattended && cash, "not unattended cash"),
            // not unattended cash, not manual cash, not purchase with cashback
            CvmCondition::NotCashNorCashback => {
                yes_no(!cash && !cashback, "cash or purchase with cashback")
            }
            CvmCondition::TerminalSupportsCvm => {
                // Book 3 Annex C3 Table 44 code 03: the terminal's capabilities (9F33);
                // a CVM it does not recognise, it does not support
                let supported =
                    recognised(rule.code()) && matches!(self.capability(rule.code()), Support::Yes);
                yes_no(supported, "terminal does not support the CVM")
            }
            CvmCondition::ManualCash => yes_no(!unattended && cash, "not manual (attended) cash"),
            CvmCondition::PurchaseWithCashback => yes_no(cashback, "not purchase with cashback"),
            c @ (CvmCondition::UnderX
            | CvmCondition::OverX
            | CvmCondition::UnderY
            | CvmCondition::OverY) => {
                // Book 3 Annex C3: "in the application currency": 9F42 must be present and
                // equal 5F2A; otherwise the data is missing or the condition fails.
                let Some(app_currency) = self.data.icc(tags::APPLICATION_CURRENCY_CODE) else {
                    return Err(
                        "Application Currency Code (9F42) missing: rule bypassed (Book 3 §10.5)"
                            .into(),
                    );
                };
                let txn_currency = self
                    .data
                    .terminal(tags::TRANSACTION_CURRENCY_CODE)
                    .unwrap_or_default();
                if app_currency != txn_currency {
                    return Err(format!(
                        "transaction currency {} is not the application currency {}",
                        hex(txn_currency),
                        hex(app_currency)
                    ));
                }
                let amount = self
                    .data
                    .terminal(tags::AMOUNT_AUTHORISED)
                    .and_then(from_bcd)
                    .unwrap_or(self.params.amount);
                let (limit, name) = match c {
                    CvmCondition::UnderX | CvmCondition::OverX => (u64::from(list.x), "X"),
                    _ => (u64::from(list.y), "Y"),
                };
                // strict comparisons: an amount equal to X or Y is neither under nor over
                let ok = match c {
                    CvmCondition::UnderX | CvmCondition::UnderY => amount < limit,
                    _ => amount > limit,
                };
                let rel = if matches!(c, CvmCondition::UnderX | CvmCondition::UnderY) {
                    "under"
                } else {
                    "over"
                };
                yes_no(
                    ok,
                    &format!("amount {amount} is not {rel} {name} = {limit}"),
                )
            }
            CvmCondition::Unknown(b) => Err(format!(
                "condition code {b:02X} not understood (Book 3 §10.5)"
            )),
        }
    }

    /// Performs a recognised, supported CVM.
    fn perform(&mut self, rule: CvRule) -> Result<Performed, KernelError> {
        Ok(match rule.code() {
            // Book 3 §10.5 / Annex C3: 'Fail CVM processing' always fails
            CvmCode::Fail => Performed::Failed("Fail CVM processing (Book 3 Annex C3)".into()),
            // Book 4 Annex A4: No CVM required → result 'successful'
            CvmCode::NoCvm => Performed::Success(0x02),
            // Book 4 §6.3.4.4: signature is taken after the transaction; result 'unknown'
            CvmCode::Signature => {
                self.signature_required = true;
                self.decide_per(
                    Topic::Signature,
                    "Book 4 §6.3.4.4",
                    "signature required on the receipt",
                );
                Performed::Success(0x00)
            }
            CvmCode::EncipheredPinOnline => self.online_pin()?,
            code => {
                let enciphered = matches!(
                    code,
                    CvmCode::EncipheredPinIcc | CvmCode::EncipheredPinIccAndSignature
                );
                let with_signature = matches!(
                    code,
                    CvmCode::PlaintextPinIccAndSignature | CvmCode::EncipheredPinIccAndSignature
                );
                match self.offline_pin(enciphered)? {
                    Performed::Success(_) if with_signature => {
                        // combined CVM: PIN verified, signature still to be taken → result
                        // 'unknown' (Book 4 Annex A4)
                        self.signature_required = true;
                        self.decide(
                            Topic::OfflinePin,
                            "offline PIN verified; signature also required (combined CVM)",
                        );
                        Performed::Success(0x00)
                    }
                    other => other,
                }
            }
        })
    }

    fn pin_prompt(&self, kind: PinKind, previous_incorrect: bool) -> PinPrompt {
        PinPrompt {
            kind,
            amount: self.params.amount,
            currency: self.profile.currency_code,
            tries_left: self.pin.tries_left,
            previous_incorrect,
            last_try: self.pin.tries_left == Some(1),
        }
    }

    /// Book 4 §6.3.4.3: a PIN bypassed earlier counts as bypassed for later PIN CVMs.
    fn bypassed_earlier(&mut self) -> Option<Performed> {
        if self.pin.bypassed && self.config.bypass_applies_to_later_pin_cvms {
            self.set_tvr(
                Tvr::PIN_NOT_ENTERED,
                Topic::OfflinePin,
                Some("Book 4 §6.3.4.3"),
                "PIN entry bypassed earlier",
            );
            return Some(Performed::Failed(
                "PIN entry was bypassed for an earlier PIN CVM: considered bypassed (Book 4 §6.3.4.3)".into(),
            ));
        }
        None
    }

    fn bypass(&mut self) -> Performed {
        self.pin.bypassed = true;
        self.set_tvr(
            Tvr::PIN_NOT_ENTERED,
            Topic::OfflinePin,
            Some("Book 4 §6.3.4.3"),
            "PIN entry bypassed at the PIN pad",
        );
        Performed::Failed("PIN entry bypassed (Book 4 §6.3.4.3)".into())
    }

    /// Offline PIN, plaintext or enciphered (Book 3 §10.5.1, Book 4 §6.3.4.1).
    fn offline_pin(&mut self, enciphered: bool) -> Result<Performed, KernelError> {
        if let Some(p) = self.bypassed_earlier() {
            return Ok(p);
        }
        if self.pin.blocked {
            self.set_tvr(
                Tvr::PIN_TRY_LIMIT_EXCEEDED,
                Topic::OfflinePin,
                None,
                "offline PIN already blocked in this transaction",
            );
            return Ok(Performed::Failed(
                "offline PIN is blocked (PIN Try Limit exceeded earlier in this transaction)"
                    .into(),
            ));
        }
        let key = if enciphered {
            match self.pin_encipherment_key() {
                Ok(k) => Some(k),
                Err(why) => {
                    return Ok(Performed::Failed(format!(
                        "no ICC key to encipher the PIN: {why} (Book 3 §10.5.1: the enciphered PIN CVM fails)"
                    )));
                }
            }
        } else {
            None
        };
        // Book 4 §6.3.4.1: read the PIN Try Counter before PIN entry; if it is 0 the
        // terminal shall not allow offline PIN entry and sets 'PIN Try Limit exceeded'.
        if self.config.read_pin_try_counter && !self.pin.ptc_read {
            self.read_pin_try_counter()?;
        }
        if self.pin.tries_left == Some(0) {
            self.pin.blocked = true;
            self.set_tvr(
                Tvr::PIN_TRY_LIMIT_EXCEEDED,
                Topic::OfflinePin,
                Some("Book 4 §6.3.4.1"),
                "PIN Try Counter is 0: no offline PIN entry",
            );
            return Ok(Performed::Failed(
                "PIN Try Counter is 0: PIN Try Limit exceeded, PIN not asked (Book 4 §6.3.4.1)"
                    .into(),
            ));
        }
        let kind = if enciphered {
            PinKind::OfflineEnciphered
        } else {
            PinKind::OfflinePlaintext
        };
        let mut entered = 0u32;
        let mut previous_incorrect = false;
        loop {
            // a card that keeps answering 63Cx without counting down cannot keep the
            // cardholder at the PIN pad for ever
            if entered >= MAX_PIN_ENTRIES {
                return Ok(Performed::Failed(format!(
                    "{MAX_PIN_ENTRIES} wrong PINs without the card blocking the PIN: CVM failed"
                )));
            }
            let prompt = self.pin_prompt(kind, previous_incorrect);
            let pin = match self.pinpad.enter_pin(&prompt) {
                PinEntry::Bypass => return Ok(self.bypass()),
                PinEntry::Cancel => {
                    if entered == 0 {
                        self.set_tvr(
                            Tvr::PIN_NOT_ENTERED,
                            Topic::OfflinePin,
                            Some("Book 4 §6.3.4.3"),
                            "cardholder cancelled PIN entry: PIN not entered",
                        );
                    }
                    return Ok(Performed::Failed(format!(
                        "cardholder cancelled PIN entry after {entered} PIN(s)"
                    )));
                }
                // nobody at the PIN pad: PIN entry not performed, as a cancel (Book 4
                // §6.3.4.3), told as it is
                PinEntry::NotEntered(why) => {
                    if entered == 0 {
                        self.set_tvr(
                            Tvr::PIN_NOT_ENTERED,
                            Topic::OfflinePin,
                            Some("Book 4 §6.3.4.3"),
                            &format!("the cardholder was not asked for a PIN ({why})"),
                        );
                    }
                    return Ok(Performed::Failed(format!(
                        "the cardholder was not asked for a PIN: {why}"
                    )));
                }
                PinEntry::Pin(p) => p,
            };
            entered += 1;
            let digits = pin.expose();
            let sw = match self.verify(key.as_ref(), &digits)? {
                Ok(sw) => sw,
                Err(failed) => return Ok(failed),
            };
            drop(digits);
            match self.verify_answer(sw) {
                Some(done) => return Ok(done),
                None => previous_incorrect = true,
            }
        }
    }

    /// GET DATA of the PIN Try Counter (9F17) before PIN entry (Book 4 §6.3.4.1).
    fn read_pin_try_counter(&mut self) -> Result<(), KernelError> {
        self.pin.ptc_read = true;
        let resp = self.send(&commands::get_data(0x9F17))?;
        let ptc = if resp.sw.is_success() {
            emv_tlv::parse_one(&resp.data)
                .ok()
                .filter(|t| t.tag() == tags::PIN_TRY_COUNTER)
                .and_then(|t| match t.value() {
                    [n] => Some(*n),
                    _ => None,
                })
        } else {
            None
        };
        match ptc {
            Some(n) => {
                self.pin.tries_left = Some(n);
                self.decide(Topic::OfflinePin, format!("PIN Try Counter (9F17) = {n}"));
            }
            None => self.decide_per(
                Topic::OfflinePin,
                "Book 4 §6.3.4.1",
                format!(
                    "PIN Try Counter not retrievable ({:04X}): PIN entry proceeds",
                    resp.sw.to_u16()
                ),
            ),
        }
        Ok(())
    }

    /// One VERIFY of `digits`: enciphered under `key` with the card's challenge, or in
    /// clear. The card's status word, or the failed CVM when the card gives no challenge.
    fn verify(
        &mut self,
        key: Option<&RsaPublicKey>,
        digits: &str,
    ) -> Result<Result<StatusWord, Performed>, KernelError> {
        let Some(key) = key else {
            let block = OfflinePin::new(digits)
                .and_then(|p| p.pin_block())
                .map_err(|e| KernelError::PinPad(e.to_string()))?;
            return Ok(Ok(self.send(&commands::verify_plaintext(&block))?.sw));
        };
        // Book 3 §10.5.1: GET CHALLENGE must return an 8-byte unpredictable number
        let resp = self.send(&commands::get_challenge())?;
        let challenge: Option<[u8; 8]> = if resp.sw.is_success() {
            resp.data.as_slice().try_into().ok()
        } else {
            None
        };
        let Some(challenge) = challenge else {
            return Ok(Err(Performed::Failed(format!(
                "GET CHALLENGE answered {:04X} with {} bytes instead of 8: enciphered PIN CVM failed (Book 3 §10.5.1)",
                resp.sw.to_u16(),
                resp.data.len()
            ))));
        };
        let data = offline_pin::encipher_pin(key, digits, &challenge, &mut self.rng)
            .map_err(|e| KernelError::terminate(format!("enciphering the PIN: {e}")))?;
        Ok(Ok(self.send(&commands::verify_enciphered(&data))?.sw))
    }

    /// What the card's answer to VERIFY means (Book 3 §10.5.1, §6.5.12): the CVM's end,
    /// or `None` for a wrong PIN with tries left (the terminal may ask again).
    fn verify_answer(&mut self, sw: StatusWord) -> Option<Performed> {
        Some(match (sw.is_success(), sw.tries_left(), sw.to_u16()) {
            (true, _, _) => {
                self.decide(Topic::OfflinePin, "offline PIN verified by the card (9000)");
                Performed::Success(0x02)
            }
            (_, Some(n), _) if n > 0 => {
                // Book 3 §10.5.1: wrong PIN, n tries left: the terminal may ask again
                self.pin.tries_left = Some(n);
                self.decide_per(
                    Topic::OfflinePin,
                    "Book 3 §10.5.1",
                    format!(
                        "wrong PIN ({:04X}): {n} {} left, asking again",
                        sw.to_u16(),
                        if n == 1 { "try" } else { "tries" }
                    ),
                );
                return None;
            }
            (_, Some(_), _) => {
                self.pin.tries_left = Some(0);
                self.pin.blocked = true;
                self.set_tvr(
                    Tvr::PIN_TRY_LIMIT_EXCEEDED,
                    Topic::OfflinePin,
                    Some("Book 3 §10.5.1"),
                    "VERIFY answered 63C0: PIN Try Limit exceeded",
                );
                Performed::Failed("wrong PIN and no tries left (63C0)".into())
            }
            (_, None, 0x6983) => {
                self.pin.blocked = true;
                self.set_tvr(
                    Tvr::PIN_TRY_LIMIT_EXCEEDED,
                    Topic::OfflinePin,
                    Some("Book 3 §10.5.1"),
                    "VERIFY answered 6983: PIN blocked",
                );
                Performed::Failed("PIN blocked (6983)".into())
            }
            (_, None, 0x6984) => {
                self.pin.blocked = true;
                self.set_tvr(
                    Tvr::PIN_TRY_LIMIT_EXCEEDED,
                    Topic::OfflinePin,
                    Some("Book 3 §10.5.1"),
                    "VERIFY answered 6984: reference data invalidated",
                );
                Performed::Failed("reference data invalidated (6984)".into())
            }
            (_, None, other) => Performed::Failed(format!(
                "VERIFY answered {other:04X} ({}): offline PIN CVM failed",
                sw.meaning()
            )),
        })
    }

    /// The key for enciphered offline PIN (Book 2 §7.1): the ICC PIN Encipherment Public
    /// Key (9F2D/9F2E/9F2F) if the card has one, else the ICC Public Key.
    fn pin_encipherment_key(&mut self) -> Result<RsaPublicKey, String> {
        if let Some(cert) = self
            .data
            .icc(tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE)
            .map(<[u8]>::to_vec)
        {
            let issuer = self.recover_issuer_key().map_err(|f| f.reason)?;
            let exp = self
                .data
                .icc(tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT)
                .ok_or("ICC PIN Encipherment Public Key Exponent (9F2E) missing")?
                .to_vec();
            let rem = self
                .data
                .icc(tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER)
                .unwrap_or_default()
                .to_vec();
            let pan = self.data.icc(tags::PAN).ok_or("PAN missing")?.to_vec();
            let today = oda::YearMonth::from_transaction_date(&self.params.date.to_bcd())
                .map_err(|e| e.to_string())?;
            let key = oda::recover_icc_pin_encipherment_public_key(
                &issuer, &cert, &rem, &exp, &pan, today,
            )
            .map_err(|e| e.to_string())?;
            return Ok(key.key);
        }
        if self.icc_key.is_none() {
            if self.data.icc(tags::ICC_PUBLIC_KEY_CERTIFICATE).is_none() {
                return Err(
                    "neither an ICC PIN Encipherment key (9F2D) nor an ICC key (9F46)".into(),
                );
            }
            self.recover_icc_key().map_err(|f| f.reason)?;
        }
        self.icc_key
            .clone()
            .ok_or_else(|| "ICC public key not recovered".into())
    }

    /// Online PIN (Book 3 §10.5.2): the PIN is enciphered under the terminal PIN key (ISO
    /// 9564 format 0 or 4) and sent with the authorisation request.
    fn online_pin(&mut self) -> Result<Performed, KernelError> {
        if let Some(p) = self.bypassed_earlier() {
            return Ok(p);
        }
        let prompt = self.pin_prompt(PinKind::Online, false);
        let pin = match self.pinpad.enter_pin(&prompt) {
            PinEntry::Bypass => return Ok(self.bypass()),
            PinEntry::Cancel => {
                self.set_tvr(
                    Tvr::PIN_NOT_ENTERED,
                    Topic::OnlinePin,
                    Some("Book 3 §10.5.2"),
                    "cardholder cancelled online PIN entry",
                );
                return Ok(Performed::Failed(
                    "cardholder cancelled online PIN entry".into(),
                ));
            }
            PinEntry::NotEntered(why) => {
                self.set_tvr(
                    Tvr::PIN_NOT_ENTERED,
                    Topic::OnlinePin,
                    Some("Book 3 §10.5.2"),
                    &format!("the cardholder was not asked for an online PIN ({why})"),
                );
                return Ok(Performed::Failed(format!(
                    "the cardholder was not asked for an online PIN: {why}"
                )));
            }
            PinEntry::Pin(p) => p,
        };
        let Some(cfg) = self.profile.online_pin.clone() else {
            return Ok(Performed::Failed("no online PIN key".into()));
        };
        let pan = self
            .data
            .icc(tags::PAN)
            .and_then(cn_digits)
            .ok_or_else(|| KernelError::terminate("Application PAN (5A) is not a cn value"))?;
        let mut nibbles = vec![0u8; 16];
        self.rng.fill(&mut nibbles);
        let fill = Fill::Nibbles(nibbles.iter().map(|n| n & 0x0F).collect());
        let data = cfg
            .pin_block(&pin, &pan, &fill)
            .map_err(|e| KernelError::terminate(format!("building the online PIN block: {e}")))?;
        self.online_pin = Some(data);
        // Book 3 §10.5.2: 'Online PIN entered'; cardholder verification is considered
        // successful and complete; CVM Result 'unknown' (Book 4 Annex A4).
        self.set_tvr(
            Tvr::ONLINE_CVM_CAPTURED,
            Topic::OnlinePin,
            Some("Book 3 §10.5.2"),
            "online PIN entered",
        );
        self.decide(
            Topic::OnlinePin,
            format!(
                "online PIN captured: ISO 9564 format {} block under {}",
                cfg.key.format(),
                cfg.key_id
            ),
        );
        Ok(Performed::Success(0x00))
    }
}
