//! Completion and reversal advices (docs/issuer-host.md §4, §5): an advice acts only on an
//! answer the host journalled ([`find_original`]); its Issuer Script Results (9F5B, EMV 4.4
//! Book 4 §6.3.9, Annex A5) settle only the scripts that answer carried; a reversal gives an
//! approval's amount back once.

use emv_auth::{Advice, AdviceReason, ResponseCode, TransactionType};
use serde::{Deserialize, Serialize};

use super::{
    Answered, AuthorisationId, CardRecord, ScriptChange, ScriptChanges, ScriptId, ScriptRow,
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
    /// The answer undone.
    pub reversed: Option<AuthorisationId>,
}

/// The STAN under which the journal keeps the transaction an advice is about: DE 90's
/// original STAN when the advice carries DE 90, else its own DE 11 (ISO 8583:1987 DE 90,
/// original data elements).
pub fn journal_stan(advice: &Advice) -> u32 {
    advice.original.as_ref().map_or(advice.stan, |o| o.stan)
}

/// `MMDD` of a DE 7 (`MMDDhhmmss`), if it has one.
fn de7_date(de7: &str) -> Option<&str> {
    de7.get(..4)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

/// `MMDD` of an RFC 3339 date (`YYYY-MM-DD…`).
fn rfc3339_mmdd(at: &str) -> String {
    format!(
        "{}{}",
        at.get(5..7).unwrap_or_default(),
        at.get(8..10).unwrap_or_default()
    )
}

/// `MMDD` (UTC) of a Unix time.
fn mmdd(unix: i64) -> String {
    let (_, m, d, ..) = crate::time::civil(unix);
    format!("{m:02}{d:02}")
}

/// The journalled answer an advice is about, among the card's `answers` with its
/// [`journal_stan`] (newest first), or `None` (docs/issuer-host.md §5):
/// - a completion advice names the answer by PAN, STAN, RRN (DE 37) and ATC (9F36 of its
///   DE 55): all four must match (EMV 4.4 Book 4 §6.3.9: the advice reports the outcome of
///   the transaction the issuer answered);
/// - a reversal names it by DE 90 (original MTI, STAN and DE 7) when present, else by STAN,
///   PAN, terminal id (DE 41) and date (the MMDD of DE 7; today when the reversal has no
///   DE 7), and by RRN too when the reversal quotes one (ISO 8583:1987 DE 90, DE 37).
pub fn find_original<'a>(
    advice: &Advice,
    atc: Option<u16>,
    answers: &'a [Answered],
    now: i64,
) -> Option<&'a Answered> {
    let rrn_matches = |a: &Answered| advice.rrn.is_some() && a.rrn == advice.rrn;
    match (advice.reason, &advice.original) {
        (AdviceReason::Completion, _) => answers
            .iter()
            .find(|a| rrn_matches(a) && a.atc == atc && a.stan == journal_stan(advice)),
        (AdviceReason::Reversal, Some(o)) => answers.iter().find(|a| {
            a.stan == o.stan
                && a.mti.as_deref() == Some(o.mti.as_str())
                && a.transmitted_at.as_deref() == Some(o.transmitted_at.as_str())
                && (advice.rrn.is_none() || rrn_matches(a))
        }),
        (AdviceReason::Reversal, None) => {
            let today = mmdd(now);
            let date = advice
                .transmitted_at
                .as_deref()
                .and_then(de7_date)
                .unwrap_or(&today);
            answers.iter().find(|a| {
                let answered_on = a
                    .transmitted_at
                    .as_deref()
                    .and_then(de7_date)
                    .map_or_else(|| rfc3339_mmdd(&a.at), str::to_string);
                a.stan == advice.stan
                    && a.terminal_id.as_deref().unwrap_or_default() == advice.terminal_id
                    && answered_on == date
                    && (advice.rrn.is_none() || rrn_matches(a))
            })
        }
    }
}

/// Settles an advice for `card`, whose open scripts are `open` (in id order), about the
/// journalled answer `original` ([`find_original`]):
/// - no such answer: `25`, nothing changes (docs/issuer-host.md §5);
/// - the Issuer Script Results settle only the scripts that answer carried; a result
///   naming any other script is ignored ([`script_result`]);
/// - a reversal of an answer reversed already: `00`, nothing changes (ISO 8583 repeat);
///   else an approval's amount goes back once ([`reverse`]) and the answer's scripts the
///   chip did not report go back to pending ([`undelivered`]).
pub fn settle(
    card: &mut CardRecord,
    open: Vec<ScriptRow>,
    results: &[ScriptResult],
    advice: &Advice,
    original: Option<&Answered>,
    now: i64,
) -> Settlement {
    let mut out = Settlement::default();
    let Some(original) = original else {
        out.outcome.response_code = ResponseCode::NO_ORIGINAL;
        out.outcome.ignored = results
            .iter()
            .map(|r| hex::encode_upper(r.script_id))
            .collect();
        return out;
    };
    let reversal = advice.reason == AdviceReason::Reversal;
    if reversal && original.reversed {
        out.outcome.ignored = results
            .iter()
            .map(|r| hex::encode_upper(r.script_id))
            .collect();
        return out;
    }
    let mut open = open;
    for r in results {
        script_result(card, &mut open, &original.scripts, r, now, &mut out);
    }
    if reversal {
        if original.approved() {
            reverse(card, original, advice.amount);
            out.card_changed = true;
            out.outcome.reversed = true;
        }
        // a declined answer is marked too: a second reversal then changes nothing
        out.reversed = Some(original.id);
    }
    undelivered(&mut open, advice.reason, original, &mut out);
    out
}

/// One Issuer Script Result: `2x` = the chip ran the script, which is done, and PIN UNBLOCK
/// and PIN CHANGE set the chip's PIN Try Counter back to its limit (EMV 4.4 Book 3
/// §6.5.10.4); once no PIN CHANGE is open the sealed new PIN is wiped. Any other result
/// sends the script again. A result naming a script that is not open, or that the advised
/// answer did not carry (`carried`), is ignored (docs/issuer-host.md §4, §5; docs/emv.md
/// §5.2).
pub fn script_result(
    card: &mut CardRecord,
    open: &mut [ScriptRow],
    carried: &[ScriptId],
    r: &ScriptResult,
    now: i64,
    out: &mut Settlement,
) {
    let id = ScriptId::from_identifier(r.script_id);
    let id_hex = hex::encode_upper(r.script_id);
    let Some(script) = open
        .iter_mut()
        .find(|s| s.id == id && s.is_open() && carried.contains(&s.id))
    else {
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

/// A reversal gives the approval's amount back to the open-to-buy once, at most the
/// original amount (a partial reversal quotes less in DE 4) and never above the card's
/// provisioned limit; a refund's is taken again, never below 0 (docs/issuer-host.md §5;
/// ISO 8583:1987 DE 4 of a 0400/0420 is the amount to reverse).
pub fn reverse(card: &mut CardRecord, original: &Answered, amount: Option<u64>) {
    let back = amount
        .and_then(|a| i64::try_from(a).ok())
        .map_or(original.amount, |a| a.min(original.amount))
        .max(0);
    let otb = card.state.open_to_buy;
    card.state.open_to_buy = if original.transaction_type == TransactionType::Refund.name() {
        otb.saturating_sub(back).max(0)
    } else {
        otb.saturating_add(back)
            .min(card.open_to_buy_limit.max(otb))
    };
}

/// Scripts the advised answer carried that are still marked sent with it and that no
/// result reports were not delivered (the card was pulled, or the transaction reversed):
/// sent again with the next approval (docs/issuer-host.md §4).
pub fn undelivered(
    open: &mut [ScriptRow],
    reason: AdviceReason,
    original: &Answered,
    out: &mut Settlement,
) {
    let why = match reason {
        AdviceReason::Reversal => "not delivered (reversal)",
        AdviceReason::Completion => "not delivered (no result in the completion advice)",
    };
    for s in open.iter_mut().filter(|s| {
        s.state == ScriptState::Sent
            && s.sent_stan == Some(original.stan)
            && original.scripts.contains(&s.id)
    }) {
        s.state = ScriptState::Pending;
        out.scripts
            .push((s.id, ScriptChange::Retry { why: why.into() }));
        out.outcome.retry.push(s.id.hex());
    }
}

#[cfg(test)]
mod tests {
    use emv_auth::OriginalData;

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

    /// An approval of 250 with STAN 7, RRN 000000000042, ATC 9 at ATM00001 on 15 January,
    /// that carried scripts 1 and 2.
    fn answered() -> Answered {
        Answered {
            id: AuthorisationId(4),
            at: "2026-01-15T12:00:00Z".into(),
            mti: Some("0200".into()),
            stan: 7,
            rrn: Some("000000000042".into()),
            terminal_id: Some("ATM00001".into()),
            transmitted_at: Some("0115120000".into()),
            atc: Some(9),
            amount: 250,
            transaction_type: TransactionType::Purchase.name().into(),
            response_code: "00".into(),
            reversed: false,
            scripts: vec![ScriptId(1), ScriptId(2)],
        }
    }

    fn completion() -> Advice {
        Advice {
            reason: AdviceReason::Completion,
            pan: crate::rules::tests::PAN.into(),
            stan: 7,
            rrn: Some("000000000042".into()),
            terminal_id: "ATM00001".into(),
            ..Advice::default()
        }
    }

    fn reversal() -> Advice {
        Advice {
            reason: AdviceReason::Reversal,
            request: true,
            transmitted_at: Some("0115120005".into()),
            ..completion()
        }
    }

    #[test]
    fn an_advice_finds_only_the_answer_it_quotes() {
        let a = [answered()];
        let now = 1_768_478_400;
        assert!(find_original(&completion(), Some(9), &a, now).is_some());
        for (advice, atc, why) in [
            (completion(), Some(8), "another ATC"),
            (completion(), None, "no ATC"),
            (
                Advice {
                    rrn: None,
                    ..completion()
                },
                Some(9),
                "no RRN",
            ),
            (
                Advice {
                    rrn: Some("000000000043".into()),
                    ..completion()
                },
                Some(9),
                "another RRN",
            ),
            (
                Advice {
                    stan: 8,
                    ..completion()
                },
                Some(9),
                "another STAN",
            ),
        ] {
            assert!(find_original(&advice, atc, &a, now).is_none(), "{why}");
        }
        // reversals: by STAN, terminal and date (+ RRN when quoted), or by DE 90
        assert!(find_original(&reversal(), None, &a, now).is_some());
        let no_rrn = Advice {
            rrn: None,
            ..reversal()
        };
        assert!(find_original(&no_rrn, None, &a, now).is_some());
        for (advice, why) in [
            (
                Advice {
                    terminal_id: "ATM00002".into(),
                    ..reversal()
                },
                "another terminal",
            ),
            (
                Advice {
                    transmitted_at: Some("0116000000".into()),
                    ..reversal()
                },
                "another day",
            ),
            (
                Advice {
                    rrn: Some("000000000043".into()),
                    ..reversal()
                },
                "another RRN",
            ),
        ] {
            assert!(find_original(&advice, None, &a, now).is_none(), "{why}");
        }
        let undated = Advice {
            transmitted_at: None,
            ..no_rrn.clone()
        };
        assert!(find_original(&undated, None, &a, now).is_some(), "today");
        assert!(find_original(&undated, None, &a, now + 86_400).is_none());
        let old = [Answered {
            transmitted_at: None,
            ..answered()
        }];
        assert!(
            find_original(&no_rrn, None, &old, now).is_some(),
            "its journal date"
        );
        let de90 = |mti: &str, de7: &str| Advice {
            stan: 99,
            terminal_id: String::new(),
            rrn: None,
            original: Some(OriginalData {
                mti: mti.into(),
                stan: 7,
                transmitted_at: de7.into(),
                ..OriginalData::default()
            }),
            ..reversal()
        };
        assert_eq!(journal_stan(&de90("0200", "0115120000")), 7);
        assert!(find_original(&de90("0200", "0115120000"), None, &a, now).is_some());
        assert!(find_original(&de90("0100", "0115120000"), None, &a, now).is_none());
        assert!(find_original(&de90("0200", "0115120001"), None, &a, now).is_none());
    }

    #[test]
    fn results_settle_only_the_answers_scripts_and_the_rest_is_sent_again() {
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
            &[result(2, 1), result(2, 1), result(1, 9), result(2, 3)],
            &completion(),
            Some(&answered()),
            5,
        );
        assert_eq!(s.outcome.response_code, ResponseCode::APPROVED);
        assert_eq!(s.outcome.confirmed, ["00000001"]);
        assert_eq!(
            s.outcome.ignored,
            ["00000001", "00000009", "00000003"],
            "script 3 was not in this answer"
        );
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
    fn an_advice_about_no_answer_changes_nothing() {
        let mut c = card();
        c.state.pending_pin = Some("00".into());
        let before = c.clone();
        let open = vec![ScriptRow::queued(ScriptId(1), ScriptKind::PinChange)];
        let s = settle(&mut c, open, &[result(2, 1)], &completion(), None, 5);
        assert_eq!(s.outcome.response_code, ResponseCode::NO_ORIGINAL);
        assert_eq!(s.outcome.ignored, ["00000001"]);
        assert!(s.scripts.is_empty() && !s.card_changed && s.reversed.is_none());
        assert_eq!(c, before, "the pending PIN is kept");
        // an answer that did not carry the PIN CHANGE cannot settle it either
        let other = Answered {
            scripts: Vec::new(),
            ..answered()
        };
        let open = vec![ScriptRow::queued(ScriptId(1), ScriptKind::PinChange)];
        let s = settle(
            &mut c,
            open,
            &[result(2, 1)],
            &completion(),
            Some(&other),
            5,
        );
        assert_eq!(s.outcome.ignored, ["00000001"]);
        assert!(s.scripts.is_empty() && !s.card_changed);
        assert_eq!(c, before);
    }

    #[test]
    fn a_reversal_gives_the_amount_back_once_and_sends_the_scripts_again() {
        let mut c = card();
        let a = answered();
        let s = settle(
            &mut c,
            vec![sent(1, ScriptKind::PinUnblock, 7)],
            &[result(1, 1)],
            &reversal(),
            Some(&a),
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
        // reversed already: 00, nothing changes
        let done = Answered {
            reversed: true,
            ..a.clone()
        };
        let s = settle(&mut c, Vec::new(), &[], &reversal(), Some(&done), 5);
        assert_eq!(s.outcome.response_code, ResponseCode::APPROVED);
        assert!(!s.outcome.reversed && !s.card_changed && s.reversed.is_none());
        assert_eq!(c.state.open_to_buy, 100_250);
        // a declined answer: marked, no money moves
        let declined = Answered {
            response_code: "55".into(),
            ..a.clone()
        };
        let s = settle(&mut c, Vec::new(), &[], &reversal(), Some(&declined), 5);
        assert_eq!(s.reversed, Some(AuthorisationId(4)));
        assert!(!s.outcome.reversed && !s.card_changed);
        assert_eq!(c.state.open_to_buy, 100_250);
    }

    #[test]
    fn a_reversal_gives_back_at_most_the_original_and_never_beyond_the_limit() {
        let mut c = card();
        let a = answered();
        reverse(&mut c, &a, Some(u64::MAX));
        assert_eq!(c.state.open_to_buy, 100_250, "at most the original amount");
        reverse(&mut c, &a, Some(50));
        assert_eq!(c.state.open_to_buy, 100_300, "a partial reversal");
        c.state.open_to_buy = c.open_to_buy_limit - 10;
        reverse(&mut c, &a, None);
        assert_eq!(
            c.state.open_to_buy, c.open_to_buy_limit,
            "never beyond the limit"
        );
        let refund = Answered {
            transaction_type: TransactionType::Refund.name().into(),
            amount: 10_000_000,
            ..a
        };
        reverse(&mut c, &refund, None);
        assert_eq!(c.state.open_to_buy, 0, "never below 0");
    }
}
