//! The transaction log (EMV 4.4 Book 3 Annex D, docs/emv.md §9.4): the Log Entry in the
//! FCI, a record per completed transaction, READ RECORD on the log's SFI, cyclic, kept in
//! the card's state file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use emv_apdu::{AcType, StatusWord};
use emv_card::{Card, CardError, FileStore, Personalisation, profile};
use emv_tlv::Tag;

/// visa-cvn18's Log Format: 9A 03, 9F21 03, 5F2A 02, 9F02 06, 9F4E 14, 9C 01, 9F36 02.
const VISA_LOG_LEN: usize = 3 + 3 + 2 + 6 + 20 + 1 + 2;

fn read_log(c: &mut Card<impl emv_card::CardStore>, record: u8) -> emv_apdu::Response {
    send(c, &[0x00, 0xB2, record, (11 << 3) | 4, 0x00])
}

/// SELECT, GPO, first GENERATE AC asking for a TC with `tx`.
fn offline<S: emv_card::CardStore>(c: &mut Card<S>, tx: &Tx) -> u8 {
    start(c);
    let data = tx.cdol1(c);
    let r = generate_ac(c, AcType::Tc, &data);
    assert_eq!(r.sw, StatusWord::Success);
    parse_ac(&r.data).cid
}

#[test]
fn the_fci_names_the_log_and_each_completed_transaction_adds_a_record() {
    let mut c = card("visa-cvn18");
    let fci = select_app(&mut c);
    let fci = emv_tlv::parse_one(&fci.data).unwrap();
    let entry = fci.find(Tag::new(0xBF0C)).unwrap().find(Tag::new(0x9F4D));
    assert_eq!(entry.unwrap().value(), [0x0B, 0x0A], "SFI 11, 10 records");
    assert_eq!(
        read_log(&mut c, 1).sw,
        StatusWord::RecordNotFound,
        "empty log"
    );

    let tx = Tx {
        amount: 2500,
        ..Tx::default()
    };
    offline(&mut c, &tx);
    let r = read_log(&mut c, 1);
    assert_eq!(r.sw, StatusWord::Success);
    assert_eq!(
        r.data.len(),
        VISA_LOG_LEN,
        "the Log Format's values, no TLV"
    );
    let cdol1 = tx.cdol1(&c);
    // CDOL1: 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1) 9F37(4) ...
    let (amount, currency, date, kind) = (&cdol1[0..6], &cdol1[19..21], &cdol1[21..24], cdol1[24]);
    assert_eq!(&r.data[0..3], date, "9A");
    assert_eq!(
        &r.data[3..6],
        [0, 0, 0],
        "9F21: the card never learns the time"
    );
    assert_eq!(&r.data[6..8], currency, "5F2A");
    assert_eq!(&r.data[8..14], amount, "9F02");
    assert_eq!(&r.data[14..34], [0; 20], "9F4E: not sent to the card");
    assert_eq!(r.data[34], kind, "9C");
    assert_eq!(&r.data[35..37], [0x00, 0x01], "9F36: the ATC");
    // Le: a shorter one gets 6Cxx as any case 2 command
    assert_eq!(
        send(&mut c, &[0x00, 0xB2, 0x01, 0x5C, 0x05]).sw,
        StatusWord::WrongLe(37)
    );

    // an online transaction is logged by the second GENERATE AC, newest first
    let online = go_online(&mut c, &tx);
    assert_eq!(
        read_log(&mut c, 2).sw,
        StatusWord::RecordNotFound,
        "ARQC: not yet"
    );
    let second = second_gac(&c, &online);
    assert_eq!(
        send(
            &mut c,
            &emv_apdu::commands::generate_ac(AcType::Tc, false, &second)
                .to_bytes()
                .unwrap()
        )
        .sw,
        StatusWord::Success
    );
    assert_eq!(&read_log(&mut c, 1).data[35..37], [0x00, 0x02]);
    assert_eq!(&read_log(&mut c, 2).data[35..37], [0x00, 0x01]);
    assert_eq!(read_log(&mut c, 3).sw, StatusWord::RecordNotFound);
    // GET DATA 9F4F still gives the format
    assert_eq!(
        send(&mut c, &hex("80CA9F4F00")).data,
        hex("9F4F139A039F21035F2A029F02069F4E149C019F3602")
    );
}

/// CDOL2 data for an approval with no ARPC (visa-cvn18's CDOL2: 8A 9F02 9F03 9F1A 95 5F2A
/// 9A 9C 9F37).
fn second_gac<S: emv_card::CardStore>(c: &Card<S>, _online: &AcResult) -> Vec<u8> {
    let cdol2 = &c.personalisation().apps[0].cdol2;
    cdol2.build(|t| match t.value() {
        0x8A => Some(b"00".as_slice()),
        _ => None,
    })
}

#[test]
fn the_log_is_cyclic_and_survives_in_the_state_file() {
    let dir = std::env::temp_dir().join(format!("emv-card-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let _ = std::fs::remove_file(&path);
    // two records; a lower consecutive offline limit of 10 keeps the three offline
    let p = perso_with("mc-cvn16", &["9F4D=0B02", "9F14=0A"]);
    {
        let mut c = Card::new(p.clone(), FileStore::new(&path)).unwrap();
        for amount in [100, 200, 300] {
            let tx = Tx {
                amount,
                ..Tx::default()
            };
            assert_eq!(offline(&mut c, &tx) & 0xC0, 0x40, "a TC");
        }
    }
    let mut c = Card::new(p, FileStore::new(&path)).unwrap();
    select_app(&mut c);
    // mc-cvn16's Log Format: 9F27 01, 9F02 06, 5F2A 02, 9A 03, 9F36 02, 9F1A 02, 9C 01
    let r1 = read_log(&mut c, 1);
    assert_eq!(r1.data.len(), 17);
    assert_eq!(
        &r1.data[1..7],
        [0, 0, 0, 0, 0x03, 0x00],
        "the last amount first"
    );
    assert_eq!(r1.data[0] & 0xC0, 0x40, "CID: a TC");
    assert_eq!(&r1.data[12..14], [0x00, 0x03], "ATC 3");
    assert_eq!(&read_log(&mut c, 2).data[1..7], [0, 0, 0, 0, 0x02, 0x00]);
    assert_eq!(
        read_log(&mut c, 3).sw,
        StatusWord::RecordNotFound,
        "two records kept: the oldest went"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_log_entry_needs_its_own_sfi_and_a_log_format() {
    let base = profile::resolve("visa-cvn18").unwrap().text().unwrap();
    let build = |from: &str, to: &str| {
        assert!(base.contains(from), "fixture drifted: {from}");
        let file = profile::parse(&base.replacen(from, to, 1), "log.toml").unwrap();
        Personalisation::build(file, "log.toml", &[]).map(Arc::new)
    };
    for (to, why) in [
        ("\"9F4D\" = \"050A\"", "SFI 5"),
        ("\"9F4D\" = \"0B\"", "1 bytes"),
        ("\"9F4D\" = \"0B00\"", "0 records"),
    ] {
        match build("\"9F4D\" = \"0B0A\"", to).unwrap_err() {
            CardError::ProfileField { field, reason, .. } => {
                assert_eq!(field, "application[0].data.9F4D");
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("{other}"),
        }
    }
    let err = build("\"9F4F\" = \"9A039F21035F2A029F02069F4E149C019F3602\"", "").unwrap_err();
    assert!(err.to_string().contains("Log Format"), "{err}");
    // without a Log Entry there is no log, and the FCI has no BF0C
    let p = build("\"9F4D\" = \"0B0A\"", "").unwrap();
    assert!(p.apps[0].log_entry.is_none());
    let mut c = Card::in_memory(p).unwrap();
    assert!(!hex::encode_upper(select_app(&mut c).data).contains("BF0C"));
    offline(&mut c, &Tx::default());
    assert_eq!(read_log(&mut c, 1).sw, StatusWord::FileNotFound);
}
