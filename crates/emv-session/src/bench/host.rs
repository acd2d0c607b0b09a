//! The issuer host alone: online-PIN + ARQC authorisations per second through
//! [`Issuer::authorise`], in-process.
//!
//! Each authorisation verifies the ARQC (CVN 18), decrypts a format 0 PIN block, checks
//! the PVV, decrements then resets the online PIN counter, debits the open-to-buy, writes
//! the journal, builds the ARPC and commits before it answers. The requests (the card's
//! ARQCs, the terminal's PIN blocks) are built before the clock starts.
//!
//! Wall time says how fast callers are answered; the process's CPU time over the same
//! interval (`/proc/self/stat` utime + stime) says what one authorisation costs a core,
//! whatever else the machine runs and however long fsync makes callers wait: one core's
//! rate is authorisations per CPU-second.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use emv_auth::{AuthRequest, ResponseCode};
use emv_host::testkit::{self, TempDir, TestCard};
use emv_host::{HostKeys, Issuer, SyncMode};

use super::{BenchOptions, Measurement, TargetCheck, input, measurement};
use crate::SessionError;

const PIN: &str = testkit::LOAD_PIN;
/// Concurrent callers of the group-commit runs.
pub const CALLERS: usize = 16;

/// What the host section measured.
pub(super) struct HostRun {
    /// Wall-clock measurements.
    pub measurements: Vec<Measurement>,
    /// Authorisations per CPU-second on the durable store (`sync=full`, 16 callers).
    pub per_core_full: f64,
    /// The same with `sync=normal`.
    pub per_core_normal: f64,
    /// Authorisations per second, one caller (one thread: one core), on the in-memory
    /// store the embedded host of `emvbench run` uses without `--data`.
    pub in_memory: f64,
}

impl HostRun {
    /// The host's target and what this run measured.
    pub fn targets(&self) -> Vec<TargetCheck> {
        vec![TargetCheck {
            target: "≥ 20,000 host authorisations (online PIN + ARQC)/s in-process on one core \
                     (the embedded host, one thread)"
                .into(),
            measured: format!(
                "{:.0}/s on the in-memory store; on a SQLite file, per CPU-second with \
                 {CALLERS} callers: {:.0}/s sync=full, {:.0}/s sync=normal",
                self.in_memory, self.per_core_full, self.per_core_normal
            ),
            met: self.in_memory >= 20_000.0,
        }]
    }
}

fn new_card(issuer: &Issuer) -> Result<TestCard, SessionError> {
    Ok(testkit::load_card(issuer)?)
}

fn requests(card: &mut TestCard, n: u64) -> Result<Vec<AuthRequest>, SessionError> {
    (0..n)
        .map(|_| Ok(card.online(1, Some(PIN))?.request))
        .collect()
}

fn authorise_all(issuer: &Issuer, reqs: &[AuthRequest]) -> Result<(), SessionError> {
    for r in reqs {
        let resp = issuer.authorise(r)?;
        if resp.response_code != ResponseCode::APPROVED {
            return Err(input(format!(
                "host bench: expected 00, got {} ({})",
                resp.response_code, resp.reason
            )));
        }
    }
    Ok(())
}

/// CPU time this process has used (all its threads, live or ended), from
/// `/proc/self/stat` (utime + stime, in USER_HZ = 100 ticks per second on Linux).
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // proc(5): the fields after "(comm)" start with field 3 (state); utime is 14, stime 15
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// `n` authorisations from `callers` threads (one card each); wall and CPU time.
fn run(
    issuer: &Issuer,
    callers: usize,
    n: u64,
) -> Result<(Duration, Option<Duration>), SessionError> {
    let per = n / callers as u64;
    let mut batches = Vec::with_capacity(callers);
    for _ in 0..callers {
        let mut card = new_card(issuer)?;
        batches.push(requests(&mut card, per)?);
    }
    if callers == 1 {
        let reqs = batches.pop().unwrap_or_default();
        let cpu = process_cpu_time();
        let start = Instant::now();
        authorise_all(issuer, &reqs)?;
        let wall = start.elapsed();
        let cpu = process_cpu_time()
            .zip(cpu)
            .map(|(b, a)| b.saturating_sub(a));
        return Ok((wall, cpu));
    }
    let barrier = Arc::new(Barrier::new(callers + 1));
    let handles: Vec<_> = batches
        .into_iter()
        .map(|reqs| {
            let (issuer, barrier) = (issuer.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                authorise_all(&issuer, &reqs)
            })
        })
        .collect();
    let cpu = process_cpu_time();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join()
            .map_err(|_| input("host bench: a caller panicked"))??;
    }
    let wall = start.elapsed();
    let cpu = process_cpu_time()
        .zip(cpu)
        .map(|(b, a)| b.saturating_sub(a));
    Ok((wall, cpu))
}

/// Runs the host section.
pub(super) fn host_authorisations(opts: &BenchOptions) -> Result<HostRun, SessionError> {
    let keys = || HostKeys::load_test_keys().map_err(SessionError::from);
    let mut ms = Vec::new();
    let mut per_core = [0.0; 2];
    let name = |store: &str, callers: usize| {
        format!(
            "authorise, {store}, {callers} caller{}",
            if callers == 1 { "" } else { "s" }
        )
    };
    for (i, sync) in [SyncMode::Full, SyncMode::Normal].into_iter().enumerate() {
        let dir = TempDir::new(&format!("bench-{}", sync.name()));
        let issuer = Issuer::open_with(dir.path(), keys()?, sync)?;
        let store = format!("SQLite sync={}", sync.name());
        // warm-up: statement cache, page cache, WAL
        run(&issuer, 1, opts.n(500))?;
        let n1 = opts.n(if sync == SyncMode::Full {
            5_000
        } else {
            20_000
        });
        let (wall, _) = run(&issuer, 1, n1)?;
        ms.push(measurement(
            "host",
            &name(&store, 1),
            "authorisation",
            n1,
            wall,
        ));
        let n16 = opts.n(32_000) / CALLERS as u64 * CALLERS as u64;
        let (wall, cpu) = run(&issuer, CALLERS, n16)?;
        ms.push(measurement(
            "host",
            &name(&store, CALLERS),
            "authorisation",
            n16,
            wall,
        ));
        if let Some(cpu) = cpu {
            let m = measurement(
                "host",
                &format!("{}: CPU time (1 core)", name(&store, CALLERS)),
                "authorisation",
                n16,
                cpu,
            );
            per_core[i] = m.ops_per_sec;
            ms.push(m);
        }
    }
    let issuer = Issuer::in_memory(keys()?)?;
    run(&issuer, 1, opts.n(500))?;
    let n = opts.n(20_000);
    let (wall, _) = run(&issuer, 1, n)?;
    let m = measurement(
        "host",
        &name("SQLite :memory:", 1),
        "authorisation",
        n,
        wall,
    );
    let in_memory = m.ops_per_sec;
    ms.push(m);
    Ok(HostRun {
        measurements: ms,
        per_core_full: per_core[0],
        per_core_normal: per_core[1],
        in_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_and_grows_with_work() {
        let read = process_cpu_time();
        if cfg!(not(target_os = "linux")) {
            return;
        }
        let a = read.expect("/proc/self/stat is readable on Linux");
        // work until the process's CPU time has grown (however busy the machine is, the
        // wall time this takes is not what is tested)
        let start = Instant::now();
        let mut x = 0u64;
        let b = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let b = process_cpu_time().unwrap_or_default();
            if b >= a + Duration::from_millis(30) {
                break b;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "CPU time did not grow: {a:?} → {b:?}"
            );
        };
        assert!(b > a, "{a:?} → {b:?}");
    }

    #[test]
    fn a_quick_host_run_approves_every_request() {
        let issuer = Issuer::in_memory(HostKeys::load_test_keys().unwrap()).unwrap();
        // every answer is checked to be 00 (an error otherwise)
        let (wall, _) = run(&issuer, 4, 40).unwrap();
        assert!(wall > Duration::ZERO);
    }
}
