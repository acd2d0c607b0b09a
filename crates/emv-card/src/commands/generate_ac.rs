//! GENERATE AC, first and second (EMV 4.4 Book 3 §6.5.5, §9.3 card action analysis;
//! Book 2 §8.1 cryptograms, §8.2 issuer authentication, §6.6 CDA; CSU Book 3 Annex C10).

use emv_apdu::{CommandView, ReferenceControl, Response, StatusWord};
use emv_crypto::cryptogram::{
    self, AC_DATA_ELEMENTS, AC_TERMINAL_ELEMENTS, AcData, ArpcResponse, Csu, CsuCounters,
};
use emv_crypto::oda;
use emv_tlv::bits::AcType;
use emv_tlv::{Tag, encode_tlv};

use super::{dol_value, split_dol};
use crate::card::{ArpcCheck, CmdResult, FirstAc, IssuerAuth, OnlineTx, PinResult, TxPhase};
use crate::cvr::{self, CvrInputs};
use crate::store::CardStore;
use crate::{Card, Personalisation};

/// ARCs meaning "approved" (ISO 8583 DE 39: 00, 08, 10, 11).
fn arc_approved(arc: &[u8]) -> bool {
    matches!(arc, b"00" | b"08" | b"10" | b"11")
}

/// ARCs a terminal sets when it could not go online (Book 4 Annex A6: Y3, Z3).
fn arc_unable_online(arc: &[u8]) -> bool {
    matches!(arc, b"Y3" | b"Z3")
}

/// A GENERATE AC's cryptogram before the response is formatted.
struct Cryptogram {
    result: AcType,
    ac: [u8; 8],
    iad: Vec<u8>,
}

/// What a CDA signature covers besides the cryptogram (Book 2 §6.6.1).
struct CdaData<'a> {
    pdol_values: &'a [u8],
    cdol1_values: &'a [u8],
    cdol2_values: Option<&'a [u8]>,
    /// The terminal's unpredictable number of the first GENERATE AC.
    un: [u8; 4],
}

/// Verifies tag 91 against the first ARQC (method 1 or 2 per CVN; Book 2 §8.2).
pub(crate) fn check_arpc(
    perso: &Personalisation,
    atc: u16,
    first: &FirstAc,
    tag91: &[u8],
) -> ArpcCheck {
    match cryptogram::verify_issuer_authentication_data(
        perso.cvn,
        &perso.keys.ac,
        atc,
        &first.un,
        &first.ac,
        tag91,
    ) {
        Ok(resp) => ArpcCheck::Passed(resp),
        Err(_) => ArpcCheck::Failed,
    }
}

impl<S: CardStore> Card<S> {
    pub(crate) fn generate_ac(
        &mut self,
        view: &CommandView<'_>,
        rc: ReferenceControl,
    ) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // The phase is taken for the command; each branch hands back the one it leaves.
        let phase = std::mem::take(&mut self.session.phase);
        let (result, next) = match phase {
            // Only after GET PROCESSING OPTIONS and before the final cryptogram.
            TxPhase::Ready | TxPhase::Offline | TxPhase::Completed(_) => {
                (Err(StatusWord::ConditionsNotSatisfied), phase)
            }
            // P1 b8–b7 = 11 is RFU (Book 3 §6.5.5.2 Table 12).
            _ if rc.ac_type == AcType::Rfu => (Err(StatusWord::IncorrectP1P2), phase),
            TxPhase::Initiated { pdol_values } => {
                self.first_generate_ac(i, view.data, rc, pdol_values)
            }
            TxPhase::Online(online) => self.second_generate_ac(i, view.data, rc, online),
        };
        self.session.phase = next;
        result
    }

    fn cvr_inputs(
        &self,
        i: usize,
        first: AcType,
        second: Option<AcType>,
        issuer_auth: &IssuerAuth,
    ) -> CvrInputs {
        let s = &self.session;
        let st = &self.state;
        let r = &self.perso.risk;
        let lower = self
            .data_value(i, 0x9F14)
            .and_then(|v| v.first().copied())
            .unwrap_or(r.lower_consecutive_offline_limit);
        let upper = self
            .data_value(i, 0x9F23)
            .and_then(|v| v.first().copied())
            .unwrap_or(r.upper_consecutive_offline_limit);
        CvrInputs {
            first: Some(first),
            second,
            pin_performed: s.pin.result != PinResult::NotPerformed,
            pin_enciphered: s.pin.enciphered,
            pin_failed: s.pin.result == PinResult::Failed,
            pin_successful: s.pin.result == PinResult::Successful,
            pin_try_counter: st.pin_try_counter,
            pin_limit_exceeded: st.pin_try_counter == 0,
            last_online_not_completed: st.last_online_not_completed,
            issuer_auth_failed_last: st.issuer_auth_failed_last,
            issuer_auth_performed: issuer_auth.performed(),
            issuer_auth_failed: issuer_auth.failed(),
            script_commands: st.script_commands_last,
            script_failed: st.script_failed_last,
            pin_changed: st.pin_changed_last,
            lower_offline_exceeded: st.consecutive_offline >= lower,
            upper_offline_exceeded: st.consecutive_offline >= upper,
            go_online_next: st.go_online_next,
            unable_to_go_online: false,
            dda_performed: s.dda_performed,
            new_card: st.last_online_atc == 0,
            consecutive_offline: st.consecutive_offline,
        }
    }

    /// The first GENERATE AC: an ARQC starts the online phase, a TC or AAC ends the
    /// transaction. On an error the transaction stays where it was.
    fn first_generate_ac(
        &mut self,
        i: usize,
        data: &[u8],
        rc: ReferenceControl,
        pdol_values: Vec<u8>,
    ) -> (CmdResult, TxPhase) {
        let app = &self.perso.apps[i];
        let Some(values) = split_dol(&app.cdol1, data) else {
            return (
                Err(StatusWord::WrongLength),
                TxPhase::Initiated { pdol_values },
            );
        };
        // the terminal's part of the AC data (Book 2 §8.1.1); AIP and ATC follow in compute_ac
        let tx_data: Vec<u8> = AC_DATA_ELEMENTS[..AC_TERMINAL_ELEMENTS]
            .iter()
            .flat_map(|&(t, l, _)| dol_value(&values, t, l))
            .collect();
        let un: [u8; 4] = dol_value(&values, 0x9F37, 4).try_into().unwrap_or([0; 4]);
        let c = match self.first_cryptogram(i, rc, &tx_data, un, &values) {
            Ok(c) => c,
            Err(sw) => return (Err(sw), TxPhase::Initiated { pdol_values }),
        };
        let cda = CdaData {
            pdol_values: &pdol_values,
            cdol1_values: data,
            cdol2_values: None,
            un,
        };
        let response = self.ac_response(i, rc, &c, &cda);
        let next = if c.result == AcType::Arqc {
            TxPhase::Online(OnlineTx {
                pdol_values,
                first: FirstAc {
                    ac: c.ac,
                    un,
                    cdol1_values: data.to_vec(),
                    tx_data,
                },
                issuer_auth: IssuerAuth::NotPerformed,
                script_commands: 0,
            })
        } else {
            TxPhase::Offline
        };
        (response, next)
    }

    fn first_cryptogram(
        &mut self,
        i: usize,
        rc: ReferenceControl,
        tx_data: &[u8],
        un: [u8; 4],
        cdol1_values: &[(u32, Vec<u8>)],
    ) -> Result<Cryptogram, StatusWord> {
        let aid = &self.perso.apps[i].aid;
        // Card action analysis (Book 3 §9.3; CCD Annex C): the card never returns more
        // than asked (AAC < ARQC < TC) and goes online when its risk checks say so.
        let probe = self.cvr_inputs(i, AcType::Tc, None, &IssuerAuth::NotPerformed);
        let r = &self.perso.risk;
        let wants_online = probe.lower_offline_exceeded
            || probe.go_online_next
            || probe.last_online_not_completed
            || probe.issuer_auth_failed_last
            || probe.script_failed
            || (probe.pin_limit_exceeded && r.online_if_pin_blocked);
        let declines = self.session.pin.limit_exceeded_now && r.decline_if_pin_blocked;
        let result = if self.state.app_blocked(aid) || rc.ac_type == AcType::Aac {
            // A blocked application gives AAC only (Book 3 §6.5.1).
            AcType::Aac
        } else if rc.ac_type == AcType::Arqc {
            AcType::Arqc
        } else if declines {
            AcType::Aac
        } else if wants_online {
            AcType::Arqc
        } else {
            AcType::Tc
        };

        let cvr = self.cvr_inputs(i, result, None, &IssuerAuth::NotPerformed);
        let iad = cvr::iad(self.perso.cvn, self.perso.dki, &cvr);
        let ac = self.compute_ac(i, tx_data, un, &iad)?;

        // State changes of this GENERATE AC, durable before the answer.
        match result {
            AcType::Tc => {
                self.state.consecutive_offline = self.state.consecutive_offline.saturating_add(1)
            }
            AcType::Arqc => self.state.last_online_not_completed = true,
            _ => {}
        }
        // a TC or AAC ends the transaction: it goes into the log (Book 3 Annex D)
        if result != AcType::Arqc {
            self.log_transaction(i, result, cdol1_values);
        }
        self.persist()?;
        Ok(Cryptogram { result, ac, iad })
    }

    /// The second GENERATE AC ends the online transaction; on an error it stays online.
    fn second_generate_ac(
        &mut self,
        i: usize,
        data: &[u8],
        rc: ReferenceControl,
        mut online: OnlineTx,
    ) -> (CmdResult, TxPhase) {
        match self.second_cryptogram(i, data, rc, &mut online) {
            Ok(c) => {
                let cda = CdaData {
                    pdol_values: &online.pdol_values,
                    cdol1_values: &online.first.cdol1_values,
                    cdol2_values: Some(data),
                    un: online.first.un,
                };
                let response = self.ac_response(i, rc, &c, &cda);
                (response, TxPhase::Completed(online))
            }
            Err(sw) => (Err(sw), TxPhase::Online(online)),
        }
    }

    fn second_cryptogram(
        &mut self,
        i: usize,
        data: &[u8],
        rc: ReferenceControl,
        online: &mut OnlineTx,
    ) -> Result<Cryptogram, StatusWord> {
        // Only TC or AAC may be asked (Book 3 §6.5.5.4, §9.3).
        if rc.ac_type == AcType::Arqc {
            return Err(StatusWord::ConditionsNotSatisfied);
        }
        let app = &self.perso.apps[i];
        let values = split_dol(&app.cdol2, data).ok_or(StatusWord::WrongLength)?;
        let aid = app.aid.clone();
        let arc = dol_value(&values, 0x8A, 2);
        let tag91 = values
            .iter()
            .find(|(t, _)| *t == 0x91)
            .map(|(_, v)| v.as_slice());

        // Issuer authentication inside the second GENERATE AC when no EXTERNAL
        // AUTHENTICATE came (Book 3 §6.5.5.3, Book 2 §8.2).
        if let Some(iad91) = tag91.filter(|v| v.iter().any(|&b| b != 0))
            && !matches!(online.issuer_auth, IssuerAuth::External(_))
        {
            let check = check_arpc(&self.perso, self.state.atc, &online.first, iad91);
            online.issuer_auth = IssuerAuth::InGenerateAc(check);
        }
        let auth = &online.issuer_auth;
        let auth_failed = auth.failed();
        let is_online = !arc_unable_online(&arc);
        let csu = match auth.response() {
            Some(ArpcResponse::Csu { csu: b, .. }) => Some(Csu::from_bytes(*b)),
            _ => None,
        };
        let probe = self.cvr_inputs(i, AcType::Arqc, Some(AcType::Tc), auth);
        let issuer_approves = match csu {
            Some(c) => c.approved,
            None => arc_approved(&arc),
        };
        let result = if rc.ac_type == AcType::Aac || self.state.app_blocked(&aid) {
            AcType::Aac
        } else if auth_failed {
            // A bad ARPC: decline (Book 2 §8.2, docs/emv.md §6.4).
            AcType::Aac
        } else if is_online {
            if issuer_approves {
                AcType::Tc
            } else {
                AcType::Aac
            }
        } else if probe.upper_offline_exceeded
            || (probe.pin_limit_exceeded && self.perso.risk.decline_if_pin_blocked)
        {
            // Unable to go online: approve offline only within the upper limit.
            AcType::Aac
        } else {
            AcType::Tc
        };

        // The Card Status Update, authenticated by the ARPC (Book 3 Annex C10;
        // docs/emv.md §5.7).
        if let Some(c) = csu.filter(|_| !auth_failed) {
            if c.update_pin_try_counter {
                self.state.pin_try_counter = c.pin_try_counter.min(self.perso.pin_try_limit);
            }
            if c.application_block {
                self.state.set_app_blocked(&aid, true);
            }
            if c.card_block {
                self.state.card_blocked = true;
            }
            self.state.go_online_next = c.go_online_next;
            match c.counters {
                CsuCounters::ResetToZero => self.state.consecutive_offline = 0,
                CsuCounters::SetToUpperLimits => {
                    self.state.consecutive_offline = self.perso.risk.upper_consecutive_offline_limit
                }
                CsuCounters::AddTransaction => {
                    self.state.consecutive_offline =
                        self.state.consecutive_offline.saturating_add(1)
                }
                CsuCounters::NoChange => {}
            }
        }
        if is_online {
            // The online transaction completed (Book 3 Annex C, "last online transaction
            // not completed" cleared; the Last Online ATC Register updated).
            self.state.last_online_not_completed = false;
            self.state.issuer_auth_failed_last = auth_failed;
            if !auth_failed {
                self.state.last_online_atc = self.state.atc;
                if csu.is_none() {
                    self.state.consecutive_offline = 0;
                }
            }
        } else if result == AcType::Tc {
            self.state.consecutive_offline = self.state.consecutive_offline.saturating_add(1);
        }

        let mut cvr = self.cvr_inputs(i, AcType::Arqc, Some(result), &online.issuer_auth);
        cvr.unable_to_go_online = !is_online;
        let iad = cvr::iad(self.perso.cvn, self.perso.dki, &cvr);
        let mut tx = online.first.tx_data.clone();
        // TVR and UN as the terminal sends them now (CDOL2), when it does.
        for (t, off, len) in [(0x95u32, 14usize, 5usize), (0x9F37, 25, 4)] {
            if let Some((_, v)) = values.iter().find(|(x, _)| *x == t)
                && v.len() == len
            {
                tx[off..off + len].copy_from_slice(v);
            }
        }
        let ac = self.compute_ac(i, &tx, online.first.un, &iad)?;
        // the transaction ends: its log record (Book 3 Annex D), CDOL2 values first
        let mut terminal = values;
        terminal.extend(
            split_dol(&self.perso.apps[i].cdol1, &online.first.cdol1_values).unwrap_or_default(),
        );
        self.log_transaction(i, result, &terminal);
        self.persist()?;
        Ok(Cryptogram { result, ac, iad })
    }

    fn compute_ac(
        &mut self,
        i: usize,
        tx: &[u8],
        un: [u8; 4],
        iad: &[u8],
    ) -> Result<[u8; 8], StatusWord> {
        let app = &self.perso.apps[i];
        let mut data = tx.to_vec();
        data.extend_from_slice(&app.aip);
        data.extend_from_slice(&self.state.atc.to_be_bytes());
        let input = AcData::new(self.state.atc, un, &data, iad);
        let mut ac = cryptogram::generate_ac(self.perso.cvn, &self.perso.keys.ac, &input)
            .map_err(|_| StatusWord::NoPreciseDiagnosis)?;
        if self.wrong_cryptogram_fault() {
            ac[7] ^= 0xFF;
        }
        Ok(ac)
    }

    /// Format 1 (80) or 2 (77) response, with a CDA signature when asked and possible
    /// (Book 3 §6.5.5.4; Book 2 §6.6.1: not for an AAC, AC then inside 9F4B).
    fn ac_response(
        &mut self,
        i: usize,
        rc: ReferenceControl,
        c: &Cryptogram,
        cda_data: &CdaData<'_>,
    ) -> CmdResult {
        let (result, ac, iad) = (c.result, c.ac, c.iad.as_slice());
        let app = &self.perso.apps[i];
        let cid = result.bits();
        let atc = self.state.atc.to_be_bytes();
        let cda = rc.cda && app.aip_has(0x01) && result != AcType::Aac;
        let perso = self.perso.clone();
        match (cda, perso.icc_key.as_ref()) {
            (true, Some(icc)) => {
                let mut tlvs = encode_tlv(Tag::new(0x9F27), &[cid]);
                tlvs.extend(encode_tlv(Tag::new(0x9F36), &atc));
                tlvs.extend(encode_tlv(Tag::new(0x9F10), iad));
                let hash = oda::cda_transaction_data_hash(
                    cda_data.pdol_values,
                    cda_data.cdol1_values,
                    cda_data.cdol2_values,
                    &tlvs,
                );
                let un = cda_data.un;
                let dn: [u8; 8] = self.rng.bytes();
                let sdad = oda::sign_cda(
                    icc,
                    &oda::CdaInput {
                        icc_dynamic_number: &dn,
                        cid,
                        application_cryptogram: ac,
                        transaction_data_hash: hash,
                        unpredictable_number: &un,
                    },
                )
                .map_err(|_| StatusWord::NoPreciseDiagnosis)?;
                tlvs.extend(encode_tlv(Tag::new(0x9F4B), &sdad));
                Ok(Response::success(encode_tlv(Tag::new(0x77), &tlvs)))
            }
            _ if app.response_format == 1 => {
                let mut v = vec![cid];
                v.extend_from_slice(&atc);
                v.extend_from_slice(&ac);
                v.extend_from_slice(iad);
                Ok(Response::success(encode_tlv(Tag::new(0x80), &v)))
            }
            _ => {
                let mut tlvs = encode_tlv(Tag::new(0x9F27), &[cid]);
                tlvs.extend(encode_tlv(Tag::new(0x9F36), &atc));
                tlvs.extend(encode_tlv(Tag::new(0x9F26), &ac));
                tlvs.extend(encode_tlv(Tag::new(0x9F10), iad));
                Ok(Response::success(encode_tlv(Tag::new(0x77), &tlvs)))
            }
        }
    }
}
