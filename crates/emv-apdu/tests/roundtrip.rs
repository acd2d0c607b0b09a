//! Property tests: encode/parse round trips and parser robustness.
#![allow(clippy::too_many_lines)] // test tables read top to bottom

use emv_apdu::{ApduCase, Command, CommandView, LengthForm, Response, ResponseView, StatusWord};
use proptest::prelude::*;

fn arb_ne() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![
        Just(None),
        (1usize..=256).prop_map(Some),
        (257usize..=65_536).prop_map(Some),
        prop_oneof![
            Just(1usize),
            Just(255),
            Just(256),
            Just(257),
            Just(65_535),
            Just(65_536)
        ]
        .prop_map(Some),
    ]
}

fn arb_command() -> impl Strategy<Value = Command> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..=300),
        arb_ne(),
    )
        .prop_map(|(cla, ins, p1, p2, data, ne)| Command {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parse_of_encode_is_identity(c in arb_command()) {
        let bytes = c.to_bytes().unwrap();
        let v = CommandView::parse(&bytes).unwrap();
        prop_assert_eq!(v.to_command(), c.clone());
        prop_assert_eq!(v.extended, c.needs_extended());
        prop_assert_eq!(v.case(), c.case());
        // The length on the wire is what the case says.
        let expected_len = 4 + match v.case() {
            ApduCase::Case1 => 0,
            ApduCase::Case2Short => 1,
            ApduCase::Case3Short => 1 + c.data.len(),
            ApduCase::Case4Short => 2 + c.data.len(),
            ApduCase::Case2Extended => 3,
            ApduCase::Case3Extended => 3 + c.data.len(),
            ApduCase::Case4Extended => 5 + c.data.len(),
        };
        prop_assert_eq!(bytes.len(), expected_len);
    }

    #[test]
    fn forced_extended_round_trips(c in arb_command()) {
        let bytes = c.encode(LengthForm::Extended).unwrap();
        let v = CommandView::parse(&bytes).unwrap();
        prop_assert_eq!(v.to_command(), c.clone());
        prop_assert_eq!(v.extended, !c.data.is_empty() || c.ne.is_some());
        prop_assert_eq!(v.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn parse_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..=320)) {
        if let Ok(v) = CommandView::parse(&bytes) {
            // Parsing is injective: the same form re-encodes to the input.
            prop_assert_eq!(v.to_bytes().unwrap(), bytes.clone());
            let reparsed = Command::parse(&v.to_command().to_bytes().unwrap()).unwrap();
            prop_assert_eq!(reparsed, v.to_command());
        }
        let _ = ResponseView::parse(&bytes);
    }

    /// Mostly well-formed inputs with one length byte perturbed: still no panics, and
    /// anything accepted is consistent.
    #[test]
    fn perturbed_encodings(c in arb_command(), pos in 4usize..12, byte in any::<u8>(), cut in 0usize..4) {
        let mut bytes = c.to_bytes().unwrap();
        if pos < bytes.len() {
            bytes[pos] = byte;
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        if let Ok(v) = CommandView::parse(&bytes) {
            prop_assert_eq!(v.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn response_round_trip(data in proptest::collection::vec(any::<u8>(), 0..=300), sw in any::<u16>()) {
        let r = Response::new(data.clone(), StatusWord::from_u16(sw));
        let bytes = r.to_bytes();
        prop_assert_eq!(bytes.len(), data.len() + 2);
        let v = ResponseView::parse(&bytes).unwrap();
        prop_assert_eq!(v.data, &data[..]);
        prop_assert_eq!(v.sw.to_u16(), sw);
        prop_assert_eq!(v.to_response(), r);
    }
}
