//! Our kernel through real PC/SC to our card: kernel → `PcscReader` → pcscd → vpcd →
//! `emv_transport::vpcd` → `emv_card::Card`. Needs pcscd with vsmartcard-vpcd running
//! (docs/virtual-reader.md §8) and the `pcsc` feature (`cargo test -p emvbench-tests --features
//! pcsc`). Without pcscd the tests say so on stderr and pass, unless
//! `EMVBENCH_REQUIRE_PCSC=1` (CI), which makes them fail instead.
#![cfg(feature = "pcsc")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::Write as _;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use emv_apdu::{Transport, TransportError, exchange};
use emv_card::{Card, MemoryStore, Personalisation, profile};
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionParams};
use emv_transport::InProcessCard;
use emv_transport::pcsc::{PcscReader, ReaderSelector, list_readers};
use emv_transport::vpcd::{self, Backoff, EchoCard, Link, SessionEnd, Shutdown, VirtualCard};

const VPCD: &str = "127.0.0.1:35963";
/// pcscd polls every 400 ms; insertion and removal show within ~0.4 s (docs/virtual-reader.md §7).
const SEEN: Duration = Duration::from_secs(3);

/// vpcd's slots are machine-wide: one test at a time uses them.
static SLOTS: Mutex<()> = Mutex::new(());

/// Takes the slots if pcscd and vpcd are there; otherwise skips loudly (or fails under
/// `EMVBENCH_REQUIRE_PCSC=1`).
fn pcsc_or_skip(test: &str) -> Option<MutexGuard<'static, ()>> {
    let guard = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
    let why = match list_readers() {
        Ok(r)
            if r.iter()
                .filter(|r| r.name.starts_with("Virtual PCD"))
                .count()
                >= 2 =>
        {
            return Some(guard);
        }
        Ok(r) => format!(
            "pcscd has no vpcd readers (install vsmartcard-vpcd, restart pcscd); readers: {:?}",
            r.iter().map(|r| &r.name).collect::<Vec<_>>()
        ),
        Err(e) => e.to_string(),
    };
    if std::env::var("EMVBENCH_REQUIRE_PCSC").is_ok_and(|v| v == "1") {
        panic!("{test}: EMVBENCH_REQUIRE_PCSC=1 but PC/SC is not usable: {why}");
    }
    // straight to stderr: the test harness captures eprintln! of passing tests
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: PC/SC is not usable: {why}\n*** (set EMVBENCH_REQUIRE_PCSC=1 to make this a failure)\n"
    );
    None
}

fn reader_name(slot: u16) -> String {
    // vpcd's readers, one per slot (docs/virtual-reader.md §1)
    format!("Virtual PCD 00 {slot:02}")
}

/// A card served into vpcd slot `slot` by a thread of this process; taken out again when
/// dropped, so a failing test leaves the slot empty for the next one.
struct Served<C: VirtualCard + Send + 'static> {
    stop: Shutdown,
    thread: Option<JoinHandle<C>>,
    slot: u16,
}

fn insert<C: VirtualCard + Send + 'static>(mut card: C, slot: u16) -> Served<C> {
    assert!(
        reader(slot).wait_for_card(false, SEEN).unwrap(),
        "{} is not empty: another card (another test run?) is using vpcd slot {slot}",
        reader_name(slot)
    );
    let stop = Shutdown::new();
    let s2 = stop.clone();
    let addr = vpcd::slot_address(VPCD, slot).unwrap();
    let thread = thread::spawn(move || {
        vpcd::serve(&mut card, &addr, &s2, Backoff::default()).unwrap();
        card
    });
    let served = Served {
        stop,
        thread: Some(thread),
        slot,
    };
    assert!(
        reader(slot).wait_for_card(true, SEEN).unwrap(),
        "the card did not show up in {}",
        reader_name(slot)
    );
    served
}

impl<C: VirtualCard + Send + 'static> Served<C> {
    /// Pulls the card out and waits until pcscd has seen it go.
    fn remove(mut self) -> C {
        self.stop.trigger();
        let card = self.thread.take().unwrap().join().unwrap();
        assert!(reader(self.slot).wait_for_card(false, SEEN).unwrap());
        card
    }
}

impl<C: VirtualCard + Send + 'static> Drop for Served<C> {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            let _ = reader(self.slot).wait_for_card(false, SEEN);
        }
    }
}

fn reader(slot: u16) -> PcscReader {
    PcscReader::select(&ReaderSelector::Name(reader_name(slot))).unwrap()
}

fn card(profile: &str) -> Card<MemoryStore> {
    let p = Arc::new(Personalisation::load(profile, &[]).unwrap());
    Card::in_memory(p).unwrap().with_seed(3)
}

fn transaction<T: Transport>(
    t: &mut T,
    terminal: &str,
    pins: &[&str],
    host: &mut TestHost,
) -> Outcome {
    t.power_on().unwrap();
    let kernel = Kernel::new(Profile::load(terminal).unwrap(), KernelConfig::default());
    let mut pinpad = ScriptedPinPad::new(pins.iter().copied()).unwrap();
    kernel
        .run(t, &mut pinpad, host, &TransactionParams::purchase(2500))
        .unwrap()
}

/// The issuer host (embedded, in memory) provisioned from the card's profile.
fn issuer(profile: &str) -> emv_host::Issuer {
    let perso = Personalisation::load(profile, &[]).unwrap();
    let issuer =
        emv_host::Issuer::in_memory(emv_host::HostKeys::load_test_keys().unwrap()).unwrap();
    issuer
        .provision(&emv_session::card_provision(&perso).unwrap(), false)
        .unwrap();
    issuer
}

/// Cash at an ATM with PIN 1234 (online PIN) and `issuer` answering.
fn atm_cash<T: Transport>(t: &mut T, issuer: &mut emv_host::Issuer) -> Outcome {
    t.power_on().unwrap();
    let kernel = Kernel::new(Profile::load("atm").unwrap(), KernelConfig::default());
    let mut pinpad = ScriptedPinPad::new(["1234"]).unwrap();
    let params = TransactionParams {
        transaction_type: emv_auth::TransactionType::Cash,
        ..TransactionParams::purchase(5000)
    };
    kernel.run(t, &mut pinpad, issuer, &params).unwrap()
}

#[test]
fn every_card_profile_completes_the_same_transaction_as_in_process() {
    let Some(_slots) = pcsc_or_skip("every_card_profile_completes_the_same_transaction") else {
        return;
    };
    let profiles = profile::available_profiles();
    assert!(profiles.len() >= 5, "{profiles:?}");
    for name in &profiles {
        let c = card(name);
        let pin = c.personalisation().source.card.pin.clone();
        // the reference: the same card and kernel in-process
        let mut local = InProcessCard::new(card(name));
        let want = transaction(
            &mut local,
            "pos-attended",
            &[&pin],
            &mut TestHost::unreachable(),
        );

        let served = insert(c, 0);
        let mut r = reader(0);
        let got = transaction(
            &mut r,
            "pos-attended",
            &[&pin],
            &mut TestHost::unreachable(),
        );
        // the ATR offers T=0 only (EMV basic ATR), so that is what pcscd picks
        assert!(r.protocol().is_some());
        drop(r);
        let c = served.remove();

        assert_ne!(
            got.outcome.name(),
            "terminated",
            "{name}: {:?}",
            got.termination_reason
        );
        // PC/SC is transparent: byte for byte the same exchanges and the same result
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::to_value(&want).unwrap(),
            "{name}"
        );
        assert_eq!(c.state().atc, local.card().state().atc, "{name}");
        eprintln!(
            "{name}: {} in {} APDUs through pcscd + vpcd",
            got.outcome.name(),
            got.apdu_count
        );
    }
}

#[test]
fn three_wrong_offline_pins_block_the_pin_and_it_stays_blocked_across_insertions() {
    let Some(_slots) = pcsc_or_skip("three_wrong_offline_pins_block_the_pin") else {
        return;
    };
    let served = insert(card("visa-cvn18"), 0);
    let mut r = reader(0);
    let mut host = TestHost::unreachable();
    let o = transaction(&mut r, "pos-attended", &["9999", "9999", "9999"], &mut host);
    // TVR byte 3 b6: PIN Try Limit exceeded (EMV 4.4 Book 3 Annex C5)
    let b3 = u8::from_str_radix(&o.tvr.to_hex()[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "TVR {}", o.tvr.to_hex());
    assert_eq!(
        o.apdus
            .iter()
            .filter(|a| a.name.starts_with("VERIFY"))
            .count(),
        3
    );
    drop(r);
    // out of the reader and back in: the counter is persistent state, not volatile
    let c = served.remove();
    assert_eq!(c.state().pin_try_counter, 0);
    let served = insert(c, 0);
    let mut r = reader(0);
    let o = transaction(&mut r, "pos-attended", &["1234"], &mut host);
    let b3 = u8::from_str_radix(&o.tvr.to_hex()[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "still blocked: TVR {}", o.tvr.to_hex());
    assert!(
        !o.apdus.iter().any(|a| a.name.starts_with("VERIFY")),
        "no VERIFY once 9F17 reads 0 (Book 4 §6.3.4.1)"
    );
    // the card answers GET DATA 9F17 = 0 directly too
    let ptc = exchange(&mut r, &[0x80, 0xCA, 0x9F, 0x17, 0x00]).unwrap();
    assert_eq!(ptc.data, [0x9F, 0x17, 0x01, 0x00]);
    drop(r);
    let c = served.remove();
    assert_eq!(c.state().pin_try_counter, 0);

    // and unblocked: an ATM transaction through the reader, the online PIN verified by the
    // issuer host provisioned from the same profile, whose answer carries the PIN UNBLOCK
    // script (docs/pin.md §6.2)
    let served = insert(c, 0);
    let mut r = reader(0);
    let o = atm_cash(&mut r, &mut issuer("visa-cvn18"));
    assert_eq!(
        o.outcome.name(),
        "online-approved",
        "{:?}",
        o.termination_reason
    );
    assert_eq!(o.online_pin.map(|p| p.name()), Some("verified"));
    assert!(
        o.script_results_hex().is_some_and(|s| s.starts_with("20")),
        "script results {:?}",
        o.script_results
    );
    drop(r);
    assert_eq!(
        served.remove().state().pin_try_counter,
        3,
        "unblocked by the script"
    );
}

/// Answers like the card until `after` APDUs, then gives no answer once: vpcd takes that
/// as card removal and closes the link (docs/virtual-reader.md §3).
struct PulledOut {
    card: Card<MemoryStore>,
    after: usize,
    seen: usize,
}

impl VirtualCard for PulledOut {
    fn atr(&self) -> Vec<u8> {
        self.card.atr().to_vec()
    }
    fn power_on(&mut self) {
        VirtualCard::power_on(&mut self.card);
    }
    fn reset(&mut self) {
        VirtualCard::reset(&mut self.card);
    }
    fn power_off(&mut self) {
        VirtualCard::power_off(&mut self.card);
    }
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        self.seen += 1;
        if self.seen == self.after {
            return Vec::new();
        }
        VirtualCard::transmit(&mut self.card, capdu)
    }
}

/// Puts `card` into vpcd slot 0 over one link (no reconnect: once vpcd has ejected it, it
/// stays out), runs `transaction` through `r` with the card pulled out at exchange `k`, and
/// checks that the transaction ends cleanly: terminated at the stage of exchange `k`, the
/// reason naming the removal and the command, within a bounded time, no command after the
/// failed one. Then checks that the reader is not stuck: it sees the slot empty, says "no
/// card" instead of hanging, and once the card is back the same reader object runs a fresh
/// transaction to the end. Returns the card as the pull left it and as the fresh
/// transaction left it.
fn pull_at(
    r: &mut PcscReader,
    card: Card<MemoryStore>,
    k: usize,
    names: &[String],
    transaction: &mut dyn FnMut(&mut PcscReader) -> Outcome,
) -> (emv_card::CardState, Card<MemoryStore>) {
    let what = format!("pulled at exchange {k} ({})", names[k - 1]);
    let mut pulled = PulledOut {
        card,
        after: k,
        seen: 0,
    };
    let stop = Shutdown::new();
    let s2 = stop.clone();
    let link = thread::spawn(move || {
        let mut link = Link::connect(VPCD).unwrap();
        let end = link.serve(&mut pulled, &s2).unwrap();
        (end, pulled)
    });
    assert!(r.wait_for_card(true, SEEN).unwrap(), "{what}: not inserted");
    let t = Instant::now();
    let o = transaction(r);
    let took = t.elapsed();
    stop.trigger(); // a no-op unless the card was not pulled
    let (end, pulled) = link.join().unwrap();
    let log: Vec<&str> = o.apdus.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        o.outcome.name(),
        "terminated",
        "{what}: {:?} {log:?}",
        o.termination_reason
    );
    let reason = o.termination_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("card removed") && reason.contains(&names[k - 1]),
        "{what}: the reason names neither the removal nor the command: {reason}"
    );
    assert_eq!(
        o.terminated_at,
        Some(emvbench_tests::stage_of(&names[..k])),
        "{what}: {reason}"
    );
    assert_eq!(log, names[..k], "{what}: the exchanges up to the pull");
    assert!(took < Duration::from_secs(3), "{what}: {took:?}");
    assert_eq!(end, SessionEnd::NoAnswer, "{what}: the card left");
    assert_eq!(pulled.seen, k, "{what}: no command after the failed one");
    let state = pulled.card.state().clone();
    // the reader is not stuck: the slot is seen empty, and nothing in it is a clear error
    assert!(
        r.wait_for_card(false, SEEN).unwrap(),
        "{what}: still present"
    );
    assert_eq!(
        r.power_on().unwrap_err(),
        TransportError::NoCard,
        "{what}: after the pull"
    );
    // put the card back: the same reader object runs a fresh transaction to the end
    let served = insert(pulled.card, 0);
    let o = transaction(r);
    assert_ne!(
        o.outcome.name(),
        "terminated",
        "{what}: the next transaction: {:?}",
        o.termination_reason
    );
    (state, served.remove())
}

/// The index (1-based) of the `nth` (1-based) command whose name starts with `prefix`.
fn nth(names: &[String], prefix: &str, nth: usize) -> usize {
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with(prefix))
        .nth(nth - 1)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("no {prefix} #{nth} in {names:?}"))
}

/// The card pulled out of the reader at every exchange of a full ATM transaction through
/// pcscd and vpcd (scenario 01's unblock: the chip's offline PIN blocked, online PIN, ARQC,
/// ARPC, the issuer's PIN UNBLOCK script), and at the PIN steps of an offline PIN
/// transaction at a shop (a wrong PIN, then the right one). Every time: a clean outcome
/// naming the removal, the chip's PIN Try Counter where the commands it received put it,
/// and the reader not stuck (the next transaction on the re-inserted card completes).
#[test]
fn card_pulled_at_every_step_terminates_cleanly_and_the_reader_recovers() {
    let Some(_slots) = pcsc_or_skip("card_pulled_at_every_step") else {
        return;
    };
    let started = Instant::now();
    let mut r = reader(0);
    let blocked = || {
        let mut c = InProcessCard::new(card("visa-cvn18"));
        transaction(
            &mut c,
            "pos-offline-only",
            &["9999", "9999", "9999"],
            &mut TestHost::unreachable(),
        );
        assert_eq!(c.card().state().pin_try_counter, 0);
        c.into_card()
    };

    // the ATM: the clean run gives the exchanges
    let served = insert(blocked(), 0);
    let clean = atm_cash(&mut r, &mut issuer("visa-cvn18"));
    assert_eq!(clean.outcome.name(), "online-approved");
    assert_eq!(served.remove().state().pin_try_counter, 3);
    let names: Vec<String> = clean.apdus.iter().map(|a| a.name.clone()).collect();
    // the second GENERATE AC applies the ARPC's Card Status Update (PIN Try Counter reset,
    // Book 3 Annex C10); the script in template 72 comes after it
    let second_gen_ac = nth(&names, "GENERATE AC", 2);
    assert!(
        names[second_gen_ac..]
            .iter()
            .any(|n| n.starts_with("PIN CHANGE/UNBLOCK"))
    );
    for k in 1..=names.len() {
        let mut host = issuer("visa-cvn18");
        let (pulled, after) = pull_at(&mut r, blocked(), k, &names, &mut |r| {
            atm_cash(r, &mut host)
        });
        // the card never received command k: unblocked only if it got the second
        // GENERATE AC; the next transaction (the same issuer) unblocks it in any case
        let want = if k > second_gen_ac { 3 } else { 0 };
        assert_eq!(pulled.pin_try_counter, want, "ATM pulled at exchange {k}");
        assert_eq!(
            after.state().pin_try_counter,
            3,
            "ATM pulled at {k}, then again"
        );
    }
    let (atm, atm_pulls) = (started.elapsed(), names.len());

    // the shop: pulled at GET DATA 9F17, at each VERIFY and at GENERATE AC
    let shop = |r: &mut PcscReader| {
        transaction(
            r,
            "pos-attended",
            &["0000", "1234"],
            &mut TestHost::unreachable(),
        )
    };
    let served = insert(card("visa-cvn18"), 0);
    let clean = shop(&mut r);
    assert_eq!(clean.outcome.name(), "approved");
    served.remove();
    let names: Vec<String> = clean.apdus.iter().map(|a| a.name.clone()).collect();
    let (wrong, right) = (nth(&names, "VERIFY", 1), nth(&names, "VERIFY", 2));
    for k in [
        nth(&names, "GET DATA 9F17", 1),
        wrong,
        right,
        nth(&names, "GENERATE AC", 1),
    ] {
        let (pulled, after) = pull_at(&mut r, card("visa-cvn18"), k, &names, &mut |r| shop(r));
        // only the wrong PIN, received and not followed by the right one, costs a try
        let want = if k == right { 2 } else { 3 };
        assert_eq!(pulled.pin_try_counter, want, "shop pulled at exchange {k}");
        assert_eq!(
            after.state().pin_try_counter,
            3,
            "shop pulled at {k}, then again"
        );
    }
    eprintln!(
        "card pulled at each of {atm_pulls} exchanges of the ATM transaction in {atm:?}, at 4 \
         of the shop's, {:?} in all",
        started.elapsed()
    );
    drop(r);
}

#[test]
fn sharing_violation_no_card_and_unknown_reader_are_clear_errors() {
    let Some(_slots) = pcsc_or_skip("sharing_violation_no_card_and_unknown_reader") else {
        return;
    };
    // nothing in slot 1
    let e = PcscReader::open(&reader_name(1)).unwrap_err();
    assert!(
        matches!(e, emv_transport::Error::Transport(TransportError::NoCard)),
        "{e}"
    );
    let e = PcscReader::open("no such reader").unwrap_err().to_string();
    assert!(
        e.contains("no such reader") && e.contains("Virtual PCD 00 00"),
        "{e}"
    );
    let e = PcscReader::open("99").unwrap_err().to_string();
    assert!(e.contains("99"), "{e}");

    let served = insert(card("visa-cvn18"), 0);
    // another application takes the card exclusively
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    let name = std::ffi::CString::new(reader_name(0)).unwrap();
    let exclusive = ctx
        .connect(&name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
        .unwrap();
    let e = PcscReader::open("0").unwrap_err();
    assert!(
        matches!(
            e,
            emv_transport::Error::Transport(TransportError::SharingViolation(_))
        ),
        "{e}"
    );
    let listed = list_readers().unwrap();
    assert!(listed[0].exclusive && listed[0].card_present, "{listed:?}");
    drop(exclusive);
    // released: we get it
    let mut r = PcscReader::open("0").unwrap();
    assert_eq!(r.atr(), emv_card::ATR);
    let fci = exchange(&mut r, b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00").unwrap();
    assert_eq!(fci.sw, emv_apdu::StatusWord::Success);
    drop(r);
    served.remove();
}

#[test]
fn two_cards_in_two_slots_at_once() {
    let Some(_slots) = pcsc_or_skip("two_cards_in_two_slots_at_once") else {
        return;
    };
    let stop = Shutdown::new();
    let s2 = stop.clone();
    let server = thread::spawn(move || {
        let mut cards: Vec<Box<dyn VirtualCard + Send>> =
            vec![Box::new(card("visa-cvn18")), Box::new(card("mc-cvn16"))];
        vpcd::serve_slots(&mut cards, VPCD, &s2, Backoff::default()).unwrap();
        cards
    });
    for slot in [0, 1] {
        assert!(reader(slot).wait_for_card(true, SEEN).unwrap());
    }
    let listed = list_readers().unwrap();
    for slot in [0, 1] {
        let l = listed.iter().find(|r| r.name == reader_name(slot)).unwrap();
        assert_eq!(l.atr.as_deref(), Some(&emv_card::ATR[..]));
    }
    let mut a = reader(0);
    let mut b = reader(1);
    let oa = transaction(
        &mut a,
        "pos-attended",
        &["1234"],
        &mut TestHost::unreachable(),
    );
    let ob = transaction(
        &mut b,
        "pos-attended",
        &["1234"],
        &mut TestHost::unreachable(),
    );
    assert_eq!(
        oa.aid.as_deref().map(emv_tlv::hex::encode).as_deref(),
        Some("A0000000031010")
    );
    assert_eq!(
        ob.aid.as_deref().map(emv_tlv::hex::encode).as_deref(),
        Some("A0000000041010")
    );
    drop((a, b));
    stop.trigger();
    server.join().unwrap();
    for slot in [0, 1] {
        assert!(reader(slot).wait_for_card(false, SEEN).unwrap());
    }
}

/// Median round trip of `apdu` in microseconds over `n` exchanges.
fn median_us(r: &mut PcscReader, apdu: &[u8], n: usize) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            r.transmit(apdu).unwrap();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

#[test]
fn apdu_round_trip_is_close_to_a_trivial_echo_card() {
    let Some(_slots) = pcsc_or_skip("apdu_round_trip_is_close_to_a_trivial_echo_card") else {
        return;
    };
    let ours = insert(card("visa-cvn18"), 0);
    let echo = insert(EchoCard, 1);
    let mut a = reader(0);
    let mut b = reader(1);
    a.power_on().unwrap();
    b.power_on().unwrap();
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0x00,
    ];
    // warm up, then interleave batches so that load from other jobs hits both alike
    median_us(&mut a, &select, 50);
    median_us(&mut b, &select, 50);
    let (mut ma, mut mb) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ma.push(median_us(&mut a, &select, 300));
        mb.push(median_us(&mut b, &select, 300));
    }
    ma.sort_by(f64::total_cmp);
    mb.sort_by(f64::total_cmp);
    let (ours_us, echo_us) = (ma[2], mb[2]);
    eprintln!(
        "SELECT round trip through pcscd + vpcd: our card {ours_us:.0} µs, echo card {echo_us:.0} µs (×{:.2})",
        ours_us / echo_us
    );
    // no Nagle / delayed-ACK stall (44 ms without TCP_QUICKACK, docs/virtual-reader.md §4)
    assert!(ours_us < 5_000.0, "{ours_us} µs per APDU");
    assert!(echo_us < 5_000.0, "{echo_us} µs per APDU");
    drop((a, b));
    ours.remove();
    echo.remove();
}

#[test]
fn bench_pcsc_measures_our_card_next_to_an_echo_card_and_full_transactions() {
    let Some(_slots) =
        pcsc_or_skip("bench_pcsc_measures_our_card_next_to_an_echo_card_and_full_transactions")
    else {
        return;
    };
    let (ms, target) = emv_session::bench::pcsc_section(&emv_session::bench::BenchOptions {
        quick: true,
        ..Default::default()
    })
    .unwrap();
    // every transaction completed (an error otherwise), both round trips were timed
    assert_eq!(ms.len(), 3, "{ms:?}");
    assert!(
        ms.iter()
            .all(|m| m.group == "pcsc" && m.iterations > 0 && m.mean_ns > 0.0)
    );
    assert!(
        ms[0].name.contains("our card") && ms[1].name.contains("echo card"),
        "{ms:?}"
    );
    assert!(ms[2].unit == "transaction", "{ms:?}");
    // the target line names both medians and their ratio (whether it is met is the bench's
    // to report, not a timed test's)
    assert!(
        target.measured.contains("our card") && target.measured.contains('×'),
        "{}",
        target.measured
    );
    // the slots are empty again for the next test
    for slot in [0, 1] {
        assert!(reader(slot).wait_for_card(false, SEEN).unwrap());
    }
}
