//! Card answers are input: a card that answers garbage, truncated or mutated data at any
//! stage must end the transaction with an outcome, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use emv_apdu::{Transport, TransportError};
use emv_kernel::rng::KernelRng;
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, OutcomeKind, Profile, ScriptedPinPad, TransactionParams};
use emv_tlv::{Tag, encode_tlv};

fn tlv(tag: u32, v: &[u8]) -> Vec<u8> {
    encode_tlv(Tag::new(tag), v)
}

fn h(s: &str) -> Vec<u8> {
    emv_tlv::hex::decode(s).unwrap()
}

/// A plausible card whose every answer is corrupted with some probability.
struct ChaosCard {
    rng: KernelRng,
    /// out of 100
    corruption: u8,
}

impl ChaosCard {
    fn plausible(&mut self, c: &[u8]) -> Vec<u8> {
        let ok = |mut v: Vec<u8>| {
            v.extend_from_slice(&[0x90, 0x00]);
            v
        };
        let aid = h("A0000000031010");
        match (c.first(), c.get(1)) {
            (Some(0x00), Some(0xA4)) => ok(tlv(
                0x6F,
                &[
                    tlv(0x84, &aid),
                    tlv(
                        0xA5,
                        &[
                            tlv(0x50, b"VISA"),
                            tlv(0x87, &[1]),
                            tlv(0x9F38, &h("9F02069F3704")),
                        ]
                        .concat(),
                    ),
                ]
                .concat(),
            )),
            (_, Some(0xA8)) => ok(tlv(
                0x77,
                &[tlv(0x82, &h("7D00")), tlv(0x94, &h("08010101"))].concat(),
            )),
            (_, Some(0xB2)) => {
                let objs: &[(u32, &str)] = &[
                    (0x5A, "4761739001010010"),
                    (0x5F24, "291231"),
                    (0x8C, "9F02069F03069F1A0295055F2A029A039C019F3704"),
                    (0x8D, "8A029F370495059104"),
                    (
                        0x8E,
                        "000003E800001388 4103 4203 4406 0507 1E08 1F09 0101 4102 0000",
                    ),
                    (0x9F07, "FF00"),
                    (0x9F14, "02"),
                    (0x9F23, "05"),
                    (0x8F, "E1"),
                    (0x90, "00112233"),
                    (0x9F32, "03"),
                    (0x93, "AABB"),
                    (0x9F42, "0978"),
                ];
                ok(tlv(
                    0x70,
                    &objs
                        .iter()
                        .flat_map(|(t, v)| tlv(*t, &h(v)))
                        .collect::<Vec<_>>(),
                ))
            }
            (_, Some(0xCA)) => ok(tlv(u32::from(c[2]) << 8 | u32::from(c[3]), &[0x00, 0x03])),
            (_, Some(0x84)) => ok(vec![1, 2, 3, 4, 5, 6, 7, 8]),
            (_, Some(0x20)) => vec![0x63, 0xC2],
            (_, Some(0xAE)) => ok(tlv(
                0x77,
                &[
                    tlv(0x9F27, &[c[2] & 0xC0]),
                    tlv(0x9F36, &[0, 1]),
                    tlv(0x9F26, &[7; 8]),
                ]
                .concat(),
            )),
            _ => vec![0x90, 0x00],
        }
    }
}

impl Transport for ChaosCard {
    fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut r = self.plausible(c);
        if self.rng.percent() <= self.corruption {
            match self.rng.percent() % 5 {
                0 => r.truncate(usize::from(self.rng.percent()) % (r.len() + 1)),
                1 => {
                    let n = usize::from(self.rng.percent()) % 40;
                    r = vec![0; n];
                    self.rng.fill(&mut r);
                }
                2 => {
                    let i = usize::from(self.rng.percent()) % r.len().max(1);
                    if let Some(b) = r.get_mut(i) {
                        *b ^= self.rng.percent();
                    }
                }
                3 => {
                    let sw = [
                        [0x61, 0x10],
                        [0x6C, 0x05],
                        [0x6A, 0x81],
                        [0x62, 0x83],
                        [0x69, 0x85],
                        [0x63, 0xC0],
                        [0x69, 0x84],
                    ];
                    let pick = sw[usize::from(self.rng.percent()) % sw.len()];
                    let n = r.len().saturating_sub(2);
                    r.truncate(n);
                    r.extend_from_slice(&pick);
                }
                _ => return Err(TransportError::CardRemoved),
            }
        }
        Ok(r)
    }
}

#[test]
fn corrupted_answers_end_in_an_outcome() {
    let mut seen = std::collections::BTreeSet::new();
    for profile in ["pos-attended", "atm", "pos-offline-only"] {
        let kernel = Kernel::new(Profile::builtin(profile).unwrap(), KernelConfig::default());
        for seed in 0..300u64 {
            let mut card = ChaosCard {
                rng: KernelRng::new(seed),
                corruption: if seed % 3 == 0 { 3 } else { 15 },
            };
            let mut pad = ScriptedPinPad::new(["1234", "bypass", "0000"]).unwrap();
            let mut host = if seed % 2 == 0 {
                TestHost::approving(
                    Some(h("0102030405060708 3030")),
                    vec![h("7109 9F180400000001 8600")],
                )
            } else {
                TestHost::unreachable()
            };
            let params = TransactionParams {
                amount: seed * 37 % 9000,
                seed,
                ..TransactionParams::default()
            };
            let out = kernel.run(&mut card, &mut pad, &mut host, &params).unwrap();
            assert_eq!(out.tvr.to_hex().len(), 10);
            if out.outcome == OutcomeKind::Terminated {
                assert!(out.termination_reason.is_some());
            }
            seen.insert(out.outcome.name());
        }
    }
    // the corruption rate lets some transactions through to the end
    assert!(seen.contains("terminated"), "{seen:?}");
    assert!(seen.len() >= 3, "{seen:?}");
}

#[test]
fn uncorrupted_chaos_card_completes() {
    let kernel = Kernel::new(
        Profile::builtin("pos-attended").unwrap(),
        KernelConfig::default(),
    );
    let mut card = ChaosCard {
        rng: KernelRng::new(1),
        corruption: 0,
    };
    let mut pad = ScriptedPinPad::new(["1234"]).unwrap();
    let mut host = TestHost::approving(None, Vec::new());
    let out = kernel
        .run(
            &mut card,
            &mut pad,
            &mut host,
            &TransactionParams::purchase(100),
        )
        .unwrap();
    assert_ne!(
        out.outcome,
        OutcomeKind::Terminated,
        "{:?}",
        out.termination_reason
    );
}
