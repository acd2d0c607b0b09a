//! Fuzz `Card::handle` over sequences of APDUs (each input is `len ‖ apdu ‖ len ‖ apdu …`).
//!
//! Invariants: no panic; every command gets at least a status word; the PIN Try Counter
//! stays within 0..=limit and only rises after a VERIFY that succeeded (the right PIN), or
//! with a valid issuer MAC: a PIN CHANGE/UNBLOCK script command the card accepted (its
//! secure-messaging MAC checked, EMV 4.4 Book 3 §6.5.10), or the second GENERATE AC under
//! an authenticated ARPC whose Card Status Update sets the counter (Book 3 Annex C10).
//! The fuzzer can present a valid issuer MAC: the corpus holds recorded transactions, and
//! the seeded card repeats their unpredictable numbers, hence their ARQCs.
#![no_main]

use std::sync::{Arc, OnceLock};

use emv_card::{Card, Personalisation};
use emv_crypto::cryptogram::{ArpcResponse, Csu};

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
        let ok = r[r.len() - 2..] == [0x90, 0x00];
        let verified = apdu.get(1) == Some(&0x20) && ok;
        let script = apdu.get(1) == Some(&0x24) && ok;
        let csu = apdu.get(1) == Some(&0xAE)
            && matches!(
                card.authenticated_issuer_response(),
                Some(ArpcResponse::Csu { csu, .. }) if Csu::from_bytes(*csu).update_pin_try_counter
            );
        assert!(
            now <= last || verified || script || csu,
            "counter rose {last} -> {now} after {apdu:02X?}"
        );
        last = now;
    }
});
