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
use crate::Card;
use crate::card::{CmdResult, FirstAc};
use crate::cvr::{self, CvrInputs};
use crate::store::CardStore;

/// ARCs meaning "approved" (ISO 8583 DE 39: 00, 08, 10, 11).
fn arc_approved(arc: &[u8]) -> bool {
    matches!(arc, b"00" | b"08" | b"10" | b"11")
}

/// ARCs a terminal sets when it could not go online (Book 4 Annex A6: Y3, Z3).
fn arc_unable_online(arc: &[u8]) -> bool {
    matches!(arc, b"Y3" | b"Z3")
}

impl<S: CardStore> Card<S> {
    pub(crate) fn generate_ac(
        &mut self,
        view: &CommandView<'_>,
        rc: ReferenceControl,
    ) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        if !self.session.gpo_done || self.session.finished {
            return Err(StatusWord::ConditionsNotSatisfied);
        }
        // P1 b8–b7 = 11 is RFU (Book 3 §6.5.5.2 Table 12).
        if rc.ac_type == AcType::Rfu {
            return Err(StatusWord::IncorrectP1P2);
        }
        match self.session.first_ac.clone() {
            None => self.first_generate_ac(i, view.data, rc),
            Some(first) => self.second_generate_ac(i, view.data, rc, first),
        }
    }

    fn cvr_inputs(&self, i: usize, first: AcType, second: Option<AcType>) -> CvrInputs {
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
            pin_performed: s.pin.performed,
            pin_enciphered: s.pin.enciphered,
            pin_failed: s.pin.failed,
            pin_successful: s.pin.successful,
            pin_try_counter: st.pin_try_counter,
            pin_limit_exceeded: st.pin_try_counter == 0,
            last_online_not_completed: st.last_online_not_completed,
            issuer_auth_failed_last: st.issuer_auth_failed_last,
            issuer_auth_performed: s.issuer_auth_performed,
            issuer_auth_failed: s.issuer_auth_failed,
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

    fn first_generate_ac(&mut self, i: usize, data: &[u8], rc: ReferenceControl) -> CmdResult {
        let app = &self.perso.apps[i];
        let values = split_dol(&app.cdol1, data).ok_or(StatusWord::WrongLength)?;
        // the terminal's part of the AC data (Book 2 §8.1.1); AIP and ATC follow in compute_ac
        let tx_data: Vec<u8> = AC_DATA_ELEMENTS[..AC_TERMINAL_ELEMENTS]
            .iter()
            .flat_map(|&(t, l, _)| dol_value(&values, t, l))
            .collect();
        let un: [u8; 4] = dol_value(&values, 0x9F37, 4).try_into().unwrap_or([0; 4]);
        let aid = app.aid.clone();

        // Card action analysis (Book 3 §9.3; CCD Annex C): the card never returns more
        // than asked (AAC < ARQC < TC) and goes online when its risk checks say so.
        let probe = self.cvr_inputs(i, AcType::Tc, None);
        let r = &self.perso.risk;
        let wants_online = probe.lower_offline_exceeded
            || probe.go_online_next
            || probe.last_online_not_completed
            || probe.issuer_auth_failed_last
            || probe.script_failed
            || (probe.pin_limit_exceeded && r.online_if_pin_blocked);
        let declines = self.session.pin.limit_exceeded_now && r.decline_if_pin_blocked;
        let result = if self.state.app_blocked(&aid) || rc.ac_type == AcType::Aac {
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

        let cvr = self.cvr_inputs(i, result, None);
        let iad = cvr::iad(self.perso.cvn, self.perso.dki, &cvr);
        let ac = self.compute_ac(i, &tx_data, un, &iad)?;

        // State changes of this GENERATE AC, durable before the answer.
        match result {
            AcType::Tc => {
                self.state.consecutive_offline = self.state.consecutive_offline.saturating_add(1)
            }
            AcType::Arqc => self.state.last_online_not_completed = true,
            _ => {}
        }
        self.persist()?;
        self.session.first_ac = Some(FirstAc {
            ac_type: result,
            ac,
            un,
            cdol1_values: data.to_vec(),
            tx_data,
        });
        self.session.finished = result != AcType::Arqc;
        self.ac_response(i, rc, result, ac, &iad, data, None)
    }

    fn second_generate_ac(
        &mut self,
        i: usize,
        data: &[u8],
        rc: ReferenceControl,
        first: FirstAc,
    ) -> CmdResult {
        // Only after an ARQC, and only TC or AAC may be asked (Book 3 §6.5.5.4, §9.3).
        if first.ac_type != AcType::Arqc || rc.ac_type == AcType::Arqc {
            return Err(StatusWord::ConditionsNotSatisfied);
        }
        let app = &self.perso.apps[i];
        let values = split_dol(&app.cdol2, data).ok_or(StatusWord::WrongLength)?;
        let aid = app.aid.clone();
        let arc = dol_value(&values, 0x8A, 2);
        let tag91 = values
            .iter()
            .find(|(t, _)| *t == 0x91)
            .map(|(_, v)| v.clone());

        // Issuer authentication inside the second GENERATE AC when no EXTERNAL
        // AUTHENTICATE came (Book 3 §6.5.5.3, Book 2 §8.2).
        if let Some(iad91) = tag91.filter(|v| v.iter().any(|&b| b != 0))
            && !self.session.external_auth_done
        {
            self.authenticate_issuer(&first, &iad91);
        }
        let online = !arc_unable_online(&arc);
        let mut csu: Option<Csu> = None;
        if let Some(ArpcResponse::Csu { csu: b, .. }) = &self.session.issuer_auth {
            csu = Some(Csu::from_bytes(*b));
        }
        let probe = self.cvr_inputs(i, AcType::Arqc, Some(AcType::Tc));
        let issuer_approves = match csu {
            Some(c) => c.approved,
            None => arc_approved(&arc),
        };
        let result = if rc.ac_type == AcType::Aac || self.state.app_blocked(&aid) {
            AcType::Aac
        } else if self.session.issuer_auth_failed {
            // A bad ARPC: decline (Book 2 §8.2, docs/emv.md §6.4).
            AcType::Aac
        } else if online {
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
        if let Some(c) = csu.filter(|_| !self.session.issuer_auth_failed) {
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
        if online {
            // The online transaction completed (Book 3 Annex C, "last online transaction
            // not completed" cleared; the Last Online ATC Register updated).
            self.state.last_online_not_completed = false;
            self.state.issuer_auth_failed_last = self.session.issuer_auth_failed;
            if !self.session.issuer_auth_failed {
                self.state.last_online_atc = self.state.atc;
                if csu.is_none() {
                    self.state.consecutive_offline = 0;
                }
            }
        } else if result == AcType::Tc {
            self.state.consecutive_offline = self.state.consecutive_offline.saturating_add(1);
        }

        let mut cvr = self.cvr_inputs(i, AcType::Arqc, Some(result));
        cvr.unable_to_go_online = !online;
        let iad = cvr::iad(self.perso.cvn, self.perso.dki, &cvr);
        let mut tx = first.tx_data.clone();
        // TVR and UN as the terminal sends them now (CDOL2), when it does.
        for (t, off, len) in [(0x95u32, 14usize, 5usize), (0x9F37, 25, 4)] {
            if let Some((_, v)) = values.iter().find(|(x, _)| *x == t)
                && v.len() == len
            {
                tx[off..off + len].copy_from_slice(v);
            }
        }
        let ac = self.compute_ac(i, &tx, first.un, &iad)?;
        self.persist()?;
        self.session.finished = true;
        self.ac_response(i, rc, result, ac, &iad, &first.cdol1_values, Some(data))
    }

    /// Verifies tag 91 against the first ARQC (method 1 or 2 per CVN) and records the
    /// result in the session.
    pub(crate) fn authenticate_issuer(&mut self, first: &FirstAc, tag91: &[u8]) -> bool {
        self.session.issuer_auth_performed = true;
        match cryptogram::verify_issuer_authentication_data(
            self.perso.cvn,
            &self.perso.keys.ac,
            self.state.atc,
            &first.un,
            &first.ac,
            tag91,
        ) {
            Ok(resp) => {
                self.session.issuer_auth = Some(resp);
                self.session.issuer_auth_failed = false;
                true
            }
            Err(_) => {
                self.session.issuer_auth_failed = true;
                false
            }
        }
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
    #[allow(clippy::too_many_arguments)]
    fn ac_response(
        &mut self,
        i: usize,
        rc: ReferenceControl,
        result: AcType,
        ac: [u8; 8],
        iad: &[u8],
        cdol1_values: &[u8],
        cdol2_values: Option<&[u8]>,
    ) -> CmdResult {
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
                    &self.session.pdol_values,
                    cdol1_values,
                    cdol2_values,
                    &tlvs,
                );
                let un = self
                    .session
                    .first_ac
                    .as_ref()
                    .map(|f| f.un)
                    .unwrap_or_default();
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
