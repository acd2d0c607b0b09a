//! ISO 9564-1:2017 PIN blocks, formats 0–3 (8 bytes, TDES) and 4 (16 bytes, AES), and the
//! [`Pin`] type that carries a PIN through the crate.
//!
//! Layouts (nibbles; C = control, N = PIN length 4..=12, P = PIN digit):
//!
//! | format | PIN field | combined with |
//! |---|---|---|
//! | 0 (§9.3.2) | `0 N P…P F…F` | ⊕ PAN field `0000 ‖ 12 rightmost PAN digits excl. check digit` |
//! | 1 (§9.3.3) | `1 N P…P R…R` (R any hex, transaction-unique) | — |
//! | 2 (§9.3.4) | `2 N P…P F…F` (ICC use: VERIFY, script PIN data) | — |
//! | 3 (§9.3.5) | `3 N P…P R…R` (R random in A–F) | ⊕ PAN field as format 0 |
//! | 4 (§9.4.2) | `4 N P…P A…A` (16 nibbles) ‖ 8 random bytes | `E(E(PIN field) ⊕ PAN field)` |
//!
//! Format 4 PAN field (§9.4.2.2.3): `M ‖ PAN ‖ 0…0` with M = PAN length − 12, PAN left
//! justified; a PAN shorter than 12 digits is right-justified in 12 digits with M = 0.
//! Unlike formats 0/3 it keeps the check digit.
//!
//! Decoding checks every rule; a block that breaks one is an error, never a PIN.

use core::fmt;
use core::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::{self, RawBlockCipher};
use crate::keys::{AesKey, TdesKey};
use crate::util;

/// Shortest PIN (ISO 9564-1:2017 §8.1).
pub const PIN_MIN: usize = 4;
/// Longest PIN (ISO 9564-1:2017 §8.1).
pub const PIN_MAX: usize = 12;

/// A PIN of 4–12 decimal digits, held in a zeroizing buffer. `Debug` prints `Pin(****)`;
/// equality is constant time.
#[derive(Clone)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    /// A PIN from a string of 4–12 digits.
    pub fn new(digits: &str) -> Result<Self, CryptoError> {
        let d = Zeroizing::new(util::decimal_digits(digits).ok_or(CryptoError::PinNotNumeric)?);
        Self::from_digit_values(&d)
    }

    /// A PIN from digit values (each 0..=9), 4–12 of them.
    pub fn from_digit_values(values: &[u8]) -> Result<Self, CryptoError> {
        if !(PIN_MIN..=PIN_MAX).contains(&values.len()) {
            return Err(CryptoError::PinLength {
                min: PIN_MIN,
                max: PIN_MAX,
                got: values.len(),
            });
        }
        if values.iter().any(|&v| v > 9) {
            return Err(CryptoError::PinNotNumeric);
        }
        Ok(Self(Zeroizing::new(values.to_vec())))
    }

    /// Number of digits (4–12).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false (a PIN has at least 4 digits); present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The digit values (0..=9).
    pub fn digits(&self) -> &[u8] {
        &self.0
    }

    /// The PIN as a digit string: deliberately reveals the secret.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|d| char::from(b'0' + d)).collect())
    }
}

impl FromStr for Pin {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}
impl Eq for Pin {}

/// ISO 9564-1 PIN block format, named `ISO 9564-1 format N` and parsed from `N`, `isoN` or
/// `iso-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(prefix = "ISO 9564-1 format ", ascii_case_insensitive)]
#[strum(parse_err_ty = CryptoError, parse_err_fn = format_error)]
pub enum PinBlockFormat {
    /// Format 0 (ANSI X9.8): PIN ⊕ PAN, fill F.
    #[strum(to_string = "0", serialize = "iso0", serialize = "iso-0")]
    Iso0,
    /// Format 1: PIN with transaction-unique fill, no PAN.
    #[strum(to_string = "1", serialize = "iso1", serialize = "iso-1")]
    Iso1,
    /// Format 2: PIN with fill F, no PAN (ICC only).
    #[strum(to_string = "2", serialize = "iso2", serialize = "iso-2")]
    Iso2,
    /// Format 3: PIN ⊕ PAN, random fill A–F.
    #[strum(to_string = "3", serialize = "iso3", serialize = "iso-3")]
    Iso3,
    /// Format 4: AES, 16 bytes.
    #[strum(to_string = "4", serialize = "iso4", serialize = "iso-4")]
    Iso4,
}

fn format_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "PIN block format",
        reason: format!("expected 0, 1, 2, 3 or 4, got {got:?}"),
    }
}

impl PinBlockFormat {
    /// The control nibble / format number (0–4).
    pub fn number(self) -> u8 {
        match self {
            Self::Iso0 => 0,
            Self::Iso1 => 1,
            Self::Iso2 => 2,
            Self::Iso3 => 3,
            Self::Iso4 => 4,
        }
    }

    /// Whether the format combines the PIN with the PAN (0, 3, 4).
    pub fn needs_pan(self) -> bool {
        matches!(self, Self::Iso0 | Self::Iso3 | Self::Iso4)
    }

    /// Block length in bytes (8, or 16 for format 4).
    pub fn block_len(self) -> usize {
        if self == Self::Iso4 { 16 } else { 8 }
    }
}

impl fmt::Display for PinBlockFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.into())
    }
}

/// Where the fill nibbles of formats 1 and 3 and the random half of format 4 come from.
#[derive(Clone, Default)]
pub enum Fill {
    /// From the operating system RNG (`getrandom`): the normal case.
    #[default]
    Random,
    /// Caller-supplied nibbles (each 0..=15), consumed in order, for reproducible tests:
    /// format 1 uses `14 − N`, format 3 `14 − N` (each A–F), format 4 sixteen.
    Nibbles(Vec<u8>),
}

impl Fill {
    /// Fill nibbles from hex digits, e.g. `"ABCDEFABCD"` (any count).
    pub fn hex_digits(s: &str) -> Result<Self, CryptoError> {
        let v = s
            .chars()
            .map(|c| {
                c.to_digit(16)
                    .and_then(|d| u8::try_from(d).ok())
                    .ok_or_else(|| CryptoError::InvalidHex {
                        what: "PIN block fill",
                        reason: format!("{c:?} is not a hex digit"),
                    })
            })
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(Self::Nibbles(v))
    }

    /// `count` fill nibbles; `random_letters` restricts random ones to A–F (format 3).
    fn take(&self, count: usize, random_letters: bool) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match self {
            Self::Nibbles(v) => {
                if v.len() < count {
                    return Err(CryptoError::InvalidInput {
                        what: "PIN block fill",
                        reason: format!("{count} fill nibbles needed, {} given", v.len()),
                    });
                }
                Ok(Zeroizing::new(v[..count].to_vec()))
            }
            Self::Random => {
                let mut raw = Zeroizing::new(vec![0u8; count]);
                getrandom::fill(&mut raw).map_err(|e| CryptoError::InvalidInput {
                    what: "random fill",
                    reason: format!("operating system RNG failed: {e}"),
                })?;
                Ok(Zeroizing::new(
                    raw.iter()
                        .map(|&b| {
                            if random_letters {
                                // uniform over A..F: scale a byte to 0..6 (b*6/256)
                                0x0A + ((u16::from(b) * 6) >> 8) as u8
                            } else {
                                b & 0x0F
                            }
                        })
                        .collect(),
                ))
            }
        }
    }
}

impl fmt::Debug for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Random => f.write_str("Fill::Random"),
            Self::Nibbles(v) => write!(f, "Fill::Nibbles({} nibbles)", v.len()),
        }
    }
}

fn bad(format: PinBlockFormat, reason: impl Into<String>) -> CryptoError {
    CryptoError::InvalidPinBlock {
        format: format.into(),
        reason: reason.into(),
    }
}

/// Format 0/3 PAN field (ISO 9564-1:2017 §9.3.2.3): `0000 ‖` the 12 rightmost PAN digits
/// excluding the check digit (left-padded with zeros if fewer).
pub fn pan_field_iso0(pan: &str) -> Result<[u8; 8], CryptoError> {
    let d = util::pan_digits(pan)?;
    let body = &d[..d.len() - 1];
    let mut nib = [0u8; 16];
    let take = body.len().min(12);
    nib[16 - take..].copy_from_slice(&body[body.len() - take..]);
    util::array("PAN field", &util::pack_nibbles(&nib))
}

/// Format 4 PAN field (ISO 9564-1:2017 §9.4.2.2.3): `M ‖ PAN ‖ 0…0` (16 bytes).
pub fn pan_field_iso4(pan: &str) -> Result<[u8; 16], CryptoError> {
    let d = util::pan_digits(pan)?;
    let mut nib = [0u8; 32];
    if d.len() < 12 {
        nib[13 - d.len()..13].copy_from_slice(&d);
    } else {
        nib[0] = u8::try_from(d.len() - 12).unwrap_or(0);
        nib[1..1 + d.len()].copy_from_slice(&d);
    }
    util::array("PAN field", &util::pack_nibbles(&nib))
}

/// The clear PIN field of formats 0–3 (before the PAN XOR for 0 and 3).
fn pin_field_8(
    format: PinBlockFormat,
    pin: &Pin,
    fill: &Fill,
) -> Result<Zeroizing<[u8; 8]>, CryptoError> {
    let n = pin.len();
    let mut nib = Zeroizing::new([0x0Fu8; 16]);
    nib[0] = format.number();
    nib[1] = u8::try_from(n).unwrap_or(0);
    nib[2..2 + n].copy_from_slice(pin.digits());
    match format {
        PinBlockFormat::Iso1 => nib[2 + n..].copy_from_slice(&fill.take(14 - n, false)?),
        PinBlockFormat::Iso3 => {
            let f = fill.take(14 - n, true)?;
            if f.iter().any(|&x| !(0x0A..=0x0F).contains(&x)) {
                return Err(CryptoError::InvalidInput {
                    what: "PIN block fill",
                    reason: "format 3 fill digits must be A–F (ISO 9564-1 §9.3.5.2)".into(),
                });
            }
            nib[2 + n..].copy_from_slice(&f);
        }
        _ => {}
    }
    let mut out = Zeroizing::new([0u8; 8]);
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib[2 * i] << 4) | nib[2 * i + 1];
    }
    Ok(out)
}

/// Format 4 PIN field (ISO 9564-1:2017 §9.4.2.2.2): `4 N P…P A…A` ‖ 8 random bytes.
pub fn pin_field_iso4(pin: &Pin, fill: &Fill) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let n = pin.len();
    let mut nib = Zeroizing::new([0x0Au8; 32]);
    nib[0] = 4;
    nib[1] = u8::try_from(n).unwrap_or(0);
    nib[2..2 + n].copy_from_slice(pin.digits());
    nib[16..].copy_from_slice(&fill.take(16, false)?);
    let mut out = Zeroizing::new([0u8; 16]);
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib[2 * i] << 4) | nib[2 * i + 1];
    }
    Ok(out)
}

/// The clear 8-byte PIN block of format 0, 1, 2 or 3 (format 4 has no clear block: see
/// [`pin_field_iso4`]). `pan` is required for formats 0 and 3.
pub fn encode_pin_block(
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&str>,
    fill: &Fill,
) -> Result<Zeroizing<[u8; 8]>, CryptoError> {
    if format == PinBlockFormat::Iso4 {
        return Err(CryptoError::InvalidInput {
            what: "PIN block format",
            reason: "format 4 is 16 bytes and always enciphered: use encrypt_pin_block_iso4".into(),
        });
    }
    let mut field = pin_field_8(format, pin, fill)?;
    if format.needs_pan() {
        let pan = pan.ok_or_else(|| CryptoError::InvalidPan(format!("{format} needs the PAN")))?;
        util::xor_in_place(&mut field[..], &pan_field_iso0(pan)?);
    }
    Ok(field)
}

/// Parses and validates a clear PIN field of formats 0–3 (after removing the PAN).
fn parse_pin_field_8(format: PinBlockFormat, field: &[u8; 8]) -> Result<Pin, CryptoError> {
    let nib = Zeroizing::new(util::nibbles(field));
    // ISO 9564-1:2017 §9.3.1: control field
    if nib[0] != format.number() {
        return Err(bad(
            format,
            format!(
                "control field is {:X}, expected {}",
                nib[0],
                format.number()
            ),
        ));
    }
    // §8.1 / §9.3.2.2: PIN length 4..=12
    let n = usize::from(nib[1]);
    if !(PIN_MIN..=PIN_MAX).contains(&n) {
        return Err(bad(
            format,
            format!("PIN length field is {n}, must be 4–12"),
        ));
    }
    if let Some(pos) = nib[2..2 + n].iter().position(|&d| d > 9) {
        return Err(bad(format, format!("PIN digit {} is not 0-9", pos + 1)));
    }
    let fill = &nib[2 + n..];
    let fill_ok = |pred: &dyn Fn(u8) -> bool, rule: &str| -> Result<(), CryptoError> {
        match fill.iter().position(|&f| !pred(f)) {
            Some(pos) => Err(bad(
                format,
                format!(
                    "fill nibble {} (block nibble {}) is not {rule}",
                    pos + 1,
                    pos + 3 + n
                ),
            )),
            None => Ok(()),
        }
    };
    match format {
        PinBlockFormat::Iso0 | PinBlockFormat::Iso2 => fill_ok(&|f| f == 0x0F, "F")?,
        PinBlockFormat::Iso3 => fill_ok(&|f| f >= 0x0A, "A–F")?,
        _ => {}
    }
    Pin::from_digit_values(&nib[2..2 + n])
}

/// Decodes a clear 8-byte PIN block of format 0–3; `pan` is required for 0 and 3.
pub fn decode_pin_block(
    format: PinBlockFormat,
    block: &[u8],
    pan: Option<&str>,
) -> Result<Pin, CryptoError> {
    if format == PinBlockFormat::Iso4 {
        return decode_pin_field_iso4(block);
    }
    let mut field: Zeroizing<[u8; 8]> = Zeroizing::new(
        block
            .try_into()
            .map_err(|_| bad(format, format!("must be 8 bytes, got {}", block.len())))?,
    );
    if format.needs_pan() {
        let pan = pan.ok_or_else(|| CryptoError::InvalidPan(format!("{format} needs the PAN")))?;
        util::xor_in_place(&mut field[..], &pan_field_iso0(pan)?);
    }
    parse_pin_field_8(format, &field)
}

/// Decodes a clear format 4 PIN field (16 bytes; ISO 9564-1:2017 §9.4.2.2.2).
pub fn decode_pin_field_iso4(field: &[u8]) -> Result<Pin, CryptoError> {
    let f = PinBlockFormat::Iso4;
    if field.len() != 16 {
        return Err(bad(
            f,
            format!("PIN field must be 16 bytes, got {}", field.len()),
        ));
    }
    let nib = Zeroizing::new(util::nibbles(&field[..8]));
    if nib[0] != 4 {
        return Err(bad(f, format!("control field is {:X}, expected 4", nib[0])));
    }
    let n = usize::from(nib[1]);
    if !(PIN_MIN..=PIN_MAX).contains(&n) {
        return Err(bad(f, format!("PIN length field is {n}, must be 4–12")));
    }
    if let Some(pos) = nib[2..2 + n].iter().position(|&d| d > 9) {
        return Err(bad(f, format!("PIN digit {} is not 0-9", pos + 1)));
    }
    if let Some(pos) = nib[2 + n..].iter().position(|&x| x != 0x0A) {
        return Err(bad(f, format!("fill nibble {} is not A", pos + 1)));
    }
    Pin::from_digit_values(&nib[2..2 + n])
}

/// Encodes and enciphers a format 0–3 PIN block under a TDES PIN encryption key (ECB).
pub fn encrypt_pin_block(
    key: &TdesKey,
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&str>,
    fill: &Fill,
) -> Result<[u8; 8], CryptoError> {
    let clear = encode_pin_block(format, pin, pan, fill)?;
    Ok(block::tdes_encrypt_block(key, &clear))
}

/// Deciphers (TDES-ECB) and decodes a format 0–3 PIN block.
pub fn decrypt_pin_block(
    key: &TdesKey,
    format: PinBlockFormat,
    block: &[u8],
    pan: Option<&str>,
) -> Result<Pin, CryptoError> {
    if format == PinBlockFormat::Iso4 {
        return Err(CryptoError::InvalidInput {
            what: "PIN block format",
            reason: "format 4 uses an AES key: use decrypt_pin_block_iso4".into(),
        });
    }
    let b: [u8; 8] = block
        .try_into()
        .map_err(|_| bad(format, format!("must be 8 bytes, got {}", block.len())))?;
    let clear = Zeroizing::new(block::tdes_decrypt_block(key, &b));
    decode_pin_block(format, &clear[..], pan)
}

/// Enciphers a format 4 PIN block: `C = AES(K)[AES(K)[PIN field] ⊕ PAN field]`
/// (ISO 9564-1:2017 §9.4.2.3).
pub fn encrypt_pin_block_iso4(
    key: &AesKey,
    pin: &Pin,
    pan: &str,
    fill: &Fill,
) -> Result<[u8; 16], CryptoError> {
    let pan_field = pan_field_iso4(pan)?;
    let mut b = pin_field_iso4(pin, fill)?;
    let c = key.cipher();
    c.encrypt(&mut b);
    util::xor_in_place(&mut b[..], &pan_field);
    c.encrypt(&mut b);
    Ok(*b)
}

/// Deciphers and decodes a format 4 PIN block:
/// `PIN field = AES⁻¹(K)[AES⁻¹(K)[C] ⊕ PAN field]` (ISO 9564-1:2017 §9.4.2.4).
pub fn decrypt_pin_block_iso4(key: &AesKey, block: &[u8], pan: &str) -> Result<Pin, CryptoError> {
    let f = PinBlockFormat::Iso4;
    let b: [u8; 16] = block
        .try_into()
        .map_err(|_| bad(f, format!("must be 16 bytes, got {}", block.len())))?;
    let pan_field = pan_field_iso4(pan)?;
    let mut b = Zeroizing::new(b);
    let c = key.cipher();
    c.decrypt(&mut b);
    util::xor_in_place(&mut b[..], &pan_field);
    c.decrypt(&mut b);
    decode_pin_field_iso4(&b[..])
}

/// The key that enciphers a PIN block: TDES for formats 0–3, AES for format 4.
#[derive(Debug, Clone, Copy)]
pub enum PinBlockKey<'a> {
    /// TDES PIN encryption key (formats 0–3).
    Tdes(&'a TdesKey),
    /// AES PIN encryption key (format 4).
    Aes(&'a AesKey),
}

/// The CLI's `pin-block`: encode and encipher a PIN block of any format; returns 8 or 16
/// bytes. `pan` is needed for formats 0, 3, 4.
pub fn pin_block(
    key: PinBlockKey<'_>,
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&str>,
    fill: &Fill,
) -> Result<Vec<u8>, CryptoError> {
    match (key, format) {
        (PinBlockKey::Aes(k), PinBlockFormat::Iso4) => {
            let pan =
                pan.ok_or_else(|| CryptoError::InvalidPan("format 4 needs the PAN".into()))?;
            Ok(encrypt_pin_block_iso4(k, pin, pan, fill)?.to_vec())
        }
        (PinBlockKey::Tdes(k), f) if f != PinBlockFormat::Iso4 => {
            Ok(encrypt_pin_block(k, f, pin, pan, fill)?.to_vec())
        }
        _ => Err(CryptoError::InvalidInput {
            what: "PIN block key",
            reason: "formats 0–3 take a TDES key, format 4 an AES key".into(),
        }),
    }
}

/// The CLI's `pin-block-decode`: decipher and decode a PIN block of any format.
pub fn pin_block_decode(
    key: PinBlockKey<'_>,
    format: PinBlockFormat,
    block: &[u8],
    pan: Option<&str>,
) -> Result<Pin, CryptoError> {
    match (key, format) {
        (PinBlockKey::Aes(k), PinBlockFormat::Iso4) => {
            let pan =
                pan.ok_or_else(|| CryptoError::InvalidPan("format 4 needs the PAN".into()))?;
            decrypt_pin_block_iso4(k, block, pan)
        }
        (PinBlockKey::Tdes(k), f) if f != PinBlockFormat::Iso4 => {
            decrypt_pin_block(k, f, block, pan)
        }
        _ => Err(CryptoError::InvalidInput {
            what: "PIN block key",
            reason: "formats 0–3 take a TDES key, format 4 an AES key".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }
    fn pek() -> TdesKey {
        TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
    }
    const PAN: &str = "4761739001010119";

    #[test]
    fn pin_type() {
        let p = pin("1234");
        assert_eq!(format!("{p:?}"), "Pin(****)");
        assert_eq!(p.len(), 4);
        assert_eq!(&*p.expose(), "1234");
        assert_eq!(
            Pin::new("123").unwrap_err().to_string(),
            "PIN must be 4–12 digits, got 3"
        );
        assert!(Pin::new("1234567890123").is_err());
        assert_eq!(Pin::new("12a4").unwrap_err(), CryptoError::PinNotNumeric);
        assert_eq!(pin("1234"), pin("1234"));
        assert_ne!(pin("1234"), pin("12345"));
        assert_ne!(pin("1234"), pin("1235"));
    }

    /// psec P01 (format 0) and P08.
    #[test]
    fn psec_p01_format0() {
        assert_eq!(pan_field_iso0(PAN).unwrap(), hex!("0000173900101011"));
        let clear =
            encode_pin_block(PinBlockFormat::Iso0, &pin("1234"), Some(PAN), &Fill::Random).unwrap();
        assert_eq!(*clear, hex!("041223C6FFEFEFEE"));
        let enc = encrypt_pin_block(
            &pek(),
            PinBlockFormat::Iso0,
            &pin("1234"),
            Some(PAN),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(enc, hex!("AC0708A3C923D34D"));
        assert_eq!(
            decrypt_pin_block(&pek(), PinBlockFormat::Iso0, &enc, Some(PAN)).unwrap(),
            pin("1234")
        );
        let p12 = encode_pin_block(
            PinBlockFormat::Iso0,
            &pin("123456789012"),
            Some(PAN),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(*p12, hex!("0C12236F788002EE"));
    }

    /// docs/test-vectors.md §5: X9.24 and psec doctest vectors for format 0.
    #[test]
    fn format0_reference_vectors() {
        let b = encode_pin_block(
            PinBlockFormat::Iso0,
            &pin("1234"),
            Some("5544332211009966"),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(*b, hex!("041277CDDEEFF669"));
        let b2 = encode_pin_block(
            PinBlockFormat::Iso0,
            &pin("1234"),
            Some("4012345678909"),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(*b2, hex!("041274EDCBA9876F"));
        assert_eq!(
            decode_pin_block(
                PinBlockFormat::Iso0,
                &hex!("041277CDDEEFF669"),
                Some("5544332211009966")
            )
            .unwrap(),
            pin("1234")
        );
    }

    /// psec P02 (format 1, fill A5B6C7D8E9).
    #[test]
    fn psec_p02_format1() {
        let fill = Fill::hex_digits("A5B6C7D8E9").unwrap();
        let clear = encode_pin_block(PinBlockFormat::Iso1, &pin("1234"), None, &fill).unwrap();
        assert_eq!(*clear, hex!("141234A5B6C7D8E9"));
        let enc =
            encrypt_pin_block(&pek(), PinBlockFormat::Iso1, &pin("1234"), None, &fill).unwrap();
        assert_eq!(enc, hex!("E2436FB78DA2C9DC"));
        assert_eq!(
            decrypt_pin_block(&pek(), PinBlockFormat::Iso1, &enc, None).unwrap(),
            pin("1234")
        );
        // docs/test-vectors.md §5: a processor's published format 1 sample
        assert_eq!(
            decode_pin_block(PinBlockFormat::Iso1, &hex!("141234AAAAAAAAAA"), None).unwrap(),
            pin("1234")
        );
    }

    /// psec P03 (format 2) and EMV 4.4 Book 3 §6.5.12 Table 25 examples.
    #[test]
    fn psec_p03_format2() {
        let b = encode_pin_block(PinBlockFormat::Iso2, &pin("1234"), None, &Fill::Random).unwrap();
        assert_eq!(*b, hex!("241234FFFFFFFFFF"));
        assert_eq!(
            decode_pin_block(PinBlockFormat::Iso2, &b[..], None).unwrap(),
            pin("1234")
        );
        let b12 = encode_pin_block(
            PinBlockFormat::Iso2,
            &pin("123456789012"),
            None,
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(*b12, hex!("2C123456789012FF"));
        assert_eq!(
            decode_pin_block(PinBlockFormat::Iso2, &hex!("2C123456789012FF"), None).unwrap(),
            pin("123456789012")
        );
        let b9 = encode_pin_block(PinBlockFormat::Iso2, &pin("9999"), None, &Fill::Random).unwrap();
        assert_eq!(*b9, hex!("249999FFFFFFFFFF"));
        assert_eq!(
            *encode_pin_block(
                PinBlockFormat::Iso2,
                &pin("999999999999"),
                None,
                &Fill::Random
            )
            .unwrap(),
            hex!("2C999999999999FF")
        );
    }

    /// psec P04 (format 3, fill ABCDEFABCD) and psec doctest.
    #[test]
    fn psec_p04_format3() {
        let fill = Fill::hex_digits("ABCDEFABCD").unwrap();
        let clear = encode_pin_block(PinBlockFormat::Iso3, &pin("1234"), Some(PAN), &fill).unwrap();
        assert_eq!(*clear, hex!("34122392CDFFBBDC"));
        let enc = encrypt_pin_block(&pek(), PinBlockFormat::Iso3, &pin("1234"), Some(PAN), &fill)
            .unwrap();
        assert_eq!(enc, hex!("3BE2811DDE0CDBDE"));
        assert_eq!(
            decrypt_pin_block(&pek(), PinBlockFormat::Iso3, &enc, Some(PAN)).unwrap(),
            pin("1234")
        );
        assert_eq!(
            decode_pin_block(
                PinBlockFormat::Iso3,
                &hex!("341277EEEFCCB43C"),
                Some("5544332211009966")
            )
            .unwrap(),
            pin("1234")
        );
        // a fill digit outside A–F is refused on encode
        assert!(
            encode_pin_block(
                PinBlockFormat::Iso3,
                &pin("1234"),
                Some(PAN),
                &Fill::hex_digits("0BCDEFABCD").unwrap()
            )
            .is_err()
        );
    }

    /// psec P05 (format 4, random part fixed to 0123456789ABCDEF) and docs/test-vectors.md §5.
    #[test]
    fn psec_p05_format4() {
        let fill = Fill::hex_digits("0123456789ABCDEF").unwrap();
        assert_eq!(
            *pin_field_iso4(&pin("1234"), &fill).unwrap(),
            hex!("441234AAAAAAAAAA0123456789ABCDEF")
        );
        assert_eq!(
            pan_field_iso4(PAN).unwrap(),
            hex!("44761739001010119000000000000000")
        );
        assert_eq!(
            pan_field_iso4("4761739001010119123").unwrap(),
            hex!("74761739001010119123000000000000")
        );
        assert_eq!(
            pan_field_iso4("1234567890").unwrap(),
            hex!("00012345678900000000000000000000")
        );
        let k128 = AesKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        let inter = block::aes_encrypt_block(&k128, &pin_field_iso4(&pin("1234"), &fill).unwrap());
        assert_eq!(inter, hex!("CE4CF13804091B324930E585AAAAC994"));
        let enc = encrypt_pin_block_iso4(&k128, &pin("1234"), PAN, &fill).unwrap();
        assert_eq!(enc, hex!("EE834D17A2045301604C8D459A368A5B"));
        assert_eq!(
            decrypt_pin_block_iso4(&k128, &enc, PAN).unwrap(),
            pin("1234")
        );
        let k256 =
            AesKey::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
                .unwrap();
        let enc256 = encrypt_pin_block_iso4(&k256, &pin("1234"), PAN, &fill).unwrap();
        assert_eq!(enc256, hex!("8F901A8EA544E3AD56505B066E8D3613"));
        assert_eq!(
            decrypt_pin_block_iso4(&k256, &enc256, PAN).unwrap(),
            pin("1234")
        );
        // psec doctest / docs/test-vectors.md §5
        assert_eq!(
            decrypt_pin_block_iso4(
                &k128,
                &hex!("E4BE5B623AF7E006AC319E5B93544564"),
                "1234567890123456"
            )
            .unwrap(),
            pin("1234")
        );
        assert_eq!(
            decode_pin_field_iso4(&hex!("441234AAAAAAAAAA548ED7FD65495950")).unwrap(),
            pin("1234")
        );
    }

    #[test]
    fn bad_blocks_are_errors() {
        use PinBlockFormat::*;
        let cases: &[(PinBlockFormat, [u8; 8])] = &[
            (Iso2, hex!("141234FFFFFFFFFF")), // wrong control
            (Iso2, hex!("231234FFFFFFFFFF")), // length 3
            (Iso2, hex!("2D1234FFFFFFFFFF")), // length 13
            (Iso2, hex!("24123AFFFFFFFFFF")), // non-digit
            (Iso2, hex!("241234FFFFFFFFFE")), // bad fill
            (Iso0, hex!("041234FFFFFFFFFF")), // PAN missing from block → bad fill
            (Iso3, hex!("3412340000000000")), // format-3 fill must be A-F (after PAN XOR)
        ];
        for (f, b) in cases {
            let r = decode_pin_block(*f, b, Some("4111111111111111"));
            assert!(
                matches!(r, Err(CryptoError::InvalidPinBlock { .. })),
                "{f:?} {b:02X?} -> {r:?}"
            );
        }
        assert!(decode_pin_block(Iso2, &hex!("241234FFFFFFFF"), None).is_err());
        assert!(decode_pin_block(Iso0, &hex!("041277CDDEEFF669"), None).is_err());
        assert!(decode_pin_field_iso4(&hex!("441234AAAAAAAAAB0123456789ABCDEF")).is_err());
        assert!(decode_pin_field_iso4(&hex!("341234AAAAAAAAAA0123456789ABCDEF")).is_err());
        let e = decode_pin_block(Iso2, &hex!("241234FFFFFFFFFE"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid PIN block (ISO 9564-1 format 2): fill nibble 10 (block nibble 16) is not F"
        );
    }

    #[test]
    fn cli_entry_points() {
        let k = pek();
        let b = pin_block(
            PinBlockKey::Tdes(&k),
            PinBlockFormat::Iso0,
            &pin("1234"),
            Some(PAN),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(b, hex!("AC0708A3C923D34D"));
        assert_eq!(
            pin_block_decode(PinBlockKey::Tdes(&k), PinBlockFormat::Iso0, &b, Some(PAN)).unwrap(),
            pin("1234")
        );
        let a = AesKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        assert!(
            pin_block(
                PinBlockKey::Aes(&a),
                PinBlockFormat::Iso0,
                &pin("1234"),
                Some(PAN),
                &Fill::Random
            )
            .is_err()
        );
        assert!(
            pin_block(
                PinBlockKey::Tdes(&k),
                PinBlockFormat::Iso4,
                &pin("1234"),
                Some(PAN),
                &Fill::Random
            )
            .is_err()
        );
        let r = pin_block(
            PinBlockKey::Aes(&a),
            PinBlockFormat::Iso4,
            &pin("1234"),
            Some(PAN),
            &Fill::Random,
        )
        .unwrap();
        assert_eq!(
            pin_block_decode(PinBlockKey::Aes(&a), PinBlockFormat::Iso4, &r, Some(PAN)).unwrap(),
            pin("1234")
        );
        assert_eq!(
            "iso-3".parse::<PinBlockFormat>().unwrap(),
            PinBlockFormat::Iso3
        );
        assert_eq!("4".parse::<PinBlockFormat>().unwrap(), PinBlockFormat::Iso4);
        assert!("5".parse::<PinBlockFormat>().is_err());
        // The name is not a parse alias.
        assert_eq!(PinBlockFormat::Iso3.to_string(), "ISO 9564-1 format 3");
        assert!("ISO 9564-1 format 3".parse::<PinBlockFormat>().is_err());
    }

    #[test]
    fn random_fill_respects_format3_alphabet() {
        for _ in 0..20 {
            let b = encode_pin_block(PinBlockFormat::Iso3, &pin("1234"), Some(PAN), &Fill::Random)
                .unwrap();
            assert_eq!(
                decode_pin_block(PinBlockFormat::Iso3, &b[..], Some(PAN)).unwrap(),
                pin("1234")
            );
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn pin_strategy() -> impl Strategy<Value = String> {
            "[0-9]{4,12}"
        }
        fn pan_strategy() -> impl Strategy<Value = String> {
            "[0-9]{8,19}"
        }
        fn fmt_strategy() -> impl Strategy<Value = PinBlockFormat> {
            prop::sample::select(vec![
                PinBlockFormat::Iso0,
                PinBlockFormat::Iso1,
                PinBlockFormat::Iso2,
                PinBlockFormat::Iso3,
            ])
        }

        proptest! {
            #[test]
            fn encode_decode_round_trip(p in pin_strategy(), pan in pan_strategy(), f in fmt_strategy()) {
                let pin = Pin::new(&p).unwrap();
                let b = encode_pin_block(f, &pin, Some(&pan), &Fill::Random).unwrap();
                prop_assert_eq!(decode_pin_block(f, &b[..], Some(&pan)).unwrap(), pin);
            }

            #[test]
            fn encrypt_decrypt_round_trip(p in pin_strategy(), pan in pan_strategy(), f in fmt_strategy(),
                                          key in any::<[u8; 16]>()) {
                let k = TdesKey::new(&key).unwrap();
                let pin = Pin::new(&p).unwrap();
                let b = encrypt_pin_block(&k, f, &pin, Some(&pan), &Fill::Random).unwrap();
                prop_assert_eq!(decrypt_pin_block(&k, f, &b, Some(&pan)).unwrap(), pin);
            }

            #[test]
            fn iso4_round_trip(p in pin_strategy(), pan in pan_strategy(),
                               len in prop::sample::select(vec![16usize, 24, 32]), key in any::<[u8; 32]>()) {
                let k = AesKey::new(&key[..len]).unwrap();
                let pin = Pin::new(&p).unwrap();
                let b = encrypt_pin_block_iso4(&k, &pin, &pan, &Fill::Random).unwrap();
                prop_assert_eq!(decrypt_pin_block_iso4(&k, &b, &pan).unwrap(), pin);
            }

            /// A flipped bit in the clear block of formats 0/2 either fails validation or, if
            /// it lands in a PIN digit and still yields a digit, gives a different PIN —
            /// never silently the same PIN; for the enciphered block any flip fails or
            /// changes the PIN (the decrypted block is garbage w.h.p.).
            #[test]
            fn flipped_bit_never_yields_same_pin(p in pin_strategy(), pan in pan_strategy(),
                                                f in prop::sample::select(vec![PinBlockFormat::Iso0, PinBlockFormat::Iso2]),
                                                bit in 0usize..64, key in any::<[u8; 16]>()) {
                let pin = Pin::new(&p).unwrap();
                let mut b = *encode_pin_block(f, &pin, Some(&pan), &Fill::Random).unwrap();
                b[bit / 8] ^= 1 << (7 - bit % 8);
                match decode_pin_block(f, &b, Some(&pan)) {
                    Ok(other) => prop_assert_ne!(other, pin.clone()),
                    Err(e) => {
                        let is_block_error = matches!(e, CryptoError::InvalidPinBlock { .. });
                        prop_assert!(is_block_error);
                    }
                }
                let k = TdesKey::new(&key).unwrap();
                let mut e = encrypt_pin_block(&k, f, &pin, Some(&pan), &Fill::Random).unwrap();
                e[bit / 8] ^= 1 << (bit % 8);
                if let Ok(other) = decrypt_pin_block(&k, f, &e, Some(&pan)) {
                    prop_assert_ne!(other, pin);
                }
            }
        }
    }
}
