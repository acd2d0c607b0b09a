//! What happens in a transaction, as one stream of typed events.
//!
//! The kernel reports everything it does through [`Event`]s to one [`Observer`] given to
//! it ([`Kernel::run_observed`](crate::Kernel::run_observed)): the stage it enters, every
//! C-APDU/R-APDU exchange, every decision with its spec reference, every CV Rule tried,
//! the request to the issuer and the issuer's answer, each issuer script's result. Whoever
//! powers the card (the session) adds the power events to the same stream. Every reader of
//! a transaction consumes this one stream: the kernel's own [`Journal`] (the logs of the
//! [`Outcome`](crate::Outcome)), the trace recorder, the TUI's live log, the run report
//! and the demo.
//!
//! Events borrow what they describe: an observer that keeps something copies it. Naming and
//! redacting an APDU for people is [`emv_apdu::describe`]'s job, never an observer's.

use emv_apdu::TransportError;
use emv_auth::{Advice, AdviceResponse, AuthRequest, AuthResponse, HostError};
use emv_tlv::bits::Bit;
use serde::{Serialize, Serializer};

use crate::cvm::CvRuleTrace;

/// A stage of the transaction (EMV 4.4 Book 3 §10, Book 4 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Book 1 §12.
    #[strum(serialize = "application selection")]
    ApplicationSelection,
    /// Book 3 §10.1.
    #[strum(serialize = "initiate application processing")]
    InitiateApplicationProcessing,
    /// Book 3 §10.2.
    #[strum(serialize = "read application data")]
    ReadApplicationData,
    /// Book 3 §10.3.
    #[strum(serialize = "offline data authentication")]
    OfflineDataAuthentication,
    /// Book 3 §10.4.
    #[strum(serialize = "processing restrictions")]
    ProcessingRestrictions,
    /// Book 3 §10.5.
    #[strum(serialize = "cardholder verification")]
    CardholderVerification,
    /// Book 3 §10.6.
    #[strum(serialize = "terminal risk management")]
    TerminalRiskManagement,
    /// Book 3 §10.7.
    #[strum(serialize = "terminal action analysis")]
    TerminalActionAnalysis,
    /// Book 3 §10.8.
    #[strum(serialize = "card action analysis")]
    CardActionAnalysis,
    /// Book 3 §10.9.
    #[strum(serialize = "online processing")]
    OnlineProcessing,
    /// Book 3 §10.10.
    #[strum(serialize = "issuer script processing")]
    IssuerScriptProcessing,
    /// Book 3 §10.11.
    #[strum(serialize = "completion")]
    Completion,
}

impl Stage {
    /// Every stage in transaction order (Book 3 §10).
    pub const ALL: [Stage; 12] = [
        Stage::ApplicationSelection,
        Stage::InitiateApplicationProcessing,
        Stage::ReadApplicationData,
        Stage::OfflineDataAuthentication,
        Stage::ProcessingRestrictions,
        Stage::CardholderVerification,
        Stage::TerminalRiskManagement,
        Stage::TerminalActionAnalysis,
        Stage::CardActionAnalysis,
        Stage::OnlineProcessing,
        Stage::IssuerScriptProcessing,
        Stage::Completion,
    ];

    /// The stage's name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl core::fmt::Display for Stage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a decision is about, so that a reader can pick the decisions it tells without
/// reading their words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Topic {
    /// The candidate list and the application chosen (Book 1 §12).
    Selection,
    /// GET PROCESSING OPTIONS, AIP and AFL (Book 3 §10.1), the records read (§10.2).
    Initiation,
    /// SDA, DDA, CDA (Book 2 §5, §6).
    DataAuthentication,
    /// Application version, usage control, effective and expiry dates (Book 3 §10.4).
    Restrictions,
    /// The CVM List and CVM Results (Book 3 §10.5, Book 4 Annex A4).
    Cvm,
    /// The offline PIN: PIN Try Counter, VERIFY and the card's answer (Book 3 §10.5.1,
    /// Book 4 §6.3.4).
    OfflinePin,
    /// The online PIN captured for the issuer (Book 3 §10.5.2).
    OnlinePin,
    /// A signature to take (Book 4 §6.3.4.4).
    Signature,
    /// Floor limit, random selection, velocity checking (Book 3 §10.6).
    RiskManagement,
    /// The action codes against the TVR: the cryptogram to ask for (Book 3 §10.7).
    ActionAnalysis,
    /// The cryptogram the card returned and what it means for the outcome (Book 3 §10.8,
    /// §10.11).
    Cryptogram,
    /// The issuer's answer and issuer authentication (Book 3 §10.9).
    Issuer,
    /// Issuer script processing (Book 3 §10.10).
    Script,
    /// Advices to the issuer.
    Advice,
    /// The transaction ended before completion.
    Termination,
}

/// One decision: what was decided and why, in the words of the spec section it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The stage.
    pub stage: Stage,
    /// What the decision is about.
    pub topic: Topic,
    /// The TVR bit the decision set, if it set one (Book 3 Annex C5).
    pub tvr: Option<Bit>,
    /// What was decided and why (without the reference).
    pub what: String,
    /// The spec section it applies (`Book 3 §10.7`).
    pub reference: Option<&'static str>,
}

impl Decision {
    /// The decision as one line: what, then the reference in parentheses.
    pub fn text(&self) -> String {
        match self.reference {
            Some(r) => format!("{} ({r})", self.what),
            None => self.what.clone(),
        }
    }
}

impl core::fmt::Display for Decision {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.what)?;
        match self.reference {
            Some(r) => write!(f, " ({r})"),
            None => Ok(()),
        }
    }
}

/// The outcome object's decision log is `{"stage": ..., "text": ...}` (the reference in
/// the text).
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Decision", 2)?;
        st.serialize_field("stage", &self.stage)?;
        st.serialize_field("text", &self.text())?;
        st.end()
    }
}

/// One C-APDU and what came back, exactly as exchanged (a GET RESPONSE is its own
/// exchange). The bytes are exact: print them through [`emv_apdu::describe`].
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The stage the command belongs to.
    pub stage: Stage,
    /// The C-APDU.
    pub command: &'a [u8],
    /// The R-APDU (data and status word), or why there was none.
    pub response: Result<&'a [u8], &'a TransportError>,
}

/// The result of one issuer script (Book 4 Annex A5, one 5-byte entry of tag 9F5B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScriptResult {
    /// The template the script came in (`71` before, `72` after the final GENERATE AC).
    pub template: u8,
    /// Issuer Script Identifier (9F18), zeros when the script has none.
    pub id: [u8; 4],
    /// The number of commands in the script.
    pub commands: usize,
    /// Byte 1 of the result: high nibble `0` not performed, `1` failed, `2` successful;
    /// low nibble the sequence number of the failing command.
    pub status: u8,
}

impl ScriptResult {
    /// The 5 bytes of tag 9F5B for this script.
    pub fn bytes(&self) -> [u8; 5] {
        let [a, b, c, d] = self.id;
        [self.status, a, b, c, d]
    }
}

/// One thing that happened in a transaction.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The card was powered on and answered this ATR (emitted by whoever powers the card).
    PowerOn {
        /// The Answer To Reset.
        atr: &'a [u8],
    },
    /// The card was powered off (emitted by whoever powers the card).
    PowerOff,
    /// The kernel entered a stage.
    Stage(Stage),
    /// One APDU exchange.
    Exchange(Exchange<'a>),
    /// A decision.
    Decision(&'a Decision),
    /// A CV Rule was tried (Book 3 §10.5).
    CvRule(&'a CvRuleTrace),
    /// The authorisation request is going to the issuer (it carries the enciphered online
    /// PIN block, if any: never print it).
    HostRequest(&'a AuthRequest),
    /// The issuer's answer, or why there was none.
    HostAnswer(Result<&'a AuthResponse, &'a HostError>),
    /// An advice went to the issuer (or could not).
    Advice {
        /// The advice.
        advice: &'a Advice,
        /// Whether the issuer took it.
        delivered: Result<&'a AdviceResponse, &'a HostError>,
    },
    /// An issuer script was run (Book 3 §10.10).
    ScriptResult(&'a ScriptResult),
}

/// Sees every event of a transaction, in order, on the transaction's thread.
pub trait Observer {
    /// One event.
    fn on_event(&mut self, event: &Event<'_>);
}

/// Sees nothing.
impl Observer for () {
    fn on_event(&mut self, _event: &Event<'_>) {}
}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn on_event(&mut self, event: &Event<'_>) {
        (**self).on_event(event);
    }
}

/// Both, in order.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_event(&mut self, event: &Event<'_>) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
}

/// One exchange as the outcome object logs it: named and redacted by
/// [`emv_apdu::describe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApduRecord {
    /// The command's name (`READ RECORD SFI 1 record 2`, `VERIFY (plaintext PIN)`).
    pub name: String,
    /// C-APDU, upper-case hex; the data of a PIN-bearing command is masked with `*`.
    pub command: String,
    /// R-APDU (data and status word), upper-case hex; empty if the card did not answer.
    pub response: String,
}

impl ApduRecord {
    /// The record of one exchange.
    pub fn of(exchange: &Exchange<'_>) -> Self {
        ApduRecord {
            name: emv_apdu::describe::command_name(exchange.command),
            command: emv_apdu::describe::redacted_hex(exchange.command),
            response: exchange
                .response
                .map(emv_tlv::hex::encode)
                .unwrap_or_default(),
        }
    }
}

/// The kernel's own record of a transaction, kept from its events: the decision log, the
/// CV Rules tried and the APDU log of the [`Outcome`](crate::Outcome).
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// Every decision.
    pub decisions: Vec<Decision>,
    /// Every CV Rule tried.
    pub cvm_trace: Vec<CvRuleTrace>,
    /// Every exchange.
    pub apdus: Vec<ApduRecord>,
}

impl Observer for Journal {
    fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::Exchange(x) => self.apdus.push(ApduRecord::of(x)),
            Event::Decision(d) => self.decisions.push((*d).clone()),
            Event::CvRule(r) => self.cvm_trace.push((*r).clone()),
            _ => {}
        }
    }
}

/// Where a transaction's events go: its journal, then the caller's observer. The journal
/// keeps the decisions and CV Rules it is handed instead of copying them.
pub(crate) struct Events<'a> {
    pub(crate) journal: Journal,
    observer: Option<&'a mut dyn Observer>,
}

impl<'a> Events<'a> {
    pub(crate) fn new(observer: Option<&'a mut dyn Observer>) -> Self {
        Events {
            journal: Journal::default(),
            observer,
        }
    }

    /// An event the journal does not keep by value.
    pub(crate) fn emit(&mut self, event: &Event<'_>) {
        if let Event::Exchange(x) = event {
            self.journal.apdus.push(ApduRecord::of(x));
        }
        if let Some(o) = self.observer.as_deref_mut() {
            o.on_event(event);
        }
    }

    pub(crate) fn decision(&mut self, d: Decision) {
        if let Some(o) = self.observer.as_deref_mut() {
            o.on_event(&Event::Decision(&d));
        }
        self.journal.decisions.push(d);
    }

    pub(crate) fn cv_rule(&mut self, r: CvRuleTrace) {
        if let Some(o) = self.observer.as_deref_mut() {
            o.on_event(&Event::CvRule(&r));
        }
        self.journal.cvm_trace.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_serialises_with_its_reference_in_the_text() {
        let d = Decision {
            stage: Stage::TerminalActionAnalysis,
            topic: Topic::ActionAnalysis,
            tvr: None,
            what: "online-only terminal: request ARQC".into(),
            reference: Some("Book 3 §10.7"),
        };
        assert_eq!(
            d.text(),
            "online-only terminal: request ARQC (Book 3 §10.7)"
        );
        assert_eq!(d.to_string(), d.text());
        let json = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "stage": "terminal-action-analysis",
                "text": "online-only terminal: request ARQC (Book 3 §10.7)"
            })
        );
    }

    #[test]
    fn the_journal_names_and_redacts_exchanges() {
        let verify = [0x00, 0x20, 0x00, 0x80, 0x02, 0x24, 0x12];
        let mut j = Journal::default();
        j.on_event(&Event::Exchange(Exchange {
            stage: Stage::CardholderVerification,
            command: &verify,
            response: Ok(&[0x63, 0xC2]),
        }));
        let removed = TransportError::CardRemoved;
        j.on_event(&Event::Exchange(Exchange {
            stage: Stage::Completion,
            command: &[0x80, 0xAE, 0x40, 0x00, 0x00],
            response: Err(&removed),
        }));
        assert_eq!(j.apdus[0].name, "VERIFY (plaintext PIN)");
        assert_eq!(j.apdus[0].command, "0020008002****");
        assert_eq!(j.apdus[0].response, "63C2");
        assert_eq!(j.apdus[1].response, "");
        assert_eq!(
            ScriptResult {
                template: 0x72,
                id: [0, 0, 0, 1],
                commands: 1,
                status: 0x20
            }
            .bytes(),
            [0x20, 0, 0, 0, 1]
        );
    }
}
