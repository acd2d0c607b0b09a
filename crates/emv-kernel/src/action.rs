//! Terminal action analysis (EMV 4.4 Book 3 §10.7), the GENERATE AC command (§6.5.5) with
//! CDA (Book 2 §6.6) and card action analysis (Book 3 §10.8).

use emv_apdu::{Transport, commands};
use emv_auth::Host;
use emv_crypto::oda;
use emv_tlv::bits::{AcType, Cid, Tsi, Tvr};
use emv_tlv::{Dol, Tag, tags};

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::{Cda, Transaction};
use crate::outcome::OutcomeKind;
use crate::pinpad::PinPad;
use crate::util::hex;

/// A GENERATE AC response (Book 3 §6.5.5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenAcResponse {
    pub cid: Cid,
    pub atc: [u8; 2],
    pub ac: Option<[u8; 8]>,
    pub iad: Option<Vec<u8>>,
    pub sdad: Option<Vec<u8>>,
    /// The response's data objects in the order received, 9F4B left out (the CDA
    /// Transaction Data Hash input, Book 2 §6.6.2).
    pub tlvs_for_hash: Vec<u8>,
}

fn or_codes(a: [u8; 5], b: &[u8; 5]) -> [u8; 5] {
    let mut out = a;
    for (o, x) in out.iter_mut().zip(b) {
        *o |= x;
    }
    out
}

fn matches(tvr: &[u8; 5], codes: &[u8; 5]) -> bool {
    tvr.iter().zip(codes).any(|(t, c)| t & c != 0)
}

/// `true` if the card may answer `returned` to a request for `requested` (Book 3 §6.5.5.4,
/// §9.3: the cryptogram hierarchy is TC > ARQC > AAC and the card may answer the type
/// requested or a lower one, never a higher one).
fn allowed(requested: AcType, returned: AcType) -> bool {
    matches!(
        (requested, returned),
        (_, AcType::Aac) | (AcType::Tc, AcType::Tc | AcType::Arqc) | (AcType::Arqc, AcType::Arqc)
    )
}

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Issuer Action Code from the card, or its default when absent (Book 3 §10.7:
    /// IAC - Denial defaults to all zeros, IAC - Online and IAC - Default to all ones).
    fn iac(&self, tag: Tag, default: u8) -> [u8; 5] {
        self.data
            .icc(tag)
            .and_then(|v| <[u8; 5]>::try_from(v).ok())
            .unwrap_or([default; 5])
    }

    /// The action codes that decide "unable to go online" (Book 3 §10.7).
    pub(crate) fn default_action_codes(&self) -> [u8; 5] {
        or_codes(self.profile.tac_default, &self.iac(tags::IAC_DEFAULT, 0xFF))
    }

    /// Terminal action analysis (Book 3 §10.7): the cryptogram to request in the first
    /// GENERATE AC.
    pub fn terminal_action_analysis(&mut self) -> Result<AcType, KernelError> {
        self.enter(Stage::TerminalActionAnalysis);
        let tvr = self.tvr.0;
        let denial = or_codes(self.profile.tac_denial, &self.iac(tags::IAC_DENIAL, 0x00));
        if matches(&tvr, &denial) {
            self.decide_per(
                Topic::ActionAnalysis,
                "Book 3 §10.7",
                format!(
                    "TVR {} matches TAC/IAC-Denial {}: request AAC",
                    hex(&tvr),
                    hex(&denial)
                ),
            );
            return Ok(AcType::Aac);
        }
        let tt = self.profile.terminal_type;
        if tt.is_offline_only() {
            let default = self.default_action_codes();
            let r = if matches(&tvr, &default) {
                AcType::Aac
            } else {
                AcType::Tc
            };
            self.decide_per(
                Topic::ActionAnalysis,
                "Book 3 §10.7",
                format!(
                    "offline-only terminal: TVR {} vs TAC/IAC-Default {}: request {}",
                    hex(&tvr),
                    hex(&default),
                    r.name()
                ),
            );
            return Ok(r);
        }
        if tt.is_online_only() {
            self.decide_per(
                Topic::ActionAnalysis,
                "Book 3 §10.7",
                "online-only terminal: request ARQC",
            );
            return Ok(AcType::Arqc);
        }
        let online = or_codes(self.profile.tac_online, &self.iac(tags::IAC_ONLINE, 0xFF));
        let r = if matches(&tvr, &online) {
            AcType::Arqc
        } else {
            AcType::Tc
        };
        self.decide_per(
            Topic::ActionAnalysis,
            "Book 3 §10.7",
            format!(
                "TVR {} vs TAC/IAC-Online {}: request {}",
                hex(&tvr),
                hex(&online),
                r.name()
            ),
        );
        Ok(r)
    }

    fn dol_data(&mut self, tag: Tag, name: &str) -> Result<Vec<u8>, KernelError> {
        self.sync_results();
        let dol = self
            .data
            .icc(tag)
            .ok_or_else(|| KernelError::terminate(format!("{name} missing (Book 3 §7.2)")))?;
        let dol = Dol::parse(dol)
            .map_err(|e| KernelError::terminate(format!("{name} malformed: {e} (Book 3 §5.4)")))?;
        Ok(self.data.build_dol(&dol))
    }

    /// Sends GENERATE AC and parses the answer; terminates on an error status or a
    /// malformed answer (Book 3 §6.5.5.4).
    fn generate_ac(
        &mut self,
        requested: AcType,
        cda: bool,
        data: &[u8],
    ) -> Result<GenAcResponse, KernelError> {
        let resp = self.send(&commands::generate_ac(requested, cda, data))?;
        if !resp.sw.is_success() {
            return Err(KernelError::terminate(format!(
                "GENERATE AC answered {:04X} ({}) (Book 3 §6.5.5)",
                resp.sw.to_u16(),
                resp.sw.meaning()
            )));
        }
        let tlv = emv_tlv::parse_one(&resp.data)?;
        let bad = |why: &str| {
            KernelError::terminate(format!("GENERATE AC response: {why} (Book 3 §6.5.5.4)"))
        };
        let parsed = match tlv.tag() {
            t if t == tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_1 => {
                let v = tlv.value();
                if v.len() < 11 || v.len() > 11 + 32 {
                    return Err(bad(
                        "format 1 must be CID, ATC, AC and at most 32 bytes of IAD",
                    ));
                }
                GenAcResponse {
                    cid: Cid(v[0]),
                    atc: [v[1], v[2]],
                    ac: v[3..11].try_into().ok(),
                    iad: (v.len() > 11).then(|| v[11..].to_vec()),
                    sdad: None,
                    tlvs_for_hash: Vec::new(),
                }
            }
            t if t == tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_2 => {
                let mut cid = None;
                let mut atc = None;
                let mut ac = None;
                let mut iad = None;
                let mut sdad = None;
                let mut tlvs_for_hash = Vec::new();
                for obj in tlv.children() {
                    let obj = obj?;
                    let v = obj.value();
                    match obj.tag().value() {
                        0x9F27 => cid = v.first().copied().filter(|_| v.len() == 1),
                        0x9F36 => atc = <[u8; 2]>::try_from(v).ok(),
                        0x9F26 => ac = <[u8; 8]>::try_from(v).ok(),
                        0x9F10 => iad = Some(v.to_vec()),
                        0x9F4B => sdad = Some(v.to_vec()),
                        _ => {}
                    }
                    if obj.tag() != tags::SIGNED_DYNAMIC_APPLICATION_DATA {
                        tlvs_for_hash.extend_from_slice(obj.raw());
                    }
                }
                let (Some(cid), Some(atc)) = (cid, atc) else {
                    return Err(bad("format 2 lacks a valid CID (9F27) or ATC (9F36)"));
                };
                if ac.is_none() && sdad.is_none() {
                    return Err(bad(
                        "neither an Application Cryptogram (9F26) nor a CDA signature (9F4B)",
                    ));
                }
                GenAcResponse {
                    cid: Cid(cid),
                    atc,
                    ac,
                    iad,
                    sdad,
                    tlvs_for_hash,
                }
            }
            t => return Err(bad(&format!("template {t} is neither 80 nor 77"))),
        };
        if parsed.cid.ac_type() == AcType::Rfu {
            return Err(bad("CID names the RFU cryptogram type"));
        }
        if !allowed(requested, parsed.cid.ac_type()) {
            return Err(KernelError::terminate(format!(
                "card returned {} to a request for {} (Book 3 §6.5.5.4)",
                parsed.cid.ac_type().name(),
                requested.name()
            )));
        }
        self.data.set_icc(tags::CID, &[parsed.cid.0]);
        self.data.set_icc(tags::ATC, &parsed.atc);
        if let Some(ac) = parsed.ac {
            self.data.set_icc(tags::APPLICATION_CRYPTOGRAM, &ac);
        }
        if let Some(iad) = &parsed.iad {
            self.data.set_icc(tags::ISSUER_APPLICATION_DATA, iad);
        }
        Ok(parsed)
    }

    /// CDA signature check of a GENERATE AC answer (Book 2 §6.6.2). `true`: verified.
    fn verify_cda(&mut self, resp: &GenAcResponse, cdol2: Option<&[u8]>) -> bool {
        let Some(sdad) = &resp.sdad else {
            self.set_tvr(
                Tvr::CDA_FAILED,
                Topic::DataAuthentication,
                Some("Book 2 §6.6.2"),
                "CDA requested but the card returned no signature (9F4B)",
            );
            return false;
        };
        let Some(icc_key) = self.icc_key.clone() else {
            self.set_tvr(
                Tvr::CDA_FAILED,
                Topic::DataAuthentication,
                Some("Book 2 §6.6.2"),
                "no ICC public key",
            );
            return false;
        };
        let un = self
            .data
            .terminal(tags::UNPREDICTABLE_NUMBER)
            .unwrap_or_default()
            .to_vec();
        let hash = oda::cda_transaction_data_hash(
            &self.pdol_data,
            &self.cdol1_data,
            cdol2,
            &resp.tlvs_for_hash,
        );
        match oda::verify_cda(&icc_key, sdad, &un, resp.cid.0, &hash) {
            Ok(rec) => {
                self.data
                    .set_icc(tags::APPLICATION_CRYPTOGRAM, &rec.application_cryptogram);
                self.data
                    .set_icc(tags::ICC_DYNAMIC_NUMBER, &rec.icc_dynamic_number);
                self.decide_per(
                    Topic::DataAuthentication,
                    "Book 2 §6.6.2",
                    "CDA signature verified",
                );
                true
            }
            Err(e) => {
                self.set_tvr(
                    Tvr::CDA_FAILED,
                    Topic::DataAuthentication,
                    Some("Book 2 §6.6.2"),
                    &format!("{e}"),
                );
                false
            }
        }
    }

    /// The first GENERATE AC with CDOL1 (CDA requested for TC/ARQC when CDA was selected)
    /// and card action analysis of the answer (Book 3 §10.8). Returns whether CDA failed.
    pub fn first_generate_ac(&mut self, requested: AcType) -> Result<bool, KernelError> {
        self.enter(Stage::TerminalActionAnalysis);
        let data = self.dol_data(tags::CDOL1, "CDOL1 (8C)")?;
        self.cdol1_data = data.clone();
        // Book 2 §6.6 / Book 4 §6.3.7: a CDA signature is requested with TC and ARQC
        let cda = self.cda == Cda::Ready && requested != AcType::Aac;
        let resp = self.generate_ac(requested, cda, &data)?;
        self.enter(Stage::CardActionAnalysis);
        self.set_tsi(Tsi::CARD_RISK_MANAGEMENT_PERFORMED);
        self.first_cid = Some(resp.cid);
        let t = resp.cid.ac_type();
        self.decide_per(
            Topic::Cryptogram,
            "Book 3 §10.8",
            format!(
                "card returned {} (CID {:02X}) to a request for {}",
                t.name(),
                resp.cid.0,
                requested.name()
            ),
        );
        if resp.cid.advice_required() || resp.cid.reason() != 0 {
            self.decide(
                Topic::Cryptogram,
                format!(
                    "CID: advice {}, reason: {}",
                    if resp.cid.advice_required() {
                        "required"
                    } else {
                        "not required"
                    },
                    resp.cid.reason_text()
                ),
            );
        }
        let mut cda_failed = false;
        if cda && t != AcType::Aac {
            cda_failed = !self.verify_cda(&resp, None);
        } else if resp.ac.is_none() {
            return Err(KernelError::terminate(
                "GENERATE AC response lacks the Application Cryptogram (9F26) (Book 3 §6.5.5.4)",
            ));
        }
        if cda_failed {
            self.cda = Cda::FirstFailed;
        }
        Ok(cda_failed)
    }

    /// Card action analysis outcome and what follows (Book 3 §10.8): AAC → declined, TC →
    /// approved (declined if CDA failed), ARQC → online processing (or a decline with a
    /// second GENERATE AC for an AAC if CDA failed).
    pub fn after_first_generate_ac(&mut self) -> Result<(), KernelError> {
        let Some(cid) = self.first_cid else {
            return Err(KernelError::terminate("no GENERATE AC answer"));
        };
        match cid.ac_type() {
            AcType::Aac => {
                self.complete(OutcomeKind::Declined);
                self.decide_per(
                    Topic::Cryptogram,
                    "Book 3 §10.8",
                    "offline decline: card returned AAC",
                );
            }
            AcType::Tc if self.cda == Cda::FirstFailed => {
                self.complete(OutcomeKind::Declined);
                self.decide_per(
                    Topic::Cryptogram,
                    "Book 2 §6.6.2",
                    "TC with a failed CDA signature: declined",
                );
            }
            AcType::Tc => {
                self.complete(OutcomeKind::Approved);
                self.decide_per(
                    Topic::Cryptogram,
                    "Book 3 §10.8",
                    "offline approval: card returned TC",
                );
            }
            AcType::Arqc if self.cda == Cda::FirstFailed => {
                self.decide_per(
                    Topic::Cryptogram,
                    "Book 2 §6.6.2",
                    "ARQC with a failed CDA signature: not sent online, completed with an AAC",
                );
                let final_cid = self.second_generate_ac(AcType::Aac)?;
                self.complete(if final_cid.ac_type() == AcType::Tc {
                    OutcomeKind::Approved
                } else {
                    OutcomeKind::Declined
                });
            }
            AcType::Arqc => self.online_processing()?,
            AcType::Rfu => return Err(KernelError::terminate("RFU cryptogram type")),
        }
        Ok(())
    }

    /// The second GENERATE AC with CDOL2 (Book 3 §10.11): returns the final CID.
    pub(crate) fn second_generate_ac(&mut self, requested: AcType) -> Result<Cid, KernelError> {
        self.enter(Stage::Completion);
        let data = self.dol_data(tags::CDOL2, "CDOL2 (8D)")?;
        let cda = self.cda == Cda::Ready && requested == AcType::Tc;
        let resp = self.generate_ac(requested, cda, &data)?;
        if resp.cid.ac_type() == AcType::Arqc {
            return Err(KernelError::terminate(
                "card returned an ARQC to the second GENERATE AC (Book 3 §6.5.5.4)",
            ));
        }
        let mut cid = resp.cid;
        if cda && cid.ac_type() == AcType::Tc && !self.verify_cda(&resp, Some(&data)) {
            self.decide_per(
                Topic::Cryptogram,
                "Book 2 §6.6.2",
                "TC with a failed CDA signature: transaction declined",
            );
            // the TC cannot be trusted: treated as a decline
            cid = Cid(cid.0 & 0x3F);
        } else if !cda && resp.ac.is_none() {
            return Err(KernelError::terminate(
                "GENERATE AC response lacks the Application Cryptogram (9F26) (Book 3 §6.5.5.4)",
            ));
        }
        self.final_cid = Some(resp.cid);
        self.decide(
            Topic::Cryptogram,
            format!(
                "second GENERATE AC: card returned {} (CID {:02X}) to a request for {}",
                resp.cid.ac_type().name(),
                resp.cid.0,
                requested.name()
            ),
        );
        Ok(cid)
    }
}
