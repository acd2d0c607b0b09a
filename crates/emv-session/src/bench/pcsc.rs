//! `emvbench bench --pcsc` (feature `pcsc`; pcscd with vsmartcard-vpcd running,
//! docs/virtual-reader.md): the APDU round trip through pcscd + vpcd to our card and to a
//! minimal echo card ([`EchoCard`]: every command answered `9000`, served by the same
//! vpcd front end, so that the difference is the card's own work), in the same run, and
//! full transactions per second with the kernel talking PC/SC to our card.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emv_apdu::Transport;
use emv_auth::NoHost;
use emv_card::{Card, MemoryStore, Personalisation};
use emv_kernel::{Kernel, KernelConfig, Profile, ScriptedPinPad, TransactionParams};
use emv_transport::pcsc::{PcscReader, ReaderSelector};
use emv_transport::vpcd::{self, Backoff, EchoCard, Shutdown, VirtualCard};

use super::{BenchOptions, CARD_PROFILE, Measurement, TargetCheck, input, measurement};
use crate::SessionError;

/// vpcd's first slot with vsmartcard-vpcd's default configuration (docs/virtual-reader.md §1).
const VPCD: &str = "127.0.0.1:35963";

/// How long pcscd may take to see a card come or go.
const SEEN: Duration = Duration::from_secs(10);

/// The reader vpcd shows for `slot` (docs/virtual-reader.md §1).
fn reader_name(slot: u16) -> String {
    format!("Virtual PCD 00 {slot:02}")
}

fn reader(slot: u16) -> Result<PcscReader, SessionError> {
    PcscReader::select(&ReaderSelector::Name(reader_name(slot))).map_err(|e| {
        input(format!(
            "bench --pcsc: no vpcd reader {:?} ({e}); start pcscd with vsmartcard-vpcd \
             (docs/virtual-reader.md §2)",
            reader_name(slot)
        ))
    })
}

/// Fails at once, before the rest of the bench runs, when vpcd's two readers are missing.
pub(super) fn preflight() -> Result<(), SessionError> {
    for slot in [0, 1] {
        reader(slot)?;
    }
    Ok(())
}

/// A card served into a vpcd slot by a thread of this process; pulled out when dropped.
struct Served {
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `card` in `slot` and opens its reader once pcscd has seen it.
fn insert<C: VirtualCard + Send + 'static>(
    mut card: C,
    slot: u16,
) -> Result<(Served, PcscReader), SessionError> {
    let r = reader(slot)?;
    let empty = r
        .wait_for_card(false, SEEN)
        .map_err(|e| input(e.to_string()))?;
    if !empty {
        return Err(input(format!(
            "bench --pcsc: {} holds a card already (a `card serve` running?)",
            reader_name(slot)
        )));
    }
    let stop = Shutdown::new();
    let addr = vpcd::slot_address(VPCD, slot).map_err(|e| input(e.to_string()))?;
    let s2 = stop.clone();
    let thread = std::thread::spawn(move || {
        let _ = vpcd::serve(&mut card, &addr, &s2, Backoff::default());
    });
    let served = Served {
        stop,
        thread: Some(thread),
    };
    if !r
        .wait_for_card(true, SEEN)
        .map_err(|e| input(e.to_string()))?
    {
        return Err(input(format!(
            "bench --pcsc: the card did not show up in {}",
            reader_name(slot)
        )));
    }
    Ok((served, r))
}

/// Round trips of `apdu` in µs, sorted.
fn round_trips(r: &mut PcscReader, apdu: &[u8], n: usize) -> Result<Vec<f64>, SessionError> {
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        r.transmit(apdu).map_err(|e| input(e.to_string()))?;
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    Ok(t)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

fn latency(name: String, sorted: &[f64]) -> Measurement {
    let median = percentile(sorted, 0.5);
    Measurement {
        group: "pcsc".into(),
        name,
        unit: "APDU".into(),
        iterations: sorted.len() as u64,
        mean_ns: median * 1e3,
        ops_per_sec: 1e6 / median.max(f64::MIN_POSITIVE),
    }
}

/// The `pcsc` group and its target.
pub fn pcsc_section(opts: &BenchOptions) -> Result<(Vec<Measurement>, TargetCheck), SessionError> {
    let perso = Arc::new(Personalisation::load(CARD_PROFILE, &[])?);
    let card = Card::<MemoryStore>::in_memory(perso)?;
    let (ours, mut a) = insert(card, 0)?;
    let (echo, mut b) = insert(EchoCard, 1)?;
    for r in [&mut a, &mut b] {
        r.power_on().map_err(|e| input(e.to_string()))?;
    }
    // SELECT of the card's application: the first command of every transaction
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0x00,
    ];
    let per = usize::try_from(opts.n(2_000) / 5).unwrap_or(400);
    round_trips(&mut a, &select, 50)?;
    round_trips(&mut b, &select, 50)?;
    // interleaved batches, so that other load on the machine hits both alike
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ta.extend(round_trips(&mut a, &select, per)?);
        tb.extend(round_trips(&mut b, &select, per)?);
    }
    ta.sort_by(f64::total_cmp);
    tb.sort_by(f64::total_cmp);
    let (ours_us, echo_us) = (percentile(&ta, 0.5), percentile(&tb, 0.5));
    let ratio = ours_us / echo_us;
    let mut ms = vec![
        latency(
            format!(
                "SELECT round trip through pcscd + vpcd, our card ({CARD_PROFILE}): median; \
                 p99 {:.0} µs",
                percentile(&ta, 0.99)
            ),
            &ta,
        ),
        latency(
            format!(
                "SELECT round trip through pcscd + vpcd, echo card: median; p99 {:.0} µs",
                percentile(&tb, 0.99)
            ),
            &tb,
        ),
    ];
    // a reader's handle goes before its card is pulled (pcscd then sees a plain removal,
    // not a card leaving under an open connection)
    drop(b);
    drop(echo);
    ms.push(transactions(&mut a, opts)?);
    drop(a);
    drop(ours);
    let target = TargetCheck {
        target: "APDU round trip through pcscd + vpcd to our card ≤ 1.1× a minimal echo card's"
            .into(),
        measured: format!(
            "our card {ours_us:.0} µs, echo card {echo_us:.0} µs median (×{ratio:.2})"
        ),
        met: ratio <= 1.1,
    };
    Ok((ms, target))
}

/// Offline-PIN purchases at `pos-attended`, the kernel talking PC/SC to our card.
fn transactions(r: &mut PcscReader, opts: &BenchOptions) -> Result<Measurement, SessionError> {
    let kernel = Kernel::new(Profile::load("pos-attended")?, KernelConfig::default());
    let n = opts.n(300);
    let run = |r: &mut PcscReader| -> Result<(), SessionError> {
        r.power_on().map_err(|e| input(e.to_string()))?;
        let mut pad = ScriptedPinPad::new(["1234"])?;
        kernel.run(r, &mut pad, &mut NoHost, &TransactionParams::purchase(1500))?;
        Ok(())
    };
    run(r)?;
    let start = Instant::now();
    for _ in 0..n {
        run(r)?;
    }
    Ok(measurement(
        "pcsc",
        "full transaction through pcscd + vpcd (offline PIN, pos-attended, visa-cvn18)",
        "transaction",
        n,
        start.elapsed(),
    ))
}
