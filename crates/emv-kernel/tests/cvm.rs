//! Table-driven cardholder verification suite, derived from EMV 4.4 Book 3 §10.5 and
//! Book 4 §6.3.4 (CVM List algorithm, condition codes of Annex C3 Table 44, offline PIN
//! sub-flow, online PIN, CVM Results of Annex A4). Each case runs the CVM stage against the
//! fake card with a scripted PIN pad and checks CVM Results (9F34), TVR and TSI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::OnceLock;

use emv_auth::TransactionType;
use emv_crypto::oda::{self, test_keys};
use emv_kernel::testing::{FakeCard, TestHost};
use emv_kernel::{Kernel, KernelConfig, PinPadStatus, Profile, ScriptedPinPad, TransactionParams};
use emv_tlv::Tag;

const PAN: [u8; 8] = [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10];
const TEST_AID: [u8; 7] = [0xF0, 0x00, 0x00, 0x00, 0x01, 0x10, 0x10];
/// X = 10.00, Y = 50.00 (binary, Book 3 Annex C3)
const XY: &str = "000003E8 00001388";

/// Card certificates for enciphered PIN: issuer key under the test CA E1, ICC PIN
/// encipherment key (9F2D) and ICC key (9F46) under the issuer key.
struct Certs {
    issuer: oda::PublicKeyCertificate,
    pin: oda::PublicKeyCertificate,
    icc: oda::PublicKeyCertificate,
}

fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let ca = test_keys::CA_E1.private_key().unwrap();
        let issuer = test_keys::ISSUER_896_E3.private_key().unwrap();
        let icc = test_keys::ICC_768_E3.public_key().unwrap();
        let id = oda::issuer_identifier_from_pan(&PAN, 6).unwrap();
        let expiry = [0x12, 0x49];
        Certs {
            issuer: oda::issue_issuer_certificate(&ca, id, expiry, [0, 0, 1], issuer.public_key())
                .unwrap(),
            pin: oda::issue_icc_pin_encipherment_certificate(
                &issuer,
                &PAN,
                expiry,
                [0, 0, 2],
                &icc,
            )
            .unwrap(),
            icc: oda::issue_icc_certificate(&issuer, &PAN, expiry, [0, 0, 3], &icc, &[]).unwrap(),
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// no certificates
    None,
    /// ICC PIN Encipherment key (9F2D)
    PinKey,
    /// only the ICC key (9F46)
    IccKey,
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    profile: &'static str,
    overrides: Vec<&'static str>,
    aip: &'static str,
    /// 8E value; None = absent
    list: Option<String>,
    app_currency: Option<&'static str>,
    txn: TransactionType,
    amount: u64,
    amount_other: u64,
    pins: Vec<&'static str>,
    /// why nobody enters a PIN once `pins` are used up (else the cardholder cancels)
    nobody: Option<&'static str>,
    pad: PinPadStatus,
    ptc: u8,
    ptc_readable: bool,
    verify_sw: Option<u16>,
    challenge_len: usize,
    keys: Keys,
    keep_b7: bool,
    bypass_carries: bool,
    // expectations
    results: &'static str,
    tvr: &'static str,
    tsi: &'static str,
    verifies: Option<usize>,
    prompts: Option<usize>,
    signature: Option<bool>,
    online_pin_format: Option<u8>,
    card_ptc_after: Option<u8>,
}

fn case(name: &'static str, rules: &str) -> Case {
    Case {
        name,
        profile: "pos-attended",
        overrides: Vec::new(),
        aip: "1000",
        list: Some(format!("{XY}{rules}")),
        app_currency: Some("0978"),
        txn: TransactionType::Purchase,
        amount: 2500,
        amount_other: 0,
        pins: Vec::new(),
        nobody: None,
        pad: PinPadStatus::Working,
        ptc: 3,
        ptc_readable: true,
        verify_sw: None,
        challenge_len: 8,
        keys: Keys::PinKey,
        keep_b7: true,
        bypass_carries: true,
        results: "",
        tvr: "",
        tsi: "4000",
        verifies: None,
        prompts: None,
        signature: None,
        online_pin_format: None,
        card_ptc_after: None,
    }
}

impl Case {
    fn expect(mut self, results: &'static str, tvr: &'static str) -> Self {
        self.results = results;
        self.tvr = tvr;
        self
    }
    fn tsi(mut self, tsi: &'static str) -> Self {
        self.tsi = tsi;
        self
    }
    fn pins(mut self, pins: &[&'static str]) -> Self {
        self.pins = pins.to_vec();
        self
    }
    fn profile(mut self, p: &'static str) -> Self {
        self.profile = p;
        self
    }
    fn tag(mut self, o: &'static str) -> Self {
        self.overrides.push(o);
        self
    }
    fn amount(mut self, a: u64) -> Self {
        self.amount = a;
        self
    }
    fn txn(mut self, t: TransactionType, other: u64) -> Self {
        self.txn = t;
        self.amount_other = other;
        self
    }
    fn ptc(mut self, n: u8) -> Self {
        self.ptc = n;
        self
    }
    fn verifies(mut self, n: usize) -> Self {
        self.verifies = Some(n);
        self
    }
    fn prompts(mut self, n: usize) -> Self {
        self.prompts = Some(n);
        self
    }
    fn signature(mut self, s: bool) -> Self {
        self.signature = Some(s);
        self
    }
    fn pad(mut self, s: PinPadStatus) -> Self {
        self.pad = s;
        self
    }
    fn verify_sw(mut self, sw: u16) -> Self {
        self.verify_sw = Some(sw);
        self
    }
    fn no_list(mut self) -> Self {
        self.list = None;
        self
    }
    fn app_currency(mut self, c: Option<&'static str>) -> Self {
        self.app_currency = c;
        self
    }
    fn aip(mut self, aip: &'static str) -> Self {
        self.aip = aip;
        self
    }
    fn online_format(mut self, f: u8) -> Self {
        self.online_pin_format = Some(f);
        self
    }
    fn ptc_after(mut self, n: u8) -> Self {
        self.card_ptc_after = Some(n);
        self
    }
}

struct Ran {
    results: String,
    tvr: String,
    tsi: String,
    verifies: usize,
    prompts: usize,
    signature: bool,
    online_format: Option<u8>,
    card_ptc: u8,
    log: String,
    error: Option<String>,
}

fn hex(s: &str) -> Vec<u8> {
    emv_tlv::hex::decode(s).unwrap()
}

fn run(c: &Case) -> Ran {
    let mut profile = Profile::builtin(c.profile).unwrap();
    for o in &c.overrides {
        profile.override_tag_str(o).unwrap();
    }
    let config = KernelConfig {
        cvm_results_keep_b7: c.keep_b7,
        bypass_applies_to_later_pin_cvms: c.bypass_carries,
        ..KernelConfig::default()
    };
    let kernel = Kernel::new(profile, config);
    let mut card = FakeCard::new("1234", c.ptc);
    card.ptc_readable = c.ptc_readable;
    card.verify_sw = c.verify_sw;
    card.challenge_len = c.challenge_len;
    card.pin_key = Some(test_keys::ICC_768_E3.private_key().unwrap());
    let mut pad = ScriptedPinPad::new(c.pins.iter().copied())
        .unwrap()
        .with_status(c.pad);
    if let Some(why) = c.nobody {
        pad = pad.when_empty(why);
    }
    let mut host = TestHost::unreachable();
    let params = TransactionParams {
        amount: c.amount,
        amount_other: c.amount_other,
        transaction_type: c.txn,
        ..TransactionParams::default()
    };
    let mut tx = kernel
        .transaction(&mut card, &mut pad, &mut host, &params)
        .unwrap();
    let t = Tag::new;
    tx.set_icc_value(t(0x82), &hex(c.aip));
    tx.set_icc_value(t(0x84), &TEST_AID);
    tx.set_icc_value(t(0x5A), &PAN);
    if let Some(cur) = c.app_currency {
        tx.set_icc_value(t(0x9F42), &hex(cur));
    }
    if let Some(list) = &c.list {
        tx.set_icc_value(t(0x8E), &hex(list));
    }
    if c.keys != Keys::None {
        let k = certs();
        tx.set_icc_value(t(0x8F), &[test_keys::TEST_CA_INDEX_1024]);
        tx.set_icc_value(t(0x90), &k.issuer.certificate);
        tx.set_icc_value(t(0x92), &k.issuer.remainder);
        tx.set_icc_value(t(0x9F32), &k.issuer.exponent);
        let (cert, tags) = if c.keys == Keys::PinKey {
            (&k.pin, [0x9F2D, 0x9F2F, 0x9F2E])
        } else {
            (&k.icc, [0x9F46, 0x9F48, 0x9F47])
        };
        tx.set_icc_value(t(tags[0]), &cert.certificate);
        tx.set_icc_value(t(tags[1]), &cert.remainder);
        tx.set_icc_value(t(tags[2]), &cert.exponent);
    }
    let error = tx.cardholder_verification().err().map(|e| e.to_string());
    let signature = tx.signature_required();
    let online_format = tx.online_pin_data().map(|p| p.format);
    let outcome = tx.finish();
    let log =
        serde_json::to_string(&(&outcome.decisions, &outcome.cvm_trace, &outcome.apdus)).unwrap();
    let prompts = pad.prompts().len();
    Ran {
        results: outcome.cvm_results.to_hex(),
        tvr: outcome.tvr.to_hex(),
        tsi: outcome.tsi.to_hex(),
        verifies: card.verify_count(),
        prompts,
        signature,
        online_format,
        card_ptc: card.ptc,
        log,
        error,
    }
}

fn cases() -> Vec<Case> {
    use PinPadStatus::{Absent, NotWorking};
    use TransactionType::{Cash, Cashback, Purchase};
    vec![
        // ---- each CVM performed successfully (Book 3 §10.5, Book 4 Annex A4) ----
        case("plaintext PIN ok", "0100")
            .pins(&["1234"])
            .expect("010002", "0000000000")
            .verifies(1),
        case("plaintext PIN ok, b7 kept in CVM Results", "4103 1E03")
            .pins(&["1234"])
            .expect("410302", "0000000000"),
        case("enciphered PIN ok with ICC PIN encipherment key", "4403")
            .pins(&["1234"])
            .expect("440302", "0000000000")
            .verifies(1),
        {
            let mut c = case("enciphered PIN ok with the ICC key", "0400")
                .pins(&["1234"])
                .expect("040002", "0000000000")
                .verifies(1);
            c.keys = Keys::IccKey;
            c
        },
        case("online PIN (format 0, TDES)", "4203")
            .pins(&["1234"])
            .expect("420300", "0000040000")
            .online_format(0)
            .verifies(0),
        case(
            "online PIN at an ATM, unattended cash (format 4, AES)",
            "4201 1F00",
        )
        .profile("atm")
        .txn(Cash, 0)
        .pins(&["1234"])
        .expect("420100", "0000040000")
        .online_format(4),
        case("signature", "1E03")
            .expect("1E0300", "0000000000")
            .signature(true)
            .prompts(0),
        case("no CVM required", "1F03")
            .expect("1F0302", "0000000000")
            .signature(false),
        case("no CVM at a terminal without PIN pad", "1F00")
            .profile("pos-no-pinpad")
            .expect("1F0002", "0000000000"),
        case("fail CVM processing", "0000").expect("000001", "0000800000"),
        case(
            "fail CVM with apply-succeeding, then signature",
            "4000 1E00",
        )
        .expect("1E0000", "0000000000"),
        case("combined plaintext PIN + signature", "0300")
            .pins(&["1234"])
            .expect("030000", "0000000000")
            .signature(true),
        case("combined enciphered PIN + signature", "0500")
            .pins(&["1234"])
            .expect("050000", "0000000000")
            .signature(true),
        case(
            "combined CVM at a terminal without signature fails",
            "0300 1F00",
        )
        .profile("unattended")
        .pins(&["1234"])
        .expect("3F0001", "0000800000")
        .prompts(0),
        case("combined CVM unsupported, apply succeeding", "4300 1F00")
            .profile("unattended")
            .pins(&["1234"])
            .expect("1F0002", "0000000000"),
        // ---- bypass (Book 4 §6.3.4.3) ----
        case("bypass plaintext PIN, then signature", "4103 1E03")
            .pins(&["bypass"])
            .expect("1E0300", "0000080000"),
        case("bypass carries to later PIN rules", "4103 4203 1E03")
            .pins(&["bypass", "1234"])
            .expect("1E0300", "0000080000")
            .prompts(1),
        {
            let mut c = case("bypass does not carry when configured so", "4103 4203")
                .pins(&["bypass", "1234"])
                .expect("420300", "00000C0000")
                .prompts(2)
                .online_format(0);
            c.bypass_carries = false;
            c
        },
        case("bypass without fallback fails CV", "0100")
            .pins(&["bypass"])
            .expect("010001", "0000880000"),
        case("bypass online PIN without fallback", "0203")
            .pins(&["bypass"])
            .expect("020301", "0000880000"),
        case("no PIN entered (cardholder cancels)", "0100")
            .expect("010001", "0000880000")
            .verifies(0),
        // ---- PIN pad absent / not working / capability (Book 3 §10.5.1, §10.5.2) ----
        case("PIN pad absent, offline PIN, then signature", "4100 1E00")
            .pad(Absent)
            .expect("1E0000", "0000100000")
            .prompts(0),
        case("PIN pad not working, online PIN, then no CVM", "4200 1F00")
            .pad(NotWorking)
            .expect("1F0002", "0000100000"),
        case("no PIN capability at all, offline PIN fails", "0100")
            .profile("pos-no-pinpad")
            .expect("3F0001", "0000900000"),
        case(
            "online PIN at an offline-only terminal, then no CVM",
            "4200 1F00",
        )
        .profile("pos-offline-only")
        .expect("1F0002", "0000100000"),
        case(
            "enciphered PIN not supported, plaintext is: no PIN pad bit",
            "4400 1E00",
        )
        .tag("9F33=E0A8C8")
        .expect("1E0000", "0000000000"),
        // condition 03 asks about the terminal's capabilities (9F33); a PIN pad that does
        // not work makes the PIN CVM fail when performed (Book 3 §10.5.1)
        case(
            "03 with a PIN pad not working: the rule applies and fails",
            "4103 1F03",
        )
        .pad(NotWorking)
        .pins(&["1234"])
        .expect("1F0302", "0000100000")
        .prompts(0),
        case("no CVM not supported by the terminal", "1F00")
            .tag("9F33=E0F0C8")
            .expect("3F0001", "0000800000"),
        // ---- PIN Try Counter, wrong PINs, card answers (Book 3 §10.5.1, Book 4 §6.3.4.1) ----
        case(
            "PIN try counter 0: no PIN asked, then signature",
            "4103 1E03",
        )
        .ptc(0)
        .pins(&["1234"])
        .expect("1E0300", "0000200000")
        .verifies(0)
        .prompts(0),
        case("PIN try counter 0, no fallback", "0100")
            .ptc(0)
            .pins(&["1234"])
            .expect("010001", "0000A00000")
            .verifies(0),
        case("wrong then right PIN", "0100")
            .pins(&["0000", "1234"])
            .expect("010002", "0000000000")
            .verifies(2)
            .ptc_after(3),
        case("wrong PINs until 63C0, then signature", "4100 1E00")
            .ptc(2)
            .pins(&["0000", "1111", "1234"])
            .expect("1E0000", "0000200000")
            .verifies(2)
            .ptc_after(0),
        case("wrong PIN then cancel", "0100")
            .pins(&["0000"])
            .expect("010001", "0000800000")
            .verifies(1)
            .ptc_after(2),
        case("VERIFY 6983 (PIN blocked)", "0100")
            .verify_sw(0x6983)
            .pins(&["1234"])
            .expect("010001", "0000A00000"),
        case("VERIFY 6984 (enciphered PIN not recovered)", "0400")
            .verify_sw(0x6984)
            .pins(&["1234"])
            .expect("040001", "0000A00000"),
        case(
            "63C0 blocks later offline PIN rules without APDU",
            "4100 4400 1E00",
        )
        .ptc(1)
        .pins(&["0000", "1234"])
        .expect("1E0000", "0000200000")
        .verifies(1)
        .prompts(1),
        case("offline PIN blocked, online PIN succeeds", "4100 0200")
            .ptc(0)
            .pins(&["1234"])
            .expect("020000", "0000240000")
            .online_format(0),
        {
            let mut c = case("PIN try counter not retrievable: PIN still asked", "0100")
                .pins(&["1234"])
                .expect("010002", "0000000000");
            c.ptc_readable = false;
            c
        },
        {
            let mut c = case(
                "GET CHALLENGE not 8 bytes: enciphered PIN fails",
                "4400 1E00",
            )
            .pins(&["1234"])
            .expect("1E0000", "0000000000")
            .verifies(0);
            c.challenge_len = 4;
            c
        },
        {
            let mut c = case("no key for enciphered PIN: CVM fails", "4400 1E00")
                .pins(&["1234"])
                .expect("1E0000", "0000000000")
                .prompts(0);
            c.keys = Keys::None;
            c
        },
        // ---- unrecognised CVM codes (Book 3 §10.5) ----
        case("unrecognised CVM code, no fallback", "0800").expect("3F0001", "0000C00000"),
        case("unrecognised CVM code, apply succeeding", "4800 1F00").expect("1F0002", "0000400000"),
        case("issuer-reserved CVM code is unrecognised", "7000 1E00")
            .expect("1E0000", "0000400000"),
        case("unknown condition code is skipped", "010A 1F00")
            .pins(&["1234"])
            .expect("1F0002", "0000000000")
            .prompts(0),
        // ---- condition codes 00-09 (Book 3 Annex C3 Table 44) ----
        case("01 unattended cash not met at an attended POS", "1E01 1F00")
            .txn(Cash, 0)
            .expect("1F0002", "0000000000"),
        case("02 met by a purchase", "1E02 1F00").expect("1E0200", "0000000000"),
        case("02 not met by cash", "1E02 1F00")
            .txn(Cash, 0)
            .expect("1F0002", "0000000000"),
        case("02 not met by purchase with cashback", "1E02 1F00")
            .txn(Purchase, 500)
            .expect("1F0002", "0000000000"),
        case(
            "03 terminal supports the CVM: unsupported rule skipped silently",
            "4403 1F03",
        )
        .tag("9F33=E0A8C8")
        .expect("1F0302", "0000000000"),
        case("04 manual cash at an attended terminal", "1E04 1F00")
            .txn(Cash, 0)
            .expect("1E0400", "0000000000"),
        case("04 not met at an unattended terminal", "0104 1F00")
            .profile("unattended")
            .txn(Cash, 0)
            .expect("1F0002", "0000000000"),
        case("05 purchase with cashback", "1E05 1F00")
            .txn(Cashback, 500)
            .expect("1E0500", "0000000000"),
        case("05 not met by a plain purchase", "1E05 1F00").expect("1F0002", "0000000000"),
        case("06 under X: below", "1E06 1F00")
            .amount(999)
            .expect("1E0600", "0000000000"),
        case("06 under X: equal is not under", "1E06 1F00")
            .amount(1000)
            .expect("1F0002", "0000000000"),
        case("07 over X: above", "1E07 1F00")
            .amount(1001)
            .expect("1E0700", "0000000000"),
        case("07 over X: equal is not over", "1E07 1F00")
            .amount(1000)
            .expect("1F0002", "0000000000"),
        case("07 over X: below", "1E07 1F00")
            .amount(10)
            .expect("1F0002", "0000000000"),
        case("08 under Y: below", "1E08 1F00")
            .amount(4999)
            .expect("1E0800", "0000000000"),
        case("08 under Y: equal is not under", "1E08 1F00")
            .amount(5000)
            .expect("1F0002", "0000000000"),
        case("09 over Y: above", "1E09 1F00")
            .amount(5001)
            .expect("1E0900", "0000000000"),
        case("09 over Y: equal is not over", "1E09 1F00")
            .amount(5000)
            .expect("1F0002", "0000000000"),
        case("07 with another application currency: not met", "1E07 1F00")
            .amount(2000)
            .app_currency(Some("0840"))
            .expect("1F0002", "0000000000"),
        case(
            "06 without application currency (9F42): rule bypassed",
            "1E06 1F00",
        )
        .amount(1)
        .app_currency(None)
        .expect("1F0002", "0000000000"),
        case("no rule's condition satisfied: list exhausted", "0101 1E05")
            .expect("3F0001", "0000800000"),
        // ---- no CVM List / AIP (Book 3 §10.5) ----
        case("no CVM List", "")
            .no_list()
            .expect("3F0000", "2000000000")
            .tsi("0000"),
        case("CVM List with only X and Y", "")
            .expect("3F0000", "2000000000")
            .tsi("0000"),
        case("AIP without cardholder verification", "0100")
            .aip("0000")
            .pins(&["1234"])
            .expect("3F0000", "0000000000")
            .tsi("0000")
            .verifies(0)
            .prompts(0),
        {
            let mut c = case("CVM Results without b7 when configured", "4103")
                .pins(&["1234"])
                .expect("010302", "0000000000");
            c.keep_b7 = false;
            c
        },
    ]
}

#[test]
fn cvm_table() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let r = run(c);
        let mut wrong = Vec::new();
        if let Some(e) = &r.error {
            wrong.push(format!("error {e}"));
        }
        if r.results != c.results {
            wrong.push(format!("9F34 {} (expected {})", r.results, c.results));
        }
        if r.tvr != c.tvr {
            wrong.push(format!("TVR {} (expected {})", r.tvr, c.tvr));
        }
        if r.tsi != c.tsi {
            wrong.push(format!("TSI {} (expected {})", r.tsi, c.tsi));
        }
        if let Some(n) = c.verifies
            && r.verifies != n
        {
            wrong.push(format!("{} VERIFY (expected {n})", r.verifies));
        }
        if let Some(n) = c.prompts
            && r.prompts != n
        {
            wrong.push(format!("{} PIN prompts (expected {n})", r.prompts));
        }
        if let Some(s) = c.signature
            && r.signature != s
        {
            wrong.push(format!("signature {} (expected {s})", r.signature));
        }
        if c.online_pin_format != r.online_format {
            wrong.push(format!(
                "online PIN block format {:?} (expected {:?})",
                r.online_format, c.online_pin_format
            ));
        }
        if let Some(n) = c.card_ptc_after
            && r.card_ptc != n
        {
            wrong.push(format!("card PTC {} (expected {n})", r.card_ptc));
        }
        // PINs are never logged (Book 3 §6.5.12 block 24 1234 FF...)
        if r.log.contains("241234") || r.log.contains("240000") {
            wrong.push("a PIN block appears in the logs".into());
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", c.name, wrong.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn malformed_cvm_list_terminates() {
    // Book 3 §10.5 / §7.5: odd length after X and Y, or shorter than 8 bytes
    for list in ["000003E800001388 01", "000003E8"] {
        let mut c = case("malformed", "");
        c.list = Some(list.replace(' ', ""));
        let r = run(&c);
        let e = r.error.expect("must terminate");
        assert!(e.contains("CVM List"), "{e}");
    }
}

#[test]
fn the_trace_explains_each_rule() {
    let c = case("trace", "0101 4800 4103 1E03").pins(&["bypass"]);
    let r = run(&c);
    assert_eq!(r.results, "1E0300");
    assert!(r.log.contains("condition-not-satisfied"), "{}", r.log);
    assert!(r.log.contains("unrecognised"), "{}", r.log);
    assert!(r.log.contains("PIN entry bypassed"), "{}", r.log);
    assert!(r.log.contains("\"successful\""), "{}", r.log);
}

#[test]
fn nobody_at_the_pin_pad_is_pin_not_entered_and_says_why() {
    // the same CVM Results, TVR and TSI as a cancel (Book 4 §6.3.4.3: PIN entry required,
    // PIN pad present, but PIN was not entered), the reason in the text instead of a cancel
    let rules = "4100 4200 1E00";
    let cancel = run(&case("cancel", rules));
    let mut c = case("nobody", rules);
    c.nobody = Some("no --pin was given");
    let r = run(&c);
    assert_eq!(r.results, "1E0000");
    assert_eq!(
        (&r.results, &r.tvr, &r.tsi),
        (&cancel.results, &cancel.tvr, &cancel.tsi)
    );
    assert_eq!(r.prompts, 2);
    assert!(
        r.log
            .contains("the cardholder was not asked for a PIN: no --pin was given"),
        "{}",
        r.log
    );
    assert!(
        r.log
            .contains("the cardholder was not asked for an online PIN: no --pin was given"),
        "{}",
        r.log
    );
    assert!(!r.log.contains("cancelled"), "{}", r.log);
    assert!(cancel.log.contains("cancelled"), "{}", cancel.log);
}
