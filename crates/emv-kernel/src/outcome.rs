//! The result of a transaction: the outcome object of ARCHITECTURE.md (`run --json`), the
//! decision log and the APDU log.

use serde::Serialize;

use crate::cvm::CvRuleTrace;
use crate::log::{ApduRecord, Decision, Stage};

/// How the transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Approved offline (TC without going online, or after "unable to go online").
    Approved,
    /// Declined offline (AAC without an issuer answer).
    Declined,
    /// Approved after an issuer answer (TC in the second GENERATE AC).
    OnlineApproved,
    /// Declined after an issuer answer (issuer declined, or the card returned an AAC).
    OnlineDeclined,
    /// Terminated before completion (card error, no application, ...).
    Terminated,
}

impl OutcomeKind {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Approved => "approved",
            OutcomeKind::Declined => "declined",
            OutcomeKind::OnlineApproved => "online-approved",
            OutcomeKind::OnlineDeclined => "online-declined",
            OutcomeKind::Terminated => "terminated",
        }
    }
}

/// The card's state after the transaction, filled by the caller that can see the card
/// (the software card), `None` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardState {
    /// PIN Try Counter.
    pub pin_try_counter: u8,
    /// PIN Try Limit.
    pub pin_try_limit: u8,
    /// Application blocked.
    pub app_blocked: bool,
    /// Card blocked.
    pub card_blocked: bool,
    /// Application Transaction Counter.
    pub atc: u32,
}

/// The issuer host's state after the transaction, filled by the caller that can see the
/// host, `None` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostState {
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Card status at the host (`active`, `blocked`, ...).
    pub card_status: String,
    /// Issuer scripts waiting for the next authorisation.
    pub pending_scripts: u32,
}

/// The outcome of one transaction. Serialises to the outcome object of ARCHITECTURE.md
/// (hex fields upper-case without spaces) plus the logs.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `approved`, `declined`, `online-approved`, `online-declined` or `terminated`.
    pub outcome: OutcomeKind,
    /// CID (9F27) of the first GENERATE AC.
    pub cid_first: Option<String>,
    /// CID of the final GENERATE AC (the first if there was only one).
    pub cid_final: Option<String>,
    /// TVR (95) at the end of the transaction.
    pub tvr: String,
    /// TSI (9B) at the end of the transaction.
    pub tsi: String,
    /// CVM Results (9F34).
    pub cvm_results: String,
    /// The CVM of CVM Results byte 1 in words: `offline-plaintext-pin`,
    /// `offline-enciphered-pin`, `online-pin`, `offline-plaintext-pin+signature`,
    /// `offline-enciphered-pin+signature`, `signature`, `no-cvm`, `fail-cvm`, `none`, or
    /// `other`.
    pub cvm_performed: String,
    /// Issuer response code (DE 39) when the host answered.
    pub host_response_code: Option<String>,
    /// The host's verdict on the online PIN (`verified`, `incorrect`, `blocked`).
    pub online_pin: Option<String>,
    /// Card state (filled by the caller).
    pub card: Option<CardState>,
    /// Host state (filled by the caller).
    pub host: Option<HostState>,
    /// Issuer Script Results (9F5B), 5 bytes per script.
    pub script_results: Option<String>,
    /// Number of APDUs exchanged (GET RESPONSE included).
    pub apdu_count: usize,
    /// The selected application (DF name).
    pub aid: Option<String>,
    /// Authorisation Response Code (8A) given to the card: the host's, or `Y3`/`Z3` when
    /// unable to go online (as hex of the two ASCII characters).
    pub arc: Option<String>,
    /// A signature is to be taken (signature or combined CVM).
    pub signature_required: bool,
    /// Stage at which the transaction was terminated.
    pub terminated_at: Option<Stage>,
    /// Why the transaction was terminated.
    pub termination_reason: Option<String>,
    /// The decision log.
    pub decisions: Vec<Decision>,
    /// CV Rules tried by the CVM engine and what became of each.
    pub cvm_trace: Vec<CvRuleTrace>,
    /// The APDU log.
    pub apdus: Vec<ApduRecord>,
}
