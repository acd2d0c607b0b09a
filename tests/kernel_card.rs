//! The kernel driving the real software card in-process: full transactions per card
//! profile and per terminal profile, and the offline PIN blocking flow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::Arc;

use emv_apdu::Transport;
use emv_card::{Card, MemoryStore, Personalisation};
use emv_kernel::testing::TestHost;
use emv_kernel::{Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionParams};
use emv_transport::InProcessCard;
use emvbench_tests::ChipHost;

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
        assert_eq!(o.cvm_performed.name(), "offline-plaintext-pin", "{profile}");
        assert!(
            o.cvm_results.to_hex().ends_with("02"),
            "{profile}: CVM successful, got {}",
            o.cvm_results.to_hex()
        );
        assert_eq!(
            c.card().state().pin_try_counter,
            c.card().personalisation().pin_try_limit
        );
        // every ODA the card offers passed
        let tvr = u8::from_str_radix(&o.tvr.to_hex()[..2], 16).unwrap();
        assert_eq!(
            tvr & 0x4C,
            0,
            "{profile}: ODA failure bits in TVR {}",
            o.tvr.to_hex()
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
    let b3 = u8::from_str_radix(&o.tvr.to_hex()[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "TVR {}", o.tvr.to_hex());
    // the next transaction: the kernel reads 9F17 = 0 and asks for no offline PIN
    let o = run(&mut c, "pos-attended", &["1234"], &mut host);
    let b3 = u8::from_str_radix(&o.tvr.to_hex()[4..6], 16).unwrap();
    assert_eq!(b3 & 0x20, 0x20, "TVR {}", o.tvr.to_hex());
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
        o.cvm_performed.name(),
        "offline-enciphered-pin",
        "{:?}",
        o.cvm_trace
    );
    assert!(
        o.cvm_results.to_hex().starts_with("44"),
        "{}",
        o.cvm_results.to_hex()
    );
}

/// One expected end-to-end transaction at a terminal profile.
struct ProfileRun {
    terminal: &'static str,
    card: &'static str,
    txn: emv_auth::TransactionType,
    amount: u64,
    pins: &'static [&'static str],
    outcome: &'static str,
    cvm_results: &'static str,
    tvr: &'static str,
    tsi: &'static str,
    /// ISO 9564 format of the online PIN block sent to the host, if any.
    online_pin_format: Option<u8>,
    /// Commands that must appear in the APDU log.
    commands: &'static [&'static str],
}

/// Every shipped terminal profile runs a full transaction against a software card with its
/// own CVM List and an issuer that answers with a valid ARPC (the software-card
/// counterpart of `crates/emv-kernel/tests/profiles.rs`, whose small card has no ODA and no
/// cryptograms). Expected values, per profile:
/// * atm (14, 6040E8, floor 0) + mc-cvn16 (4103 4203 1E03 1F03, AIP 3900: CDA), cash: 4103
///   is bypassed by condition 03 (no plaintext PIN), online PIN (format 4) → 420300, TVR
///   "online PIN entered" + "exceeds floor limit" (Book 3 §10.5.2, §10.6.1); online only:
///   ARQC; issuer authentication data goes in the second GENERATE AC (AIP without issuer
///   authentication, so TSI 10 stays clear, Book 3 §10.9).
/// * pos-attended + visa-cvn18: a wrong PIN (63C2) then the right one → 410302, TC offline.
/// * pos-offline-only + visa-cvn18-enciphered-pin: enciphered PIN (GET CHALLENGE) → 440302.
/// * unattended (6098C8) + visa-cvn22 (4203 4103 ...): no online PIN at the terminal,
///   condition 03 bypasses it; offline PIN → 410302; CDA on the TC.
/// * unattended-no-pinpad (6008C8, floor 25.00) + visa-cvn10 (SDA): only No CVM is
///   supported → 1F0302; 25.00 = floor limit (Book 3 §10.6.1 "equal to or greater") →
///   online; SDA sets "SDA selected" (TVR byte 1 bit 2, Book 3 §10.3).
/// * pos-no-pinpad (E028C8) + visa-cvn18-signature (1E03 1F03): signature → 1E0300.
#[test]
fn every_terminal_profile_end_to_end() {
    use emv_auth::TransactionType::{Cash, Purchase};
    let runs = [
        ProfileRun {
            terminal: "atm",
            card: "mc-cvn16",
            txn: Cash,
            amount: 4000,
            pins: &["1234"],
            outcome: "online-approved",
            cvm_results: "420300",
            tvr: "0000048000",
            tsi: "E800",
            online_pin_format: Some(4),
            commands: &["GENERATE AC"],
        },
        ProfileRun {
            terminal: "pos-attended",
            card: "visa-cvn18",
            txn: Purchase,
            amount: 2500,
            pins: &["0000", "1234"],
            outcome: "approved",
            cvm_results: "410302",
            tvr: "0000000000",
            tsi: "E800",
            online_pin_format: None,
            commands: &["GET DATA", "VERIFY", "INTERNAL AUTHENTICATE"],
        },
        ProfileRun {
            terminal: "pos-offline-only",
            card: "visa-cvn18-enciphered-pin",
            txn: Purchase,
            amount: 2500,
            pins: &["4321"],
            outcome: "approved",
            cvm_results: "440302",
            tvr: "0000000000",
            tsi: "E800",
            online_pin_format: None,
            commands: &["GET CHALLENGE", "VERIFY"],
        },
        ProfileRun {
            terminal: "unattended",
            card: "visa-cvn22",
            txn: Purchase,
            amount: 2500,
            pins: &["2468"],
            outcome: "approved",
            cvm_results: "410302",
            tvr: "0000000000",
            tsi: "E800",
            online_pin_format: None,
            commands: &["VERIFY"],
        },
        ProfileRun {
            terminal: "unattended-no-pinpad",
            card: "visa-cvn10",
            txn: Purchase,
            amount: 2500,
            pins: &[],
            outcome: "online-approved",
            cvm_results: "1F0302",
            tvr: "0200008000",
            tsi: "F800",
            online_pin_format: None,
            commands: &["EXTERNAL AUTHENTICATE"],
        },
        ProfileRun {
            terminal: "pos-no-pinpad",
            card: "visa-cvn18-signature",
            txn: Purchase,
            amount: 2500,
            pins: &[],
            outcome: "approved",
            cvm_results: "1E0300",
            tvr: "0000000000",
            tsi: "E800",
            online_pin_format: None,
            commands: &[],
        },
    ];
    // every shipped terminal profile is exercised
    let mut names: Vec<&str> = Profile::builtin_names().collect();
    names.sort_unstable();
    let mut covered: Vec<&str> = runs.iter().map(|r| r.terminal).collect();
    covered.sort_unstable();
    assert_eq!(names, covered, "one end-to-end run per terminal profile");
    for e in &runs {
        let who = format!("{} + {}", e.terminal, e.card);
        let mut c = card(e.card);
        c.power_on().unwrap();
        let mut host = ChipHost::for_card(c.card().personalisation()).unwrap();
        let kernel = Kernel::new(Profile::load(e.terminal).unwrap(), KernelConfig::default());
        let mut pinpad = ScriptedPinPad::new(e.pins.iter().copied()).unwrap();
        let params = TransactionParams {
            amount: e.amount,
            transaction_type: e.txn,
            ..TransactionParams::default()
        };
        let o = kernel.run(&mut c, &mut pinpad, &mut host, &params).unwrap();
        let log: Vec<String> = o.decisions.iter().map(emv_kernel::Decision::text).collect();
        assert_eq!(o.outcome.name(), e.outcome, "{who}: {log:#?}");
        assert_eq!(
            o.cvm_results.to_hex(),
            e.cvm_results,
            "{who}: {:#?}",
            o.cvm_trace
        );
        assert_eq!(o.tvr.to_hex(), e.tvr, "{who}: {log:#?}");
        assert_eq!(o.tsi.to_hex(), e.tsi, "{who}: {log:#?}");
        assert_eq!(pinpad.remaining(), 0, "{who}: every PIN entry used");
        let online = e.outcome.starts_with("online");
        assert_eq!(host.requests.len(), usize::from(online), "{who}");
        assert_eq!(host.advices.len(), usize::from(online), "{who}");
        assert_eq!(
            host.requests
                .first()
                .and_then(|r| r.pin.as_ref())
                .map(|p| p.format),
            e.online_pin_format,
            "{who}"
        );
        let names: Vec<&str> = o.apdus.iter().map(|a| a.name.as_str()).collect();
        for cmd in e.commands {
            assert!(
                names.iter().any(|n| n.starts_with(cmd)),
                "{who}: no {cmd} in {names:?}"
            );
        }
        // the card's PIN Try Counter is back at its limit, its ATC counted this transaction
        let st = c.card().status();
        assert_eq!(st.pin_try_counter, st.pin_try_limit, "{who}");
        assert_eq!(st.atc, 1, "{who}");
    }
}

/// An issuer that answers, then the cardholder pulls the card out before the terminal can
/// finish (the ATM has the approval, the cash never comes out).
struct PulledAfterAnswer {
    issuer: ChipHost,
    presence: emv_transport::CardPresence,
}

impl emv_auth::Host for PulledAfterAnswer {
    fn authorise(
        &mut self,
        request: &emv_auth::AuthRequest,
    ) -> Result<emv_auth::AuthResponse, emv_auth::HostError> {
        let answer = self.issuer.authorise(request);
        self.presence.pull();
        answer
    }
    fn advise(
        &mut self,
        advice: &emv_auth::Advice,
    ) -> Result<emv_auth::AdviceResponse, emv_auth::HostError> {
        self.issuer.advise(advice)
    }
}

/// EMV 4.4 Book 4 §12 (acquirer interface): an approval the terminal cannot complete is
/// reversed. The reversal quotes what the issuer needs to find its answer: PAN, STAN, the
/// answer's RRN, terminal, amount, currency, DE 7; it asks for an answer (0400), and the
/// outcome records it.
#[test]
fn an_approval_the_card_never_completed_is_reversed() {
    let presence = emv_transport::CardPresence::default();
    let mut c = emv_transport::Pullable::new(card("visa-cvn18"), presence.clone());
    c.power_on().unwrap();
    let issuer = ChipHost::for_card(c.inner().card().personalisation()).unwrap();
    let mut host = PulledAfterAnswer { issuer, presence };
    let profile = Profile::load("atm").unwrap();
    let terminal_id = profile.terminal_id.clone();
    let kernel = Kernel::new(profile, KernelConfig::default());
    let mut pinpad = ScriptedPinPad::new(["1234"]).unwrap();
    let params = TransactionParams {
        amount: 6000,
        transaction_type: emv_auth::TransactionType::Cash,
        stan: 42,
        ..TransactionParams::default()
    };
    let o = kernel.run(&mut c, &mut pinpad, &mut host, &params).unwrap();
    assert_eq!(o.outcome.name(), "terminated");
    assert_eq!(o.host_response_code, Some(emv_auth::ResponseCode::APPROVED));
    let rev = o.reversal.as_ref().expect("a reversal in the outcome");
    assert_eq!(rev.response_code, Some(emv_auth::ResponseCode::APPROVED));
    assert!(rev.why.contains("card removed"), "{rev:?}");
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["reversal"]["response_code"], "00", "{json}");
    let advices = &host.issuer.advices;
    assert_eq!(advices.len(), 1, "{advices:?}");
    let a = &advices[0];
    assert_eq!(a.reason, emv_auth::AdviceReason::Reversal);
    assert!(a.request, "a reversal asks for an answer (0400)");
    assert_eq!(a.pan, host.issuer.requests[0].pan);
    assert_eq!(a.stan, 42);
    assert_eq!(a.rrn.as_deref(), Some("000000000001"), "the answer's RRN");
    assert_eq!(a.terminal_id, terminal_id);
    assert_eq!((a.amount, a.currency), (Some(6000), Some(978)));
    assert_eq!(a.transmitted_at.as_deref(), Some("0115120000"));
    // a completed approval is not reversed
    let mut c = card("visa-cvn18");
    c.power_on().unwrap();
    let mut issuer = ChipHost::for_card(c.card().personalisation()).unwrap();
    let mut pinpad = ScriptedPinPad::new(["1234"]).unwrap();
    let o = kernel
        .run(&mut c, &mut pinpad, &mut issuer, &params)
        .unwrap();
    assert_eq!(o.outcome.name(), "online-approved");
    assert!(o.reversal.is_none());
    assert!(serde_json::to_value(&o).unwrap().get("reversal").is_none());
    assert_eq!(issuer.advices[0].reason, emv_auth::AdviceReason::Completion);
    assert!(!issuer.advices[0].request);
}

/// The real card behind a link that hands the kernel more data than it asked for: READ
/// RECORD SFI 3 record 1 padded to 311 data bytes, as the issuer certificate and the SDA
/// signature in one record made it.
struct OversizeRecord(InProcessCard<MemoryStore>);

impl Transport for OversizeRecord {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, emv_apdu::TransportError> {
        let r = self.0.transmit(capdu)?;
        if capdu.starts_with(&[0x00, 0xB2, 0x01, 0x1C]) && r.ends_with(&[0x90, 0x00]) {
            let mut long = vec![0x70, 0x82, 0x01, 0x33];
            long.extend(std::iter::repeat_n(0xEE, 0x133));
            long.extend_from_slice(&[0x90, 0x00]);
            return Ok(long);
        }
        Ok(r)
    }
    fn power_on(&mut self) -> Result<Vec<u8>, emv_apdu::TransportError> {
        self.0.power_on()
    }
}

#[test]
fn a_response_longer_than_the_command_allows_is_a_card_error() {
    // a short APDU's answer carries at most 256 data bytes (ISO/IEC 7816-4 §5.1): a real
    // terminal's receive buffer is full, so ours stops there too
    let mut c = OversizeRecord(card("visa-cvn18"));
    c.power_on().unwrap();
    let kernel = Kernel::new(
        Profile::load("pos-attended").unwrap(),
        KernelConfig::default(),
    );
    let mut pinpad = ScriptedPinPad::new(["1234"]).unwrap();
    let o = kernel
        .run(
            &mut c,
            &mut pinpad,
            &mut TestHost::unreachable(),
            &TransactionParams::purchase(2500),
        )
        .unwrap();
    assert_eq!(o.outcome.name(), "terminated");
    let reason = o.termination_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("READ RECORD") && reason.contains("311 data bytes"),
        "{reason}"
    );
}
