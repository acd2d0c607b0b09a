//! Enciphered offline PIN: VERIFY with P2 = `88` (EMV 4.4 Book 2 §7.2, Book 3 §6.5.12).
//!
//! Terminal side ([`encipher_pin`]): after GET CHALLENGE returned the 8-byte ICC
//! Unpredictable Number, build
//!
//! ```text
//! 7F | PIN block (ISO 9564 format 2, 8 bytes) | ICC Unpredictable Number (8) | random (N − 17)
//! ```
//!
//! and apply the RSA public operation with the ICC PIN Encipherment public key (or, if the
//! card has none, the ICC public key). Card side ([`decipher_pin`]): apply the private
//! operation, check the header `7F` and the challenge (→ `6984` on failure) and the PIN
//! block format (→ `6A80`), then compare the PIN (the caller does that, with
//! [`OfflinePin::ct_eq`], and handles the PIN Try Counter).

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::oda::{RsaPrivateKey, RsaPublicKey};
use crate::pinblock::{Fill, Pin, PinBlockFormat, decode_pin_block, encode_pin_block};

/// First byte of the data to be enciphered (Book 2 §7.2).
pub const ENCIPHERED_PIN_HEADER: u8 = 0x7F;
/// Length of the ICC Unpredictable Number returned by GET CHALLENGE (Book 3 §6.5.6).
pub const ICC_UNPREDICTABLE_NUMBER_LEN: usize = 8;
/// Length of an ISO 9564 format 2 PIN block (Book 3 §6.5.12.2, Table 25).
pub const PIN_BLOCK_LEN: usize = 8;
/// Bytes before the random padding: header, PIN block, ICC Unpredictable Number.
const FIXED_LEN: usize = 1 + PIN_BLOCK_LEN + ICC_UNPREDICTABLE_NUMBER_LEN;

/// A PIN recovered by the card (4 to 12 decimal digits). Zeroized on drop; `Debug` does not
/// show the digits.
///
/// No `PartialEq`: compare with [`OfflinePin::ct_eq`].
#[derive(Clone)]
pub struct OfflinePin(Zeroizing<String>);

impl fmt::Debug for OfflinePin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OfflinePin({} digits)", self.0.len())
    }
}

impl OfflinePin {
    /// A PIN from its digits (4..=12 ASCII digits).
    pub fn new(digits: &str) -> Result<Self, CryptoError> {
        // Validate by building the block (one set of rules).
        format2_pin_block(digits)?;
        Ok(Self(Zeroizing::new(digits.to_owned())))
    }

    /// The digits.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a PIN has at least 4 digits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time comparison with a reference PIN (the length is not secret).
    pub fn ct_eq(&self, reference: &str) -> bool {
        self.0.len() == reference.len() && bool::from(self.0.as_bytes().ct_eq(reference.as_bytes()))
    }

    /// The ISO 9564 format 2 PIN block of this PIN.
    pub fn pin_block(&self) -> Result<Zeroizing<[u8; PIN_BLOCK_LEN]>, CryptoError> {
        format2_pin_block(&self.0)
    }
}

/// ISO 9564 format 2 PIN block (Book 3 §6.5.12.2, Table 25): `2N PP PP … FF`, control
/// nibble 2, length nibble N = 4..=12, BCD digits, `F` filler. One set of rules for the
/// whole crate: [`crate::pinblock`].
fn format2_pin_block(pin: &str) -> Result<Zeroizing<[u8; PIN_BLOCK_LEN]>, CryptoError> {
    let pin = Pin::new(pin)?;
    encode_pin_block(PinBlockFormat::Iso2, &pin, None, &Fill::Random)
}

/// Parses an ISO 9564 format 2 PIN block with [`crate::pinblock`]'s validation; any other
/// block is a format error (card: `6A80`, Book 3 §6.5.12.2).
fn parse_format2_pin_block(block: &[u8]) -> Result<OfflinePin, CryptoError> {
    match decode_pin_block(PinBlockFormat::Iso2, block, None) {
        Ok(pin) => Ok(OfflinePin(pin.expose())),
        Err(CryptoError::InvalidPinBlock { reason, .. }) => {
            Err(CryptoError::OfflinePinBlockFormat(reason))
        }
        Err(other) => Err(CryptoError::OfflinePinBlockFormat(other.to_string())),
    }
}

/// Builds the plaintext to encipher: `7F ‖ PIN block ‖ ICC UN ‖ padding` (Book 2 §7.2).
fn plaintext(
    key: &RsaPublicKey,
    pin: &str,
    icc_unpredictable_number: &[u8; ICC_UNPREDICTABLE_NUMBER_LEN],
    padding: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let n = key.modulus_len();
    if padding.len() + FIXED_LEN != n {
        return Err(CryptoError::InvalidInput {
            what: "enciphered PIN padding",
            reason: format!(
                "{} bytes, expected N - 17 = {}",
                padding.len(),
                n - FIXED_LEN
            ),
        });
    }
    let block = format2_pin_block(pin)?;
    let mut data = Zeroizing::new(Vec::with_capacity(n));
    data.push(ENCIPHERED_PIN_HEADER);
    data.extend_from_slice(block.as_slice());
    data.extend_from_slice(icc_unpredictable_number);
    data.extend_from_slice(padding);
    Ok(data)
}

/// Terminal side: enciphers `pin` (4..=12 digits) for VERIFY P2 = `88` with the card's
/// PIN encipherment key, binding it to the challenge `icc_unpredictable_number` (Book 2
/// §7.2). The random padding comes from `rng`. Returns the VERIFY command data (N bytes).
pub fn encipher_pin<R: CryptoRng + ?Sized>(
    key: &RsaPublicKey,
    pin: &str,
    icc_unpredictable_number: &[u8; ICC_UNPREDICTABLE_NUMBER_LEN],
    rng: &mut R,
) -> Result<Vec<u8>, CryptoError> {
    let mut padding = Zeroizing::new(vec![0u8; key.modulus_len() - FIXED_LEN]);
    rng.fill_bytes(&mut padding);
    encipher_pin_with_padding(key, pin, icc_unpredictable_number, &padding)
}

/// As [`encipher_pin`] with caller-chosen padding (exactly N − 17 bytes): deterministic,
/// for test vectors.
pub fn encipher_pin_with_padding(
    key: &RsaPublicKey,
    pin: &str,
    icc_unpredictable_number: &[u8; ICC_UNPREDICTABLE_NUMBER_LEN],
    padding: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let data = plaintext(key, pin, icc_unpredictable_number, padding)?;
    // The header 7F is below the top byte of any full-length modulus, so data < n; the
    // RSA layer checks it anyway.
    key.encipher(&data)
}

/// Card side: deciphers VERIFY P2 = `88` command data with the PIN encipherment private key
/// and checks it (Book 2 §7.2): length = N, header `7F`, ICC Unpredictable Number equal to
/// `issued_challenge` (the one GET CHALLENGE returned; compared in constant time), and a
/// valid format 2 PIN block. Returns the PIN for the caller to compare.
///
/// Errors map to status words with [`card_status_word`]: header, challenge and length
/// failures → `6984`, PIN block format → `6A80`.
pub fn decipher_pin(
    key: &RsaPrivateKey,
    enciphered: &[u8],
    issued_challenge: &[u8; ICC_UNPREDICTABLE_NUMBER_LEN],
) -> Result<OfflinePin, CryptoError> {
    let n = key.modulus_len();
    if enciphered.len() != n {
        return Err(CryptoError::EncipheredPinLength {
            expected: n,
            got: enciphered.len(),
        });
    }
    // A value ≥ n cannot come from a correct encipherment: a recovery failure (6984).
    let data = key
        .decipher(enciphered)
        .map_err(|_| CryptoError::EncipheredPinHeader)?;
    if data[0] != ENCIPHERED_PIN_HEADER {
        return Err(CryptoError::EncipheredPinHeader);
    }
    let challenge = &data[1 + PIN_BLOCK_LEN..FIXED_LEN];
    if !bool::from(challenge.ct_eq(issued_challenge)) {
        return Err(CryptoError::EncipheredPinChallenge);
    }
    parse_format2_pin_block(&data[1..1 + PIN_BLOCK_LEN])
}

/// The status word a card answers when [`decipher_pin`] fails (Book 2 §7.2; the terminal
/// side of these words is Book 3 §10.5.1): `6984` when the enciphered data cannot be
/// recovered (length, header, challenge), `6A80` for an invalid PIN block; `None` for other
/// errors.
pub fn card_status_word(error: &CryptoError) -> Option<u16> {
    match error {
        CryptoError::EncipheredPinLength { .. }
        | CryptoError::EncipheredPinHeader
        | CryptoError::EncipheredPinChallenge => Some(0x6984),
        CryptoError::OfflinePinBlockFormat(_) => Some(0x6A80),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
