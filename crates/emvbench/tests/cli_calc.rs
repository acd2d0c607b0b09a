//! `emvbench calc` as a user runs it, against the reference vectors in
//! docs/test-vectors.md (V.. §1, P.. §2, the bench set §4, other known answers §5), with
//! docs/emv.md §6 and docs/pin.md §5 for the recipes: exact values, JSON shape, exit codes,
//! error messages, and the examples printed by `--help`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::process::{Command, Output};

use serde_json::Value;

const IMK: &str = "0123456789ABCDEFFEDCBA9876543210";
const IMK_SMI: &str = "FEDCBA98765432100123456789ABCDEF";
const IMK_SMC: &str = "89ABCDEF0123456776543210FEDCBA98";
const VISA_PAN: &str = "4761739001010119";
const MC_PAN: &str = "5413330089600010";
/// pyemv V09..V16 transaction data: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36.
const DATA: &str = "000000001000000000000000082600000080000826240115001234567858000001";
/// docs/test-vectors.md §4 bench set data.
const BENCH_DATA: &str =
    "000000001000 000000000000 0826 0000008000 0826 250101 00 11223344 3900 0012";
const BENCH_PAN: &str = "5413330089020011";
const BENCH_ARQC: &str = "0168F0A07A03AC68";

fn emvbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emvbench"))
        .args(args)
        .output()
        .expect("run emvbench")
}

fn calc_out(args: &[&str]) -> String {
    let mut all = vec!["calc"];
    all.extend_from_slice(args);
    let out = emvbench(&all);
    assert!(
        out.status.success(),
        "emvbench {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `calc <args> --json`, parsed.
fn calc(args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = calc_out(&with_json);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// `calc <args>` that must fail with exit code 2; returns stderr.
fn calc_err(args: &[&str]) -> String {
    let mut all = vec!["calc"];
    all.extend_from_slice(args);
    let out = emvbench(&all);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
    assert!(out.stdout.is_empty(), "{all:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn join<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend_from_slice(extra);
    v
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
        .to_string()
}

// ------------------------------------------------------------------ keys

#[test]
fn kcv() {
    // pyemv V18 / psec P10
    assert_eq!(s(&calc(&["kcv", "--key", IMK]), "kcv"), "08D7B4");
    assert_eq!(calc_out(&["kcv", "--key", IMK]), "KCV  08D7B4\n");
    // pyemv V01: KCV of the derived MK
    assert_eq!(
        s(
            &calc(&["kcv", "--key", "5183894598EAD6D00402D6CD9B0E2FFE"]),
            "kcv"
        ),
        "488FE4"
    );
    // AES: ECB of a zero block under 000102..0F starts C6A13B
    let v = calc(&[
        "kcv",
        "--key",
        "000102030405060708090A0B0C0D0E0F",
        "--algorithm",
        "aes",
    ]);
    assert_eq!(s(&v, "kcv"), "C6A13B");
    assert_eq!(s(&v, "algorithm"), "aes");
}

#[test]
fn derive_mk() {
    // pyemv V01 (PSN defaults to 00)
    let v = calc(&["derive-mk", "--imk", IMK, "--pan", VISA_PAN]);
    assert_eq!(s(&v, "mk"), "5183894598EAD6D00402D6CD9B0E2FFE");
    assert_eq!(s(&v, "kcv"), "488FE4");
    // V01b
    let v = calc(&["derive-mk", "--imk", IMK, "--pan", VISA_PAN, "--psn", "01"]);
    assert_eq!(s(&v, "mk"), "80A89B585BBF64C2F12915BF578FABE0");
    // V02: option b with a 19-digit PAN; option a differs there, and b = a for 16 digits
    let long = "4761739001010119123";
    let b = calc(&["derive-mk", "--imk", IMK, "--pan", long, "--option", "b"]);
    assert_eq!(s(&b, "mk"), "01D59E9D5134263B76494610DA5D8A51");
    let a = calc(&["derive-mk", "--imk", IMK, "--pan", long]);
    assert_ne!(s(&a, "mk"), s(&b, "mk"));
    let b16 = calc(&[
        "derive-mk",
        "--imk",
        IMK,
        "--pan",
        VISA_PAN,
        "--option",
        "b",
    ]);
    assert_eq!(s(&b16, "mk"), "5183894598EAD6D00402D6CD9B0E2FFE");
    // V02b: SMI and SMC master keys
    let smi = calc(&["derive-mk", "--imk", IMK_SMI, "--pan", VISA_PAN]);
    assert_eq!(s(&smi, "mk"), "FBFD293264F1D001AE7C76BA6715292F");
    let smc = calc(&["derive-mk", "--imk", IMK_SMC, "--pan", VISA_PAN]);
    assert_eq!(s(&smc, "mk"), "25C41094CB08151392A292D0E0EC083B");
    // docs/test-vectors.md §5
    let p17 = "12345678901234567";
    for (opt, pan, psn, want) in [
        ("a", p17, "01", "73AD54688CEF2934B0979857E3C719F1"),
        ("b", p17, "01", "AD406D7F6D7570916D75E5DCAB8CF737"),
        (
            "a",
            "99012345678901234",
            "45",
            "67F8292358083E5EA7AB7FDA58D53B6B",
        ),
        ("a", BENCH_PAN, "01", "73C4677545D991E986074A16BFBACD75"),
    ] {
        let v = calc(&[
            "derive-mk",
            "--imk",
            IMK,
            "--pan",
            pan,
            "--psn",
            psn,
            "--option",
            opt,
        ]);
        assert_eq!(s(&v, "mk"), want, "{opt} {pan} {psn}");
    }
}

#[test]
fn session_keys() {
    let mk = "5183894598EAD6D00402D6CD9B0E2FFE";
    // pyemv V03
    let common = calc(&[
        "session-key",
        "--mk",
        mk,
        "--method",
        "common",
        "--atc",
        "0001",
    ]);
    assert_eq!(s(&common, "sk"), "61AE372A0B94610B1C6458086494B35D");
    assert_eq!(s(&common, "r"), "0001000000000000");
    let mc = calc(&[
        "session-key",
        "--mk",
        mk,
        "--method",
        "mastercard",
        "--atc",
        "0001",
        "--un",
        "12345678",
    ]);
    assert_eq!(s(&mc, "sk"), "2CB6C7F4C13BC4164961D0F89BD68CE9");
    assert_eq!(s(&mc, "r"), "0001000012345678");
    let tree = calc(&[
        "session-key",
        "--mk",
        mk,
        "--method",
        "emv2000",
        "--atc",
        "0001",
    ]);
    assert_eq!(s(&tree, "sk"), "BF20A1A43D8558D9F7073BBA3DB98552");
    let visa = calc(&[
        "session-key",
        "--mk",
        "FBFD293264F1D001AE7C76BA6715292F",
        "--method",
        "visa-sm",
        "--atc",
        "0001",
    ]);
    assert_eq!(s(&visa, "sk"), "FBFD293264F1D001AE7C76BA6715D6D0");
    // docs/test-vectors.md §5, MK 0123..3210, ATC 001C
    let r = calc(&[
        "session-key",
        "--mk",
        IMK,
        "--method",
        "common",
        "--r",
        "001C000000000000",
    ]);
    assert_eq!(s(&r, "sk"), "E9FB384AF807B940FEDCEA613461B0C4");
    let atc = calc(&[
        "session-key",
        "--mk",
        IMK,
        "--method",
        "common",
        "--atc",
        "001C",
    ]);
    assert_eq!(s(&atc, "sk"), "E9FB384AF807B940FEDCEA613461B0C4");
    let visa = calc(&[
        "session-key",
        "--mk",
        IMK,
        "--method",
        "visa-sm",
        "--atc",
        "001C",
    ]);
    assert_eq!(s(&visa, "sk"), "0123456789ABCDF2FEDCBA987654CDF2");
    let tree = calc(&[
        "session-key",
        "--mk",
        IMK,
        "--method",
        "emv2000",
        "--atc",
        "001C",
    ]);
    assert_eq!(s(&tree, "sk"), "E5BF6D1067F194B0A89B7F5D83BC64A2");
    // docs/test-vectors.md §4 bench set; pyemv V07: secure-messaging key with R = ARQC
    let bench = calc(&[
        "session-key",
        "--mk",
        "73C4677545D991E986074A16BFBACD75",
        "--method",
        "common",
        "--atc",
        "0012",
    ]);
    assert_eq!(s(&bench, "sk"), "CB5BD98F5B85163E29CD58CE7661F85D");
    let sm = calc(&[
        "session-key",
        "--mk",
        "FBFD293264F1D001AE7C76BA6715292F",
        "--method",
        "common",
        "--r",
        "B63A56E0E044C045",
    ]);
    assert_eq!(s(&sm, "sk"), "EFFB374CD9899D327F51A8F294D698B5");

    // mastercard needs the UN (clap), R only with common, UN only with mastercard
    let e = calc_err(&[
        "session-key",
        "--mk",
        mk,
        "--method",
        "mastercard",
        "--atc",
        "0001",
    ]);
    assert!(e.contains("--un"), "{e}");
    let e = calc_err(&[
        "session-key",
        "--mk",
        mk,
        "--method",
        "visa-sm",
        "--r",
        "0001000000000000",
    ]);
    assert!(e.contains("--r: only --method common"), "{e}");
    let e = calc_err(&["session-key", "--mk", mk, "--method", "common"]);
    assert!(e.contains("--atc"), "{e}");
}

#[test]
fn mac() {
    let annex_b = "4E6F77206973207468652074696D6520666F7220616C6C20"; // "Now is the time for all "
    // ISO/IEC 9797-1 Annex B: algorithm 3 and algorithm 1 (single DES), padding 1
    let v = calc(&["mac", "--key", IMK, "--data", annex_b, "--padding", "1"]);
    assert_eq!(s(&v, "mac"), "A1C72E74EA3FA9B6");
    let v = calc(&[
        "mac",
        "--key",
        "0123456789ABCDEF",
        "--data",
        annex_b,
        "--algorithm",
        "1",
        "--padding",
        "1",
    ]);
    assert_eq!(s(&v, "mac"), "70A30640CC76DD8B");
    // pyemv V06 / psec P10: defaults are algorithm 3, padding 2, 8 bytes
    let d8 = "1234567890ABCDEF";
    assert_eq!(
        s(&calc(&["mac", "--key", IMK, "--data", d8]), "mac"),
        "912476C111DB4238"
    );
    for (pad, want) in [("1", "479EF7C1ECFE64AC"), ("3", "D6E62DA408438847")] {
        let v = calc(&["mac", "--key", IMK, "--data", d8, "--padding", pad]);
        assert_eq!(s(&v, "mac"), want);
    }
    let v = calc(&["mac", "--key", IMK, "--data", d8, "--algorithm", "1"]);
    assert_eq!(s(&v, "mac"), "925B1737EF681AD3");
    let v = calc(&["mac", "--key", IMK, "--data", "8424000008", "--length", "4"]);
    assert_eq!(s(&v, "mac"), "0BFFF5DF");
    // docs/test-vectors.md §5 script MAC with transaction data
    let v = calc(&[
        "mac",
        "--key",
        IMK,
        "--data",
        "8424000008FFFF1234567890123456",
    ]);
    assert_eq!(s(&v, "mac"), "E07B8DF1B4184282");
    // algorithm 3 takes a double-length key only; lengths outside 4-8 are refused
    let e = calc_err(&[
        "mac",
        "--key",
        "0123456789ABCDEFFEDCBA98765432100123456789ABCDEF",
        "--data",
        d8,
    ]);
    assert!(e.contains("--key: key length 24 bytes"), "{e}");
    calc_err(&["mac", "--key", IMK, "--data", d8, "--length", "3"]);
}

// ------------------------------------------------------------ cryptograms

/// `arqc` for one pyemv CVN vector (V09..V16): IMK-AC 0123..3210, PSN 00, ATC 0001,
/// UN 12345678.
fn pyemv_arqc(cvn: &str, pan: &str, iad: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "arqc", "--cvn", cvn, "--imk", IMK, "--pan", pan, "--atc", "0001", "--un", "12345678",
        "--data", DATA, "--iad", iad,
    ];
    args.extend_from_slice(extra);
    calc(&args)
}

#[test]
fn arqc_per_cvn() {
    let v = pyemv_arqc("visa-10", VISA_PAN, "06010A03A00000", &[]);
    assert_eq!(s(&v, "arqc"), "F8848BFCEE3AD314");
    assert_eq!(s(&v, "mk"), "5183894598EAD6D00402D6CD9B0E2FFE");
    assert_eq!(s(&v, "sk"), s(&v, "mk"), "CVN 10 MACs with the MK");
    let v = pyemv_arqc("visa-18", VISA_PAN, "06011203A00000", &[]);
    assert_eq!(s(&v, "arqc"), "34FCF03846F66793");
    assert_eq!(s(&v, "sk"), "61AE372A0B94610B1C6458086494B35D");
    let v = pyemv_arqc(
        "visa-22",
        VISA_PAN,
        "1F22010203A00000000000000000000000000000000000000000000000000000",
        &[],
    );
    assert_eq!(s(&v, "arqc"), "8739803DEE057EEA");
    let v = pyemv_arqc(
        "interac-133",
        VISA_PAN,
        "0F85A00003220000000000000000FF",
        &[],
    );
    assert_eq!(s(&v, "arqc"), "9EDC1D34E83E56C3");
    // M/Chip: the vectors give the CVR; the IAD is DKI || CVN || CVR || 0000
    let v = pyemv_arqc("mc-16", MC_PAN, "0110A000032200000000", &[]);
    assert_eq!(s(&v, "arqc"), "797759A7378F90E0");
    assert_eq!(s(&v, "mk"), "5D70E9267694BCFEBC62FDBA8A5BF186");
    assert_eq!(s(&v, "sk"), "C7F468F113A2A23B833EADAD100B3B07");
    let ctr = ["--counters", "00000000000000FF"];
    let v = pyemv_arqc("mc-17", MC_PAN, "0111A000032200000000", &ctr);
    assert_eq!(s(&v, "arqc"), "76BA920445FF0E5A");
    let v = pyemv_arqc("mc-20", MC_PAN, "0114A000032200000000", &[]);
    assert_eq!(s(&v, "arqc"), "1648485C17857161");
    assert_eq!(s(&v, "sk"), "C8104C7C75BAAE040D0179CE86193B0D");
    let v = pyemv_arqc("mc-21", MC_PAN, "0115A000032200000000", &ctr);
    assert_eq!(s(&v, "arqc"), "A5E2FAEFBCBC6CE3");

    // pyemv cvn.py module doc (docs/test-vectors.md §1): Visa CVN 18, ARQC 769577B5ABE9FE62
    let v = calc(&[
        "arqc",
        "--cvn",
        "visa-18",
        "--imk",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "--pan",
        "1234567890123456",
        "--psn",
        "00",
        "--atc",
        "0FFF",
        "--data",
        "000000009999 000000000000 0840 8000048000 0840 991231 01 52BF4585 1800 0FFF",
        "--iad",
        "06011203A0B800",
    ]);
    assert_eq!(s(&v, "arqc"), "769577B5ABE9FE62");
}

/// docs/test-vectors.md §4 bench set: the ARQC is MAC algorithm 3 (padding 2) over the data
/// alone with the common session key; no CVN appends nothing, so it is reproduced with
/// derive-mk, session-key and mac.
#[test]
fn arqc_bench_set_by_steps() {
    let mk = calc(&["derive-mk", "--imk", IMK, "--pan", BENCH_PAN, "--psn", "01"]);
    assert_eq!(s(&mk, "mk"), "73C4677545D991E986074A16BFBACD75");
    let sk = calc(&[
        "session-key",
        "--mk",
        &s(&mk, "mk"),
        "--method",
        "common",
        "--atc",
        "0012",
    ]);
    assert_eq!(s(&sk, "sk"), "CB5BD98F5B85163E29CD58CE7661F85D");
    let ac = calc(&["mac", "--key", &s(&sk, "sk"), "--data", BENCH_DATA]);
    assert_eq!(s(&ac, "mac"), BENCH_ARQC);
}

#[test]
fn arqc_input_errors() {
    // the Mastercard session key needs the UN
    let e = calc_err(&[
        "arqc",
        "--cvn",
        "mc-16",
        "--imk",
        IMK,
        "--pan",
        MC_PAN,
        "--atc",
        "0001",
        "--data",
        DATA,
        "--iad",
        "0110A000032200000000",
    ]);
    assert!(e.contains("error: --un: mc-16"), "{e}");
    // CVN 17 needs counters (none given, none in the IAD)
    let e = calc_err(&[
        "arqc",
        "--cvn",
        "mc-17",
        "--imk",
        IMK,
        "--pan",
        MC_PAN,
        "--atc",
        "0001",
        "--un",
        "12345678",
        "--data",
        DATA,
        "--iad",
        "0111A000032200000000",
    ]);
    assert!(e.contains("error: --counters: CVN mc-17"), "{e}");
    // no IAD
    let e = calc_err(&[
        "arqc", "--cvn", "visa-10", "--imk", IMK, "--pan", VISA_PAN, "--atc", "0001", "--data",
        DATA,
    ]);
    assert!(
        e.contains("error: --iad: CVN visa-10: IAD must be at least 7 bytes"),
        "{e}"
    );
    // unknown CVN (clap lists the known ones)
    let e = calc_err(&[
        "arqc", "--cvn", "visa-11", "--imk", IMK, "--pan", VISA_PAN, "--atc", "0001", "--data",
        DATA,
    ]);
    assert!(e.contains("interac-133"), "{e}");
}

fn bench_arpc(cvn: &str, response: &[&str]) -> Value {
    let mut args = vec![
        "arpc", "--cvn", cvn, "--imk", IMK, "--pan", BENCH_PAN, "--psn", "01", "--atc", "0012",
        "--arqc", BENCH_ARQC,
    ];
    args.extend_from_slice(response);
    calc(&args)
}

#[test]
fn arpc() {
    // docs/test-vectors.md §4 bench set: method 1 with the AC session key (mc-20), method 2
    // (visa-18: MK option B = A for a 16-digit PAN, common session key)
    let v = bench_arpc("mc-20", &["--arc", "3030"]);
    assert_eq!(s(&v, "arpc"), "7B7E2767D69BC57C");
    assert_eq!(s(&v, "tag91"), "7B7E2767D69BC57C3030");
    assert_eq!(s(&v, "sk"), "CB5BD98F5B85163E29CD58CE7661F85D");
    assert_eq!(v["method"], 1);
    let v = bench_arpc("visa-18", &["--csu", "03900000"]);
    assert_eq!(s(&v, "arpc"), "15D4C7CD");
    assert_eq!(s(&v, "tag91"), "15D4C7CD03900000");
    assert_eq!(v["method"], 2);

    // pyemv V09..V16 (ARQCs from the arqc test, ARC 3030 or CSU 00820000)
    let pyemv = |cvn: &str, pan: &str, arqc: &str, resp: &[&str]| -> Value {
        let mut args = vec![
            "arpc", "--cvn", cvn, "--imk", IMK, "--pan", pan, "--atc", "0001", "--arqc", arqc,
            "--un", "12345678",
        ];
        args.extend_from_slice(resp);
        calc(&args)
    };
    let arc = ["--arc", "3030"];
    let csu = ["--csu", "00820000"];
    for (cvn, pan, arqc, resp, want) in [
        (
            "visa-10",
            VISA_PAN,
            "F8848BFCEE3AD314",
            &arc,
            "633B189BBAD3AA34",
        ),
        ("visa-18", VISA_PAN, "34FCF03846F66793", &csu, "A812EE77"),
        ("visa-22", VISA_PAN, "8739803DEE057EEA", &csu, "CC1F942D"),
        (
            "interac-133",
            VISA_PAN,
            "9EDC1D34E83E56C3",
            &arc,
            "994387A3BF6033E5",
        ),
        (
            "mc-16",
            MC_PAN,
            "797759A7378F90E0",
            &arc,
            "474FCFD72C7F900D",
        ),
        (
            "mc-17",
            MC_PAN,
            "76BA920445FF0E5A",
            &arc,
            "C3FA5D8E2B2DCECD",
        ),
        (
            "mc-20",
            MC_PAN,
            "1648485C17857161",
            &arc,
            "9FAB4418E9547D16",
        ),
        (
            "mc-21",
            MC_PAN,
            "A5E2FAEFBCBC6CE3",
            &arc,
            "72B8113C25ACCCE6",
        ),
    ] {
        let v = pyemv(cvn, pan, arqc, resp);
        assert_eq!(s(&v, "arpc"), want, "{cvn}");
        // M/Chip CVN 16/17 and Visa CVN 10 key the ARPC with the MK: no "sk"
        let mk_keyed = matches!(cvn, "visa-10" | "mc-16" | "mc-17");
        assert_eq!(v.get("sk").is_none(), mk_keyed, "{cvn}: {v}");
        assert_eq!(s(&v, "arpc_key"), if mk_keyed { "mk" } else { "sk" });
    }
    // pyemv V05: method 2 over ARQC B63A.. with SK 61AE.. (= visa-18 of the V01 card),
    // without and with proprietary authentication data
    let v05 = |extra: &[&str]| -> String {
        let mut args = vec![
            "arpc",
            "--cvn",
            "visa-18",
            "--imk",
            IMK,
            "--pan",
            VISA_PAN,
            "--atc",
            "0001",
            "--arqc",
            "B63A56E0E044C045",
            "--csu",
            "00820000",
        ];
        args.extend_from_slice(extra);
        s(&calc(&args), "tag91")
    };
    assert_eq!(v05(&[]), "EB2F43A200820000");
    assert_eq!(
        v05(&["--pad", "0102030405060708"]),
        "6ABB126200820000".to_string() + "0102030405060708"
    );
    // pyemv cvn.py module doc: Visa CVN 18 ARPC 76503F48 with CSU 00000000
    let v = calc(&[
        "arpc",
        "--cvn",
        "visa-18",
        "--imk",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "--pan",
        "1234567890123456",
        "--atc",
        "0FFF",
        "--arqc",
        "769577B5ABE9FE62",
        "--csu",
        "00000000",
    ]);
    assert_eq!(s(&v, "arpc"), "76503F48");
}

#[test]
fn arpc_argument_rules() {
    let base = [
        "arpc", "--cvn", "mc-20", "--imk", IMK, "--pan", BENCH_PAN, "--psn", "01", "--atc", "0012",
        "--arqc", BENCH_ARQC,
    ];
    let with = |extra: &[&'static str]| join(&base, extra);
    // exactly one of --arc / --csu (clap group)
    let e = calc_err(&with(&["--arc", "3030", "--csu", "03900000"]));
    assert!(e.contains("cannot be used with"), "{e}");
    let e = calc_err(&with(&[]));
    assert!(e.contains("--arc") && e.contains("--csu"), "{e}");
    // --pad only with --csu
    let e = calc_err(&with(&["--arc", "3030", "--pad", "01"]));
    assert!(e.contains("error: --pad: ") && e.contains("--csu"), "{e}");
    let e = calc_err(&with(&["--pad", "01"]));
    assert!(e.contains("--csu"), "{e}");
    // lengths
    let e = calc_err(&with(&["--arc", "303030"]));
    assert!(e.contains("--arc: must be 2 bytes"), "{e}");
    let e = calc_err(&with(&["--csu", "03900000", "--pad", "000102030405060708"]));
    assert!(
        e.contains("--pad: proprietary authentication data: must be 0–8 bytes"),
        "{e}"
    );
    // interac-133 keys the ARPC with the Mastercard session key: the UN is needed
    let mut v = base.to_vec();
    v[2] = "interac-133";
    v.extend_from_slice(&["--arc", "3030"]);
    let e = calc_err(&v);
    assert!(e.contains("--un"), "{e}");
}

// ---------------------------------------------------------------- scripts

fn pyemv_script(cvn: &str, pan: &str, arqc: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "script",
        "--cvn",
        cvn,
        "--imk-ac",
        IMK,
        "--imk-smi",
        IMK_SMI,
        "--imk-smc",
        IMK_SMC,
        "--pan",
        pan,
        "--atc",
        "0001",
        "--arqc",
        arqc,
    ];
    args.extend_from_slice(extra);
    s(&calc(&args), "apdu")
}

#[test]
fn script_commands() {
    // docs/test-vectors.md §4 bench set: PIN UNBLOCK MAC over 8424000008 || 0012 || ARQC with
    // SK-SMI (R = ARQC) of IMK-SMI 1111..2222 (an M/Chip recipe)
    let v = calc(&[
        "script",
        "--cvn",
        "mc-20",
        "--imk-ac",
        IMK,
        "--imk-smi",
        "11111111111111112222222222222222",
        "--imk-smc",
        IMK,
        "--pan",
        BENCH_PAN,
        "--psn",
        "01",
        "--atc",
        "0012",
        "--arqc",
        BENCH_ARQC,
        "--command",
        "pin-unblock",
    ]);
    assert_eq!(s(&v, "apdu"), "8424000008EF84B422728D7A24");
    assert_eq!(s(&v, "sk_smi"), "DF01F2E3AB85AD7F927C7AD6DC6D1525");
    assert_eq!(s(&v, "mac_input"), "842400000800120168F0A07A03AC68");

    // pyemv cvn.py module doc (docs/test-vectors.md §1): Visa CVN 18 PIN change to 9999 and
    // APPLICATION UNBLOCK, IMKs AAAA../BBBB../CCCC.., PAN 1234567890123456, ATC 0FFF
    let cvn18 = |extra: &[&str]| -> String {
        let mut args = vec![
            "script",
            "--cvn",
            "visa-18",
            "--imk-ac",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "--imk-smi",
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            "--imk-smc",
            "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
            "--pan",
            "1234567890123456",
            "--atc",
            "0FFF",
            "--arqc",
            "769577B5ABE9FE62",
        ];
        args.extend_from_slice(extra);
        s(&calc(&args), "apdu")
    };
    assert_eq!(
        cvn18(&["--command", "pin-change", "--new-pin", "9999"]),
        "84240002182DC7A061323BA62472BC5308BD291B5F665B3A927E60661E"
    );
    assert_eq!(
        cvn18(&["--command", "app-unblock"]),
        "8418000008B5CB29759F9C3919"
    );

    // pyemv V09..V15
    let change = ["--command", "pin-change", "--new-pin", "1234"];
    let unblock = ["--command", "pin-unblock"];
    assert_eq!(
        pyemv_script("visa-10", VISA_PAN, "F8848BFCEE3AD314", &change),
        "84240002185A58EE067516E47518ED3A46E1599A4F387267EDFBC2A06C"
    );
    assert_eq!(
        pyemv_script(
            "visa-10",
            VISA_PAN,
            "F8848BFCEE3AD314",
            &[
                "--command",
                "pin-change",
                "--new-pin",
                "1234",
                "--current-pin",
                "9999"
            ]
        ),
        "84240001188C0D8C406CD19BCF18ED3A46E1599A4FCF9D69BFD8A44795"
    );
    assert_eq!(
        pyemv_script(
            "visa-10",
            VISA_PAN,
            "F8848BFCEE3AD314",
            &["--command", "app-unblock"]
        ),
        "84180000080E8EC1320EF1CA1E"
    );
    assert_eq!(
        pyemv_script("visa-18", VISA_PAN, "34FCF03846F66793", &unblock),
        "84240000081CB0064B0CF4EDE4"
    );
    assert_eq!(
        pyemv_script("visa-18", VISA_PAN, "34FCF03846F66793", &change),
        "84240002185A58EE067516E47518ED3A46E1599A4FD7CA26BFA8692F52"
    );
    assert_eq!(
        pyemv_script(
            "visa-22",
            VISA_PAN,
            "8739803DEE057EEA",
            &[
                "--command",
                "pin-change",
                "--new-pin",
                "1234",
                "--current-pin",
                "9999"
            ]
        ),
        "8424000118E8B2C3811CA3D929890208B2ACD8BE5D19E196FAD5925300"
    );
    assert_eq!(
        pyemv_script("interac-133", VISA_PAN, "9EDC1D34E83E56C3", &change),
        "84240002105CA025FFA17C0F373C3A4044F21AD0F3"
    );
    assert_eq!(
        pyemv_script("mc-16", MC_PAN, "797759A7378F90E0", &unblock),
        "842400000859E58C92696C86EC"
    );
    assert_eq!(
        pyemv_script("mc-16", MC_PAN, "797759A7378F90E0", &change),
        "84240002100DA3B902B90DAC55572E282C7E0ED950"
    );
    assert_eq!(
        pyemv_script("mc-20", MC_PAN, "1648485C17857161", &change),
        "84240002102FC53C799B63E9C6A84F7AC487F6F7E2"
    );
}

#[test]
fn script_argument_rules() {
    let base = [
        "script",
        "--cvn",
        "mc-20",
        "--imk-ac",
        IMK,
        "--imk-smi",
        IMK_SMI,
        "--imk-smc",
        IMK_SMC,
        "--pan",
        MC_PAN,
        "--atc",
        "0001",
        "--arqc",
        "1648485C17857161",
    ];
    let with = |extra: &[&'static str]| join(&base, extra);
    // pin-change needs the new PIN (clap)
    let e = calc_err(&with(&["--command", "pin-change"]));
    assert!(e.contains("--new-pin"), "{e}");
    // the current PIN is a Visa feature: the library's message, on --current-pin, no PIN
    let e = calc_err(&with(&[
        "--command",
        "pin-change",
        "--new-pin",
        "4321",
        "--current-pin",
        "8765",
    ]));
    assert!(
        e.contains("error: --current-pin: CVN mc-20: PIN change with the current PIN"),
        "{e}"
    );
    assert!(!e.contains("4321") && !e.contains("8765"), "{e}");
    // a PIN with an unblock
    let e = calc_err(&with(&["--command", "pin-unblock", "--new-pin", "4321"]));
    assert!(
        e.contains("--new-pin: script command: pin-unblock takes no PIN"),
        "{e}"
    );
    assert!(!e.contains("4321"), "{e}");
    // a bad new PIN
    let e = calc_err(&with(&[
        "--command",
        "pin-change",
        "--new-pin",
        "12345678901234",
    ]));
    assert!(
        e.contains("--new-pin: PIN must be 4–12 digits, got 14"),
        "{e}"
    );
}

// ------------------------------------------------------------- PIN blocks

fn pin_block(args: &[&str]) -> Value {
    let mut a = vec!["pin-block"];
    a.extend_from_slice(args);
    calc(&a)
}

fn decode(args: &[&str]) -> String {
    let mut a = vec!["pin-block-decode"];
    a.extend_from_slice(args);
    s(&calc(&a), "pin")
}

const AES128: &str = "00112233445566778899AABBCCDDEEFF";
const AES256: &str = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";

#[test]
fn pin_blocks_psec() {
    // P01 format 0 (and the 12-digit PIN)
    let v = pin_block(&[
        "--format", "0", "--pin", "1234", "--pan", VISA_PAN, "--key", IMK,
    ]);
    assert_eq!(s(&v, "clear"), "041223C6FFEFEFEE");
    assert_eq!(s(&v, "encrypted"), "AC0708A3C923D34D");
    let v = pin_block(&["--format", "0", "--pin", "123456789012", "--pan", VISA_PAN]);
    assert_eq!(s(&v, "clear"), "0C12236F788002EE");
    assert!(v["encrypted"].is_null(), "{v}");
    // P02 format 1 with a fixed fill
    let v = pin_block(&[
        "--format",
        "1",
        "--pin",
        "1234",
        "--key",
        IMK,
        "--fill",
        "A5B6C7D8E9",
    ]);
    assert_eq!(s(&v, "clear"), "141234A5B6C7D8E9");
    assert_eq!(s(&v, "encrypted"), "E2436FB78DA2C9DC");
    // P03 format 2
    let v = pin_block(&["--format", "2", "--pin", "1234"]);
    assert_eq!(s(&v, "clear"), "241234FFFFFFFFFF");
    let v = pin_block(&["--format", "2", "--pin", "123456789012"]);
    assert_eq!(s(&v, "clear"), "2C123456789012FF");
    // P04 format 3 with a fixed fill
    let v = pin_block(&[
        "--format",
        "3",
        "--pin",
        "1234",
        "--pan",
        VISA_PAN,
        "--key",
        IMK,
        "--fill",
        "ABCDEFABCD",
    ]);
    assert_eq!(s(&v, "clear"), "34122392CDFFBBDC");
    assert_eq!(s(&v, "encrypted"), "3BE2811DDE0CDBDE");
    // P05 format 4, AES-128 and AES-256, random half fixed to 0123456789ABCDEF
    let fill = "0123456789ABCDEF";
    let v = pin_block(&[
        "--format", "4", "--pin", "1234", "--pan", VISA_PAN, "--key", AES128, "--fill", fill,
    ]);
    assert_eq!(s(&v, "clear"), "441234AAAAAAAAAA0123456789ABCDEF");
    assert_eq!(s(&v, "pan_field"), "44761739001010119000000000000000");
    assert_eq!(s(&v, "encrypted"), "EE834D17A2045301604C8D459A368A5B");
    let v = pin_block(&[
        "--format", "4", "--pin", "1234", "--pan", VISA_PAN, "--key", AES256, "--fill", fill,
    ]);
    assert_eq!(s(&v, "encrypted"), "8F901A8EA544E3AD56505B066E8D3613");
    // docs/test-vectors.md §5 format 0 examples
    let v = pin_block(&[
        "--format",
        "0",
        "--pin",
        "1234",
        "--pan",
        "5544332211009966",
    ]);
    assert_eq!(s(&v, "clear"), "041277CDDEEFF669");
    let v = pin_block(&["--format", "0", "--pin", "1234", "--pan", "4012345678909"]);
    assert_eq!(s(&v, "clear"), "041274EDCBA9876F");
}

#[test]
fn pin_blocks_decode_back() {
    // P01 / P08
    assert_eq!(
        decode(&[
            "--format",
            "0",
            "--block",
            "AC0708A3C923D34D",
            "--pan",
            VISA_PAN,
            "--key",
            IMK
        ]),
        "1234"
    );
    assert_eq!(
        decode(&[
            "--format",
            "0",
            "--block",
            "041223C6FFEFEFEE",
            "--pan",
            VISA_PAN
        ]),
        "1234"
    );
    assert_eq!(
        decode(&["--format", "1", "--block", "E2436FB78DA2C9DC", "--key", IMK]),
        "1234"
    );
    assert_eq!(
        decode(&["--format", "2", "--block", "2C123456789012FF"]),
        "123456789012"
    );
    assert_eq!(
        decode(&[
            "--format",
            "3",
            "--block",
            "3BE2811DDE0CDBDE",
            "--pan",
            VISA_PAN,
            "--key",
            IMK
        ]),
        "1234"
    );
    // P05 and docs/test-vectors.md §5 format 4
    assert_eq!(
        decode(&[
            "--format",
            "4",
            "--block",
            "EE834D17A2045301604C8D459A368A5B",
            "--pan",
            VISA_PAN,
            "--key",
            AES128
        ]),
        "1234"
    );
    assert_eq!(
        decode(&[
            "--format",
            "4",
            "--block",
            "8F901A8EA544E3AD56505B066E8D3613",
            "--pan",
            VISA_PAN,
            "--key",
            AES256
        ]),
        "1234"
    );
    assert_eq!(
        decode(&[
            "--format",
            "4",
            "--block",
            "E4BE5B623AF7E006AC319E5B93544564",
            "--pan",
            "1234567890123456",
            "--key",
            AES128
        ]),
        "1234"
    );
    // random fills (formats 1, 3, 4): the clear block shown is the one enciphered
    for (format, key) in [("1", IMK), ("3", IMK), ("4", AES128)] {
        let v = pin_block(&[
            "--format", format, "--pin", "98765", "--pan", VISA_PAN, "--key", key,
        ]);
        let back = decode(&[
            "--format",
            format,
            "--block",
            &s(&v, "encrypted"),
            "--pan",
            VISA_PAN,
            "--key",
            key,
        ]);
        assert_eq!(back, "98765", "format {format}");
        let clear = decode(&[
            "--format",
            format,
            "--block",
            &s(&v, "clear"),
            "--pan",
            VISA_PAN,
        ]);
        assert_eq!(clear, "98765", "format {format}");
    }
    // a block that breaks the format is an error that shows no PIN digits
    let e = calc_err(&[
        "pin-block-decode",
        "--format",
        "2",
        "--block",
        "241234FFFFFFFF0F",
    ]);
    assert!(
        e.contains("--block: invalid PIN block (ISO 9564-1 format 2)"),
        "{e}"
    );
    assert!(!e.contains("1234"), "{e}");
    // the wrong key recovers garbage, which fails the format checks
    calc_err(&[
        "pin-block-decode",
        "--format",
        "0",
        "--block",
        "AC0708A3C923D34D",
        "--pan",
        VISA_PAN,
        "--key",
        IMK_SMI,
    ]);
}

#[test]
fn pin_block_argument_rules() {
    // formats 0 and 3 need the PAN; format 4 does when enciphering
    let e = calc_err(&["pin-block", "--format", "0", "--pin", "1234"]);
    assert!(
        e.contains("--pan: format 0 combines the PIN with the PAN"),
        "{e}"
    );
    let e = calc_err(&[
        "pin-block",
        "--format",
        "4",
        "--pin",
        "1234",
        "--key",
        AES128,
    ]);
    assert!(e.contains("--pan: format 4"), "{e}");
    let v = pin_block(&[
        "--format",
        "4",
        "--pin",
        "1234",
        "--fill",
        "0123456789ABCDEF",
    ]);
    assert_eq!(s(&v, "clear"), "441234AAAAAAAAAA0123456789ABCDEF");
    // key families: TDES for 0-3, AES for 4
    let e = calc_err(&[
        "pin-block",
        "--format",
        "0",
        "--pin",
        "1234",
        "--pan",
        VISA_PAN,
        "--key",
        AES256,
    ]);
    assert!(
        e.contains("--key: key length 32 bytes is invalid for TDES"),
        "{e}"
    );
    let e = calc_err(&[
        "pin-block",
        "--format",
        "4",
        "--pin",
        "1234",
        "--pan",
        VISA_PAN,
        "--key",
        "0123456789ABCDEF",
    ]);
    assert!(
        e.contains("--key: key length 8 bytes is invalid for AES"),
        "{e}"
    );
    // fills: none for formats 0 and 2, A-F for format 3, enough nibbles
    let e = calc_err(&[
        "pin-block",
        "--format",
        "2",
        "--pin",
        "1234",
        "--fill",
        "AB",
    ]);
    assert!(e.contains("--fill: format 2 has no random fill"), "{e}");
    let e = calc_err(&[
        "pin-block",
        "--format",
        "3",
        "--pin",
        "1234",
        "--pan",
        VISA_PAN,
        "--fill",
        "0123456789",
    ]);
    assert!(e.contains("--fill:") && e.contains("A–F"), "{e}");
    let e = calc_err(&[
        "pin-block",
        "--format",
        "1",
        "--pin",
        "1234",
        "--fill",
        "ABC",
    ]);
    assert!(
        e.contains("--fill: PIN block fill: 10 fill nibbles needed, 3 given"),
        "{e}"
    );
}

// ------------------------------------------------------------- PVV, IBM 3624

#[test]
fn pvv() {
    let pvv = |pan: &str, pvki: &str, pin: &str| -> String {
        s(
            &calc(&[
                "pvv", "--pvk", IMK, "--pan", pan, "--pvki", pvki, "--pin", pin,
            ]),
            "pvv",
        )
    };
    // psec P07
    assert_eq!(pvv(VISA_PAN, "1", "1234"), "0949");
    assert_eq!(pvv(VISA_PAN, "0", "1234"), "2381");
    // docs/test-vectors.md §5 and psec README
    assert_eq!(pvv("1122334455667788", "3", "4524"), "4021");
    assert_eq!(pvv("4321000000001234", "1", "1234"), "6629");
    calc_err(&[
        "pvv", "--pvk", IMK, "--pan", VISA_PAN, "--pvki", "10", "--pin", "1234",
    ]);
    let e = calc_err(&[
        "pvv",
        "--pvk",
        IMK,
        "--pan",
        "12345678901",
        "--pvki",
        "1",
        "--pin",
        "1234",
    ]);
    assert!(
        e.contains("--pan: invalid PAN: Visa PVV needs at least 12 PAN digits"),
        "{e}"
    );
}

#[test]
fn ibm3624() {
    let ibm = |table: &str, vd: &str, pin: &str| -> Value {
        calc(&[
            "ibm3624",
            "--pvk",
            IMK,
            "--decimalisation",
            table,
            "--validation-data",
            vd,
            "--pin",
            pin,
        ])
    };
    // psec P06
    let v = ibm("0123456789012345", VISA_PAN, "1234");
    assert_eq!(s(&v, "natural_pin"), "7519");
    assert_eq!(s(&v, "offset"), "4725");
    let v = ibm("0123456789012345", VISA_PAN, "123456");
    assert_eq!(s(&v, "natural_pin"), "751952");
    let v = ibm("0123456789012345", "73900101011", "1234");
    assert_eq!(s(&v, "offset"), "3896");
    // docs/test-vectors.md §5
    let v = ibm("1234567890123456", "1122334455667788", "4524");
    assert_eq!(s(&v, "natural_pin"), "4524");
    assert_eq!(s(&v, "offset"), "0000");
    let e = calc_err(&[
        "ibm3624",
        "--pvk",
        IMK,
        "--decimalisation",
        "01234567890123AB",
        "--validation-data",
        VISA_PAN,
        "--pin",
        "1234",
    ]);
    assert!(
        e.contains("--decimalisation: the table must be 16 decimal digits"),
        "{e}"
    );
}

// ------------------------------------------------------------------ errors

#[test]
fn input_errors_name_the_argument_and_exit_2() {
    // bad hex
    let e = calc_err(&["mac", "--key", IMK, "--data", "12G4"]);
    assert_eq!(e, "error: --data: invalid hex ('G' is not a hex digit)\n");
    let e = calc_err(&["kcv", "--key", "0123456789ABCDEFFEDCBA987654321X"]);
    assert_eq!(e, "error: --key: invalid hex ('X' is not a hex digit)\n");
    // a key of 15 bytes: the length, not the key
    let k15 = "0123456789ABCDEFFEDCBA98765432";
    let e = calc_err(&["derive-mk", "--imk", k15, "--pan", VISA_PAN]);
    assert_eq!(
        e,
        "error: --imk: key length 15 bytes is invalid for TDES (expected 16 (2-key) or 24 \
         (3-key) bytes)\n"
    );
    assert!(!e.contains("0123456789"), "{e}");
    let e = calc_err(&["kcv", "--key", k15]);
    assert!(e.contains("--key: key length 15 bytes"), "{e}");
    // a PIN of 3 digits: the rule, not the PIN
    let e = calc_err(&["pin-block", "--format", "2", "--pin", "123"]);
    assert!(e.starts_with("error: --pin: "), "{e}");
    assert!(e.contains('4') && e.contains("12"), "{e}");
    assert!(!e.contains("123\""), "{e}");
    let e = calc_err(&["pin-block", "--format", "2", "--pin", "12a45"]);
    assert_eq!(e, "error: --pin: PIN must contain only the digits 0-9\n");
    // a PAN that is not digits, a bad PSN, an ATC that is not 2 bytes
    let e = calc_err(&["derive-mk", "--imk", IMK, "--pan", "12AB"]);
    assert_eq!(e, "error: --pan: PAN must be 8-19 digits, got \"12AB\"\n");
    let e = calc_err(&["derive-mk", "--imk", IMK, "--pan", VISA_PAN, "--psn", "1"]);
    assert!(
        e.starts_with("error: --psn: PAN sequence number must be 2 digits"),
        "{e}"
    );
    let e = calc_err(&[
        "session-key",
        "--mk",
        IMK,
        "--method",
        "common",
        "--atc",
        "000012",
    ]);
    assert_eq!(
        e,
        "error: --atc: must be 2 bytes (4 hex digits), got 3 bytes\n"
    );
    let e = calc_err(&[
        "arpc",
        "--cvn",
        "mc-20",
        "--imk",
        IMK,
        "--pan",
        BENCH_PAN,
        "--atc",
        "0012",
        "--arqc",
        "0168F0A07A03AC",
        "--arc",
        "3030",
    ]);
    assert!(
        e.contains("--arqc: must be 8 bytes (16 hex digits), got 7 bytes"),
        "{e}"
    );
    // every error is one line
    for e in [
        calc_err(&["mac", "--key", IMK, "--data", "12G4"]),
        calc_err(&["pin-block", "--format", "2", "--pin", "123"]),
    ] {
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    // every way a key or PIN argument can be rejected
    let cases: [&[&str]; 6] = [
        &["kcv", "--key", "0123456789ABCDEFFEDCBA987654321Z"],
        &["kcv", "--key", "0123456789ABCDEFFEDCBA98765432"],
        &[
            "mac",
            "--key",
            "0123456789ABCDEFFEDCBA98765432",
            "--data",
            "00",
        ],
        &["pin-block", "--format", "2", "--pin", "98765432109876"],
        &["pin-block", "--format", "2", "--pin", "98x7"],
        &[
            "pvv",
            "--pvk",
            "0123456789ABCDEF",
            "--pan",
            VISA_PAN,
            "--pvki",
            "1",
            "--pin",
            "9876",
        ],
    ];
    for c in cases {
        let e = calc_err(c);
        for secret in ["0123456789ABCDEF", "987654321", "98x7", "9876"] {
            assert!(!e.contains(secret), "{c:?}: {e}");
        }
    }
}

// ---------------------------------------------------------- output format

#[test]
fn json_shapes() {
    let has = |v: &Value, keys: &[&str]| {
        for k in keys {
            assert!(v.get(k).is_some(), "no {k:?} in {v}");
        }
        // hex values are upper case without spaces
        for (k, val) in v.as_object().unwrap() {
            if let Some(t) = val.as_str() {
                assert!(!t.contains(' '), "{k}: {t}");
                if t.len() >= 4 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    assert_eq!(t, t.to_uppercase(), "{k}");
                }
            }
        }
    };
    has(&calc(&["kcv", "--key", IMK]), &["kcv"]);
    has(
        &calc(&["derive-mk", "--imk", &IMK.to_lowercase(), "--pan", VISA_PAN]),
        &["mk", "kcv"],
    );
    has(
        &calc(&[
            "session-key",
            "--mk",
            IMK,
            "--method",
            "emv2000",
            "--atc",
            "001C",
        ]),
        &["sk"],
    );
    has(
        &pyemv_arqc("visa-10", VISA_PAN, "06010A03A00000", &[]),
        &["arqc", "mk", "sk"],
    );
    has(&bench_arpc("mc-20", &["--arc", "3030"]), &["arpc", "tag91"]);
    has(&calc(&["mac", "--key", IMK, "--data", "00"]), &["mac"]);
    let apdu = calc(&[
        "script",
        "--cvn",
        "visa-18",
        "--imk-ac",
        IMK,
        "--imk-smi",
        IMK_SMI,
        "--imk-smc",
        IMK_SMC,
        "--pan",
        VISA_PAN,
        "--atc",
        "0001",
        "--arqc",
        "34FCF03846F66793",
        "--command",
        "card-block",
    ]);
    has(&apdu, &["apdu"]);
    assert!(s(&apdu, "apdu").starts_with("8416000008"));
    has(
        &pin_block(&["--format", "2", "--pin", "1234"]),
        &["clear", "encrypted"],
    );
    has(
        &calc(&[
            "pin-block-decode",
            "--format",
            "2",
            "--block",
            "241234ffffffffff",
        ]),
        &["pin"],
    );
    has(
        &calc(&[
            "pvv", "--pvk", IMK, "--pan", VISA_PAN, "--pvki", "1", "--pin", "1234",
        ]),
        &["pvv"],
    );
    has(
        &calc(&[
            "ibm3624",
            "--pvk",
            IMK,
            "--decimalisation",
            "0123456789012345",
            "--validation-data",
            VISA_PAN,
            "--pin",
            "1234",
        ]),
        &["natural_pin", "offset"],
    );
}

#[test]
fn text_leaves_out_what_json_has_as_null() {
    let out = calc_out(&["pin-block", "--format", "2", "--pin", "1234"]);
    assert_eq!(out, "Clear  241234FFFFFFFFFF\n");
}

/// Text and JSON of three operations, deterministic inputs only.
#[test]
fn snapshot_text_and_json() {
    let mut all = String::new();
    let runs: [&[&str]; 3] = [
        &["kcv", "--key", IMK],
        &[
            "arqc",
            "--cvn",
            "visa-18",
            "--imk",
            IMK,
            "--pan",
            VISA_PAN,
            "--atc",
            "0001",
            "--data",
            DATA,
            "--iad",
            "06011203A00000",
        ],
        &[
            "pin-block",
            "--format",
            "0",
            "--pin",
            "1234",
            "--pan",
            VISA_PAN,
            "--key",
            IMK,
        ],
    ];
    for args in runs {
        for json in [false, true] {
            let mut a = args.to_vec();
            if json {
                a.push("--json");
            }
            all.push_str(&format!("$ calc {}\n", a.join(" ")));
            all.push_str(&calc_out(&a));
        }
    }
    insta::assert_snapshot!(all);
}

// ------------------------------------------------------------------- help

const OPS: [&str; 11] = [
    "kcv",
    "derive-mk",
    "session-key",
    "arqc",
    "arpc",
    "mac",
    "script",
    "pin-block",
    "pin-block-decode",
    "pvv",
    "ibm3624",
];

#[test]
fn help_lists_every_operation() {
    let out = calc_out(&["--help"]);
    for op in OPS {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{op} "))),
            "{op} missing in:\n{out}"
        );
    }
    assert!(out.contains("--json"));
}

/// Every `$ emvbench calc ...` example in every operation's --help runs and prints exactly
/// what the help shows under it.
#[test]
fn help_examples_are_true() {
    let mut checked = 0;
    for op in OPS {
        let help = calc_out(&[op, "--help"]);
        let lines: Vec<&str> = help.lines().collect();
        let mut i = 0;
        let mut in_op = 0;
        while i < lines.len() {
            let Some(cmd) = lines[i].trim_start().strip_prefix("$ emvbench ") else {
                i += 1;
                continue;
            };
            let mut cmd = cmd.to_string();
            i += 1;
            while let Some(c) = cmd.strip_suffix(" \\") {
                cmd = format!("{c} {}", lines[i].trim());
                i += 1;
            }
            let mut expected = String::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !lines[i].trim_start().starts_with('$')
            {
                expected.push_str(lines[i].trim_start());
                expected.push('\n');
                i += 1;
            }
            let args: Vec<&str> = cmd.split_whitespace().collect();
            assert_eq!(args[..2], ["calc", op], "{cmd}");
            assert_eq!(calc_out(&args[1..]), expected, "{cmd}");
            in_op += 1;
        }
        assert!(in_op > 0, "no example in `calc {op} --help`:\n{help}");
        checked += in_op;
    }
    assert!(checked >= 25, "{checked}");
}
