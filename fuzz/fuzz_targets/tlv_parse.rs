//! Fuzz the TLV parser and everything that reads TLV-derived data: tree decoding, path
//! lookup, DOL parsing/building and the bit-field decoders. Invariants: no panic; every
//! parsed element lies inside the input; raw bytes of a top-level list re-concatenate to
//! the input minus padding.
#![no_main]

use emv_tlv::describe::{self, DecodeAs};
use emv_tlv::{Dol, Tag};
use strum::VariantNames as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(list) = emv_tlv::parse_all(data) {
        let mut raw_total = 0;
        for t in &list {
            assert!(t.offset() + t.raw().len() <= data.len());
            assert_eq!(&data[t.offset()..t.offset() + t.raw().len()], t.raw());
            raw_total += t.raw().len();
        }
        let padding = data.len() - raw_total;
        assert!(padding <= data.len());
        let nodes = describe::tree(&list);
        let _ = describe::render_tree(&nodes);
        let _ = emv_tlv::find_all(&list, Tag::new(0x9F36));
        let _ = emv_tlv::find_path(&list, "77/9F10");
        let _ = emv_tlv::find_path(&list, "6F/A5/BF0C/DF8117");
    }
    let _ = emv_tlv::parse_one(data);
    if let Ok(dol) = Dol::parse(data) {
        let built = dol.build(|_| Some(data));
        assert_eq!(built.len(), dol.data_len());
        let _ = dol.split(&built);
    }
    for name in DecodeAs::VARIANTS {
        if let Ok(kind) = name.parse::<DecodeAs>() {
            let _ = describe::describe_as(kind, data);
        }
    }
});
