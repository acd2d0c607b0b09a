//! The issuer's rules, apart from its store (docs/issuer-host.md §9): a request and the
//! card's current state go in, a verdict and the effects to apply come out. Nothing here
//! reads or writes storage; the service ([`crate::service`]) loads what a rule needs
//! through the [`crate::store::StoreTx`] of one transaction, runs the rules and applies
//! their [`Effects`] in that same transaction. Every rule is one function citing its
//! source; the tests at the bottom of each module exercise them with plain values.
//!
//! Authorisation rules, in the order they are applied (docs/issuer-host.md §2):
//! 1. Message checks, before anything is read or written: PAN/PSN syntax, DE 55 parses and
//!    carries the ARQC with the data it covers, DE 4/DE 49 equal 9F02/5F2A (the ARQC covers
//!    the latter), DE 37 is `an 12`, the PIN block names a known key of its format. A
//!    failure is an [`Error`](crate::Error) (HTTP 400), never a decline, never a changed
//!    counter ([`authorise::check_message`]). A PIN block that does not decode is a wrong
//!    PIN at rule 8 ([`pin::PresentedPin`]).
//! 2. Unknown PAN/PSN → `14` ([`authorise::unknown_card`]). 2a: amounts outside `n 12`,
//!    cashback above the amount, a refund above the card's limit → `13`
//!    ([`authorise::invalid_amount`]); 2b: another currency than the account's → `57`
//!    ([`authorise::foreign_currency`]).
//! 3. Retransmission: the same ATC **and** the same ARQC as the last verified request get
//!    the stored answer again, unchanged and without touching any counter (ISO 8583 repeat
//!    messages; a terminal that timed out must not cost the cardholder a PIN try)
//!    ([`authorise::retransmission`]).
//! 4. Chip data: 4a, a chip card at a POS or ATM, or a chip entry mode, without an ARQC →
//!    `05` ([`authorise::chip_missing`]); CID must say ARQC, the ARQC must verify for the card's CVN (constant
//!    time; EMV 4.4 Book 2 §8.1) else `05`; an ATC not above the last online ATC is a
//!    replay → `05`. The CVR in the IAD tells the host the chip's offline PIN state
//!    ([`authorise::check_chip`], [`authorise::learn_chip`]).
//! 5. Card blocked by the issuer → `62` ([`authorise::issuer_block`]).
//! 6. Online PIN blocked (tries left 0) → `75` on every channel, with or without a PIN
//!    ([`pin::online_pin_blocked`]).
//! 7. Expired card or a non-ACTIVE plastic → `54` / `62` ([`authorise::expiry_and_plastic`]).
//! 8. Online PIN: the counter is decremented, then the PIN is checked, in the same
//!    transaction; success resets it to the limit; failure → `55` ([`pin::verify_online`]).
//! 9. Open-to-buy → `51`; else `00`, debiting the open-to-buy (refunds credit it, never
//!    beyond the card's provisioned limit) ([`authorise::open_to_buy`]).
//! 10. Approvals with chip data carry the pending PIN scripts (PIN UNBLOCK is queued when
//!     the online PIN was verified and the chip reports its offline PIN blocked), and every
//!     verified ARQC gets an ARPC by the CVN's method (method 2's CSU resets the chip's PIN
//!     Try Counter when a script rides on the response) ([`authorise::respond`],
//!     [`scripts`]).

pub mod advice;
pub mod authorise;
pub mod pin;
pub mod provision;
pub mod scripts;

use emv_crypto::Cvn;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::audit::{AuditRecord, mask_pan};
use crate::pin::PinRecord;
use crate::provision::CardStatus;
use crate::scripts::{ScriptKind, ScriptState, ScriptView};

/// A card as the management API addresses it: the PAN, and the PSN when several cards
/// share the PAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CardRef {
    /// Primary account number.
    pub pan: String,
    /// PAN sequence number; `None` when the PAN alone is unambiguous.
    #[serde(default)]
    pub psn: Option<String>,
}

impl CardRef {
    /// A reference by PAN and optional PSN.
    pub fn new(pan: impl Into<String>, psn: Option<&str>) -> Self {
        Self {
            pan: pan.into(),
            psn: psn.map(str::to_string),
        }
    }

    /// PAN and PSN syntax (rule 1).
    pub(crate) fn check(&self) -> Result<(), Error> {
        emv_crypto::kdf::validate_pan(&self.pan)
            .map_err(|e| Error::BadRequest(format!("PAN: {e}")))?;
        if let Some(psn) = &self.psn {
            emv_crypto::kdf::validate_psn(psn)
                .map_err(|e| Error::BadRequest(format!("PSN: {e}")))?;
        }
        Ok(())
    }

    /// [`Error::UnknownCard`] for this reference.
    pub fn unknown(&self) -> Error {
        Error::UnknownCard {
            pan: mask_pan(&self.pan),
        }
    }

    /// [`Error::AmbiguousCard`] for this reference, listing the PSNs found.
    pub fn ambiguous(&self, psns: &[&str]) -> Error {
        Error::AmbiguousCard {
            pan: mask_pan(&self.pan),
            psns: psns.join(", "),
        }
    }
}

/// The counters a transaction reads back (the host part of the outcome object): the same
/// values as [`crate::CardView`]'s, without the rest of the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardSummary {
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Issuer status.
    pub card_status: CardStatus,
    /// Scripts pending or sent, not yet confirmed.
    pub pending_scripts: usize,
}

/// A card's key in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardId(pub i64);

/// A stored script's key, also its Script Identifier (9F18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScriptId(pub i64);

impl ScriptId {
    /// The 4-byte Script Identifier (9F18).
    pub fn identifier(self) -> [u8; 4] {
        crate::scripts::script_id(self.0)
    }

    /// The Script Identifier of a 9F5B result.
    pub fn from_identifier(id: [u8; 4]) -> Self {
        Self(i64::from(u32::from_be_bytes(id)))
    }

    /// As the status API and the advice outcome show it (8 hex digits).
    pub fn hex(self) -> String {
        hex::encode_upper(self.identifier())
    }
}

/// A journalled authorisation's key in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorisationId(pub i64);

/// What the host knows of a card: its identity and keys (set by provisioning) and its
/// [`CardState`] (what the rules change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRecord {
    /// The store's key.
    pub id: CardId,
    /// PAN.
    pub pan: String,
    /// PAN sequence number.
    pub psn: String,
    /// Application expiry YYMM.
    pub expiry: String,
    /// Cryptogram version.
    pub cvn: Cvn,
    /// MK-AC ‖ MK-SMI ‖ MK-SMC sealed under the data key ([`crate::HostKeys::open`]).
    pub icc_keys: String,
    /// Online PIN try limit.
    pub online_pin_try_limit: u8,
    /// The chip's PIN Try Limit (provisioned).
    pub offline_pin_try_limit: u8,
    /// Account currency (ISO 4217 numeric).
    pub currency: u16,
    /// The provisioned open-to-buy: no refund or reversal raises the open-to-buy above it
    /// (docs/issuer-host.md §2).
    pub open_to_buy_limit: i64,
    /// What the rules read and change.
    pub state: CardState,
}

impl CardRecord {
    /// The reference that finds this card again.
    pub fn card_ref(&self) -> CardRef {
        CardRef::new(self.pan.clone(), Some(&self.psn))
    }

    /// An audit record about this card.
    pub fn audit<'a>(
        &'a self,
        at: i64,
        actor: &'a str,
        action: &'a str,
        outcome: &'a str,
    ) -> AuditRecord<'a> {
        AuditRecord::new(at, actor, action, &self.pan, &self.psn, outcome)
    }
}

/// The part of a card the rules change; the store writes it back whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardState {
    /// Issuer status.
    pub status: CardStatus,
    /// How the PIN is verified and its verification data.
    pub pin: PinRecord,
    /// The new PIN (sealed ISO 9564 format 4 block, hex) while its PIN CHANGE is pending.
    pub pending_pin: Option<String>,
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Open-to-buy in minor units.
    pub open_to_buy: i64,
    /// ATC of the last verified online request.
    pub last_online_atc: Option<u16>,
    /// Its ARQC.
    pub last_arqc: Option<[u8; 8]>,
    /// The answer to it (JSON), for retransmissions.
    pub last_response: Option<String>,
    /// What the last CVR and script results said of the chip.
    pub chip: ChipKnowledge,
}

/// What the host knows of the chip (docs/emv.md §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChipKnowledge {
    /// Offline PIN blocked (PIN Try Limit exceeded); `None`: not known.
    pub pin_blocked: Option<bool>,
    /// The chip's PIN Try Counter, where the CVR carries it.
    pub pin_try_counter: Option<u8>,
    /// The last IAD's CVR bytes (hex).
    pub cvr: Option<String>,
    /// When the chip was last seen online (RFC 3339).
    pub seen_at: Option<String>,
}

/// A stored script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRow {
    /// Key and Script Identifier.
    pub id: ScriptId,
    /// What it does.
    pub kind: ScriptKind,
    /// Where it is.
    pub state: ScriptState,
    /// How many responses carried it.
    pub attempts: u32,
    /// The last result a terminal reported.
    pub last_result: Option<String>,
    /// STAN of the authorisation it was last sent with.
    pub sent_stan: Option<u32>,
}

impl ScriptRow {
    /// A script just queued.
    pub fn queued(id: ScriptId, kind: ScriptKind) -> Self {
        Self {
            id,
            kind,
            state: ScriptState::Pending,
            attempts: 0,
            last_result: None,
            sent_stan: None,
        }
    }

    /// Pending or sent: waiting for the chip.
    pub fn is_open(&self) -> bool {
        matches!(self.state, ScriptState::Pending | ScriptState::Sent)
    }

    /// As the status API shows it.
    pub fn view(&self) -> ScriptView {
        ScriptView {
            script_id: self.id.hex(),
            kind: self.kind,
            state: self.state,
            attempts: self.attempts,
            last_result: self.last_result.clone(),
        }
    }
}

/// A script to queue for a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewScript {
    /// What it does.
    pub kind: ScriptKind,
    /// Whether the card's open scripts are superseded by it.
    pub supersede_open: bool,
}

/// What happens to a stored script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptChange {
    /// Sent with an approval (attempts + 1).
    Sent {
        /// When.
        at: i64,
        /// The transaction's ATC.
        atc: u16,
        /// The authorisation's STAN.
        stan: u32,
    },
    /// The chip ran it.
    Done {
        /// When the result came.
        at: i64,
    },
    /// Back to pending, to be sent again.
    Retry {
        /// Why (the result the terminal reported, or that none came).
        why: String,
    },
}

/// What happens to a card's scripts, in order.
pub type ScriptChanges = Vec<(ScriptId, ScriptChange)>;

/// An answered authorisation as the journal keeps it: what an advice or reversal must
/// quote to act on it (docs/issuer-host.md §5). The card (PAN and PSN) is the row's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry<'a> {
    /// When.
    pub at: i64,
    /// MTI of the request (`0100`, `0200`).
    pub mti: &'static str,
    /// DE 11.
    pub stan: u32,
    /// DE 37: the request's, or the one the host assigned; always set.
    pub rrn: &'a str,
    /// DE 41.
    pub terminal_id: &'a str,
    /// DE 7, `MMDDhhmmss`.
    pub transmitted_at: Option<&'a str>,
    /// The channel's name.
    pub channel: &'static str,
    /// The transaction type's name.
    pub transaction_type: &'static str,
    /// The ATC (9F36 of DE 55), with chip data.
    pub atc: Option<u16>,
    /// DE 4, minor units (range-checked before it gets here: at most n 12).
    pub amount: i64,
    /// DE 49.
    pub currency: u16,
    /// DE 39.
    pub response_code: &'a str,
    /// The decision in words.
    pub reason: &'a str,
    /// The online PIN result's name.
    pub online_pin: Option<&'static str>,
    /// The scripts this answer carried.
    pub scripts: Vec<ScriptId>,
}

/// A journalled answer, as an advice or reversal finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Its key.
    pub id: AuthorisationId,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// MTI of the request; `None` in entries older than schema v3.
    pub mti: Option<String>,
    /// DE 11.
    pub stan: u32,
    /// DE 37; `None` in entries older than schema v3.
    pub rrn: Option<String>,
    /// DE 41.
    pub terminal_id: Option<String>,
    /// DE 7 of the request.
    pub transmitted_at: Option<String>,
    /// The ATC, with chip data.
    pub atc: Option<u16>,
    /// DE 4, minor units.
    pub amount: i64,
    /// The transaction type's name.
    pub transaction_type: String,
    /// DE 39 of the answer.
    pub response_code: String,
    /// Whether a reversal undid it already.
    pub reversed: bool,
    /// The scripts the answer carried.
    pub scripts: Vec<ScriptId>,
}

impl Answered {
    /// Whether the answer approved.
    pub fn approved(&self) -> bool {
        emv_auth::ResponseCode::parse(&self.response_code).is_ok_and(|c| c.is_approved())
    }
}

/// The effects of a decision, applied by [`crate::store::StoreTx::apply`] in the
/// decision's transaction.
#[derive(Debug, Default)]
pub struct Effects<'a> {
    /// The card's new state, written whole; `None`: unchanged.
    pub card: Option<&'a CardState>,
    /// Set when a management call changed the card (its `updated_at`).
    pub touched_at: Option<i64>,
    /// Scripts sent, done or to be sent again.
    pub scripts: ScriptChanges,
    /// The authorisation's journal entry.
    pub journal: Option<JournalEntry<'a>>,
    /// An answer undone by a reversal.
    pub reversed: Option<AuthorisationId>,
    /// The audit record of a management call.
    pub audit: Option<AuditRecord<'a>>,
}

#[cfg(test)]
pub(crate) mod tests {
    //! Plain values for the rules' tests: a Visa CVN 18 card with the TEST keys.
    use emv_crypto::Pin;

    use super::*;
    use crate::keys::HostKeys;
    use crate::provision::{CardProvision, PinVerificationMethod};
    use crate::testkit;

    pub const PAN: &str = "4761739001010010";
    pub const PIN: &str = "4821";

    pub fn keys() -> HostKeys {
        HostKeys::load_test_keys().unwrap()
    }

    pub fn provision() -> CardProvision {
        testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv)
    }

    /// The card of [`provision`] as the store would return it, never used.
    pub fn card() -> CardRecord {
        let k = keys();
        let icc = testkit::TestCard::new(&provision()).unwrap().keys;
        let blob = [icc.ac.as_bytes(), icc.smi.as_bytes(), icc.smc.as_bytes()].concat();
        let pin = Pin::new(PIN).unwrap();
        CardRecord {
            id: CardId(1),
            pan: PAN.into(),
            psn: "01".into(),
            expiry: "4912".into(),
            cvn: Cvn::Visa18,
            icc_keys: k.seal(&blob).unwrap(),
            online_pin_try_limit: 3,
            offline_pin_try_limit: 3,
            currency: 978,
            open_to_buy_limit: 1_000_000,
            state: CardState {
                status: CardStatus::Active,
                pin: PinRecord::new(&k, PAN, PinVerificationMethod::Pvv, k.default_pvki(), &pin)
                    .unwrap(),
                pending_pin: None,
                online_pin_tries_left: 3,
                open_to_buy: 100_000,
                last_online_atc: None,
                last_arqc: None,
                last_response: None,
                chip: ChipKnowledge::default(),
            },
        }
    }
}
