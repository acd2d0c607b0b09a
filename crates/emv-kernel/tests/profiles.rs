//! One full transaction per shipped terminal profile against a small card that answers
//! whatever the kernel asks in a valid way; the CVM List is chosen so that every profile
//! lands on a different CV Rule (Book 3 §10.5) and a different path through action
//! analysis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use emv_apdu::{Transport, TransportError};
use emv_auth::TransactionType;
use emv_crypto::offline_pin::OfflinePin;
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, OutcomeKind, Profile, ScriptedPinPad, TransactionParams};
use emv_tlv::{Tag, encode_tlv};

fn tlv(tag: u32, v: &[u8]) -> Vec<u8> {
    encode_tlv(Tag::new(tag), v)
}

fn h(s: &str) -> Vec<u8> {
    emv_tlv::hex::decode(s).unwrap()
}

/// A Visa card: PIN 1234, no ODA, AIP 1C00 (cardholder verification, terminal risk
/// management, issuer authentication).
struct MiniCard {
    ptc: u8,
    commands: Vec<String>,
}

impl Transport for MiniCard {
    fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.commands.push(emv_apdu::describe::command_name(c));
        let aid = h("A0000000031010");
        let with_sw = |mut v: Vec<u8>| {
            v.extend_from_slice(&[0x90, 0x00]);
            v
        };
        Ok(match (c[0], c[1], c[2], c[3]) {
            (0x00, 0xA4, 0x04, 0x00) if c.get(5..5 + aid.len()) == Some(&aid[..]) => with_sw(tlv(
                0x6F,
                &[tlv(0x84, &aid), tlv(0xA5, &tlv(0x50, b"VISA"))].concat(),
            )),
            (0x00, 0xA4, ..) => vec![0x6A, 0x82],
            (0x80, 0xA8, ..) => with_sw(tlv(0x80, &h("1C00 08010100"))),
            (0x00, 0xB2, 0x01, 0x0C) => {
                let objs: &[(u32, &str)] = &[
                    (0x5A, "4761739001010010"),
                    (0x5F24, "291231"),
                    (0x5F34, "01"),
                    (0x8C, "9F02069F03069F1A0295055F2A029A039C019F3704"),
                    (0x8D, "8A029F37049505"),
                    // online PIN if unattended cash; offline PIN, signature, no CVM if the
                    // terminal supports them
                    (0x8E, "0000000000000000 4201 4103 5E03 1F03"),
                    (0x9F07, "FF00"),
                    (0x5F28, "0250"),
                ];
                let body: Vec<u8> = objs.iter().flat_map(|(t, v)| tlv(*t, &h(v))).collect();
                with_sw(tlv(0x70, &body))
            }
            (0x00, 0xB2, ..) => vec![0x6A, 0x83],
            (0x80, 0xCA, 0x9F, 0x17) => with_sw(tlv(0x9F17, &[self.ptc])),
            (0x80, 0xCA, ..) => vec![0x6A, 0x88],
            (0x00, 0x20, 0x00, 0x80) => {
                let good = OfflinePin::new("1234").unwrap().pin_block().unwrap();
                if c.get(5..13) == Some(&good[..]) {
                    vec![0x90, 0x00]
                } else {
                    self.ptc -= 1;
                    vec![0x63, 0xC0 | self.ptc]
                }
            }
            (0x80, 0xAE, p1, _) => with_sw(tlv(
                0x80,
                &[vec![p1 & 0xC0, 0x00, 0x01], vec![0xA5; 8]].concat(),
            )),
            (0x00, 0x82, ..) => vec![0x90, 0x00],
            _ => vec![0x6D, 0x00],
        })
    }
}

struct Expect {
    profile: &'static str,
    txn: TransactionType,
    outcome: OutcomeKind,
    cvm_results: &'static str,
    tvr: &'static str,
    tsi: &'static str,
    online_pin_format: Option<u8>,
    signature: bool,
}

#[test]
fn every_profile_end_to_end() {
    use OutcomeKind::{Declined, OnlineApproved};
    use TransactionType::{Cash, Purchase};
    let expectations = [
        // ATM: unattended cash → online PIN (format 4); floor limit 0 exceeded
        Expect {
            profile: "atm",
            txn: Cash,
            outcome: OnlineApproved,
            cvm_results: "420100",
            tvr: "8000048000",
            tsi: "7800",
            online_pin_format: Some(4),
            signature: false,
        },
        // attended POS: plaintext offline PIN; no ODA → online
        Expect {
            profile: "pos-attended",
            txn: Purchase,
            outcome: OnlineApproved,
            cvm_results: "410302",
            tvr: "8000000000",
            tsi: "7800",
            online_pin_format: None,
            signature: false,
        },
        // offline only: default action codes decline the missing ODA
        Expect {
            profile: "pos-offline-only",
            txn: Purchase,
            outcome: Declined,
            cvm_results: "410302",
            tvr: "8000000000",
            tsi: "6800",
            online_pin_format: None,
            signature: false,
        },
        Expect {
            profile: "unattended",
            txn: Purchase,
            outcome: OnlineApproved,
            cvm_results: "410302",
            tvr: "8000000000",
            tsi: "7800",
            online_pin_format: None,
            signature: false,
        },
        // no PIN pad: condition 03 skips the PIN and signature rules silently (no TVR bit),
        // no CVM; amount = floor limit
        Expect {
            profile: "unattended-no-pinpad",
            txn: Purchase,
            outcome: OnlineApproved,
            cvm_results: "1F0302",
            tvr: "8000008000",
            tsi: "7800",
            online_pin_format: None,
            signature: false,
        },
        Expect {
            profile: "pos-no-pinpad",
            txn: Purchase,
            outcome: OnlineApproved,
            cvm_results: "5E0300",
            tvr: "8000000000",
            tsi: "7800",
            online_pin_format: None,
            signature: true,
        },
    ];
    // every shipped profile has its run (the software-card counterpart is
    // tests/kernel_card.rs `every_terminal_profile_end_to_end`)
    let mut names: Vec<&str> = Profile::builtin_names().collect();
    names.sort_unstable();
    let mut covered: Vec<&str> = expectations.iter().map(|e| e.profile).collect();
    covered.sort_unstable();
    assert_eq!(names, covered);
    for e in expectations {
        let kernel = Kernel::new(Profile::load(e.profile).unwrap(), KernelConfig::default());
        let mut card = MiniCard {
            ptc: 3,
            commands: Vec::new(),
        };
        let mut pad = ScriptedPinPad::new(["1234"]).unwrap();
        let mut host = TestHost::approving(Some(h("0102030405060708 3030")), Vec::new());
        let params = TransactionParams {
            amount: 2500,
            transaction_type: e.txn,
            seed: 42,
            ..TransactionParams::default()
        };
        let out = kernel.run(&mut card, &mut pad, &mut host, &params).unwrap();
        let p = e.profile;
        assert_eq!(out.outcome, e.outcome, "{p}: {:#?}", out.decisions);
        assert_eq!(
            out.cvm_results.to_hex(),
            e.cvm_results,
            "{p}: {:#?}",
            out.cvm_trace
        );
        assert_eq!(out.tvr.to_hex(), e.tvr, "{p}: {:#?}", out.decisions);
        assert_eq!(out.tsi.to_hex(), e.tsi, "{p}");
        assert_eq!(out.signature_required, e.signature, "{p}");
        assert_eq!(
            host.requests
                .first()
                .and_then(|r| r.pin.as_ref())
                .map(|p| p.format),
            e.online_pin_format,
            "{p}"
        );
        assert_eq!(out.apdu_count, card.commands.len(), "{p}");
        if e.outcome == OnlineApproved {
            assert!(
                card.commands.iter().any(|c| c == "EXTERNAL AUTHENTICATE"),
                "{p}"
            );
            assert_eq!(host.advices.len(), 1, "{p}");
        }
        // determinism: same inputs, same APDUs
        let mut card2 = MiniCard {
            ptc: 3,
            commands: Vec::new(),
        };
        let mut pad2 = ScriptedPinPad::new(["1234"]).unwrap();
        let mut host2 = TestHost::approving(Some(h("0102030405060708 3030")), Vec::new());
        let out2 = kernel
            .run(&mut card2, &mut pad2, &mut host2, &params)
            .unwrap();
        assert_eq!(out.apdus, out2.apdus, "{p}");
        assert_eq!(host.requests, host2.requests, "{p}");
    }
}
