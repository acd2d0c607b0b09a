//! The message codec: MTI, bitmaps and data elements in the two stock layouts
//! (ISO 8583:1987 §4; docs/iso8583.md §2).

use std::collections::BTreeMap;
use std::fmt;

use crate::Error;
use crate::spec::{self, FieldSpec, FieldType, Format, Length};

/// A message type indicator: four digits, version ‖ class ‖ function ‖ origin
/// (ISO 8583:1987 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

impl Mti {
    /// A constant MTI (four digits, checked by the callers' tests).
    pub(crate) const fn lit(digits: &[u8; 4]) -> Self {
        Self(*digits)
    }

    /// Parses four ASCII digits.
    pub fn parse(s: &[u8]) -> Result<Self, Error> {
        match s {
            [a, b, c, d] if s.iter().all(u8::is_ascii_digit) => Ok(Self([*a, *b, *c, *d])),
            _ => Err(Error::Mti(printable(s))),
        }
    }

    /// An MTI from a number 0–9999 (`Mti::from_number(100)` is `0100`).
    pub fn from_number(n: u16) -> Result<Self, Error> {
        Self::parse(format!("{n:04}").as_bytes())
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// The four ASCII bytes.
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The MTI as a number (`0100` is 100).
    pub fn number(&self) -> u16 {
        self.0
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d.saturating_sub(b'0')))
    }

    /// Class and function without the origin (repeats `xxx1` become `xxx0`):
    /// `0421` → 420.
    pub fn kind(&self) -> u16 {
        self.number() / 10 * 10
    }

    /// Whether this is a request or an advice/notification (function digit 0 or 2) that
    /// the receiver answers.
    pub fn expects_response(&self) -> bool {
        matches!(self.0[2], b'0' | b'2')
    }

    /// The response MTI: the request's with function + 1 and origin 0 (`0100` → `0110`,
    /// `0421` → `0430`; ISO 8583:1987 §4.1.3), `None` for a message that is itself an
    /// answer.
    pub fn response(&self) -> Option<Self> {
        self.expects_response()
            .then(|| Self([self.0[0], self.0[1], self.0[2] + 1, b'0']))
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn printable(s: &[u8]) -> String {
    if s.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        String::from_utf8_lossy(s).into_owned()
    } else {
        format!("0x{}", hex::encode_upper(s))
    }
}

/// An ISO 8583 message: its MTI and its data elements 2–128 (never the bitmaps, which
/// encoding computes). Values are kept as the application sees them: text fields as their
/// ASCII characters, binary fields (type `b`) as raw bytes in both layouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message type indicator.
    pub mti: Mti,
    fields: BTreeMap<u8, Vec<u8>>,
}

impl Message {
    /// An empty message of type `mti`.
    pub fn new(mti: Mti) -> Self {
        Self {
            mti,
            fields: BTreeMap::new(),
        }
    }

    /// The value of data element `de`.
    pub fn get(&self, de: u8) -> Option<&[u8]> {
        self.fields.get(&de).map(Vec::as_slice)
    }

    /// The value of a text data element `de` (every type but `b`).
    pub fn text(&self, de: u8) -> Option<&str> {
        self.get(de).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Whether data element `de` is present.
    pub fn has(&self, de: u8) -> bool {
        self.fields.contains_key(&de)
    }

    /// Sets data element `de` after checking the value against its type and length.
    pub fn set(&mut self, de: u8, value: impl Into<Vec<u8>>) -> Result<&mut Self, Error> {
        let value = value.into();
        let s = data_field(de)?;
        check_value(s, &value)?;
        self.fields.insert(de, value);
        Ok(self)
    }

    /// Removes data element `de`, returning its value.
    pub fn remove(&mut self, de: u8) -> Option<Vec<u8>> {
        self.fields.remove(&de)
    }

    /// The present data elements, in order.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.fields.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Whether the message needs the secondary bitmap (a field above 64).
    pub fn has_secondary(&self) -> bool {
        self.fields.keys().any(|&k| k > 64)
    }

    /// Encodes the message (without framing) in `format`.
    pub fn encode(&self, format: Format) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.mti.as_bytes());
        let mut bitmap = [0u8; 16];
        let secondary = self.has_secondary();
        if secondary {
            bitmap[0] |= 0x80;
        }
        for &de in self.fields.keys() {
            let i = usize::from(de - 1);
            bitmap[i / 8] |= 0x80 >> (i % 8);
        }
        let maps = if secondary { 2 } else { 1 };
        for map in bitmap.chunks(8).take(maps) {
            match format {
                Format::Binary => out.extend_from_slice(map),
                Format::Ascii => out.extend_from_slice(hex::encode_upper(map).as_bytes()),
            }
        }
        for (&de, value) in &self.fields {
            let s = data_field(de)?;
            check_value(s, value)?;
            encode_field(s, format, value, &mut out);
        }
        Ok(out)
    }

    /// Decodes exactly one message (without framing) in `format`; extra bytes are an error.
    pub fn decode(format: Format, data: &[u8]) -> Result<Self, Error> {
        let (msg, used) = decode_prefix(format, data)?;
        match data.len() - used {
            0 => Ok(msg),
            extra => Err(Error::TrailingData(extra)),
        }
    }
}

/// The length of the message at the start of `data` if it is complete, `None` when more
/// bytes are needed (for a stream without a length header), an error when it cannot be a
/// message.
pub fn message_len(format: Format, data: &[u8]) -> Result<Option<usize>, Error> {
    match decode_prefix(format, data) {
        Ok((_, used)) => Ok(Some(used)),
        Err(Error::Truncated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the MTI at the start of `data`, if it is there and well formed.
pub fn peek_mti(data: &[u8]) -> Option<Mti> {
    data.get(..4).and_then(|m| Mti::parse(m).ok())
}

/// Decodes the message at the start of `data`; returns it and the bytes it took.
pub fn decode_prefix(format: Format, data: &[u8]) -> Result<(Message, usize), Error> {
    let mut r = Reader { data, pos: 0 };
    let mti = Mti::parse(r.take(4, "MTI")?)?;
    let primary = r.bitmap(format, "primary bitmap")?;
    let mut present: Vec<u8> = bits(&primary, 0).collect();
    if present.first() == Some(&1) {
        present.remove(0);
        let secondary = r.bitmap(format, "secondary bitmap")?;
        if secondary[0] & 0x80 != 0 {
            // bit 65 announces a tertiary bitmap (fields 129-192): not in ISO 8583:1987
            return Err(Error::Bitmap(
                "bit 65 (tertiary bitmap) is set; ISO 8583:1987 has fields 1-128 only".into(),
            ));
        }
        present.extend(bits(&secondary, 64));
    }
    let mut msg = Message::new(mti);
    for de in present {
        let s = data_field(de)?;
        let value = r.field(s, format)?;
        check_value(s, &value)?;
        msg.fields.insert(de, value);
    }
    Ok((msg, r.pos))
}

/// The field numbers whose bits are set in `map`, offset by `base`.
fn bits(map: &[u8; 8], base: u8) -> impl Iterator<Item = u8> + '_ {
    (0u8..64)
        .filter(move |i| map[usize::from(i / 8)] & (0x80 >> (i % 8)) != 0)
        .map(move |i| base + i + 1)
}

/// The spec of a data field (2–128 but 65): the bitmaps are not values.
fn data_field(de: u8) -> Result<&'static FieldSpec, Error> {
    match de {
        1 | 65 => Err(Error::Bitmap(format!(
            "field {de} is a bitmap, not a data element"
        ))),
        _ => spec::field(de).ok_or_else(|| Error::Bitmap(format!("no data element {de}"))),
    }
}

/// Checks a value (application form) against its field's type and length.
fn check_value(s: &FieldSpec, value: &[u8]) -> Result<(), Error> {
    let len = value.len();
    match s.len {
        Length::Fixed(n) if len != n => {
            return Err(Error::field_err(
                s.number,
                format!("length {len}, the field is fixed at {n}"),
            ));
        }
        Length::LlVar(max) | Length::LllVar(max) if len > max => {
            return Err(Error::field_err(
                s.number,
                format!("length {len} exceeds the maximum {max}"),
            ));
        }
        _ => {}
    }
    let ok = match s.ty {
        FieldType::N => value.iter().all(u8::is_ascii_digit),
        FieldType::Ans | FieldType::Ns => value.iter().all(|b| (0x20..=0x7E).contains(b)),
        // ISO/IEC 7813 track 2: digits, separator `=` (or `D` as many hosts write it), `F` pad
        FieldType::Z => value
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'=' | b'D' | b'F')),
        FieldType::XN => match value.split_first() {
            Some((sign, rest)) => {
                matches!(sign, b'C' | b'D') && rest.iter().all(u8::is_ascii_digit)
            }
            None => false,
        },
        FieldType::B => true,
    };
    if ok {
        Ok(())
    } else {
        // the position, never the value: errors are logged, and a field may hold a PAN
        // or track data
        let at = first_bad(s.ty, value);
        Err(Error::field_err(
            s.number,
            format!(
                "character {} of {} is not allowed in a field of type {}",
                at + 1,
                value.len(),
                s.ty.notation()
            ),
        ))
    }
}

/// The index of the first character `check_value` refuses (0 for an empty `x+n`).
fn first_bad(ty: FieldType, value: &[u8]) -> usize {
    value
        .iter()
        .enumerate()
        .position(|(i, b)| match ty {
            FieldType::N => !b.is_ascii_digit(),
            FieldType::Ans | FieldType::Ns => !(0x20..=0x7E).contains(b),
            FieldType::Z => !(b.is_ascii_digit() || matches!(b, b'=' | b'D' | b'F')),
            FieldType::XN if i == 0 => !matches!(b, b'C' | b'D'),
            FieldType::XN => !b.is_ascii_digit(),
            FieldType::B => false,
        })
        .unwrap_or(0)
}

fn encode_field(s: &FieldSpec, format: Format, value: &[u8], out: &mut Vec<u8>) {
    let wire = match (s.ty, format) {
        (FieldType::B, Format::Ascii) => hex::encode_upper(value).into_bytes(),
        _ => value.to_vec(),
    };
    match s.len {
        Length::Fixed(_) => {}
        Length::LlVar(_) => out.extend_from_slice(format!("{:02}", wire.len()).as_bytes()),
        Length::LllVar(_) => out.extend_from_slice(format!("{:03}", wire.len()).as_bytes()),
    }
    out.extend_from_slice(&wire);
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        let end = self.pos.saturating_add(n);
        match self.data.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Truncated {
                what: what.into(),
                needed: end - self.data.len(),
            }),
        }
    }

    fn bitmap(&mut self, format: Format, what: &str) -> Result<[u8; 8], Error> {
        let raw = self.take(format.bitmap_len(), what)?;
        let mut map = [0u8; 8];
        match format {
            Format::Binary => map.copy_from_slice(raw),
            Format::Ascii => hex::decode_to_slice(raw, &mut map)
                .map_err(|_| Error::Bitmap(format!("{what} is not hex: {}", printable(raw))))?,
        }
        Ok(map)
    }

    fn field(&mut self, s: &FieldSpec, format: Format) -> Result<Vec<u8>, Error> {
        let what = format!("DE {}", s.number);
        let wire_len = match s.len {
            Length::Fixed(_) => s.wire_max(format),
            Length::LlVar(_) | Length::LllVar(_) => {
                let prefix = self.take(s.len.prefix_len(), &what)?;
                let n = std::str::from_utf8(prefix)
                    .ok()
                    .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|p| p.parse::<usize>().ok())
                    .ok_or_else(|| {
                        Error::field_err(
                            s.number,
                            format!("length prefix is not digits: {}", printable(prefix)),
                        )
                    })?;
                if n > s.wire_max(format) {
                    return Err(Error::field_err(
                        s.number,
                        format!("length {n} exceeds the maximum {}", s.wire_max(format)),
                    ));
                }
                n
            }
        };
        let raw = self.take(wire_len, &what)?;
        match (s.ty, format) {
            (FieldType::B, Format::Ascii) => hex::decode(raw).map_err(|_| {
                Error::field_err(
                    s.number,
                    format!("{} characters of text that are not hex", raw.len()),
                )
            }),
            _ => Ok(raw.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        let mut m = Message::new(Mti::from_number(200).unwrap());
        m.set(2, "4761739001010010").unwrap();
        m.set(3, "010000").unwrap();
        m.set(4, "000000002000").unwrap();
        m.set(11, "000007").unwrap();
        m.set(41, "ATM00001").unwrap();
        m.set(52, vec![0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0])
            .unwrap();
        m.set(55, vec![0x9F, 0x36, 0x02, 0x00, 0x07]).unwrap();
        m
    }

    #[test]
    fn ascii_layout_is_the_stock_one() {
        let m = sample();
        let enc = m.encode(Format::Ascii).unwrap();
        let text = String::from_utf8(enc.clone()).unwrap();
        assert!(text.starts_with("02007020000000801200"), "{text}");
        assert_eq!(Message::decode(Format::Ascii, &enc).unwrap(), m);
    }

    #[test]
    fn binary_layout_round_trips() {
        let m = sample();
        let enc = m.encode(Format::Binary).unwrap();
        assert_eq!(&enc[..4], b"0200");
        assert_eq!(Message::decode(Format::Binary, &enc).unwrap(), m);
        assert_eq!(message_len(Format::Binary, &enc).unwrap(), Some(enc.len()));
        assert_eq!(
            message_len(Format::Binary, &enc[..enc.len() - 1]).unwrap(),
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        let mut m = Message::new(Mti::from_number(100).unwrap());
        let e = m.set(4, "12AB00000000").unwrap_err();
        assert_eq!(e.field(), Some(4));
        let e = m.set(2, "12345678901234567890").unwrap_err();
        assert_eq!(e.field(), Some(2));
        assert!(m.set(65, vec![0u8; 8]).is_err());
        // a length prefix above the field's maximum
        let e = Message::decode(Format::Ascii, b"01004000000000000000201234").unwrap_err();
        assert_eq!(e.field(), Some(2), "{e}");
        assert!(e.to_string().contains("exceeds the maximum 19"), "{e}");
        // non-digits in a numeric field
        let e = Message::decode(Format::Ascii, b"01002000000000000000ABCDEF").unwrap_err();
        assert_eq!(e.field(), Some(3), "{e}");
        // bad bitmap, bad MTI, trailing bytes
        assert!(matches!(
            Message::decode(Format::Ascii, b"0100Z000000000000000"),
            Err(Error::Bitmap(_))
        ));
        assert!(matches!(
            Message::decode(Format::Ascii, b"01X0"),
            Err(Error::Mti(_))
        ));
        assert!(matches!(
            Message::decode(Format::Ascii, b"010020000000000000000000009"),
            Err(Error::TrailingData(1))
        ));
        assert!(matches!(
            Message::decode(Format::Ascii, b"0100200000000000000000"),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn errors_never_show_the_value() {
        let mut m = Message::new(Mti::from_number(100).unwrap());
        let e = m.set(2, "4761739X01010010").unwrap_err().to_string();
        assert!(!e.contains("4761739"), "{e}");
        assert!(e.contains("character 8 of 16"), "{e}");
        let e = Message::decode(Format::Ascii, b"01000000000000001000ZZ34567890ABCDEF")
            .unwrap_err()
            .to_string();
        assert!(e.contains("DE 52") && !e.contains("ZZ34"), "{e}");
    }

    #[test]
    fn tertiary_bitmap_is_refused() {
        let e = Message::decode(
            Format::Ascii,
            b"01008000000000000000800000000000000000000000000000000000",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Bitmap(_)), "{e}");
    }

    #[test]
    fn response_mti() {
        let r = |n| Mti::from_number(n).unwrap().response().map(|m| m.number());
        assert_eq!(r(100), Some(110));
        assert_eq!(r(200), Some(210));
        assert_eq!(r(220), Some(230));
        assert_eq!(r(421), Some(430));
        assert_eq!(r(800), Some(810));
        assert_eq!(r(110), None);
    }
}
