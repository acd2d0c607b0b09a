//! `--card-tag TAG=HEX` overrides: each one lands where the card serves it (a record, GET
//! DATA, the FCI), or the card is refused with where a tag can go. An override that would
//! change nothing is an error, never a silent no-op.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{hex, perso_with, select_app, send};
use emv_apdu::commands;
use emv_card::{Card, Personalisation, TagOverride};

fn refused(tags: &[&str]) -> String {
    let o: Vec<TagOverride> = tags.iter().map(|s| s.parse().unwrap()).collect();
    Personalisation::load("visa-cvn18", &o)
        .unwrap_err()
        .to_string()
}

fn read_record(card: &mut Card<emv_card::MemoryStore>, sfi: u8, rec: u8) -> Vec<u8> {
    let r = send(
        card,
        &commands::read_record(sfi, rec).unwrap().to_bytes().unwrap(),
    );
    assert!(r.sw.is_success(), "{:?}", r.sw);
    r.data
}

fn get_data(card: &mut Card<emv_card::MemoryStore>, tag: u16) -> Vec<u8> {
    let r = send(card, &commands::get_data(tag).to_bytes().unwrap());
    assert!(r.sw.is_success(), "GET DATA {tag:04X}: {:?}", r.sw);
    r.data
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_tag_the_card_cannot_place_is_refused_with_where_tags_go() {
    for tag in ["9F7F", "DF45"] {
        let e = refused(&[&format!("{tag}=AB")]);
        assert!(e.contains(&format!("no data object {tag}")), "{e}");
        for place in ["record", "GET DATA", "9F13", "9F17", "9F36", "9F4F", "FCI"] {
            assert!(e.contains(place), "{place} missing: {e}");
        }
        assert!(e.contains("extends visa-cvn18"), "{e}");
    }
    // a certificate the profile's records do not list has no place either
    let e = refused(&["9F2D=00"]);
    assert!(e.contains("no data object 9F2D"), "{e}");
    // the AID is the profile's own field
    for tag in ["84", "4F"] {
        let e = refused(&[&format!("{tag}=A0000000031010")]);
        assert!(e.contains("application.aid"), "{e}");
    }
}

#[test]
fn tags_that_are_not_tags_are_refused() {
    // '00' and 'FF' are padding (EMV 4.4 Book 3 Annex B1); a lone 9F or 1F is cut short
    for bad in [
        "00=01", "FF01=01", "9F=01", "1F=01", "9F81=01", "XY=01", "=01",
    ] {
        let e = bad.parse::<TagOverride>().unwrap_err().to_string();
        assert!(e.contains(&format!("{:?}", bad)), "{bad}: {e}");
    }
    assert!("9F7F".parse::<TagOverride>().is_err());
}

#[test]
fn a_tag_the_profile_holds_is_replaced_in_its_record() {
    let p = perso_with(
        "visa-cvn18",
        &["9F07=FFC0", "5F20=4D5920434152442F54455354"],
    );
    let mut card = Card::in_memory(p).unwrap();
    select_app(&mut card);
    let r = read_record(&mut card, 2, 1);
    assert!(contains(&r, &hex("9F0702FFC0")), "{}", hex::encode(&r));
    let r = read_record(&mut card, 1, 1);
    assert!(contains(&r, &hex("5F200C4D5920434152442F54455354")));
}

#[test]
fn get_data_tags_are_served_by_get_data() {
    // a limit the profile does not define, and the three counters kept in the card state
    let p = perso_with(
        "visa-cvn18",
        &["9F53=52", "9F13=0007", "9F36=0010", "9F17=02"],
    );
    let mut card = Card::in_memory(p).unwrap();
    select_app(&mut card);
    assert_eq!(get_data(&mut card, 0x9F53), hex("9F530152"));
    assert_eq!(get_data(&mut card, 0x9F13), hex("9F13020007"));
    assert_eq!(get_data(&mut card, 0x9F36), hex("9F36020010"));
    assert_eq!(get_data(&mut card, 0x9F17), hex("9F170102"));
}

#[test]
fn fci_tags_change_the_select_answer() {
    let p = perso_with("visa-cvn18", &["50=4D59204C4142454C", "87=02", "9F12=4D59"]);
    let mut card = Card::in_memory(p).unwrap();
    let fci = select_app(&mut card).data;
    for part in ["50084D59204C4142454C", "870102", "9F12024D59"] {
        assert!(contains(&fci, &hex(part)), "{part}: {}", hex::encode(&fci));
    }
    assert!(!contains(&fci, b"VISA CREDIT"));
    let e = refused(&["50=00"]);
    assert!(e.contains("ans 1–16"), "{e}");
    let e = refused(&["87=0102"]);
    assert!(e.contains("87 takes one byte"), "{e}");
}

#[test]
fn a_computed_certificate_is_replaced_in_its_record() {
    // the issuer public key certificate (90) is computed from [oda]; an override still
    // wins, as a deliberately broken certificate for an ODA test
    let p = perso_with("visa-cvn18", &["90=0102030405"]);
    let mut card = Card::in_memory(p).unwrap();
    select_app(&mut card);
    let r = read_record(&mut card, 3, 1);
    assert!(contains(&r, &hex("90050102030405")), "{}", hex::encode(&r));
    // and without the override the record holds the real certificate
    let p = perso_with("visa-cvn18", &[]);
    let mut card = Card::in_memory(p).unwrap();
    select_app(&mut card);
    assert!(!contains(
        &read_record(&mut card, 3, 1),
        &hex("90050102030405")
    ));
}
