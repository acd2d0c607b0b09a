//! Stand-in data for the PIN-bearing commands of a replayed trace. A trace stores their
//! data redacted (`docs/formats.md` §3): the PIN a cardholder typed, and the new PIN an
//! issuer script carries, never reach a file people share. To replay the terminal side
//! byte for byte everywhere else, the replay asks the card for data that has the effect
//! the recorded answer shows: the card's PIN (or the one given) where the card accepted
//! the PIN, another PIN where it did not, a freshly keyed PIN CHANGE.

use emv_apdu::commands::{VERIFY_P2_PLAINTEXT, ins};
use emv_crypto::Pin;
use emv_crypto::offline_pin::{self, OfflinePin};
use emv_crypto::script::{ScriptCommand, ScriptContext, build_script_command};
use zeroize::Zeroizing;

use crate::{Card, CardError, CardStore};

/// Another PIN of the same length: every digit moved by one (so it differs in each place).
fn other_pin(pin: &str) -> Zeroizing<String> {
    Zeroizing::new(
        pin.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_digit((d + 1) % 10, 10).unwrap_or('0'),
                None => c,
            })
            .collect(),
    )
}

impl<S: CardStore> Card<S> {
    /// The data field of a redacted PIN-bearing command with header `CLA INS P1 P2 Lc`,
    /// built for the card as it is now:
    /// - VERIFY (plaintext, ISO 9564-1 format 2 as EMV 4.4 Book 3 §6.5.12 uses it, or
    ///   enciphered with the card's PIN encipherment key and the challenge it just issued,
    ///   Book 2 §7.2): `pin` (default: the card's current PIN) when `accepted`, another PIN
    ///   of the same length otherwise;
    /// - PIN CHANGE (Book 3 §6.5.10, Book 2 §9.5): keyed with this transaction's session
    ///   keys and MAC; the new PIN is a stand-in (the card's current PIN with every digit
    ///   moved by one), which the card's later PIN checks then use.
    pub fn stand_in_pin_data(
        &self,
        header: &[u8; 5],
        pin: Option<&str>,
        accepted: bool,
    ) -> Result<Vec<u8>, CardError> {
        let bad = |m: &str| CardError::StandIn(m.to_owned());
        let current = self
            .current_pin()
            .map_err(|_| bad("the card's PIN cannot be read"))?;
        let current = current.expose();
        let right: &str = pin.unwrap_or(&current);
        let entered = if accepted {
            Zeroizing::new(right.to_owned())
        } else {
            other_pin(right)
        };
        let [_, instruction, _, p2, lc] = *header;
        let data = match instruction {
            ins::VERIFY if p2 == VERIFY_P2_PLAINTEXT => {
                OfflinePin::new(&entered)?.pin_block()?.to_vec()
            }
            ins::VERIFY => {
                let perso = self.personalisation();
                let key = perso
                    .pin_key
                    .as_ref()
                    .or(perso.icc_key.as_ref())
                    .ok_or_else(|| bad("the card has no PIN encipherment key"))?;
                // no challenge issued: any bytes (the card answers 6984 either way)
                let challenge = self.session.challenge.unwrap_or_default();
                let padding = vec![0u8; key.modulus_len().saturating_sub(17)];
                offline_pin::encipher_pin_with_padding(
                    key.public_key(),
                    &entered,
                    &challenge,
                    &padding,
                )?
            }
            ins::PIN_CHANGE_UNBLOCK => {
                let online = self
                    .session
                    .phase
                    .online()
                    .ok_or_else(|| bad("PIN CHANGE outside an online transaction"))?;
                let ctx = ScriptContext::new(self.perso.cvn, self.state.atc, online.first.ac)
                    .command(online.script_commands);
                let cmd = ScriptCommand::PinChange {
                    new_pin: Pin::new(&other_pin(&current))?,
                    current_pin: (p2 == 0x01).then(|| Pin::new(&current)).transpose()?,
                };
                let apdu = build_script_command(&self.perso.keys, &ctx, &cmd)?;
                apdu.get(5..).map(<[u8]>::to_vec).unwrap_or_default()
            }
            _ => return Err(bad("not a PIN-bearing command")),
        };
        if data.len() != usize::from(lc) {
            return Err(bad(&format!(
                "{} bytes of data, the recorded Lc says {lc}",
                data.len()
            )));
        }
        Ok(data)
    }
}
