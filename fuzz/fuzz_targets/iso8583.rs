//! Fuzz the ISO 8583 decoder, framing and dispatcher (`emv_iso8583`, and
//! `emv_host::iso8583::Iso8583Handler` on an in-memory `Issuer`).
//!
//! Input: one flags byte (bit 0: binary layout, else ASCII; bit 1: the handler runs without
//! MAC checks, as `--insecure-network`), then the message bytes (MTI onwards). The host has
//! one provisioned card (`testkit::provision`, PAN [`PAN`], PIN 4821, IBM 3624), rebuilt
//! after any input that changed it.
//!
//! Invariants: no panic; a decoded message encodes and decodes back to itself; every
//! framing takes or refuses the bytes without panicking; an answer, when there is one,
//! decodes in the same layout, has the request's response MTI and a DE 39, and (MAC
//! checks on) a MAC that verifies under the link key; a message whose MAC does not verify
//! leaves the card exactly as it was.
#![no_main]

use std::sync::{Mutex, PoisonError};

use emv_crypto::Cvn;
use emv_host::iso8583::Iso8583Handler;
use emv_host::testkit;
use emv_host::{CardRef, CardView, HostKeys, Issuer, PinVerificationMethod};
use emv_iso8583::{Format, Framing, Header, Message, mac};

/// The provisioned card.
const PAN: &str = "5413330089020011";
const PIN: &str = "4821";

struct Fixture {
    issuer: Issuer,
    secure: Iso8583Handler,
    insecure: Iso8583Handler,
}

fn fixture(format: Format) -> Fixture {
    let keys = HostKeys::load_test_keys().expect("TEST host keys");
    let link = keys.iso8583_link(None).expect("the TEST link").clone();
    let issuer = Issuer::in_memory(keys).expect("in-memory issuer");
    let p = testkit::provision(PAN, Cvn::Mc16, PIN, PinVerificationMethod::Ibm3624);
    issuer.provision(&p, false).expect("provisioning");
    Fixture {
        secure: Iso8583Handler::new(issuer.clone(), link.clone(), format, false),
        insecure: Iso8583Handler::new(issuer.clone(), link, format, true),
        issuer,
    }
}

fn view(issuer: &Issuer) -> CardView {
    issuer
        .card_status(&CardRef::new(PAN, Some("01")))
        .expect("the provisioned card is known")
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static FIXTURES: Mutex<[Option<Fixture>; 2]> = Mutex::new([None, None]);
    let Some((&flags, msg)) = data.split_first() else {
        return;
    };
    let format = if flags & 1 == 1 { Format::Binary } else { Format::Ascii };
    let insecure = flags & 2 == 2;
    let keys = HostKeys::load_test_keys().expect("TEST host keys");
    let link_key = keys.iso8583_link(None).expect("the TEST link").mac_key.clone();

    // the codec: decode ∘ encode is the identity on what decodes
    let decoded = Message::decode(format, msg);
    if let Ok(m) = &decoded {
        let again = m.encode(format).expect("a decoded message encodes");
        assert_eq!(&Message::decode(format, &again).expect("re-decodes"), m);
    }
    // the framings never panic on a stream
    for header in [Header::Binary2, Header::Ascii4, Header::None] {
        let f = Framing { format, header, tpdu: None };
        let mut buf = msg.to_vec();
        while let Ok(Some(_)) = f.take(&mut buf) {}
    }

    let mut slots = FIXTURES.lock().unwrap_or_else(PoisonError::into_inner);
    let slot = &mut slots[usize::from(flags & 1)];
    let f = slot.get_or_insert_with(|| fixture(format));
    let before = view(&f.issuer);
    let handler = if insecure { &f.insecure } else { &f.secure };
    let answer = handler.handle(msg);
    let after = view(&f.issuer);
    let authentic = decoded
        .as_ref()
        .is_ok_and(|m| mac::verify(m, msg, format, &link_key).is_ok());
    if !insecure && !authentic {
        assert_eq!(before, after, "a message without a valid MAC changed the card");
    }
    assert!(after.online_pin_tries_left <= after.online_pin_try_limit);
    if let Some(a) = answer {
        let m = Message::decode(format, &a).expect("the answer decodes");
        let request_mti = emv_iso8583::message::peek_mti(msg).expect("answered: the MTI reads");
        assert_eq!(Some(m.mti), request_mti.response(), "the response MTI");
        assert!(m.has(39), "the answer has DE 39");
        if !insecure {
            mac::verify(&m, &a, format, &link_key).expect("the answer's MAC verifies");
        }
    }
    if before != after {
        *slot = None;
    }
});
