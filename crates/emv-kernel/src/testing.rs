//! Test support, public so that integration tests and scenario runners can use it: a
//! scripted card that checks every C-APDU and that the whole script was consumed, a small
//! fake card for the CVM engine, and a configurable test host.

use emv_apdu::{Transport, TransportError};
use emv_auth::{
    Advice, AdviceReason, AdviceResponse, AuthRequest, AuthResponse, Host, HostError,
    OnlinePinResult, ResponseCode,
};
use emv_crypto::oda::RsaPrivateKey;
use emv_crypto::offline_pin::{self, OfflinePin};

use crate::util::hex;
use emv_apdu::describe::command_name;

/// An expected C-APDU: hex bytes where `XX` matches any byte; a trailing `*` matches any
/// remaining bytes.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    bytes: Vec<Option<u8>>,
    open_end: bool,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let mut s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let open_end = s.ends_with('*');
        if open_end {
            s.pop();
        }
        if !s.len().is_multiple_of(2) {
            return Err(format!("odd number of hex digits in {text:?}"));
        }
        let mut bytes = Vec::with_capacity(s.len() / 2);
        for i in (0..s.len()).step_by(2) {
            let pair = &s[i..i + 2];
            if pair.eq_ignore_ascii_case("XX") {
                bytes.push(None);
            } else {
                let b = u8::from_str_radix(pair, 16)
                    .map_err(|_| format!("{pair:?} is not hex in {text:?}"))?;
                bytes.push(Some(b));
            }
        }
        Ok(Pattern {
            text: text.to_owned(),
            bytes,
            open_end,
        })
    }

    fn matches(&self, apdu: &[u8]) -> bool {
        if apdu.len() < self.bytes.len() || (!self.open_end && apdu.len() != self.bytes.len()) {
            return false;
        }
        self.bytes
            .iter()
            .zip(apdu)
            .all(|(p, b)| p.is_none_or(|p| p == *b))
    }
}

/// One scripted exchange (a script error is reported when the step is reached).
type Step = (Result<Pattern, String>, Result<Vec<u8>, String>);

/// A card that answers from a list of expected C-APDU → R-APDU pairs, in order. A command
/// that does not match the next expected one is a [`TransportError::TraceMismatch`] and is
/// recorded; [`ScriptedCard::finish`] reports mismatches and unconsumed exchanges.
#[derive(Debug, Default)]
pub struct ScriptedCard {
    steps: Vec<Step>,
    next: usize,
    errors: Vec<String>,
    sent: Vec<Vec<u8>>,
}

impl ScriptedCard {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expect `command` (hex; `XX` any byte, trailing `*` any rest) and answer `response`
    /// (hex, status word included).
    pub fn expect(mut self, command: &str, response: &str) -> Self {
        self.push(command, response);
        self
    }

    /// As [`ScriptedCard::expect`], in place.
    pub fn push(&mut self, command: &str, response: &str) {
        let resp =
            emv_tlv::hex::decode(response).map_err(|e| format!("response {response:?}: {e}"));
        self.steps.push((Pattern::parse(command), resp));
    }

    /// Every C-APDU received, in order.
    pub fn sent(&self) -> &[Vec<u8>] {
        &self.sent
    }

    /// Exchanges not consumed yet.
    pub fn remaining(&self) -> usize {
        self.steps.len() - self.next
    }

    /// `Ok` if every exchange was consumed and nothing unexpected arrived; otherwise a
    /// report naming each problem.
    pub fn finish(&self) -> Result<(), String> {
        let mut problems = self.errors.clone();
        for (i, (p, _)) in self.steps.iter().enumerate().skip(self.next) {
            let text = match p {
                Ok(p) => p.text.clone(),
                Err(e) => e.clone(),
            };
            problems.push(format!("exchange {} not consumed: {text}", i + 1));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

impl Transport for ScriptedCard {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(capdu.to_vec());
        let Some((pattern, response)) = self.steps.get(self.next) else {
            let msg = format!(
                "unexpected {} {} after the end of the script",
                command_name(capdu),
                hex(capdu)
            );
            self.errors.push(msg.clone());
            return Err(TransportError::TraceMismatch(msg));
        };
        let outcome = match (pattern, response) {
            (Ok(p), Ok(r)) if p.matches(capdu) => Ok(r.clone()),
            (Ok(p), Ok(_)) => Err(format!(
                "exchange {}: expected {}, got {} {}",
                self.next + 1,
                p.text,
                command_name(capdu),
                hex(capdu)
            )),
            (Err(e), _) | (_, Err(e)) => {
                Err(format!("exchange {}: bad script: {e}", self.next + 1))
            }
        };
        self.next += 1;
        outcome.map_err(|msg| {
            self.errors.push(msg.clone());
            TransportError::TraceMismatch(msg)
        })
    }
}

/// A small card for the CVM engine: GET DATA 9F17, GET CHALLENGE, VERIFY plaintext and
/// enciphered (63Cx, 63C0, 6983, 6984), nothing else (`6D00`).
#[derive(Debug)]
pub struct FakeCard {
    /// The reference PIN.
    pub pin: String,
    /// PIN Try Counter.
    pub ptc: u8,
    /// PIN Try Limit.
    pub ptl: u8,
    /// GET DATA 9F17 answers (else `6A88`).
    pub ptc_readable: bool,
    /// Private key for enciphered PIN (ICC PIN encipherment key or ICC key).
    pub pin_key: Option<RsaPrivateKey>,
    /// Every VERIFY answers this status word instead.
    pub verify_sw: Option<u16>,
    /// Length of the GET CHALLENGE answer (8 normally).
    pub challenge_len: usize,
    challenge_counter: u8,
    issued: Option<[u8; 8]>,
    /// Names of the commands received.
    pub log: Vec<String>,
}

impl FakeCard {
    /// A card with `pin` and `ptc` tries left out of 3.
    pub fn new(pin: &str, ptc: u8) -> Self {
        FakeCard {
            pin: pin.to_owned(),
            ptc,
            ptl: 3,
            ptc_readable: true,
            pin_key: None,
            verify_sw: None,
            challenge_len: 8,
            challenge_counter: 0,
            issued: None,
            log: Vec::new(),
        }
    }

    /// Number of VERIFY commands received.
    pub fn verify_count(&self) -> usize {
        self.log.iter().filter(|n| n.starts_with("VERIFY")).count()
    }

    fn check(&mut self, matched: bool) -> u16 {
        if let Some(sw) = self.verify_sw {
            return sw;
        }
        if self.ptc == 0 {
            return 0x6983;
        }
        if matched {
            self.ptc = self.ptl;
            0x9000
        } else {
            self.ptc -= 1;
            0x63C0 | u16::from(self.ptc.min(15))
        }
    }
}

impl Transport for FakeCard {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.log.push(command_name(capdu));
        let sw = |v: u16| v.to_be_bytes().to_vec();
        let issued = self.issued.take();
        let reply = match capdu {
            [0x80, 0xCA, 0x9F, 0x17, ..] if self.ptc_readable => {
                vec![0x9F, 0x17, 0x01, self.ptc, 0x90, 0x00]
            }
            [0x80, 0xCA, ..] => sw(0x6A88),
            [0x00, 0x84, 0x00, 0x00, ..] => {
                self.challenge_counter = self.challenge_counter.wrapping_add(1);
                let ch = [
                    0xC0,
                    0xFF,
                    0xEE,
                    0x00,
                    0x11,
                    0x22,
                    0x33,
                    self.challenge_counter,
                ];
                self.issued = Some(ch);
                let mut v: Vec<u8> = ch
                    .iter()
                    .copied()
                    .cycle()
                    .take(self.challenge_len)
                    .collect();
                v.extend_from_slice(&[0x90, 0x00]);
                v
            }
            [0x00, 0x20, 0x00, 0x80, 0x08, block @ ..] => {
                let expected = OfflinePin::new(&self.pin).and_then(|p| p.pin_block());
                let matched = expected.is_ok_and(|e| block.get(..8) == Some(&e[..]));
                sw(self.check(matched))
            }
            [0x00, 0x20, 0x00, 0x88, _lc, data @ ..] => match (&self.pin_key, issued) {
                (Some(key), Some(ch)) => match offline_pin::decipher_pin(key, data, &ch) {
                    Ok(pin) => {
                        let matched = pin.ct_eq(&self.pin);
                        sw(self.check(matched))
                    }
                    Err(e) => sw(self
                        .verify_sw
                        .unwrap_or_else(|| offline_pin::card_status_word(&e).unwrap_or(0x6984))),
                },
                (None, _) => sw(0x6985),
                (Some(_), None) => sw(self.verify_sw.unwrap_or(0x6984)),
            },
            _ => sw(0x6D00),
        };
        Ok(reply)
    }
}

/// A host that answers every authorisation with a configured response (or error) and
/// records requests and advices.
#[derive(Debug, Clone)]
pub struct TestHost {
    /// The answer to every authorisation.
    pub answer: Result<AuthResponse, HostError>,
    /// Requests received.
    pub requests: Vec<AuthRequest>,
    /// Advices received.
    pub advices: Vec<Advice>,
}

impl TestHost {
    /// Approves (`00`) with the given Issuer Authentication Data and scripts.
    pub fn approving(arpc: Option<Vec<u8>>, scripts: Vec<Vec<u8>>) -> Self {
        Self::answering(AuthResponse {
            response_code: ResponseCode::APPROVED,
            reason: "approved by the test host".into(),
            auth_code: Some("123456".into()),
            rrn: Some("000000000001".into()),
            issuer_authentication_data: arpc,
            issuer_scripts: scripts,
            online_pin: None,
        })
    }

    /// Declines with `code`.
    pub fn declining(code: ResponseCode, online_pin: Option<OnlinePinResult>) -> Self {
        Self::answering(AuthResponse {
            response_code: code,
            reason: "declined by the test host".into(),
            auth_code: None,
            rrn: Some("000000000001".into()),
            issuer_authentication_data: None,
            issuer_scripts: Vec::new(),
            online_pin,
        })
    }

    /// Answers `response`.
    pub fn answering(response: AuthResponse) -> Self {
        TestHost {
            answer: Ok(response),
            requests: Vec::new(),
            advices: Vec::new(),
        }
    }

    /// Cannot be reached.
    pub fn unreachable() -> Self {
        TestHost {
            answer: Err(HostError::Unreachable("test host offline".into())),
            requests: Vec::new(),
            advices: Vec::new(),
        }
    }
}

impl Host for TestHost {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        self.requests.push(request.clone());
        self.answer.clone()
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        self.advices.push(advice.clone());
        Ok(AdviceResponse {
            response_code: ResponseCode::APPROVED,
            reversed: advice.reason == AdviceReason::Reversal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_card_checks_order_wildcards_and_consumption() {
        let mut card = ScriptedCard::new()
            .expect("00A4040007A0000000031010 00", "9000")
            .expect("80AE 80 00 XX *", "6985");
        assert_eq!(
            card.transmit(&[0, 0xA4, 4, 0, 7, 0xA0, 0, 0, 0, 3, 0x10, 0x10, 0])
                .unwrap(),
            [0x90, 0]
        );
        assert!(card.finish().is_err());
        assert_eq!(
            card.transmit(&[0x80, 0xAE, 0x80, 0, 3, 1, 2, 3, 0])
                .unwrap(),
            [0x69, 0x85]
        );
        assert!(card.finish().is_ok());
        assert!(card.transmit(&[0, 0x84, 0, 0, 0]).is_err());
        assert!(card.finish().unwrap_err().contains("GET CHALLENGE"));

        let mut card = ScriptedCard::new().expect("0084000000", "9000");
        assert!(card.transmit(&[0, 0x84, 0, 0, 8]).is_err());
        assert!(card.finish().unwrap_err().contains("expected 0084000000"));
    }

    #[test]
    fn fake_card_pin_counter() {
        let mut card = FakeCard::new("1234", 2);
        let good = OfflinePin::new("1234").unwrap().pin_block().unwrap();
        let bad = OfflinePin::new("9999").unwrap().pin_block().unwrap();
        let verify = |b: &[u8]| {
            let mut v = vec![0, 0x20, 0, 0x80, 8];
            v.extend_from_slice(b);
            v
        };
        assert_eq!(
            card.transmit(&[0x80, 0xCA, 0x9F, 0x17, 0]).unwrap(),
            [0x9F, 0x17, 1, 2, 0x90, 0]
        );
        assert_eq!(card.transmit(&verify(&bad[..])).unwrap(), [0x63, 0xC1]);
        assert_eq!(card.transmit(&verify(&good[..])).unwrap(), [0x90, 0]);
        assert_eq!(card.ptc, 3);
        card.ptc = 1;
        assert_eq!(card.transmit(&verify(&bad[..])).unwrap(), [0x63, 0xC0]);
        assert_eq!(card.transmit(&verify(&good[..])).unwrap(), [0x69, 0x83]);
    }
}
