//! Small number and date conversions (EMV 4.4 Book 1 §4.3 data formats).

/// Minor units as a decimal amount with `exponent` decimals (`2500`, 2 → `25.00`), as the
/// currency exponent (5F36) places the point (Book 3 Annex A).
pub fn decimal(minor: u64, exponent: u8) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10u64.saturating_pow(u32::from(exponent));
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = usize::from(exponent)
    )
}

/// `value` as an `n` (BCD, right-justified) field of `len` bytes; `None` if it does not fit.
pub fn to_bcd(value: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut v = value;
    for b in out.iter_mut().rev() {
        let lo = (v % 10) as u8;
        v /= 10;
        let hi = (v % 10) as u8;
        v /= 10;
        *b = (hi << 4) | lo;
    }
    (v == 0).then_some(out)
}

/// The value of an `n` (BCD) field; `None` if a nibble is not a decimal digit or the value
/// overflows.
pub fn from_bcd(bytes: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            if nibble > 9 {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(nibble))?;
        }
    }
    Some(v)
}

/// The digits of a `cn` field (PAN): nibbles up to the first `F`.
pub fn cn_digits(bytes: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(bytes.len() * 2);
    let mut ended = false;
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            match (nibble, ended) {
                (0..=9, false) => s.push(char::from(b'0' + nibble)),
                (0x0F, _) => ended = true,
                _ => return None,
            }
        }
    }
    Some(s)
}

/// A `YYMMDD` date (9A, 5F24, 5F25) as a comparable `(year, month, day)`, with the year
/// window of Book 4 §6.7.3 (YY 00-49 → 20YY, 50-99 → 19YY). `None` if not a valid BCD
/// date.
pub fn yymmdd(bytes: &[u8]) -> Option<(u16, u8, u8)> {
    let [yy, mm, dd] = bytes else {
        return None;
    };
    let yy = from_bcd(&[*yy])? as u16;
    let mm = from_bcd(&[*mm])? as u8;
    let dd = from_bcd(&[*dd])? as u8;
    if !(1..=12).contains(&mm) || !(1..=31).contains(&dd) {
        return None;
    }
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    Some((year, mm, dd))
}

/// Upper-case hex without spaces.
pub fn hex(bytes: &[u8]) -> String {
    emv_tlv::hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_round_trip() {
        assert_eq!(to_bcd(1234, 6).unwrap(), [0, 0, 0, 0, 0x12, 0x34]);
        assert_eq!(from_bcd(&[0, 0, 0, 0, 0x12, 0x34]), Some(1234));
        assert_eq!(to_bcd(999_999_999_999, 6).unwrap(), [0x99; 6]);
        assert!(to_bcd(1_000_000_000_000, 6).is_none());
        assert_eq!(from_bcd(&[0x1A]), None);
    }

    #[test]
    fn pan_digits_and_dates() {
        assert_eq!(cn_digits(&[0x47, 0x61, 0x73, 0x9F]).unwrap(), "4761739");
        assert!(cn_digits(&[0x4A]).is_none());
        assert_eq!(yymmdd(&[0x26, 0x01, 0x15]), Some((2026, 1, 15)));
        assert_eq!(yymmdd(&[0x99, 0x12, 0x31]), Some((1999, 12, 31)));
        assert_eq!(yymmdd(&[0x26, 0x13, 0x15]), None);
    }
}
