//! Issuer host throughput: online-PIN + ARQC authorisations per second, in-process (one
//! caller, and 16 callers sharing the group commit), on an in-memory store (the service's
//! CPU cost without fsync), and over HTTP on loopback with 16 keep-alive clients.
//!
//! Every authorisation verifies an ARQC, decrypts a format 0 PIN block, checks the PVV,
//! decrements then resets the online PIN counter, debits the open-to-buy, writes the
//! journal and commits (WAL) before it answers: `sync_full` fsyncs every commit (survives a
//! power cut; the default), `sync_normal` leaves the WAL in the OS cache (survives a
//! killed process; `host serve --sync normal`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use emv_auth::{AuthRequest, Host, ResponseCode};
use emv_host::testkit::{self, TEST_ACQUIRER_KEY, TempDir, TestCard};
use emv_host::{HostKeys, HttpHost, Issuer, SyncMode, http};

const PIN: &str = testkit::LOAD_PIN;

/// A card's ATC is 2 bytes: a bench card is replaced by a new one before it runs out.
const ATC_LIMIT: u64 = 60_000;

fn new_card(issuer: &Issuer) -> TestCard {
    testkit::load_card(issuer).unwrap()
}

/// `cards` provisioned cards (one per concurrent caller keeps ATCs in order).
fn setup(issuer: &Issuer, cards: usize) -> Vec<TestCard> {
    (0..cards).map(|_| new_card(issuer)).collect()
}

/// `n` requests from `card`, replaced by a new card first if its ATC would run out.
fn requests(issuer: &Issuer, card: &mut TestCard, n: u64) -> Vec<AuthRequest> {
    if u64::from(card.atc) + n > ATC_LIMIT {
        *card = new_card(issuer);
    }
    (0..n)
        .map(|_| card.online(1, Some(PIN)).unwrap().request)
        .collect()
}

/// Runs `iters` authorisations split over the callers (one card each); returns wall time.
fn run_parallel<H: Host + Clone + Send + 'static>(
    issuer: &Issuer,
    hosts: &[H],
    cards: &mut [TestCard],
    iters: u64,
) -> Duration {
    let n = cards.len() as u64;
    let batches: Vec<Vec<AuthRequest>> = cards
        .iter_mut()
        .enumerate()
        .map(|(i, c)| requests(issuer, c, iters / n + u64::from((i as u64) < iters % n)))
        .collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(batches.len() + 1));
    let handles: Vec<_> = batches
        .into_iter()
        .enumerate()
        .map(|(i, reqs)| {
            let mut host = hosts[i % hosts.len()].clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                for r in &reqs {
                    let resp = host.authorise(r).unwrap();
                    assert_eq!(
                        resp.response_code,
                        ResponseCode::APPROVED,
                        "{}",
                        resp.reason
                    );
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

/// One caller: the cost of one authorisation, commit included.
fn one_caller(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, issuer: &Issuer) {
    let mut card = new_card(issuer);
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let reqs = requests(issuer, &mut card, iters);
            let start = Instant::now();
            for r in &reqs {
                let resp = issuer.authorise(r).unwrap();
                assert_eq!(
                    resp.response_code,
                    ResponseCode::APPROVED,
                    "{}",
                    resp.reason
                );
            }
            start.elapsed()
        });
    });
}

fn in_process(c: &mut Criterion) {
    let mut g = c.benchmark_group("in_process");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let keys = || HostKeys::load_test_keys().unwrap();
    let mut dirs = Vec::new();
    for sync in [SyncMode::Full, SyncMode::Normal] {
        let dir = TempDir::new(&format!("bench-{}", sync.name()));
        let issuer = Issuer::open_with(dir.path(), keys(), sync).unwrap();
        dirs.push(dir);
        let mut cards = setup(&issuer, 16);
        one_caller(
            &mut g,
            &format!("online_pin_arqc/sqlite_sync_{}/1_caller", sync.name()),
            &issuer,
        );
        g.bench_function(
            format!("online_pin_arqc/sqlite_sync_{}/16_callers", sync.name()),
            |b| {
                b.iter_custom(|iters| {
                    run_parallel(&issuer, std::slice::from_ref(&issuer), &mut cards, iters)
                });
            },
        );
    }
    let issuer = Issuer::in_memory(keys()).unwrap();
    one_caller(&mut g, "online_pin_arqc/in_memory/1_caller", &issuer);
    g.finish();
}

fn over_http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut dirs = Vec::new();
    for sync in [SyncMode::Full, SyncMode::Normal] {
        let dir = TempDir::new(&format!("bench-http-{}", sync.name()));
        let issuer =
            Issuer::open_with(dir.path(), HostKeys::load_test_keys().unwrap(), sync).unwrap();
        let mut cards = setup(&issuer, 16);
        let provisioner = issuer.clone();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(http::serve_on(listener, issuer, std::future::pending()));
        let url = format!("http://{addr}");
        g.bench_function(
            format!("online_pin_arqc/sqlite_sync_{}/16_clients", sync.name()),
            |b| {
                b.iter_custom(|iters| {
                    // a fresh keep-alive client per caller and run
                    let hosts: Vec<ClonableHttp> =
                        (0..16).map(|_| ClonableHttp(url.clone())).collect();
                    run_parallel(&provisioner, &hosts, &mut cards, iters)
                });
            },
        );
        dirs.push(dir);
    }
    g.finish();
}

/// Each clone opens its own connection (an `HttpHost` per thread).
#[derive(Clone)]
struct ClonableHttp(String);

impl Host for ClonableHttp {
    fn authorise(
        &mut self,
        request: &AuthRequest,
    ) -> Result<emv_auth::AuthResponse, emv_auth::HostError> {
        thread_local! {
            static CLIENT: std::cell::RefCell<Option<HttpHost>> = const { std::cell::RefCell::new(None) };
        }
        CLIENT.with(|c| {
            let mut c = c.borrow_mut();
            let host = match c.as_mut() {
                Some(h) => h,
                None => c.insert(HttpHost::new(&self.0)?.with_acquirer_key(TEST_ACQUIRER_KEY)),
            };
            host.authorise(request)
        })
    }

    fn advise(
        &mut self,
        advice: &emv_auth::Advice,
    ) -> Result<emv_auth::AdviceResponse, emv_auth::HostError> {
        HttpHost::new(&self.0)?
            .with_acquirer_key(TEST_ACQUIRER_KEY)
            .advise(advice)
    }
}

criterion_group!(benches, in_process, over_http);
criterion_main!(benches);
