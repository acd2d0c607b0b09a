//! Scripted-card tests of the stages other than CVM: application selection (Book 1 §12),
//! GPO (Book 3 §10.1), read application data (§10.2), ODA (§10.3), processing
//! restrictions (§10.4), terminal risk management (§10.6), action analysis and GENERATE AC
//! (§10.7, §10.8), online processing, issuer authentication and scripts (§10.9-10.11).
//! Every test checks that the card's whole script was consumed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use emv_apdu::commands::{self, AcType};
use emv_auth::{ResponseCode, TransactionType};
use emv_crypto::oda::{self, test_keys};
use emv_kernel::testing::{ScriptedCard, TestHost};
use emv_kernel::{Kernel, KernelConfig, OutcomeKind, Profile, ScriptedPinPad, TransactionParams};
use emv_tlv::{Tag, encode_tlv};

const VISA: &str = "A0000000031010";
const MC: &str = "A0000000041010";
const TEST: &str = "F0000000011010";
const PAN: &str = "4761739001010010";
const UN: &str = "11223344";
const CDOL1: &str = "9F02069F03069F1A0295055F2A029A039C019F3704";
const CDOL2: &str = "8A029F37049505";

fn h(s: &str) -> Vec<u8> {
    emv_tlv::hex::decode(s).unwrap()
}

fn x(b: &[u8]) -> String {
    emv_tlv::hex::encode(b)
}

fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    encode_tlv(Tag::new(tag), value)
}

fn tlvs(parts: &[(u32, &str)]) -> Vec<u8> {
    parts.iter().flat_map(|(t, v)| tlv(*t, &h(v))).collect()
}

fn ok(data: &[u8]) -> String {
    format!("{}9000", x(data))
}

fn cmd(c: emv_apdu::Command) -> String {
    x(&c.to_bytes().unwrap())
}

fn select(aid: &str) -> String {
    cmd(commands::select(&h(aid)))
}

fn select_next(aid: &str) -> String {
    cmd(commands::select_next(&h(aid)))
}

fn fci(aid: &str, a5: &[u8]) -> String {
    let inner = [tlv(0x84, &h(aid)), tlv(0xA5, a5)].concat();
    ok(&tlv(0x6F, &inner))
}

fn read_record(sfi: u8, rec: u8) -> String {
    cmd(commands::read_record(sfi, rec).unwrap())
}

fn gpo(pdol_data: &str) -> String {
    cmd(commands::get_processing_options(&h(pdol_data)))
}

fn gen_ac(t: AcType, cda: bool, data: &str) -> String {
    cmd(commands::generate_ac(t, cda, &h(data)))
}

fn cdol1_data(amount: &str, tvr: &str) -> String {
    format!("{amount}000000000000 0250 {tvr} 0978 260115 00 {UN}").replace(' ', "")
}

/// The usual record: PAN, dates, DOLs, CVM List, usage control, IACs.
fn record(cvm_list: &str, version: &str, extra: &[(u32, &str)]) -> Vec<u8> {
    let mut objs = vec![
        (0x5A, PAN),
        (0x5F24, "291231"),
        (0x5F25, "200101"),
        (0x5F34, "01"),
        (0x8C, CDOL1),
        (0x8D, CDOL2),
        (0x8E, cvm_list),
        (0x9F07, "FF00"),
        (0x5F28, "0250"),
        (0x9F08, version),
        (0x9F0D, "0000000000"),
        (0x9F0E, "0000000000"),
        (0x9F0F, "0000000000"),
    ];
    objs.extend_from_slice(extra);
    tlv(0x70, &tlvs(&objs))
}

fn params(amount: u64) -> TransactionParams {
    TransactionParams {
        amount,
        unpredictable_number: Some([0x11, 0x22, 0x33, 0x44]),
        ..TransactionParams::default()
    }
}

/// pos-attended reduced to the Visa AID, no PSE.
fn visa_only(overrides: &[&str]) -> Profile {
    let mut p = Profile::builtin("pos-attended").unwrap();
    p.aids.retain(|a| x(&a.aid) == VISA);
    p.use_pse = false;
    for o in overrides {
        p.override_tag_str(o).unwrap();
    }
    p
}

/// SELECT Visa (list of AIDs), SELECT next, final SELECT.
fn select_visa(card: &mut ScriptedCard, a5: &[u8]) {
    card.push(&select(VISA), &fci(VISA, a5));
    card.push(&select_next(VISA), "6A82");
    card.push(&select(VISA), &fci(VISA, a5));
}

fn kernel(p: Profile) -> Kernel {
    Kernel::new(p, KernelConfig::default())
}

#[test]
fn pse_priority_and_offline_approval() {
    let profile = {
        let mut p = Profile::builtin("pos-attended").unwrap();
        p.override_tag_str("DF8122=0000000000").unwrap();
        p
    };
    let pse_fci = ok(&tlv(
        0x6F,
        &[tlv(0x84, b"1PAY.SYS.DDF01"), tlv(0xA5, &tlv(0x88, &[1]))].concat(),
    ));
    let entry = |aid: &str, label: &[u8], prio: u8| {
        tlv(
            0x61,
            &[tlv(0x4F, &h(aid)), tlv(0x50, label), tlv(0x87, &[prio])].concat(),
        )
    };
    let dir = tlv(
        0x70,
        &[entry(MC, b"MASTERCARD", 2), entry(VISA, b"VISA", 1)].concat(),
    );
    let a5 = [tlv(0x50, b"VISA"), tlv(0x87, &[1])].concat();
    let mut card = ScriptedCard::new()
        .expect(&cmd(commands::select_pse()), &pse_fci)
        .expect(&read_record(1, 1), &ok(&dir))
        .expect(&read_record(1, 2), "6A83")
        .expect(&select(VISA), &fci(VISA, &a5))
        .expect(&gpo(""), &ok(&tlv(0x80, &h("1800 08010100"))))
        .expect(
            &read_record(1, 1),
            &ok(&record("000000000000000041011F00", "0096", &[])),
        )
        .expect(
            &gen_ac(AcType::Tc, false, &cdol1_data("000000001000", "8000000000")),
            &ok(&tlv(0x80, &h("40 0001 0102030405060708 06010A03A00000"))),
        );
    let mut pad = ScriptedPinPad::new(Vec::<&str>::new()).unwrap();
    let mut host = TestHost::unreachable();
    let out = kernel(profile)
        .run(&mut card, &mut pad, &mut host, &params(1000))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Approved, "{:#?}", out.decisions);
    assert_eq!(
        out.aid.as_deref().map(emv_tlv::hex::encode).as_deref(),
        Some(VISA)
    );
    assert_eq!(out.cid_first.map(|c| c.to_hex()).as_deref(), Some("40"));
    assert_eq!(out.cid_final.map(|c| c.to_hex()).as_deref(), Some("40"));
    // ODA not performed (AIP has none); 4101 condition 01 not met → 1F00
    assert_eq!(out.tvr.to_hex(), "8000000000");
    assert_eq!(out.tsi.to_hex(), "6800");
    assert_eq!(out.cvm_results.to_hex(), "1F0002");
    assert_eq!(out.cvm_performed.name(), "no-cvm");
    assert_eq!(out.apdu_count, 7);
    assert!(host.requests.is_empty());
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["outcome"], "approved");
    assert_eq!(json["host_response_code"], serde_json::Value::Null);
    assert_eq!(json["apdus"][0]["name"], "SELECT");
}

#[test]
fn gpo_6985_next_candidate_online_pin_issuer_auth_and_scripts() {
    let visa_a5 = [
        tlv(0x50, b"VISA"),
        tlv(0x87, &[1]),
        tlv(0x9F38, &h("9F0206")),
    ]
    .concat();
    let mc_a5 = [tlv(0x50, b"MASTERCARD"), tlv(0x87, &[2])].concat();
    let script71 = tlv(
        0x71,
        &tlvs(&[(0x9F18, "00000001"), (0x86, "84240000080102030405060708")]),
    );
    let script72 = tlv(
        0x72,
        &tlvs(&[
            (0x9F18, "00000002"),
            (0x86, "84240000080102030405060708"),
            (0x86, "84160000080807060504030201"),
        ]),
    );
    let iad = "AABBCCDDEEFF00113030";
    let mut card = ScriptedCard::new()
        .expect(&cmd(commands::select_pse()), "6A82")
        .expect(&select(VISA), &fci(VISA, &visa_a5))
        .expect(&select_next(VISA), "6A82")
        .expect(&select(MC), &fci(MC, &mc_a5))
        .expect(&select_next(MC), "6A82")
        .expect(&select(TEST), "6A82")
        .expect(&select(VISA), &fci(VISA, &visa_a5))
        .expect(&gpo("000000002500"), "6985")
        .expect(&select(MC), &fci(MC, &mc_a5))
        .expect(
            &gpo(""),
            &ok(&tlv(0x77, &tlvs(&[(0x82, "1C00"), (0x94, "08010100")]))),
        )
        .expect(
            &read_record(1, 1),
            &ok(&record(
                "000000000000000042031E03",
                "0002",
                &[(0x9F14, "03"), (0x9F23, "05")],
            )),
        )
        .expect("80CA9F3600", &ok(&tlv(0x9F36, &h("0005"))))
        .expect("80CA9F1300", &ok(&tlv(0x9F13, &h("0000"))))
        .expect(
            &gen_ac(
                AcType::Arqc,
                false,
                &cdol1_data("000000002500", "8008044000"),
            ),
            &ok(&tlv(
                0x77,
                &tlvs(&[
                    (0x9F27, "80"),
                    (0x9F36, "0005"),
                    (0x9F26, "1122334455667788"),
                    (0x9F10, "06010A03A00000"),
                ]),
            )),
        )
        .expect(&cmd(commands::external_authenticate(&h(iad))), "9000")
        .expect("84240000080102030405060708", "9000")
        .expect(
            &gen_ac(AcType::Tc, false, &format!("3030{UN}8008044000")),
            &ok(&tlv(
                0x77,
                &tlvs(&[
                    (0x9F27, "40"),
                    (0x9F36, "0005"),
                    (0x9F26, "8877665544332211"),
                ]),
            )),
        )
        .expect("84240000080102030405060708", "9000")
        .expect("84160000080807060504030201", "6985");
    let mut pad = ScriptedPinPad::new(["1234"]).unwrap();
    let mut host = TestHost::approving(Some(h(iad)), vec![script71, script72]);
    let out = kernel(Profile::builtin("pos-attended").unwrap())
        .run(&mut card, &mut pad, &mut host, &params(2500))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(
        out.outcome,
        OutcomeKind::OnlineApproved,
        "{:#?}",
        out.decisions
    );
    assert_eq!(
        out.aid.as_deref().map(emv_tlv::hex::encode).as_deref(),
        Some(MC)
    );
    assert_eq!(out.cvm_results.to_hex(), "420300");
    assert_eq!(out.cvm_performed.name(), "online-pin");
    assert_eq!(
        (
            out.cid_first.map(|c| c.to_hex()).as_deref(),
            out.cid_final.map(|c| c.to_hex()).as_deref()
        ),
        (Some("80"), Some("40"))
    );
    // ODA not performed, new card, online PIN, lower limit exceeded; script failed after
    assert_eq!(out.tvr.to_hex(), "8008044010");
    assert_eq!(out.tsi.to_hex(), "7C00");
    assert_eq!(
        out.script_results_hex().as_deref(),
        Some("20000000011200000002")
    );
    assert_eq!(
        out.host_response_code.as_ref().map(|c| c.as_str()),
        Some("00")
    );
    assert_eq!(
        out.arc.map(|a| emv_tlv::hex::encode(&a)).as_deref(),
        Some("3030")
    );
    let req = &host.requests[0];
    let pin = req.pin.as_ref().unwrap();
    assert_eq!(
        (pin.format, pin.key_id.as_str(), pin.pin_block.len()),
        (0, "TPK-TEST-01", 8)
    );
    assert_eq!(req.pan, PAN);
    assert_eq!(req.psn.as_deref(), Some("01"));
    let icc = emv_tlv::parse_all(&req.icc_data).unwrap();
    for tag in [
        0x9F26, 0x9F27, 0x9F10, 0x9F36, 0x9F37, 0x95, 0x9A, 0x9C, 0x9F02, 0x9F03, 0x5F2A, 0x82,
        0x9F1A, 0x9F34, 0x9F33, 0x9F35, 0x84, 0x5F34,
    ] {
        assert!(
            emv_tlv::find(&icc, Tag::new(tag)).is_some(),
            "DE 55 lacks {tag:X}"
        );
    }
    let advice = &host.advices[0];
    let icc = emv_tlv::parse_all(&advice.icc_data).unwrap();
    assert_eq!(
        emv_tlv::find(&icc, Tag::new(0x9F5B)).unwrap().value(),
        h("20000000011200000002")
    );
    assert_eq!(
        emv_tlv::find(&icc, Tag::new(0x9F27)).unwrap().value(),
        [0x40]
    );
}

fn simple_card(amount_hex: &str, tvr: &str, second: Option<(AcType, &str, &str)>) -> ScriptedCard {
    let mut card = ScriptedCard::new();
    select_visa(&mut card, &tlv(0x50, b"VISA"));
    card.push(&gpo(""), &ok(&tlv(0x80, &h("1800 08010100"))));
    card.push(
        &read_record(1, 1),
        &ok(&record("00000000000000001F00", "0096", &[])),
    );
    card.push(
        &gen_ac(AcType::Arqc, false, &cdol1_data(amount_hex, tvr)),
        &ok(&tlv(0x80, &h("80 0001 0102030405060708"))),
    );
    if let Some((t, data, cid)) = second {
        card.push(
            &gen_ac(t, false, data),
            &ok(&tlv(0x80, &h(&format!("{cid} 0001 0807060504030201")))),
        );
    }
    card
}

#[test]
fn unable_to_go_online_declines_with_z3_when_default_codes_match() {
    // amount 60.00 > floor limit 50.00: TVR 80 00 00 80 00, matches TAC-Default FC50BCA000
    let mut card = simple_card(
        "000000006000",
        "8000008000",
        Some((AcType::Aac, &format!("5A33{UN}8000008000"), "00")),
    );
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(visa_only(&[]))
        .run(&mut card, &mut pad, &mut host, &params(6000))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Declined);
    assert_eq!(
        out.arc.map(|a| emv_tlv::hex::encode(&a)).as_deref(),
        Some("5A33")
    );
    assert_eq!(out.host_response_code, None);
    assert_eq!(out.cid_final.map(|c| c.to_hex()).as_deref(), Some("00"));
    assert!(host.advices.is_empty());
}

#[test]
fn unable_to_go_online_approves_with_y3_when_default_codes_do_not_match() {
    let mut card = simple_card(
        "000000006000",
        "8000008000",
        Some((AcType::Tc, &format!("5933{UN}8000008000"), "40")),
    );
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(visa_only(&["DF8120=0000000000"]))
        .run(&mut card, &mut pad, &mut host, &params(6000))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Approved);
    assert_eq!(
        out.arc.map(|a| emv_tlv::hex::encode(&a)).as_deref(),
        Some("5933")
    );
}

#[test]
fn host_decline_gives_online_declined_and_91_goes_in_cdol2_without_issuer_auth() {
    // AIP 1800: no issuer authentication → no EXTERNAL AUTHENTICATE
    let mut card = simple_card(
        "000000006000",
        "8000008000",
        Some((AcType::Aac, &format!("3531{UN}8000008000"), "00")),
    );
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::declining(ResponseCode::INSUFFICIENT_FUNDS, None);
    let out = kernel(visa_only(&[]))
        .run(&mut card, &mut pad, &mut host, &params(6000))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::OnlineDeclined);
    assert_eq!(
        out.host_response_code.as_ref().map(|c| c.as_str()),
        Some("51")
    );
    assert_eq!(host.advices.len(), 1);
}

#[test]
fn card_blocked_6a81_terminates() {
    let mut card = ScriptedCard::new().expect(&cmd(commands::select_pse()), "6A81");
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(Profile::builtin("pos-attended").unwrap())
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Terminated);
    assert!(out.termination_reason.unwrap().contains("6A81"));
}

#[test]
fn blocked_application_6283_is_not_a_candidate() {
    let mut card = ScriptedCard::new()
        .expect(
            &select(VISA),
            &fci(VISA, &tlv(0x50, b"VISA")).replace("9000", "6283"),
        )
        .expect(&select_next(VISA), "6A82");
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(visa_only(&[]))
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Terminated);
    let reason = out.termination_reason.unwrap();
    assert!(
        reason.contains("no mutually supported application"),
        "{reason}"
    );
    assert!(out.decisions.iter().any(|d| d.text().contains("6283")));
}

#[test]
fn partial_match_and_confirmation_required_application_skipped_by_unattended_terminal() {
    // DF name longer than the terminal AID (partial selection); first one needs confirmation
    let long1 = format!("{VISA}01");
    let long2 = format!("{VISA}02");
    let mut profile = Profile::builtin("unattended").unwrap();
    profile.aids.retain(|a| x(&a.aid) == VISA);
    profile.use_pse = false;
    let a5 = |prio: u8| [tlv(0x50, b"VISA"), tlv(0x87, &[prio])].concat();
    let mut card = ScriptedCard::new()
        .expect(&select(VISA), &fci(&long1, &a5(0x81)))
        .expect(&select_next(VISA), &fci(&long2, &a5(0x02)))
        .expect(&select_next(VISA), "6A82")
        .expect(&select(&long2), &fci(&long2, &a5(0x02)))
        .expect(&gpo(""), "6A88");
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(profile)
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(
        out.aid.as_deref().map(emv_tlv::hex::encode).as_deref(),
        Some(long2.as_str())
    );
    assert_eq!(out.outcome, OutcomeKind::Terminated);
    assert!(
        out.decisions
            .iter()
            .any(|d| d.text().contains("confirmation"))
    );
}

fn until_read(record_response: &str) -> (ScriptedCard, emv_kernel::Outcome) {
    let mut card = ScriptedCard::new();
    select_visa(&mut card, &tlv(0x50, b"VISA"));
    card.push(&gpo(""), &ok(&tlv(0x80, &h("1800 08010100"))));
    card.push(&read_record(1, 1), record_response);
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(visa_only(&[]))
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    (card, out)
}

#[test]
fn read_record_errors_terminate() {
    let dup = [record("00000000000000001F00", "0096", &[]), Vec::new()].concat();
    let mut dup_inner = tlvs(&[(0x5A, PAN)]);
    dup_inner.extend_from_slice(&dup[2..]);
    let cases = [
        (ok(&tlv(0x70, &dup_inner)), "appears twice"),
        (
            ok(&tlv(
                0x70,
                &tlvs(&[(0x5A, PAN), (0x5F24, "291231"), (0x8C, CDOL1)]),
            )),
            "CDOL2",
        ),
        (ok(&tlv(0x77, &tlvs(&[(0x5A, PAN)]))), "instead of 70"),
        ("6A83".to_owned(), "READ RECORD"),
        ("70FF9000".to_owned(), "not one TLV object"),
    ];
    for (resp, why) in cases {
        let (_, out) = until_read(&resp);
        assert_eq!(out.outcome, OutcomeKind::Terminated, "{why}");
        let reason = out.termination_reason.unwrap();
        assert!(reason.contains(why), "{why}: {reason}");
        assert_eq!(
            out.terminated_at,
            Some(emv_kernel::Stage::ReadApplicationData)
        );
    }
}

#[test]
fn malformed_gpo_answers_terminate() {
    for (resp, why) in [
        (ok(&tlv(0x77, &tlvs(&[(0x82, "1800")]))), "AFL"),
        (ok(&tlv(0x80, &h("18"))), "shorter"),
        (ok(&tlv(0x80, &h("1800 080101"))), "AFL is malformed"),
        (ok(&tlv(0x70, &h("00"))), "neither 80 nor 77"),
        ("6A80".to_owned(), "6A80"),
    ] {
        let mut card = ScriptedCard::new();
        select_visa(&mut card, &tlv(0x50, b"VISA"));
        card.push(&gpo(""), &resp);
        let mut pad = ScriptedPinPad::default();
        let mut host = TestHost::unreachable();
        let out = kernel(visa_only(&[]))
            .run(&mut card, &mut pad, &mut host, &params(100))
            .unwrap();
        card.finish().unwrap();
        let reason = out.termination_reason.unwrap();
        assert!(reason.contains(why), "{why}: {reason}");
    }
}

#[test]
fn card_may_not_return_a_higher_cryptogram_than_requested() {
    // TAC-Denial all ones: AAC requested; the card answers TC
    let mut card = ScriptedCard::new();
    select_visa(&mut card, &tlv(0x50, b"VISA"));
    card.push(&gpo(""), &ok(&tlv(0x80, &h("1800 08010100"))));
    card.push(
        &read_record(1, 1),
        &ok(&record("00000000000000001F00", "0096", &[])),
    );
    card.push(
        &gen_ac(
            AcType::Aac,
            false,
            &cdol1_data("000000000100", "8000000000"),
        ),
        &ok(&tlv(0x80, &h("40 0001 0102030405060708"))),
    );
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let out = kernel(visa_only(&["DF8121=FFFFFFFFFF"]))
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Terminated);
    assert!(
        out.termination_reason
            .unwrap()
            .contains("TC to a request for AAC")
    );
}

/// Runs one stage on injected card data; the card's script must be consumed exactly.
fn with_tx<R>(
    profile: Profile,
    p: TransactionParams,
    card: &mut ScriptedCard,
    icc: &[(u32, &str)],
    f: impl FnOnce(&mut emv_kernel::Transaction<'_, ScriptedCard, ScriptedPinPad, TestHost>) -> R,
) -> (R, emv_kernel::Outcome) {
    let k = kernel(profile);
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let mut tx = k.transaction(card, &mut pad, &mut host, &p).unwrap();
    for (t, v) in icc {
        tx.set_icc_value(Tag::new(*t), &h(v));
    }
    let r = f(&mut tx);
    let out = tx.finish();
    // every scripted exchange consumed, nothing unexpected sent
    card.finish().unwrap();
    (r, out)
}

#[test]
fn processing_restrictions() {
    let pr = |profile: Profile, p: TransactionParams, icc: &[(u32, &str)]| {
        let mut card = ScriptedCard::new();
        let (_, out) = with_tx(profile, p, &mut card, icc, |tx| {
            tx.processing_restrictions().unwrap()
        });
        card.finish().unwrap();
        out.tvr.to_hex()
    };
    let pos = || visa_only(&[]);
    let base = [
        (0x9F08, "0096"),
        (0x5F24, "291231"),
        (0x5F25, "200101"),
        (0x9F07, "FF00"),
        (0x5F28, "0250"),
    ];
    // Book 3 §10.4.1 version; the terminal's 9F09 is set at final selection, so here the
    // card's version alone is not compared
    assert_eq!(pr(pos(), params(100), &base), "0000000000");
    // §10.4.3: expired, not yet effective
    assert_eq!(pr(pos(), params(100), &[(0x5F24, "251231")]), "0040000000");
    assert_eq!(
        pr(
            pos(),
            params(100),
            &[(0x5F25, "260116"), (0x5F24, "291231")]
        ),
        "0020000000"
    );
    // §10.4.2: not valid at terminals other than ATMs
    assert_eq!(pr(pos(), params(100), &[(0x9F07, "FE00")]), "0010000000");
    // ATM: valid at ATMs bit needed
    let atm = Profile::builtin("atm").unwrap();
    let cash = TransactionParams {
        transaction_type: TransactionType::Cash,
        ..params(2000)
    };
    assert_eq!(
        pr(
            atm.clone(),
            cash.clone(),
            &[(0x9F07, "FD00"), (0x5F28, "0250")]
        ),
        "0010000000"
    );
    assert_eq!(
        pr(
            atm.clone(),
            cash.clone(),
            &[(0x9F07, "8200"), (0x5F28, "0250")]
        ),
        "0000000000"
    );
    // international cash only allowed domestically → refused abroad
    assert_eq!(
        pr(atm, cash, &[(0x9F07, "8200"), (0x5F28, "0826")]),
        "0010000000"
    );
    // international goods not allowed
    assert_eq!(
        pr(pos(), params(100), &[(0x9F07, "EB00"), (0x5F28, "0826")]),
        "0010000000"
    );
    // domestic cashback not allowed
    let cashback = TransactionParams {
        amount_other: 500,
        ..params(1500)
    };
    assert_eq!(
        pr(
            pos(),
            cashback.clone(),
            &[(0x9F07, "FF40"), (0x5F28, "0250")]
        ),
        "0010000000"
    );
    assert_eq!(
        pr(pos(), cashback, &[(0x9F07, "FF80"), (0x5F28, "0250")]),
        "0000000000"
    );
}

#[test]
fn application_version_compared_after_final_selection() {
    let mut card = ScriptedCard::new();
    select_visa(&mut card, &tlv(0x50, b"VISA"));
    let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &[], |tx| {
        tx.application_selection().unwrap();
        tx.set_icc_value(Tag::new(0x9F08), &[0x00, 0x8C]);
        tx.processing_restrictions().unwrap();
    });
    card.finish().unwrap();
    assert_eq!(out.tvr.to_hex(), "0080000000");
}

#[test]
fn terminal_risk_management() {
    let trm_icc = [(0x82, "0800"), (0x9F14, "02"), (0x9F23, "04")];
    // velocity: ATC 7, last online 3 → 4 offline: > lower 2, not > upper 4
    let mut card = ScriptedCard::new()
        .expect("80CA9F3600", &ok(&tlv(0x9F36, &h("0007"))))
        .expect("80CA9F1300", &ok(&tlv(0x9F13, &h("0003"))));
    let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &trm_icc, |tx| {
        tx.terminal_risk_management().unwrap()
    });
    card.finish().unwrap();
    assert_eq!(
        (out.tvr.to_hex().as_str(), out.tsi.to_hex().as_str()),
        ("0000004000", "0800")
    );
    // Last Online ATC not returned: both limit bits (Book 3 §10.6.3)
    let mut card = ScriptedCard::new()
        .expect("80CA9F3600", &ok(&tlv(0x9F36, &h("0007"))))
        .expect("80CA9F1300", "6A88");
    let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &trm_icc, |tx| {
        tx.terminal_risk_management().unwrap()
    });
    card.finish().unwrap();
    assert_eq!(out.tvr.to_hex(), "0000006000");
    // new card + upper limit + floor limit (amount = floor limit)
    let mut card = ScriptedCard::new()
        .expect("80CA9F3600", &ok(&tlv(0x9F36, &h("0005"))))
        .expect("80CA9F1300", &ok(&tlv(0x9F13, &h("0000"))));
    let (_, out) = with_tx(visa_only(&[]), params(5000), &mut card, &trm_icc, |tx| {
        tx.terminal_risk_management().unwrap()
    });
    card.finish().unwrap();
    assert_eq!(out.tvr.to_hex(), "000800E000");
    // boundary: 2 offline transactions = lower limit 2 is not "exceeded"
    let mut card = ScriptedCard::new()
        .expect("80CA9F3600", &ok(&tlv(0x9F36, &h("0004"))))
        .expect("80CA9F1300", &ok(&tlv(0x9F13, &h("0002"))));
    let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &trm_icc, |tx| {
        tx.terminal_risk_management().unwrap()
    });
    card.finish().unwrap();
    assert_eq!(out.tvr.to_hex(), "0000000000");
    // AIP without terminal risk management: nothing, TSI not set
    let mut card = ScriptedCard::new();
    let (_, out) = with_tx(
        visa_only(&[]),
        params(9000),
        &mut card,
        &[(0x82, "1000")],
        |tx| tx.terminal_risk_management().unwrap(),
    );
    card.finish().unwrap();
    assert_eq!(
        (out.tvr.to_hex().as_str(), out.tsi.to_hex().as_str()),
        ("0000000000", "0000")
    );
}

#[test]
fn random_transaction_selection() {
    let with_percent = |target: u8, max: u8| {
        let mut p = visa_only(&[]);
        p.random_selection = Some(emv_kernel::RandomSelection {
            target_percent: target,
            max_target_percent: max,
            threshold: 2000,
        });
        p
    };
    let run = |p: Profile, amount: u64, seed: u64| {
        let mut card = ScriptedCard::new();
        let params = TransactionParams {
            seed,
            ..params(amount)
        };
        let (_, out) = with_tx(p, params, &mut card, &[(0x82, "0800")], |tx| {
            tx.terminal_risk_management().unwrap()
        });
        out.tvr.to_hex()
    };
    for seed in 0..20 {
        // 99 %: always selected (random number 1..=99); 0 %: never
        assert_eq!(run(with_percent(99, 99), 100, seed), "0000001000");
        assert_eq!(run(with_percent(0, 0), 4999, seed), "0000000000");
        // at or above the floor limit random selection is not performed
        assert_eq!(run(with_percent(99, 99), 5000, seed), "0000008000");
    }
    // biased selection: between threshold and floor the percentage rises towards the max
    let selected = (0..200)
        .filter(|&s| run(with_percent(0, 99), 4990, s) == "0000001000")
        .count();
    assert!(selected > 150, "{selected}");
    // deterministic given the seed
    assert_eq!(
        run(with_percent(50, 50), 100, 7),
        run(with_percent(50, 50), 100, 7)
    );
}

#[test]
fn terminal_action_analysis() {
    let taa = |profile: Profile, tvr_bits: &[(u32, &str)], icc: &[(u32, &str)]| {
        let mut card = ScriptedCard::new();
        let (r, _) = with_tx(profile, params(100), &mut card, icc, |tx| {
            // produce TVR bits through the stages that set them
            for (t, v) in tvr_bits {
                tx.set_icc_value(Tag::new(*t), &h(v));
            }
            tx.processing_restrictions().unwrap();
            tx.terminal_action_analysis().unwrap()
        });
        r
    };
    let expired = [(0x5F24, "200101")]; // TVR B2 0x40
    // IAC-Denial with "expired" → AAC
    assert_eq!(
        taa(visa_only(&[]), &expired, &[(0x9F0E, "0040000000")]),
        AcType::Aac
    );
    // TAC-Online FC50BCF800 has "expired" → ARQC
    assert_eq!(
        taa(visa_only(&[]), &expired, &[(0x9F0E, "0000000000")]),
        AcType::Arqc
    );
    // nothing set, IAC-Online absent (= all ones) but TVR 0 → TC
    assert_eq!(taa(visa_only(&[]), &[], &[]), AcType::Tc);
    // offline-only terminal: default codes decide
    let mut off = Profile::builtin("pos-offline-only").unwrap();
    off.aids.retain(|a| x(&a.aid) == VISA);
    assert_eq!(
        taa(off.clone(), &expired, &[(0x9F0D, "0000000000")]),
        AcType::Aac
    );
    assert_eq!(taa(off, &[], &[]), AcType::Tc);
    // online-only terminal: ARQC
    assert_eq!(
        taa(Profile::builtin("atm").unwrap(), &[], &[]),
        AcType::Arqc
    );
}

// ---- offline data authentication (Book 2) ----

struct Oda {
    issuer: oda::PublicKeyCertificate,
    icc: oda::PublicKeyCertificate,
    static_data: Vec<u8>,
    ssad: Vec<u8>,
}

fn pan() -> Vec<u8> {
    h(PAN)
}

/// Record 1 (SFI 1, signed) holds the application data; SFI 2 the keys, in records of at
/// most 256 bytes as a short APDU carries them (ISO/IEC 7816-4 §5.1): the issuer
/// certificate, the SDA signature, the ICC certificate.
fn oda_card(aip: &str, extra: &[(u32, &str)], tamper_ssad: bool) -> (Vec<u8>, Vec<Vec<u8>>, Oda) {
    let rec1 = record("00000000000000001F00", "0096", extra);
    let static_data = [rec1[2..].to_vec(), h(aip)].concat();
    let ca = test_keys::CA_E1.private_key().unwrap();
    let issuer = test_keys::ISSUER_896_E3.private_key().unwrap();
    let icc_pub = test_keys::ICC_768_E3.public_key().unwrap();
    let id = oda::issuer_identifier_from_pan(&pan(), 6).unwrap();
    let issuer_cert =
        oda::issue_issuer_certificate(&ca, id, [0x12, 0x49], [0, 0, 1], issuer.public_key())
            .unwrap();
    let icc_cert = oda::issue_icc_certificate(
        &issuer,
        &pan(),
        [0x12, 0x49],
        [0, 0, 2],
        &icc_pub,
        &static_data,
    )
    .unwrap();
    let mut ssad = oda::sign_static_application_data(&issuer, [0xDA, 0xC1], &static_data).unwrap();
    if tamper_ssad {
        ssad[10] ^= 1;
    }
    let rec2 = vec![
        tlv(
            0x70,
            &[
                tlv(0x8F, &[test_keys::TEST_CA_INDEX_1024]),
                tlv(0x90, &issuer_cert.certificate),
                tlv(0x92, &issuer_cert.remainder),
                tlv(0x9F32, &issuer_cert.exponent),
            ]
            .concat(),
        ),
        tlv(
            0x70,
            &[
                tlv(0x93, &ssad),
                tlv(0x9F4A, &[0x82]),
                tlv(0x9F49, &h("9F3704")),
            ]
            .concat(),
        ),
        tlv(
            0x70,
            &[
                tlv(0x9F46, &icc_cert.certificate),
                tlv(0x9F48, &icc_cert.remainder),
                tlv(0x9F47, &icc_cert.exponent),
            ]
            .concat(),
        ),
    ];
    assert!(rec2.iter().all(|r| r.len() <= 256));
    (
        rec1,
        rec2,
        Oda {
            issuer: issuer_cert,
            icc: icc_cert,
            static_data,
            ssad,
        },
    )
}

fn oda_prefix(card: &mut ScriptedCard, aip: &str, rec1: &[u8], rec2: &[Vec<u8>]) {
    select_visa(card, &tlv(0x50, b"VISA"));
    card.push(
        &gpo(""),
        &ok(&tlv(
            0x80,
            &h(&format!("{aip} 08010101 1001{:02X}00", rec2.len())),
        )),
    );
    card.push(&read_record(1, 1), &ok(rec1));
    for (r, rec) in (1u8..).zip(rec2) {
        card.push(&read_record(2, r), &ok(rec));
    }
}

#[test]
fn sda_successful_and_failed() {
    for (tamper, tvr) in [(false, "0200000000"), (true, "4200000000")] {
        let aip = "5000"; // SDA, CV
        let (rec1, rec2, _) = oda_card(aip, &[], tamper);
        let mut card = ScriptedCard::new();
        oda_prefix(&mut card, aip, &rec1, &rec2);
        let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &[], |tx| {
            tx.application_selection().unwrap();
            assert!(tx.initiate_application_processing().unwrap());
            tx.read_application_data().unwrap();
            tx.offline_data_authentication().unwrap();
        });
        card.finish().unwrap();
        assert_eq!(
            (out.tvr.to_hex().as_str(), out.tsi.to_hex().as_str()),
            (tvr, "8000"),
            "tamper {tamper}"
        );
    }
}

#[test]
fn dda_successful_failed_and_missing_ca_key() {
    let aip = "3000"; // DDA, CV
    let (rec1, rec2, _) = oda_card(aip, &[], false);
    let icc = test_keys::ICC_768_E3.private_key().unwrap();
    let dyn_data = oda::dda_icc_dynamic_data(&[1, 2, 3, 4]).unwrap();
    let sdad = oda::sign_dynamic_application_data(&icc, &dyn_data, &h(UN)).unwrap();
    for (resp, tvr) in [
        (ok(&tlv(0x80, &sdad)), "0000000000"),
        (ok(&tlv(0x77, &tlv(0x9F4B, &sdad))), "0000000000"),
        (ok(&tlv(0x80, &sdad[1..])), "0800000000"),
        ("6985".to_owned(), "0800000000"),
    ] {
        let mut card = ScriptedCard::new();
        oda_prefix(&mut card, aip, &rec1, &rec2);
        card.push(&cmd(commands::internal_authenticate(&h(UN))), &resp);
        let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &[], |tx| {
            tx.application_selection().unwrap();
            tx.initiate_application_processing().unwrap();
            tx.read_application_data().unwrap();
            tx.offline_data_authentication().unwrap();
            assert_eq!(tx.value(Tag::new(0x9F4C)).is_some(), tvr == "0000000000");
        });
        card.finish().unwrap();
        assert_eq!(
            (out.tvr.to_hex().as_str(), out.tsi.to_hex().as_str()),
            (tvr, "8000")
        );
    }
    // no CA key for the card's index: DDA failed, no INTERNAL AUTHENTICATE
    let mut cfg = KernelConfig::default();
    cfg.ca_keys
        .remove(&[0xA0, 0, 0, 0, 3], test_keys::TEST_CA_INDEX_1024);
    let k = Kernel::new(visa_only(&[]), cfg);
    let mut card = ScriptedCard::new();
    oda_prefix(&mut card, aip, &rec1, &rec2);
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::unreachable();
    let mut tx = k
        .transaction(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    tx.application_selection().unwrap();
    tx.initiate_application_processing().unwrap();
    tx.read_application_data().unwrap();
    tx.offline_data_authentication().unwrap();
    assert_eq!(tx.tvr().to_hex(), "0800000000");
    drop(tx);
    card.finish().unwrap();
}

#[test]
fn icc_data_missing_for_oda() {
    let aip = "5000";
    let (rec1, _, oda) = oda_card(aip, &[], false);
    // no issuer certificate at all
    let rec2 = [tlv(
        0x70,
        &[tlv(0x8F, &[0xE1]), tlv(0x93, &oda.ssad)].concat(),
    )];
    let mut card = ScriptedCard::new();
    oda_prefix(&mut card, aip, &rec1, &rec2);
    let (_, out) = with_tx(visa_only(&[]), params(100), &mut card, &[], |tx| {
        tx.application_selection().unwrap();
        tx.initiate_application_processing().unwrap();
        tx.read_application_data().unwrap();
        tx.offline_data_authentication().unwrap();
    });
    card.finish().unwrap();
    assert_eq!(out.tvr.to_hex(), "6200000000");
    let _ = (&oda.issuer, &oda.icc, &oda.static_data);
}

/// A card that answers from a script but signs GENERATE AC for CDA itself.
struct CdaCard {
    script: ScriptedCard,
    tamper: bool,
}

impl emv_apdu::Transport for CdaCard {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, emv_apdu::TransportError> {
        if capdu.get(1) != Some(&0xAE) {
            return self.script.transmit(capdu);
        }
        let p1 = capdu[2];
        let lc = usize::from(capdu[4]);
        let cdol = &capdu[5..5 + lc];
        let cid = p1 & 0xC0;
        let tlvs = tlvs(&[
            (0x9F27, &format!("{cid:02X}")),
            (0x9F36, "0001"),
            (0x9F10, "06010A03A00000"),
        ]);
        let ac = [0xAC; 8];
        let mut body = tlvs.clone();
        if p1 & 0x10 != 0 {
            let hash = oda::cda_transaction_data_hash(&[], cdol, None, &tlvs);
            let icc = test_keys::ICC_768_E3.private_key().unwrap();
            let mut sig = oda::sign_cda(
                &icc,
                &oda::CdaInput {
                    icc_dynamic_number: &[9, 8, 7, 6],
                    cid,
                    application_cryptogram: ac,
                    transaction_data_hash: hash,
                    unpredictable_number: &cdol[cdol.len() - 4..],
                },
            )
            .unwrap();
            if self.tamper {
                sig[5] ^= 0x55;
            }
            body.extend_from_slice(&tlv(0x9F4B, &sig));
        } else {
            body.extend_from_slice(&tlv(0x9F26, &ac));
        }
        let mut out = tlv(0x77, &body);
        out.extend_from_slice(&[0x90, 0x00]);
        Ok(out)
    }
}

#[test]
fn cda_offline_approval_and_failure() {
    let aip = "1900"; // CDA, CV, TRM
    for (tamper, outcome, tvr) in [
        (false, OutcomeKind::Approved, "0000000000"),
        (true, OutcomeKind::Declined, "0400000000"),
    ] {
        let (rec1, rec2, _) = oda_card(aip, &[], false);
        let mut script = ScriptedCard::new();
        oda_prefix(&mut script, aip, &rec1, &rec2);
        let mut card = CdaCard { script, tamper };
        let mut pad = ScriptedPinPad::default();
        let mut host = TestHost::unreachable();
        let out = kernel(visa_only(&[]))
            .run(&mut card, &mut pad, &mut host, &params(100))
            .unwrap();
        card.script.finish().unwrap();
        assert_eq!(out.outcome, outcome, "{:#?}", out.decisions);
        assert_eq!(out.tvr.to_hex(), tvr);
        assert_eq!(out.tsi.to_hex(), "E800");
        let gen_ac = out
            .apdus
            .iter()
            .find(|a| a.name.starts_with("GENERATE AC"))
            .unwrap();
        assert_eq!(gen_ac.name, "GENERATE AC (TC, CDA)");
    }
}

#[test]
fn arqc_at_an_offline_only_terminal_completes_without_the_host() {
    let mut profile = Profile::builtin("pos-offline-only").unwrap();
    profile.aids.retain(|a| x(&a.aid) == VISA);
    profile.use_pse = false;
    profile.override_tag_str("DF8120=0000000000").unwrap();
    let mut card = ScriptedCard::new();
    select_visa(&mut card, &tlv(0x50, b"VISA"));
    card.push(&gpo(""), &ok(&tlv(0x80, &h("1800 08010100"))));
    card.push(
        &read_record(1, 1),
        &ok(&record("00000000000000001F00", "0096", &[])),
    );
    card.push(
        &gen_ac(AcType::Tc, false, &cdol1_data("000000000100", "8000000000")),
        &ok(&tlv(0x80, &h("80 0001 0102030405060708"))),
    );
    card.push(
        &gen_ac(AcType::Tc, false, &format!("5933{UN}8000000000")),
        &ok(&tlv(0x80, &h("40 0001 0807060504030201"))),
    );
    let mut pad = ScriptedPinPad::default();
    let mut host = TestHost::approving(None, Vec::new());
    let out = kernel(profile)
        .run(&mut card, &mut pad, &mut host, &params(100))
        .unwrap();
    card.finish().unwrap();
    assert_eq!(out.outcome, OutcomeKind::Approved);
    assert_eq!(
        out.arc.map(|a| emv_tlv::hex::encode(&a)).as_deref(),
        Some("5933")
    );
    assert!(host.requests.is_empty());
}
