//! The result of a transaction: the outcome object of `docs/formats.md` §1 (`run --json`),
//! with the kernel's journal (decisions, CV Rules, APDUs). Fields are typed (the emv-tlv
//! bit fields, [`Cid`], [`ResponseCode`]) and serialise to the contract's upper-case hex.

use emv_auth::{OnlinePinResult, ResponseCode};
use emv_tlv::bits::{Cid, CvmCode, CvmResults, Tsi, Tvr};
use serde::{Serialize, Serializer};

use crate::cvm::CvRuleTrace;
use crate::event::{ApduRecord, Decision, ScriptResult, Stage};

/// How the transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
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
        self.into()
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

/// The CVM of CVM Results byte 1 (b6-b1), in the outcome object's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CvmPerformed {
    /// `01`.
    OfflinePlaintextPin,
    /// `04`.
    OfflineEncipheredPin,
    /// `02`.
    OnlinePin,
    /// `03`.
    #[serde(rename = "offline-plaintext-pin+signature")]
    #[strum(serialize = "offline-plaintext-pin+signature")]
    OfflinePlaintextPinAndSignature,
    /// `05`.
    #[serde(rename = "offline-enciphered-pin+signature")]
    #[strum(serialize = "offline-enciphered-pin+signature")]
    OfflineEncipheredPinAndSignature,
    /// `1E`.
    Signature,
    /// `1F`.
    NoCvm,
    /// `00`.
    FailCvm,
    /// `3F`: no CVM performed.
    None,
    /// Any other code.
    Other,
}

impl CvmPerformed {
    /// The CVM that CVM Results name (Book 4 Annex A4), b7 ignored.
    pub fn of(results: CvmResults) -> Self {
        match CvmCode::from_byte(results.0[0] & 0x3F) {
            CvmCode::Fail => Self::FailCvm,
            CvmCode::PlaintextPinIcc => Self::OfflinePlaintextPin,
            CvmCode::EncipheredPinOnline => Self::OnlinePin,
            CvmCode::PlaintextPinIccAndSignature => Self::OfflinePlaintextPinAndSignature,
            CvmCode::EncipheredPinIcc => Self::OfflineEncipheredPin,
            CvmCode::EncipheredPinIccAndSignature => Self::OfflineEncipheredPinAndSignature,
            CvmCode::Signature => Self::Signature,
            CvmCode::NoCvm => Self::NoCvm,
            CvmCode::NotAvailable => Self::None,
            _ => Self::Other,
        }
    }

    /// The JSON name (`offline-plaintext-pin`, `online-pin`, `none`, ...).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl core::fmt::Display for CvmPerformed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A reversal (ISO 8583 0400) of an online approval the terminal could not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reversal {
    /// Why the transaction did not complete.
    pub why: String,
    /// The issuer's answer (DE 39): `00` amount given back, `25` no such original.
    pub response_code: Option<ResponseCode>,
    /// Why the reversal could not be delivered (the host was unreachable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reversal {
    /// One line for reports: `reversed (0400): host 00 Approved — card removed ...`.
    pub fn summary(&self) -> String {
        let answer = match (&self.response_code, &self.error) {
            (Some(rc), _) => format!("host {} {}", rc.as_str(), rc.meaning()),
            (None, Some(e)) => format!("not delivered ({e})"),
            (None, None) => "no answer".to_owned(),
        };
        format!("reversed (0400): {answer} — {}", self.why)
    }
}

/// The outcome of one transaction. Serialises to the outcome object of
/// `docs/formats.md` §1 (hex fields upper-case without spaces) plus the logs.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `approved`, `declined`, `online-approved`, `online-declined` or `terminated`.
    pub outcome: OutcomeKind,
    /// CID (9F27) of the first GENERATE AC.
    #[serde(serialize_with = "hex::option")]
    pub cid_first: Option<Cid>,
    /// CID of the final GENERATE AC (the first if there was only one).
    #[serde(serialize_with = "hex::option")]
    pub cid_final: Option<Cid>,
    /// TVR (95) at the end of the transaction.
    #[serde(serialize_with = "hex::bytes")]
    pub tvr: Tvr,
    /// TSI (9B) at the end of the transaction.
    #[serde(serialize_with = "hex::bytes")]
    pub tsi: Tsi,
    /// CVM Results (9F34).
    #[serde(serialize_with = "hex::bytes")]
    pub cvm_results: CvmResults,
    /// The CVM of CVM Results byte 1.
    pub cvm_performed: CvmPerformed,
    /// Issuer response code (DE 39) when the host answered.
    pub host_response_code: Option<ResponseCode>,
    /// The host's verdict on the online PIN.
    pub online_pin: Option<OnlinePinResult>,
    /// Card state (filled by the caller).
    pub card: Option<CardState>,
    /// Host state (filled by the caller).
    pub host: Option<HostState>,
    /// Issuer Script Results (9F5B), one per script run; `null` in JSON when none ran.
    #[serde(serialize_with = "hex::script_results")]
    pub script_results: Vec<ScriptResult>,
    /// Number of APDUs exchanged (GET RESPONSE included).
    pub apdu_count: usize,
    /// The selected application (DF name).
    #[serde(serialize_with = "hex::option")]
    pub aid: Option<Vec<u8>>,
    /// Authorisation Response Code (8A) given to the card: the host's, or `Y3`/`Z3` when
    /// unable to go online (in JSON as hex of the two ASCII characters).
    #[serde(serialize_with = "hex::option")]
    pub arc: Option<[u8; 2]>,
    /// The reversal the terminal sent for an approval it could not complete (absent from
    /// the JSON when there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reversal: Option<Reversal>,
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

impl Outcome {
    /// Whether the cardholder signs a receipt: the CVM asked for a signature
    /// ([`Outcome::signature_required`]) and the transaction was approved. The signature is
    /// taken after the transaction (Book 4 §6.3.4.4), so a declined or terminated one has
    /// none to take.
    pub fn signature_to_take(&self) -> bool {
        self.signature_required
            && matches!(
                self.outcome,
                OutcomeKind::Approved | OutcomeKind::OnlineApproved
            )
    }

    /// Issuer Script Results (9F5B) as the card's tag holds them: 5 bytes per script.
    pub fn script_results_bytes(&self) -> Option<Vec<u8>> {
        (!self.script_results.is_empty())
            .then(|| self.script_results.iter().flat_map(|r| r.bytes()).collect())
    }

    /// [`Outcome::script_results_bytes`] in upper-case hex, as the JSON has it.
    pub fn script_results_hex(&self) -> Option<String> {
        self.script_results_bytes()
            .map(|b| emv_tlv::hex::encode(&b))
    }
}

/// The contract's hex: upper case, no spaces.
mod hex {
    use super::{ScriptResult, Serializer};

    pub(super) fn bytes<S: Serializer, B: AsRef<[u8]>>(b: &B, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&emv_tlv::hex::encode(b.as_ref()))
    }

    pub(super) fn option<S: Serializer, B: AsRef<[u8]>>(
        b: &Option<B>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&emv_tlv::hex::encode(b.as_ref())),
            None => s.serialize_none(),
        }
    }

    pub(super) fn script_results<S: Serializer>(
        r: &[ScriptResult],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if r.is_empty() {
            return s.serialize_none();
        }
        let all: Vec<u8> = r.iter().flat_map(ScriptResult::bytes).collect();
        s.serialize_some(&emv_tlv::hex::encode(&all))
    }
}
