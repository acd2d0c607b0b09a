//! The online PIN and the PIN management rules (docs/pin.md §3, §5, §6;
//! docs/issuer-host.md §7).

use emv_auth::{OnlinePinResult, ResponseCode};
use emv_crypto::Pin;

use super::authorise::Decision;
use super::{CardRecord, CardState, NewScript};
use crate::Error;
use crate::keys::HostKeys;
use crate::pin::{self, PinRecord};
use crate::scripts::ScriptKind;

/// The online PIN as the request presented it (DE 52).
#[derive(Debug)]
pub enum PresentedPin {
    /// The block decrypted to a PIN.
    Decoded(Pin),
    /// The block did not decode to a valid ISO 9564 PIN field under the key it names: it
    /// counts as a wrong PIN, and only the log says why (docs/issuer-host.md §3).
    Undecodable,
}

/// Rule 6: past the limit every authorisation is declined `75`, on every channel, with or
/// without a PIN, until the PIN is reset through the PIN management API (docs/pin.md §3;
/// ISO 8583 DE 39 `75`, docs/issuer-host.md §3).
pub fn online_pin_blocked(card: &CardRecord, pin: Option<&PresentedPin>) -> Option<Decision> {
    (card.state.online_pin_tries_left == 0).then(|| {
        Decision::new(
            ResponseCode::PIN_TRIES_EXCEEDED,
            format!(
                "online PIN blocked after {} wrong PINs: every authorisation is declined until the PIN \
                 is reset through the PIN management API",
                card.online_pin_try_limit
            ),
            pin.map(|_| OnlinePinResult::Blocked),
        )
    })
}

/// Rule 8's outcome: the counter to store and, for a wrong PIN, the decline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlinePinCheck {
    /// The PIN is right; the counter goes back to the limit.
    Verified {
        /// The new counter.
        tries_left: u8,
    },
    /// The PIN is wrong: `55`, one try fewer.
    Incorrect {
        /// The new counter.
        tries_left: u8,
        /// The decline.
        decision: Decision,
    },
}

/// Rule 8: the counter is decremented first, then the PIN is compared (constant time, in
/// [`PinRecord::verify`]); a correct PIN puts the counter back to the limit (only
/// consecutive failures block), a wrong one declines `55` (docs/pin.md §3, §8; ISO
/// 9564-1 §9.1). Both values are written in the transaction that answers, so no answer
/// leaves before its decrement is committed. Rule 6 ran before: the counter is not 0.
///
/// A PIN block that does not decode is a wrong PIN: the same `55`, reason and decrement,
/// so that a caller learns nothing from the difference (no decryption oracle on the zone
/// PIN key; docs/issuer-host.md §3); its verification data is still computed, for the
/// same timing.
pub fn verify_online(
    keys: &HostKeys,
    card: &CardRecord,
    pin: &PresentedPin,
) -> Result<OnlinePinCheck, Error> {
    let left = card.state.online_pin_tries_left.saturating_sub(1);
    let verified = match pin {
        PresentedPin::Decoded(pin) => card.state.pin.verify(keys, &card.pan, pin)?,
        PresentedPin::Undecodable => {
            let stand_in = Pin::new("0000")?;
            let _ = card.state.pin.verify(keys, &card.pan, &stand_in);
            false
        }
    };
    if verified {
        return Ok(OnlinePinCheck::Verified {
            tries_left: card.online_pin_try_limit,
        });
    }
    let reason = if left == 0 {
        format!(
            "incorrect PIN: the online PIN is now blocked ({} wrong PINs)",
            card.online_pin_try_limit
        )
    } else {
        format!("incorrect PIN: {left} online PIN tries left")
    };
    Ok(OnlinePinCheck::Incorrect {
        tries_left: left,
        decision: Decision::new(
            ResponseCode::INCORRECT_PIN,
            reason,
            Some(OnlinePinResult::Incorrect),
        ),
    })
}

/// Unblock PIN and reset PIN (keep): the online counter back to its limit
/// (docs/issuer-host.md §7, docs/pin.md §6.1).
pub fn reset_online_counter(card: &mut CardRecord) {
    card.state.online_pin_tries_left = card.online_pin_try_limit;
}

/// Unblock PIN: the online counter reset, and a PIN UNBLOCK for the chip's next online
/// authorisation (docs/pin.md §6.1), unless a script is open already
/// ([`super::scripts::queueing`]).
pub fn unblock(card: &mut CardRecord) -> ScriptKind {
    reset_online_counter(card);
    ScriptKind::PinUnblock
}

/// What the cardholder should do after an Unblock PIN (docs/pin.md §6): an ATM delivers
/// the PIN UNBLOCK script; only when the host knows the chip's offline PIN is blocked (its
/// last CVR said so) can a merchant terminal still decline the first transaction, until the
/// script has reached the chip.
pub fn unblock_next_step(card: &CardRecord) -> &'static str {
    if card.state.chip.pin_blocked == Some(true) {
        "Make an ATM transaction with the card (online PIN): it delivers the unblock script \
         to the chip, whose offline PIN is blocked. At a merchant terminal the first \
         transaction may still be declined."
    } else {
        "Make an ATM transaction with the card (online PIN): it delivers the unblock script \
         to the chip."
    }
}

/// A new PIN on the host (reset with a new PIN, change, Set PIN): new verification data,
/// the PIN kept sealed for the PIN CHANGE script while it is pending, the online counter
/// reset; a PIN CHANGE supersedes the open scripts, as it resets the chip's counter too
/// (docs/pin.md §6.3, docs/issuer-host.md §4).
pub fn new_pin(keys: &HostKeys, card: &mut CardRecord, pin: &Pin) -> Result<NewScript, Error> {
    let mut record = PinRecord::new(
        keys,
        &card.pan,
        card.state.pin.method,
        card.state.pin.pvki,
        pin,
    )?;
    // a card that offers View PIN keeps offering it with its new PIN (docs/pin.md §5)
    if card.state.pin.sealed.is_some() {
        record = record.recoverable(keys, &card.pan, pin)?;
    }
    let sealed = hex::encode_upper(pin::seal_pin(keys, &card.pan, pin)?);
    let state: &mut CardState = &mut card.state;
    state.pin = record;
    state.pending_pin = Some(sealed);
    state.online_pin_tries_left = card.online_pin_try_limit;
    Ok(NewScript {
        kind: ScriptKind::PinChange,
        supersede_open: true,
    })
}

/// A PIN chosen through the API must pass the PIN policy (docs/pin.md §5); the refusal is
/// audited by the caller.
pub fn check_policy(pin: &Pin) -> Result<(), Error> {
    pin::check_pin_policy(pin)
}

/// View PIN: the new PIN while its PIN CHANGE is pending, else what the verification data
/// allows (IBM 3624 offset, encrypted PIN; a PVV is one-way) (docs/pin.md §5, §7).
pub fn reveal(keys: &HostKeys, card: &CardRecord) -> Result<Option<Pin>, Error> {
    match &card.state.pending_pin {
        Some(h) => Ok(Some(pin::open_pin(keys, &card.pan, &decode_hex(h)?)?)),
        None => card.state.pin.recover(keys, &card.pan),
    }
}

/// The audit outcome of a refused View PIN.
pub const NOT_RECOVERABLE: &str = "refused: PIN not recoverable";

/// Whether View PIN can show this card's PIN: a PIN CHANGE is pending (its new PIN is
/// sealed), or the verification data is recoverable (docs/pin.md §5, §7). Checked when the
/// token is asked for, so that a card that cannot show its PIN is refused there and not on
/// the cardholder's device.
pub fn revealable(card: &CardRecord) -> Result<(), Error> {
    if card.state.pending_pin.is_some() || card.state.pin.is_recoverable() {
        Ok(())
    } else {
        Err(Error::PinNotRecoverable(format!(
            "View PIN is not offered for this card: the host keeps only a {} (one-way) for its \
             PIN and no PIN change is pending",
            card.state.pin.method.name()
        )))
    }
}

/// The audit outcome of a View PIN, and the refusal when no PIN can be shown.
pub fn reveal_outcome(card: &CardRecord, pin: Option<Pin>) -> (&'static str, Result<Pin, Error>) {
    match (pin, revealable(card)) {
        (Some(p), _) => ("ok", Ok(p)),
        (None, Err(e)) => (NOT_RECOVERABLE, Err(e)),
        (None, Ok(())) => (
            NOT_RECOVERABLE,
            Err(Error::PinNotRecoverable(
                "the PIN could not be recovered".into(),
            )),
        ),
    }
}

/// A stored hex value (sealed PIN).
pub(crate) fn decode_hex(h: &str) -> Result<Vec<u8>, Error> {
    hex::decode(h).map_err(|_| Error::Corrupt("stored value is not hex".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::{card, keys};

    #[test]
    fn blocked_online_pin_declines_75_with_or_without_a_pin() {
        let mut c = card();
        assert!(online_pin_blocked(&c, None).is_none());
        c.state.online_pin_tries_left = 0;
        let d = online_pin_blocked(&c, None).unwrap();
        assert_eq!(d.code, ResponseCode::PIN_TRIES_EXCEEDED);
        assert_eq!(d.online_pin, None);
        let pin = PresentedPin::Decoded(Pin::new("1357").unwrap());
        assert_eq!(
            online_pin_blocked(&c, Some(&pin)).unwrap().online_pin,
            Some(OnlinePinResult::Blocked)
        );
    }

    #[test]
    fn a_wrong_pin_costs_a_try_and_a_right_one_resets_the_counter() {
        let k = keys();
        let mut c = card();
        c.state.online_pin_tries_left = 2;
        match verify_online(&k, &c, &PresentedPin::Decoded(Pin::new("1357").unwrap())).unwrap() {
            OnlinePinCheck::Incorrect {
                tries_left,
                decision,
            } => {
                assert_eq!(tries_left, 1);
                assert_eq!(decision.code, ResponseCode::INCORRECT_PIN);
                assert_eq!(decision.reason, "incorrect PIN: 1 online PIN tries left");
            }
            other => panic!("{other:?}"),
        }
        c.state.online_pin_tries_left = 1;
        match verify_online(&k, &c, &PresentedPin::Decoded(Pin::new("1357").unwrap())).unwrap() {
            OnlinePinCheck::Incorrect {
                tries_left,
                decision,
            } => {
                assert_eq!(tries_left, 0);
                assert!(
                    decision.reason.contains("now blocked"),
                    "{}",
                    decision.reason
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            verify_online(
                &k,
                &c,
                &PresentedPin::Decoded(Pin::new(crate::rules::tests::PIN).unwrap())
            )
            .unwrap(),
            OnlinePinCheck::Verified { tries_left: 3 }
        );
    }

    #[test]
    fn an_undecodable_block_is_a_wrong_pin() {
        let k = keys();
        let mut c = card();
        c.state.online_pin_tries_left = 2;
        let wrong = verify_online(&k, &c, &PresentedPin::Decoded(Pin::new("1357").unwrap()));
        let garbled = verify_online(&k, &c, &PresentedPin::Undecodable);
        assert_eq!(
            garbled.unwrap(),
            wrong.unwrap(),
            "same code, reason and counter"
        );
        // the stand-in PIN is never accepted, even when it is the card's PIN
        let mut zeros = card();
        zeros.state.pin = PinRecord::new(
            &k,
            &zeros.pan,
            zeros.state.pin.method,
            1,
            &Pin::new("0000").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            verify_online(&k, &zeros, &PresentedPin::Undecodable).unwrap(),
            OnlinePinCheck::Incorrect { tries_left: 2, .. }
        ));
    }

    #[test]
    fn a_new_pin_is_sealed_resets_the_counter_and_supersedes_the_scripts() {
        let k = keys();
        let mut c = card();
        c.state.online_pin_tries_left = 0;
        let old = c.state.pin.clone();
        let q = new_pin(&k, &mut c, &Pin::new("2580").unwrap()).unwrap();
        assert_eq!(
            q,
            NewScript {
                kind: ScriptKind::PinChange,
                supersede_open: true
            }
        );
        assert_eq!(c.state.online_pin_tries_left, 3);
        assert_ne!(c.state.pin, old);
        assert!(!c.state.pending_pin.as_deref().unwrap().contains("2580"));
        assert_eq!(reveal(&k, &c).unwrap().unwrap(), Pin::new("2580").unwrap());
        // a PVV card without a pending PIN cannot show it
        let mut c = card();
        c.state.pending_pin = None;
        let (outcome, pin) = reveal_outcome(&c, reveal(&k, &c).unwrap());
        assert_eq!(outcome, "refused: PIN not recoverable");
        assert!(matches!(pin, Err(Error::PinNotRecoverable(_))));
    }

    #[test]
    fn the_merchant_warning_follows_what_the_chip_said() {
        let mut c = card();
        assert!(!unblock_next_step(&c).contains("may still be declined"));
        c.state.chip.pin_blocked = Some(false);
        assert!(!unblock_next_step(&c).contains("may still be declined"));
        c.state.chip.pin_blocked = Some(true);
        assert!(unblock_next_step(&c).contains("may still be declined"));
        assert!(unblock_next_step(&c).starts_with("Make an ATM transaction"));
    }

    #[test]
    fn a_view_pin_card_keeps_its_pin_recoverable_through_a_new_pin() {
        let k = keys();
        let mut c = card();
        let first = Pin::new(crate::rules::tests::PIN).unwrap();
        c.state.pin = c.state.pin.clone().recoverable(&k, &c.pan, &first).unwrap();
        assert_eq!(reveal(&k, &c).unwrap().unwrap(), first);
        new_pin(&k, &mut c, &Pin::new("2580").unwrap()).unwrap();
        // the PIN CHANGE script ran: nothing pending, the record itself shows the new PIN
        c.state.pending_pin = None;
        assert!(c.state.pin.sealed.is_some());
        assert_eq!(reveal(&k, &c).unwrap().unwrap(), Pin::new("2580").unwrap());
        assert!(
            c.state
                .pin
                .verify(&k, &c.pan, &Pin::new("2580").unwrap())
                .unwrap()
        );
    }
}
