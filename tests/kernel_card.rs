//! The kernel driving the real software card in-process: full transactions per card
//! profile and the offline PIN blocking flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use emv_apdu::Transport;
use emv_card::{Card, MemoryStore, Personalisation};
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionParams};
use emv_transport::InProcessCard;

fn card(profile: &str) -> InProcessCard<MemoryStore> {
    let p = Arc::new(Personalisation::load(profile, &[]).unwrap());
    InProcessCard::new(Card::in_memory(p).unwrap().with_seed(3))
}

fn run(
    card: &mut InProcessCard<MemoryStore>,
    terminal: &str,
    pins: &[&str],
    host: &mut TestHost,
) -> Outcome {
    card.power_on().unwrap();
    let kernel = Kernel::new(Profile::load(terminal).unwrap(), KernelConfig::default());
    let mut pinpad = ScriptedPinPad::new(pins.iter().copied()).unwrap();
    kernel
        .run(card, &mut pinpad, host, &TransactionParams::purchase(2500))
        .unwrap()
}

#[test]
fn offline_pin_transactions_complete_for_every_offline_pin_profile() {
    for profile in ["visa-cvn18", "visa-cvn10", "mc-cvn16", "visa-cvn18-ptl5"] {
        let mut c = card(profile);
        let pin = c.card().personalisation().source.card.pin.clone();
        let mut host = TestHost::unreachable();
        let o = run(&mut c, "pos-attended", &[&pin], &mut host);
        assert_ne!(
            o.outcome.name(),
            "terminated",
            "{profile}: {:?}",
            o.termination_reason
        );
        assert_eq!(o.cvm_performed, "offline-plaintext-pin", "{profile}");
        assert!(
            o.cvm_results.ends_with("02"),
            "{profile}: CVM successful, got {}",
            o.cvm_results
        );
        assert_eq!(
            c.card().state().pin_try_counter,
            c.card().personalisation().pin_try_limit
        );
        // every ODA the card offers passed
        let tvr = u8::from_str_radix(&o.tvr[..2], 16).unwrap();
        assert_eq!(
            tvr & 0x4C,
            0,
            "{profile}: ODA failure bits in TVR {}",
            o.tvr
        );
    }
}

#[test]
fn three_wrong_offline_pins_block_the_chip() {
    let mut c = card("visa-cvn18");
    let mut host = TestHost::unreachable();
    let o = run(&mut c, "pos-attended", &["9999", "9999", "9999"], &mut host);
    assert_eq!(c.card().state().pin_try_counter, 0);
    // TVR byte 3: PIN Try Limit exceeded (b6)
    let b3 = u8::from_str_radix(&o.tvr[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "TVR {}", o.tvr);
    // the next transaction: the kernel reads 9F17 = 0 and asks for no offline PIN
    let o = run(&mut c, "pos-attended", &["1234"], &mut host);
    let b3 = u8::from_str_radix(&o.tvr[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "TVR {}", o.tvr);
    assert_eq!(
        c.card().state().pin_try_counter,
        0,
        "no VERIFY can unblock it"
    );
}

#[test]
fn enciphered_offline_pin_end_to_end() {
    let mut c = card("visa-cvn18-enciphered-pin");
    let mut host = TestHost::unreachable();
    let o = run(&mut c, "pos-attended", &["4321"], &mut host);
    assert_eq!(
        o.cvm_performed, "offline-enciphered-pin",
        "{:?}",
        o.cvm_trace
    );
    assert!(o.cvm_results.starts_with("44"), "{}", o.cvm_results);
}
