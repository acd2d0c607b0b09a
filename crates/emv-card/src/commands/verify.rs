//! VERIFY: plaintext (P2 = 80) and enciphered (P2 = 88) offline PIN (EMV 4.4 Book 3
//! §6.5.12, Book 2 §7.2; docs/emv.md §4).
//!
//! Tearing safety: the PIN Try Counter is decremented and made durable *before* the PIN
//! is compared, and restored to the limit only after a correct comparison, so a power cut
//! at any point never grants an extra try (docs/emv.md §4.4: "do not wrap the PIN check
//! in a transaction that a rollback would undo").

use emv_apdu::{CommandView, Response, StatusWord};
use emv_crypto::offline_pin::{self, card_status_word};
use emv_crypto::pinblock::{self, Pin, PinBlockFormat};

use crate::Card;
use crate::card::{CmdResult, PinResult};
use crate::store::CardStore;

impl<S: CardStore> Card<S> {
    /// VERIFY without a data field (Lc absent): the PIN's status, nothing compared and
    /// the counter untouched (ISO/IEC 7816-4 §11.5.6): `63Cx` with the tries left, `6983`
    /// once the PIN is blocked.
    pub(crate) fn verify_status(&mut self) -> CmdResult {
        self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        match self.state.pin_try_counter {
            0 => Err(StatusWord::AuthMethodBlocked),
            left => Err(StatusWord::VerifyFailed {
                tries_left: left.min(15),
            }),
        }
    }

    pub(crate) fn verify_plaintext(&mut self, view: &CommandView<'_>) -> CmdResult {
        self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // Lc = 08: the format 2 PIN block (Book 3 §6.5.12.3 Table 25).
        if view.data.len() != 8 {
            return Err(StatusWord::WrongLength);
        }
        // A blocked PIN is refused without looking at the data (Book 3 §6.5.12.4).
        if self.state.pin_try_counter == 0 {
            self.session.pin.attempted(false);
            return Err(StatusWord::AuthMethodBlocked);
        }
        // Control nibble 2, length 4–12, BCD digits, F filler; else 6A80 and no try
        // is counted (docs/emv.md §4.2).
        let pin = pinblock::decode_pin_block(PinBlockFormat::Iso2, view.data, None)
            .map_err(|_| StatusWord::IncorrectData)?;
        self.check_pin(&pin, false)
    }

    pub(crate) fn verify_enciphered(
        &mut self,
        view: &CommandView<'_>,
        challenge: Option<[u8; 8]>,
    ) -> CmdResult {
        self.app_index().ok_or(StatusWord::ConditionsNotSatisfied)?;
        // The ICC PIN encipherment key, else the ICC key (Book 2 §7.1); a card without
        // either cannot do enciphered PIN (docs/emv.md §4.3: 6985).
        let perso = self.perso.clone();
        let Some(key) = perso.pin_key.as_ref().or(perso.icc_key.as_ref()) else {
            return Err(StatusWord::ConditionsNotSatisfied);
        };
        if self.state.pin_try_counter == 0 {
            self.session.pin.attempted(true);
            return Err(StatusWord::AuthMethodBlocked);
        }
        // Without a challenge issued by the command just before, the ICC UN cannot
        // match: 6984 (Book 2 §7.2, docs/emv.md §4.3).
        let Some(challenge) = challenge else {
            return Err(StatusWord::ReferenceDataInvalidated);
        };
        let clear = offline_pin::decipher_pin(key, view.data, &challenge).map_err(|e| {
            match card_status_word(&e) {
                Some(sw) => StatusWord::from_u16(sw),
                None => StatusWord::ReferenceDataInvalidated,
            }
        })?;
        let pin = Pin::new(clear.digits()).map_err(|_| StatusWord::IncorrectData)?;
        self.check_pin(&pin, true)
    }

    /// The comparison with the counter rules of Book 3 §6.5.12.4 and docs/emv.md §4.4.
    fn check_pin(&mut self, candidate: &Pin, enciphered: bool) -> CmdResult {
        self.session.pin.attempted(enciphered);
        let before = self.state.pin_try_counter;
        // 1. Decrement and make it durable before comparing.
        self.state.pin_try_counter = before.saturating_sub(1);
        if let Err(e) = self.persist() {
            // Nothing was compared: the durable counter is still `before`.
            self.state.pin_try_counter = before;
            return Err(e);
        }
        // 2. Compare in constant time.
        let ok = self.pin_matches(candidate.digits())?;
        if ok {
            // 3. Correct: the counter goes back to the limit (only consecutive failures
            //    block), then durable.
            self.state.pin_try_counter = self.perso.pin_try_limit;
            self.session.pin.result = PinResult::Successful;
            // If this write fails the durable counter stays one lower: safe side.
            let _ = self.persist();
            Ok(Response::success(Vec::new()))
        } else {
            self.session.pin.result = PinResult::Failed;
            let left = self.state.pin_try_counter;
            if left == 0 {
                // 63C0: the PIN just became blocked (docs/emv.md §4.4).
                self.session.pin.limit_exceeded_now = true;
            }
            Err(StatusWord::VerifyFailed {
                tries_left: left.min(15),
            })
        }
    }
}
