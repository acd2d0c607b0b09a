//! The card: [`Card::handle`] parses a C-APDU, identifies the command
//! ([`emv_apdu::KnownCommand`]) and executes it against the personalisation and the
//! state. Each command lives in its own module under `commands/`.

use std::sync::Arc;

use emv_apdu::{CommandView, KnownCommand, Response, StatusWord};
use emv_crypto::cryptogram::ArpcResponse;
use emv_crypto::keys::TdesKey;
use emv_crypto::pinblock::{self, Fill, Pin, PinBlockFormat};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CardError;
use crate::fault::{FaultAction, apply_tag_fault};
use crate::perso::Personalisation;
use crate::rng::CardRng;
use crate::state::{CardState, STATE_VERSION};
use crate::store::{CardStore, MemoryStore};

/// The card's historical bytes (ISO/IEC 7816-4 §8.1.1; any content is allowed, EMV 4.4
/// Book 1 §8.3.2): "emvbench".
const HISTORICAL: [u8; 8] = *b"emvbench";

/// The Answer To Reset of a contact card, EMV's basic ATR for T=0 (EMV 4.4 Book 1 §8.3,
/// docs/emv.md §9.3): TS `3B` (direct convention), T0 `68` (TB1 and TC1 follow, 8
/// historical bytes), TB1 `00` (no programming voltage), TC1 `00` (no extra guard time),
/// the historical bytes; no TD1, so T=0 only, and no TCK (ISO/IEC 7816-3 §8.2.5).
pub const ATR: [u8; 12] = {
    let mut a = [0x3B, 0x68, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut i = 0;
    while i < HISTORICAL.len() {
        a[4 + i] = HISTORICAL[i];
        i += 1;
    }
    a
};

/// The basic ATR for T=1 (EMV 4.4 Book 1 §8.3, a profile's `atr = "t1"`): TS `3B`, T0
/// `E8` (TB1, TC1, TD1; 8 historical bytes), TB1 `00`, TC1 `00`, TD1 `81` (T=1, TD2
/// follows), TD2 `31` (T=1, TA3 and TB3 follow), TA3 `FE` (IFSC 254), TB3 `45` (BWI 4,
/// CWI 5), the historical bytes and TCK, which makes the XOR of T0..TCK zero (ISO/IEC
/// 7816-3 §8.2.5).
pub const ATR_T1: [u8; 17] = {
    let mut a = [
        0x3B, 0xE8, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut i = 0;
    while i < HISTORICAL.len() {
        a[8 + i] = HISTORICAL[i];
        i += 1;
    }
    let mut tck = 0u8;
    let mut i = 1;
    while i < 16 {
        tck ^= a[i];
        i += 1;
    }
    a[16] = tck;
    a
};

/// What the card's state says, for reports and the outcome JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardStatus {
    /// PIN Try Counter.
    pub pin_try_counter: u8,
    /// PIN Try Limit.
    pub pin_try_limit: u8,
    /// Whether the first application is blocked.
    pub app_blocked: bool,
    /// Whether CARD BLOCK was executed.
    pub card_blocked: bool,
    /// ATC.
    pub atc: u16,
    /// Last online ATC.
    pub last_online_atc: u16,
}

/// What is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Selected {
    #[default]
    None,
    Pse,
    Ppse,
    App(usize),
}

/// What this transaction's VERIFYs came to (the CVR's offline PIN bits; EMV 4.4 Book 3
/// Annex C, docs/emv.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PinResult {
    /// No VERIFY yet.
    #[default]
    NotPerformed,
    /// VERIFY was tried but reached no comparison (the PIN blocked, or the counter could
    /// not be written).
    Attempted,
    /// The last comparison failed.
    Failed,
    /// The last comparison succeeded.
    Successful,
}

/// The offline PIN verifications of this transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PinSession {
    pub result: PinResult,
    /// An enciphered PIN was tried.
    pub enciphered: bool,
    /// The PIN Try Limit was exceeded during this transaction.
    pub limit_exceeded_now: bool,
}

impl PinSession {
    /// A VERIFY was tried; a comparison made earlier in the transaction stays the result.
    pub fn attempted(&mut self, enciphered: bool) {
        if self.result == PinResult::NotPerformed {
            self.result = PinResult::Attempted;
        }
        self.enciphered |= enciphered;
    }
}

/// The first GENERATE AC of an online transaction: the ARQC and what the second GENERATE
/// AC, issuer authentication and the scripts' session keys need of it.
#[derive(Debug, Clone)]
pub(crate) struct FirstAc {
    pub ac: [u8; 8],
    pub un: [u8; 4],
    pub cdol1_values: Vec<u8>,
    /// Transaction data in AC input order (9F02 9F03 9F1A 95 5F2A 9A 9C 9F37).
    pub tx_data: Vec<u8>,
}

/// The result of checking the issuer's ARPC (tag 91; EMV 4.4 Book 2 §8.2).
#[derive(Debug, Clone)]
pub(crate) enum ArpcCheck {
    /// It verified: the issuer's ARC or CSU, now authenticated.
    Passed(ArpcResponse),
    /// It did not verify.
    Failed,
}

/// Issuer authentication in an online transaction (Book 3 §6.5.4, §6.5.5.3).
#[derive(Debug, Clone, Default)]
pub(crate) enum IssuerAuth {
    /// No ARPC checked yet.
    #[default]
    NotPerformed,
    /// Checked by EXTERNAL AUTHENTICATE: a second one is refused and the second GENERATE
    /// AC does not check tag 91 again.
    External(ArpcCheck),
    /// Checked from tag 91 in the second GENERATE AC.
    InGenerateAc(ArpcCheck),
}

impl IssuerAuth {
    /// The check, once made.
    pub fn check(&self) -> Option<&ArpcCheck> {
        match self {
            Self::NotPerformed => None,
            Self::External(c) | Self::InGenerateAc(c) => Some(c),
        }
    }

    /// Whether an ARPC was checked (the CVR's "issuer authentication performed").
    pub fn performed(&self) -> bool {
        self.check().is_some()
    }

    /// Whether the check failed.
    pub fn failed(&self) -> bool {
        matches!(self.check(), Some(ArpcCheck::Failed))
    }

    /// The authenticated response, if the ARPC verified.
    pub fn response(&self) -> Option<&ArpcResponse> {
        match self.check() {
            Some(ArpcCheck::Passed(r)) => Some(r),
            _ => None,
        }
    }
}

/// An online transaction: the first GENERATE AC gave an ARQC.
#[derive(Debug, Clone)]
pub(crate) struct OnlineTx {
    /// The PDOL values of GET PROCESSING OPTIONS (CDA hashes them).
    pub pdol_values: Vec<u8>,
    pub first: FirstAc,
    pub issuer_auth: IssuerAuth,
    /// Script commands received (M/Chip AC increment, CVR counter).
    pub script_commands: u32,
}

/// Where the selected application's transaction is, with the data valid in that phase
/// (EMV 4.4 Book 3 §6.5.8.1: one GET PROCESSING OPTIONS; §6.5.5: one or two GENERATE AC;
/// §6.5.4.1: EXTERNAL AUTHENTICATE between them; §6.5.10: scripts after an ARQC). A
/// command that does not fit the phase gets `6985`.
#[derive(Debug, Clone, Default)]
pub(crate) enum TxPhase {
    /// No GET PROCESSING OPTIONS yet.
    #[default]
    Ready,
    /// GET PROCESSING OPTIONS done; the first GENERATE AC may come.
    Initiated {
        /// The PDOL values (CDA hashes them).
        pdol_values: Vec<u8>,
    },
    /// The first GENERATE AC gave an ARQC: EXTERNAL AUTHENTICATE, the second GENERATE AC
    /// and script commands may come.
    Online(OnlineTx),
    /// The first GENERATE AC gave the final cryptogram (TC or AAC).
    Offline,
    /// The second GENERATE AC gave the final cryptogram; script commands may still come
    /// (template 72).
    Completed(OnlineTx),
}

impl TxPhase {
    /// The online transaction, before or after the second GENERATE AC.
    pub fn online(&self) -> Option<&OnlineTx> {
        match self {
            Self::Online(o) | Self::Completed(o) => Some(o),
            _ => None,
        }
    }

    /// The same, to update.
    pub fn online_mut(&mut self) -> Option<&mut OnlineTx> {
        match self {
            Self::Online(o) | Self::Completed(o) => Some(o),
            _ => None,
        }
    }
}

/// Volatile state: forgotten at power-off and reset.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    pub selected: Selected,
    /// DF name of the last SELECT and the index of the application it matched.
    pub last_select: Option<(Vec<u8>, usize)>,
    pub phase: TxPhase,
    /// Issued by GET CHALLENGE, valid for the next command only (Book 3 §6.5.6).
    pub challenge: Option<[u8; 8]>,
    pub pin: PinSession,
    /// INTERNAL AUTHENTICATE signed (the CVR's "DDA performed").
    pub dda_performed: bool,
    /// Response data announced with `61xx` and not yet fetched, with the status word that
    /// ends it: valid for a GET RESPONSE as the very next command only (ISO/IEC 7816-3
    /// §12.2 and EMV 4.4 Book 1 §9.3.1, case 4; docs/emv.md §9.1).
    pub pending: Option<Response>,
}

/// A software EMV card.
pub struct Card<S: CardStore = MemoryStore> {
    pub(crate) perso: Arc<Personalisation>,
    pub(crate) state: CardState,
    pub(crate) store: S,
    pub(crate) session: Session,
    pub(crate) rng: CardRng,
    fault_counts: Vec<u32>,
    storage_key: TdesKey,
    powered: bool,
}

impl<S: CardStore> std::fmt::Debug for Card<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("profile", &self.perso.name)
            .field("store", &self.store.describe())
            .field("pin_try_counter", &self.state.pin_try_counter)
            .finish_non_exhaustive()
    }
}

/// A handler's result: the response, or an error status word without data.
pub(crate) type CmdResult = Result<Response, StatusWord>;

impl Card<MemoryStore> {
    /// A fresh card in memory.
    pub fn in_memory(perso: Arc<Personalisation>) -> Result<Self, CardError> {
        Self::new(perso, MemoryStore::new())
    }
}

impl<S: CardStore> Card<S> {
    /// A card with its state in `store` (loaded if present, else personalised and saved).
    pub fn new(perso: Arc<Personalisation>, mut store: S) -> Result<Self, CardError> {
        // The PIN is kept enciphered under a key of the card's own (its SM confidentiality
        // master key), so a state file never holds it in clear.
        let storage_key = perso.keys.smc.clone();
        let state = match store.load()? {
            Some(s) => {
                if s.profile != perso.name {
                    return Err(CardError::StateMismatch {
                        path: store.describe(),
                        found: s.profile,
                        expected: perso.name.clone(),
                    });
                }
                s
            }
            None => {
                let s = CardState {
                    version: STATE_VERSION,
                    profile: perso.name.clone(),
                    pin_try_counter: perso.initial_pin_try_counter,
                    pin_cryptogram: encipher_pin(&storage_key, &perso.initial_pin)?,
                    atc: perso.initial_atc,
                    last_online_atc: perso.initial_last_online_atc,
                    blocked_apps: Vec::new(),
                    card_blocked: false,
                    consecutive_offline: 0,
                    last_online_not_completed: false,
                    issuer_auth_failed_last: false,
                    script_failed_last: false,
                    script_commands_last: 0,
                    sm_failures: 0,
                    go_online_next: false,
                    pin_changed_last: false,
                    data_updates: Default::default(),
                    transaction_log: Default::default(),
                };
                store.save(&s)?;
                s
            }
        };
        if state.pin_try_counter > perso.pin_try_limit {
            return Err(CardError::Store {
                path: store.describe(),
                reason: format!(
                    "PIN Try Counter {} is above the profile's limit {}",
                    state.pin_try_counter, perso.pin_try_limit
                ),
            });
        }
        let faults = perso.faults.len();
        Ok(Self {
            perso,
            state,
            store,
            session: Session::default(),
            rng: CardRng::system(),
            fault_counts: vec![0; faults],
            storage_key,
            powered: true,
        })
    }

    /// Makes GET CHALLENGE, ICC dynamic numbers and PIN-block filler deterministic.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = CardRng::seeded(seed);
        self
    }

    /// The personalisation.
    pub fn personalisation(&self) -> &Personalisation {
        &self.perso
    }

    /// The persistent state.
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// The issuer's response this transaction has authenticated (its ARPC verified, from
    /// EXTERNAL AUTHENTICATE or in the second GENERATE AC; EMV 4.4 Book 2 §8.2), if any.
    /// Only such a response's Card Status Update may set the PIN Try Counter (Book 3
    /// Annex C10). Cleared by SELECT and power-on, as the whole transaction state.
    pub fn authenticated_issuer_response(&self) -> Option<&ArpcResponse> {
        self.session
            .phase
            .online()
            .and_then(|o| o.issuer_auth.response())
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Mutable access to the store (fault injection in tests).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// A summary for reports.
    pub fn status(&self) -> CardStatus {
        CardStatus {
            pin_try_counter: self.state.pin_try_counter,
            pin_try_limit: self.perso.pin_try_limit,
            app_blocked: self
                .perso
                .apps
                .first()
                .is_some_and(|a| self.state.app_blocked(&a.aid)),
            card_blocked: self.state.card_blocked,
            atc: self.state.atc,
            last_online_atc: self.state.last_online_atc,
        }
    }

    /// The Answer To Reset the profile chose ([`ATR`] or [`ATR_T1`]).
    pub fn atr(&self) -> &[u8] {
        self.perso.atr.bytes()
    }

    /// Cold reset: returns the ATR; the volatile state is cleared.
    pub fn power_on(&mut self) -> Vec<u8> {
        self.powered = true;
        self.session = Session::default();
        self.atr().to_vec()
    }

    /// Warm reset: same as a cold one for this card (the persistent state stays).
    pub fn reset(&mut self) -> Vec<u8> {
        self.power_on()
    }

    /// Power off: the volatile state is lost; commands get no answer until power on.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.session = Session::default();
    }

    /// Processes one C-APDU and returns the R-APDU (data and status word). Never panics;
    /// every malformed or unexpected command gets a status word (EMV 4.4 Book 1 §9.4,
    /// Book 3 §6.3.5, ISO/IEC 7816-4 §5.6).
    pub fn handle(&mut self, capdu: &[u8]) -> Vec<u8> {
        if !self.powered {
            // A card without power does not answer; the transports report it as mute.
            return Vec::new();
        }
        // The challenge is valid for the very next command only (Book 3 §6.5.6.1), and
        // so is data waiting for GET RESPONSE (ISO/IEC 7816-3 §12.2, case 4).
        let challenge = self.session.challenge.take();
        let pending = self.session.pending.take();
        let view = match CommandView::parse(capdu) {
            Ok(v) => v,
            Err(_) => return Response::from(StatusWord::WrongLength).to_bytes(),
        };
        if view.cla == 0xFF {
            return sw(StatusWord::ClaNotSupported);
        }
        let Some(cmd) = view.identify() else {
            return sw(unidentified(&view));
        };
        // Command chaining is allowed only for VERIFY and PIN CHANGE/UNBLOCK (Book 3
        // §6.5.13); this card does not need it for either (short APDUs suffice).
        if view.cla & 0x10 != 0 {
            return sw(if cmd.allows_chaining() {
                StatusWord::Other(0x6884)
            } else {
                StatusWord::ClaNotSupported
            });
        }
        if !cla_ok(cmd, view.cla) {
            // A post-issuance command without secure messaging (Book 3 §6.5.10; docs/emv.md §5.3).
            if cmd.is_post_issuance() && view.cla & 0x0C == 0 {
                return sw(StatusWord::ConditionsNotSatisfied);
            }
            return sw(StatusWord::ClaNotSupported);
        }
        if let Some(forced) = self.fault_status(cmd) {
            return sw(StatusWord::from_u16(forced));
        }
        let result = match cmd {
            KnownCommand::Select(occ) => self.select(&view, occ),
            KnownCommand::GetProcessingOptions => self.get_processing_options(&view),
            KnownCommand::ReadRecord { sfi, record } => self.read_record(&view, sfi, record),
            KnownCommand::GetData { tag } => self.get_data(&view, tag),
            KnownCommand::GetChallenge => self.get_challenge(&view),
            KnownCommand::VerifyPlaintext | KnownCommand::VerifyEnciphered
                if view.data.is_empty() =>
            {
                self.verify_status()
            }
            KnownCommand::VerifyPlaintext => self.verify_plaintext(&view),
            KnownCommand::VerifyEnciphered => self.verify_enciphered(&view, challenge),
            KnownCommand::InternalAuthenticate => self.internal_authenticate(&view),
            KnownCommand::ExternalAuthenticate => self.external_authenticate(&view),
            KnownCommand::GenerateAc(rc) => self.generate_ac(&view, rc),
            KnownCommand::GetResponse => return self.get_response(&view, pending),
            KnownCommand::PinChangeUnblock(_)
            | KnownCommand::ApplicationBlock
            | KnownCommand::ApplicationUnblock
            | KnownCommand::CardBlock
            | KnownCommand::PutData { .. } => self.post_issuance(capdu, cmd),
            // UPDATE RECORD and anything newer: not implemented by this card.
            _ => Err(StatusWord::InsNotSupported),
        };
        let resp = match result {
            Ok(r) => r,
            Err(s) => Response::from(s),
        };
        let resp = self.apply_response_faults(cmd, resp);
        self.fit_le(&view, resp).to_bytes()
    }

    /// Fits response data to the command's Le (docs/emv.md §9.1). The card answers as a T=0
    /// card does, at the APDU level:
    /// - data within Ne (Le, `00` meaning 256: ISO/IEC 7816-4 §5.1) is returned as is;
    /// - a command without a data field (case 2: READ RECORD, GET DATA, GET CHALLENGE)
    ///   whose Le is absent or shorter than the data gets `6Cxx`, xx = the exact length,
    ///   and nothing else: the terminal sends it again with Le = xx (EMV 4.4 Book 1
    ///   §9.3.1 and ISO/IEC 7816-3 §12.2, case 2);
    /// - a command with a data field (case 4: SELECT, GET PROCESSING OPTIONS, INTERNAL
    ///   AUTHENTICATE, GENERATE AC) has run and is not run twice: `61xx`, the data kept for
    ///   GET RESPONSE (EMV 4.4 Book 1 §9.3.1 and ISO/IEC 7816-3 §12.2, case 4).
    fn fit_le(&mut self, view: &CommandView<'_>, resp: Response) -> Response {
        let n = resp.data.len();
        if n == 0 || view.ne.is_some_and(|ne| n <= ne.min(SHORT_NE_MAX)) {
            return resp;
        }
        if view.data.is_empty() && n <= SHORT_NE_MAX {
            return Response::status(StatusWord::WrongLe(short_le(n)));
        }
        let sw = StatusWord::MoreData(short_le(n));
        self.session.pending = Some(resp);
        Response::status(sw)
    }

    /// GET RESPONSE (ISO/IEC 7816-3 §12.2, case 4; ISO/IEC 7816-4 §5.1): the data a `61xx`
    /// announced, at most Ne bytes at a time (`61xx` again while more remains), then the
    /// status word of the command that produced it. Without such data: `6985`.
    fn get_response(&mut self, view: &CommandView<'_>, pending: Option<Response>) -> Vec<u8> {
        let Some(mut pending) = pending else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        let left = pending.data.len();
        let Some(ne) = view.ne.map(|ne| ne.min(SHORT_NE_MAX)) else {
            // no Le: the exact length, as for any case 2 command (EMV 4.4 Book 1 §9.3.1, case 2)
            self.session.pending = Some(pending);
            return sw(StatusWord::WrongLe(short_le(left)));
        };
        if left <= ne {
            return pending.to_bytes();
        }
        let rest = pending.data.split_off(ne);
        let chunk = Response::new(
            std::mem::replace(&mut pending.data, rest),
            StatusWord::MoreData(short_le(left - ne)),
        );
        self.session.pending = Some(pending);
        chunk.to_bytes()
    }

    /// A forced status word from the fault rules, if one hits `cmd`.
    fn fault_status(&mut self, cmd: KnownCommand) -> Option<u16> {
        let mut forced = None;
        for (i, f) in self.perso.faults.iter().enumerate() {
            if !f.target.matches(cmd) {
                continue;
            }
            if let FaultAction::StatusWord(s) = f.action {
                let n = self.fault_counts[i];
                self.fault_counts[i] = n.saturating_add(1);
                if forced.is_none() && f.hits(n) {
                    forced = Some(s);
                }
            }
        }
        forced
    }

    fn apply_response_faults(&mut self, cmd: KnownCommand, mut resp: Response) -> Response {
        for (i, f) in self.perso.faults.iter().enumerate() {
            if !f.target.matches(cmd) || matches!(f.action, FaultAction::StatusWord(_)) {
                continue;
            }
            if matches!(f.action, FaultAction::WrongCryptogram) {
                // counted and applied in GENERATE AC itself
                continue;
            }
            let n = self.fault_counts[i];
            self.fault_counts[i] = n.saturating_add(1);
            if f.hits(n) && !resp.data.is_empty() {
                resp.data = apply_tag_fault(&resp.data, &f.action);
            }
        }
        resp
    }

    /// Whether a wrong-cryptogram fault hits this GENERATE AC (counts it).
    pub(crate) fn wrong_cryptogram_fault(&mut self) -> bool {
        let mut hit = false;
        for (i, f) in self.perso.faults.iter().enumerate() {
            if matches!(f.action, FaultAction::WrongCryptogram)
                && f.target.matches(KnownCommand::GenerateAc(
                    emv_apdu::ReferenceControl::from_p1(0x40),
                ))
            {
                let n = self.fault_counts[i];
                self.fault_counts[i] = n.saturating_add(1);
                hit |= f.hits(n);
            }
        }
        hit
    }

    /// Saves the state; a failure is a memory failure (`6581`) and the caller must not
    /// go on as if the change were made.
    pub(crate) fn persist(&mut self) -> Result<(), StatusWord> {
        self.store
            .save(&self.state)
            .map_err(|_| StatusWord::MemoryFailure)
    }

    /// The selected application.
    pub(crate) fn app_index(&self) -> Option<usize> {
        match self.session.selected {
            Selected::App(i) => Some(i),
            _ => None,
        }
    }

    /// The card's current PIN (deciphered from the state).
    pub(crate) fn current_pin(&self) -> Result<Pin, StatusWord> {
        decipher_pin(&self.storage_key, &self.state.pin_cryptogram)
            .map_err(|_| StatusWord::MemoryFailure)
    }

    /// Stores a new PIN (enciphered).
    pub(crate) fn set_pin(&mut self, pin: &Pin) -> Result<(), StatusWord> {
        self.state.pin_cryptogram =
            encipher_pin(&self.storage_key, pin).map_err(|_| StatusWord::MemoryFailure)?;
        Ok(())
    }

    /// Constant-time comparison of `candidate` with the card's PIN.
    pub(crate) fn pin_matches(&self, candidate: &[u8]) -> Result<bool, StatusWord> {
        let pin = self.current_pin()?;
        let reference = pin.digits();
        // lengths are not secret (the PIN block carries the length in clear)
        Ok(reference.len() == candidate.len() && bool::from(reference.ct_eq(candidate)))
    }
}

/// The most data one short R-APDU carries (ISO/IEC 7816-4 §5.1: Le = `00` is 256).
pub const SHORT_NE_MAX: usize = 256;

/// A length as a short Le or SW2 of `61xx`/`6Cxx`: 256 and more is `00`.
fn short_le(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(0)
}

fn sw(s: StatusWord) -> Vec<u8> {
    Response::from(s).to_bytes()
}

/// The status word for a command EMV does not define with these parameters: a known
/// INS with bad P1/P2 is `6A86`, an unknown INS `6D00` (ISO/IEC 7816-4 §5.6).
fn unidentified(view: &CommandView<'_>) -> StatusWord {
    use emv_apdu::commands::ins;
    let known_ins = [
        ins::SELECT,
        ins::GET_RESPONSE,
        ins::GET_PROCESSING_OPTIONS,
        ins::READ_RECORD,
        ins::GET_DATA,
        ins::GET_CHALLENGE,
        ins::VERIFY,
        ins::INTERNAL_AUTHENTICATE,
        ins::EXTERNAL_AUTHENTICATE,
        ins::GENERATE_AC,
        ins::PIN_CHANGE_UNBLOCK,
        ins::APPLICATION_BLOCK,
        ins::APPLICATION_UNBLOCK,
        ins::CARD_BLOCK,
        ins::PUT_DATA,
        ins::UPDATE_RECORD,
    ];
    // (VERIFY with P1 ≠ 00 or P2 ∉ {80, 88} included: Book 3 §6.5.12.2 Table 23.)
    if known_ins.contains(&view.ins) {
        StatusWord::IncorrectP1P2
    } else {
        StatusWord::InsNotSupported
    }
}

/// The classes this card accepts per command: the EMV ones (Book 3 §6.3.2), with or
/// without the logical channel bits.
fn cla_ok(cmd: KnownCommand, cla: u8) -> bool {
    let expected = cmd.default_cla();
    let base = cla & 0xFC;
    match cmd {
        // PUT DATA / UPDATE RECORD: 04 (SM) or 84.
        KnownCommand::PutData { .. } | KnownCommand::UpdateRecord { .. } => {
            matches!(base, 0x04 | 0x84)
        }
        _ => base == expected & 0xFC,
    }
}

/// The PIN under the storage key: a format 2 block (F filler, so the cryptogram is
/// deterministic) enciphered with TDES-ECB.
fn encipher_pin(key: &TdesKey, pin: &Pin) -> Result<String, emv_crypto::CryptoError> {
    let block = pinblock::encode_pin_block(PinBlockFormat::Iso2, pin, None, &Fill::Random)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(&block[..8]);
    let enc = emv_crypto::block::tdes_encrypt_block(key, &b);
    Ok(hex::encode_upper(enc))
}

fn decipher_pin(key: &TdesKey, cryptogram: &str) -> Result<Pin, CardError> {
    let raw = hex::decode(cryptogram).map_err(|e| CardError::Store {
        path: "state".into(),
        reason: format!("pin_cryptogram: {e}"),
    })?;
    let b = <[u8; 8]>::try_from(raw.as_slice()).map_err(|_| CardError::Store {
        path: "state".into(),
        reason: "pin_cryptogram is not 8 bytes".into(),
    })?;
    let clear = Zeroizing::new(emv_crypto::block::tdes_decrypt_block(key, &b));
    Ok(pinblock::decode_pin_block(
        PinBlockFormat::Iso2,
        &clear[..],
        None,
    )?)
}
