//! Fault injection between the kernel and the real software card: for three
//! flows (offline PIN, online PIN with ARQC/ARPC, an ATM transaction carrying the issuer's
//! PIN UNBLOCK script), at every exchange k of the clean run the card misbehaves once:
//! garbage bytes, an empty answer, one byte, no answer at all (mute, and stays mute), or it
//! is pulled out (and stays out). Whatever happens, the kernel returns an outcome within a
//! bounded time; a card that no longer communicates ends the transaction as `terminated`
//! at the stage of the failed command, with a reason naming that command; and the chip's
//! PIN Try Counter never ends higher than before unless the card itself granted it (a PIN
//! it verified, or an issuer PIN script it accepted). And the issuer keeps a debit only for
//! a transaction the card approved: an approval the terminal could not complete is
//! reversed and the open-to-buy is whole again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use emv_apdu::{Transport, TransportError};
use emv_auth::TransactionType;
use emv_card::{Card, CardState, CardStore, MemoryStore, Personalisation};
use emv_host::{HostKeys, Issuer};
use emv_kernel::Stage;
use emv_kernel::{Kernel, KernelConfig, Outcome, OutcomeKind, Profile, ScriptedPinPad};
use emv_kernel::{TransactionDate, TransactionParams};
use emv_transport::{CardPresence, InProcessCard, Pullable};
use emvbench_tests::stage_of;

/// What the card does at the chosen exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The card processes the command; the terminal receives bytes that are not its answer,
    /// ending in an error status word.
    Garbage,
    /// The same with random data before `90 00`: a "successful" answer nothing can parse.
    GarbageOk,
    /// The card processes the command; the answer is lost on the way: no bytes.
    Empty,
    /// The card processes the command; only one byte arrives (no status word).
    OneByte,
    /// The card processes the command and never answers again (the reader times out).
    Mute,
    /// The card is pulled out before the command reaches it, and stays out.
    Removed,
}

const FAULTS: [Fault; 6] = [
    Fault::Garbage,
    Fault::GarbageOk,
    Fault::Empty,
    Fault::OneByte,
    Fault::Mute,
    Fault::Removed,
];

impl Fault {
    /// After this fault the card no longer communicates (no answer, or none that is an
    /// R-APDU): the transaction cannot go on.
    fn breaks_the_link(self) -> bool {
        !matches!(self, Fault::Garbage | Fault::GarbageOk)
    }
}

/// How long a mute card keeps the reader waiting before the transport gives up (a real
/// reader waits its work waiting time; short here so the test stays fast).
const MUTE_WAIT: Duration = Duration::from_millis(20);

/// The software card behind a transport that misbehaves at exchange `at` (1-based).
struct Faulty {
    /// The card, pulled out of the reader when its presence says so (the one card-pull
    /// wrapper the session and the TUI use too).
    card: Pullable<InProcessCard<MemoryStore>>,
    presence: CardPresence,
    at: usize,
    fault: Fault,
    /// Exchanges the kernel asked for (the faulty one included).
    sent: usize,
    /// The card is mute or out for good.
    gone: bool,
    /// The card itself answered 9000 to a VERIFY, to an issuer PIN command (PIN CHANGE /
    /// UNBLOCK), or to the second GENERATE AC (which applies the Card Status Update the
    /// issuer's ARPC carries, Book 3 Annex C10, once the card has verified the ARPC): only
    /// then may its PIN Try Counter go up.
    pin_granted: bool,
    /// GENERATE AC commands the card answered.
    gen_acs: usize,
    /// The garbage answer (deterministic, different for every k).
    garbage: Vec<u8>,
}

impl Faulty {
    fn new(card: InProcessCard<MemoryStore>, at: usize, fault: Fault) -> Self {
        // a small LCG: 2..=40 bytes, different for every k
        let mut x = (at as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        };
        let len = 2 + usize::from(next()) % 39;
        let mut garbage: Vec<u8> = (0..len).map(|_| next()).collect();
        if fault == Fault::GarbageOk {
            garbage[len - 2..].copy_from_slice(&[0x90, 0x00]);
        } else if matches!(garbage[len - 2], 0x61..=0x63 | 0x6C | 0x90) {
            // an error status word: not success, warning, "more data" or "wrong Le"
            garbage[len - 2] ^= 0x80;
        }
        let presence = CardPresence::default();
        Faulty {
            card: Pullable::new(card, presence.clone()),
            presence,
            at,
            fault,
            sent: 0,
            gone: false,
            pin_granted: false,
            gen_acs: 0,
            garbage,
        }
    }

    /// The card's real answer (and whether it granted a PIN try).
    fn deliver(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.card.transmit(capdu)?;
        let ok = r.ends_with(&[0x90, 0x00]);
        let ins = capdu.get(1).copied();
        if ins == Some(0xAE) {
            self.gen_acs += 1;
        }
        // VERIFY (00 20), PIN CHANGE/UNBLOCK (84 24) or the second GENERATE AC (80 AE)
        // answered 9000 by the card itself
        if ok && (matches!(ins, Some(0x20 | 0x24)) || (ins == Some(0xAE) && self.gen_acs == 2)) {
            self.pin_granted = true;
        }
        Ok(r)
    }
}

impl Transport for Faulty {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        if self.gone {
            return Err(match self.fault {
                Fault::Removed => TransportError::NoCard,
                _ => {
                    std::thread::sleep(MUTE_WAIT);
                    TransportError::CardMute("no answer within the waiting time".into())
                }
            });
        }
        if self.sent != self.at {
            return self.deliver(capdu);
        }
        match self.fault {
            Fault::Garbage | Fault::GarbageOk => {
                self.deliver(capdu)?;
                Ok(self.garbage.clone())
            }
            Fault::Empty => {
                self.deliver(capdu)?;
                Ok(Vec::new())
            }
            Fault::OneByte => {
                let r = self.deliver(capdu)?;
                Ok(r[..1].to_vec())
            }
            Fault::Mute => {
                self.deliver(capdu)?;
                self.gone = true;
                std::thread::sleep(MUTE_WAIT);
                Err(TransportError::CardMute(
                    "no answer within the waiting time".into(),
                ))
            }
            Fault::Removed => {
                self.presence.pull();
                self.gone = true;
                self.card.transmit(capdu)
            }
        }
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card.power_on()
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        self.card.power_off()
    }
}

/// One flow: a card (and its state), a terminal, a transaction and the cardholder's PINs,
/// against the embedded issuer host provisioned from the card's profile.
#[derive(Clone)]
struct Flow {
    name: &'static str,
    perso: Arc<Personalisation>,
    state: CardState,
    kernel: Kernel,
    params: TransactionParams,
    pins: &'static [&'static str],
    /// What the clean run must end with.
    clean: OutcomeKind,
}

/// What one run left behind.
struct Run {
    outcome: Outcome,
    sent: usize,
    pin_granted: bool,
    ptc: u8,
    took: Duration,
    /// The host's open-to-buy after the run, and before it.
    open_to_buy: u64,
    provisioned: u64,
}

impl Flow {
    fn new(
        name: &'static str,
        profile: &str,
        terminal: &str,
        txn: TransactionType,
        amount: u64,
        pins: &'static [&'static str],
        clean: OutcomeKind,
    ) -> Self {
        let perso = Arc::new(Personalisation::load(profile, &[]).unwrap());
        let state = Card::in_memory(perso.clone()).unwrap().state().clone();
        Flow {
            name,
            perso,
            state,
            kernel: Kernel::new(Profile::load(terminal).unwrap(), KernelConfig::default()),
            params: TransactionParams {
                transaction_type: txn,
                date: TransactionDate::parse("2026-01-15").unwrap(),
                seed: 11,
                ..TransactionParams::purchase(amount)
            },
            pins,
            clean,
        }
    }

    /// The same flow with the card's offline PIN blocked first (three wrong PINs at an
    /// offline-only shop terminal, as in scenario 01).
    fn with_offline_pin_blocked(mut self) -> Self {
        let mut card = InProcessCard::new(self.card());
        let kernel = Kernel::new(
            Profile::load("pos-offline-only").unwrap(),
            KernelConfig::default(),
        );
        for _ in 0..3 {
            card.power_on().unwrap();
            let mut pad = ScriptedPinPad::new(["9999"]).unwrap();
            let mut host = emv_kernel::testing::TestHost::unreachable();
            kernel
                .run(
                    &mut card,
                    &mut pad,
                    &mut host,
                    &TransactionParams::purchase(2500),
                )
                .unwrap();
        }
        self.state = card.card().state().clone();
        assert_eq!(self.state.pin_try_counter, 0, "{}: blocked", self.name);
        self
    }

    fn card(&self) -> Card<MemoryStore> {
        let mut store = MemoryStore::new();
        store.save(&self.state).unwrap();
        Card::new(self.perso.clone(), store).unwrap().with_seed(3)
    }

    /// Runs the flow with `fault` at exchange `at` (0: no fault) on its own thread; fails
    /// the test if the kernel does not return within `limit`.
    fn run(&self, at: usize, fault: Fault, limit: Duration) -> Run {
        let flow = self.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut t = Faulty::new(InProcessCard::new(flow.card()), at, fault);
            let mut issuer = Issuer::in_memory(HostKeys::load_test_keys().unwrap()).unwrap();
            let provision = emv_session::card_provision(&flow.perso).unwrap();
            issuer.provision(&provision, false).unwrap();
            let card_ref = emv_host::CardRef::new(provision.pan.clone(), Some(&provision.psn));
            let mut pad = ScriptedPinPad::new(flow.pins.iter().copied()).unwrap();
            let start = Instant::now();
            t.power_on().unwrap();
            let outcome = flow
                .kernel
                .run(&mut t, &mut pad, &mut issuer, &flow.params)
                .unwrap();
            let took = start.elapsed();
            let _ = tx.send(Run {
                outcome,
                sent: t.sent,
                pin_granted: t.pin_granted,
                ptc: t.card.inner().card().state().pin_try_counter,
                took,
                open_to_buy: issuer.card_status(&card_ref).unwrap().open_to_buy,
                provisioned: provision.open_to_buy,
            });
        });
        match rx.recv_timeout(limit) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{}: {fault:?} at exchange {at}: the kernel did not return within {limit:?}",
                self.name
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "{}: {fault:?} at exchange {at}: the kernel panicked (see above)",
                self.name
            ),
        }
    }
}

/// TVR byte `byte` (1-based) has any bit of `mask`.
fn tvr_has(o: &Outcome, byte: usize, mask: u8) -> bool {
    o.tvr.0.get(byte - 1).is_some_and(|b| b & mask != 0)
}

/// The kernel's answer to a command that got bytes which are not the card's answer: what
/// EMV 4.4 asks for each command (the others may go either way, but a termination is at
/// the stage of the command).
fn garbage_handled(what: &str, command: &str, stage: Stage, fault: Fault, o: &Outcome) {
    let why = format!("{what}: {:?} {:?}", o.outcome, o.termination_reason);
    if o.outcome == OutcomeKind::Terminated {
        assert_eq!(o.terminated_at, Some(stage), "{why}");
        assert!(
            o.termination_reason.as_ref().is_some_and(|r| !r.is_empty()),
            "{why}"
        );
    }
    let error_sw = fault == Fault::Garbage;
    match command {
        // Book 3 §10.1 (GPO), §10.2 (records of the AFL), §6.5.5.4 (GENERATE AC): an
        // answer that is not the expected one terminates the transaction
        c if c.starts_with("GET PROCESSING OPTIONS")
            || c.starts_with("GENERATE AC")
            || (c.starts_with("READ RECORD") && stage == Stage::ReadApplicationData) =>
        {
            assert_eq!(o.outcome, OutcomeKind::Terminated, "{why}");
        }
        // Book 2 §6.5 / Book 3 §10.3: DDA failed, the transaction goes on
        c if c.starts_with("INTERNAL AUTHENTICATE") => {
            assert_ne!(o.outcome, OutcomeKind::Terminated, "{why}");
            assert!(
                tvr_has(o, 1, 0x08),
                "{why}: TVR {} without 'DDA failed'",
                o.tvr.to_hex()
            );
        }
        // Book 3 §10.9: issuer authentication failed, the transaction goes on
        c if c.starts_with("EXTERNAL AUTHENTICATE") && error_sw => {
            assert_ne!(o.outcome, OutcomeKind::Terminated, "{why}");
            assert!(
                tvr_has(o, 5, 0x40),
                "{why}: TVR {} without 'issuer authentication failed'",
                o.tvr.to_hex()
            );
        }
        // Book 3 §10.10: that script stops, its result says which command failed
        c if c.starts_with("PIN CHANGE") && error_sw => {
            assert_ne!(o.outcome, OutcomeKind::Terminated, "{why}");
            let sr = o.script_results_hex().unwrap_or_default();
            assert!(sr.starts_with("11"), "{why}: script results {sr}");
            assert!(
                tvr_has(o, 5, 0x30),
                "{why}: TVR {} without 'script processing failed'",
                o.tvr.to_hex()
            );
        }
        // Book 3 §10.5.1: an offline PIN the card did not confirm is not verified
        c if c.starts_with("VERIFY") && error_sw => {
            assert!(
                !(o.cvm_performed.name() == "offline-plaintext-pin" && o.cvm_results.0[2] == 0x02),
                "{why}: offline PIN successful in {}",
                o.cvm_results.to_hex()
            );
        }
        // Book 4 §6.3.4.1: a PIN Try Counter that cannot be read does not stop PIN entry
        c if c.starts_with("GET DATA 9F17") => {
            assert!(
                o.decisions
                    .iter()
                    .any(|d| d.text().contains("not retrievable")),
                "{why}: {:#?}",
                o.decisions
            );
        }
        _ => {}
    }
}

/// The host keeps the amount only when the card approved online; an approval the terminal
/// could not complete was reversed (0400) and the host gave the amount back (EMV 4.4
/// Book 4 §12, reversals).
fn money_kept_only_for_approvals(what: &str, flow: &Flow, r: &Run) {
    let o = &r.outcome;
    let approved_by_host = o.host_response_code.is_some_and(|c| c.is_approved());
    if o.outcome == OutcomeKind::OnlineApproved {
        assert_eq!(r.open_to_buy, r.provisioned - flow.params.amount, "{what}");
        assert!(o.reversal.is_none(), "{what}: {:?}", o.reversal);
        return;
    }
    assert_eq!(
        r.open_to_buy, r.provisioned,
        "{what}: {:?} with host {:?} left a debit; reversal {:?}",
        o.outcome, o.host_response_code, o.reversal
    );
    if approved_by_host {
        let rev = o
            .reversal
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no reversal"));
        assert_eq!(
            rev.response_code,
            Some(emv_auth::ResponseCode::APPROVED),
            "{what}"
        );
    } else {
        assert!(o.reversal.is_none(), "{what}: {:?}", o.reversal);
    }
}

fn flows() -> Vec<Flow> {
    vec![
        // offline plaintext PIN, a wrong one then the right one, DDA, TC offline
        Flow::new(
            "offline PIN (visa-cvn18 at pos-attended, 0000 then 1234)",
            "visa-cvn18",
            "pos-attended",
            TransactionType::Purchase,
            2500,
            &["0000", "1234"],
            OutcomeKind::Approved,
        ),
        // online PIN verified by the issuer, ARQC, ARPC through EXTERNAL AUTHENTICATE, TC
        Flow::new(
            "online PIN (visa-cvn18 at atm, cash)",
            "visa-cvn18",
            "atm",
            TransactionType::Cash,
            10000,
            &["1234"],
            OutcomeKind::OnlineApproved,
        ),
        // the chip's offline PIN blocked; the issuer's approval carries PIN UNBLOCK
        Flow::new(
            "ATM unblock script (visa-cvn18, offline PIN blocked, at atm)",
            "visa-cvn18",
            "atm",
            TransactionType::Cash,
            10000,
            &["1234"],
            OutcomeKind::OnlineApproved,
        )
        .with_offline_pin_blocked(),
    ]
}

#[test]
fn a_card_that_misbehaves_at_any_exchange_ends_the_transaction_cleanly() {
    let started = Instant::now();
    let limit = Duration::from_secs(20);
    let mut runs = 0;
    let mut reversals = 0;
    for flow in flows() {
        let clean = flow.run(0, Fault::Garbage, limit);
        let names: Vec<&str> = clean
            .outcome
            .apdus
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            clean.outcome.outcome, flow.clean,
            "{}: clean run {:?}: {names:?}",
            flow.name, clean.outcome.termination_reason
        );
        let n = clean.sent;
        assert_eq!(n, names.len());
        if flow.name.starts_with("ATM unblock") {
            assert!(names.iter().any(|n| n.contains("PIN")), "{names:?}");
            assert_eq!(clean.ptc, 3, "the clean run unblocks");
        }
        eprintln!("{}: {n} exchanges: {names:?}", flow.name);
        let before = flow.state.pin_try_counter;
        for k in 1..=n {
            for fault in FAULTS {
                runs += 1;
                let r = flow.run(k, fault, limit);
                let o = &r.outcome;
                let what = format!(
                    "{}: {fault:?} at exchange {k} ({})",
                    flow.name,
                    names[k - 1]
                );
                let log: Vec<&str> = o.apdus.iter().map(|a| a.name.as_str()).collect();
                // the faulty command is the k-th in every run (the same prefix as the clean run)
                assert!(o.apdus.len() >= k, "{what}: {log:?}");
                assert_eq!(log[k - 1], names[k - 1], "{what}");
                let stage = stage_of(&log[..k]);
                // the PIN Try Counter: never above where it started unless the card granted it
                assert!(
                    r.ptc <= before || r.pin_granted,
                    "{what}: PIN Try Counter {before} -> {} without a PIN the card verified \
                     or an issuer PIN command it accepted",
                    r.ptc
                );
                assert!(r.ptc <= flow.perso.pin_try_limit, "{what}");
                // an approval the terminal could not complete is reversed, and the host
                // finds the answer it gave by STAN, PAN, terminal id, date and RRN
                // (docs/issuer-host.md §5): 00, the amount given back
                if let Some(rev) = &o.reversal {
                    reversals += 1;
                    assert_eq!(
                        rev.response_code.map(|c| c.as_str().to_owned()).as_deref(),
                        Some("00"),
                        "{what}: {rev:?}"
                    );
                }
                if fault.breaks_the_link() {
                    // no answer (or no status word) from the card: the transaction ends here,
                    // at the failed command's stage, and the reason names the command
                    assert_eq!(
                        o.outcome,
                        OutcomeKind::Terminated,
                        "{what}: {:?}, decisions {:#?}",
                        o.termination_reason,
                        o.decisions
                    );
                    assert_eq!(
                        r.sent, k,
                        "{what}: the kernel kept talking to a card that no longer answers: {log:?}"
                    );
                    assert_eq!(o.terminated_at, Some(stage), "{what}");
                    let reason = o.termination_reason.clone().unwrap_or_default();
                    let expect = match fault {
                        Fault::Mute => "card mute",
                        Fault::Removed => "card removed",
                        _ => "malformed response",
                    };
                    assert!(reason.contains(expect), "{what}: reason {reason:?}");
                    assert!(
                        reason.contains(names[k - 1]),
                        "{what}: the reason does not name the command: {reason:?}"
                    );
                } else {
                    garbage_handled(&what, names[k - 1], stage, fault, o);
                }
                money_kept_only_for_approvals(&what, &flow, &r);
                // a mute card costs the reader one waiting time, not one per command
                if fault == Fault::Mute {
                    assert!(r.took < Duration::from_secs(5), "{what}: took {:?}", r.took);
                }
            }
        }
    }
    assert!(reversals > 0, "no fault came after an approval");
    eprintln!(
        "{runs} faulty transactions ({reversals} reversed) in {:?}",
        started.elapsed()
    );
}
