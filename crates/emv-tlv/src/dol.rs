//! Data Object Lists (PDOL, CDOL1/2, DDOL, TDOL) and DOL-related data, EMV 4.4 Book 3 §5.4.
//!
//! A DOL is a list of (tag, length) pairs with no values; the terminal answers it with the
//! concatenated values, each forced to the requested length by the format rules of §5.4.

use crate::error::{TlvError, TlvErrorKind};
use crate::format::Format;
use crate::tag::Tag;

/// One DOL entry: the tag and the length the card asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DolEntry {
    /// Requested data object.
    pub tag: Tag,
    /// Requested value length in bytes.
    pub len: usize,
}

/// A parsed data object list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dol {
    entries: Vec<DolEntry>,
}

impl Dol {
    /// Parse a DOL value (the value of `9F38`, `8C`, `8D`, `9F49`, `97`): tag, then a one
    /// byte length, repeated (Book 3 §5.4). Errors name the byte offset.
    pub fn parse(data: &[u8]) -> Result<Dol, TlvError> {
        let mut entries = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let (tag, used) = Tag::parse(&data[pos..], pos)?;
            pos += used;
            let Some(&len) = data.get(pos) else {
                return Err(TlvError::new(pos, TlvErrorKind::TruncatedLength));
            };
            pos += 1;
            entries.push(DolEntry {
                tag,
                len: usize::from(len),
            });
        }
        Ok(Dol { entries })
    }

    /// A DOL from entries.
    pub fn from_entries(entries: Vec<DolEntry>) -> Dol {
        Dol { entries }
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[DolEntry] {
        &self.entries
    }

    /// Length of the DOL-related data the terminal must send.
    pub fn data_len(&self) -> usize {
        self.entries.iter().map(|e| e.len).sum()
    }

    /// Encode the DOL itself (tag, length pairs).
    pub fn to_bytes(&self) -> Result<Vec<u8>, TlvError> {
        let mut out = Vec::new();
        for e in &self.entries {
            let len = u8::try_from(e.len)
                .map_err(|_| TlvError::new(out.len(), TlvErrorKind::DolLength(e.len)))?;
            e.tag.write_to(&mut out);
            out.push(len);
        }
        Ok(out)
    }

    /// Build the DOL-related data. `value_of` returns the terminal's (or card's) value for a
    /// tag, or `None` when it has none; formats come from the tag dictionary (unknown tags
    /// are treated as binary). See [`Dol::build_with`] for the rules.
    pub fn build<'v>(&self, value_of: impl Fn(Tag) -> Option<&'v [u8]>) -> Vec<u8> {
        self.build_with(|tag| {
            value_of(tag).map(|v| {
                let format = crate::dictionary::lookup(tag).map_or(Format::Binary, |i| i.format);
                (v, format)
            })
        })
    }

    /// Build the DOL-related data with the caller naming each value's format.
    ///
    /// EMV 4.4 Book 3 §5.4:
    /// - a tag unknown to the terminal, without a value, or constructed → `len` bytes of
    ///   `00`;
    /// - value longer than requested: numeric (`n`) loses its leftmost bytes, every other
    ///   format its rightmost bytes;
    /// - value shorter than requested: numeric is padded with leading `00`, compressed
    ///   numeric (`cn`) with trailing `FF`, every other format with trailing `00`.
    pub fn build_with<'v>(&self, value_of: impl Fn(Tag) -> Option<(&'v [u8], Format)>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_len());
        for e in &self.entries {
            match value_of(e.tag) {
                Some((value, format)) if !e.tag.is_constructed() => {
                    fit(value, format, e.len, &mut out);
                }
                _ => out.resize(out.len() + e.len, 0x00),
            }
        }
        out
    }

    /// Split DOL-related data back into (tag, value) pairs, as the card does with the data
    /// of GET PROCESSING OPTIONS or GENERATE AC. The data must be exactly
    /// [`Dol::data_len`] bytes long.
    pub fn split<'d>(&self, data: &'d [u8]) -> Result<Vec<(Tag, &'d [u8])>, TlvError> {
        if data.len() != self.data_len() {
            return Err(TlvError::new(
                data.len().min(self.data_len()),
                TlvErrorKind::BadValue(format!(
                    "DOL-related data is {} bytes, the DOL asks for {}",
                    data.len(),
                    self.data_len()
                )),
            ));
        }
        let mut pos = 0;
        let mut out = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            out.push((e.tag, &data[pos..pos + e.len]));
            pos += e.len;
        }
        Ok(out)
    }
}

/// Append `value` forced to `len` bytes by the §5.4 rules for `format`.
fn fit(value: &[u8], format: Format, len: usize, out: &mut Vec<u8>) {
    use core::cmp::Ordering;
    match (value.len().cmp(&len), format) {
        (Ordering::Equal, _) => out.extend_from_slice(value),
        // numeric: keep the rightmost bytes / pad on the left
        (Ordering::Greater, Format::Numeric) => out.extend_from_slice(&value[value.len() - len..]),
        (Ordering::Less, Format::Numeric) => {
            out.resize(out.len() + (len - value.len()), 0x00);
            out.extend_from_slice(value);
        }
        // every other format keeps the leftmost bytes
        (Ordering::Greater, _) => out.extend_from_slice(&value[..len]),
        (Ordering::Less, Format::CompressedNumeric) => {
            out.extend_from_slice(value);
            out.resize(out.len() + (len - value.len()), 0xFF);
        }
        (Ordering::Less, _) => {
            out.extend_from_slice(value);
            out.resize(out.len() + (len - value.len()), 0x00);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::decode;

    const CDOL1: &str = "9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04";

    #[test]
    fn parse_typical_cdol1() {
        let dol = Dol::parse(&decode(CDOL1).unwrap()).unwrap();
        assert_eq!(dol.entries().len(), 8);
        assert_eq!(
            dol.entries()[0],
            DolEntry {
                tag: Tag::new(0x9F02),
                len: 6
            }
        );
        assert_eq!(dol.data_len(), 29);
        assert_eq!(dol.to_bytes().unwrap(), decode(CDOL1).unwrap());
    }

    #[test]
    fn truncated_dol_names_offset() {
        let e = Dol::parse(&decode("9F02 06 9F03").unwrap()).unwrap_err();
        assert_eq!((e.offset, e.kind), (5, TlvErrorKind::TruncatedLength));
        let e = Dol::parse(&decode("9F02 06 9F").unwrap()).unwrap_err();
        assert_eq!((e.offset, e.kind), (3, TlvErrorKind::TruncatedTag));
    }

    #[test]
    fn format_rules_of_book3_5_4() {
        let mut out = Vec::new();
        // n: pad left with 00 / truncate leftmost
        fit(&[0x12, 0x34], Format::Numeric, 4, &mut out);
        assert_eq!(out, [0x00, 0x00, 0x12, 0x34]);
        out.clear();
        fit(&[0x00, 0x00, 0x12, 0x34], Format::Numeric, 2, &mut out);
        assert_eq!(out, [0x12, 0x34]);
        // cn: pad right with FF / truncate rightmost
        out.clear();
        fit(&[0x47, 0x61], Format::CompressedNumeric, 4, &mut out);
        assert_eq!(out, [0x47, 0x61, 0xFF, 0xFF]);
        out.clear();
        fit(
            &[0x47, 0x61, 0x73, 0x90],
            Format::CompressedNumeric,
            2,
            &mut out,
        );
        assert_eq!(out, [0x47, 0x61]);
        // b, an, ans: pad right with 00 / truncate rightmost
        out.clear();
        fit(b"AB", Format::AlphaNumeric, 4, &mut out);
        assert_eq!(out, [b'A', b'B', 0, 0]);
        out.clear();
        fit(&[1, 2, 3], Format::Binary, 2, &mut out);
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn build_uses_dictionary_formats_and_zero_fills_unknowns() {
        let dol = Dol::parse(&decode("9F02 04 5A 0A 9F1A 02 DF7F 02 70 03").unwrap()).unwrap();
        let amount = decode("000000001234").unwrap();
        let pan = decode("4761739001010119").unwrap();
        let data = dol.build(|tag| match tag.value() {
            0x9F02 => Some(&amount[..]),
            0x5A => Some(&pan[..]),
            0x70 => Some(&pan[..]), // constructed: always zeros
            _ => None,
        });
        assert_eq!(
            data,
            decode("00001234 4761739001010119FFFF 0000 0000 000000").unwrap()
        );
        let parts = dol.split(&data).unwrap();
        assert_eq!(parts[0], (Tag::new(0x9F02), &data[..4]));
        assert_eq!(parts.len(), 5);
        assert!(dol.split(&data[1..]).is_err());
    }
}
