//! Property tests: whatever APDUs arrive, the PIN Try Counter stays within 0..=limit, and
//! without the right PIN or a valid issuer MAC it never goes up; the card never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;

use common::*;
use proptest::prelude::*;

/// Commands a hostile or confused terminal might send (never the right PIN, never a
/// valid MAC), plus random bytes.
fn apdu() -> impl Strategy<Value = Vec<u8>> {
    let wrong_pin = (0u16..10000)
        .prop_filter("not the card's PIN", |p| *p != 1234)
        .prop_map(|p| {
            let mut v = hex("0020008008");
            v.extend(hex(&format!("24{p:04}FFFFFFFFFF")));
            v
        });
    let script = (
        prop::sample::select(vec![0x24u8, 0x1E, 0x18, 0x16, 0xDA]),
        prop::sample::select(vec![0x84u8, 0x04, 0x80, 0x8C]),
        0u8..3,
        prop::collection::vec(any::<u8>(), 8..24),
    )
        .prop_map(|(ins, cla, p2, data)| {
            let mut v = vec![cla, ins, 0, p2, data.len() as u8];
            v.extend(data);
            v
        });
    let fixed = prop::sample::select(vec![
        hex("00A4040007A000000003101000"),
        hex("00A404000E315041592E5359532E444446303100"),
        hex("80A8000002830000"),
        hex("00B2011400"),
        hex("80CA9F1700"),
        hex("0084000000"),
        // first GENERATE AC asking for an ARQC (33 bytes of CDOL1 data)
        {
            let mut v = hex("80AE800021");
            v.extend(vec![0u8; 33]);
            v
        },
        {
            let mut v = hex("80AE400021");
            v.extend(vec![0u8; 33]);
            v
        },
        hex("0082000008 0102030405060708"),
    ]);
    prop_oneof![
        3 => fixed,
        3 => wrong_pin,
        3 => script,
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn pin_try_counter_never_rises_without_pin_or_mac(seq in prop::collection::vec(apdu(), 1..40)) {
        let mut c = card("visa-cvn18");
        let limit = c.personalisation().pin_try_limit;
        let mut last = c.state().pin_try_counter;
        for a in &seq {
            let r = c.handle(a);
            prop_assert!(r.len() >= 2, "every command gets a status word");
            let now = c.state().pin_try_counter;
            prop_assert!(now <= limit);
            prop_assert!(now <= last, "counter rose from {} to {} after {}", last, now, hex::encode_upper(a));
            last = now;
        }
    }

    #[test]
    fn wrong_pins_count_down_exactly(n in 0usize..6) {
        let mut c = card("visa-cvn18-ptl5");
        start(&mut c);
        for i in 0..n {
            let expected = if i < 5 { 0x63C0 + (4 - i as u16) } else { 0x6983 };
            prop_assert_eq!(verify_pin(&mut c, "0000"), expected);
        }
        prop_assert_eq!(c.state().pin_try_counter as usize, 5usize.saturating_sub(n));
    }
}
