//! Fuzz `Card::handle` over sequences of APDUs (each input is `len ‖ apdu ‖ len ‖ apdu …`).
//!
//! Invariants: no panic; every command gets at least a status word; the PIN Try Counter
//! stays within 0..=limit and only rises after a VERIFY that succeeded (the right PIN) —
//! without the issuer's keys no script can raise it.
#![no_main]

use std::sync::{Arc, OnceLock};

use emv_card::{Card, Personalisation};

fn perso() -> Arc<Personalisation> {
    static P: OnceLock<Arc<Personalisation>> = OnceLock::new();
    P.get_or_init(|| Arc::new(Personalisation::load("visa-cvn18", &[]).expect("profile")))
        .clone()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let p = perso();
    let limit = p.pin_try_limit;
    let mut card = Card::in_memory(p).expect("card").with_seed(1);
    // start in a selected application so deeper commands are reachable
    card.handle(&[
        0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0x00,
    ]);
    let mut rest = data;
    let mut last = card.state().pin_try_counter;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        rest = next;
        let r = card.handle(apdu);
        assert!(r.len() >= 2, "no status word for {apdu:02X?}");
        let now = card.state().pin_try_counter;
        assert!(now <= limit);
        let verified = apdu.get(1) == Some(&0x20) && r[r.len() - 2..] == [0x90, 0x00];
        assert!(
            now <= last || verified,
            "counter rose {last} -> {now} after {apdu:02X?}"
        );
        last = now;
    }
});
