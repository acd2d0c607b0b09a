//! The card's APDU interface as a T=0 card answers it (docs/emv.md §9.1): Le handling,
//! `6Cxx` and `61xx` with GET RESPONSE, VERIFY without data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use emv_apdu::StatusWord;
use emv_crypto::script::ScriptCommand;

/// SFI 1 record 1 of visa-cvn18 (Track 2 equivalent and cardholder name): 39 bytes.
const REC_LEN: u8 = 0x27;

#[test]
fn a_short_le_on_a_case_2_command_gets_6cxx_with_the_exact_length() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    let full = send(&mut c, &hex("00B2010C00"));
    assert_eq!(full.sw, StatusWord::Success, "Le = 00: up to 256 bytes");
    assert_eq!(full.data.len(), usize::from(REC_LEN));
    // Le shorter than the record: 6C27 and no data (EMV 4.4 Book 1 §9.3.1, case 2)
    let r = send(&mut c, &hex("00B2010C05"));
    assert_eq!(r.sw, StatusWord::WrongLe(REC_LEN));
    assert!(r.data.is_empty());
    // no Le at all: the same
    assert_eq!(
        send(&mut c, &hex("00B2010C")).sw,
        StatusWord::WrongLe(REC_LEN)
    );
    // the exact length and a longer Le return the record (Ne is a maximum)
    for le in [REC_LEN, REC_LEN + 1, 0xFF] {
        let r = send(&mut c, &[0x00, 0xB2, 0x01, 0x0C, le]);
        assert_eq!(r.sw, StatusWord::Success, "Le {le:02X}");
        assert_eq!(r.data, full.data);
    }
    // GET DATA and GET CHALLENGE too
    assert_eq!(send(&mut c, &hex("80CA9F1702")).sw, StatusWord::WrongLe(4));
    assert_eq!(send(&mut c, &hex("80CA9F1704")).data, hex("9F170103"));
    assert_eq!(
        send(&mut c, &hex("0084000004")).sw,
        StatusWord::WrongLength,
        "GET CHALLENGE takes Le 00 or 08 only (Book 3 §6.5.6.3)"
    );
    // errors carry no data and are not touched
    assert_eq!(sw(&mut c, &hex("00B2090C05")), 0x6A83);
}

#[test]
fn a_case_4_command_without_room_for_its_data_answers_61xx_and_get_response() {
    let mut c = card("visa-cvn18");
    let aid = c.personalisation().apps[0].aid.clone();
    let fci = c.personalisation().apps[0].fci.clone();
    let fci_len = u8::try_from(fci.len()).unwrap();
    // SELECT without Le (the T=0 form of a case 4 command): 61xx, the data waits
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, u8::try_from(aid.len()).unwrap()];
    select.extend_from_slice(&aid);
    let r = send(&mut c, &select);
    assert_eq!(r.sw, StatusWord::MoreData(fci_len));
    assert!(r.data.is_empty());
    let r = send(&mut c, &[0x00, 0xC0, 0x00, 0x00, fci_len]);
    assert_eq!(
        (r.data.as_slice(), r.sw),
        (fci.as_slice(), StatusWord::Success)
    );
    // the SELECT did run: GPO works
    let gpo = send(&mut c, &hex("80A8000002830000"));
    assert_eq!(gpo.sw, StatusWord::Success);

    // a GET RESPONSE with a shorter Le gets the data in pieces, 61xx in between
    assert_eq!(select_app(&mut c).sw, StatusWord::Success);
    let r = send(&mut c, &hex("80A80000028300"));
    let StatusWord::MoreData(n) = r.sw else {
        panic!("GPO without Le: {:?}", r.sw)
    };
    assert_eq!(usize::from(n), gpo.data.len());
    let first = send(&mut c, &hex("00C0000004"));
    assert_eq!(first.data, gpo.data[..4]);
    assert_eq!(first.sw, StatusWord::MoreData(n - 4));
    let rest = send(&mut c, &hex("00C0000000"));
    assert_eq!(rest.data, gpo.data[4..]);
    assert_eq!(rest.sw, StatusWord::Success);
    assert_eq!(c.state().atc, 2, "each GPO ran once");

    // nothing waiting: 6985; and waiting data lasts for the very next command only
    assert_eq!(sw(&mut c, &hex("00C0000000")), 0x6985);
    assert_eq!(select_app(&mut c).sw, StatusWord::Success);
    assert!(matches!(
        send(&mut c, &hex("80A80000028300")).sw,
        StatusWord::MoreData(_)
    ));
    assert_eq!(sw(&mut c, &hex("80CA9F1700")), 0x9000);
    assert_eq!(sw(&mut c, &hex("00C0000000")), 0x6985);
}

#[test]
fn get_response_keeps_the_status_word_of_the_command() {
    // a blocked application answers SELECT with its FCI and 6283 (Book 3 §6.5.1.4)
    let mut c = card("visa-cvn18");
    let aid = c.personalisation().apps[0].aid.clone();
    let r = go_online(&mut c, &Tx::default());
    let block = Issuer::of(&c).script(r.atc, r.ac, 0, &ScriptCommand::ApplicationBlock);
    assert_eq!(sw(&mut c, &block), 0x9000);
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, u8::try_from(aid.len()).unwrap()];
    select.extend_from_slice(&aid);
    let r = send(&mut c, &select);
    let StatusWord::MoreData(n) = r.sw else {
        panic!("{:?}", r.sw)
    };
    let r = send(&mut c, &[0x00, 0xC0, 0x00, 0x00, n]);
    assert_eq!(r.sw, StatusWord::SelectedFileInvalidated);
    assert_eq!(usize::from(n), r.data.len());
}

#[test]
fn verify_without_data_reports_the_tries_left_and_counts_nothing() {
    let mut c = card("visa-cvn18");
    start(&mut c);
    // P2 = 80 and 88, Lc absent (ISO/IEC 7816-4 §11.5.6)
    assert_eq!(sw(&mut c, &hex("0020008000")), 0x63C3);
    assert_eq!(sw(&mut c, &hex("00200080")), 0x63C3);
    assert_eq!(sw(&mut c, &hex("00200088")), 0x63C3);
    assert_eq!(ptc(&mut c), 3, "asking costs no try");
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C2);
    assert_eq!(sw(&mut c, &hex("00200080")), 0x63C2);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C1);
    assert_eq!(verify_pin(&mut c, "9999"), 0x63C0);
    assert_eq!(sw(&mut c, &hex("00200080")), 0x6983, "blocked");
    assert_eq!(sw(&mut c, &hex("00200088")), 0x6983, "blocked");
    assert_eq!(ptc(&mut c), 0);
}
