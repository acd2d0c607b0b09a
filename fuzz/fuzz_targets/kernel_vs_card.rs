//! Fuzz the terminal kernel (`emv-kernel`) against a card whose answers come from the input.
//!
//! Input: `mode ‖ options ‖ amount ‖ [host block] ‖ body`.
//! * `mode` bit 0: 0 = **scripted card**: the body is the card's R-APDUs in order, each
//!   `len ‖ bytes` (`len` 0xFF: a two-byte big-endian length follows); once they run out
//!   (or after 150 of them) every command gets `6F00`, or a transport error if `options`
//!   bit 0 is set. 1 = **software card**: a real `emv_card::Card` (profile picked by
//!   `options` bits 0-2) answers and the body is a list of mutations of its answers,
//!   4 bytes each, `exchange ‖ op ‖ a ‖ b` (see [`mutate`]), so the fuzzer reaches the deep
//!   stages (GPO, READ RECORD, ODA, CVM, GENERATE AC, online, issuer scripts) with valid
//!   data around the corrupted byte.
//! * `mode` bits 1-3: terminal profile (one of the built-in ones); bits 4-5: the issuer
//!   (0: the real `emv_host::Issuer` provisioned from the card's profile for the software
//!   card, an approving test host for the scripted card; 1: an approving test host whose
//!   Issuer Authentication Data and script come from the host block, `n ‖ 91 ‖ m ‖ 71/72…`;
//!   2: a declining one; 3: unreachable); bits 6-7: the PIN pad (right PIN; wrong then
//!   right; bypass; four wrong PINs, which block the offline PIN).
//! * `options` (software card) bits 3-4: wrong offline PIN tries already spent on the card
//!   before the transaction; bit 5: the issuer queues a PIN UNBLOCK script first; bit 6:
//!   merchant forced online; bit 7: cash transaction.
//!
//! Invariants: no panic (kernel, card or host); `Kernel::run` returns an outcome (never an
//! error: the parameters are valid) after fewer than 200 transmits (a loop is caught);
//! `apdu_count` is the number of transmits; TVR, TSI and CVM Results have their sizes; a
//! terminated transaction names its stage and reason, any other outcome had a first
//! GENERATE AC answer; an online outcome had an issuer answer; the outcome serialises to
//! JSON; the software card's PIN Try Counter stays within its limit and, with the real
//! issuer, the host still answers for the card with its online PIN tries within the limit;
//! an unmutated software card with the right PIN never ends `terminated`.
#![no_main]

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use emv_apdu::{Transport, TransportError};
use emv_auth::{Host, ResponseCode};
use emv_card::{Card, CardStore, MemoryStore, Personalisation};
use emv_host::{CardProvision, HostKeys, Issuer};
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, OutcomeKind, Profile, ScriptedPinPad, TransactionParams};

/// More transmits than this is a loop: a transaction needs about 30, the scripted card
/// gives at most `MAX_ANSWERS` answers and after that every command fails.
const MAX_TRANSMITS: usize = 200;
const MAX_ANSWERS: usize = 150;

const CARD_PROFILES: [&str; 8] = [
    "visa-cvn18",
    "mc-cvn16",
    "visa-cvn10",
    "visa-cvn22",
    "mc-cvn20",
    "visa-cvn18-enciphered-pin",
    "visa-cvn18-online-pin-first",
    "visa-cvn18-signature",
];

fn kernels() -> &'static [Kernel] {
    static K: OnceLock<Vec<Kernel>> = OnceLock::new();
    K.get_or_init(|| {
        Profile::builtin_names()
            .map(|n| {
                Kernel::new(
                    Profile::builtin(n).expect("built-in profile"),
                    KernelConfig::default(),
                )
            })
            .collect()
    })
}

struct CardProfile {
    perso: Arc<Personalisation>,
    provision: CardProvision,
    pin: String,
}

fn card_profile(i: usize) -> &'static CardProfile {
    static P: [OnceLock<CardProfile>; CARD_PROFILES.len()] = [const { OnceLock::new() }; 8];
    P[i].get_or_init(|| {
        let perso = Arc::new(Personalisation::load(CARD_PROFILES[i], &[]).expect("card profile"));
        let provision = emv_session::card_provision(&perso).expect("provisioning record");
        let pin = perso.source.card.pin.clone();
        CardProfile {
            perso,
            provision,
            pin,
        }
    })
}

/// `KERNEL_VS_CARD_DEBUG=1` prints each outcome object (to see what an input does).
fn debug() -> bool {
    static D: OnceLock<bool> = OnceLock::new();
    *D.get_or_init(|| std::env::var_os("KERNEL_VS_CARD_DEBUG").is_some())
}

/// A fresh real issuer on an in-memory store (about as fast as resetting a shared one, and
/// every input then starts from the same host state).
fn issuer(profile: &CardProfile) -> Issuer {
    let keys = HostKeys::load_test_keys().expect("TEST host keys");
    let issuer = Issuer::in_memory(keys).expect("in-memory issuer");
    issuer
        .provision(&profile.provision, false)
        .expect("provisioning the card");
    issuer
}

/// A card answering from a list of R-APDUs.
struct ScriptedAnswers<'a> {
    answers: Vec<&'a [u8]>,
    next: usize,
    error_when_done: bool,
    transmits: &'a Cell<usize>,
}

impl Transport for ScriptedAnswers<'_> {
    fn transmit(&mut self, _capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        count(self.transmits);
        let r = self.answers.get(self.next).map(|a| a.to_vec());
        self.next += 1;
        match r {
            Some(r) => Ok(r),
            None if self.error_when_done => Err(TransportError::CardRemoved),
            None => Ok(vec![0x6F, 0x00]),
        }
    }
}

fn count(transmits: &Cell<usize>) {
    let n = transmits.get() + 1;
    transmits.set(n);
    assert!(n < MAX_TRANSMITS, "{n} transmits: the kernel loops");
}

/// A software card whose answers are mutated.
struct MutatedCard<'a> {
    card: Card<MemoryStore>,
    mutations: Vec<[u8; 4]>,
    transmits: &'a Cell<usize>,
}

/// Applies mutation `op` (`a`, `b` its arguments) to an answer.
fn mutate(r: &mut Vec<u8>, op: u8, a: u8, b: u8) -> Result<(), TransportError> {
    let at = |len: usize| usize::from(a) % len.max(1);
    match op % 10 {
        // flip bits of one byte
        0 => {
            let i = at(r.len());
            if let Some(x) = r.get_mut(i) {
                *x ^= b | 1;
            }
        }
        // set one byte
        1 => {
            let i = at(r.len());
            if let Some(x) = r.get_mut(i) {
                *x = b;
            }
        }
        // truncate
        2 => r.truncate(usize::from(a) % (r.len() + 1)),
        // replace the status word
        3 => {
            let n = r.len().saturating_sub(2);
            r.truncate(n);
            r.extend_from_slice(&[a, b]);
        }
        // insert a byte
        4 => r.insert(usize::from(a) % (r.len() + 1), b),
        // remove a byte
        5 => {
            if !r.is_empty() {
                let i = at(r.len());
                r.remove(i);
            }
        }
        // the data only, status word 61xx / 6Cxx / 9000 with b as length
        6 => {
            let n = r.len().saturating_sub(2);
            r.truncate(n);
            r.extend_from_slice(&[[0x61, 0x6C, 0x90][usize::from(a) % 3], b]);
        }
        // a length byte of the outer template off by b (signed)
        7 => {
            if let Some(x) = r.get_mut(1) {
                *x = x.wrapping_add(b);
            }
        }
        // duplicate the data (a TLV repeated); not past a long R-APDU (256 data bytes and
        // then some), or repeated duplications of one answer grow it exponentially
        8 => {
            let n = r.len().saturating_sub(2);
            if r.len() + n <= 600 {
                let data = r[..n].to_vec();
                r.splice(0..0, data);
            }
        }
        // the card goes away
        _ => {
            return Err(match a % 3 {
                0 => TransportError::CardRemoved,
                1 => TransportError::CardMute("fuzz".into()),
                _ => TransportError::MalformedResponse("fuzz".into()),
            });
        }
    }
    Ok(())
}

impl Transport for MutatedCard<'_> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let i = self.transmits.get();
        count(self.transmits);
        let mut r = self.card.handle(capdu);
        assert!(r.len() >= 2, "the card gave no status word to {capdu:02X?}");
        for &[at, op, a, b] in &self.mutations {
            if usize::from(at) == i {
                mutate(&mut r, op, a, b)?;
            }
        }
        Ok(r)
    }
}

/// Splits `len ‖ bytes` records (`len` 0xFF: two more length bytes).
fn records(mut rest: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < max {
        let Some((&l, tail)) = rest.split_first() else {
            break;
        };
        let (n, tail) = match (l, tail) {
            (0xFF, [h, l, t @ ..]) => (usize::from(u16::from_be_bytes([*h, *l])), t),
            (0xFF, _) => break,
            (n, t) => (usize::from(n), t),
        };
        let (r, next) = tail.split_at(n.min(tail.len()));
        out.push(r);
        rest = next;
    }
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [mode, options, amount, body @ ..] = data else {
        return;
    };
    let kernels = kernels();
    let kernel = &kernels[usize::from(mode >> 1 & 7) % kernels.len()];
    let software = mode & 1 == 1;
    let host_kind = mode >> 4 & 3;
    let profile = card_profile(usize::from(options & 7));
    let right = profile.pin.as_str();
    let pins: &[&str] = match mode >> 6 {
        0 => &[right],
        1 => &["9999", right],
        2 => &["bypass"],
        _ => &["9999", "9998", "9997", "9996"],
    };
    let mut pinpad = ScriptedPinPad::new(pins).expect("PIN pad entries");
    let cash = software && options & 0x80 != 0;
    let params = TransactionParams {
        amount: u64::from(*amount) * 137,
        transaction_type: if cash {
            emv_auth::TransactionType::Cash
        } else {
            emv_auth::TransactionType::Purchase
        },
        merchant_forced_online: software && options & 0x40 != 0,
        seed: u64::from(*amount),
        ..TransactionParams::default()
    };

    // the host block (host kind 1) comes first in the body
    let mut body = body;
    let real_issuer = (software && host_kind == 0).then(|| issuer(profile));
    let mut host: Box<dyn Host> = match host_kind {
        1 => {
            let parts = records(body, 2);
            let used: usize = parts.iter().map(|p| p.len() + 1).sum();
            body = &body[used.min(body.len())..];
            // an empty part: no Issuer Authentication Data / no script
            let part = |i: usize| parts.get(i).filter(|p| !p.is_empty()).map(|p| p.to_vec());
            Box::new(TestHost::approving(part(0), part(1).into_iter().collect()))
        }
        2 => Box::new(TestHost::declining(ResponseCode::DO_NOT_HONOUR, None)),
        3 => Box::new(TestHost::unreachable()),
        _ if let Some(issuer) = &real_issuer => {
            if options & 0x20 != 0 {
                let card = emv_host::CardRef::new(
                    profile.provision.pan.clone(),
                    Some(&profile.provision.psn),
                );
                issuer.unblock_pin(&card, "fuzz").expect("PIN unblock");
            }
            Box::new(issuer.clone())
        }
        _ => Box::new(TestHost::approving(
            Some(vec![1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30]),
            vec![vec![0x71, 0x09, 0x9F, 0x18, 0x04, 0, 0, 0, 1, 0x86, 0x00]],
        )),
    };

    let transmits = Cell::new(0);
    let unmutated;
    let outcome = if software {
        let mut card = Card::in_memory(profile.perso.clone())
            .expect("card")
            .with_seed(u64::from(*amount));
        let spent = (options >> 3) & 3;
        if spent > 0 {
            let mut state = card.state().clone();
            state.pin_try_counter = state.pin_try_counter.saturating_sub(spent);
            let mut store = MemoryStore::new();
            store.save(&state).expect("memory store");
            card = Card::new(profile.perso.clone(), store)
                .expect("card with spent PIN tries")
                .with_seed(u64::from(*amount));
        }
        let mutations: Vec<[u8; 4]> = body
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect();
        unmutated = mutations.is_empty() && host_kind == 0 && spent == 0 && mode >> 6 == 0;
        let mut t = MutatedCard {
            card,
            mutations,
            transmits: &transmits,
        };
        let out = kernel.run(&mut t, &mut pinpad, &mut host, &params);
        let limit = profile.perso.pin_try_limit;
        assert!(t.card.state().pin_try_counter <= limit);
        out
    } else {
        unmutated = false;
        let mut t = ScriptedAnswers {
            answers: records(body, MAX_ANSWERS),
            next: 0,
            error_when_done: options & 1 == 1,
            transmits: &transmits,
        };
        kernel.run(&mut t, &mut pinpad, &mut host, &params)
    };
    let out = outcome.expect("valid parameters always give an outcome");

    assert_eq!(
        out.apdu_count,
        transmits.get(),
        "apdu_count is not the number of transmits"
    );
    assert_eq!(out.apdus.len(), out.apdu_count);
    assert_eq!(out.tvr.to_hex().len(), 10);
    assert_eq!(out.tsi.to_hex().len(), 4);
    assert_eq!(out.cvm_results.to_hex().len(), 6);
    match out.outcome {
        OutcomeKind::Terminated => {
            assert!(out.terminated_at.is_some() && out.termination_reason.is_some());
        }
        kind => {
            assert!(out.termination_reason.is_none() && out.terminated_at.is_none());
            assert!(
                out.cid_first.is_some(),
                "{} without a GENERATE AC answer",
                kind.name()
            );
            if matches!(
                kind,
                OutcomeKind::OnlineApproved | OutcomeKind::OnlineDeclined
            ) {
                assert!(
                    out.host_response_code.is_some(),
                    "{} without an issuer answer",
                    kind.name()
                );
            }
        }
    }
    if unmutated {
        assert_ne!(
            out.outcome,
            OutcomeKind::Terminated,
            "an unmutated card was terminated: {:?}",
            out.termination_reason
        );
    }
    let json = serde_json::to_string(&out).expect("the outcome serialises");
    if debug() {
        eprintln!("{json}");
    }

    if let Some(issuer) = &real_issuer {
        let card =
            emv_host::CardRef::new(profile.provision.pan.clone(), Some(&profile.provision.psn));
        let view = issuer
            .card_status(&card)
            .expect("the host still answers for the card");
        assert!(view.online_pin_tries_left <= view.online_pin_try_limit);
    }
});
