//! The card's commands, checked against EMV 4.4 Book 3 §6.5 and docs/emv.md §4–§6.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;

use common::*;
use emv_apdu::{AcType, StatusWord, commands};
use emv_card::{Card, CardError, FileStore};
use emv_crypto::oda::{self, test_keys};
use emv_crypto::script::ScriptCommand;
use emv_tlv::Tag;

// ---------------------------------------------------------------- selection

#[test]
fn pse_fci_directory_and_partial_selection() {
    let mut c = card("visa-cvn18");
    let r = send(&mut c, &commands::select_pse().to_bytes().unwrap());
    assert_eq!(r.sw, StatusWord::Success);
    let fci = emv_tlv::parse_one(&r.data).unwrap();
    assert_eq!(fci.find(Tag::new(0x88)).unwrap().value(), [0x01]);
    let rec = send(&mut c, &hex("00B2010C00"));
    assert_eq!(rec.sw, StatusWord::Success);
    assert!(hex::encode_upper(&rec.data).contains("4F07A0000000031010"));
    assert_eq!(
        sw(&mut c, &hex("00B2020C00")),
        0x6A83,
        "one directory record"
    );
    assert_eq!(
        sw(&mut c, &hex("00B2011400")),
        0x6A82,
        "the PSE has only SFI 1"
    );

    // partial AID, first then next occurrence (Book 1 §12.3.3)
    let partial = hex("A000000003");
    let r = send(&mut c, &commands::select(&partial).to_bytes().unwrap());
    assert_eq!(r.sw, StatusWord::Success);
    assert!(hex::encode_upper(&r.data).contains("8407A0000000031010"));
    assert_eq!(
        sw(&mut c, &commands::select_next(&partial).to_bytes().unwrap()),
        0x6A82
    );
    assert_eq!(
        sw(
            &mut c,
            &commands::select(&hex("A000000004")).to_bytes().unwrap()
        ),
        0x6A82
    );
    // the PPSE is a contactless thing: a contact profile does not answer it
    assert_eq!(
        sw(&mut c, &hex("00A404000E325041592E5359532E444446303100")),
        0x6A82
    );
    assert_eq!(sw(&mut c, &hex("00A4040000")), 0x6700, "empty DF name");
}

// ---------------------------------------------------------------- GPO / records / data

#[test]
fn gpo_formats_and_atc() {
    let mut c = card("visa-cvn10");
    assert_eq!(
        sw(&mut c, &hex("80A8000002830000")),
        0x6985,
        "GPO before SELECT"
    );
    select_app(&mut c);
    let r = send(&mut c, &hex("80A8000002830000"));
    assert_eq!(r.sw, StatusWord::Success);
    assert_eq!(r.data[0], 0x80, "format 1");
    assert_eq!(&r.data[2..4], [0x5C, 0x00]);
    assert_eq!(c.state().atc, 1, "ATC incremented by GPO");
    assert_eq!(sw(&mut c, &hex("80A8000002830000")), 0x6985, "second GPO");
    select_app(&mut c);
    assert_eq!(
        sw(&mut c, &hex("80A80000029F00")),
        0x6A80,
        "not template 83"
    );
    assert_eq!(
        sw(&mut c, &hex("80A8000003830100")),
        0x6700,
        "PDOL data without a PDOL"
    );

    let mut c = card("visa-cvn18");
    start(&mut c);
    let r = send(&mut c, &hex("00B2010C00"));
    assert_eq!(r.sw, StatusWord::Success);
    // PDOL: data must match its length
    let p = perso_with("visa-cvn18", &["9F38=9F1A02"]);
    let mut c = Card::in_memory(p).unwrap();
    select_app(&mut c);
    assert_eq!(sw(&mut c, &hex("80A8000002830000")), 0x6700);
    // Le = 00 as Book 3 §6.5.8.2 sends it (without Le, see tests/apdu_interface.rs)
    assert_eq!(sw(&mut c, &hex("80A80000048302025000")), 0x9000);
}

#[test]
fn every_afl_record_reads_and_nothing_else() {
    for name in ["visa-cvn18", "mc-cvn16", "visa-cvn18-enciphered-pin"] {
        let mut c = card(name);
        start(&mut c);
        let afl = c.personalisation().apps[0].afl.clone();
        for e in afl.chunks_exact(4) {
            for r in e[1]..=e[2] {
                let p2 = (e[0] & 0xF8) | 0x04;
                let resp = send(&mut c, &[0x00, 0xB2, r, p2, 0x00]);
                assert_eq!(
                    resp.sw,
                    StatusWord::Success,
                    "{name} SFI {} rec {r}",
                    e[0] >> 3
                );
                assert_eq!(resp.data[0], 0x70);
            }
            let past = e[2] + 1;
            assert_eq!(
                sw(&mut c, &[0x00, 0xB2, past, (e[0] & 0xF8) | 4, 0]),
                0x6A83
            );
        }
        assert_eq!(
            sw(&mut c, &hex("00B2017C00")),
            0x6A82,
            "SFI 15 is not in the AFL"
        );
        assert_eq!(
            sw(&mut c, &hex("00B2010800")),
            0x6A86,
            "P2 without 100 in b3-b1"
        );
    }
}

#[test]
fn get_data_counters_and_limits() {
    let mut c = card("visa-cvn18");
    assert_eq!(
        sw(&mut c, &hex("80CA9F1700")),
        0x6985,
        "no application selected"
    );
    start(&mut c);
    assert_eq!(send(&mut c, &hex("80CA9F1700")).data, hex("9F170103"));
    assert_eq!(send(&mut c, &hex("80CA9F3600")).data, hex("9F36020001"));
    assert_eq!(send(&mut c, &hex("80CA9F1300")).data, hex("9F13020000"));
    assert_eq!(send(&mut c, &hex("80CA9F1400")).data, hex("9F140103"));
    assert_eq!(send(&mut c, &hex("80CA9F2300")).data, hex("9F230105"));
    assert!(
        send(&mut c, &hex("80CA9F4F00"))
            .data
            .starts_with(&hex("9F4F"))
    );
    assert_eq!(sw(&mut c, &hex("80CA9F9900")), 0x6A88);
    assert_eq!(
        sw(&mut c, &hex("80CA5A00")),
        0x6A88,
        "the PAN is read from records"
    );
}

// ---------------------------------------------------------------- PIN

#[test]
fn three_wrong_pins_block_and_the_right_pin_is_then_refused() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C2);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C1);
    assert_eq!(verify_pin(&mut c, "0000"), 0x63C0);
    assert_eq!(
        verify_pin(&mut c, "1234"),
        0x6983,
        "blocked even for the right PIN"
    );
    assert_eq!(ptc(&mut c), 0);
    // a new transaction does not help
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "1234"), 0x6983);
}

#[test]
fn a_correct_pin_resets_the_counter() {
    let mut c = card("visa-cvn18-ptl5");
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "1111"), 0x63C4);
    assert_eq!(verify_pin(&mut c, "2222"), 0x63C3);
    assert_eq!(verify_pin(&mut c, "1234"), 0x9000);
    assert_eq!(ptc(&mut c), 5);
}

#[test]
fn malformed_verify_costs_no_try() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    assert_eq!(sw(&mut c, &hex("00200080071234FFFFFFFFFF")), 0x6700);
    assert_eq!(
        sw(&mut c, &hex("0020008008141234FFFFFFFFFF")),
        0x6A80,
        "control nibble 1"
    );
    assert_eq!(
        sw(&mut c, &hex("0020008008241A34FFFFFFFFFF")),
        0x6A80,
        "non-BCD digit"
    );
    assert_eq!(
        sw(&mut c, &hex("0020008008231234FFFFFFFFFF")),
        0x6A80,
        "length 3"
    );
    assert_eq!(
        sw(&mut c, &hex("0020008108241234FFFFFFFFFF")),
        0x6A86,
        "P2 81"
    );
    assert_eq!(
        sw(&mut c, &hex("0020018008241234FFFFFFFFFF")),
        0x6A86,
        "P1 01"
    );
    assert_eq!(ptc(&mut c), 3);
}

#[test]
fn enciphered_pin_with_the_pin_key() {
    let mut c = card("visa-cvn18-enciphered-pin");
    start(&mut c);
    let key = test_keys::ICC_896_E65537.public_key().unwrap();
    let mut rng = rand_core_os();
    // without a fresh challenge: 6984
    let enc = emv_crypto::offline_pin::encipher_pin(&key, "4321", &[0; 8], &mut rng).unwrap();
    assert_eq!(verify_enc(&mut c, &enc), 0x6984);
    // challenge, then VERIFY right away
    let ch: [u8; 8] = send(&mut c, &hex("0084000000")).data.try_into().unwrap();
    let enc = emv_crypto::offline_pin::encipher_pin(&key, "4321", &ch, &mut rng).unwrap();
    assert_eq!(verify_enc(&mut c, &enc), 0x9000);
    // the challenge is good for one command only
    assert_eq!(verify_enc(&mut c, &enc), 0x6984);
    // wrong PIN: 63C2; a challenge followed by another command is spent
    let ch: [u8; 8] = send(&mut c, &hex("0084000000")).data.try_into().unwrap();
    let enc = emv_crypto::offline_pin::encipher_pin(&key, "0000", &ch, &mut rng).unwrap();
    assert_eq!(verify_enc(&mut c, &enc), 0x63C2);
    let ch: [u8; 8] = send(&mut c, &hex("0084000000")).data.try_into().unwrap();
    assert_eq!(ptc(&mut c), 2);
    let enc = emv_crypto::offline_pin::encipher_pin(&key, "4321", &ch, &mut rng).unwrap();
    assert_eq!(verify_enc(&mut c, &enc), 0x6984);
    // wrong length: 6984 (Book 2 §7.2)
    send(&mut c, &hex("0084000000"));
    assert_eq!(verify_enc(&mut c, &enc[1..]), 0x6984);
    assert_eq!(ptc(&mut c), 2, "undecipherable data costs no try");
    // a card without ODA keys cannot do it at all
    let mut c = card("visa-cvn10");
    start(&mut c);
    send(&mut c, &hex("0084000000"));
    let enc = emv_crypto::offline_pin::encipher_pin(&key, "1234", &[0; 8], &mut rng).unwrap();
    assert_eq!(verify_enc(&mut c, &enc), 0x6985);
}

fn verify_enc(c: &mut emv_card::Card<emv_card::MemoryStore>, enciphered: &[u8]) -> u16 {
    sw(
        c,
        &commands::verify_enciphered(enciphered).to_bytes().unwrap(),
    )
}

fn rand_core_os() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

// ---------------------------------------------------------------- GENERATE AC

#[test]
fn arqc_verifies_at_the_issuer_for_every_cvn() {
    for name in [
        "visa-cvn10",
        "visa-cvn18",
        "visa-cvn22",
        "mc-cvn16",
        "mc-cvn20",
    ] {
        let mut c = card(name);
        let tx = Tx::default();
        let r = go_online(&mut c, &tx);
        let issuer = Issuer::of(&c);
        let aip = c.personalisation().apps[0].aip;
        assert!(
            issuer.verify_arqc(&tx, aip, &r),
            "{name}: ARQC does not verify"
        );
        assert_eq!(r.atc, 1);
        assert_eq!(
            emv_crypto::Cvn::from_iad(&r.iad).unwrap(),
            c.personalisation().cvn
        );
        // a different amount does not verify
        let other = Tx {
            amount: 2501,
            ..Tx::default()
        };
        assert!(!issuer.verify_arqc(&other, aip, &r), "{name}");
    }
}

#[test]
fn card_action_analysis() {
    // TC asked, nothing wrong: TC
    let mut c = card("visa-cvn18");
    start(&mut c);
    let data = Tx::default().cdol1(&c);
    let r = generate_ac(&mut c, AcType::Tc, &data);
    assert_eq!(parse_ac(&r.data).cid & 0xC0, 0x40);
    assert_eq!(
        generate_ac(&mut c, AcType::Aac, &data).sw,
        StatusWord::ConditionsNotSatisfied
    );
    // AAC asked: AAC
    start(&mut c);
    let r = generate_ac(&mut c, AcType::Aac, &data);
    assert_eq!(parse_ac(&r.data).cid & 0xC0, 0x00);
    // PIN blocked: the card wants to go online (profile risk.online_if_pin_blocked)
    start(&mut c);
    for _ in 0..3 {
        verify_pin(&mut c, "9999");
    }
    let r = generate_ac(&mut c, AcType::Tc, &data);
    let ac = parse_ac(&r.data);
    assert_eq!(ac.cid & 0xC0, 0x80);
    // Visa CVR: offline PIN performed and failed, PIN Try Limit exceeded
    assert_eq!(ac.iad[4] & 0x06, 0x06);
    assert_eq!(ac.iad[5] & 0x40, 0x40);
    // wrong length of CDOL1 data
    start(&mut c);
    assert_eq!(
        generate_ac(&mut c, AcType::Tc, &data[1..]).sw,
        StatusWord::WrongLength
    );
    assert_eq!(sw(&mut c, &hex("80AEC00000")), 0x6A86, "P1 type 11 is RFU");
    // GENERATE AC before GPO
    select_app(&mut c);
    assert_eq!(
        generate_ac(&mut c, AcType::Tc, &data).sw,
        StatusWord::ConditionsNotSatisfied
    );
}

#[test]
fn consecutive_offline_limit_sends_the_card_online() {
    let mut c = card("mc-cvn16"); // lower limit 2
    let data = Tx::default().cdol1(&c);
    let mut cids = Vec::new();
    for _ in 0..3 {
        start(&mut c);
        cids.push(parse_ac(&generate_ac(&mut c, AcType::Tc, &data).data).cid & 0xC0);
    }
    assert_eq!(cids, [0x40, 0x40, 0x80]);
}

fn second_gac_data(
    card: &Card<emv_card::MemoryStore>,
    arc: &[u8; 2],
    tag91: Option<&[u8]>,
) -> Vec<u8> {
    let dol = &card.personalisation().apps[0].cdol2;
    let tvr = [0u8; 5];
    let un = [0x55u8; 4];
    let amount = hex("000000002500");
    dol.build(|t: Tag| match t.value() {
        0x8A => Some(&arc[..]),
        0x91 => tag91,
        0x95 => Some(&tvr[..]),
        0x9F37 => Some(&un[..]),
        0x9F02 => Some(&amount[..]),
        _ => None,
    })
}

#[test]
fn issuer_authentication_method1_in_second_generate_ac() {
    let mut c = card("mc-cvn16");
    let tx = Tx::default();
    let r = go_online(&mut c, &tx);
    assert!(c.state().last_online_not_completed);
    let issuer = Issuer::of(&c);
    let arpc = emv_crypto::cryptogram::generate_arpc(
        issuer.cvn,
        &issuer.keys.ac,
        r.atc,
        &tx.un,
        &r.ac,
        &emv_crypto::cryptogram::ArpcResponse::Arc(*b"00"),
    )
    .unwrap();
    let data = second_gac_data(&c, b"00", Some(&arpc.issuer_authentication_data));
    let r2 = generate_ac(&mut c, AcType::Tc, &data);
    assert_eq!(r2.sw, StatusWord::Success);
    assert_eq!(parse_ac(&r2.data).cid & 0xC0, 0x40, "TC after a good ARPC");
    assert!(!c.state().last_online_not_completed);
    assert_eq!(c.state().last_online_atc, r.atc);

    // a bad ARPC: AAC, and the next transaction reports it
    let r = go_online(&mut c, &tx);
    let mut bad = arpc.issuer_authentication_data.clone();
    bad[0] ^= 1;
    let _ = r;
    let data = second_gac_data(&c, b"00", Some(&bad));
    let r2 = generate_ac(&mut c, AcType::Tc, &data);
    assert_eq!(parse_ac(&r2.data).cid & 0xC0, 0x00, "AAC after a bad ARPC");
    assert!(c.state().issuer_auth_failed_last);
}

#[test]
fn external_authenticate_and_csu_reset_the_pin_try_counter() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    verify_pin(&mut c, "9999");
    verify_pin(&mut c, "9999");
    verify_pin(&mut c, "9999");
    assert_eq!(ptc(&mut c), 0);
    let tx = Tx::default();
    assert_eq!(
        sw(&mut c, &hex("0082000008 0102030405060708")),
        0x6985,
        "before the ARQC"
    );
    let data = tx.cdol1(&c);
    let r = parse_ac(&generate_ac(&mut c, AcType::Arqc, &data).data);
    let issuer = Issuer::of(&c);
    let csu = emv_crypto::cryptogram::Csu::approve_and_reset_ptc(3).to_bytes();
    let arpc = emv_crypto::cryptogram::generate_arpc(
        issuer.cvn,
        &issuer.keys.ac,
        r.atc,
        &tx.un,
        &r.ac,
        &emv_crypto::cryptogram::ArpcResponse::Csu {
            csu,
            proprietary: vec![],
        },
    )
    .unwrap();
    let ea = commands::external_authenticate(&arpc.issuer_authentication_data)
        .to_bytes()
        .unwrap();
    assert!(
        c.authenticated_issuer_response().is_none(),
        "before the ARPC"
    );
    assert_eq!(sw(&mut c, &ea), 0x9000);
    assert!(matches!(
        c.authenticated_issuer_response(),
        Some(emv_crypto::cryptogram::ArpcResponse::Csu { csu: b, .. }) if *b == csu
    ));
    assert_eq!(sw(&mut c, &ea), 0x6985, "a second EXTERNAL AUTHENTICATE");
    let d2 = second_gac_data(&c, b"00", None);
    let r2 = generate_ac(&mut c, AcType::Tc, &d2);
    assert_eq!(parse_ac(&r2.data).cid & 0xC0, 0x40);
    assert_eq!(ptc(&mut c), 3, "CSU: PIN Try Counter set to 3");
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "1234"), 0x9000);

    // a forged ARPC: 6300 and nothing changes
    let mut c = card("visa-cvn18");
    start(&mut c);
    for _ in 0..3 {
        verify_pin(&mut c, "9999");
    }
    let d1 = Tx::default().cdol1(&c);
    let r = parse_ac(&generate_ac(&mut c, AcType::Arqc, &d1).data);
    let mut forged = arpc.issuer_authentication_data.clone();
    forged[3] ^= 0x01;
    let _ = r;
    assert_eq!(
        sw(
            &mut c,
            &commands::external_authenticate(&forged).to_bytes().unwrap()
        ),
        0x6300
    );
    assert!(c.authenticated_issuer_response().is_none(), "a forged ARPC");
    let d2 = second_gac_data(&c, b"00", None);
    let r2 = generate_ac(&mut c, AcType::Tc, &d2);
    assert_eq!(parse_ac(&r2.data).cid & 0xC0, 0x00);
    assert_eq!(ptc(&mut c), 0);
}

// ---------------------------------------------------------------- ODA

#[test]
fn sda_dda_and_cda_verify_with_the_test_ca() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    let app = c.personalisation().apps[0].clone();
    let ca = test_keys::CA_E1.public_key().unwrap();
    let get = |t: u32| app.get(t).unwrap().to_vec();
    let today = oda::YearMonth::new(2026, 11).unwrap();
    let issuer = oda::recover_issuer_public_key(
        &ca,
        &get(0x90),
        &get(0x92),
        &get(0x9F32),
        &get(0x5A),
        today,
    )
    .unwrap();
    let sda = emv_card::static_data_to_authenticate(&app);
    oda::verify_static_application_data(&issuer.key, &get(0x93), &sda).unwrap();
    let icc = oda::recover_icc_public_key(
        &issuer.key,
        &get(0x9F46),
        &get(0x9F48),
        &get(0x9F47),
        &sda,
        &get(0x5A),
        today,
    )
    .unwrap();
    // DDA
    let r = send(&mut c, &hex("0088000004CAFEBABE00"));
    assert_eq!(r.sw, StatusWord::Success);
    let sdad = emv_tlv::parse_one(&r.data)
        .unwrap()
        .find(Tag::new(0x9F4B))
        .unwrap()
        .value()
        .to_vec();
    oda::recover_dynamic_application_data(&icc.key, &sdad, &hex("CAFEBABE")).unwrap();
    assert!(oda::recover_dynamic_application_data(&icc.key, &sdad, &hex("CAFEBABF")).is_err());

    // CDA on the CVN 22 card (AIP CDA): the AC sits inside 9F4B
    let mut c = card("visa-cvn22");
    start(&mut c);
    let tx = Tx::default();
    let data = tx.cdol1(&c);
    let r = send(
        &mut c,
        &commands::generate_ac(AcType::Arqc, true, &data)
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(r.sw, StatusWord::Success);
    let top = emv_tlv::parse_one(&r.data).unwrap();
    assert!(top.find(Tag::new(0x9F26)).is_none());
    let sdad = top.find(Tag::new(0x9F4B)).unwrap().value().to_vec();
    let mut tlvs = Vec::new();
    for t in top.children().flatten() {
        if t.tag() != Tag::new(0x9F4B) {
            tlvs.extend_from_slice(t.raw());
        }
    }
    let hash = oda::cda_transaction_data_hash(&[], &data, None, &tlvs);
    let cid = top.find(Tag::new(0x9F27)).unwrap().value()[0];
    let icc_key = test_keys::ICC_768_E3.public_key().unwrap();
    oda::verify_cda(&icc_key, &sdad, &tx.un, cid, &hash).unwrap();
}

// ---------------------------------------------------------------- scripts

#[test]
fn unblock_script_restores_the_limit_and_a_bad_mac_changes_nothing() {
    for name in [
        "visa-cvn18",
        "mc-cvn16",
        "visa-cvn10",
        "visa-cvn22",
        "mc-cvn20",
    ] {
        let mut c = card(name);
        start(&mut c);
        for _ in 0..3 {
            verify_pin(&mut c, "9999");
        }
        let tx = Tx::default();
        let d1 = tx.cdol1(&c);
        let r = parse_ac(&generate_ac(&mut c, AcType::Arqc, &d1).data);
        let issuer = Issuer::of(&c);
        let mut bad = issuer.script(r.atc, r.ac, 0, &ScriptCommand::PinUnblock);
        let n = bad.len();
        bad[n - 1] ^= 0x01;
        assert_eq!(sw(&mut c, &bad), 0x6988, "{name}: bad MAC");
        assert_eq!(c.state().pin_try_counter, 0, "{name}");
        assert_eq!(c.state().sm_failures, 1);
        // the next command of the script uses the next index (M/Chip AC increment)
        let good = issuer.script(r.atc, r.ac, 1, &ScriptCommand::PinUnblock);
        assert_eq!(sw(&mut c, &good), 0x9000, "{name}: unblock");
        assert_eq!(c.state().pin_try_counter, 3, "{name}");
        // the same command without secure messaging is refused
        let mut plain = good.clone();
        plain[0] = 0x80;
        assert_eq!(sw(&mut c, &plain), 0x6985, "{name}: no SM");
    }
}

#[test]
fn pin_change_script_changes_the_offline_pin() {
    for name in [
        "visa-cvn18",
        "mc-cvn16",
        "visa-cvn22",
        "mc-cvn20",
        "visa-cvn10",
    ] {
        let mut c = card(name);
        let tx = Tx::default();
        let r = go_online(&mut c, &tx);
        let issuer = Issuer::of(&c);
        let cmd = issuer.script(r.atc, r.ac, 0, &Issuer::pin_change("8080"));
        assert_eq!(sw(&mut c, &cmd), 0x9000, "{name}");
        let old = c.personalisation().source.card.pin.clone();
        start(&mut c);
        assert_eq!(verify_pin(&mut c, &old), 0x63C2, "{name}: old PIN");
        assert_eq!(verify_pin(&mut c, "8080"), 0x9000, "{name}: new PIN");
        assert!(!c.state().pin_cryptogram.contains("8080"));
    }
    // Visa P2 = 01: the PIN block is built with the current PIN
    let mut c = card("visa-cvn18");
    let r = go_online(&mut c, &Tx::default());
    let issuer = Issuer::of(&c);
    let cmd = issuer.script(
        r.atc,
        r.ac,
        0,
        &ScriptCommand::PinChange {
            new_pin: emv_crypto::Pin::new("5555").unwrap(),
            current_pin: Some(emv_crypto::Pin::new("1234").unwrap()),
        },
    );
    assert_eq!(cmd[3], 0x01);
    assert_eq!(sw(&mut c, &cmd), 0x9000);
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "5555"), 0x9000);
}

#[test]
fn application_and_card_block() {
    let mut c = card("visa-cvn18");
    let r = go_online(&mut c, &Tx::default());
    let issuer = Issuer::of(&c);
    assert_eq!(
        sw(
            &mut c,
            &issuer.script(r.atc, r.ac, 0, &ScriptCommand::ApplicationBlock)
        ),
        0x9000
    );
    // blocked: SELECT answers 6283 with the FCI, GENERATE AC gives AAC only
    let s = select_app(&mut c);
    assert_eq!(u16::from(s.sw), 0x6283);
    assert!(!s.data.is_empty());
    assert_eq!(sw(&mut c, &hex("80A8000002830000")), 0x9000);
    let data = Tx::default().cdol1(&c);
    let r = parse_ac(&generate_ac(&mut c, AcType::Arqc, &data).data);
    assert_eq!(r.cid & 0xC0, 0x00);
    // unblock needs an ARQC, which a blocked app never gives: block/unblock within one
    // online transaction instead
    let mut c = card("visa-cvn18");
    let r = go_online(&mut c, &Tx::default());
    assert_eq!(
        sw(
            &mut c,
            &issuer.script(r.atc, r.ac, 0, &ScriptCommand::ApplicationBlock)
        ),
        0x9000
    );
    assert_eq!(
        sw(
            &mut c,
            &issuer.script(r.atc, r.ac, 1, &ScriptCommand::ApplicationUnblock)
        ),
        0x9000
    );
    assert_eq!(select_app(&mut c).sw, StatusWord::Success);

    // CARD BLOCK: every SELECT is 6A81
    let mut c = card("mc-cvn16");
    let r = go_online(&mut c, &Tx::default());
    let issuer = Issuer::of(&c);
    assert_eq!(
        sw(
            &mut c,
            &issuer.script(r.atc, r.ac, 0, &ScriptCommand::CardBlock)
        ),
        0x9000
    );
    assert_eq!(u16::from(select_app(&mut c).sw), 0x6A81);
    assert_eq!(
        sw(&mut c, &commands::select_pse().to_bytes().unwrap()),
        0x6A81
    );
}

#[test]
fn put_data_updates_a_limit() {
    let mut c = card("visa-cvn18");
    let r = go_online(&mut c, &Tx::default());
    let issuer = Issuer::of(&c);
    let cmd = issuer.script(
        r.atc,
        r.ac,
        0,
        &ScriptCommand::PutData {
            tag: 0x9F14,
            value: vec![0x07],
        },
    );
    assert_eq!(sw(&mut c, &cmd), 0x9000);
    let cmd = issuer.script(
        r.atc,
        r.ac,
        1,
        &ScriptCommand::PutData {
            tag: 0x5A,
            value: vec![0x07],
        },
    );
    assert_eq!(sw(&mut c, &cmd), 0x6A88, "the PAN is not writable");
    start(&mut c);
    assert_eq!(send(&mut c, &hex("80CA9F1400")).data, hex("9F140107"));
}

#[test]
fn malformed_script_commands_get_their_status_words_and_count_as_failed() {
    for name in ["visa-cvn18", "mc-cvn16"] {
        let mut c = card(name);
        let r = go_online(&mut c, &Tx::default());
        let issuer = Issuer::of(&c);
        // every post-issuance command after the ARQC takes the next index (M/Chip)
        let mut index = 0;
        let mut next = || {
            index += 1;
            index - 1
        };
        let check = |c: &mut Card<emv_card::MemoryStore>, apdu: &[u8], want: u16, what: &str| {
            assert_eq!(sw(c, apdu), want, "{name}: {what}");
            // (a failure is remembered for the whole transaction)
            assert!(
                c.state().script_failed_last,
                "{name}: {what}: failure recorded"
            );
        };
        let _ = next();
        check(&mut c, &hex("84240000"), 0x6A80, "case 1, no Lc");
        let _ = next();
        check(
            &mut c,
            &hex("8424000000"),
            0x6700,
            "case 2, Le 00 read as Lc 0",
        );
        let _ = next();
        check(&mut c, &hex("8424000004"), 0x6A80, "case 2, Le 04");
        let _ = next();
        check(
            &mut c,
            &hex("842400000401020304"),
            0x6700,
            "Lc too short for the MAC",
        );
        let _ = next();
        check(
            &mut c,
            &hex("842400000000080102030405060708"),
            0x6A80,
            "extended Lc",
        );
        // a correct MAC over a command this card cannot take
        let i = next();
        let cmd = issuer.secured(r.atc, r.ac, i, [0x85, 0x24, 0x00, 0x00], &[]);
        check(&mut c, &cmd, 0x6A80, "logical channel 1");
        let i = next();
        let cmd = issuer.secured(r.atc, r.ac, i, [0x84, 0x1E, 0x00, 0x00], &[1, 2, 3, 4]);
        check(&mut c, &cmd, 0x6700, "APPLICATION BLOCK with data");
        let i = next();
        let cmd = issuer.secured(r.atc, r.ac, i, [0x84, 0x24, 0x00, 0x02], &[1, 2, 3]);
        check(&mut c, &cmd, 0x6A80, "PIN data not whole blocks");
        let i = next();
        let cmd = issuer.secured(r.atc, r.ac, i, [0x04, 0xDA, 0x9F, 0x14], &[]);
        check(&mut c, &cmd, 0x6A88, "PUT DATA without a value");
        let i = next();
        let cmd = issuer.secured(r.atc, r.ac, i, [0x84, 0x24, 0x00, 0x01], &[0; 16]);
        let p2_01 = if name.starts_with("mc") {
            0x6A86
        } else {
            0x6A80
        };
        check(&mut c, &cmd, p2_01, "P2 01 (Visa only), garbage PIN data");
        assert_eq!(c.state().sm_failures, 0, "{name}: no MAC failed so far");
        // a bad MAC is found before anything else about the command
        let i = next();
        let mut cmd = issuer.secured(r.atc, r.ac, i, [0x85, 0x24, 0x00, 0x00], &[]);
        let n = cmd.len();
        cmd[n - 1] ^= 1;
        check(&mut c, &cmd, 0x6988, "bad MAC on channel 1");
        assert_eq!(c.state().sm_failures, 1, "{name}");
        // a trailing Le byte is tolerated
        let i = next();
        let mut cmd = issuer.script(r.atc, r.ac, i, &ScriptCommand::PinUnblock);
        cmd.push(0x00);
        assert_eq!(sw(&mut c, &cmd), 0x9000, "{name}: case 4 PIN UNBLOCK");
        assert_eq!(c.state().script_commands_last, 1, "{name}");
    }
}

#[test]
fn commands_out_of_order_are_refused() {
    let tx = Tx::default();
    // the order checks come before the data is looked at
    let ea = hex("0082000008 0102030405060708");
    // before GPO: GENERATE AC (even with an RFU P1), EXTERNAL AUTHENTICATE, scripts
    let mut c = card("visa-cvn18");
    let issuer = Issuer::of(&c);
    let unblock = |r: &AcResult, i: u32| issuer.script(r.atc, r.ac, i, &ScriptCommand::PinUnblock);
    select_app(&mut c);
    let d1 = tx.cdol1(&c);
    assert_eq!(u16::from(generate_ac(&mut c, AcType::Tc, &d1).sw), 0x6985);
    assert_eq!(sw(&mut c, &hex("80AEC00000")), 0x6985, "RFU P1 before GPO");
    assert_eq!(sw(&mut c, &ea), 0x6985);
    let pre = AcResult {
        cid: 0,
        atc: 1,
        ac: [0; 8],
        iad: vec![],
    };
    assert_eq!(sw(&mut c, &unblock(&pre, 0)), 0x6985, "script before GPO");
    // after GPO, before the first GENERATE AC
    assert_eq!(sw(&mut c, &hex("80A8000002830000")), 0x9000);
    assert_eq!(sw(&mut c, &hex("80AEC00000")), 0x6A86, "RFU P1 after GPO");
    assert_eq!(sw(&mut c, &ea), 0x6985);
    assert_eq!(
        sw(&mut c, &unblock(&pre, 0)),
        0x6985,
        "script before the ARQC"
    );
    assert_eq!(sw(&mut c, &hex("80A8000002830000")), 0x6985, "second GPO");
    // first GENERATE AC gives a TC: the transaction is over
    let r = generate_ac(&mut c, AcType::Tc, &d1);
    assert_eq!(r.sw, StatusWord::Success);
    let r = parse_ac(&r.data);
    assert_eq!(r.cid & 0xC0, 0x40, "TC");
    assert_eq!(u16::from(generate_ac(&mut c, AcType::Tc, &d1).sw), 0x6985);
    assert_eq!(sw(&mut c, &ea), 0x6985, "EXTERNAL AUTHENTICATE after a TC");
    assert_eq!(sw(&mut c, &unblock(&r, 0)), 0x6985, "script after a TC");
    assert_eq!(
        sw(&mut c, &hex("80A8000002830000")),
        0x6985,
        "GPO after a TC"
    );

    // online: the second GENERATE AC may not ask for an ARQC; EXTERNAL AUTHENTICATE takes
    // 8-16 bytes; after the second GENERATE AC scripts still run, nothing else does
    let mut c = card("visa-cvn18");
    let r = go_online(&mut c, &tx);
    let d2 = second_gac_data(&c, b"00", None);
    assert_eq!(u16::from(generate_ac(&mut c, AcType::Arqc, &d2).sw), 0x6985);
    assert_eq!(
        sw(&mut c, &hex("00820000040102030400")),
        0x6700,
        "4-byte ARPC"
    );
    assert_eq!(
        sw(&mut c, &unblock(&r, 0)),
        0x9000,
        "script before the 2nd GAC"
    );
    assert_eq!(u16::from(generate_ac(&mut c, AcType::Tc, &[1]).sw), 0x6700);
    let r2 = generate_ac(&mut c, AcType::Tc, &d2);
    assert_eq!(
        r2.sw,
        StatusWord::Success,
        "the second GENERATE AC after a bad one"
    );
    assert_eq!(u16::from(generate_ac(&mut c, AcType::Tc, &d2).sw), 0x6985);
    assert_eq!(
        sw(&mut c, &ea),
        0x6985,
        "EXTERNAL AUTHENTICATE after the 2nd GAC"
    );
    assert_eq!(
        sw(&mut c, &unblock(&r, 1)),
        0x9000,
        "script after the 2nd GAC"
    );
    // a new SELECT starts over
    select_app(&mut c);
    assert_eq!(sw(&mut c, &unblock(&r, 2)), 0x6985, "script after SELECT");
    assert_eq!(
        sw(&mut c, &hex("80A8000002830000")),
        0x9000,
        "GPO after SELECT"
    );
}

// ---------------------------------------------------------------- bad input

#[test]
fn malformed_and_unknown_commands_get_status_words() {
    let mut c = card("visa-cvn18");
    let cases: [(&str, u16); 9] = [
        ("", 0x6700),
        ("00", 0x6700),
        ("00A404", 0x6700),
        ("00A4040005A0000000", 0x6700), // Lc says 5, 3 bytes follow
        ("FFA4040000", 0x6E00),
        ("00FE000000", 0x6D00),
        ("00A4050000", 0x6A86),
        ("90200080082412 34FFFFFFFFFF", 0x6884), // chaining on VERIFY
        ("80A4040007A000000003101000", 0x6E00),  // SELECT with CLA 80
    ];
    for (apdu, expected) in cases {
        assert_eq!(sw(&mut c, &hex(apdu)), expected, "{apdu}");
    }
    // and the card is still fine
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "1234"), 0x9000);
}

#[test]
fn faults_from_the_profile() {
    let text = emv_card::profile::resolve("visa-cvn18")
        .unwrap()
        .text()
        .unwrap()
        + "\n[[fault]]\ncommand = \"verify\"\nsw = \"6F00\"\nafter = 1\ntimes = 1\n\
           \n[[fault]]\ncommand = \"read-record\"\nomit_tag = \"8C\"\n\
           \n[[fault]]\ncommand = \"generate-ac\"\nwrong_cryptogram = true\n";
    let file = emv_card::profile::parse(&text, "faulty").unwrap();
    let p = std::sync::Arc::new(emv_card::Personalisation::build(file, "faulty", &[]).unwrap());
    let mut c = Card::in_memory(p).unwrap();
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C2);
    assert_eq!(verify_pin(&mut c, "9999"), 0x6F00, "second VERIFY forced");
    assert_eq!(ptc(&mut c), 2, "a forced answer changes nothing");
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C1);
    let rec = send(&mut c, &hex("00B2021400"));
    assert!(
        emv_tlv::parse_one(&rec.data)
            .unwrap()
            .find(Tag::new(0x8C))
            .is_none()
    );
    let tx = Tx::default();
    let data = tx.cdol1(&c);
    let r = parse_ac(&generate_ac(&mut c, AcType::Arqc, &data).data);
    let aip = c.personalisation().apps[0].aip;
    assert!(
        !Issuer::of(&c).verify_arqc(&tx, aip, &r),
        "the cryptogram is wrong on purpose"
    );
}

// ---------------------------------------------------------------- persistence

#[test]
fn file_store_keeps_the_counter_and_refuses_foreign_files() {
    let dir = std::env::temp_dir().join(format!("emvcard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.json");
    let _ = std::fs::remove_file(&path);
    {
        let mut c = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap();
        start(&mut c);
        assert_eq!(verify_pin(&mut c, "9999"), 0x63C2);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("1234"), "the PIN is not in clear");
    let mut c = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap();
    assert_eq!(c.state().pin_try_counter, 2);
    assert_eq!(c.state().atc, 1);
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "1234"), 0x9000);

    let err = Card::new(perso("mc-cvn16"), FileStore::new(&path)).unwrap_err();
    assert!(matches!(err, CardError::StateMismatch { .. }), "{err}");
    std::fs::write(&path, text.replace("\"version\": 1", "\"version\": 99")).unwrap();
    let err = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
    std::fs::write(&path, "{ garbage").unwrap();
    let err = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap_err();
    assert!(err.to_string().contains("not a card state file"), "{err}");
    // an older file without the later optional fields still loads
    std::fs::write(
        &path,
        r#"{"version":1,"profile":"visa-cvn18","pin_try_counter":1,
            "pin_cryptogram":"PLACEHOLDER","atc":9,"last_online_atc":3}"#
            .replace("PLACEHOLDER", &serde_json_value(&text, "pin_cryptogram")),
    )
    .unwrap();
    let c = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap();
    assert_eq!((c.state().pin_try_counter, c.state().atc), (1, 9));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn serde_json_value(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[key].as_str().unwrap().to_owned()
}

#[test]
fn a_failed_write_grants_no_comparison() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    c.store_mut().fail_saves(true);
    assert_eq!(
        verify_pin(&mut c, "1234"),
        0x6581,
        "memory failure, nothing compared"
    );
    assert_eq!(c.state().pin_try_counter, 3);
    c.store_mut().fail_saves(false);
    assert_eq!(verify_pin(&mut c, "1234"), 0x9000);
}

#[test]
fn power_off_forgets_the_transaction_not_the_counter() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C2);
    c.power_off();
    assert!(
        c.handle(&hex("80CA9F1700")).is_empty(),
        "no power, no answer"
    );
    assert_eq!(c.power_on(), emv_card::ATR);
    assert_eq!(
        sw(&mut c, &hex("80CA9F1700")),
        0x6985,
        "nothing selected after reset"
    );
    start(&mut c);
    assert_eq!(ptc(&mut c), 2);
}

#[test]
fn the_atr_is_emvs_basic_atr_for_t0_and_t1_only_by_choice() {
    // EMV 4.4 Book 1 §8.3: T=0 only (no TD1), TB1 = 00, TC1; no TCK without T=1
    let atr = emv_card::ATR;
    assert_eq!(&atr[..4], [0x3B, 0x68, 0x00, 0x00]);
    assert_eq!(&atr[4..], b"emvbench");
    assert_eq!(card("visa-cvn18").power_on(), atr);
    // the T=1 option: TD1 T=1, TD2 T=1 with TA3 and TB3, TCK
    let t1 = emv_card::ATR_T1;
    assert_eq!(&t1[..8], [0x3B, 0xE8, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45]);
    assert_eq!(t1[1..].iter().fold(0, |a, b| a ^ b), 0, "TCK");
    let base = emv_card::profile::resolve("visa-cvn18")
        .unwrap()
        .text()
        .unwrap();
    let build = |atr: &str| {
        let text = base.replacen("cvn = ", &format!("atr = \"{atr}\"\ncvn = "), 1);
        let file = emv_card::profile::parse(&text, "t1.toml").unwrap();
        emv_card::Personalisation::build(file, "t1.toml", &[])
    };
    let mut c = Card::in_memory(std::sync::Arc::new(build("t1").unwrap())).unwrap();
    assert_eq!(c.power_on(), t1);
    assert_eq!(c.atr(), t1);
    match build("t2").unwrap_err() {
        CardError::ProfileField { field, .. } => assert_eq!(field, "atr"),
        other => panic!("{other}"),
    }
}
