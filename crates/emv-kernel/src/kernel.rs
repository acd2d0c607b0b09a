//! The kernel and one transaction's state; the stages live in their own modules and are
//! methods of [`Transaction`].

use emv_apdu::{Response, Transport, TransportError, exchange};
use emv_auth::{AuthResponse, Host, PinData};
use emv_crypto::oda::{CaKeyStore, RsaPublicKey, test_keys::TEST_CA_RID};
use emv_tlv::Tag;
use emv_tlv::bits::{Afl, Aip, Cid, CvmResults, Tsi, Tvr};

use crate::cvm::CvRuleTrace;
use crate::data::DataStore;
use crate::error::KernelError;
use crate::event::{
    ApduRecord, Decision, Event, Events, Exchange, Observer, ScriptResult, Stage, Topic,
};
use crate::outcome::{CvmPerformed, Outcome, OutcomeKind, Reversal};
use crate::params::TransactionParams;
use crate::pinpad::PinPad;
use crate::profile::Profile;
use crate::rng::KernelRng;
use crate::selection::Candidate;
use crate::util::to_bcd;

/// RIDs under which the default configuration also installs the **test** CA keys (E1, E2,
/// E3), so that card profiles with Visa or Mastercard AIDs and test certificates verify.
/// Real CA keys of these schemes use other indices.
pub const TEST_KEY_RIDS: [[u8; 5]; 3] = [
    TEST_CA_RID,
    [0xA0, 0x00, 0x00, 0x00, 0x03],
    [0xA0, 0x00, 0x00, 0x00, 0x04],
];

/// Kernel behaviour that the specification leaves open, and the CA key store.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// Certification Authority public keys (Book 2 §5.2): the test CA by default; add your
    /// own with [`CaKeyStore::insert`].
    pub ca_keys: CaKeyStore,
    /// CVM Results byte 1 keeps b7 of the CV Rule ("apply succeeding rule"), as Book 4
    /// Annex A4 "CVM Code of the last CVM performed" is read by most kernels (`41 03 02`).
    /// `false` masks it (`01 03 02`). Default: kept.
    pub cvm_results_keep_b7: bool,
    /// Set TVR "ICC data missing" when the AIP announces cardholder verification but the
    /// card has no CVM List (or one without CV Rules). Default: set.
    pub missing_cvm_list_sets_icc_data_missing: bool,
    /// Book 4 §6.3.4.3: "When PIN entry has been bypassed for one PIN-related CVM, it may be
    /// considered bypassed for any subsequent PIN-related CVM during the current
    /// transaction." Default: yes.
    pub bypass_applies_to_later_pin_cvms: bool,
    /// Read the PIN Try Counter (GET DATA 9F17) before asking for an offline PIN (Book 4
    /// §6.3.4.1). Default: yes.
    pub read_pin_try_counter: bool,
}

impl Default for KernelConfig {
    fn default() -> Self {
        let mut ca_keys = CaKeyStore::new();
        for rid in TEST_KEY_RIDS {
            // the test keys are compiled in and valid; an error would leave the store
            // without them and ODA would fail visibly
            let _ = ca_keys.insert_test_keys(rid);
        }
        KernelConfig {
            ca_keys,
            cvm_results_keep_b7: true,
            missing_cvm_list_sets_icc_data_missing: true,
            bypass_applies_to_later_pin_cvms: true,
            read_pin_try_counter: true,
        }
    }
}

/// An EMV contact terminal kernel: a terminal profile and a configuration. Cheap to keep;
/// each [`Kernel::run`] is one transaction.
#[derive(Debug, Clone)]
pub struct Kernel {
    profile: Profile,
    config: KernelConfig,
}

impl Kernel {
    /// A kernel for `profile`.
    pub fn new(profile: Profile, config: KernelConfig) -> Self {
        Kernel { profile, config }
    }

    /// The terminal profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The configuration.
    pub fn config(&self) -> &KernelConfig {
        &self.config
    }

    /// Runs one transaction against the card behind `transport` (already powered on),
    /// asking `pinpad` for PINs and `host` for authorisations. Returns an error only for
    /// invalid parameters; whatever the card does ends in an [`Outcome`].
    pub fn run<T, P, H>(
        &self,
        transport: &mut T,
        pinpad: &mut P,
        host: &mut H,
        params: &TransactionParams,
    ) -> Result<Outcome, KernelError>
    where
        T: Transport + ?Sized,
        P: PinPad + ?Sized,
        H: Host + ?Sized,
    {
        Ok(self.transaction(transport, pinpad, host, params)?.run())
    }

    /// [`Kernel::run`], reporting every [`Event`] of the transaction to `observer` as it
    /// happens.
    pub fn run_observed<T, P, H>(
        &self,
        transport: &mut T,
        pinpad: &mut P,
        host: &mut H,
        params: &TransactionParams,
        observer: &mut dyn Observer,
    ) -> Result<Outcome, KernelError>
    where
        T: Transport + ?Sized,
        P: PinPad + ?Sized,
        H: Host + ?Sized,
    {
        Ok(self
            .transaction(transport, pinpad, host, params)?
            .observed_by(observer)
            .run())
    }

    /// A transaction whose stages the caller runs one by one (stage tests, step-by-step
    /// user interfaces). [`Transaction::run`] runs them all.
    pub fn transaction<'a, T, P, H>(
        &'a self,
        transport: &'a mut T,
        pinpad: &'a mut P,
        host: &'a mut H,
        params: &TransactionParams,
    ) -> Result<Transaction<'a, T, P, H>, KernelError>
    where
        T: Transport + ?Sized,
        P: PinPad + ?Sized,
        H: Host + ?Sized,
    {
        params.validate()?;
        Ok(Transaction::new(
            self,
            transport,
            pinpad,
            host,
            params.clone(),
        ))
    }
}

/// Offline data authentication method chosen (Book 3 §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OdaMethod {
    /// Not performed.
    None,
    /// Static Data Authentication.
    Sda,
    /// Dynamic Data Authentication.
    Dda,
    /// Combined DDA / Application Cryptogram Generation.
    Cda,
}

/// Combined DDA / Application Cryptogram Generation across the two GENERATE ACs (Book 2
/// §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Cda {
    /// Not selected, or the ICC public key could not be recovered.
    #[default]
    Off,
    /// Selected and the ICC public key recovered: signatures are asked for.
    Ready,
    /// The first GENERATE AC's signature did not verify: the TC/ARQC cannot be trusted and
    /// no signature is asked for again (Book 2 §6.6.2).
    FirstFailed,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// With an outcome of EMV processing (approved or declined, offline or online).
    Completed(OutcomeKind),
    /// Terminated in `stage`, for `reason`.
    Terminated {
        /// Where.
        stage: Stage,
        /// Why.
        reason: String,
    },
}

/// Offline PIN state across CV Rules (Book 4 §6.3.4).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PinState {
    /// PIN entry was bypassed (and later PIN CVMs count as bypassed).
    pub bypassed: bool,
    /// The offline PIN is known to be blocked (PTC 0, 63C0, 6983, 6984).
    pub blocked: bool,
    /// PIN Try Counter as last known.
    pub tries_left: Option<u8>,
    /// GET DATA 9F17 was sent.
    pub ptc_read: bool,
}

/// One transaction in progress. Created by [`Kernel::transaction`]; the stage methods are
/// in the stage modules (`selection`, `initiate`, `read_data`, `oda`, `restrictions`,
/// `cvm`, `risk`, `action`, `online`, `script`).
pub struct Transaction<'a, T: ?Sized, P: ?Sized, H: ?Sized> {
    pub(crate) profile: &'a Profile,
    pub(crate) config: &'a KernelConfig,
    pub(crate) params: TransactionParams,
    pub(crate) card: &'a mut T,
    pub(crate) pinpad: &'a mut P,
    pub(crate) host: &'a mut H,
    pub(crate) data: DataStore,
    pub(crate) tvr: Tvr,
    pub(crate) tsi: Tsi,
    pub(crate) cvm_results: CvmResults,
    pub(crate) rng: KernelRng,
    pub(crate) stage: Stage,
    pub(crate) events: Events<'a>,
    /// The candidate list, once built (Book 1 §12.3).
    pub(crate) candidates: Option<Vec<Candidate>>,
    pub(crate) selected: Option<Candidate>,
    pub(crate) aip: Aip,
    pub(crate) afl: Afl,
    pub(crate) pdol_data: Vec<u8>,
    pub(crate) oda_data: Vec<u8>,
    pub(crate) oda_method: OdaMethod,
    pub(crate) issuer_key: Option<RsaPublicKey>,
    pub(crate) icc_key: Option<RsaPublicKey>,
    pub(crate) cda: Cda,
    pub(crate) pin: PinState,
    pub(crate) signature_required: bool,
    pub(crate) online_pin: Option<PinData>,
    pub(crate) cdol1_data: Vec<u8>,
    pub(crate) first_cid: Option<Cid>,
    pub(crate) final_cid: Option<Cid>,
    pub(crate) host_response: Option<AuthResponse>,
    pub(crate) arc: Option<[u8; 2]>,
    pub(crate) script_results: Vec<ScriptResult>,
    /// An advice told the host how the transaction ended.
    pub(crate) advised: bool,
    /// The reversal of an approval the terminal could not complete.
    pub(crate) reversal: Option<Reversal>,
    /// How the transaction ended, once it has.
    pub(crate) end: Option<End>,
}

impl<'a, T, P, H> Transaction<'a, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    fn new(
        kernel: &'a Kernel,
        transport: &'a mut T,
        pinpad: &'a mut P,
        host: &'a mut H,
        params: TransactionParams,
    ) -> Self {
        let mut rng = KernelRng::new(params.seed);
        let un = params.unpredictable_number.unwrap_or_else(|| {
            let mut b = [0u8; 4];
            rng.fill(&mut b);
            b
        });
        let mut data = DataStore::default();
        for (tag, v) in kernel.profile.terminal_data() {
            data.set_terminal(tag, &v);
        }
        let t = Tag::new;
        data.set_terminal(t(0x9F02), &to_bcd(params.amount, 6).unwrap_or_default());
        data.set_terminal(
            t(0x9F03),
            &to_bcd(params.amount_other, 6).unwrap_or_default(),
        );
        data.set_terminal(
            t(0x81),
            &u32::try_from(params.amount)
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        data.set_terminal(
            t(0x9F04),
            &u32::try_from(params.amount_other)
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        data.set_terminal(t(0x9A), &params.date.to_bcd());
        data.set_terminal(t(0x9F21), &params.time.to_bcd());
        data.set_terminal(t(0x9C), &[params.transaction_type.code()]);
        data.set_terminal(t(0x9F37), &un);
        data.set_terminal(
            t(0x9F41),
            &to_bcd(u64::from(params.stan), 4).unwrap_or_default(),
        );
        let mut tx = Transaction {
            profile: &kernel.profile,
            config: &kernel.config,
            params,
            card: transport,
            pinpad,
            host,
            data,
            tvr: Tvr::new(),
            tsi: Tsi::new(),
            cvm_results: CvmResults::NO_CVM_PERFORMED,
            rng,
            stage: Stage::ApplicationSelection,
            events: Events::new(None),
            candidates: None,
            selected: None,
            aip: Aip::new(),
            afl: Afl::default(),
            pdol_data: Vec::new(),
            oda_data: Vec::new(),
            oda_method: OdaMethod::None,
            issuer_key: None,
            icc_key: None,
            cda: Cda::Off,
            pin: PinState::default(),
            signature_required: false,
            online_pin: None,
            cdol1_data: Vec::new(),
            first_cid: None,
            final_cid: None,
            host_response: None,
            advised: false,
            reversal: None,
            arc: None,
            script_results: Vec::new(),
            end: None,
        };
        tx.sync_results();
        tx
    }

    /// Reports every [`Event`] from here on to `observer`.
    pub fn observed_by(mut self, observer: &'a mut dyn Observer) -> Self {
        self.events = Events::new(Some(observer));
        self
    }

    /// Runs every stage and returns the outcome.
    pub fn run(mut self) -> Outcome {
        if let Err(e) = self.run_stages() {
            if self.approval_unsettled() {
                // the host debited an approval the card never completed
                self.reverse(&e.to_string());
            }
            self.terminate_with(e);
        }
        self.finish()
    }

    fn run_stages(&mut self) -> Result<(), KernelError> {
        loop {
            self.application_selection()?;
            if self.initiate_application_processing()? {
                break;
            }
        }
        self.read_application_data()?;
        self.offline_data_authentication()?;
        self.processing_restrictions()?;
        self.cardholder_verification()?;
        self.terminal_risk_management()?;
        let requested = self.terminal_action_analysis()?;
        self.first_generate_ac(requested)?;
        self.after_first_generate_ac()
    }

    /// Records a termination (the error's text is the reason).
    pub(crate) fn terminate_with(&mut self, e: KernelError) {
        let reason = e.to_string();
        self.decide(
            Topic::Termination,
            format!("transaction terminated: {reason}"),
        );
        self.end = Some(End::Terminated {
            stage: self.stage,
            reason,
        });
    }

    /// The transaction completed with `outcome`.
    pub(crate) fn complete(&mut self, outcome: OutcomeKind) {
        self.end = Some(End::Completed(outcome));
    }

    /// Enters a stage (again, when a stage is re-entered: selection after a rejected
    /// application, the stage that issuer scripts interrupted).
    pub(crate) fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.events.emit(&Event::Stage(stage));
    }

    /// A decision without a spec reference (a fact the next decisions build on).
    pub(crate) fn decide(&mut self, topic: Topic, what: impl Into<String>) {
        self.record(topic, None, None, what.into());
    }

    /// A decision applying `reference` (`"Book 3 §10.7"`).
    pub(crate) fn decide_per(
        &mut self,
        topic: Topic,
        reference: &'static str,
        what: impl Into<String>,
    ) {
        self.record(topic, None, Some(reference), what.into());
    }

    fn record(
        &mut self,
        topic: Topic,
        tvr: Option<emv_tlv::bits::Bit>,
        reference: Option<&'static str>,
        what: String,
    ) {
        self.events.decision(Decision {
            stage: self.stage,
            topic,
            tvr,
            what,
            reference,
        });
    }

    /// A CV Rule tried.
    pub(crate) fn cv_rule(&mut self, rule: CvRuleTrace) {
        self.events.cv_rule(rule);
    }

    /// Sends a command and returns the complete response: every exchange (a GET RESPONSE
    /// included) is an [`Event::Exchange`]; [`emv_apdu::exchange`] owns the `61xx`/`6Cxx`
    /// loop.
    pub(crate) fn send(&mut self, command: &emv_apdu::Command) -> Result<Response, KernelError> {
        let bytes = command.to_bytes()?;
        self.send_raw(&bytes)
    }

    /// Sends an already encoded C-APDU (issuer script commands).
    pub(crate) fn send_raw(&mut self, capdu: &[u8]) -> Result<Response, KernelError> {
        let mut tap = Tap {
            card: &mut *self.card,
            events: &mut self.events,
            stage: self.stage,
        };
        exchange(&mut tap, capdu).map_err(|source| KernelError::Card {
            command: emv_apdu::describe::command_name(capdu),
            source,
        })
    }

    /// Puts TVR, TSI and CVM Results into the terminal data (for DOLs).
    pub(crate) fn sync_results(&mut self) {
        self.data.set_terminal(Tag::new(0x95), &self.tvr.0);
        self.data.set_terminal(Tag::new(0x9B), &self.tsi.0);
        self.data
            .set_terminal(Tag::new(0x9F34), &self.cvm_results.0);
    }

    /// Sets a TVR bit and logs it once: `TVR byte b bit n "name": why (reference)`.
    pub(crate) fn set_tvr(
        &mut self,
        bit: emv_tlv::bits::Bit,
        topic: Topic,
        reference: Option<&'static str>,
        why: &str,
    ) {
        if !self.tvr.is_set(bit) {
            self.tvr.set(bit);
            let what = format!("TVR {} \"{}\": {why}", bit.position(), bit.name);
            self.record(topic, Some(bit), reference, what);
        }
        self.sync_results();
    }

    /// Sets a TSI bit.
    pub(crate) fn set_tsi(&mut self, bit: emv_tlv::bits::Bit) {
        self.tsi.set(bit);
        self.sync_results();
    }

    /// Terminal Verification Results so far.
    pub fn tvr(&self) -> Tvr {
        self.tvr
    }

    /// Transaction Status Information so far.
    pub fn tsi(&self) -> Tsi {
        self.tsi
    }

    /// CVM Results so far.
    pub fn cvm_results(&self) -> CvmResults {
        self.cvm_results
    }

    /// A data object (terminal first, then card).
    pub fn value(&self, tag: Tag) -> Option<&[u8]> {
        self.data.get(tag)
    }

    /// Puts a card data object in place as if the card had returned it (stage tests).
    pub fn set_icc_value(&mut self, tag: Tag, value: &[u8]) {
        self.data.set_icc(tag, value);
        if tag == Tag::new(0x82)
            && let Some(aip) = Aip::from_slice(value)
        {
            self.aip = aip;
        }
    }

    /// The decision log so far.
    pub fn decisions(&self) -> &[Decision] {
        &self.events.journal.decisions
    }

    /// The CV Rules tried so far.
    pub fn cvm_trace(&self) -> &[CvRuleTrace] {
        &self.events.journal.cvm_trace
    }

    /// The APDUs exchanged so far.
    pub fn apdus(&self) -> &[ApduRecord] {
        &self.events.journal.apdus
    }

    /// The online PIN block captured by the CVM engine, if any.
    pub fn online_pin_data(&self) -> Option<&PinData> {
        self.online_pin.as_ref()
    }

    /// Whether a signature is to be taken.
    pub fn signature_required(&self) -> bool {
        self.signature_required
    }

    /// The outcome object (the transaction ends here).
    pub fn finish(self) -> Outcome {
        let (outcome, terminated_at, termination_reason) = match self.end {
            Some(End::Completed(kind)) => (kind, None, None),
            Some(End::Terminated { stage, reason }) => {
                (OutcomeKind::Terminated, Some(stage), Some(reason))
            }
            // the caller stopped running stages before the end (stage tests)
            None => (
                OutcomeKind::Terminated,
                Some(self.stage),
                Some("transaction not completed".to_owned()),
            ),
        };
        let journal = self.events.journal;
        Outcome {
            outcome,
            cid_first: self.first_cid,
            cid_final: self.final_cid.or(self.first_cid),
            tvr: self.tvr,
            tsi: self.tsi,
            cvm_results: self.cvm_results,
            cvm_performed: CvmPerformed::of(self.cvm_results),
            host_response_code: self.host_response.as_ref().map(|r| r.response_code),
            online_pin: self.host_response.as_ref().and_then(|r| r.online_pin),
            card: None,
            host: None,
            script_results: self.script_results,
            apdu_count: journal.apdus.len(),
            aid: self.selected.map(|c| c.df_name),
            arc: self.arc,
            reversal: self.reversal,
            signature_required: self.signature_required,
            terminated_at,
            termination_reason,
            decisions: journal.decisions,
            cvm_trace: journal.cvm_trace,
            apdus: journal.apdus,
        }
    }
}

/// The card as the kernel talks to it: every exchange is reported as it happens.
struct Tap<'t, 'e, T: ?Sized> {
    card: &'t mut T,
    events: &'t mut Events<'e>,
    stage: Stage,
}

impl<T: Transport + ?Sized> Transport for Tap<'_, '_, T> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.card.transmit(capdu);
        self.events.emit(&Event::Exchange(Exchange {
            stage: self.stage,
            command: capdu,
            response: result.as_deref(),
        }));
        result
    }
}
