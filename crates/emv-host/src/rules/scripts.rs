//! The script queue's rules (docs/issuer-host.md §4; docs/pin.md §6): what is queued,
//! what an answer carries, and the Card Status Update that goes with it.

use emv_auth::OnlinePinResult;
use emv_crypto::cryptogram::{ArpcMethod, ArpcResponse, Csu};
use emv_crypto::script::IccKeys;

use super::authorise::Decision;
use super::{CardRecord, NewScript, ScriptChange, ScriptChanges, ScriptId, ScriptRow};
use crate::Error;
use crate::chip::ChipData;
use crate::keys::HostKeys;
use crate::pin;
use crate::scripts::{self, MAX_SCRIPTS_LEN, ScriptKind};

/// Whether to queue a script of `kind` next to the card's `open` ones: a PIN CHANGE also
/// resets the chip's PIN Try Counter, so it supersedes them; an unblock is not added next
/// to an open script, which resets the counter too (docs/issuer-host.md §4; EMV 4.4 Book 3
/// §6.5.10.4).
pub fn queueing(kind: ScriptKind, open: &[ScriptRow]) -> Option<NewScript> {
    match kind {
        ScriptKind::PinUnblock if open.iter().any(ScriptRow::is_open) => None,
        ScriptKind::PinUnblock => Some(NewScript {
            kind,
            supersede_open: false,
        }),
        ScriptKind::PinChange => Some(NewScript {
            kind,
            supersede_open: true,
        }),
    }
}

/// The card's open scripts once `new` (queued as `id`) is among them.
pub fn after_queueing(open: &mut Vec<ScriptRow>, new: NewScript, id: ScriptId) {
    if new.supersede_open {
        open.clear();
    }
    open.push(ScriptRow::queued(id, new.kind));
}

/// Rule 10: the online PIN was just verified and the chip says its offline PIN is blocked
/// (an ATM with online PIN unblocks the chip): a PIN UNBLOCK is due (docs/pin.md §6.2).
pub fn unblock_due(decision: &Decision, card: &CardRecord, chip: &ChipData) -> bool {
    decision.code.is_approved()
        && decision.online_pin == Some(OnlinePinResult::Verified)
        && crate::chip::pin_state(card.cvn, &chip.iad).offline_pin_blocked == Some(true)
}

/// The scripts an approval carries: the open ones in order, each built for this
/// transaction's ATC and ARQC, up to 128 bytes in all (EMV 4.4 Book 4 §6.3.9; the rest
/// waits for the next approval), each marked sent with the ATC and STAN it went with.
pub fn for_response(
    keys: &HostKeys,
    icc: &IccKeys,
    card: &CardRecord,
    chip: &ChipData,
    open: &[ScriptRow],
    stan: u32,
    now: i64,
) -> Result<(Vec<Vec<u8>>, ScriptChanges), Error> {
    let pending_pin = card
        .state
        .pending_pin
        .as_deref()
        .map(super::pin::decode_hex)
        .transpose()?;
    let mut templates = Vec::new();
    let mut sent = Vec::new();
    let mut total = 0;
    for s in open {
        let new_pin = match (&pending_pin, s.kind) {
            (Some(b), ScriptKind::PinChange) => Some(pin::open_pin(keys, &card.pan, b)?),
            _ => None,
        };
        let t = scripts::build_template(
            icc,
            card.cvn,
            chip,
            s.id.identifier(),
            s.kind,
            new_pin.as_ref(),
        )?;
        if total + t.len() > MAX_SCRIPTS_LEN {
            break;
        }
        total += t.len();
        templates.push(t);
        sent.push((
            s.id,
            ScriptChange::Sent {
                at: now,
                atc: chip.atc,
                stan,
            },
        ));
    }
    Ok((templates, sent))
}

/// What the ARPC authenticates, by the CVN's method (EMV 4.4 Book 2 §8.2): method 1 the
/// ARC; method 2 a CSU (Book 3 Annex C10) that approves or declines and, when scripts ride
/// on an approval, also resets the chip's PIN Try Counter to its limit
/// (docs/emv.md §5.7).
pub fn arpc_response(card: &CardRecord, decision: &Decision, scripts_sent: bool) -> ArpcResponse {
    match card.cvn.arpc_method() {
        ArpcMethod::Method1 => ArpcResponse::Arc(decision.code.to_arc()),
        ArpcMethod::Method2 => {
            let csu = match (decision.code.is_approved(), scripts_sent) {
                (true, true) => Csu::approve_and_reset_ptc(card.offline_pin_try_limit),
                (true, false) => Csu {
                    approved: true,
                    ..Csu::default()
                },
                (false, _) => Csu::default(),
            };
            ArpcResponse::Csu {
                csu: csu.to_bytes(),
                proprietary: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::card;
    use crate::scripts::ScriptState;
    use emv_auth::ResponseCode;
    use emv_crypto::Cvn;

    fn row(id: i64, kind: ScriptKind, state: ScriptState) -> ScriptRow {
        ScriptRow {
            state,
            ..ScriptRow::queued(ScriptId(id), kind)
        }
    }

    #[test]
    fn an_unblock_waits_behind_an_open_script_and_a_pin_change_supersedes() {
        let open = [row(1, ScriptKind::PinChange, ScriptState::Sent)];
        assert_eq!(queueing(ScriptKind::PinUnblock, &open), None);
        let q = queueing(ScriptKind::PinUnblock, &[]).unwrap();
        assert!(!q.supersede_open);
        let q = queueing(ScriptKind::PinChange, &open).unwrap();
        let mut list = open.to_vec();
        after_queueing(&mut list, q, ScriptId(2));
        assert_eq!(
            list,
            [ScriptRow::queued(ScriptId(2), ScriptKind::PinChange)]
        );
        let mut list = vec![row(1, ScriptKind::PinUnblock, ScriptState::Pending)];
        after_queueing(
            &mut list,
            NewScript {
                kind: ScriptKind::PinUnblock,
                supersede_open: false,
            },
            ScriptId(3),
        );
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn method_2_resets_the_chip_counter_only_with_scripts_on_an_approval() {
        let mut c = card();
        c.cvn = Cvn::Visa18;
        let approved = Decision::new(ResponseCode::APPROVED, "approved", None);
        let declined = Decision::new(ResponseCode::DO_NOT_HONOUR, "no", None);
        let csu = |d: &Decision, sent| match arpc_response(&c, d, sent) {
            ArpcResponse::Csu { csu, .. } => Csu::from_bytes(csu),
            other => panic!("{other:?}"),
        };
        assert_eq!(csu(&approved, true), Csu::approve_and_reset_ptc(3));
        let plain = csu(&approved, false);
        assert!(plain.approved && !plain.update_pin_try_counter);
        assert_eq!(csu(&declined, true), Csu::default());
        c.cvn = Cvn::Visa10;
        assert_eq!(
            arpc_response(&c, &declined, false),
            ArpcResponse::Arc(*b"05")
        );
    }
}
