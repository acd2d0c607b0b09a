//! Completion and reversal advices (docs/issuer-host.md §4, §5): the Issuer Script Results
//! (9F5B, EMV 4.4 Book 4 §6.3.9, Annex A5) settle the script queue; a reversal undoes the
//! approval with its STAN.

use emv_auth::{AdviceReason, ResponseCode, TransactionType};
use serde::{Deserialize, Serialize};

use super::{
    Approval, AuthorisationId, CardRecord, ScriptChange, ScriptChanges, ScriptId, ScriptRow,
};
use crate::scripts::{ScriptKind, ScriptResult, ScriptState};

/// What a completion or reversal advice settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdviceOutcome {
    /// The answer's response code (DE 39): `00` taken, `25` no such original.
    pub response_code: ResponseCode,
    /// Scripts the chip ran (now done).
    pub confirmed: Vec<String>,
    /// Scripts that failed or were not delivered (sent again next time).
    pub retry: Vec<String>,
    /// Script results naming no open script of this card.
    pub ignored: Vec<String>,
    /// Whether an approval was reversed.
    pub reversed: bool,
}

impl Default for AdviceOutcome {
    fn default() -> Self {
        Self {
            response_code: ResponseCode::APPROVED,
            confirmed: Vec::new(),
            retry: Vec::new(),
            ignored: Vec::new(),
            reversed: false,
        }
    }
}

/// An advice's effects on the card, its scripts and its journal.
#[derive(Debug, Default)]
pub struct Settlement {
    /// What to answer.
    pub outcome: AdviceOutcome,
    /// What happens to the scripts, in order.
    pub scripts: ScriptChanges,
    /// Whether the card's state changed.
    pub card_changed: bool,
    /// The approval undone.
    pub reversed: Option<AuthorisationId>,
}

/// Settles an advice for `card`, whose open scripts are `open` (in id order) and whose
/// approval with the advice's STAN, for a reversal, is `approval`.
pub fn settle(
    card: &mut CardRecord,
    mut open: Vec<ScriptRow>,
    results: &[ScriptResult],
    reason: AdviceReason,
    stan: u32,
    approval: Option<&Approval>,
    now: i64,
) -> Settlement {
    let mut out = Settlement::default();
    for r in results {
        script_result(card, &mut open, r, now, &mut out);
    }
    if reason == AdviceReason::Reversal
        && let Some(a) = approval
    {
        reverse(card, a);
        out.card_changed = true;
        out.reversed = Some(a.id);
        out.outcome.reversed = true;
    }
    undelivered(&mut open, reason, stan, &mut out);
    out
}

/// One Issuer Script Result: `2x` = the chip ran the script, which is done, and PIN UNBLOCK
/// and PIN CHANGE set the chip's PIN Try Counter back to its limit (EMV 4.4 Book 3
/// §6.5.10.4); once no PIN CHANGE is open the sealed new PIN is wiped. Any other result
/// sends the script again. A result naming no open script of the card is ignored
/// (docs/issuer-host.md §4, §5; docs/emv.md §5.2).
pub fn script_result(
    card: &mut CardRecord,
    open: &mut [ScriptRow],
    r: &ScriptResult,
    now: i64,
    out: &mut Settlement,
) {
    let id = ScriptId::from_identifier(r.script_id);
    let id_hex = hex::encode_upper(r.script_id);
    let Some(script) = open.iter_mut().find(|s| s.id == id && s.is_open()) else {
        out.outcome.ignored.push(id_hex);
        return;
    };
    if !r.successful() {
        let why = r.describe();
        script.state = ScriptState::Pending;
        script.last_result = Some(why.clone());
        out.scripts.push((id, ScriptChange::Retry { why }));
        out.outcome.retry.push(id_hex);
        return;
    }
    script.state = ScriptState::Done;
    let kind = script.kind;
    out.scripts.push((id, ScriptChange::Done { at: now }));
    card.state.chip.pin_blocked = Some(false);
    card.state.chip.pin_try_counter = Some(card.offline_pin_try_limit);
    if kind == ScriptKind::PinChange
        && !open
            .iter()
            .any(|s| s.kind == ScriptKind::PinChange && s.is_open())
    {
        // the chip has the new PIN: the sealed copy goes
        card.state.pending_pin = None;
    }
    out.card_changed = true;
    out.outcome.confirmed.push(id_hex);
}

/// A reversal gives the approval's amount back to the open-to-buy (a refund's is taken
/// again), never below 0 (docs/issuer-host.md §5).
pub fn reverse(card: &mut CardRecord, approval: &Approval) {
    let delta = if approval.transaction_type == TransactionType::Refund.name() {
        -approval.amount
    } else {
        approval.amount
    };
    card.state.open_to_buy = card.state.open_to_buy.saturating_add(delta).max(0);
}

/// Scripts sent with the advised authorisation that no result reports were not delivered
/// (the card was pulled, or the transaction reversed): sent again with the next approval
/// (docs/issuer-host.md §4).
pub fn undelivered(open: &mut [ScriptRow], reason: AdviceReason, stan: u32, out: &mut Settlement) {
    let why = match reason {
        AdviceReason::Reversal => "not delivered (reversal)",
        AdviceReason::Completion => "not delivered (no result in the completion advice)",
    };
    for s in open
        .iter_mut()
        .filter(|s| s.state == ScriptState::Sent && s.sent_stan == Some(stan))
    {
        s.state = ScriptState::Pending;
        out.scripts
            .push((s.id, ScriptChange::Retry { why: why.into() }));
        out.outcome.retry.push(s.id.hex());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::card;

    fn sent(id: i64, kind: ScriptKind, stan: u32) -> ScriptRow {
        ScriptRow {
            state: ScriptState::Sent,
            attempts: 1,
            sent_stan: Some(stan),
            ..ScriptRow::queued(ScriptId(id), kind)
        }
    }

    fn result(result: u8, id: u32) -> ScriptResult {
        ScriptResult {
            result,
            sequence: 0,
            script_id: id.to_be_bytes(),
        }
    }

    #[test]
    fn results_settle_the_queue_and_the_rest_is_sent_again() {
        let mut c = card();
        c.state.chip.pin_blocked = Some(true);
        c.state.pending_pin = Some("00".into());
        let open = vec![
            sent(1, ScriptKind::PinChange, 7),
            sent(2, ScriptKind::PinUnblock, 7),
            sent(3, ScriptKind::PinUnblock, 6),
        ];
        let s = settle(
            &mut c,
            open,
            &[result(2, 1), result(2, 1), result(1, 9)],
            AdviceReason::Completion,
            7,
            None,
            5,
        );
        assert_eq!(s.outcome.confirmed, ["00000001"]);
        assert_eq!(s.outcome.ignored, ["00000001", "00000009"]);
        assert_eq!(s.outcome.retry, ["00000002"], "sent with STAN 7, no result");
        assert_eq!(
            s.scripts,
            [
                (ScriptId(1), ScriptChange::Done { at: 5 }),
                (
                    ScriptId(2),
                    ScriptChange::Retry {
                        why: "not delivered (no result in the completion advice)".into()
                    }
                )
            ]
        );
        assert!(s.card_changed);
        assert_eq!(c.state.chip.pin_blocked, Some(false));
        assert_eq!(c.state.chip.pin_try_counter, Some(3));
        assert_eq!(c.state.pending_pin, None);
    }

    #[test]
    fn a_failed_script_goes_back_and_a_reversal_gives_the_amount_back() {
        let mut c = card();
        let approval = Approval {
            id: AuthorisationId(4),
            amount: 250,
            transaction_type: TransactionType::Purchase.name().into(),
        };
        let s = settle(
            &mut c,
            vec![sent(1, ScriptKind::PinUnblock, 7)],
            &[result(1, 1)],
            AdviceReason::Reversal,
            7,
            Some(&approval),
            5,
        );
        assert_eq!(s.outcome.retry, ["00000001"], "once: the failure");
        assert_eq!(
            s.scripts,
            [(
                ScriptId(1),
                ScriptChange::Retry {
                    why: "failed".into()
                }
            )]
        );
        assert!(s.outcome.reversed);
        assert_eq!(s.reversed, Some(AuthorisationId(4)));
        assert_eq!(c.state.open_to_buy, 100_250);
        let refund = Approval {
            transaction_type: TransactionType::Refund.name().into(),
            amount: 1_000_000,
            ..approval
        };
        reverse(&mut c, &refund);
        assert_eq!(c.state.open_to_buy, 0, "never below 0");
    }
}
