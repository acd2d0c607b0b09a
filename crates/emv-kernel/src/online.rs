//! Online processing (EMV 4.4 Book 3 §10.9): the authorisation request through
//! [`emv_auth::Host`], issuer authentication (EXTERNAL AUTHENTICATE or tag 91 in CDOL2),
//! "unable to go online" with the default action codes (Book 3 §10.7, ARC Y3/Z3), the
//! second GENERATE AC (§10.11) and the completion advice.

use emv_apdu::{Transport, commands};
use emv_auth::{
    Advice, AdviceReason, AdviceResponse, AuthRequest, Channel, EntryMode, Host, HostError,
    MessageType, ResponseCode,
};
use emv_tlv::bits::{AcType, Aip, Tsi, Tvr};
use emv_tlv::{Builder, Tag, tags};

use crate::error::KernelError;
use crate::event::{Event, Stage, Topic};
use crate::kernel::Transaction;
use crate::outcome::{OutcomeKind, Reversal};
use crate::pinpad::PinPad;
use crate::util::{cn_digits, hex};

/// ICC data of the authorisation request (DE 55), in this order when present.
pub const REQUEST_ICC_TAGS: &[u32] = &[
    0x9F26, 0x9F27, 0x9F10, 0x9F36, 0x9F37, 0x95, 0x9A, 0x9C, 0x9F02, 0x9F03, 0x5F2A, 0x82, 0x9F1A,
    0x9F34, 0x9F33, 0x9F35, 0x84, 0x5F34, 0x9F09, 0x9F41,
];

/// ICC data of the completion advice: the final cryptogram and the script results.
pub const ADVICE_ICC_TAGS: &[u32] = &[
    0x9F26, 0x9F27, 0x9F10, 0x9F36, 0x9F37, 0x95, 0x9B, 0x9A, 0x9C, 0x9F02, 0x9F03, 0x5F2A, 0x82,
    0x9F1A, 0x9F34, 0x8A, 0x84, 0x5F34, 0x9F5B,
];

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    fn icc_data(&self, list: &[u32]) -> Vec<u8> {
        let mut b = Builder::new();
        for &t in list {
            let tag = Tag::new(t);
            if let Some(v) = self.data.get(tag) {
                b = b.primitive(tag, v);
            }
        }
        b.build()
    }

    fn pan(&self) -> String {
        self.data
            .icc(tags::PAN)
            .and_then(cn_digits)
            .unwrap_or_default()
    }

    fn psn(&self) -> Option<String> {
        self.data
            .icc(tags::PAN_SEQUENCE_NUMBER)
            .and_then(|v| v.first())
            .map(|b| format!("{b:02X}"))
    }

    /// The authorisation request: card, terminal and transaction data, DE 55 ICC data
    /// and the online PIN block.
    pub fn authorisation_request(&mut self) -> AuthRequest {
        self.sync_results();
        let atm = self.profile.is_atm();
        AuthRequest {
            message_type: if atm {
                MessageType::FinancialRequest
            } else {
                MessageType::AuthorisationRequest
            },
            pan: self.pan(),
            psn: self.psn(),
            expiry: self
                .data
                .icc(tags::EXPIRY_DATE)
                .filter(|v| v.len() == 3)
                .map(|v| hex(&v[..2])),
            transaction_type: self.params.transaction_type,
            amount: self.params.amount,
            amount_other: self.params.amount_other,
            currency: self.profile.currency_code,
            channel: if atm { Channel::Atm } else { Channel::Pos },
            terminal_type: self.profile.terminal_type.0,
            terminal_country: self.profile.country_code,
            terminal_id: self.profile.terminal_id.clone(),
            stan: self.params.stan,
            pin: self.online_pin.clone(),
            icc_data: self.icc_data(REQUEST_ICC_TAGS),
            entry_mode: Some(EntryMode::Chip),
            transmitted_at: Some(self.transmitted_at()),
            rrn: None,
            merchant_id: String::new(),
        }
    }

    /// DE 7, transmission date and time (`MMDDhhmmss`): the transaction's date and time.
    fn transmitted_at(&self) -> String {
        let (d, t) = (&self.params.date, &self.params.time);
        format!(
            "{:02}{:02}{:02}{:02}{:02}",
            d.month, d.day, t.hour, t.minute, t.second
        )
    }

    /// Online processing and completion (Book 3 §10.9-10.11).
    pub fn online_processing(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::OnlineProcessing);
        if self.profile.terminal_type.is_offline_only() {
            // Book 3 §10.8 / §10.7: an offline-only terminal that receives an ARQC cannot
            // go online and completes with the default action codes.
            return self.unable_to_go_online("offline-only terminal");
        }
        let request = self.authorisation_request();
        self.events.emit(&Event::HostRequest(&request));
        let answer = self.host.authorise(&request);
        self.events.emit(&Event::HostAnswer(answer.as_ref()));
        let response = match answer {
            Ok(r) => r,
            Err(e) => return self.unable_to_go_online(&e.to_string()),
        };
        let arc = response.response_code.to_arc();
        self.arc = Some(arc);
        self.data
            .set_terminal(tags::AUTHORISATION_RESPONSE_CODE, &arc);
        self.decide(
            Topic::Issuer,
            format!(
                "issuer answered {} ({}): {}",
                response.response_code.as_str(),
                response.response_code.meaning(),
                response.reason
            ),
        );
        if let Some(p) = response.online_pin {
            self.decide(Topic::Issuer, format!("issuer: online PIN {}", p.name()));
        }
        self.host_response = Some(response.clone());
        // Issuer authentication (Book 3 §10.9): EXTERNAL AUTHENTICATE when the AIP says
        // the card supports it; otherwise 91 reaches the card through CDOL2.
        if let Some(iad) = &response.issuer_authentication_data {
            self.data
                .set_terminal(tags::ISSUER_AUTHENTICATION_DATA, iad);
            if self.aip.is_set(Aip::ISSUER_AUTHENTICATION_SUPPORTED) {
                let resp = self.send(&commands::external_authenticate(iad))?;
                self.set_tsi(Tsi::ISSUER_AUTHENTICATION_PERFORMED);
                if resp.sw.is_success() {
                    self.decide_per(
                        Topic::Issuer,
                        "Book 3 §10.9",
                        "EXTERNAL AUTHENTICATE: issuer authenticated",
                    );
                } else {
                    self.set_tvr(
                        Tvr::ISSUER_AUTHENTICATION_FAILED,
                        Topic::Issuer,
                        Some("Book 3 §10.9"),
                        &format!("EXTERNAL AUTHENTICATE answered {:04X}", resp.sw.to_u16()),
                    );
                }
            } else {
                self.decide_per(
                    Topic::Issuer,
                    "Book 3 §10.9",
                    "AIP: no EXTERNAL AUTHENTICATE; Issuer Authentication Data (91) goes in CDOL2",
                );
            }
        }
        self.process_scripts(&response.issuer_scripts, 0x71)?;
        let approve = response.response_code.is_approved();
        let requested = if approve { AcType::Tc } else { AcType::Aac };
        let cid = self.second_generate_ac(requested)?;
        self.process_scripts(&response.issuer_scripts, 0x72)?;
        let approved = cid.ac_type() == AcType::Tc;
        self.complete(if approved {
            OutcomeKind::OnlineApproved
        } else {
            OutcomeKind::OnlineDeclined
        });
        // Book 4 §6.3.9 / Annex A5: tell the host how the card ended the transaction and
        // what became of its scripts. An approval the card declined is reversed.
        if approve && !approved {
            self.reverse("the card declined the approval at the second GENERATE AC");
        } else {
            // the decision log records whether the host took it
            let _ = self.send_advice(AdviceReason::Completion);
        }
        Ok(())
    }

    /// Book 3 §10.7: when the terminal cannot go online, TAC/IAC - Default decide: a match
    /// → AAC with ARC `Z3`, else TC with ARC `Y3`.
    pub(crate) fn unable_to_go_online(&mut self, why: &str) -> Result<(), KernelError> {
        let default = self.default_action_codes();
        let decline = self.tvr.0.iter().zip(&default).any(|(t, d)| t & d != 0);
        let (arc, requested) = if decline {
            (ResponseCode::UNABLE_TO_GO_ONLINE_DECLINED, AcType::Aac)
        } else {
            (ResponseCode::UNABLE_TO_GO_ONLINE_APPROVED, AcType::Tc)
        };
        self.decide_per(
            Topic::Issuer,
            "Book 3 §10.7",
            format!(
                "unable to go online ({why}): TVR {} vs TAC/IAC-Default {}: ARC {}, request {}",
                self.tvr.to_hex(),
                hex(&default),
                arc.as_str(),
                requested.name()
            ),
        );
        let arc = arc.to_arc();
        self.arc = Some(arc);
        self.data
            .set_terminal(tags::AUTHORISATION_RESPONSE_CODE, &arc);
        let cid = self.second_generate_ac(requested)?;
        self.complete(if cid.ac_type() == AcType::Tc {
            OutcomeKind::Approved
        } else {
            OutcomeKind::Declined
        });
        Ok(())
    }

    /// An approval the terminal cannot complete is reversed (0400): the card declined it
    /// at the second GENERATE AC, was pulled out, or failed after the host's answer
    /// (EMV 4.4 Book 4 §12, acquirer interface: the reversal of an approved online
    /// transaction). Called once; the outcome records it.
    pub(crate) fn reverse(&mut self, why: &str) {
        self.decide_per(
            Topic::Advice,
            "Book 4 §12",
            format!("the issuer approved but the transaction did not complete ({why}): reversal"),
        );
        let answer = self.send_advice(AdviceReason::Reversal);
        self.reversal = Some(Reversal {
            why: why.to_owned(),
            response_code: answer.as_ref().ok().map(|a| a.response_code),
            error: answer.err().map(|e| e.to_string()),
        });
    }

    /// Whether the host approved online and no advice has told it how the transaction
    /// ended.
    pub(crate) fn approval_unsettled(&self) -> bool {
        !self.advised
            && self
                .host_response
                .as_ref()
                .is_some_and(|r| r.response_code.is_approved())
    }

    fn send_advice(&mut self, reason: AdviceReason) -> Result<AdviceResponse, HostError> {
        self.advised = true;
        self.sync_results();
        if !self.script_results.is_empty() {
            let isr: Vec<u8> = self.script_results.iter().flat_map(|r| r.bytes()).collect();
            self.data.set_terminal(tags::ISSUER_SCRIPT_RESULTS, &isr);
        }
        let advice = Advice {
            reason,
            request: reason == AdviceReason::Reversal,
            pan: self.pan(),
            psn: self.psn(),
            stan: self.params.stan,
            icc_data: self.icc_data(ADVICE_ICC_TAGS),
            rrn: self.host_response.as_ref().and_then(|r| r.rrn.clone()),
            terminal_id: self.profile.terminal_id.clone(),
            amount: Some(self.params.amount),
            currency: Some(self.profile.currency_code),
            transmitted_at: Some(self.transmitted_at()),
            original: None,
        };
        let delivered = self.host.advise(&advice);
        self.events.emit(&Event::Advice {
            advice: &advice,
            delivered: delivered.as_ref(),
        });
        match &delivered {
            Ok(a) if reason == AdviceReason::Reversal => self.decide(
                Topic::Advice,
                format!(
                    "reversal (0400) sent to the host, which answered {} ({}){}",
                    a.response_code.as_str(),
                    a.response_code.meaning(),
                    if a.reversed {
                        ": the amount is given back"
                    } else {
                        ""
                    }
                ),
            ),
            Ok(a) if a.response_code.is_approved() => {
                self.decide(Topic::Advice, format!("{reason:?} advice sent to the host"));
            }
            Ok(a) => self.decide(
                Topic::Advice,
                format!(
                    "{reason:?} advice sent to the host, which answered {} ({})",
                    a.response_code.as_str(),
                    a.response_code.meaning()
                ),
            ),
            Err(e) => self.decide(
                Topic::Advice,
                format!("{reason:?} advice not delivered: {e}"),
            ),
        }
        delivered
    }
}
