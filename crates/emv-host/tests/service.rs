//! The issuer's rules, through the in-process service over a temp-dir SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use emv_auth::{Host, OnlinePinResult, ResponseCode};
use emv_crypto::Cvn;
use emv_crypto::cryptogram::{ArpcResponse, Csu};
use emv_crypto::script::ScriptCommandKind;
use emv_host::testkit::{self, TempDir, TestCard};
use emv_host::{
    CardRef, CardStatus, CardView, Error, HostKeys, Issuer, PinResetMode, PinVerificationMethod,
    PlasticStatus,
};

const PAN: &str = "4761739001010010";
const PIN: &str = "4821";

fn setup_with(cvn: Cvn, method: PinVerificationMethod) -> (TempDir, Issuer, TestCard) {
    let dir = TempDir::new("svc");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let p = testkit::provision(PAN, cvn, PIN, method);
    issuer.provision(&p, false).unwrap();
    (dir, issuer, TestCard::new(&p).unwrap())
}

fn setup(cvn: Cvn) -> (TempDir, Issuer, TestCard) {
    setup_with(cvn, PinVerificationMethod::Pvv)
}

fn card() -> CardRef {
    CardRef::new(PAN, None)
}

/// The online PIN tries left; checks on the way that the lean summary a session reads
/// after each transaction agrees with the full status view.
fn tries(i: &Issuer) -> u8 {
    let v = i.card_status(&card()).unwrap();
    assert_summary_matches(i, &v);
    v.online_pin_tries_left
}

fn assert_summary_matches(i: &Issuer, v: &CardView) {
    // by PAN alone and by PAN + PSN (the summary's two queries)
    for r in [card(), CardRef::new(PAN, Some(&v.psn))] {
        let s = i.card_summary(&r).unwrap();
        assert_eq!(
            (s.online_pin_tries_left, s.card_status, s.pending_scripts),
            (v.online_pin_tries_left, v.card_status, v.pending_scripts)
        );
    }
}

#[test]
fn approves_online_pin_and_arqc_for_every_cvn_and_the_card_accepts_the_arpc() {
    for cvn in Cvn::ALL {
        for method in [
            PinVerificationMethod::Pvv,
            PinVerificationMethod::Ibm3624,
            PinVerificationMethod::Encrypted,
        ] {
            let (_d, issuer, mut c) = setup_with(cvn, method);
            let o = c.online(2500, Some(PIN)).unwrap();
            let r = issuer.authorise(&o.request).unwrap();
            assert_eq!(
                r.response_code,
                ResponseCode::APPROVED,
                "{cvn} {method:?}: {}",
                r.reason
            );
            assert_eq!(r.online_pin, Some(OnlinePinResult::Verified));
            assert!(r.auth_code.is_some());
            let (arpc, scripts) = c.check_response(&o, &r).unwrap();
            match arpc.unwrap() {
                ArpcResponse::Arc(arc) => assert_eq!(arc, *b"00", "{cvn}"),
                ArpcResponse::Csu { csu, .. } => {
                    assert!(Csu::from_bytes(csu).approved, "{cvn}");
                    assert!(!Csu::from_bytes(csu).update_pin_try_counter);
                }
            }
            assert!(scripts.is_empty());
            let v = issuer.card_status(&card()).unwrap();
            assert_eq!(v.open_to_buy, 100_000 - 2500);
            assert_eq!(v.chip.last_online_atc, Some(o.atc));
        }
    }
}

#[test]
fn format_4_pin_blocks_are_accepted() {
    let (_d, issuer, mut c) = setup(Cvn::Mc16);
    let mut o = c.online(100, None).unwrap();
    o.request.pin = Some(testkit::pin_block_iso4(PIN, PAN).unwrap());
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED, "{}", r.reason);
}

#[test]
fn unknown_pan_is_14() {
    let (_d, issuer, _) = setup(Cvn::Visa18);
    let r = issuer
        .authorise(&testkit::card_not_present("4761739001010028", 100, None).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::INVALID_CARD_NUMBER);
}

#[test]
fn bad_arqc_is_05_and_changes_no_counter() {
    let (_d, issuer, mut c) = setup(Cvn::Visa18);
    let mut o = c.online(100, Some("0000")).unwrap();
    // flip a bit of the ARQC (9F26 is first in the testkit's DE 55)
    o.request.icc_data[3] ^= 0x01;
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::DO_NOT_HONOUR);
    assert!(r.reason.contains("ARQC"), "{}", r.reason);
    assert!(r.issuer_authentication_data.is_none());
    assert_eq!(tries(&issuer), 3, "a bad ARQC must not cost a PIN try");
    assert_eq!(
        issuer.card_status(&card()).unwrap().chip.last_online_atc,
        None
    );
}

#[test]
fn atc_replay_is_05_and_an_identical_retransmission_gets_the_same_answer() {
    let (_d, issuer, mut c) = setup(Cvn::Mc16);
    let first = c.online(100, Some("0000")).unwrap();
    let second = c.online(100, Some(PIN)).unwrap();
    let r2 = issuer.authorise(&second.request).unwrap();
    assert_eq!(r2.response_code, ResponseCode::APPROVED);
    // retransmission: same ATC and ARQC → same answer, no counter change, no second debit
    let again = issuer.authorise(&second.request).unwrap();
    assert_eq!(again, r2);
    assert_eq!(
        issuer.card_status(&card()).unwrap().open_to_buy,
        100_000 - 100
    );
    // an older ATC (genuine cryptogram) is a replay
    let r1 = issuer.authorise(&first.request).unwrap();
    assert_eq!(r1.response_code, ResponseCode::DO_NOT_HONOUR);
    assert!(r1.reason.contains("ATC replay"), "{}", r1.reason);
    assert_eq!(tries(&issuer), 3, "a replay must not cost a PIN try");
}

#[test]
fn wrong_pins_count_down_then_75_on_every_channel_until_reset() {
    let (_d, issuer, mut c) = setup(Cvn::Visa10);
    for left in [2, 1, 0] {
        let o = c.online(100, Some("1357")).unwrap();
        let r = issuer.authorise(&o.request).unwrap();
        assert_eq!(r.response_code, ResponseCode::INCORRECT_PIN);
        assert_eq!(r.online_pin, Some(OnlinePinResult::Incorrect));
        assert_eq!(tries(&issuer), left);
        // the card accepts the ARPC of a decline (ARC 55)
        let (arpc, _) = c.check_response(&o, &r).unwrap();
        assert_eq!(arpc, Some(ArpcResponse::Arc(*b"55")));
    }
    // the right PIN no longer helps
    let r = issuer
        .authorise(&c.online(100, Some(PIN)).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::PIN_TRIES_EXCEEDED);
    assert_eq!(r.online_pin, Some(OnlinePinResult::Blocked));
    // POS without PIN, e-commerce without chip data: 75 too
    let r = issuer
        .authorise(&c.online(100, None).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::PIN_TRIES_EXCEEDED);
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 100, None).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::PIN_TRIES_EXCEEDED);
    assert!(issuer.card_status(&card()).unwrap().online_pin_blocked);
    // reset keeping the PIN: next transaction works
    let out = issuer
        .reset_pin(&card(), PinResetMode::Keep, "test")
        .unwrap();
    assert_eq!(out.online_pin_tries_left, 3);
    assert!(out.pending_scripts.is_empty());
    let r = issuer
        .authorise(&c.online(100, Some(PIN)).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
}

#[test]
fn a_correct_pin_resets_the_counter() {
    let (_d, issuer, mut c) = setup(Cvn::Visa18);
    for _ in 0..2 {
        issuer
            .authorise(&c.online(100, Some("1357")).unwrap().request)
            .unwrap();
    }
    assert_eq!(tries(&issuer), 1);
    let r = issuer
        .authorise(&c.online(100, Some(PIN)).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
    assert_eq!(tries(&issuer), 3);
}

#[test]
fn open_to_buy_expiry_and_issuer_block() {
    let (_d, issuer, mut c) = setup(Cvn::Mc20);
    let r = issuer
        .authorise(&c.online(100_001, Some(PIN)).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::INSUFFICIENT_FUNDS);
    assert_eq!(tries(&issuer), 3, "the right PIN was verified");
    // 62 when blocked by the issuer, without spending a PIN try
    issuer
        .set_card_status(&card(), CardStatus::Blocked, "test")
        .unwrap();
    let r = issuer
        .authorise(&c.online(100, Some("1357")).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::RESTRICTED_CARD);
    assert_eq!(tries(&issuer), 3);
    let v = issuer
        .set_card_status(&card(), CardStatus::Active, "test")
        .unwrap();
    assert_eq!(v.card_status, CardStatus::Active);
    // expiry not matching any plastic
    let mut req = testkit::card_not_present(PAN, 100, None).unwrap();
    req.expiry = Some("2001".into());
    let r = issuer.authorise(&req).unwrap();
    assert_eq!(r.response_code, ResponseCode::EXPIRED_CARD, "{}", r.reason);
    // an expired card
    let dir = TempDir::new("svc-expired");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let mut p = testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv);
    p.expiry = "2001".into();
    p.plastics[0].expiry = "2001".into();
    issuer.provision(&p, false).unwrap();
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 100, Some(PIN)).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::EXPIRED_CARD);
    assert_eq!(
        tries(&issuer),
        3,
        "an expired card does not spend a PIN try"
    );
    // a LOST plastic
    let mut p = testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv);
    p.plastics[0].status = PlasticStatus::Lost;
    issuer.provision(&p, true).unwrap();
    let r = issuer
        .authorise(&testkit::card_not_present(PAN, 100, None).unwrap())
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::RESTRICTED_CARD);
    assert!(r.reason.contains("LOST"), "{}", r.reason);
}

#[test]
fn bad_pin_blocks_are_errors_and_change_nothing() {
    let (_d, issuer, mut c) = setup(Cvn::Visa18);
    let o = c.online(100, Some("1357")).unwrap();
    type Mutate = Box<dyn Fn(&mut emv_auth::PinData)>;
    let cases: [(&str, Mutate, &str); 3] = [
        (
            "unknown key",
            Box::new(|p| p.key_id = "TPK-NOPE".into()),
            "unknown-key-id",
        ),
        (
            "format 4 with a TDES key",
            Box::new(|p| p.format = 4),
            "wrong-pin-block-format",
        ),
        (
            "format 1",
            Box::new(|p| p.format = 1),
            "wrong-pin-block-format",
        ),
    ];
    for (what, f, code) in cases {
        let mut req = o.request.clone();
        f(req.pin.as_mut().unwrap());
        let e = issuer.authorise(&req).unwrap_err();
        assert_eq!(e.code(), code, "{what}: {e}");
        assert!(e.is_client_error());
    }
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.online_pin_tries_left, 3);
    assert_eq!(v.chip.last_online_atc, None);
    // a block that decrypts to garbage is no error but a wrong PIN, so that its answer
    // tells an unauthenticated caller nothing more (docs/issuer-host.md §3)
    let mut garbled = c.online(100, Some("1357")).unwrap().request;
    garbled.pin.as_mut().unwrap().pin_block = vec![0; 8];
    let r = issuer.authorise(&garbled).unwrap();
    assert_eq!(r.response_code, ResponseCode::INCORRECT_PIN);
    assert_eq!(r.reason, "incorrect PIN: 2 online PIN tries left");
    issuer
        .reset_pin(&card(), emv_host::PinResetMode::Keep, "test")
        .unwrap();
    // DE 4 and 9F02 must agree
    let mut req = o.request.clone();
    req.amount += 1;
    assert_eq!(issuer.authorise(&req).unwrap_err().code(), "bad-request");
    // malformed DE 55
    let mut req = o.request.clone();
    req.icc_data.truncate(5);
    assert_eq!(
        issuer.authorise(&req).unwrap_err().code(),
        "invalid-icc-data"
    );
}

#[test]
fn offline_blocked_chip_is_unblocked_by_an_atm_with_online_pin() {
    // docs/pin.md §6.2, Visa CVN 18: ARPC method 2, the CSU also resets the PTC
    let (_d, issuer, mut c) = setup(Cvn::Visa18);
    c.chip_pin = testkit::ChipPin {
        ptc: 0,
        blocked: true,
    };
    // a POS transaction without online PIN: the host learns the state, sends nothing
    let o = c.online(100, None).unwrap();
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
    assert!(r.issuer_scripts.is_empty());
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.chip.offline_pin_blocked, Some(true));
    assert_eq!(v.pending_scripts, 0);
    // at the ATM with the right online PIN: PIN UNBLOCK rides on the approval
    let o = c.online(2000, Some(PIN)).unwrap();
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
    assert_eq!(r.issuer_scripts.len(), 1);
    let (arpc, cmds) = c.check_response(&o, &r).unwrap();
    let Some(ArpcResponse::Csu { csu, .. }) = arpc else {
        panic!("method 2 expected")
    };
    let csu = Csu::from_bytes(csu);
    assert!(csu.approved && csu.update_pin_try_counter);
    assert_eq!(csu.pin_try_counter, 3);
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].1.kind, ScriptCommandKind::PinUnblock);
    assert_eq!(issuer.card_status(&card()).unwrap().pending_scripts, 1);
    // the completion reports success: nothing pending, the chip is unblocked
    let out = issuer
        .advise(&testkit::completion(
            &o,
            &r,
            Some(&testkit::script_results_ok(&r)),
        ))
        .unwrap();
    assert_eq!(out.confirmed.len(), 1);
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.pending_scripts, 0);
    assert_eq!(v.chip.offline_pin_blocked, Some(false));
    assert_eq!(v.chip.pin_try_counter, Some(3));
    // the next approval carries nothing
    c.chip_pin = testkit::ChipPin::default();
    let r = issuer
        .authorise(&c.online(100, Some(PIN)).unwrap().request)
        .unwrap();
    assert!(r.issuer_scripts.is_empty());
}

#[test]
fn unblock_api_queues_the_script_for_the_next_authorisation_and_failures_are_resent() {
    let (_d, issuer, mut c) = setup(Cvn::Mc16);
    for _ in 0..3 {
        issuer
            .authorise(&c.online(100, Some("1357")).unwrap().request)
            .unwrap();
    }
    let out = issuer.unblock_pin(&card(), "test").unwrap();
    assert_eq!(out.online_pin_tries_left, 3);
    assert_eq!(out.pending_scripts.len(), 1);
    assert!(out.next_step.unwrap().contains("ATM"));
    // next authorisation (no PIN needed): the script rides on it
    let o1 = c.online(100, None).unwrap();
    let r1 = issuer.authorise(&o1.request).unwrap();
    assert_eq!(r1.response_code, ResponseCode::APPROVED);
    let (_, cmds) = c.check_response(&o1, &r1).unwrap();
    assert_eq!(cmds[0].1.kind, ScriptCommandKind::PinUnblock);
    // the script failed on the card (9F5B 1x): sent again, rebuilt for the new ARQC
    let id = &testkit::script_results_ok(&r1)[1..5];
    let out = issuer
        .advise(&testkit::completion(
            &o1,
            &r1,
            Some(&[&[0x11][..], id].concat()),
        ))
        .unwrap();
    assert_eq!(out.retry.len(), 1);
    let o2 = c.online(100, None).unwrap();
    let r2 = issuer.authorise(&o2.request).unwrap();
    assert_eq!(r2.issuer_scripts.len(), 1);
    assert_ne!(
        r2.issuer_scripts, r1.issuer_scripts,
        "rebuilt for the new ARQC"
    );
    c.check_response(&o2, &r2).unwrap();
    // no advice at all (card removed): sent again with the next one
    let o3 = c.online(100, None).unwrap();
    let r3 = issuer.authorise(&o3.request).unwrap();
    assert_eq!(r3.issuer_scripts.len(), 1);
    // a reversal: not delivered either
    let out = issuer.advise(&testkit::reversal(&o3, &r3)).unwrap();
    assert!(out.reversed);
    assert_eq!(out.retry.len(), 1);
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.pending_scripts, 1);
    assert_summary_matches(&issuer, &v);
    assert_eq!(v.scripts.last().unwrap().attempts, 3);
    // the reversal gave the open-to-buy back: 3 approvals of 1.00, one reversed
    assert_eq!(v.open_to_buy, 100_000 - 200);
}

#[test]
fn pin_reset_with_a_new_pin_is_written_to_the_chip_by_pin_change() {
    // docs/pin.md §6.1 and §6.3
    let (dir, issuer, mut c) = setup(Cvn::Visa10);
    let out = issuer
        .reset_pin(&card(), PinResetMode::New, "test")
        .unwrap();
    assert_eq!(out.pending_scripts.len(), 1);
    let new_pin = issuer.reveal_pin(&card(), "view-pin").unwrap();
    assert_ne!(new_pin, emv_crypto::Pin::new(PIN).unwrap());
    let new_pin = new_pin.expose();
    // the old PIN is now wrong online
    let r = issuer
        .authorise(&c.online(100, Some(PIN)).unwrap().request)
        .unwrap();
    assert_eq!(r.response_code, ResponseCode::INCORRECT_PIN);
    // the ATM with the new PIN: PIN CHANGE carrying the new PIN
    let o = c.online(100, Some(&new_pin)).unwrap();
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED, "{}", r.reason);
    let (_, cmds) = c.check_response(&o, &r).unwrap();
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].1.kind, ScriptCommandKind::PinChange);
    assert_eq!(cmds[0].1.new_pin.as_ref().unwrap().expose(), new_pin);
    // card removed before the script ran: re-sent with the next authorisation
    let o = c.online(100, Some(&new_pin)).unwrap();
    let r = issuer.authorise(&o.request).unwrap();
    let (_, cmds) = c.check_response(&o, &r).unwrap();
    assert_eq!(cmds[0].1.new_pin.as_ref().unwrap().expose(), new_pin);
    issuer
        .advise(&testkit::completion(
            &o,
            &r,
            Some(&testkit::script_results_ok(&r)),
        ))
        .unwrap();
    assert_eq!(issuer.card_status(&card()).unwrap().pending_scripts, 0);
    // the encrypted copy is wiped: a PVV card cannot reveal its PIN any more
    assert_eq!(
        issuer.reveal_pin(&card(), "view-pin").unwrap_err().code(),
        "pin-not-recoverable"
    );
    let pending = testkit::stored_text(&dir, "SELECT pending_pin FROM cards").unwrap();
    assert_eq!(pending, None);
}

#[test]
fn change_pin_takes_an_encrypted_block_and_refuses_trivial_pins() {
    let (_d, issuer, mut c) = setup(Cvn::Mc21);
    let e = issuer
        .change_pin(
            &card(),
            &testkit::pin_block_iso0("1234", PAN).unwrap(),
            "app",
        )
        .unwrap_err();
    assert!(matches!(e, Error::WeakPin(_)), "{e}");
    assert!(e.to_string().contains("consecutive"), "{e}");
    let e = issuer
        .change_pin(
            &card(),
            &testkit::pin_block_iso4("0000", PAN).unwrap(),
            "app",
        )
        .unwrap_err();
    assert!(matches!(e, Error::WeakPin(_)), "{e}");
    let out = issuer
        .change_pin(
            &card(),
            &testkit::pin_block_iso4("2580", PAN).unwrap(),
            "app",
        )
        .unwrap();
    assert_eq!(
        out.pending_scripts[0].kind,
        emv_host::scripts::ScriptKind::PinChange
    );
    let o = c.online(100, Some("2580")).unwrap();
    let r = issuer.authorise(&o.request).unwrap();
    assert_eq!(r.response_code, ResponseCode::APPROVED);
    let (_, cmds) = c.check_response(&o, &r).unwrap();
    assert_eq!(
        cmds[0].1.new_pin.as_ref().unwrap().expose().as_str(),
        "2580"
    );
    // the audit trail: refusals and the change, masked PAN, no PIN
    let log = issuer.audit_log(10).unwrap();
    let changes: Vec<_> = log.iter().filter(|e| e.action == "pin-change").collect();
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[0].outcome, "ok");
    assert!(changes[1].outcome.contains("weak"));
    for e in &log {
        assert_eq!(e.pan, "476173******0010");
        let text = format!("{e:?}");
        assert!(!text.contains("2580") && !text.contains(PIN), "{text}");
    }
}

#[test]
fn provisioning_is_idempotent_unless_reset() {
    let (_d, issuer, mut c) = setup(Cvn::Visa18);
    issuer
        .authorise(&c.online(100, Some("1357")).unwrap().request)
        .unwrap();
    let p = testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv);
    assert_eq!(
        issuer.provision(&p, false).unwrap(),
        emv_host::service::ProvisionOutcome::Updated
    );
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.online_pin_tries_left, 2);
    assert_eq!(v.open_to_buy, 100_000);
    assert_eq!(
        issuer.provision(&p, true).unwrap(),
        emv_host::service::ProvisionOutcome::Reset
    );
    let v = issuer.card_status(&card()).unwrap();
    assert_eq!(v.online_pin_tries_left, 3);
    assert_eq!(v.chip.last_online_atc, None);
    // a second PSN makes the PAN ambiguous without a PSN
    let mut p2 = p.clone();
    p2.psn = "02".into();
    p2.plastics[0].plastic_id = "P-0010-2".into();
    issuer.provision(&p2, false).unwrap();
    assert_eq!(
        issuer.card_status(&card()).unwrap_err().code(),
        "ambiguous-card"
    );
    assert_eq!(
        issuer
            .card_status(&CardRef::new(PAN, Some("02")))
            .unwrap()
            .psn,
        "02"
    );
    // the summary a session reads: the same error, and each PSN's own counters
    assert_eq!(
        issuer.card_summary(&card()).unwrap_err().code(),
        "ambiguous-card"
    );
    let v2 = issuer.card_status(&CardRef::new(PAN, Some("02"))).unwrap();
    let s2 = issuer.card_summary(&CardRef::new(PAN, Some("02"))).unwrap();
    assert_eq!(
        (s2.online_pin_tries_left, s2.card_status, s2.pending_scripts),
        (v2.online_pin_tries_left, v2.card_status, v2.pending_scripts)
    );
    assert_eq!(
        issuer
            .card_summary(&CardRef::new("4761739001010028", None))
            .unwrap_err()
            .code(),
        "unknown-card"
    );
    // a plastic id of another card is refused
    let mut p3 = p.clone();
    p3.pan = "4761739001010028".into();
    assert_eq!(
        issuer.provision(&p3, false).unwrap_err().code(),
        "invalid-provisioning"
    );
}

#[test]
fn sixty_four_concurrent_wrong_pins_count_exactly_the_limit() {
    let dir = TempDir::new("svc-concurrent");
    let keys = || HostKeys::load_test_keys().unwrap();
    let first = testkit::open_issuer(&dir, keys()).unwrap();
    first
        .provision(
            &testkit::provision(PAN, Cvn::Visa18, PIN, PinVerificationMethod::Pvv),
            false,
        )
        .unwrap();
    // four services (four connections) on one file, 16 threads each
    let services: Vec<Issuer> = (0..3)
        .map(|_| testkit::open_issuer(&dir, keys()).unwrap())
        .chain([first])
        .collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let mut host = services[i % 4].clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                let req = testkit::card_not_present(PAN, 100, Some("1357")).unwrap();
                b.wait();
                Host::authorise(&mut host, &req).unwrap().response_code
            })
        })
        .collect();
    let codes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let n55 = codes
        .iter()
        .filter(|c| **c == ResponseCode::INCORRECT_PIN)
        .count();
    let n75 = codes
        .iter()
        .filter(|c| **c == ResponseCode::PIN_TRIES_EXCEEDED)
        .count();
    assert_eq!((n55, n75), (3, 61), "{codes:?}");
    assert_eq!(tries(&services[0]), 0);
}

#[test]
fn the_database_never_holds_a_clear_pin() {
    let dir = TempDir::new("svc-grep");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let secret = "739182645017";
    for (i, m) in [
        PinVerificationMethod::Pvv,
        PinVerificationMethod::Ibm3624,
        PinVerificationMethod::Encrypted,
    ]
    .into_iter()
    .enumerate()
    {
        let pan = format!("476173900101{:04}", 10 + i);
        let card = CardRef::new(pan.clone(), None);
        // a PVV covers 4 digits (docs/pin.md §5): the 12-digit PINs are refused for it,
        // and must not reach the database either
        let (first, changed) = match m {
            PinVerificationMethod::Pvv => {
                let mut p = testkit::provision(&pan, Cvn::Visa18, secret, m);
                assert_eq!(
                    issuer.provision(&p, false).unwrap_err().code(),
                    "invalid-provisioning"
                );
                p.plastics.clear();
                ("7391", "8364")
            }
            _ => (secret, "836402917531"),
        };
        let mut p = testkit::provision(&pan, Cvn::Visa18, first, m);
        p.plastics.clear();
        issuer.provision(&p, false).unwrap();
        issuer.reset_pin(&card, PinResetMode::New, "t").unwrap();
        if m == PinVerificationMethod::Pvv {
            let long = testkit::pin_block_iso0("836402917531", &pan).unwrap();
            assert_eq!(
                issuer.change_pin(&card, &long, "t").unwrap_err().code(),
                "pin-length"
            );
        }
        issuer
            .change_pin(&card, &testkit::pin_block_iso0(changed, &pan).unwrap(), "t")
            .unwrap();
        let r = issuer
            .authorise(&testkit::card_not_present(&pan, 1, Some(changed)).unwrap())
            .unwrap();
        assert_eq!(
            r.response_code,
            ResponseCode::APPROVED,
            "{m:?}: {}",
            r.reason
        );
    }
    drop(issuer);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let bytes = testkit::stored_bytes(&dir).unwrap();
    // the store holds the cards (their PANs are there), never their PINs
    assert!(bytes.windows(16).any(|w| w == b"4761739001010010"));
    for pin in [secret, "836402917531"] {
        let ascii = pin.as_bytes();
        let bcd = hex::decode(pin).unwrap();
        assert!(!bytes.windows(ascii.len()).any(|w| w == ascii));
        assert!(!bytes.windows(bcd.len()).any(|w| w == bcd));
    }
}
