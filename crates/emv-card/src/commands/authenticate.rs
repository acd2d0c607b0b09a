//! INTERNAL AUTHENTICATE (DDA, EMV 4.4 Book 3 §6.5.9, Book 2 §6.5) and EXTERNAL
//! AUTHENTICATE (issuer authentication, Book 3 §6.5.4, Book 2 §8.2).

use emv_apdu::{CommandView, Response, StatusWord};
use emv_crypto::oda;
use emv_tlv::{Tag, encode_tlv};

use super::generate_ac::check_arpc;
use crate::Card;
use crate::card::{ArpcCheck, CmdResult, IssuerAuth, TxPhase};
use crate::store::CardStore;

impl<S: CardStore> Card<S> {
    pub(crate) fn internal_authenticate(&mut self, view: &CommandView<'_>) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        let perso = self.perso.clone();
        let app = &perso.apps[i];
        // Only a card that offers DDA in its AIP and has an ICC key answers.
        let Some(icc) = perso.icc_key.as_ref().filter(|_| app.aip_has(0x20)) else {
            return Err(StatusWord::ConditionsNotSatisfied);
        };
        // The DDOL-related data (at least the terminal's unpredictable number).
        if view.data.is_empty() {
            return Err(StatusWord::WrongLength);
        }
        let dn: [u8; 8] = self.rng.bytes();
        let dynamic = oda::dda_icc_dynamic_data(&dn).map_err(|_| StatusWord::NoPreciseDiagnosis)?;
        let sdad = oda::sign_dynamic_application_data(icc, &dynamic, view.data)
            .map_err(|_| StatusWord::NoPreciseDiagnosis)?;
        self.session.dda_performed = true;
        let body = if app.response_format == 1 {
            encode_tlv(Tag::new(0x80), &sdad)
        } else {
            encode_tlv(Tag::new(0x77), &encode_tlv(Tag::new(0x9F4B), &sdad))
        };
        Ok(Response::success(body))
    }

    pub(crate) fn external_authenticate(&mut self, view: &CommandView<'_>) -> CmdResult {
        self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // Only between an ARQC and the second GENERATE AC, and only once (Book 3
        // §6.5.4.1: a second one gets 6985).
        let online = match &mut self.session.phase {
            TxPhase::Online(o) if !matches!(o.issuer_auth, IssuerAuth::External(_)) => o,
            _ => return Err(StatusWord::ConditionsNotSatisfied),
        };
        // Issuer Authentication Data: 8–16 bytes (Book 3 Annex A, tag 91).
        if !(8..=16).contains(&view.data.len()) {
            return Err(StatusWord::WrongLength);
        }
        let check = check_arpc(&self.perso, self.state.atc, &online.first, view.data);
        let passed = matches!(check, ArpcCheck::Passed(_));
        online.issuer_auth = IssuerAuth::External(check);
        if passed {
            Ok(Response::success(Vec::new()))
        } else {
            Err(StatusWord::AuthenticationFailed)
        }
    }
}
