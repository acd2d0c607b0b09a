//! The authorisation rules, in the order of the module documentation of [`super`]
//! (docs/issuer-host.md §2).

use emv_auth::{
    AuthRequest, AuthResponse, Channel, OnlinePinResult, ResponseCode, TransactionType,
};
use emv_crypto::cryptogram::{generate_arpc, verify_ac};
use emv_crypto::script::IccKeys;
use emv_crypto::{CryptoError, TdesKey};

use super::pin::{self as pin_rules, OnlinePinCheck, PresentedPin};
use super::{CardRecord, CardState, JournalEntry, ScriptChange, ScriptChanges, ScriptRow, scripts};
use crate::Error;
use crate::chip::{self, ChipData};
use crate::keys::HostKeys;
use crate::provision::{PlasticStatus, check_yymm};
use crate::time::{rfc3339, year_month};

/// A decision: the response code, why, and the online PIN verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// DE 39.
    pub code: ResponseCode,
    /// Why, in words.
    pub reason: String,
    /// The online PIN verdict, when a PIN was sent.
    pub online_pin: Option<OnlinePinResult>,
}

impl Decision {
    /// A decision.
    pub fn new(
        code: ResponseCode,
        reason: impl Into<String>,
        online_pin: Option<OnlinePinResult>,
    ) -> Self {
        Self {
            code,
            reason: reason.into(),
            online_pin,
        }
    }
}

/// Rule 1, the message's consistency: the ARQC covers 9F02 and 5F2A, so DE 4 and DE 49 must
/// say the same; DE 23 and 5F34 must agree; DE 14 is YYMM (docs/issuer-host.md §2). A
/// failure is an error, not a decline.
pub fn check_message(req: &AuthRequest, chip: Option<&ChipData>) -> Result<(), Error> {
    if let Some(c) = chip {
        if c.amount != req.amount {
            return Err(Error::BadRequest(format!(
                "amount {} (DE 4) differs from 9F02 {} in the ICC data, which the ARQC covers",
                req.amount, c.amount
            )));
        }
        if c.currency != req.currency {
            return Err(Error::BadRequest(format!(
                "currency {} (DE 49) differs from 5F2A {:03} in the ICC data",
                req.currency, c.currency
            )));
        }
        if let (Some(a), Some(b)) = (&req.psn, &c.psn)
            && a != b
        {
            return Err(Error::BadRequest(format!(
                "PSN {a} (DE 23) differs from 5F34 {b} in the ICC data"
            )));
        }
    }
    if let Some(e) = &req.expiry {
        check_yymm("expiry (DE 14)", e)?;
    }
    if let Some(rrn) = &req.rrn {
        check_rrn(rrn)?;
    }
    Ok(())
}

/// DE 37 is `an 12` (ISO 8583:1987): twelve letters, digits or spaces.
pub fn check_rrn(rrn: &str) -> Result<(), Error> {
    if rrn.len() == 12 && rrn.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "RRN (DE 37) must be 12 letters, digits or spaces (an 12), got {} characters",
            rrn.len()
        )))
    }
}

/// The largest amount an `n 12` field holds (ISO 8583:1987 DE 4; EMV 9F02/9F03 are n 12 too).
pub const MAX_AMOUNT: u64 = 999_999_999_999;

/// Rule 2a, the amounts, before any arithmetic: DE 4 and the amount other within their
/// field's range (`n 12`, ISO 8583:1987 DE 4; EMV 4.4 Book 3 Annex A, 9F02/9F03); the
/// amount other (cashback) within the amount, which includes it; a refund within the
/// card's provisioned open-to-buy. Else `13` (docs/issuer-host.md §2, §3).
pub fn invalid_amount(req: &AuthRequest, card: &CardRecord) -> Option<Decision> {
    let why = if req.amount > MAX_AMOUNT {
        format!("amount (DE 4) {} exceeds the n 12 range", req.amount)
    } else if req.amount_other > MAX_AMOUNT {
        format!("amount other {} exceeds the n 12 range", req.amount_other)
    } else if req.amount_other > req.amount {
        format!(
            "amount other {} exceeds the amount {} that includes it",
            req.amount_other, req.amount
        )
    } else if req.transaction_type == TransactionType::Refund
        && i64::try_from(req.amount).unwrap_or(i64::MAX) > card.open_to_buy_limit
    {
        format!(
            "a refund of {} exceeds the card's limit {}",
            req.amount, card.open_to_buy_limit
        )
    } else {
        return None;
    };
    Some(Decision::new(ResponseCode::INVALID_AMOUNT, why, None))
}

/// Rule 2b: the host converts no currency, so a request in another currency (DE 49) than
/// the account's is declined `57` rather than debited unconverted (ISO 8583:1987 DE 39
/// `57`, transaction not permitted to cardholder; docs/issuer-host.md §2, §3).
pub fn foreign_currency(req: &AuthRequest, card: &CardRecord) -> Option<Decision> {
    (req.currency != card.currency).then(|| {
        Decision::new(
            ResponseCode::NOT_PERMITTED,
            format!(
                "currency {:03} (DE 49) is not the account's {:03}: the host converts no currency",
                req.currency, card.currency
            ),
            None,
        )
    })
}

/// Rule 4a: a chip channel requires the chip. A request whose entry mode (DE 22) says chip
/// or contactless, or any card-present request (POS, ATM) for a chip card (every card
/// provisioned with ICC keys), must carry an ARQC in DE 55; without one it is declined
/// `05`, the code of an ARQC that does not verify, so the answer does not tell a missing
/// cryptogram from a forged one (EMV 4.4 Book 3 §10.9 and Book 2 §8.1: the issuer
/// authenticates the card online by its ARQC; docs/issuer-host.md §3).
pub fn chip_missing(
    req: &AuthRequest,
    card: &CardRecord,
    chip: Option<&ChipData>,
) -> Option<Decision> {
    let chip_entry = req.entry_mode.is_some_and(|m| m.is_chip());
    let chip_card = !card.icc_keys.is_empty() && req.channel != Channel::Ecommerce;
    (chip.is_none() && (chip_entry || chip_card)).then(|| {
        Decision::new(
            ResponseCode::DO_NOT_HONOUR,
            "no ARQC in DE 55: a chip card present at a terminal must send its cryptogram",
            None,
        )
    })
}

/// A response without chip data.
pub fn response(code: ResponseCode, reason: impl Into<String>) -> AuthResponse {
    AuthResponse {
        response_code: code,
        reason: reason.into(),
        auth_code: None,
        rrn: None,
        issuer_authentication_data: None,
        issuer_scripts: Vec::new(),
        online_pin: None,
    }
}

/// Rule 2: no card with this PAN (and PSN) → `14` (ISO 8583 DE 39, docs/issuer-host.md §3).
pub fn unknown_card() -> AuthResponse {
    response(
        ResponseCode::INVALID_CARD_NUMBER,
        "no card with this PAN (and PSN) at this issuer",
    )
}

/// What the chip data rules (3, 4) say.
#[derive(Debug)]
pub enum ChipCheck {
    /// A retransmission: this stored answer again, nothing changes.
    Retransmission(AuthResponse),
    /// Declined `05`; with the card's keys when the ARQC verified (an ATC replay still
    /// gets an ARPC).
    Declined(Decision, Option<IccKeys>),
    /// A fresh, verified ARQC: go on with the card's keys.
    Verified(IccKeys),
}

/// Rules 3 and 4, in order.
pub fn check_chip(keys: &HostKeys, card: &CardRecord, chip: &ChipData) -> Result<ChipCheck, Error> {
    if let Some(resp) = retransmission(card, chip)? {
        return Ok(ChipCheck::Retransmission(resp));
    }
    if let Some(d) = not_an_arqc(chip) {
        return Ok(ChipCheck::Declined(d, None));
    }
    let icc = open_icc_keys(keys, card)?;
    if let Some(d) = arqc_fails(card, chip, &icc)? {
        return Ok(ChipCheck::Declined(d, None));
    }
    if let Some(d) = atc_replay(card, chip) {
        return Ok(ChipCheck::Declined(d, Some(icc)));
    }
    Ok(ChipCheck::Verified(icc))
}

/// Rule 3: the same ATC and ARQC as the last verified request get its stored answer again,
/// without touching any counter (ISO 8583 repeat messages; docs/issuer-host.md §2).
pub fn retransmission(card: &CardRecord, chip: &ChipData) -> Result<Option<AuthResponse>, Error> {
    let s = &card.state;
    match &s.last_response {
        Some(json) if s.last_online_atc == Some(chip.atc) && s.last_arqc == Some(chip.arqc) => {
            serde_json::from_str(json)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("stored response: {e}")))
        }
        _ => Ok(None),
    }
}

/// Rule 4: an online request carries an ARQC (CID b8-b7 = 10, EMV 4.4 Book 3 §6.5.5.4).
pub fn not_an_arqc(chip: &ChipData) -> Option<Decision> {
    (!chip.is_arqc()).then(|| {
        Decision::new(
            ResponseCode::DO_NOT_HONOUR,
            format!("the cryptogram is not an ARQC (CID {:02X})", chip.cid),
            None,
        )
    })
}

/// Rule 4: the ARQC must verify for the card's CVN (EMV 4.4 Book 2 §8.1; emv_crypto
/// compares in constant time).
pub fn arqc_fails(
    card: &CardRecord,
    chip: &ChipData,
    icc: &IccKeys,
) -> Result<Option<Decision>, Error> {
    match verify_ac(card.cvn, &icc.ac, &chip.ac_inputs(), &chip.arqc) {
        Ok(()) => Ok(None),
        Err(CryptoError::VerificationFailed(_)) => Ok(Some(Decision::new(
            ResponseCode::DO_NOT_HONOUR,
            format!(
                "ARQC verification failed for {} (ATC {})",
                card.cvn, chip.atc
            ),
            None,
        ))),
        Err(e) => Err(Error::IccData(e.to_string())),
    }
}

/// Rule 4: the ATC increments with every transaction, so one not above the last online
/// ATC is a replay (EMV 4.4 Book 3 Annex C; docs/emv.md §4.6).
pub fn atc_replay(card: &CardRecord, chip: &ChipData) -> Option<Decision> {
    let last = card.state.last_online_atc?;
    (chip.atc <= last).then(|| {
        Decision::new(
            ResponseCode::DO_NOT_HONOUR,
            format!(
                "ATC replay: ATC {} is not above the last online ATC {last}",
                chip.atc
            ),
            None,
        )
    })
}

/// Rule 4: what a fresh, verified ARQC teaches: its ATC and ARQC, and the chip's offline
/// PIN state from the CVR, where the layout tells it (docs/emv.md §4.5).
pub fn learn_chip(state: &mut CardState, card_cvn: emv_crypto::Cvn, chip: &ChipData, now: i64) {
    let pin = chip::pin_state(card_cvn, &chip.iad);
    state.last_online_atc = Some(chip.atc);
    state.last_arqc = Some(chip.arqc);
    if pin.offline_pin_blocked.is_some() {
        state.chip.pin_blocked = pin.offline_pin_blocked;
    }
    if pin.pin_try_counter.is_some() {
        state.chip.pin_try_counter = pin.pin_try_counter;
    }
    state.chip.cvr = emv_tlv::bits::Iad::detect(&chip.iad).map(|i| hex::encode_upper(i.cvr()));
    state.chip.seen_at = Some(rfc3339(now));
}

/// The ICC master keys, unsealed.
pub fn open_icc_keys(keys: &HostKeys, card: &CardRecord) -> Result<IccKeys, Error> {
    let raw = keys.open(&card.icc_keys)?;
    if raw.len() != 48 {
        return Err(Error::Corrupt(
            "sealed ICC keys are not 3 x 16 bytes".into(),
        ));
    }
    Ok(IccKeys {
        ac: TdesKey::new(&raw[..16])?,
        smi: TdesKey::new(&raw[16..32])?,
        smc: TdesKey::new(&raw[32..])?,
    })
}

/// Rule 5: a card the issuer blocked is declined `62` (docs/issuer-host.md §3).
pub fn issuer_block(card: &CardRecord) -> Option<Decision> {
    (card.state.status == crate::provision::CardStatus::Blocked).then(|| {
        Decision::new(
            ResponseCode::RESTRICTED_CARD,
            "the card is blocked by the issuer",
            None,
        )
    })
}

/// The expiry rule 7 checks: DE 14, else 5F24, else the card's.
pub fn expiry_in_use<'a>(
    req: &'a AuthRequest,
    chip: Option<&'a ChipData>,
    card: &'a CardRecord,
) -> &'a str {
    req.expiry
        .as_deref()
        .or_else(|| chip.and_then(|c| c.expiry.as_deref()))
        .unwrap_or(&card.expiry)
}

/// Rule 7: the expiry must be the card's or a plastic's; a plastic with it must be ACTIVE
/// (else `62`); a card is valid to the end of its expiry month (EMV 4.4 Book 3 Annex A,
/// 5F24), after that `54`. `plastics` are the card's plastics with that expiry.
pub fn expiry_and_plastic(
    card: &CardRecord,
    expiry: &str,
    plastics: &[(String, PlasticStatus)],
    now: i64,
) -> Result<Option<Decision>, Error> {
    if let Some((id, status)) = plastics.first()
        && !plastics.iter().any(|(_, s)| *s == PlasticStatus::Active)
    {
        return Ok(Some(Decision::new(
            ResponseCode::RESTRICTED_CARD,
            format!("plastic {id} (expiry {expiry}) is {}", status.name()),
            None,
        )));
    }
    if plastics.is_empty() && expiry != card.expiry {
        return Ok(Some(Decision::new(
            ResponseCode::EXPIRED_CARD,
            format!("expiry {expiry} matches neither the card nor any of its plastics"),
            None,
        )));
    }
    let (y, m) = check_yymm("expiry", expiry)?;
    if (y, m) < year_month(now) {
        return Ok(Some(Decision::new(
            ResponseCode::EXPIRED_CARD,
            format!("the card expired at the end of {expiry} (YYMM)"),
            None,
        )));
    }
    Ok(None)
}

/// Rule 9: a simple open-to-buy in minor units, no currency conversion: a debit above it
/// is declined `51`, else taken from it; a refund adds to it, never beyond the card's
/// provisioned open-to-buy (the host matches no refund to its original purchase;
/// docs/issuer-host.md §2). Rule 2a bounded the amount, so nothing here overflows.
/// The new open-to-buy, or the decline.
pub fn open_to_buy(
    req: &AuthRequest,
    card: &CardRecord,
    online_pin: Option<OnlinePinResult>,
) -> Result<i64, Decision> {
    let amount = i64::try_from(req.amount.min(MAX_AMOUNT)).unwrap_or(0);
    let otb = card.state.open_to_buy;
    if matches!(req.transaction_type, TransactionType::Refund) {
        let raised = otb.saturating_add(amount).min(card.open_to_buy_limit);
        return Ok(raised.max(otb));
    }
    if amount > otb {
        return Err(Decision::new(
            ResponseCode::INSUFFICIENT_FUNDS,
            format!("open-to-buy {otb} is less than the amount {}", req.amount),
            online_pin,
        ));
    }
    Ok(otb - amount)
}

/// Rules 5-9's verdict: the decision and the counters it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The online PIN counter, when rule 8 ran.
    pub tries_left: Option<u8>,
    /// The open-to-buy, on an approval.
    pub open_to_buy: Option<i64>,
}

impl Verdict {
    fn stop(decision: Decision, tries_left: Option<u8>) -> Self {
        Self {
            decision,
            tries_left,
            open_to_buy: None,
        }
    }

    /// Whether it changes the card.
    pub fn changes_card(&self) -> bool {
        self.tries_left.is_some() || self.open_to_buy.is_some()
    }

    /// Writes its counters into the card's state.
    pub fn apply(&self, state: &mut CardState) {
        if let Some(t) = self.tries_left {
            state.online_pin_tries_left = t;
        }
        if let Some(o) = self.open_to_buy {
            state.open_to_buy = o;
        }
    }
}

/// Rules 5 to 9, in order: the first that decides, decides. `plastics` are the card's
/// plastics with [`expiry_in_use`].
pub fn decide(
    keys: &HostKeys,
    req: &AuthRequest,
    chip: Option<&ChipData>,
    card: &CardRecord,
    pin: Option<&PresentedPin>,
    plastics: &[(String, PlasticStatus)],
    now: i64,
) -> Result<Verdict, Error> {
    if let Some(d) = issuer_block(card).or_else(|| pin_rules::online_pin_blocked(card, pin)) {
        return Ok(Verdict::stop(d, None));
    }
    if let Some(d) = expiry_and_plastic(card, expiry_in_use(req, chip, card), plastics, now)? {
        return Ok(Verdict::stop(d, None));
    }
    let (online_pin, tries_left) = match pin {
        None => (None, None),
        Some(pin) => match pin_rules::verify_online(keys, card, pin)? {
            OnlinePinCheck::Verified { tries_left } => {
                (Some(OnlinePinResult::Verified), Some(tries_left))
            }
            OnlinePinCheck::Incorrect {
                tries_left,
                decision,
            } => return Ok(Verdict::stop(decision, Some(tries_left))),
        },
    };
    Ok(match open_to_buy(req, card, online_pin) {
        Ok(otb) => Verdict {
            decision: Decision::new(ResponseCode::APPROVED, "approved", online_pin),
            tries_left,
            open_to_buy: Some(otb),
        },
        Err(decline) => Verdict::stop(decline, tries_left),
    })
}

/// Rule 10: the answer. An approval with verified chip data carries the `open` scripts
/// ([`scripts::for_response`]); every verified ARQC gets an ARPC ([`scripts::arpc_response`],
/// EMV 4.4 Book 2 §8.2); an approval carries `auth_code` (DE 38). Returns the answer and
/// the scripts it sends.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    keys: &HostKeys,
    card: &CardRecord,
    req: &AuthRequest,
    chip: Option<(&ChipData, &IccKeys)>,
    decision: Decision,
    open: &[ScriptRow],
    auth_code: Option<String>,
    now: i64,
) -> Result<(AuthResponse, ScriptChanges), Error> {
    let mut sent = Vec::new();
    let mut resp = response(decision.code, decision.reason.as_str());
    resp.online_pin = decision.online_pin;
    resp.auth_code = auth_code.filter(|_| decision.code.is_approved());
    if let Some((c, icc)) = chip {
        if decision.code.is_approved() {
            let (templates, marks) =
                scripts::for_response(keys, icc, card, c, open, req.stan, now)?;
            resp.issuer_scripts = templates;
            sent = marks;
        }
        let what = scripts::arpc_response(card, &decision, !sent.is_empty());
        let arpc = generate_arpc(card.cvn, &icc.ac, c.atc, &c.un, &c.arqc, &what)?;
        resp.issuer_authentication_data = Some(arpc.issuer_authentication_data);
    }
    Ok((resp, sent))
}

/// The answer to a verified, fresh ARQC, kept for retransmissions (rule 3).
pub fn stored_answer(resp: &AuthResponse) -> Result<String, Error> {
    serde_json::to_string(resp).map_err(|e| Error::Corrupt(e.to_string()))
}

/// Every answer but `14` and a retransmission goes to the card's journal, with what an
/// advice or reversal must quote to find it and the scripts it carried
/// (docs/issuer-host.md §2, §5).
pub fn journal_entry<'a>(
    req: &'a AuthRequest,
    chip: Option<&ChipData>,
    resp: &'a AuthResponse,
    sent: &ScriptChanges,
    now: i64,
) -> JournalEntry<'a> {
    JournalEntry {
        at: now,
        mti: req.message_type.mti(),
        stan: req.stan,
        rrn: resp.rrn.as_deref().unwrap_or_default(),
        terminal_id: &req.terminal_id,
        transmitted_at: req.transmitted_at.as_deref(),
        channel: req.channel.name(),
        transaction_type: req.transaction_type.name(),
        atc: chip.map(|c| c.atc),
        amount: i64::try_from(req.amount).unwrap_or(i64::MAX),
        currency: req.currency,
        response_code: resp.response_code.as_str(),
        reason: &resp.reason,
        online_pin: resp.online_pin.map(OnlinePinResult::name),
        scripts: sent
            .iter()
            .filter(|(_, c)| matches!(c, ScriptChange::Sent { .. }))
            .map(|(id, _)| *id)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use emv_crypto::Pin;

    use super::*;
    use crate::rules::tests::{PAN, card, keys};
    use emv_auth::Channel;

    fn request(amount: u64) -> AuthRequest {
        crate::testkit::card_not_present(PAN, amount, None).unwrap()
    }

    #[test]
    fn status_expiry_and_plastics_decide_before_the_pin() {
        let k = keys();
        let mut c = card();
        let now = 1_767_225_600; // 2026-01
        let req = request(100);
        let pin = PresentedPin::Decoded(Pin::new(crate::rules::tests::PIN).unwrap());
        c.state.status = crate::provision::CardStatus::Blocked;
        c.state.online_pin_tries_left = 0;
        let v = decide(&k, &req, None, &c, Some(&pin), &[], now).unwrap();
        assert_eq!(
            v.decision.code,
            ResponseCode::RESTRICTED_CARD,
            "rule 5 first"
        );
        assert!(!v.changes_card());
        c.state.status = crate::provision::CardStatus::Active;
        let v = decide(&k, &req, None, &c, Some(&pin), &[], now).unwrap();
        assert_eq!(
            v.decision.code,
            ResponseCode::PIN_TRIES_EXCEEDED,
            "then rule 6"
        );
        c.state.online_pin_tries_left = 3;
        let lost = [("P-1".to_string(), PlasticStatus::Lost)];
        let v = decide(&k, &req, None, &c, Some(&pin), &lost, now).unwrap();
        assert_eq!(
            v.decision.code,
            ResponseCode::RESTRICTED_CARD,
            "a LOST plastic"
        );
        assert_eq!(
            v.decision.reason,
            format!("plastic P-1 (expiry {}) is LOST", c.expiry)
        );
        let d = expiry_and_plastic(&c, "2512", &[], now).unwrap().unwrap();
        assert_eq!(d.code, ResponseCode::EXPIRED_CARD);
        let mut old = card();
        old.expiry = "2512".into();
        let d = expiry_and_plastic(&old, "2512", &[], now).unwrap().unwrap();
        assert_eq!(d.reason, "the card expired at the end of 2512 (YYMM)");
        assert!(
            expiry_and_plastic(&old, "2512", &[], now - 86_400)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_pin_then_the_open_to_buy() {
        let k = keys();
        let c = card();
        let now = 1_767_225_600;
        let wrong = PresentedPin::Decoded(Pin::new("1357").unwrap());
        let v = decide(&k, &request(100), None, &c, Some(&wrong), &[], now).unwrap();
        assert_eq!(v.decision.code, ResponseCode::INCORRECT_PIN);
        assert_eq!((v.tries_left, v.open_to_buy), (Some(2), None));
        let right = PresentedPin::Decoded(Pin::new(crate::rules::tests::PIN).unwrap());
        let v = decide(&k, &request(100_001), None, &c, Some(&right), &[], now).unwrap();
        assert_eq!(v.decision.code, ResponseCode::INSUFFICIENT_FUNDS);
        assert_eq!(v.decision.online_pin, Some(OnlinePinResult::Verified));
        assert_eq!((v.tries_left, v.open_to_buy), (Some(3), None));
        let v = decide(&k, &request(100), None, &c, None, &[], now).unwrap();
        assert_eq!(v.decision.code, ResponseCode::APPROVED);
        assert_eq!((v.tries_left, v.open_to_buy), (None, Some(99_900)));
        let mut refund = request(100);
        refund.transaction_type = TransactionType::Refund;
        assert_eq!(open_to_buy(&refund, &c, None), Ok(100_100));
        let mut state = c.state.clone();
        v.apply(&mut state);
        assert_eq!(state.open_to_buy, 99_900);
    }

    #[test]
    fn amounts_currency_and_the_chip_decide_first() {
        let c = card();
        let ok = request(100);
        assert!(invalid_amount(&ok, &c).is_none());
        let code = |r: &AuthRequest| invalid_amount(r, &c).map(|d| d.code);
        let mut r = request(MAX_AMOUNT);
        assert_eq!(code(&r), None, "n 12 holds 999 999 999 999");
        r.amount = MAX_AMOUNT + 1;
        assert_eq!(code(&r), Some(ResponseCode::INVALID_AMOUNT));
        let mut r = request(100);
        r.amount_other = 101;
        assert_eq!(code(&r), Some(ResponseCode::INVALID_AMOUNT));
        r.amount_other = 100;
        assert_eq!(code(&r), None);
        let mut r = request(u64::MAX);
        r.transaction_type = TransactionType::Refund;
        assert_eq!(code(&r), Some(ResponseCode::INVALID_AMOUNT));
        r.amount = u64::try_from(c.open_to_buy_limit).unwrap() + 1;
        assert_eq!(
            code(&r),
            Some(ResponseCode::INVALID_AMOUNT),
            "above the limit"
        );
        r.amount = 5;
        assert_eq!(code(&r), None);
        // a refund never raises the open-to-buy beyond the limit
        let mut full = card();
        full.state.open_to_buy = full.open_to_buy_limit - 2;
        assert_eq!(open_to_buy(&r, &full, None), Ok(full.open_to_buy_limit));
        full.state.open_to_buy = full.open_to_buy_limit + 7;
        assert_eq!(
            open_to_buy(&r, &full, None),
            Ok(full.open_to_buy_limit + 7),
            "nor lowers one above it"
        );
        // currency
        let mut usd = request(100);
        usd.currency = 840;
        assert_eq!(
            foreign_currency(&usd, &c).map(|d| d.code),
            Some(ResponseCode::NOT_PERMITTED)
        );
        assert!(foreign_currency(&ok, &c).is_none());
        // the chip: by channel for a chip card, by entry mode for any
        assert!(chip_missing(&ok, &c, None).is_none(), "e-commerce");
        for (channel, entry) in [
            (Channel::Pos, None),
            (Channel::Atm, Some(emv_auth::EntryMode::MagStripe)),
            (Channel::Ecommerce, Some(emv_auth::EntryMode::Chip)),
        ] {
            let mut r = request(100);
            r.channel = channel;
            r.entry_mode = entry;
            let d = chip_missing(&r, &c, None).unwrap();
            assert_eq!(d.code, ResponseCode::DO_NOT_HONOUR, "{channel:?} {entry:?}");
        }
        let mut chipless = card();
        chipless.icc_keys.clear();
        let mut stripe = request(100);
        stripe.channel = Channel::Pos;
        stripe.entry_mode = Some(emv_auth::EntryMode::MagStripe);
        assert!(
            chip_missing(&stripe, &chipless, None).is_none(),
            "no chip to ask"
        );
        stripe.entry_mode = Some(emv_auth::EntryMode::Contactless);
        assert!(chip_missing(&stripe, &chipless, None).is_some());
    }

    #[test]
    fn message_checks_and_the_journal() {
        let mut req = request(100);
        req.expiry = Some("2613".into());
        assert!(matches!(
            check_message(&req, None),
            Err(Error::BadRequest(_))
        ));
        let req = request(100);
        check_message(&req, None).unwrap();
        let resp = unknown_card();
        assert_eq!(resp.response_code, ResponseCode::INVALID_CARD_NUMBER);
        let mut req = req;
        req.rrn = Some("123".into());
        assert!(matches!(
            check_message(&req, None),
            Err(Error::BadRequest(_))
        ));
        req.rrn = Some("ABCDEF 12345".into());
        check_message(&req, None).unwrap();
        let sent = vec![
            (
                super::super::ScriptId(3),
                ScriptChange::Sent {
                    at: 1,
                    atc: 2,
                    stan: 3,
                },
            ),
            (super::super::ScriptId(4), ScriptChange::Done { at: 1 }),
        ];
        let j = journal_entry(&req, None, &resp, &sent, 7);
        assert_eq!(j.scripts, [super::super::ScriptId(3)], "the scripts sent");
        assert_eq!((j.mti, j.currency), ("0100", 978));
        assert_eq!(
            (j.response_code, j.atc, j.amount, j.at),
            ("14", None, 100, 7)
        );
        assert_eq!(j.channel, Channel::Ecommerce.name());
    }

    #[test]
    fn chip_rules_retransmission_replay_and_learning() {
        let k = keys();
        let p = crate::rules::tests::provision();
        let mut test_card = crate::testkit::TestCard::new(&p).unwrap();
        let mut c = card();
        let online = test_card.online(100, None).unwrap();
        let chip = chip::parse(&online.request.icc_data).unwrap().unwrap();
        assert!(matches!(
            check_chip(&k, &c, &chip).unwrap(),
            ChipCheck::Verified(_)
        ));
        let mut forged = chip.clone();
        forged.arqc[0] ^= 1;
        assert!(matches!(
            check_chip(&k, &c, &forged).unwrap(),
            ChipCheck::Declined(
                Decision {
                    code: ResponseCode::DO_NOT_HONOUR,
                    ..
                },
                None
            )
        ));
        let mut tc = chip.clone();
        tc.cid = 0x40;
        assert!(not_an_arqc(&tc).is_some());
        learn_chip(&mut c.state, c.cvn, &chip, 0);
        assert_eq!(c.state.last_online_atc, Some(chip.atc));
        assert_eq!(c.state.chip.pin_blocked, Some(false));
        assert_eq!(
            c.state.chip.seen_at.as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        // the same ATC again: a replay, still with the keys for an ARPC
        assert!(matches!(
            check_chip(&k, &c, &chip).unwrap(),
            ChipCheck::Declined(_, Some(_))
        ));
        // with its answer stored: a retransmission
        c.state.last_response = Some(stored_answer(&unknown_card()).unwrap());
        assert!(matches!(
            check_chip(&k, &c, &chip).unwrap(),
            ChipCheck::Retransmission(r) if r == unknown_card()
        ));
    }
}
