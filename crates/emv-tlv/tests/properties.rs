//! Property tests: parse ∘ encode is the identity on canonical input, raw bytes are kept on
//! non-canonical input, DOL build then split gives the values back, and no input panics.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use emv_tlv::{Builder, Dol, DolEntry, Format, Tag, TlvErrorKind, encode_length, parse_all};
use proptest::prelude::*;

/// A tree of data objects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Prim(Tag, Vec<u8>),
    Cons(Tag, Vec<Node>),
}

/// Valid single-, two- and three-byte tags, primitive or constructed as asked.
fn tag(constructed: bool) -> impl Strategy<Value = Tag> {
    let cbit = if constructed { 0x20u8 } else { 0x00 };
    prop_oneof![
        // one byte: low five bits not all set; class any; skip 00/FF (padding bytes)
        (0u8..4, 1u8..0x1F)
            .prop_map(move |(class, n)| Tag::new(u32::from((class << 6) | cbit | n))),
        // two bytes: 9F 01..7F style
        (0u8..4, 0x01u8..0x80).prop_filter_map("FF is padding", move |(class, n)| {
            let first = (class << 6) | cbit | 0x1F;
            (first != 0xFF).then(|| Tag::new((u32::from(first) << 8) | u32::from(n)))
        }),
        // three bytes: DF 81 xx style
        (0u8..4, 0x81u8..0xFF, 0x00u8..0x80).prop_filter_map(
            "FF is padding",
            move |(class, m, n)| {
                let first = (class << 6) | cbit | 0x1F;
                (first != 0xFF).then(|| {
                    Tag::new((u32::from(first) << 16) | (u32::from(m) << 8) | u32::from(n))
                })
            }
        ),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (tag(false), proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, v)| Node::Prim(t, v));
    leaf.prop_recursive(4, 32, 5, |inner| {
        (tag(true), proptest::collection::vec(inner, 0..5)).prop_map(|(t, c)| Node::Cons(t, c))
    })
}

fn encode(nodes: &[Node]) -> Vec<u8> {
    nodes.iter().fold(Builder::new(), add).build()
}

fn add(b: Builder, n: &Node) -> Builder {
    match n {
        Node::Prim(t, v) => b.primitive(*t, v),
        Node::Cons(t, children) => b.constructed(*t, |mut inner| {
            for c in children {
                inner = add(inner, c);
            }
            inner
        }),
    }
}

fn rebuild(list: &[emv_tlv::Tlv<'_>]) -> Vec<Node> {
    list.iter()
        .map(|t| {
            if t.is_constructed() {
                let children: Vec<_> = t.children().map(|c| c.unwrap()).collect();
                Node::Cons(t.tag(), rebuild(&children))
            } else {
                Node::Prim(t.tag(), t.value().to_vec())
            }
        })
        .collect()
}

/// Encode with a non-minimal length and random padding; returns the bytes of each
/// top-level element as written.
fn encode_loose(nodes: &[Node], pads: &[u8], out: &mut Vec<u8>) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        // padding before each element: 00 or FF, 0-2 bytes
        let p = pads.get(i).copied().unwrap_or(0);
        for _ in 0..(p % 3) {
            out.push(if p & 0x80 != 0 { 0xFF } else { 0x00 });
        }
        let start = out.len();
        let (t, value) = match n {
            Node::Prim(t, v) => (*t, v.clone()),
            Node::Cons(t, c) => {
                let mut inner = Vec::new();
                encode_loose(c, pads, &mut inner);
                (*t, inner)
            }
        };
        t.write_to(out);
        // non-minimal: always use the 82 form
        out.push(0x82);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(&value);
        spans.push((start, out.len()));
    }
    spans
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_encode_is_identity(nodes in proptest::collection::vec(node(), 0..4)) {
        let bytes = encode(&nodes);
        let list = parse_all(&bytes).unwrap();
        prop_assert_eq!(rebuild(&list), nodes.clone());
        // raw slices concatenate back to the input (canonical: no padding)
        let raw: Vec<u8> = list.iter().flat_map(|t| t.raw().iter().copied()).collect();
        prop_assert_eq!(raw, bytes.clone());
        // and re-encoding the rebuilt tree gives the same bytes
        prop_assert_eq!(encode(&rebuild(&list)), bytes);
    }

    #[test]
    fn raw_bytes_are_kept_on_non_canonical_input(
        nodes in proptest::collection::vec(node(), 1..4),
        pads in proptest::collection::vec(any::<u8>(), 8),
    ) {
        let mut bytes = Vec::new();
        let spans = encode_loose(&nodes, &pads, &mut bytes);
        let list = parse_all(&bytes).unwrap();
        prop_assert_eq!(list.len(), nodes.len());
        for (t, (start, end)) in list.iter().zip(spans) {
            prop_assert_eq!(t.raw(), &bytes[start..end]);
            prop_assert_eq!(t.offset(), start);
            if t.value().len() < 256 {
                prop_assert!(t.has_non_minimal_length());
            }
        }
        // the tree read back is the same despite padding and long lengths
        prop_assert_eq!(rebuild(&list), nodes);
    }

    #[test]
    fn any_input_parses_or_errors_without_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        match parse_all(&data) {
            Ok(list) => {
                for t in &list {
                    prop_assert!(t.offset() + t.raw().len() <= data.len());
                }
            }
            Err(e) => prop_assert!(e.offset <= data.len()),
        }
        let _ = emv_tlv::parse_one(&data);
        let _ = Dol::parse(&data);
    }

    #[test]
    fn dol_build_then_split(
        entries in proptest::collection::vec((tag(false), 0usize..40, proptest::collection::vec(any::<u8>(), 0..40)), 0..10)
    ) {
        let dol = Dol::from_entries(entries.iter().map(|(t, l, _)| DolEntry { tag: *t, len: *l }).collect());
        let encoded = dol.to_bytes().unwrap();
        prop_assert_eq!(Dol::parse(&encoded).unwrap(), dol.clone());
        let data = dol.build_with(|t| {
            entries.iter().find(|(et, _, _)| *et == t).map(|(_, _, v)| (&v[..], Format::Binary))
        });
        prop_assert_eq!(data.len(), dol.data_len());
        let parts = dol.split(&data).unwrap();
        prop_assert_eq!(parts.len(), entries.len());
        for ((tag, len, _), (got_tag, got)) in entries.iter().zip(parts) {
            prop_assert_eq!(got_tag, *tag);
            prop_assert_eq!(got.len(), *len);
        }
    }

    #[test]
    fn dol_binary_values_fit_exactly(value in proptest::collection::vec(any::<u8>(), 0..40), len in 0usize..40) {
        let dol = Dol::from_entries(vec![DolEntry { tag: Tag::new(0x9F37), len }]);
        let data = dol.build_with(|_| Some((&value[..], Format::Binary)));
        let n = value.len().min(len);
        prop_assert_eq!(&data[..n], &value[..n]);
        prop_assert!(data[n..].iter().all(|&b| b == 0));
    }

    #[test]
    fn dol_numeric_values_keep_the_right_end(value in proptest::collection::vec(0u8..0x99, 0..10), len in 0usize..12) {
        let dol = Dol::from_entries(vec![DolEntry { tag: Tag::new(0x9F02), len }]);
        let data = dol.build(|_| Some(&value[..]));
        let n = value.len().min(len);
        prop_assert_eq!(&data[len - n..], &value[value.len() - n..]);
        prop_assert!(data[..len - n].iter().all(|&b| b == 0));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut data: Vec<u8> = Vec::new();
    for _ in 0..5_000 {
        let mut outer = vec![0x70];
        encode_length(data.len(), &mut outer);
        outer.extend_from_slice(&data);
        data = outer;
    }
    let e = parse_all(&data).unwrap_err();
    assert!(matches!(e.kind, TlvErrorKind::TooDeep(_)));
}
