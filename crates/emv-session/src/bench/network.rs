//! The issuer host on the network: authorisations per second from 16 concurrent callers on
//! one durable store (SQLite `sync=full`), in-process, over HTTP and over ISO 8583, side by
//! side in the same run. Each caller has its own card and its own connection; the requests
//! (ARQCs, PIN blocks) are built before the clock starts, and every answer must be `00`.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use emv_auth::{AuthRequest, Host, ResponseCode};
use emv_host::iso8583::{self, Iso8583Config};
use emv_host::testkit::{self, TempDir};
use emv_host::{HostKeys, HttpHost, Iso8583Host, Iso8583Options, Issuer, SyncMode};

use super::host::{CALLERS, process_cpu_time};
use super::{BenchOptions, Measurement, TargetCheck, input, measurement};
use crate::SessionError;

/// What the network section measured.
pub(super) struct NetworkRun {
    /// Wall-clock measurements.
    pub measurements: Vec<Measurement>,
    /// Authorisations per second in-process, 16 callers, durable store.
    pub in_process: f64,
    /// The same over HTTP.
    pub http: f64,
    /// The same over ISO 8583.
    pub iso8583: f64,
    /// CPU time per authorisation (callers and host), µs: in-process, HTTP, ISO 8583.
    pub cpu_us: Option<[f64; 3]>,
}

impl NetworkRun {
    /// The target: ISO 8583 keeps at least 80% of the in-process durable rate.
    pub fn target(&self) -> TargetCheck {
        TargetCheck {
            target: format!(
                "≥ 80% of the in-process durable rate over ISO 8583 ({CALLERS} callers, SQLite \
                 sync=full, one connection each)"
            ),
            measured: format!(
                "ISO 8583 {:.0}/s = {:.0}% of in-process {:.0}/s (HTTP {:.0}/s = {:.0}%){}",
                self.iso8583,
                100.0 * self.iso8583 / self.in_process.max(1.0),
                self.in_process,
                self.http,
                100.0 * self.http / self.in_process.max(1.0),
                self.cpu_us.map_or(String::new(), |[p, h, i]| format!(
                    "; CPU per authorisation, callers and host on the same {} cores: \
                     in-process {p:.0} µs, HTTP {h:.0} µs, ISO 8583 {i:.0} µs",
                    std::thread::available_parallelism().map_or(1, usize::from)
                ))
            ),
            met: self.iso8583 >= 0.8 * self.in_process,
        }
    }
}

type MakeHost = dyn Fn() -> Result<Box<dyn Host + Send>, SessionError> + Send + Sync;

/// `per` authorisations from each of [`CALLERS`] threads, each through its own host: the
/// wall time, and the process's CPU time over the same span (callers, front end and issuer
/// together: they share the machine's cores).
fn run(
    issuer: &Issuer,
    per: u64,
    make: Arc<MakeHost>,
) -> Result<(Duration, Option<Duration>), SessionError> {
    let mut batches = Vec::with_capacity(CALLERS);
    for _ in 0..CALLERS {
        let mut card = testkit::load_card(issuer)?;
        let reqs: Result<Vec<AuthRequest>, SessionError> = (0..per)
            .map(|_| Ok(card.online(1, Some(testkit::LOAD_PIN))?.request))
            .collect();
        batches.push(reqs?);
    }
    let barrier = Arc::new(Barrier::new(CALLERS + 1));
    let handles: Vec<_> = batches
        .into_iter()
        .map(|reqs| {
            let (make, barrier) = (Arc::clone(&make), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let host = make();
                barrier.wait();
                let mut host = host?;
                for r in &reqs {
                    let resp = host
                        .authorise(r)
                        .map_err(|e| input(format!("network bench: {e}")))?;
                    if resp.response_code != ResponseCode::APPROVED {
                        return Err(input(format!(
                            "network bench: expected 00, got {} ({})",
                            resp.response_code, resp.reason
                        )));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let cpu = process_cpu_time();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join()
            .map_err(|_| input("network bench: a caller panicked"))??;
    }
    let wall = start.elapsed();
    let cpu = process_cpu_time()
        .zip(cpu)
        .map(|(after, before)| after.saturating_sub(before));
    Ok((wall, cpu))
}

/// Runs the network section: one durable store, served over HTTP and ISO 8583 by one
/// runtime, measured in-process, over HTTP and over ISO 8583 with 16 callers each.
pub(super) fn network_authorisations(opts: &BenchOptions) -> Result<NetworkRun, SessionError> {
    let keys = HostKeys::load_test_keys()?;
    let link = keys.iso8583_link(None)?.clone();
    let acquirer = keys
        .client_acquirer_key()
        .map(|k| k.expose().to_owned())
        .ok_or_else(|| input("network bench: the TEST key file has no acquirer key"))?;
    let dir = TempDir::new("bench-network");
    let issuer = Issuer::open_with(dir.path(), keys, SyncMode::Full)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| input(format!("network bench: runtime: {e}")))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| input(format!("network bench: bind: {e}")))?;
    let http_addr = listener
        .local_addr()
        .map_err(|e| input(format!("network bench: {e}")))?;
    let mut http_stop = stopped.clone();
    rt.spawn(emv_host::http::serve_on(
        listener,
        issuer.clone(),
        async move {
            let _ = http_stop.changed().await;
        },
    ));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let mut config = Iso8583Config::new("127.0.0.1:0");
    config.on_listening = Some(Box::new(move |a| {
        let _ = addr_tx.send(a);
    }));
    let iso = rt.block_on(iso8583::start(config, issuer.clone(), stopped))?;
    let iso_addr = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| input("network bench: the ISO 8583 listener did not start"))?
        .to_string();

    let in_process: Arc<MakeHost> = {
        let issuer = issuer.clone();
        Arc::new(move || Ok(Box::new(issuer.clone()) as Box<dyn Host + Send>))
    };
    let http: Arc<MakeHost> = Arc::new(move || {
        let h = HttpHost::new(&format!("http://{http_addr}"))
            .map_err(|e| input(format!("network bench: {e}")))?
            .with_acquirer_key(&acquirer);
        Ok(Box::new(h) as Box<dyn Host + Send>)
    });
    let iso8583: Arc<MakeHost> = Arc::new(move || {
        let h = Iso8583Host::connect(&iso_addr, Iso8583Options::for_link(&link))
            .map_err(|e| input(format!("network bench: {e}")))?;
        Ok(Box::new(h) as Box<dyn Host + Send>)
    });
    let measured = measure_paths(
        &issuer,
        opts,
        [
            ("in-process", in_process),
            ("HTTP", http),
            ("ISO 8583", iso8583),
        ],
    );
    let _ = stop.send(true);
    let _ = rt.block_on(iso);
    rt.shutdown_timeout(Duration::from_secs(2));
    measured
}

/// Measures each path in turn (a warm-up, then the timed run): wall-clock rates and, where
/// `/proc` is readable, CPU time per authorisation.
fn measure_paths(
    issuer: &Issuer,
    opts: &BenchOptions,
    paths: [(&str, Arc<MakeHost>); 3],
) -> Result<NetworkRun, SessionError> {
    let per = opts.n(16_000) / CALLERS as u64;
    let n = per * CALLERS as u64;
    let mut ms = Vec::new();
    let mut rates = [0.0; 3];
    let mut cpu_us = Some([0.0; 3]);
    for (i, (how, make)) in paths.into_iter().enumerate() {
        // warm-up: connections, statement cache
        run(issuer, opts.n(20), Arc::clone(&make))?;
        let (wall, cpu) = run(issuer, per, make)?;
        let name = format!("authorise, SQLite sync=full, {CALLERS} callers, {how}");
        let m = measurement("network", &name, "authorisation", n, wall);
        rates[i] = m.ops_per_sec;
        ms.push(m);
        // where the cores go: callers and front end run on the same machine as the issuer
        match (cpu, cpu_us.as_mut()) {
            (Some(cpu), Some(us)) => us[i] = cpu.as_secs_f64() * 1e6 / n as f64,
            _ => cpu_us = None,
        }
        if let Some(cpu) = cpu {
            let name = format!("{name}: CPU time (callers + host)");
            ms.push(measurement("network", &name, "authorisation", n, cpu));
        }
    }
    Ok(NetworkRun {
        measurements: ms,
        in_process: rates[0],
        http: rates[1],
        iso8583: rates[2],
        cpu_us,
    })
}

/// The host on PostgreSQL (docs/postgres.md), 16 callers in-process each with its own card:
/// on one node, on two nodes (two stores, each with its own connection pool, as two host
/// processes have; the callers alternate between them), and on a SQLite file (`sync=full`)
/// in the same run; each with the process's CPU time per authorisation.
pub(super) fn postgres_authorisations(
    opts: &BenchOptions,
    url: &str,
) -> Result<Vec<Measurement>, SessionError> {
    let keys = HostKeys::load_test_keys;
    let dir = TempDir::new("bench-postgres");
    let sqlite = Issuer::open_with(dir.path(), keys()?, SyncMode::Full)?;
    let node_a = Issuer::open_database(url, keys()?, CALLERS)?;
    let node_b = Issuer::open_database(url, keys()?, CALLERS)?;
    let on = |issuer: &Issuer| -> Arc<MakeHost> {
        let issuer = issuer.clone();
        Arc::new(move || Ok(Box::new(issuer.clone()) as Box<dyn Host + Send>))
    };
    let two_nodes: Arc<MakeHost> = {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let nodes = [node_a.clone(), node_b.clone()];
        Arc::new(move || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
            Ok(Box::new(nodes[i].clone()) as Box<dyn Host + Send>)
        })
    };
    let per = opts.n(8_000) / CALLERS as u64;
    let n = per * CALLERS as u64;
    let mut ms = Vec::new();
    for (how, issuer, make) in [
        ("SQLite sync=full", &sqlite, on(&sqlite)),
        ("PostgreSQL, one node", &node_a, on(&node_a)),
        ("PostgreSQL, two nodes", &node_a, two_nodes),
    ] {
        // warm-up: connections, prepared statements
        run(issuer, opts.n(20), Arc::clone(&make))?;
        let (wall, cpu) = run(issuer, per, make)?;
        let name = format!("authorise, {CALLERS} callers, {how}");
        ms.push(measurement("postgres", &name, "authorisation", n, wall));
        if let Some(cpu) = cpu {
            let name = format!("{name}: CPU time (callers + host)");
            ms.push(measurement("postgres", &name, "authorisation", n, cpu));
        }
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_network_run_approves_every_request_on_each_path() {
        // every answer is checked to be 00 (an error otherwise)
        let r = network_authorisations(&BenchOptions {
            quick: true,
            ..BenchOptions::default()
        })
        .unwrap();
        // a wall-clock line per path, and its CPU line where /proc is readable
        let cpu_lines = r
            .measurements
            .iter()
            .filter(|m| m.name.contains("CPU time"))
            .count();
        let expected_cpu = if process_cpu_time().is_some() { 3 } else { 0 };
        assert_eq!(cpu_lines, expected_cpu);
        assert_eq!(r.measurements.len(), 3 + expected_cpu);
        assert!(r.in_process > 0.0 && r.http > 0.0 && r.iso8583 > 0.0);
    }
}
