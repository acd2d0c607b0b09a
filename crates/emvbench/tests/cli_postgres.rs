//! The issuer host on PostgreSQL from the command line (docs/postgres.md): `host serve
//! --db`, several host processes on one database as one issuer. Needs a server
//! (`EMVBENCH_TEST_POSTGRES`, e.g. `postgres://emvbench@127.0.0.1:55432/postgres`, where
//! the tests create databases); skipped loudly without one unless
//! `EMVBENCH_REQUIRE_POSTGRES=1` (`.ci/run` sets both).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use emv_auth::{Host, ResponseCode};
use emv_host::testkit::{self, TempDir};
use emv_host::{CardRef, HostKeys, HttpHost, Issuer};

mod common;
use common::{run_binary, serve_db};

/// The restart test stops the server under everyone's feet: it runs alone (write), the
/// others side by side (read).
static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh database for this test, or `None` (with a loud line) when there is no server.
fn database(dir: &TempDir) -> Option<String> {
    testkit::postgres_test_database_or_skip(dir).unwrap()
}

fn issuer(url: &str) -> Issuer {
    Issuer::open_database(url, HostKeys::load_test_keys().unwrap(), 4).unwrap()
}

fn client(url: &str) -> HttpHost {
    HttpHost::new(url)
        .unwrap()
        .with_acquirer_key(testkit::TEST_ACQUIRER_KEY)
}

#[test]
fn a_database_that_cannot_be_reached_is_exit_2_naming_it_without_the_password() {
    let (code, _, err) = run_binary(&[
        "host",
        "status",
        "--db",
        "postgres://lab:s3cret-word@127.0.0.1:1/issuer",
        "4761739001010010",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("postgres://lab@127.0.0.1:1/issuer") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    // --db and --data name two stores
    let (code, _, err) = run_binary(&[
        "host",
        "serve",
        "--db",
        "postgres://lab@127.0.0.1:1/issuer",
        "--data",
        "/tmp/x",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn every_seed_scenario_passes_against_a_host_on_postgres() {
    let _server = shared();
    let dir = TempDir::new("pg-scenarios");
    let Some(url) = database(&dir) else { return };
    let log = dir.path().join("host.log");
    let (mut child, urls) = serve_db(&url, &log, &[]);
    let http = urls.iter().find(|u| u.starts_with("http://")).unwrap();
    let scenarios = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&scenarios)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    // over HTTP to the node, then with the embedded host on the same database
    for host in [["--host", http.as_str()], ["--db", url.as_str()]] {
        let out = common::emvbench()
            .args(["scenario", "run"])
            .args(host)
            .args(&files)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let n = files.len();
        assert!(
            out.status.success()
                && stdout.contains(&format!("{n} scenario(s): {n} passed, 0 failed")),
            "{host:?}: {stdout}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn two_host_processes_count_64_concurrent_wrong_pins_exactly_once_each() {
    let _server = shared();
    let dir = TempDir::new("pg-two-processes");
    let Some(url) = database(&dir) else { return };
    let pan = testkit::load_card(&issuer(&url)).unwrap().pan;
    let (mut a, a_urls) = serve_db(&url, &dir.path().join("a.log"), &[]);
    let (mut b, b_urls) = serve_db(&url, &dir.path().join("b.log"), &[]);
    let nodes = [
        a_urls.last().unwrap().clone(),
        b_urls.last().unwrap().clone(),
    ];
    // 64 wrong PINs sent at once, half to each node (card-not-present: no ARQC, so no
    // ATC ordering between the requests decides anything, only the PIN counter)
    let requests: Vec<_> = (0..64)
        .map(|_| testkit::card_not_present(&pan, 100, Some("1357")).unwrap())
        .collect();
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, req)| {
            let node = nodes[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut host = client(&node);
                barrier.wait();
                host.authorise(&req).unwrap().response_code
            })
        })
        .collect();
    let codes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let count = |code| codes.iter().filter(|c| **c == code).count();
    let view = issuer(&url)
        .card_status(&CardRef::new(pan.clone(), None))
        .unwrap();
    let limit = usize::from(view.online_pin_try_limit);
    assert_eq!(
        (
            count(ResponseCode::INCORRECT_PIN),
            count(ResponseCode::PIN_TRIES_EXCEEDED)
        ),
        (limit, 64 - limit),
        "{codes:?}"
    );
    // the right PIN is refused on both nodes now
    for node in &nodes {
        let req = testkit::card_not_present(&pan, 100, Some(testkit::LOAD_PIN)).unwrap();
        assert_eq!(
            client(node).authorise(&req).unwrap().response_code,
            ResponseCode::PIN_TRIES_EXCEEDED,
            "{node}"
        );
    }
    for c in [&mut a, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// What one caller saw: its card, the approvals it was told about, the errors it got.
type Seen = (String, u64, Vec<String>);

/// Approvals the callers were told about, per card, while `stop` is false.
fn load(
    nodes: &[String],
    cards: Vec<testkit::TestCard>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Seen>> {
    cards
        .into_iter()
        .enumerate()
        .map(|(i, mut card)| {
            let node = nodes[i % nodes.len()].clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut host = client(&node);
                let (mut acknowledged, mut errors) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let req = card.online(1, Some(testkit::LOAD_PIN)).unwrap().request;
                    match host.authorise(&req) {
                        Ok(r) if r.response_code == ResponseCode::APPROVED => acknowledged += 1,
                        Ok(r) => panic!("{node}: {} {}", r.response_code, r.reason),
                        // the node is gone (or the database away): not acknowledged
                        Err(e) => {
                            errors.push(e.to_string());
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                (card.pan.clone(), acknowledged, errors)
            })
        })
        .collect()
}

/// Every approval a caller was told about is in the database: the card's journal holds
/// at least that many approvals (one more at most: committed while its answer was lost),
/// and its open-to-buy went down by exactly what the journal holds.
fn check_acknowledged(url: &str, acknowledged: &[Seen]) {
    let host = issuer(url);
    for (pan, acked, _) in acknowledged {
        let view = host.card_status(&CardRef::new(pan.clone(), None)).unwrap();
        let journal = emv_host::store::postgres::simple_query(
            url,
            &format!(
                "SELECT count(*)::text FROM authorisations a JOIN cards c ON c.id = a.card_id \
                 WHERE c.pan = '{pan}' AND a.response_code = '00'"
            ),
        )
        .unwrap();
        let in_db: u64 = journal[0][0].as_deref().unwrap().parse().unwrap();
        assert!(
            *acked <= in_db && in_db <= acked + 1,
            "{pan}: {acked} acknowledged, {in_db} in the journal"
        );
        assert_eq!(view.open_to_buy, (1_u64 << 50) - in_db, "{pan}");
    }
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_change_and_the_other_keeps_serving() {
    let _server = shared();
    let dir = TempDir::new("pg-kill-node");
    let Some(url) = database(&dir) else { return };
    let setup = issuer(&url);
    let cards: Vec<_> = (0..8)
        .map(|_| testkit::load_card(&setup).unwrap())
        .collect();
    let (mut a, a_urls) = serve_db(&url, &dir.path().join("a.log"), &[]);
    let (mut b, b_urls) = serve_db(&url, &dir.path().join("b.log"), &[]);
    let nodes = [
        a_urls.last().unwrap().clone(),
        b_urls.last().unwrap().clone(),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let callers = load(&nodes, cards, stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    // SIGKILL: no chance to finish anything
    a.kill().unwrap();
    let _ = a.wait();
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<_> = callers.into_iter().map(|h| h.join().unwrap()).collect();
    // the callers of node B went on after the kill
    let on_b: u64 = acknowledged
        .iter()
        .skip(1)
        .step_by(2)
        .map(|(_, n, _)| n)
        .sum();
    assert!(on_b > 0, "{acknowledged:?}");
    check_acknowledged(&url, &acknowledged);
    // node B still answers
    let mut card = testkit::load_card(&setup).unwrap();
    let req = card.online(1, Some(testkit::LOAD_PIN)).unwrap().request;
    assert_eq!(
        client(&nodes[1]).authorise(&req).unwrap().response_code,
        ResponseCode::APPROVED
    );
    let _ = b.kill();
    let _ = b.wait();
}

#[test]
fn the_database_restarted_under_load_loses_nothing_and_the_nodes_recover_by_themselves() {
    let _alone = SERVER
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = TempDir::new("pg-restart");
    let Some(url) = database(&dir) else { return };
    // how to restart the server (a command line for `sh -c`; `.ci/run` sets it)
    let Ok(restart) = std::env::var("EMVBENCH_TEST_POSTGRES_RESTART") else {
        assert!(
            std::env::var_os("EMVBENCH_REQUIRE_POSTGRES").is_none(),
            "EMVBENCH_REQUIRE_POSTGRES is set but EMVBENCH_TEST_POSTGRES_RESTART is not"
        );
        eprintln!("SKIPPED: set EMVBENCH_TEST_POSTGRES_RESTART to the server's restart command");
        return;
    };
    let setup = issuer(&url);
    let cards: Vec<_> = (0..8)
        .map(|_| testkit::load_card(&setup).unwrap())
        .collect();
    drop(setup);
    let (mut a, a_urls) = serve_db(&url, &dir.path().join("a.log"), &[]);
    let (mut b, b_urls) = serve_db(&url, &dir.path().join("b.log"), &[]);
    let nodes = [
        a_urls.last().unwrap().clone(),
        b_urls.last().unwrap().clone(),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let callers = load(&nodes, cards, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let out = std::process::Command::new("sh")
        .args(["-c", &restart])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{restart}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the nodes recover without a restart of their own: both approve again
    let mut card = testkit::load_card(&issuer(&url)).unwrap();
    for node in &nodes {
        let mut approved = false;
        for _ in 0..100 {
            let req = card.online(1, Some(testkit::LOAD_PIN)).unwrap().request;
            if let Ok(r) = client(node).authorise(&req) {
                approved = r.response_code == ResponseCode::APPROVED;
                if approved {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(approved, "{node} did not recover");
    }
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<_> = callers.into_iter().map(|h| h.join().unwrap()).collect();
    check_acknowledged(&url, &acknowledged);
    // while the database was away the nodes said so: 503, never a 500 or a wrong answer
    let refused: usize = acknowledged.iter().map(|(_, _, e)| e.len()).sum();
    eprintln!("requests refused while the database restarted: {refused}");
    for (_, _, errors) in &acknowledged {
        for e in errors {
            assert!(
                e.contains("HTTP 503") && e.contains("store-unavailable"),
                "{e}"
            );
        }
    }
    for c in [&mut a, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The path of an absolute URL a host answered with.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
}

#[test]
fn a_view_pin_token_from_one_node_is_redeemed_once_on_the_other() {
    let _server = shared();
    let dir = TempDir::new("pg-view-pin");
    let Some(url) = database(&dir) else { return };
    let (mut a, a_urls) = serve_db(&url, &dir.path().join("a.log"), &["--provision-profiles"]);
    let (mut b, b_urls) = serve_db(&url, &dir.path().join("b.log"), &[]);
    let (node_a, node_b) = (a_urls.last().unwrap(), b_urls.last().unwrap());
    // the README's plastic, its token from node A
    let token: serde_json::Value = HttpHost::new(node_a)
        .unwrap()
        .with_api_key(testkit::TEST_API_KEY)
        .call(
            "POST",
            "/pin-control/v1/plastics/PL-4761-0119-A/token",
            Some(&serde_json::json!({ "scope": "VIEW_PIN" })),
        )
        .unwrap();
    let page = path_of(token["pinURL"].as_str().unwrap());
    let control_id = token["id"].as_str().unwrap();
    // the device reaches node B: the page opens there, once
    let (status, html) = HttpHost::new(node_b)
        .unwrap()
        .post_form(&page, &[("controlId", control_id)])
        .unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("viewURL"), "{html}");
    // a second redemption is refused on either node
    for node in [node_a, node_b] {
        let (status, html) = HttpHost::new(node)
            .unwrap()
            .post_form(&page, &[("controlId", control_id)])
            .unwrap();
        assert_eq!(status, 409, "{node}: {html}");
    }
    for c in [&mut a, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
