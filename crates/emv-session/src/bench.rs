//! `emvbench bench`: the quick, dependency-free throughput summary (BENCHMARKS.md).
//!
//! Every measurement is a plain [`Instant`] loop: a warm-up, then N timed iterations, any
//! state setup (a fresh card, a blocked PIN, a new session when the ATC would run out)
//! done *outside* the timed part. Each reports its mean time and operations per second.
//!
//! - TLV parse of a full card's records (every record, FCI and directory record of a
//!   profile, parsed recursively);
//! - [`Card::handle`] per command (SELECT, GPO, READ RECORD, GET DATA, VERIFY, GENERATE AC);
//! - full in-process transactions ([`Session::transact`]: card + kernel + embedded
//!   in-memory issuer host): offline PIN at `pos-attended` with a DDA card and with an SDA
//!   card, online PIN with ARQC/ARPC at the `atm`, and an ATM PIN unblock with an issuer
//!   script;
//! - the cryptographic floor of the online-PIN transaction ([`crypto_floor_ops`] lists
//!   what is counted) and of the SDA offline-PIN one ([`sda_floor_ops`]), and each
//!   transaction's overhead as a ratio of its floor;
//! - trace replay throughput (SELECT / READ RECORD / GPO exchanges of a recorded trace);
//! - the issuer host alone: online-PIN + ARQC authorisations per second in-process, on a
//!   SQLite file (`sync=full` and `normal`, 1 and 16 callers, with the CPU time of each:
//!   one core's rate) and in memory;
//! - resident memory before and after a long run of transactions.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod host;
mod network;
#[cfg(feature = "pcsc")]
mod pcsc;
mod peers;

pub use host::process_cpu_time;
pub use peers::{PeerComparison, PeerOptions};

use emv_card::{Card, MemoryStore, Personalisation, static_data_to_authenticate};
use emv_crypto::cryptogram::{
    AcData, ArpcResponse, generate_ac, generate_arpc, verify_ac, verify_issuer_authentication_data,
};
use emv_crypto::keys::{AesKey, TdesKey};
use emv_crypto::oda::{self, CaKeyStore, YearMonth, test_keys};
use emv_crypto::pinblock::{self, Fill, Pin};
use emv_crypto::pvv;
use emv_host::{HostKeys, Issuer};
use emv_kernel::{Kernel, KernelConfig, OutcomeKind, Profile, ScriptedPinPad, TransactionParams};
use emv_tlv::tag::Tag;
use emv_transport::trace::{Event, Line, Trace, card_for_trace, replay_against_card};
use serde::Serialize;

use crate::SessionError;
use crate::card::{CardSlot, CardSpec};
use crate::issuer::IssuerLink;
use crate::session::Session;

/// The card profile every measurement uses (Visa CVN 18, DDA, offline PIN first), except
/// the SDA flow.
pub const CARD_PROFILE: &str = "visa-cvn18";
/// The card of [`Flow::OfflinePinSda`] (Visa CVN 10, SDA only, offline PIN first): no
/// private-key RSA on the card, so its transaction shows what the bench itself costs.
pub const SDA_CARD_PROFILE: &str = "visa-cvn10";
/// Its PIN.
const PIN: &str = "1234";
/// A wrong PIN.
const WRONG_PIN: &str = "9999";
/// The recorded trace whose non-cryptographic exchanges are replayed.
pub const REPLAY_TRACE: &str = "apdu-traces/02-online-pin-blocked-every-channel.trace";
const REPLAY_TRACE_TEXT: &str =
    include_str!("../../../apdu-traces/02-online-pin-blocked-every-channel.trace");
/// A card's ATC is 2 bytes: a session is renewed before this many transactions.
const TRANSACTIONS_PER_CARD: u64 = 50_000;

/// How long a run is.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Fewer iterations (about 10× fewer): a smoke run of a few seconds.
    pub quick: bool,
    /// Transactions in the memory run, instead of 100,000 (10,000 when `quick`).
    pub memory_transactions: Option<u64>,
    /// Also time the peers (OpenSSL, pyemv/psec) on the `crypto` group's operations.
    pub peers: Option<PeerOptions>,
    /// Also measure the host on this PostgreSQL database (`postgres://…`; it gains test
    /// cards): one node and two nodes, next to SQLite, in the same run.
    pub postgres: Option<String>,
    /// Also measure PC/SC: the APDU round trip through pcscd + vpcd to our card and to an
    /// echo card, and full transactions through PC/SC (feature `pcsc`; pcscd running).
    pub pcsc: bool,
}

impl BenchOptions {
    fn n(&self, full: u64) -> u64 {
        if self.quick {
            (full / 10).max(10)
        } else {
            full
        }
    }
}

/// One measured operation.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Group (`tlv`, `card.handle`, `transaction`, `crypto-floor`, `crypto`, `replay`,
    /// `host`).
    pub group: String,
    /// What was measured.
    pub name: String,
    /// The unit of one operation (`record set`, `command`, `transaction`, `APDU`).
    pub unit: String,
    /// Timed operations.
    pub iterations: u64,
    /// Mean time per operation, nanoseconds.
    pub mean_ns: f64,
    /// Operations per second (1e9 / mean).
    pub ops_per_sec: f64,
}

/// Resident memory over a long run of transactions.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRun {
    /// What ran.
    pub what: String,
    /// Transactions run.
    pub transactions: u64,
    /// VmRSS after the warm-up, before the run, KiB.
    pub rss_before_kib: u64,
    /// VmRSS at the end of the run, KiB.
    pub rss_after_kib: u64,
    /// Largest VmRSS sampled during the run, KiB.
    pub rss_max_kib: u64,
}

/// A throughput target (BENCHMARKS.md) and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// The target in words.
    pub target: String,
    /// The measured value in words.
    pub measured: String,
    /// Met.
    pub met: bool,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `--quick`.
    pub quick: bool,
    /// The card profile.
    pub card_profile: String,
    /// The card profile of the SDA flow.
    pub sda_card_profile: String,
    /// The measurements, in order.
    pub measurements: Vec<Measurement>,
    /// The cryptographic operations counted in the online-PIN floor.
    pub crypto_floor_ops: Vec<String>,
    /// Online-PIN transaction time / its cryptographic floor.
    pub online_pin_overhead_ratio: f64,
    /// The cryptographic operations counted in the SDA offline-PIN floor.
    pub sda_floor_ops: Vec<String>,
    /// SDA offline-PIN transaction time / its cryptographic floor.
    pub offline_sda_overhead_ratio: f64,
    /// The memory run.
    pub memory: MemoryRun,
    /// The throughput targets.
    pub targets: Vec<TargetCheck>,
    /// The `crypto` group next to other implementations (`--peers`; empty otherwise).
    pub peers: Vec<PeerComparison>,
}

impl BenchReport {
    /// The measurement named `name` in `group`.
    pub fn get(&self, group: &str, name: &str) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.group == group && m.name == name)
    }
}

/// The `pcsc` group alone (`bench --pcsc`): the APDU round trip through pcscd + vpcd to
/// our card and to an echo card, full transactions through PC/SC, and the target.
#[cfg(feature = "pcsc")]
pub fn pcsc_section(opts: &BenchOptions) -> Result<(Vec<Measurement>, TargetCheck), SessionError> {
    pcsc::pcsc_section(opts)
}

#[cfg(feature = "pcsc")]
fn pcsc_preflight() -> Result<(), SessionError> {
    pcsc::preflight()
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_section(_opts: &BenchOptions) -> Result<(Vec<Measurement>, TargetCheck), SessionError> {
    Err(pcsc_unavailable())
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_preflight() -> Result<(), SessionError> {
    Err(pcsc_unavailable())
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_unavailable() -> SessionError {
    input(
        "bench --pcsc needs a build with PC/SC: cargo run --release --features emvbench/pcsc \
         -- bench --pcsc (libpcsclite-dev and pkg-config to build, pcscd with \
         vsmartcard-vpcd to run: docs/virtual-reader.md)",
    )
}

fn input(msg: impl Into<String>) -> SessionError {
    SessionError::Input(msg.into())
}

fn measurement(
    group: &str,
    name: &str,
    unit: &str,
    iterations: u64,
    total: Duration,
) -> Measurement {
    let mean_ns = total.as_nanos() as f64 / iterations.max(1) as f64;
    Measurement {
        group: group.into(),
        name: name.into(),
        unit: unit.into(),
        iterations,
        mean_ns,
        ops_per_sec: if mean_ns > 0.0 { 1e9 / mean_ns } else { 0.0 },
    }
}

/// Times `iters` calls of `f` in one loop after `warm` untimed calls.
fn time_loop(
    warm: u64,
    iters: u64,
    mut f: impl FnMut() -> Result<(), SessionError>,
) -> Result<Duration, SessionError> {
    for _ in 0..warm {
        f()?;
    }
    let start = Instant::now();
    for _ in 0..iters {
        f()?;
    }
    Ok(start.elapsed())
}

/// Times only the part of each iteration that `f` times itself (it gets the setup done
/// first, and returns the duration of its timed part).
fn time_each(
    warm: u64,
    iters: u64,
    mut f: impl FnMut() -> Result<Duration, SessionError>,
) -> Result<Duration, SessionError> {
    for _ in 0..warm {
        f()?;
    }
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += f()?;
    }
    Ok(total)
}

/// Runs the whole bench.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, SessionError> {
    // what needs a reader fails now, not after a minute of measuring
    if opts.pcsc {
        pcsc_preflight()?;
    }
    let perso = Arc::new(Personalisation::load(CARD_PROFILE, &[])?);
    let mut ms = Vec::new();

    ms.push(tlv_parse(&perso, opts)?);
    ms.extend(card_commands(&perso, opts)?);

    let offline = full_transaction(Flow::OfflinePin, opts)?;
    let offline_sda = full_transaction(Flow::OfflinePinSda, opts)?;
    let online = full_transaction(Flow::OnlinePin, opts)?;
    let unblock = full_transaction(Flow::AtmUnblock, opts)?;
    let mut floors = crypto_floor(&perso, opts)?;
    let sda_floor = crypto_floor_sda(opts)?;
    let floor = floors
        .first()
        .cloned()
        .ok_or_else(|| input("no crypto floor measured"))?;
    let replay = trace_replay(opts)?;
    let primitives = peers::primitives(opts)?;
    let peers = opts
        .peers
        .as_ref()
        .map(|p| peers::compare(&primitives, p, opts.quick))
        .unwrap_or_default();
    let ratio = online.mean_ns / floor.mean_ns.max(1.0);
    let sda_ratio = offline_sda.mean_ns / sda_floor.mean_ns.max(1.0);
    floors.push(sda_floor);
    let host = host::host_authorisations(opts)?;
    let network = network::network_authorisations(opts)?;
    let memory = memory_run(opts)?;

    let growth = memory.rss_after_kib.saturating_sub(memory.rss_before_kib);
    let mut targets = vec![
        TargetCheck {
            target: "≥ 20,000 full in-process transactions/s on one core (offline PIN, SDA card)"
                .into(),
            measured: format!("{:.0}/s", offline_sda.ops_per_sec),
            met: offline_sda.ops_per_sec >= 20_000.0,
        },
        TargetCheck {
            target: "≥ 20,000 full in-process transactions/s on one core (each DDA flow: \
                     bounded by the card's RSA-768 signature, see crypto-floor)"
                .into(),
            measured: format!(
                "offline PIN {:.0}/s, online PIN {:.0}/s, ATM unblock {:.0}/s",
                offline.ops_per_sec, online.ops_per_sec, unblock.ops_per_sec
            ),
            met: [&offline, &online, &unblock]
                .iter()
                .all(|m| m.ops_per_sec >= 20_000.0),
        },
        TargetCheck {
            target: "online-PIN transaction ≤ 3× its cryptographic floor".into(),
            measured: format!("{ratio:.2}×"),
            met: ratio <= 3.0,
        },
        TargetCheck {
            target: "≥ 1,000,000 APDUs/s trace replay (non-cryptographic commands)".into(),
            measured: format!("{:.0} APDUs/s", replay.ops_per_sec),
            met: replay.ops_per_sec >= 1_000_000.0,
        },
        TargetCheck {
            target: "memory flat over a long run (growth < 1 MiB)".into(),
            measured: format!(
                "{} → {} KiB over {} transactions",
                memory.rss_before_kib, memory.rss_after_kib, memory.transactions
            ),
            met: growth < 1024,
        },
    ];
    targets.splice(2..2, host.targets().into_iter().chain([network.target()]));
    ms.extend([offline, offline_sda, online, unblock]);
    ms.extend(floors);
    ms.extend(primitives.into_iter().map(|(_, m)| m));
    ms.push(replay);
    ms.extend(host.measurements);
    ms.extend(network.measurements);
    if let Some(url) = &opts.postgres {
        ms.extend(network::postgres_authorisations(opts, url)?);
    }
    if opts.pcsc {
        let (pcsc, target) = pcsc_section(opts)?;
        ms.extend(pcsc);
        targets.push(target);
    }
    Ok(BenchReport {
        quick: opts.quick,
        card_profile: CARD_PROFILE.into(),
        sda_card_profile: SDA_CARD_PROFILE.into(),
        measurements: ms,
        crypto_floor_ops: crypto_floor_ops(),
        online_pin_overhead_ratio: ratio,
        sda_floor_ops: sda_floor_ops(),
        offline_sda_overhead_ratio: sda_ratio,
        memory,
        targets,
        peers,
    })
}

// ---------------------------------------------------------------------------------------
// TLV

/// Every TLV object of the card: FCIs, directory records and application records.
fn card_records(perso: &Personalisation) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = perso.pse_records.clone();
    for app in &perso.apps {
        v.push(app.fci.clone());
        v.extend(app.records.values().cloned());
    }
    v
}

fn parse_deep(data: &[u8]) -> Result<usize, SessionError> {
    let list = emv_tlv::tlv::parse_all(data).map_err(|e| input(format!("TLV: {e}")))?;
    let mut n = list.len();
    for t in &list {
        if t.is_constructed() {
            n += parse_deep(t.value())?;
        }
    }
    Ok(n)
}

fn tlv_parse(perso: &Personalisation, opts: &BenchOptions) -> Result<Measurement, SessionError> {
    let records = card_records(perso);
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut objects = 0;
    let t = time_loop(opts.n(10_000), opts.n(200_000), || {
        objects = 0;
        for r in &records {
            objects += parse_deep(std::hint::black_box(r))?;
        }
        Ok(())
    })?;
    Ok(measurement(
        "tlv",
        &format!(
            "parse a full card's records ({} records, {bytes} bytes, {objects} objects)",
            records.len()
        ),
        "card",
        opts.n(200_000),
        t,
    ))
}

// ---------------------------------------------------------------------------------------
// Card::handle

/// The visa-cvn18 application.
const SELECT_AID: [u8; 13] = [
    0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0x00,
];
const GPO: [u8; 8] = [0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00];
const READ_RECORD_S2R1: [u8; 5] = [0x00, 0xB2, 0x01, 0x14, 0x00];
const GET_DATA_PTC: [u8; 5] = [0x80, 0xCA, 0x9F, 0x17, 0x00];

/// VERIFY plaintext offline PIN (format 2 block).
fn verify(pin: &str) -> Result<Vec<u8>, SessionError> {
    let mut block = [0xFFu8; 8];
    let digits = pin.as_bytes();
    block[0] = 0x20 | u8::try_from(digits.len()).map_err(|_| input("PIN too long"))?;
    for (i, d) in digits.iter().enumerate() {
        let nib = d.wrapping_sub(b'0') & 0x0F;
        let b = &mut block[1 + i / 2];
        *b = if i % 2 == 0 {
            (*b & 0x0F) | (nib << 4)
        } else {
            (*b & 0xF0) | nib
        };
    }
    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    apdu.extend_from_slice(&block);
    Ok(apdu)
}

/// First GENERATE AC asking for an ARQC, with the CDOL1 data a pos-attended terminal sent
/// (from a recorded trace).
fn generate_ac_arqc() -> Vec<u8> {
    let mut apdu = vec![0x80, 0xAE, 0x80, 0x00, 0x21];
    apdu.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x00, 0x25, 0x00, // 9F02 amount
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 9F03
        0x02, 0x50, // 9F1A
        0x00, 0x00, 0x04, 0x80, 0x00, // 95 TVR
        0x09, 0x78, // 5F2A
        0x26, 0x01, 0x15, // 9A
        0x00, // 9C
        0x12, 0x34, 0x56, 0x78, // 9F37
        0x22, // 9F35
        0x42, 0x03, 0x00, // 9F34
    ]);
    apdu.push(0x00);
    apdu
}

fn expect_ok(what: &str, r: &[u8]) -> Result<(), SessionError> {
    if r.len() >= 2 && r[r.len() - 2..] == [0x90, 0x00] {
        Ok(())
    } else {
        Err(input(format!(
            "{what}: the card answered {} (expected 9000)",
            hex::encode_upper(r)
        )))
    }
}

fn fresh_card(perso: &Arc<Personalisation>) -> Result<Card<MemoryStore>, SessionError> {
    let mut c = Card::in_memory(Arc::clone(perso))?.with_seed(1);
    c.power_on();
    Ok(c)
}

fn card_commands(
    perso: &Arc<Personalisation>,
    opts: &BenchOptions,
) -> Result<Vec<Measurement>, SessionError> {
    let mut out = Vec::new();
    let n = opts.n(200_000);
    let warm = opts.n(5_000);

    // idempotent commands: one loop
    let mut card = fresh_card(perso)?;
    let t = time_loop(warm, n, || {
        let r = card.handle(std::hint::black_box(&SELECT_AID));
        expect_ok("SELECT", &r)
    })?;
    out.push(measurement("card.handle", "SELECT (AID)", "command", n, t));

    expect_ok("GPO", &card.handle(&GPO))?;
    let t = time_loop(warm, n, || {
        let r = card.handle(std::hint::black_box(&READ_RECORD_S2R1));
        expect_ok("READ RECORD", &r)
    })?;
    out.push(measurement(
        "card.handle",
        "READ RECORD (SFI 2 rec 1)",
        "command",
        n,
        t,
    ));

    let t = time_loop(warm, n, || {
        let r = card.handle(std::hint::black_box(&GET_DATA_PTC));
        expect_ok("GET DATA", &r)
    })?;
    out.push(measurement(
        "card.handle",
        "GET DATA (9F17 PTC)",
        "command",
        n,
        t,
    ));

    // the right PIN: the counter is decremented, saved, and set back (two store writes)
    let good = verify(PIN)?;
    let t = time_loop(warm, n, || {
        let r = card.handle(std::hint::black_box(&good));
        expect_ok("VERIFY", &r)
    })?;
    out.push(measurement(
        "card.handle",
        "VERIFY (plaintext PIN, right)",
        "command",
        n,
        t,
    ));

    // GPO and GENERATE AC change the card's state: SELECT (+ GPO) untimed before each,
    // a fresh card before the ATC runs out
    let n_state = opts.n(50_000);
    let warm = warm.min(1000);
    let gpo = [("SELECT", &SELECT_AID[..])];
    let t = time_after(perso, warm, n_state, &gpo, ("GPO", &GPO))?;
    out.push(measurement(
        "card.handle",
        "GET PROCESSING OPTIONS",
        "command",
        n_state,
        t,
    ));
    let genac = generate_ac_arqc();
    let before = [("SELECT", &SELECT_AID[..]), ("GPO", &GPO[..])];
    let t = time_after(perso, warm, n_state, &before, ("GENERATE AC", &genac))?;
    out.push(measurement(
        "card.handle",
        "GENERATE AC (ARQC, CVN 18, no CDA)",
        "command",
        n_state,
        t,
    ));
    Ok(out)
}

/// Times `cmd` alone, `before` sent untimed ahead of each (all answered 9000), on a card
/// replaced before its ATC runs out.
fn time_after(
    perso: &Arc<Personalisation>,
    warm: u64,
    iters: u64,
    before: &[(&str, &[u8])],
    (name, cmd): (&str, &[u8]),
) -> Result<Duration, SessionError> {
    let mut card = fresh_card(perso)?;
    let mut used = 0u64;
    time_each(warm, iters, || {
        used += 1;
        if used.is_multiple_of(TRANSACTIONS_PER_CARD) {
            card = fresh_card(perso)?;
        }
        for (what, c) in before {
            expect_ok(what, &card.handle(c))?;
        }
        let start = Instant::now();
        let r = card.handle(std::hint::black_box(cmd));
        let d = start.elapsed();
        expect_ok(name, &r)?;
        Ok(d)
    })
}

// ---------------------------------------------------------------------------------------
// Full transactions

/// A fresh card and a fresh in-memory host that knows it, with an open-to-buy that a long
/// run cannot exhaust (the profile's 1000.00 would decline the 51st cash withdrawal).
fn session(card_profile: &str) -> Result<Session, SessionError> {
    let issuer = Issuer::in_memory(HostKeys::load_test_keys()?)?.with_pin_seed(1);
    let mut spec = CardSpec::profile(card_profile);
    spec.seed = Some(1);
    let (soft, _) = spec.open()?;
    let perso = soft.card().personalisation();
    let mut provision = crate::provision::card_provision(perso)?;
    provision.open_to_buy = 1 << 50;
    issuer.provision(&provision, true)?;
    let card_ref = crate::provision::card_ref(perso);
    let mut session = Session::external_soft(soft, Some(IssuerLink::Embedded(issuer)));
    session.card_ref = Some(card_ref);
    Ok(session)
}

fn kernel(terminal: &str) -> Result<Kernel, SessionError> {
    Ok(Kernel::new(
        Profile::load(terminal)?,
        KernelConfig::default(),
    ))
}

fn params(amount: u64, cash: bool, i: u64) -> TransactionParams {
    TransactionParams {
        amount,
        transaction_type: if cash {
            emv_auth::TransactionType::Cash
        } else {
            emv_auth::TransactionType::Purchase
        },
        seed: i,
        stan: u32::try_from(i % 999_999).unwrap_or(1) + 1,
        ..TransactionParams::default()
    }
}

/// One timed transaction; `expect` is the outcome it must have.
fn timed_transaction(
    s: &mut Session,
    k: &Kernel,
    pin: &str,
    p: &TransactionParams,
    expect: OutcomeKind,
) -> Result<Duration, SessionError> {
    let mut pad = ScriptedPinPad::new([pin])?;
    let start = Instant::now();
    let o = s.transact(k, &mut pad, p)?;
    let d = start.elapsed();
    if o.outcome != expect {
        return Err(input(format!(
            "expected {}, got {} (host {:?}, {:?}; {:?})",
            expect.name(),
            o.outcome.name(),
            o.host_response_code,
            o.online_pin,
            o.decisions.last()
        )));
    }
    Ok(d)
}

/// A fresh card in the session (its state back to personalisation), untimed.
fn renew_card(s: &mut Session, perso: &Arc<Personalisation>) -> Result<(), SessionError> {
    let store: Box<dyn emv_card::CardStore + Send> = Box::new(MemoryStore::new());
    let card = Card::new(Arc::clone(perso), store)?.with_seed(1);
    s.card = CardSlot::Soft(Box::new(emv_transport::InProcessCard::new(card)));
    Ok(())
}

/// The full in-process transactions measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// (a) Offline plaintext PIN at `pos-attended`, 25.00 under the floor limit, DDA:
    /// approved offline. The card is fresh before each (untimed), so its
    /// consecutive-offline counters never push it online.
    OfflinePin,
    /// (a′) The same with an SDA-only card (`visa-cvn10`): the terminal verifies the
    /// card's static signature, the card signs nothing. Its transaction is the bench's own
    /// cost with the least cryptography a chip transaction has.
    OfflinePinSda,
    /// (b) Online PIN (format 4) at the `atm`, DDA, ARQC → host → ARPC → TC.
    OnlinePin,
    /// (c) The chip's PIN blocked (PTC 0, three wrong VERIFYs, untimed) → `atm`, online
    /// PIN → the host answers with a PIN UNBLOCK script → the counter is back to its limit.
    AtmUnblock,
}

impl Flow {
    /// All of them, in report order.
    pub const ALL: [Flow; 4] = [
        Flow::OfflinePin,
        Flow::OfflinePinSda,
        Flow::OnlinePin,
        Flow::AtmUnblock,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Flow::OfflinePin => "offline PIN @ pos-attended (DDA, approved offline)",
            Flow::OfflinePinSda => "offline PIN @ pos-attended (SDA card, approved offline)",
            Flow::OnlinePin => "online PIN @ atm (DDA, ARQC/ARPC, online-approved)",
            Flow::AtmUnblock => "ATM unblock: PTC 0 → online PIN → PIN UNBLOCK script",
        }
    }

    /// A short identifier (criterion bench names).
    pub fn id(self) -> &'static str {
        match self {
            Flow::OfflinePin => "offline_pin_pos",
            Flow::OfflinePinSda => "offline_pin_pos_sda",
            Flow::OnlinePin => "online_pin_atm",
            Flow::AtmUnblock => "atm_unblock_script",
        }
    }

    /// The card profile it runs with.
    pub fn card_profile(self) -> &'static str {
        match self {
            Flow::OfflinePinSda => SDA_CARD_PROFILE,
            _ => CARD_PROFILE,
        }
    }
}

/// Runs one [`Flow`] again and again, each transaction checked, its setup untimed.
pub struct FlowRunner {
    flow: Flow,
    kernel: Kernel,
    session: Session,
    perso: Arc<Personalisation>,
    i: u64,
}

impl std::fmt::Debug for FlowRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRunner")
            .field("flow", &self.flow)
            .field("i", &self.i)
            .finish_non_exhaustive()
    }
}

impl FlowRunner {
    /// A fresh card and in-memory host for `flow`.
    pub fn new(flow: Flow) -> Result<Self, SessionError> {
        let terminal = match flow {
            Flow::OfflinePin | Flow::OfflinePinSda => "pos-attended",
            Flow::OnlinePin | Flow::AtmUnblock => "atm",
        };
        Ok(Self {
            flow,
            kernel: kernel(terminal)?,
            session: session(flow.card_profile())?,
            perso: Arc::new(Personalisation::load(flow.card_profile(), &[])?),
            i: 0,
        })
    }

    /// Sets up and runs the next transaction; returns the time of the transaction alone
    /// ([`Session::transact`]), or an error if it did not end as the flow must.
    pub fn run_next(&mut self) -> Result<Duration, SessionError> {
        self.i += 1;
        let i = self.i;
        match self.flow {
            Flow::OfflinePin | Flow::OfflinePinSda => {
                renew_card(&mut self.session, &self.perso)?;
                timed_transaction(
                    &mut self.session,
                    &self.kernel,
                    PIN,
                    &params(2500, false, i),
                    OutcomeKind::Approved,
                )
            }
            Flow::OnlinePin => {
                if i.is_multiple_of(TRANSACTIONS_PER_CARD) {
                    self.session = session(CARD_PROFILE)?;
                }
                timed_transaction(
                    &mut self.session,
                    &self.kernel,
                    PIN,
                    &params(2000, true, i),
                    OutcomeKind::OnlineApproved,
                )
            }
            Flow::AtmUnblock => {
                // GPO in the blocking step spends an ATC too
                if i.is_multiple_of(TRANSACTIONS_PER_CARD / 2) {
                    self.session = session(CARD_PROFILE)?;
                }
                block_offline_pin(&mut self.session)?;
                let d = timed_transaction(
                    &mut self.session,
                    &self.kernel,
                    PIN,
                    &params(2000, true, i),
                    OutcomeKind::OnlineApproved,
                )?;
                match self.session.card_state() {
                    Some(c) if c.pin_try_counter == c.pin_try_limit => Ok(d),
                    other => Err(input(format!(
                        "the script did not unblock the PIN: {other:?}"
                    ))),
                }
            }
        }
    }
}

fn full_transaction(flow: Flow, opts: &BenchOptions) -> Result<Measurement, SessionError> {
    let mut r = FlowRunner::new(flow)?;
    let n = opts.n(match flow {
        Flow::AtmUnblock => 10_000,
        _ => 20_000,
    });
    let t = time_each(opts.n(1_000), n, || r.run_next())?;
    Ok(measurement("transaction", flow.name(), "transaction", n, t))
}

/// Blocks the chip's offline PIN (three wrong VERIFYs), untimed.
fn block_offline_pin(s: &mut Session) -> Result<(), SessionError> {
    use emv_apdu::Transport;
    let bad = verify(WRONG_PIN)?;
    s.card.power_on()?;
    expect_ok("SELECT", &s.card.transmit(&SELECT_AID)?)?;
    expect_ok("GPO", &s.card.transmit(&GPO)?)?;
    for _ in 0..3 {
        s.card.transmit(&bad)?;
    }
    s.card.power_off()?;
    match s.card_state() {
        Some(c) if c.pin_try_counter == 0 => Ok(()),
        other => Err(input(format!("could not block the PIN: {other:?}"))),
    }
}

// ---------------------------------------------------------------------------------------
// Crypto floor

/// The cryptographic operations of one online-PIN transaction at the ATM (visa-cvn18,
/// DDA, format 4 PIN block, PVV), each counted once in the floor.
pub fn crypto_floor_ops() -> Vec<String> {
    [
        "card: ARQC (CVN 18 session key + MAC) — 1st GENERATE AC",
        "card: DDA signature (RSA-768 private key) — INTERNAL AUTHENTICATE",
        "kernel: issuer public key recovery (CA 1024-bit, e=3) + SHA-1",
        "kernel: ICC public key recovery (issuer 1024-bit, e=3) + SHA-1 over the static data",
        "kernel: SDAD recovery (ICC 768-bit, e=3) + SHA-1",
        "kernel: ISO 9564 format 4 PIN block encryption (AES-128)",
        "host: ICC master key derivation from the IMK (option A/B, 2 TDES blocks)",
        "host: ARQC verification (session key + MAC)",
        "host: ARPC generation (method 2 with a CSU, as CVN 18 does)",
        "host: format 4 PIN block decryption (AES-128) + Visa PVV verification (TDES)",
        "card: ARPC verification (EXTERNAL AUTHENTICATE / issuer authentication data)",
        "card: TC (session key + MAC) — 2nd GENERATE AC",
        "not counted: the host's sealed-key unwrapping, random numbers, SQLite, TLV",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// The cryptographic operations of one offline-PIN transaction with the SDA card at the
/// POS (plaintext PIN: no PIN encipherment; approved offline: no host), each counted once.
pub fn sda_floor_ops() -> Vec<String> {
    [
        "kernel: issuer public key recovery (CA 1024-bit, e=3) + SHA-1",
        "kernel: SSAD recovery (issuer 1024-bit, e=3) + SHA-1 over the static data",
        "card: TC (CVN 10: MAC with the ICC master key) — GENERATE AC",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// The floor of [`Flow::OfflinePinSda`]: [`sda_floor_ops`] on the SDA card's real
/// certificates.
fn crypto_floor_sda(opts: &BenchOptions) -> Result<Measurement, SessionError> {
    let perso = Personalisation::load(SDA_CARD_PROFILE, &[])?;
    let card = FloorCard::of(&perso)?;
    let ssad = tlv_value(&perso, 0x93)?;
    let today = YearMonth::new(2026, 1)?;
    let cdol = generate_ac_arqc();
    let data = &cdol[5..cdol.len() - 1];
    let iad = [0x06, 0x01, 0x0A, 0x03, 0x60, 0x00, 0x00];
    let n = opts.n(20_000);
    let t = time_loop(opts.n(1_000), n, || {
        let issuer = card.recover_issuer_key(today)?;
        std::hint::black_box(oda::verify_static_application_data(
            &issuer,
            &ssad,
            &card.static_data,
        )?);
        let tc = generate_ac(
            perso.cvn,
            &card.mk,
            &AcData::new(1, [0x12, 0x34, 0x56, 0x78], data, &iad),
        )?;
        std::hint::black_box(tc);
        Ok(())
    })?;
    Ok(measurement(
        "crypto-floor",
        "offline PIN @ pos-attended, SDA card: its cryptography only",
        "transaction",
        n,
        t,
    ))
}

/// What a card's floor loop starts from: its ICC master key, static data to authenticate,
/// and what the kernel needs to recover its issuer public key (the test CA key E1).
struct FloorCard {
    mk: TdesKey,
    static_data: Vec<u8>,
    ca: oda::RsaPublicKey,
    pan: Vec<u8>,
    issuer_cert: Vec<u8>,
    issuer_rem: Vec<u8>,
    issuer_exp: Vec<u8>,
}

impl FloorCard {
    fn of(perso: &Personalisation) -> Result<Self, SessionError> {
        let imk = TdesKey::from_hex(&perso.source.keys.imk_ac)?;
        let app = perso
            .apps
            .first()
            .ok_or_else(|| input("the card has no application"))?;
        let ca_store = CaKeyStore::with_test_keys()?;
        Ok(Self {
            mk: perso
                .cvn
                .derive_icc_mk(&imk, &perso.pan, Some(perso.psn.as_str()))?,
            static_data: static_data_to_authenticate(app),
            ca: ca_store
                .get(&test_keys::TEST_CA_RID, test_keys::TEST_CA_INDEX_1024)
                .ok_or_else(|| input("no test CA key E1"))?
                .key
                .clone(),
            pan: tlv_value(perso, 0x5A)?,
            issuer_cert: tlv_value(perso, 0x90)?,
            issuer_rem: tlv_value(perso, 0x92).unwrap_or_default(),
            issuer_exp: tlv_value(perso, 0x9F32)?,
        })
    }

    /// The kernel's issuer public key recovery (Book 2 §5.3 / §6.3).
    fn recover_issuer_key(&self, today: YearMonth) -> Result<oda::RsaPublicKey, SessionError> {
        Ok(oda::recover_issuer_public_key(
            &self.ca,
            &self.issuer_cert,
            &self.issuer_rem,
            &self.issuer_exp,
            &self.pan,
            today,
        )?
        .key)
    }
}

fn tlv_value(perso: &Personalisation, tag: u32) -> Result<Vec<u8>, SessionError> {
    let app = perso
        .apps
        .first()
        .ok_or_else(|| input("the card has no application"))?;
    for rec in app.records.values() {
        let list = emv_tlv::tlv::parse_all(rec).map_err(|e| input(format!("TLV: {e}")))?;
        for t in &list {
            let inner = if t.is_constructed() {
                t.children()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_default()
            } else {
                vec![*t]
            };
            if let Some(found) = inner.iter().find(|x| x.tag() == Tag::new(tag)) {
                return Ok(found.value().to_vec());
            }
        }
    }
    Err(input(format!("tag {tag:X} is not in the card's records")))
}

fn crypto_floor(
    perso: &Arc<Personalisation>,
    opts: &BenchOptions,
) -> Result<Vec<Measurement>, SessionError> {
    let cvn = perso.cvn;
    let imk = TdesKey::from_hex(&perso.source.keys.imk_ac)?;
    let psn = Some(perso.psn.as_str());
    let card = FloorCard::of(perso)?;
    let mk = &card.mk;
    let icc_cert = tlv_value(perso, 0x9F46)?;
    let icc_rem = tlv_value(perso, 0x9F48).unwrap_or_default();
    let icc_exp = tlv_value(perso, 0x9F47)?;
    let icc_private = test_keys::ICC_768_E3.private_key()?;
    let today = YearMonth::new(2026, 1)?;
    let un = [0x12, 0x34, 0x56, 0x78];
    let dyn_data = oda::dda_icc_dynamic_data(&[1, 2, 3, 4, 5, 6, 7, 8])?;
    let tpk = AesKey::from_hex("2B7E151628AED2A6ABF7158809CF4F3C")?;
    let pvk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
    let pin = Pin::new(PIN)?;
    let pvv_value = pvv::visa_pvv(&pvk, &perso.pan, 1, &pin)?;
    let cdol = generate_ac_arqc();
    let data = &cdol[5..cdol.len() - 1];
    let iad = [0x06, 0x01, 0x12, 0x03, 0xA0, 0x00, 0x00];
    let fill = Fill::Nibbles(vec![0xA; 16]);
    // Book 2 §8.2: method 1 answers with the ARC, method 2 (CVN 18) with a CSU
    let arpc_response = ArpcResponse::approval(cvn.arpc_method());

    let mut one = || -> Result<(), SessionError> {
        // card: ARQC, DDA
        let tx = AcData::new(1, un, data, &iad);
        let arqc = generate_ac(cvn, mk, &tx)?;
        let sdad = oda::sign_dynamic_application_data(&icc_private, &dyn_data, &un)?;
        // kernel: ODA, PIN block
        let issuer = card.recover_issuer_key(today)?;
        let icc = oda::recover_icc_public_key(
            &issuer,
            &icc_cert,
            &icc_rem,
            &icc_exp,
            &card.static_data,
            &card.pan,
            today,
        )?;
        oda::recover_dynamic_application_data(&icc.key, &sdad, &un)?;
        let block = pinblock::encrypt_pin_block_iso4(&tpk, &pin, &perso.pan, &fill)?;
        // host
        let host_mk = cvn.derive_icc_mk(&imk, &perso.pan, psn)?;
        verify_ac(cvn, &host_mk, &tx, &arqc)?;
        let arpc = generate_arpc(cvn, &host_mk, 1, &un, &arqc, &arpc_response)?;
        let got = pinblock::decrypt_pin_block_iso4(&tpk, &block, &perso.pan)?;
        pvv::verify_visa_pvv(&pvk, &perso.pan, 1, &got, &pvv_value)?;
        // card: ARPC, TC
        verify_issuer_authentication_data(
            cvn,
            mk,
            1,
            &un,
            &arqc,
            &arpc.issuer_authentication_data,
        )?;
        let tc = generate_ac(cvn, mk, &AcData::new(1, un, data, &iad))?;
        std::hint::black_box(tc);
        Ok(())
    };
    let n = opts.n(5_000);
    let t = time_loop(opts.n(200), n, &mut one)?;
    let whole = measurement(
        "crypto-floor",
        "online PIN @ atm: the transaction's cryptography only",
        "transaction",
        n,
        t,
    );
    // the part no software can shave: the card's RSA private-key operation (every DDA
    // transaction, offline ones included, pays it)
    let t = time_loop(opts.n(200), n, || {
        std::hint::black_box(oda::sign_dynamic_application_data(
            &icc_private,
            &dyn_data,
            &un,
        )?);
        Ok(())
    })?;
    let rsa = measurement(
        "crypto-floor",
        "of which the DDA signature alone (RSA-768 private key)",
        "signature",
        n,
        t,
    );
    Ok(vec![whole, rsa])
}

// ---------------------------------------------------------------------------------------
// Trace replay

/// The trace's power-ons and its SELECT, READ RECORD and GET PROCESSING OPTIONS exchanges.
pub fn non_crypto_exchanges(trace: &Trace) -> Trace {
    let keep = |cmd: &[u8]| matches!(cmd.get(1), Some(0xA4 | 0xB2 | 0xA8));
    let lines: Vec<Line> = trace
        .lines
        .iter()
        .filter(|l| match &l.event {
            Event::Exchange { command, .. } => keep(command),
            Event::PowerOn(_) | Event::PowerOff | Event::Marker { .. } => true,
            _ => false,
        })
        .cloned()
        .collect();
    Trace {
        lines,
        pins_in_clear: trace.pins_in_clear,
    }
}

fn trace_replay(opts: &BenchOptions) -> Result<Measurement, SessionError> {
    let full =
        Trace::parse(REPLAY_TRACE_TEXT).map_err(|e| input(format!("{REPLAY_TRACE}: {e}")))?;
    let trace = non_crypto_exchanges(&full);
    // GPO spends an ATC: a fresh card (untimed) every CHUNK rounds, before the 2-byte
    // counter runs out
    const CHUNK: u64 = 1_000;
    let mut apdus = 0u64;
    let chunks = opts.n(20_000).div_ceil(CHUNK);
    let rounds = chunks * CHUNK;
    let mut chunk = || -> Result<Duration, SessionError> {
        let mut card = card_for_trace(&trace).map_err(input)?;
        time_loop(0, CHUNK, || {
            card.remove();
            let s = replay_against_card(&trace, &mut card)
                .map_err(|m| input(format!("replay mismatch: {m}")))?;
            apdus = s.exchanges as u64;
            Ok(())
        })
    };
    let t = time_each(1, chunks, &mut chunk)?;
    Ok(measurement(
        "replay",
        &format!("{REPLAY_TRACE}: SELECT / READ RECORD / GPO ({apdus} APDUs per round)"),
        "APDU",
        rounds * apdus,
        t,
    ))
}

// ---------------------------------------------------------------------------------------
// Memory

/// VmRSS of this process in KiB (Linux `/proc/self/status`), 0 elsewhere.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Online-PIN transactions at the ATM; a new session (card and in-memory host) every
/// 10,000 (the ATC is 2 bytes; the in-memory host keeps its journal).
fn memory_run(opts: &BenchOptions) -> Result<MemoryRun, SessionError> {
    const PER_SESSION: u64 = 10_000;
    let k = kernel("atm")?;
    let total = opts.memory_transactions.unwrap_or_else(|| opts.n(100_000));
    let mut s = session(CARD_PROFILE)?;
    // warm-up: one whole session, so allocator pools and caches are at their size
    for i in 1..=PER_SESSION.min(total) {
        timed_transaction(
            &mut s,
            &k,
            PIN,
            &params(2000, true, i),
            OutcomeKind::OnlineApproved,
        )?;
    }
    s = session(CARD_PROFILE)?;
    let before = rss_kib();
    let mut max = before;
    for i in 1..=total {
        if i % PER_SESSION == 0 {
            max = max.max(rss_kib());
            s = session(CARD_PROFILE)?;
        }
        timed_transaction(
            &mut s,
            &k,
            PIN,
            &params(2000, true, i % PER_SESSION + 1),
            OutcomeKind::OnlineApproved,
        )?;
    }
    // the same footing as `before`: a fresh session
    s = session(CARD_PROFILE)?;
    let after = rss_kib();
    drop(s);
    Ok(MemoryRun {
        what: format!(
            "online PIN @ atm, a new card + in-memory host every {PER_SESSION} transactions"
        ),
        transactions: total,
        rss_before_kib: before,
        rss_after_kib: after,
        rss_max_kib: max.max(after),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn verify_apdu_is_a_format_2_plaintext_pin_block() {
        assert_eq!(
            hex::encode_upper(verify("1234").unwrap()),
            "0020008008241234FFFFFFFFFF"
        );
    }

    #[test]
    fn every_flow_ends_as_it_must_twice_in_a_row() {
        // the runner checks the outcome (and for the unblock, the card's counter)
        for flow in Flow::ALL {
            let mut r = FlowRunner::new(flow).unwrap();
            r.run_next().unwrap();
            r.run_next().unwrap();
        }
    }

    #[test]
    fn replay_keeps_only_non_cryptographic_exchanges_and_they_match() {
        let full = Trace::parse(REPLAY_TRACE_TEXT).unwrap();
        let t = non_crypto_exchanges(&full);
        let cmds: Vec<u8> = t
            .lines
            .iter()
            .filter_map(|l| match &l.event {
                Event::Exchange { command, .. } => command.get(1).copied(),
                _ => None,
            })
            .collect();
        assert!(cmds.len() > 10);
        assert!(cmds.iter().all(|c| matches!(c, 0xA4 | 0xB2 | 0xA8)));
        let mut card = card_for_trace(&t).unwrap();
        assert_eq!(
            replay_against_card(&t, &mut card).unwrap().exchanges,
            cmds.len()
        );
    }

    #[test]
    fn crypto_floor_runs_on_the_cards_real_certificates() {
        let perso = Arc::new(Personalisation::load(CARD_PROFILE, &[]).unwrap());
        let m = crypto_floor(
            &perso,
            &BenchOptions {
                quick: true,
                ..Default::default()
            },
        )
        .unwrap();
        // every certificate verified (an error otherwise) and both loops ran; which of
        // the two is slower is the bench's to report, not a unit test's (timings vary
        // with the machine's load)
        assert_eq!(m.len(), 2);
        assert!(
            m.iter().all(|x| x.iterations > 0 && x.mean_ns > 0.0),
            "{m:?}"
        );
    }

    #[test]
    fn sda_floor_verifies_the_sda_cards_real_signature() {
        // an SSAD or certificate that does not verify is an error, not a number
        let quick = BenchOptions {
            quick: true,
            ..Default::default()
        };
        let m = crypto_floor_sda(&quick).unwrap();
        assert_eq!(m.iterations, 2_000);
        assert!(m.mean_ns > 0.0);
    }

    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(rss_kib() > 0);
        }
    }
}
