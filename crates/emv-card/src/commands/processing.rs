//! GET PROCESSING OPTIONS, READ RECORD, GET DATA and GET CHALLENGE (EMV 4.4 Book 3
//! §6.5.8, §6.5.11, §6.5.7, §6.5.6).

use emv_apdu::{CommandView, Response, StatusWord};
use emv_tlv::{Tag, encode_tlv};

use crate::Card;
use crate::card::{CmdResult, Selected, TxPhase};
use crate::store::CardStore;

/// Data objects a terminal may read with GET DATA when the profile defines them (Book 3
/// §6.5.7 and Annex A: counters and limits; log format).
pub(crate) const GET_DATA_TAGS: [u32; 12] = [
    0x9F4F, 0x9F14, 0x9F23, 0x9F53, 0x9F54, 0x9F58, 0x9F59, 0x9F5C, 0x9F72, 0x9F75, 0x9F52, 0x9F51,
];

impl<S: CardStore> Card<S> {
    pub(crate) fn get_processing_options(&mut self, view: &CommandView<'_>) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // One GET PROCESSING OPTIONS per transaction (Book 3 §6.5.8.1).
        if !matches!(self.session.phase, TxPhase::Ready) {
            return Err(StatusWord::ConditionsNotSatisfied);
        }
        let app = &self.perso.apps[i];
        // Command data: template 83 with the PDOL-related data (Book 3 §6.5.8.3).
        let tlv = emv_tlv::parse_one(view.data).map_err(|_| StatusWord::IncorrectData)?;
        if tlv.tag() != Tag::new(0x83) || tlv.raw().len() != view.data.len() {
            return Err(StatusWord::IncorrectData);
        }
        let expected = app.pdol.as_ref().map_or(0, |d| d.data_len());
        if tlv.value().len() != expected {
            return Err(StatusWord::WrongLength);
        }
        let pdol_values = tlv.value().to_vec();
        // The ATC is incremented here and cannot wrap: at FFFF the application is
        // permanently unusable (Book 3 Annex C; CCD §C.4).
        let atc = self
            .state
            .atc
            .checked_add(1)
            .ok_or(StatusWord::ConditionsNotSatisfied)?;
        self.state.atc = atc;
        self.persist()?;
        self.session.phase = TxPhase::Initiated { pdol_values };
        let app = &self.perso.apps[i];
        // Response format 1 (80: AIP ‖ AFL) or 2 (77: 82, 94), Book 3 §6.5.8.4.
        let data = if app.response_format == 1 {
            let mut v = app.aip.to_vec();
            v.extend_from_slice(&app.afl);
            encode_tlv(Tag::new(0x80), &v)
        } else {
            let mut v = encode_tlv(Tag::new(0x82), &app.aip);
            v.extend(encode_tlv(Tag::new(0x94), &app.afl));
            encode_tlv(Tag::new(0x77), &v)
        };
        Ok(Response::success(data))
    }

    pub(crate) fn read_record(
        &mut self,
        _view: &CommandView<'_>,
        sfi: u8,
        record: u8,
    ) -> CmdResult {
        match self.session.selected {
            // The PSE directory is SFI 1 (Book 1 §12.2.3).
            Selected::Pse => {
                if sfi != 1 {
                    return Err(StatusWord::FileNotFound);
                }
                let r = usize::from(record);
                match r.checked_sub(1).and_then(|k| self.perso.pse_records.get(k)) {
                    Some(rec) => Ok(Response::success(rec.clone())),
                    None => Err(StatusWord::RecordNotFound),
                }
            }
            Selected::App(i) => {
                let app = &self.perso.apps[i];
                // The transaction log, outside the AFL (Book 3 Annex D): record 1 is the
                // most recent; a record not yet written is 6A83.
                if app.log_entry.is_some_and(|e| e.sfi == sfi) {
                    return self
                        .log_record(i, record)
                        .map(Response::success)
                        .ok_or(StatusWord::RecordNotFound);
                }
                // Only what the AFL names is readable (Book 3 §10.2): a record outside
                // it is 6A83, an SFI outside it 6A82.
                let mut sfi_known = false;
                let mut in_afl = false;
                for e in app.afl.chunks_exact(4) {
                    if e[0] >> 3 == sfi {
                        sfi_known = true;
                        in_afl |= (e[1]..=e[2]).contains(&record);
                    }
                }
                if !sfi_known {
                    return Err(StatusWord::FileNotFound);
                }
                match app.records.get(&(sfi, record)) {
                    Some(rec) if in_afl => Ok(Response::success(rec.clone())),
                    _ => Err(StatusWord::RecordNotFound),
                }
            }
            Selected::None | Selected::Ppse => Err(StatusWord::ConditionsNotSatisfied),
        }
    }

    pub(crate) fn get_data(&mut self, _view: &CommandView<'_>, tag: u16) -> CmdResult {
        let i = self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        let tag32 = u32::from(tag);
        let value: Vec<u8> = match tag {
            // PIN Try Counter, ATC, Last Online ATC Register (Book 3 §6.5.7.1).
            0x9F17 => vec![self.state.pin_try_counter],
            0x9F36 => self.state.atc.to_be_bytes().to_vec(),
            0x9F13 => self.state.last_online_atc.to_be_bytes().to_vec(),
            _ if GET_DATA_TAGS.contains(&tag32) => self
                .data_value(i, tag32)
                .ok_or(StatusWord::ReferencedDataNotFound)?,
            _ => return Err(StatusWord::ReferencedDataNotFound),
        };
        Ok(Response::success(encode_tlv(Tag::new(tag32), &value)))
    }

    /// A data object as it is now: PUT DATA updates over the personalisation.
    pub(crate) fn data_value(&self, app: usize, tag: u32) -> Option<Vec<u8>> {
        let key = format!("{tag:X}");
        if let Some(v) = self.state.data_updates.get(&key) {
            return hex::decode(v).ok();
        }
        self.perso.apps.get(app)?.get(tag).map(<[u8]>::to_vec)
    }

    pub(crate) fn get_challenge(&mut self, view: &CommandView<'_>) -> CmdResult {
        // Le = 00 (or 08): an 8-byte unpredictable number (Book 3 §6.5.6.3).
        if !view.data.is_empty() || view.ne.is_some_and(|n| n != 8 && n != 256) {
            return Err(StatusWord::WrongLength);
        }
        let c: [u8; 8] = self.rng.bytes();
        self.session.challenge = Some(c);
        Ok(Response::success(c.to_vec()))
    }
}
