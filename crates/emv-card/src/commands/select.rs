//! SELECT by DF name (EMV 4.4 Book 1 §11.3 and §12): PSE, PPSE, applications by full or
//! partial AID with next occurrence.

use emv_apdu::commands::{PPSE_NAME, PSE_NAME};
use emv_apdu::{CommandView, Response, SelectOccurrence, StatusWord};
use emv_tlv::{Tag, encode_tlv};

use crate::Card;
use crate::card::{CmdResult, Selected, Session};
use crate::store::CardStore;

impl<S: CardStore> Card<S> {
    pub(crate) fn select(&mut self, view: &CommandView<'_>, occ: SelectOccurrence) -> CmdResult {
        let name = view.data;
        // DF names are 1–16 bytes (ISO/IEC 7816-4 §8.2.1.2; AIDs 5–16, Book 1 §12.2.1).
        if name.is_empty() || name.len() > 16 {
            return Err(StatusWord::WrongLength);
        }
        // After CARD BLOCK every SELECT answers 6A81 (Book 3 §6.5.3.4).
        if self.state.card_blocked {
            return Err(StatusWord::FunctionNotSupported);
        }
        // A new SELECT starts a new transaction: the volatile state goes.
        let last = self.session.last_select.take();
        self.session = Session::default();

        if name == PSE_NAME && self.perso.pse && occ == SelectOccurrence::First {
            self.session.selected = Selected::Pse;
            // FCI of the PSE (Book 1 §11.3.4 Table 44): 84 DF name, A5 [88 SFI of the
            // directory, 5F2D language].
            let mut prop = encode_tlv(Tag::new(0x88), &[0x01]);
            prop.extend(encode_tlv(Tag::new(0x5F2D), b"en"));
            let mut body = encode_tlv(Tag::new(0x84), name);
            body.extend(encode_tlv(Tag::new(0xA5), &prop));
            return Ok(Response::success(encode_tlv(Tag::new(0x6F), &body)));
        }
        if name == PPSE_NAME && self.perso.ppse && occ == SelectOccurrence::First {
            self.session.selected = Selected::Ppse;
            // PPSE FCI (Book B §3.3): A5 [BF0C [61 [4F 50 87]...]].
            let mut dir = Vec::new();
            for a in &self.perso.apps {
                let mut e = encode_tlv(Tag::new(0x4F), &a.aid);
                e.extend(encode_tlv(Tag::new(0x50), a.label.as_bytes()));
                if let Some(p) = a.priority {
                    e.extend(encode_tlv(Tag::new(0x87), &[p]));
                }
                dir.extend(encode_tlv(Tag::new(0x61), &e));
            }
            let prop = encode_tlv(Tag::new(0xBF0C), &dir);
            let mut body = encode_tlv(Tag::new(0x84), name);
            body.extend(encode_tlv(Tag::new(0xA5), &prop));
            return Ok(Response::success(encode_tlv(Tag::new(0x6F), &body)));
        }

        // Applications: the DF name may be the whole AID or its first bytes (partial
        // selection, Book 1 §12.3.3); P2 = 02 asks for the next application matching the
        // same name after the one selected last.
        let start = match (occ, last) {
            (SelectOccurrence::Next, Some((prev, idx))) if prev == name => idx + 1,
            (SelectOccurrence::Next, _) => 0,
            (SelectOccurrence::First, _) => 0,
        };
        let found = self
            .perso
            .apps
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, a)| a.aid.starts_with(name))
            .map(|(i, _)| i);
        let Some(i) = found else {
            return Err(StatusWord::FileNotFound);
        };
        self.session.last_select = Some((name.to_vec(), i));
        self.session.selected = Selected::App(i);
        let app = &self.perso.apps[i];
        let fci = app.fci.clone();
        // A blocked application still answers with its FCI, with 6283 (Book 3 §6.5.1.4,
        // APPLICATION BLOCK §6.5.1); the terminal then leaves it out.
        if self.state.app_blocked(&app.aid) {
            return Ok(Response::new(fci, StatusWord::SelectedFileInvalidated));
        }
        Ok(Response::success(fci))
    }
}
