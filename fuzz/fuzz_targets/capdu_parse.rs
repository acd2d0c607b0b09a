//! Fuzz the C-APDU / R-APDU parsers and the status word decoding of `emv-apdu`.
//!
//! Properties checked on every input:
//! * `CommandView::parse` never panics;
//! * an accepted C-APDU re-encodes in its own length form to exactly the input bytes
//!   (the encoding of given fields in a given form is unique);
//! * the owned command re-encoded with automatic length form (which may differ from the
//!   input, e.g. an extended encoding of short data) parses back to the same values;
//! * identification of the header never panics and names are non-empty;
//! * `ResponseView::parse` splits off SW1 SW2 and re-encodes to the input;
//! * `StatusWord` round-trips through `u16` and bytes.
#![no_main]

use emv_apdu::{Command, CommandView, Response, ResponseView, StatusWord};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(view) = CommandView::parse(data) {
        let same_form = view.to_bytes().expect("a parsed view always encodes");
        assert_eq!(
            same_form, data,
            "same-form re-encoding differs from the input"
        );

        let owned = view.to_command();
        let auto = owned.to_bytes().expect("a parsed command always encodes");
        let reparsed = CommandView::parse(&auto).expect("re-encoded command must parse");
        assert_eq!(
            (reparsed.cla, reparsed.ins, reparsed.p1, reparsed.p2),
            (view.cla, view.ins, view.p1, view.p2)
        );
        assert_eq!(reparsed.data, view.data);
        assert_eq!(reparsed.ne, view.ne);
        assert_eq!(reparsed.to_command(), owned);
        assert_eq!(Command::parse(&auto).ok(), Some(owned.clone()));
        assert_eq!(reparsed.extended, owned.needs_extended());

        if let Some(known) = view.identify() {
            assert!(!known.name().is_empty());
            assert_eq!(known.ins(), view.ins);
            let _ = known.to_string();
        }
    }

    if let Ok(response) = ResponseView::parse(data) {
        assert_eq!(response.data.len() + 2, data.len());
        let owned = response.to_response();
        assert_eq!(owned.to_bytes(), data);
        assert_eq!(Response::parse(data).ok(), Some(owned));
        let sw = response.sw;
        assert_eq!(StatusWord::from_u16(sw.to_u16()), sw);
        assert_eq!(StatusWord::from(sw.to_bytes()).to_u16(), sw.to_u16());
        assert_eq!(sw.to_bytes(), [data[data.len() - 2], data[data.len() - 1]]);
        assert!(!sw.meaning().is_empty());
    } else {
        assert!(data.len() < 2);
    }
});
