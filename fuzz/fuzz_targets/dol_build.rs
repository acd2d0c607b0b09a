//! Fuzz the DOL builder of `emv-tlv` (EMV 4.4 Book 3 §5.4): a DOL plus a data source.
//!
//! Input: `n ‖ DOL (n bytes) ‖ value records…`, each record `entry ‖ format ‖ len ‖ value`
//! giving the value (and, for `build_with`, the format) of the tag of DOL entry
//! `entry % entries` (a later record for the same tag replaces an earlier one). A short
//! input is simply cut: a DOL shorter than `n`, a value shorter than `len`.
//!
//! Invariants, against an independent model of the rules `Dol::build_with` documents:
//! * `Dol::parse` never panics; an accepted DOL re-encodes (`to_bytes`) to its input bytes;
//! * the built data is exactly `data_len()` = the sum of the DOL lengths;
//! * field by field (through `Dol::split`, which must accept exactly that length): a tag
//!   without a value, or constructed, gives `len` zero bytes; a value of the right length is
//!   copied; a longer one keeps its rightmost bytes for numeric (`n`), its leftmost bytes
//!   otherwise; a shorter one is padded with leading `00` for `n`, trailing `FF` for
//!   compressed numeric (`cn`), trailing `00` otherwise;
//! * `Dol::build` behaves as `build_with` with each tag's dictionary format (binary for a
//!   tag the dictionary does not know);
//! * `split` refuses any other length.
#![no_main]

use std::collections::HashMap;

use emv_tlv::{Dol, DolEntry, Format, Tag};

const FORMATS: [Format; 8] = [
    Format::Numeric,
    Format::CompressedNumeric,
    Format::Alpha,
    Format::AlphaNumeric,
    Format::AlphaNumericSpecial,
    Format::Binary,
    Format::Template,
    Format::Var,
];

/// The expected field: Book 3 §5.4 as `Dol::build_with` documents it.
fn model(tag: Tag, len: usize, value: Option<(&[u8], Format)>) -> Vec<u8> {
    let Some((v, format)) = value.filter(|_| !tag.is_constructed()) else {
        return vec![0; len];
    };
    if v.len() >= len {
        return if format == Format::Numeric {
            v[v.len() - len..].to_vec()
        } else {
            v[..len].to_vec()
        };
    }
    let pad = len - v.len();
    match format {
        Format::Numeric => [vec![0; pad], v.to_vec()].concat(),
        Format::CompressedNumeric => [v.to_vec(), vec![0xFF; pad]].concat(),
        _ => [v.to_vec(), vec![0; pad]].concat(),
    }
}

fn check<'v>(dol: &Dol, built: &[u8], value_of: impl Fn(Tag) -> Option<(&'v [u8], Format)>) {
    let total: usize = dol.entries().iter().map(|e| e.len).sum();
    assert_eq!(dol.data_len(), total);
    assert_eq!(built.len(), total, "built data length is not the DOL's sum");
    let fields = dol.split(built).expect("split accepts the built data");
    assert_eq!(fields.len(), dol.entries().len());
    for (e, (tag, field)) in dol.entries().iter().zip(&fields) {
        assert_eq!(*tag, e.tag);
        let want = model(e.tag, e.len, value_of(e.tag));
        assert_eq!(
            *field,
            &want[..],
            "field {} (len {}) with value {:02X?}",
            e.tag,
            e.len,
            value_of(e.tag)
        );
    }
    if total > 0 {
        assert!(dol.split(&built[1..]).is_err());
    }
    let mut longer = built.to_vec();
    longer.push(0);
    assert!(dol.split(&longer).is_err());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (dol_bytes, mut rest) = rest.split_at(usize::from(n).min(rest.len()));
    let Ok(dol) = Dol::parse(dol_bytes) else {
        return;
    };
    assert_eq!(
        dol.to_bytes().expect("lengths of a parsed DOL fit a byte"),
        dol_bytes,
        "DOL does not re-encode to its input"
    );

    // the data source: tag -> (value, format)
    let mut source: HashMap<Tag, (Vec<u8>, Format)> = HashMap::new();
    while let [idx, fmt, len, tail @ ..] = rest {
        let (value, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        if let Some(e) = dol
            .entries()
            .get(usize::from(*idx) % dol.entries().len().max(1))
        {
            source.insert(
                e.tag,
                (value.to_vec(), FORMATS[usize::from(*fmt) % FORMATS.len()]),
            );
        }
    }
    let source = &source;
    let with_format = |t: Tag| source.get(&t).map(|(v, f)| (v.as_slice(), *f));
    let built = dol.build_with(with_format);
    check(&dol, &built, with_format);

    let dictionary = |t: Tag| {
        source.get(&t).map(|(v, _)| {
            let f = emv_tlv::lookup(t).map_or(Format::Binary, |i| i.format);
            (v.as_slice(), f)
        })
    };
    let built = dol.build(|t| source.get(&t).map(|(v, _)| v.as_slice()));
    check(&dol, &built, dictionary);

    // entries longer than a byte can hold are refused by `to_bytes`, not truncated
    if let Some(first) = dol.entries().first() {
        let big = Dol::from_entries(vec![DolEntry {
            tag: first.tag,
            len: 256,
        }]);
        assert!(big.to_bytes().is_err());
        assert_eq!(big.build(|_| None), vec![0; 256]);
    }
});
