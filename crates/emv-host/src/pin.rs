//! Online PIN: decrypting the terminal's PIN block, the verification data the host keeps
//! instead of the PIN, the PIN policy for new PINs, and PINs encrypted at rest.
//!
//! Nothing here keeps a PIN: [`Pin`] is a zeroizing buffer whose `Debug` is `Pin(****)`.

use emv_auth::PinData;
use emv_crypto::pinblock::{self, Fill, PinBlockFormat, PinBlockKey};
use emv_crypto::{CryptoError, Pin, pvv};
use subtle::ConstantTimeEq;

use crate::Error;
use crate::keys::{HostKeys, TerminalKey};
use crate::provision::PinVerificationMethod;

/// What the host stores per card to check a PIN (never the PIN in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// How `value` is to be read.
    pub method: PinVerificationMethod,
    /// PVKI of the PVK (PVV and IBM 3624).
    pub pvki: u8,
    /// PVV (4 digits), IBM 3624 offset (PIN length digits) or the hex of an ISO 9564
    /// format 4 PIN block under the storage key.
    pub value: String,
    /// Number of PIN digits (a PVV covers only the first four; the length is checked too).
    pub pin_len: u8,
    /// For an issuer that offers View PIN: the PIN sealed under the storage key ([`seal_pin`],
    /// hex), kept alongside a one-way PVV so that the PIN can be shown to the cardholder
    /// (docs/pin.md §5). `None`: the record alone decides ([`Self::recover`]).
    pub sealed: Option<String>,
}

/// Why a PVV card refuses a PIN of another length than 4.
pub const PVV_PIN_LENGTH: &str = "a card verified by Visa PVV takes a 4-digit PIN: the PVV \
     covers exactly 4 digits and a longer PIN would be accepted on its first 4";

/// The PIN lengths `method` can verify: a Visa PVV is computed over the 4 leftmost PIN
/// digits (docs/pin.md §5), so a PVV card takes exactly 4 rather than accepting a longer
/// PIN on its first 4; the other methods keep any ISO 9564-1 length (4 to 12 digits).
pub fn check_pin_length(method: PinVerificationMethod, pin: &Pin) -> Result<(), Error> {
    if method == PinVerificationMethod::Pvv && pin.len() != 4 {
        return Err(Error::PinLength(PVV_PIN_LENGTH));
    }
    Ok(())
}

/// IBM 3624 validation data: the leftmost (up to) 16 PAN digits (docs/pin.md §5).
fn validation_data(pan: &str) -> Result<String, Error> {
    Ok(pvv::validation_data_from_pan(pan, 0, pan.len().min(16))?)
}

impl PinRecord {
    /// Computes the verification data for `pin` (the clear PIN is not kept).
    pub fn new(
        keys: &HostKeys,
        pan: &str,
        method: PinVerificationMethod,
        pvki: u8,
        pin: &Pin,
    ) -> Result<Self, Error> {
        check_pin_length(method, pin)?;
        let value = match method {
            // docs/pin.md §5: Visa PVV over the 4 leftmost PIN digits
            PinVerificationMethod::Pvv => pvv::visa_pvv(keys.pvk(pvki)?, pan, pvki, pin)?,
            // docs/pin.md §5: IBM 3624 offset = (PIN - natural PIN) mod 10
            PinVerificationMethod::Ibm3624 => pvv::ibm3624_offset(
                keys.pvk(pvki)?,
                keys.decimalisation(),
                &validation_data(pan)?,
                keys.validation_pad(),
                pin,
            )?,
            PinVerificationMethod::Encrypted => hex::encode_upper(seal_pin(keys, pan, pin)?),
        };
        Ok(Self {
            method,
            pvki,
            value,
            pin_len: u8::try_from(pin.len()).unwrap_or(u8::MAX),
            sealed: None,
        })
    }

    /// The record of an issuer that offers View PIN: where the verification data is
    /// one-way (a PVV), the PIN is also kept sealed under the storage key; an IBM 3624
    /// offset and an encrypted PIN are recoverable already (docs/pin.md §5).
    pub fn recoverable(mut self, keys: &HostKeys, pan: &str, pin: &Pin) -> Result<Self, Error> {
        if self.method == PinVerificationMethod::Pvv {
            self.sealed = Some(hex::encode_upper(seal_pin(keys, pan, pin)?));
        }
        Ok(self)
    }

    /// Whether [`Self::recover`] can give the PIN back.
    pub fn is_recoverable(&self) -> bool {
        self.method != PinVerificationMethod::Pvv || self.sealed.is_some()
    }

    /// Whether `pin` is the card's PIN (constant-time comparisons throughout).
    pub fn verify(&self, keys: &HostKeys, pan: &str, pin: &Pin) -> Result<bool, Error> {
        let len_ok = bool::from(
            u8::try_from(pin.len())
                .unwrap_or(u8::MAX)
                .ct_eq(&self.pin_len),
        );
        let r = match self.method {
            PinVerificationMethod::Pvv => {
                pvv::verify_visa_pvv(keys.pvk(self.pvki)?, pan, self.pvki, pin, &self.value)
            }
            PinVerificationMethod::Ibm3624 => pvv::verify_ibm3624(
                keys.pvk(self.pvki)?,
                keys.decimalisation(),
                &validation_data(pan)?,
                keys.validation_pad(),
                &self.value,
                pin,
            ),
            PinVerificationMethod::Encrypted => {
                let stored = open_pin(keys, pan, &self.stored_block()?)?;
                // Pin equality is constant time
                if stored == *pin {
                    Ok(())
                } else {
                    Err(CryptoError::VerificationFailed("PIN (stored)"))
                }
            }
        };
        match r {
            Ok(()) => Ok(len_ok),
            Err(CryptoError::VerificationFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The PIN, where the record allows recovering it (IBM 3624 offset, encrypted PIN, or
    /// the sealed copy kept next to a PVV); a PVV alone is one-way.
    pub fn recover(&self, keys: &HostKeys, pan: &str) -> Result<Option<Pin>, Error> {
        match self.method {
            PinVerificationMethod::Pvv => match &self.sealed {
                Some(h) => {
                    let block = hex::decode(h)
                        .map_err(|_| Error::Corrupt("sealed PIN is not hex".into()))?;
                    Ok(Some(open_pin(keys, pan, &block)?))
                }
                None => Ok(None),
            },
            PinVerificationMethod::Ibm3624 => Ok(Some(pvv::ibm3624_pin_from_offset(
                keys.pvk(self.pvki)?,
                keys.decimalisation(),
                &validation_data(pan)?,
                keys.validation_pad(),
                &self.value,
            )?)),
            PinVerificationMethod::Encrypted => {
                Ok(Some(open_pin(keys, pan, &self.stored_block()?)?))
            }
        }
    }

    fn stored_block(&self) -> Result<Vec<u8>, Error> {
        hex::decode(&self.value).map_err(|_| Error::Corrupt("stored PIN block is not hex".into()))
    }
}

/// Encrypts a PIN for storage: an ISO 9564-1 format 4 block (random fill, so equal PINs
/// give different blocks) under the storage key, bound to the PAN.
pub fn seal_pin(keys: &HostKeys, pan: &str, pin: &Pin) -> Result<[u8; 16], Error> {
    Ok(pinblock::encrypt_pin_block_iso4(
        keys.pin_storage_key(),
        pin,
        pan,
        &Fill::Random,
    )?)
}

/// Decrypts a PIN sealed by [`seal_pin`].
pub fn open_pin(keys: &HostKeys, pan: &str, block: &[u8]) -> Result<Pin, Error> {
    pinblock::decrypt_pin_block_iso4(keys.pin_storage_key(), block, pan)
        .map_err(|e| Error::Corrupt(format!("stored PIN block: {e}")))
}

/// Decrypts the terminal's PIN block (DE 52) with the key it names: ISO 9564-1 format 0
/// under a TDES key or format 4 under an AES key (ISO 9564-1; docs/pin.md §4). Every failure is a
/// client error that names the problem; none reveals PIN digits.
pub fn decrypt_terminal_pin(keys: &HostKeys, pan: &str, data: &PinData) -> Result<Pin, Error> {
    let key = keys.terminal_key(&data.key_id)?;
    let (format, pbk) = match (data.format, key) {
        (0, TerminalKey::Tdes(k)) => (PinBlockFormat::Iso0, PinBlockKey::Tdes(k)),
        (4, TerminalKey::Aes(k)) => (PinBlockFormat::Iso4, PinBlockKey::Aes(k)),
        (4, TerminalKey::Tdes(_)) => {
            return Err(Error::PinBlockFormat(format!(
                "key {} is a TDES key: it takes ISO 9564 format 0 blocks, not format {}",
                data.key_id, data.format
            )));
        }
        (0, TerminalKey::Aes(_)) => {
            return Err(Error::PinBlockFormat(format!(
                "key {} is an AES key: it takes ISO 9564 format 4 blocks, not format {}",
                data.key_id, data.format
            )));
        }
        (f, _) => {
            return Err(Error::PinBlockFormat(format!(
                "format {f} is not accepted online: use ISO 9564 format 0 (TDES) or 4 (AES)"
            )));
        }
    };
    if data.pin_block.len() != format.block_len() {
        return Err(Error::PinBlockFormat(format!(
            "a format {} block is {} bytes, got {}",
            data.format,
            format.block_len(),
            data.pin_block.len()
        )));
    }
    pinblock::pin_block_decode(pbk, format, &data.pin_block, Some(pan)).map_err(|e| match e {
        CryptoError::InvalidPan(m) => Error::BadRequest(format!("PAN: {m}")),
        // the decoder's reasons name fields and positions, never digit values
        other => Error::PinBlockUndecryptable(format!("key {}: {other}", data.key_id)),
    })
}

/// PIN translation at the acquirer, as its HSM does before a message goes on the network:
/// the terminal's block (under the key it names) deciphered and enciphered again as an
/// ISO 9564-1 format 0 block under the link's zone PIN key `zone_key_id` (a TDES terminal
/// key), the 64 bits ISO 8583:1987 DE 52 carries. The clear PIN lives only in zeroizing
/// memory during the call.
pub fn translate_to_zone(
    keys: &HostKeys,
    pan: &str,
    data: &PinData,
    zone_key_id: &str,
) -> Result<PinData, Error> {
    let TerminalKey::Tdes(zone) = keys.terminal_key(zone_key_id)? else {
        return Err(Error::PinBlockFormat(format!(
            "zone PIN key {zone_key_id} must be a TDES key (ISO 8583:1987 DE 52 is 64 bits)"
        )));
    };
    let pin = decrypt_terminal_pin(keys, pan, data)?;
    let block = pinblock::encrypt_pin_block(
        zone,
        PinBlockFormat::Iso0,
        &pin,
        Some(pan),
        &pinblock::Fill::Random,
    )
    .map_err(|e| Error::BadRequest(format!("PIN translation: {e}")))?;
    Ok(PinData {
        pin_block: block.to_vec(),
        format: 0,
        key_id: zone_key_id.to_owned(),
    })
}

/// PIN policy for PINs set through the API (a common issuer rule; Visa response code P6
/// "Unsafe PIN", docs/pin.md §5): no single repeated digit (0000, 1111) and no run of
/// consecutive ascending or descending digits (1234, 9876, 0123).
pub fn check_pin_policy(pin: &Pin) -> Result<(), Error> {
    let d = pin.digits();
    if d.windows(2).all(|w| w[0] == w[1]) {
        return Err(Error::WeakPin(
            "the PIN repeats a single digit (like 0000 or 1111); choose a less guessable PIN",
        ));
    }
    let step = |up: bool| {
        d.windows(2).all(|w| {
            if up {
                w[1] == w[0] + 1
            } else {
                w[0] == w[1] + 1
            }
        })
    };
    if step(true) || step(false) {
        return Err(Error::WeakPin(
            "the PIN is a run of consecutive digits (like 1234 or 9876); choose a less guessable PIN",
        ));
    }
    Ok(())
}

/// A uniformly random PIN of `len` digits that passes [`check_pin_policy`].
pub fn random_pin(len: usize) -> Result<Pin, Error> {
    random_pin_from(len, None)
}

/// Where new PINs come from: the operating system's RNG, or (`Some(state)`) a seeded
/// SplitMix64 sequence that scenarios use so that their traces are reproducible.
pub(crate) fn random_pin_from(len: usize, mut seeded: Option<&mut u64>) -> Result<Pin, Error> {
    loop {
        let mut raw = zeroize::Zeroizing::new(vec![0u8; len]);
        match seeded.as_deref_mut() {
            Some(state) => {
                for b in raw.iter_mut() {
                    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    *b = (z ^ (z >> 31)) as u8;
                }
            }
            None => getrandom::fill(&mut raw).map_err(|e| Error::Io {
                context: "operating system RNG".into(),
                io: std::io::Error::other(e.to_string()),
            })?,
        }
        // rejection sampling keeps the digits uniform: bytes >= 250 are drawn again
        if raw.iter().any(|&b| b >= 250) {
            continue;
        }
        let digits: zeroize::Zeroizing<Vec<u8>> =
            zeroize::Zeroizing::new(raw.iter().map(|b| b % 10).collect());
        let pin = Pin::from_digit_values(&digits)?;
        if check_pin_policy(&pin).is_ok() {
            return Ok(pin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }

    #[test]
    fn policy_refuses_trivial_pins() {
        for p in ["0000", "1111", "1234", "4321", "0123", "9876", "123456"] {
            assert!(
                matches!(check_pin_policy(&pin(p)), Err(Error::WeakPin(_))),
                "{p}"
            );
        }
        for p in ["1357", "2580", "1243", "9871"] {
            check_pin_policy(&pin(p)).unwrap();
        }
        for _ in 0..50 {
            let p = random_pin(4).unwrap();
            assert_eq!(p.len(), 4);
            check_pin_policy(&p).unwrap();
        }
    }

    #[test]
    fn records_verify_and_recover() {
        let keys = HostKeys::load_test_keys().unwrap();
        let pan = "4761739001010010";
        for m in [
            PinVerificationMethod::Pvv,
            PinVerificationMethod::Ibm3624,
            PinVerificationMethod::Encrypted,
        ] {
            let r = PinRecord::new(&keys, pan, m, 1, &pin("4821")).unwrap();
            assert!(r.verify(&keys, pan, &pin("4821")).unwrap(), "{m:?}");
            assert!(!r.verify(&keys, pan, &pin("4822")).unwrap(), "{m:?}");
            assert!(!r.verify(&keys, pan, &pin("48210")).unwrap(), "{m:?}");
            match m {
                PinVerificationMethod::Pvv => assert!(r.recover(&keys, pan).unwrap().is_none()),
                _ => assert_eq!(r.recover(&keys, pan).unwrap().unwrap(), pin("4821")),
            }
            assert_eq!(r.is_recoverable(), m != PinVerificationMethod::Pvv);
            // View PIN: a PVV gets a sealed copy, the others need none
            let r = r.recoverable(&keys, pan, &pin("4821")).unwrap();
            assert!(r.is_recoverable());
            assert_eq!(r.sealed.is_some(), m == PinVerificationMethod::Pvv);
            assert_eq!(r.recover(&keys, pan).unwrap().unwrap(), pin("4821"));
            assert!(r.verify(&keys, pan, &pin("4821")).unwrap(), "{m:?}");
            assert!(!r.verify(&keys, pan, &pin("4822")).unwrap(), "{m:?}");
        }
    }

    #[test]
    fn terminal_blocks_check_key_and_format() {
        let keys = HostKeys::load_test_keys().unwrap();
        let pan = "4761739001010010";
        let tpk = emv_crypto::TdesKey::from_hex("C1D0F8FB4958670DBA40AB1F3752EF0D").unwrap();
        let block = pinblock::encrypt_pin_block(
            &tpk,
            PinBlockFormat::Iso0,
            &pin("4821"),
            Some(pan),
            &Fill::Random,
        )
        .unwrap();
        let data = |fmt: u8, id: &str, b: &[u8]| PinData {
            pin_block: b.to_vec(),
            format: fmt,
            key_id: id.into(),
        };
        assert_eq!(
            decrypt_terminal_pin(&keys, pan, &data(0, "TPK-TEST-01", &block)).unwrap(),
            pin("4821")
        );
        assert!(matches!(
            decrypt_terminal_pin(&keys, pan, &data(0, "TPK-NOPE", &block)),
            Err(Error::UnknownKeyId(_))
        ));
        assert!(matches!(
            decrypt_terminal_pin(&keys, pan, &data(4, "TPK-TEST-01", &block)),
            Err(Error::PinBlockFormat(_))
        ));
        assert!(matches!(
            decrypt_terminal_pin(&keys, pan, &data(3, "TPK-TEST-01", &block)),
            Err(Error::PinBlockFormat(_))
        ));
        assert!(matches!(
            decrypt_terminal_pin(&keys, pan, &data(0, "TPK-AES-TEST-01", &block)),
            Err(Error::PinBlockFormat(_))
        ));
        assert!(matches!(
            decrypt_terminal_pin(&keys, pan, &data(0, "TPK-TEST-01", &[0u8; 8])),
            Err(Error::PinBlockUndecryptable(_))
        ));
    }
}
