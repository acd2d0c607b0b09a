//! Small helpers shared by the symmetric modules: hex, digit strings, XOR, PAN/PSN checks.
//!
//! Crate-internal except for [`to_hex`] and [`from_hex`], which the CLI and tests use to
//! print and parse values the way the reference vectors are written (upper-case, no spaces).

use crate::CryptoError;

/// Upper-case hex without separators, the notation of the EMV books and of the vectors.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    s
}

/// Decodes hex (either case; spaces ignored). `what` names the input in the error.
pub fn from_hex(what: &'static str, s: &str) -> Result<Vec<u8>, CryptoError> {
    let nibbles: Vec<u8> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            c.to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| CryptoError::InvalidHex {
                    what,
                    reason: format!("{c:?} is not a hex digit"),
                })
        })
        .collect::<Result<_, _>>()?;
    if !nibbles.len().is_multiple_of(2) {
        return Err(CryptoError::InvalidHex {
            what,
            reason: format!("odd number of hex digits ({})", nibbles.len()),
        });
    }
    Ok(nibbles
        .chunks_exact(2)
        .map(|p| (p[0] << 4) | p[1])
        .collect())
}

/// Copies a slice into a fixed-size array, with a length error naming the input.
pub(crate) fn array<const N: usize>(what: &'static str, b: &[u8]) -> Result<[u8; N], CryptoError> {
    <[u8; N]>::try_from(b).map_err(|_| CryptoError::InvalidInput {
        what,
        reason: format!("must be {N} bytes, got {}", b.len()),
    })
}

/// `a ^= b` over the common length.
pub(crate) fn xor_in_place(a: &mut [u8], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// Digit values (0..=9) of a decimal string, or `None` if any character is not 0-9.
pub(crate) fn decimal_digits(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                Some(b - b'0')
            } else {
                None
            }
        })
        .collect()
}

/// Validates a PAN: 8–19 decimal digits (ISO/IEC 7812-1:2017 §4.1 allows up to 19; 8 is
/// the shortest a 6/8-digit IIN plus check digit can form). Returns the digit values.
pub(crate) fn pan_digits(pan: &str) -> Result<Vec<u8>, CryptoError> {
    let digits = decimal_digits(pan).ok_or_else(|| {
        CryptoError::InvalidPan(format!("{pan:?} contains a character that is not 0-9"))
    })?;
    if !(8..=19).contains(&digits.len()) {
        return Err(CryptoError::InvalidPan(format!(
            "must be 8–19 digits, got {}",
            digits.len()
        )));
    }
    Ok(digits)
}

/// Validates a PAN Sequence Number: exactly 2 decimal digits (EMV 4.4 Book 3 Annex A, 5F34
/// is n 2); `None` means "00" (EMV 4.4 Book 2 A1.4.1: absent PSN is taken as 00).
pub(crate) fn psn_digits(psn: Option<&str>) -> Result<[u8; 2], CryptoError> {
    let psn = psn.unwrap_or("00");
    match decimal_digits(psn).as_deref() {
        Some(&[a, b]) => Ok([a, b]),
        _ => Err(CryptoError::InvalidPsn(psn.to_string())),
    }
}

/// Packs decimal/hex nibble values (each 0..=15) into bytes, high nibble first; the
/// number of nibbles must be even.
pub(crate) fn pack_nibbles(nibbles: &[u8]) -> Vec<u8> {
    nibbles
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect()
}

/// Splits bytes into nibbles, high nibble first.
pub(crate) fn nibbles(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(from_hex("x", "0a Ff").unwrap(), vec![0x0A, 0xFF]);
        assert_eq!(to_hex(&[0x0A, 0xFF]), "0AFF");
        assert!(matches!(
            from_hex("x", "ABC"),
            Err(CryptoError::InvalidHex { .. })
        ));
        assert!(matches!(
            from_hex("x", "GG"),
            Err(CryptoError::InvalidHex { .. })
        ));
    }

    #[test]
    fn pan_and_psn_validation() {
        assert!(pan_digits("4761739001010119").is_ok());
        assert!(pan_digits("1234567").is_err());
        assert!(pan_digits("12345678901234567890").is_err());
        assert!(pan_digits("47617390010101x9").is_err());
        assert_eq!(psn_digits(None).unwrap(), [0, 0]);
        assert_eq!(psn_digits(Some("45")).unwrap(), [4, 5]);
        assert!(psn_digits(Some("1")).is_err());
        assert!(psn_digits(Some("0A")).is_err());
    }
}
