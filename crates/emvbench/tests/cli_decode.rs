//! `emvbench decode` as a user runs it: output snapshots, JSON shape, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::{Command, Output};

fn emvbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .args(args)
        .output()
        .expect("run emvbench")
}

fn stdout(args: &[&str]) -> String {
    let out = emvbench(args);
    assert!(
        out.status.success(),
        "emvbench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn gpo_response_names_aip_and_afl() {
    let out = stdout(&["decode", "77 0E 82 02 58 00 94 08 08 01 01 00 10 01 03 01"]);
    insta::assert_snapshot!(out);
    assert!(out.contains("Application Interchange Profile"));
    assert!(out.contains("Application File Locator"));
    assert!(out.contains("SFI 2, records 1-3, 1 for offline data authentication"));
}

#[test]
fn tvr_byte3_bit8() {
    let out = stdout(&["decode", "--as", "tvr", "0000800000"]);
    assert_eq!(
        out,
        "TVR 0000800000\n  byte 3 bit 8: Cardholder verification was not successful\n"
    );
}

#[test]
fn read_record_with_cvm_list_and_dols() {
    // a record as a card personalised by this project would return
    let out = stdout(&[
        "decode",
        "70 4A 5A 08 47 61 73 90 01 01 01 19 5F 24 03 27 12 31 5F 34 01 01 \
         8C 15 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04 \
         8E 10 00 00 00 00 00 00 00 00 41 03 42 03 1E 03 1F 00 \
         9F 07 02 FF 00 9F 0D 05 B0 50 AC 88 00",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn generate_ac_response_with_iad() {
    let out = stdout(&[
        "decode",
        "77 27 9F 27 01 80 9F 36 02 00 12 9F 26 08 01 68 F0 A0 7A 03 AC 68 \
         9F 10 07 06 01 12 03 A0 00 00 9F 4B 00 9F 34 03 41 03 02",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn fields_decode_on_their_own() {
    let mut all = String::new();
    for (kind, hex) in [
        ("tsi", "E800"),
        ("aip", "3C01"),
        ("auc", "FF80"),
        (
            "cvm-list",
            "00000000 00002710 4103 4206 0207 1E03 5F09 1F00",
        ),
        ("cvm-results", "410302"),
        ("9f33", "E0F8C8"),
        ("9f40", "F000F0A001"),
        ("9f35", "14"),
        ("cid", "80"),
        ("dol", "9F02069F03069F1A0295055F2A029A039C019F3704"),
        (
            "iad",
            "0FA501A03800000000000000000000000F000000000000000000000000000000",
        ),
        ("afl", "08010100 10010301"),
        ("script-results", "2000000001 1200000002"),
        ("capdu", "84 24 00 00 08 EF84B422728D7A24"),
        ("rapdu", "9F 17 01 03 90 00"),
    ] {
        all.push_str(&format!("$ decode --as {kind} {hex}\n"));
        all.push_str(&stdout(&["decode", "--as", kind, hex]));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn json_output() {
    let out = stdout(&[
        "decode",
        "--json",
        "77 0E 82 02 58 00 94 08 08 01 01 00 10 01 03 01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "tlv");
    let top = &v["objects"][0];
    assert_eq!(top["tag"], "77");
    assert_eq!(top["children"][0]["tag"], "82");
    assert_eq!(top["children"][0]["short"], "AIP");
    assert_eq!(top["children"][0]["value"], "5800");
    assert_eq!(
        top["children"][0]["decoded"][0],
        "byte 1 bit 7: SDA supported"
    );
    assert_eq!(top["children"][1]["offset"], 6);

    let out = stdout(&["decode", "--json", "--as", "tvr", "00 00 80 00 00"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["value"], "0000800000");
    assert_eq!(
        v["decoded"][0],
        "byte 3 bit 8: Cardholder verification was not successful"
    );
}

/// Malformed inputs named by the acceptance criteria: an error naming the offset, exit
/// code 2, never a panic.
#[test]
fn malformed_inputs_are_errors_with_offsets() {
    let cases: Vec<(String, &str)> = vec![
        ("5A".into(), "at byte offset 1: truncated length"),
        (
            "70 83 01 00 00 5A 01".into(),
            "at byte offset 0: value of 65536 bytes runs past the end",
        ),
        (
            "70 80 5A 01 11 00 00".into(),
            "at byte offset 1: indefinite length",
        ),
        ("82 02 58 00 GG".into(), "bad hex at character 12"),
        ("820".into(), "odd number of hex digits"),
        ("E0".to_string(), "at byte offset 1: truncated length"),
        // 300 nested templates
        (
            {
                let mut s = String::new();
                for i in 0..300 {
                    let _ = i;
                    s.push_str("E0 81 ");
                }
                s
            },
            "at byte offset",
        ),
    ];
    for (input, expected) in cases {
        let out = emvbench(&["decode", &input]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {err}");
        assert!(err.contains(expected), "{input}: {err}");
        assert!(!err.contains("panicked"), "{input}: {err}");
    }
}

#[test]
fn three_hundred_valid_nested_templates_hit_the_depth_cap() {
    // well-formed nesting (lengths all consistent), 300 levels deep
    let mut data: Vec<u8> = vec![0x5A, 0x01, 0x11];
    for _ in 0..300 {
        let mut outer = vec![0xE0];
        emv_tlv::encode_length(data.len(), &mut outer);
        outer.extend_from_slice(&data);
        data = outer;
    }
    let out = emvbench(&["decode", &emv_tlv::hex::encode(&data)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("nesting deeper than 10 levels"), "{err}");
}

#[test]
fn field_of_wrong_length_and_unknown_kind() {
    let out = emvbench(&["decode", "--as", "tvr", "00008000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TVR is 5 bytes, got 4"));
    let out = emvbench(&["decode", "--as", "nope", "00"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected tlv, capdu, rapdu or one of"));
}

#[test]
fn help_teaches() {
    let out = stdout(&["decode", "--help"]);
    assert!(out.contains("--as <KIND>"));
    assert!(out.contains("emvbench decode --as tvr"));
}
