//! The PostgreSQL store as a shared issuer (docs/postgres.md): host nodes on one database.
//! Needs a server (`EMVBENCH_TEST_POSTGRES`, e.g. `postgres://emvbench@127.0.0.1:55432/postgres`,
//! where the tests create databases); skipped loudly without one unless
//! `EMVBENCH_REQUIRE_POSTGRES=1` (`.ci/run` sets both).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use emv_auth::{Host, ResponseCode};
use emv_crypto::Cvn;
use emv_host::testkit::{self, TempDir};
use emv_host::{CardRef, Error, HostKeys, Issuer, PinVerificationMethod};

const PAN: &str = "4761739001010010";
const PIN: &str = "4821";

/// A fresh database for this test, or `None` (with a loud line) when there is no server.
fn database(dir: &TempDir) -> Option<String> {
    testkit::postgres_test_database_or_skip(dir).unwrap()
}

fn node(url: &str) -> Issuer {
    Issuer::open_postgres(url, HostKeys::load_test_keys().unwrap(), 8).unwrap()
}

#[test]
fn a_database_that_cannot_be_reached_is_a_clear_error_without_the_password() {
    // nothing listens on port 1 of the loopback interface
    let url = "postgres://bench:s3cret-word@127.0.0.1:1/issuer";
    let e = Issuer::open_postgres(url, HostKeys::load_test_keys().unwrap(), 4).unwrap_err();
    assert!(matches!(e, Error::StoreUnavailable(_)), "{e:?}");
    let shown = e.to_string();
    assert!(
        shown.contains("postgres://bench@127.0.0.1:1/issuer"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    // a URL that does not parse names itself, without its password, too
    let e = Issuer::open_postgres(
        "postgres://bench:s3cret-word@127.0.0.1:notaport/x",
        HostKeys::load_test_keys().unwrap(),
        4,
    )
    .unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

#[test]
fn two_nodes_count_64_concurrent_wrong_pins_exactly_once_each() {
    let dir = TempDir::new("pg-two-nodes");
    let Some(url) = database(&dir) else { return };
    let (a, b) = (node(&url), node(&url));
    a.provision(
        &testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv),
        false,
    )
    .unwrap();
    let limit = a
        .card_status(&CardRef::new(PAN, None))
        .unwrap()
        .online_pin_try_limit;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let mut host = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let req = testkit::card_not_present(PAN, 100, Some("1357")).unwrap();
                barrier.wait();
                Host::authorise(&mut host, &req).unwrap().response_code
            })
        })
        .collect();
    let codes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let count = |code| codes.iter().filter(|c| **c == code).count();
    assert_eq!(
        (
            count(ResponseCode::INCORRECT_PIN),
            count(ResponseCode::PIN_TRIES_EXCEEDED)
        ),
        (usize::from(limit), 64 - usize::from(limit)),
        "{codes:?}"
    );
    // then the right PIN is refused on both nodes: the counter is shared
    for mut host in [a.clone(), b.clone()] {
        let req = testkit::card_not_present(PAN, 100, Some(PIN)).unwrap();
        assert_eq!(
            Host::authorise(&mut host, &req).unwrap().response_code,
            ResponseCode::PIN_TRIES_EXCEEDED
        );
    }
    for n in [&a, &b] {
        let v = n.card_status(&CardRef::new(PAN, None)).unwrap();
        assert_eq!(v.online_pin_tries_left, 0);
    }
}
