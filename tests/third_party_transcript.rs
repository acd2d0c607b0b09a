//! A real third-party exchange (python-emv's `emvtool -p 1234 cap`, recorded through pcscd
//! and vpcd; docs/virtual-reader.md §10.2) read with emv-apdu and emv-tlv together:
//! every command is recognised, every response body parses as TLV and carries the data the
//! kernel needs, and our builders produce the same command bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use emv_apdu::{AcType, CommandView, ResponseView, StatusWord, commands};
use emv_tlv::bits::{Afl, CvmCode, CvmList};
use emv_tlv::{Dol, Tag, find, find_path, hex, parse_all};

const TRANSCRIPT: &[(&str, &str)] = &[
    (
        "00 A4 04 00 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 00",
        "6F 1A 84 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 08 88 01 01 5F 2D 02 65 6E 90 00",
    ),
    (
        "00 B2 01 0C 00",
        "70 19 61 17 4F 07 A0 00 00 00 03 10 10 50 09 54 45 53 54 20 56 49 53 41 87 01 01 90 00",
    ),
    ("00 B2 02 0C 00", "6A 83"),
    (
        "00 A4 04 00 07 A0 00 00 00 03 10 10 00",
        "6F 19 84 07 A0 00 00 00 03 10 10 A5 0E 50 09 54 45 53 54 20 56 49 53 41 87 01 01 90 00",
    ),
    ("80 A8 00 00 02 83 00 00", "80 06 18 00 08 01 02 00 90 00"),
    (
        "00 B2 01 0C 00",
        "70 27 57 13 47 61 73 90 01 01 01 19 D2 51 22 01 10 00 00 00 00 00 0F 5F 20 0F 54 45 53 54 2F 43 41 52 44 48 4F 4C 44 45 52 90 00",
    ),
    (
        "00 B2 02 0C 00",
        "70 69 5A 08 47 61 73 90 01 01 01 19 5F 24 03 25 12 31 5F 25 03 20 01 01 5F 28 02 08 26 5F 34 01 00 9F 07 02 FF 00 8C 15 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04 8D 17 8A 02 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04 8E 0E 00 00 00 00 00 00 00 00 01 03 1E 03 1F 00 9F 42 02 08 26 90 00",
    ),
    ("00 20 00 80 08 24 12 34 FF FF FF FF FF 00", "90 00"),
    (
        "80 AE 80 00 1D 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80 00 00 00 00 00 00 01 01 01 00 00 00 00 00 00",
        "80 12 80 00 01 73 7E 7F 64 FE 80 BD 29 06 01 0A 03 A0 00 00 90 00",
    ),
];

#[test]
fn every_command_is_recognised() {
    let names: Vec<String> = TRANSCRIPT
        .iter()
        .map(|(c, _)| {
            let bytes = hex::decode(c).unwrap();
            let view = CommandView::parse(&bytes).unwrap();
            view.identify().expect("known command").name().to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "SELECT",
            "READ RECORD",
            "READ RECORD",
            "SELECT",
            "GET PROCESSING OPTIONS",
            "READ RECORD",
            "READ RECORD",
            "VERIFY (plaintext PIN)",
            "GENERATE AC (ARQC)",
        ]
    );
    let verify = hex::decode(TRANSCRIPT[7].0).unwrap();
    // python-emv appends Le=00 to the case-3 VERIFY: it must still be understood
    let v = CommandView::parse(&verify).unwrap();
    assert_eq!(v.ne, Some(256));
    assert_eq!(v.data, hex::decode("241234FFFFFFFFFF").unwrap());
}

#[test]
fn every_response_body_is_tlv_with_what_the_kernel_needs() {
    let bodies: Vec<(Vec<u8>, StatusWord)> = TRANSCRIPT
        .iter()
        .map(|(_, r)| {
            let bytes = hex::decode(r).unwrap();
            let v = ResponseView::parse(&bytes).unwrap();
            (v.data.to_vec(), v.sw)
        })
        .collect();
    assert_eq!(bodies[2].1, StatusWord::RecordNotFound);

    // PSE FCI: SFI of the directory
    let fci = parse_all(&bodies[0].0).unwrap();
    assert_eq!(
        find_path(&fci, "6F/A5/88").unwrap().unwrap().value(),
        [0x01]
    );
    // directory record: one application
    let dir = parse_all(&bodies[1].0).unwrap();
    let aid = find_path(&dir, "70/61/4F").unwrap().unwrap();
    assert_eq!(aid.value(), hex::decode("A0000000031010").unwrap());
    assert_eq!(find(&dir, Tag::new(0x50)).unwrap().value(), b"TEST VISA");
    // GPO format 1: AIP then AFL, untagged
    let gpo = &bodies[4].0;
    assert_eq!(gpo[0], 0x80);
    let fmt1 = parse_all(gpo).unwrap()[0].value();
    let afl = Afl::parse(&fmt1[2..]).unwrap();
    assert_eq!(afl.0.len(), 1);
    assert_eq!(afl.0[0].sfi, 1);
    assert_eq!(afl.0[0].records().collect::<Vec<_>>(), [1, 2]);
    // record 2: CDOL1 asks for 29 bytes, which is what emvtool sent
    let rec = parse_all(&bodies[6].0).unwrap();
    let cdol1 = Dol::parse(find(&rec, Tag::new(0x8C)).unwrap().value()).unwrap();
    assert_eq!(cdol1.data_len(), 0x1D);
    let gen_ac_bytes = hex::decode(TRANSCRIPT[8].0).unwrap();
    let gen_ac = CommandView::parse(&gen_ac_bytes).unwrap();
    assert_eq!(gen_ac.data.len(), cdol1.data_len());
    let parts = cdol1.split(gen_ac.data).unwrap();
    assert_eq!(
        parts[3],
        (Tag::new(0x95), &hex::decode("8000000000").unwrap()[..])
    );
    // CVM List: offline plaintext PIN first
    let cvm = CvmList::parse(find(&rec, Tag::new(0x8E)).unwrap().value()).unwrap();
    assert_eq!(cvm.rules[0].code(), CvmCode::PlaintextPinIcc);
    // GENERATE AC format 1: CID, ATC, AC, IAD
    let ac = parse_all(&bodies[8].0).unwrap()[0].value();
    assert_eq!(ac[0], 0x80, "CID says ARQC");
    assert_eq!(&ac[1..3], [0x00, 0x01], "ATC");
}

#[test]
fn our_builders_send_the_same_bytes() {
    let pse = commands::select_pse().to_bytes().unwrap();
    assert_eq!(pse, hex::decode(TRANSCRIPT[0].0).unwrap());
    let sel = commands::select(&hex::decode("A0000000031010").unwrap())
        .to_bytes()
        .unwrap();
    assert_eq!(sel, hex::decode(TRANSCRIPT[3].0).unwrap());
    let gpo = commands::get_processing_options(&[]).to_bytes().unwrap();
    assert_eq!(gpo, hex::decode(TRANSCRIPT[4].0).unwrap());
    let rr = commands::read_record(1, 2).unwrap().to_bytes().unwrap();
    assert_eq!(rr, hex::decode(TRANSCRIPT[6].0).unwrap());
    let theirs = hex::decode(TRANSCRIPT[8].0).unwrap();
    let view = CommandView::parse(&theirs).unwrap();
    let ours = commands::generate_ac(AcType::Arqc, false, view.data)
        .to_bytes()
        .unwrap();
    assert_eq!(ours, hex::decode(TRANSCRIPT[8].0).unwrap());
}
