//! The borrowing BER-TLV parser (EMV 4.4 Book 3 Annex B).
//!
//! Every [`Tlv`] keeps the exact bytes it was read from ([`Tlv::raw`]) because offline data
//! authentication hashes records and GENERATE AC responses as the card sent them (Book 2
//! §5.4, §6.6): a parser that re-encodes would change the hash whenever a card uses a
//! non-minimal length.

use crate::error::{TlvError, TlvErrorKind};
use crate::tag::Tag;

/// Deepest nesting of constructed objects accepted. EMV's deepest real structure is the
/// FCI (`6F / A5 / BF0C / 61 / ...`, depth 4-5); the cap keeps recursion bounded for any
/// input.
pub const MAX_DEPTH: usize = 10;

/// One data object, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    tag: Tag,
    raw: &'a [u8],
    value: &'a [u8],
    offset: usize,
    header_len: usize,
}

impl<'a> Tlv<'a> {
    /// The tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The value bytes.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// Tag, length and value exactly as they appeared in the input.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Offset of the first tag byte in the whole input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Offset of the first value byte in the whole input.
    pub fn value_offset(&self) -> usize {
        self.offset + self.header_len
    }

    /// The length field was not in its shortest form (`81 05` for 5), as some cards write.
    pub fn has_non_minimal_length(&self) -> bool {
        let minimal = self.tag.len() + crate::encode::length_field_len(self.value.len());
        self.header_len != minimal
    }

    /// Constructed (`70`, `77`, `A5`, ...): the value is a list of data objects.
    pub fn is_constructed(&self) -> bool {
        self.tag.is_constructed()
    }

    /// Iterate over the children of a constructed object (empty for a primitive one).
    pub fn children(&self) -> TlvIter<'a> {
        if self.is_constructed() {
            TlvIter::new(self.value, self.value_offset())
        } else {
            TlvIter::new(&[], self.value_offset())
        }
    }

    /// The first object with `tag` among this object's descendants (depth first, in order),
    /// constructed ones included. Malformed children are not searched.
    pub fn find(&self, tag: Tag) -> Option<Tlv<'a>> {
        find_in(self.children(), tag, 1)
    }

    /// Every object with `tag` among this object's descendants, in document order.
    pub fn find_all(&self, tag: Tag) -> Vec<Tlv<'a>> {
        let mut out = Vec::new();
        collect_in(self.children(), tag, &mut out, 1);
        out
    }
}

/// Lazy iterator over a list of data objects. Skips `00` and `FF` padding between objects
/// (Book 3 Annex B: "before, between, or after TLV-coded data objects, '00' bytes without
/// any meaning may occur"; ISO/IEC 7816-4 §5.2.2.1 allows `FF` too). After the first error
/// it stops.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterate over `data`, whose first byte sits at `base` in the caller's whole input
    /// (used for error offsets).
    pub fn new(data: &'a [u8], base: usize) -> Self {
        TlvIter {
            data,
            pos: 0,
            base,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        while matches!(self.data.get(self.pos), Some(0x00 | 0xFF)) {
            self.pos += 1;
        }
        if self.pos >= self.data.len() {
            return None;
        }
        match read_one(self.data, self.pos, self.base) {
            Ok(tlv) => {
                self.pos += tlv.raw.len();
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Read the object starting at `data[pos]`.
fn read_one(data: &[u8], pos: usize, base: usize) -> Result<Tlv<'_>, TlvError> {
    let start = base + pos;
    let rest = &data[pos..];
    let (tag, tag_len) = Tag::parse(rest, start)?;
    let (len, len_len) = read_length(&rest[tag_len..], start + tag_len)?;
    let header_len = tag_len + len_len;
    let available = rest.len() - header_len;
    if len > available {
        return Err(TlvError::new(
            start,
            TlvErrorKind::ValueOverrun {
                needed: len,
                available,
            },
        ));
    }
    let raw = &rest[..header_len + len];
    Ok(Tlv {
        tag,
        raw,
        value: &raw[header_len..],
        offset: start,
        header_len,
    })
}

/// Read a BER length field: short form `00`-`7F`, long forms `81`-`84` (non-minimal
/// encodings such as `81 05` accepted, Book 3 Annex B2). `80` (indefinite) is refused.
fn read_length(input: &[u8], offset: usize) -> Result<(usize, usize), TlvError> {
    let Some(&first) = input.first() else {
        return Err(TlvError::new(offset, TlvErrorKind::TruncatedLength));
    };
    match first {
        0x00..=0x7F => Ok((usize::from(first), 1)),
        0x80 => Err(TlvError::new(offset, TlvErrorKind::IndefiniteLength)),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let Some(bytes) = input.get(1..=n) else {
                return Err(TlvError::new(offset, TlvErrorKind::TruncatedLength));
            };
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            Ok((len, 1 + n))
        }
        _ => Err(TlvError::new(offset, TlvErrorKind::BadLengthForm(first))),
    }
}

/// Parse a whole buffer as a list of data objects and check every constructed object
/// recursively (so later lookups cannot meet malformed data), with nesting capped at
/// [`MAX_DEPTH`]. Padding is skipped; anything else that is not a valid object is an
/// error naming its offset.
pub fn parse_all(data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    for item in TlvIter::new(data, 0) {
        let tlv = item?;
        validate(&tlv, 1)?;
        out.push(tlv);
    }
    Ok(out)
}

/// Parse a buffer that must hold exactly one data object (padding around it allowed), such
/// as an R-APDU body (`77 ...`, `70 ...`, `6F ...`). More than one object is
/// [`TlvErrorKind::TrailingData`] at the offset of the second.
pub fn parse_one(data: &[u8]) -> Result<Tlv<'_>, TlvError> {
    let first = match TlvIter::new(data, 0).next() {
        Some(r) => r?,
        None => return Err(TlvError::new(data.len(), TlvErrorKind::TruncatedTag)),
    };
    validate(&first, 1)?;
    let mut end = first.offset() + first.raw().len();
    while matches!(data.get(end), Some(0x00 | 0xFF)) {
        end += 1;
    }
    if end < data.len() {
        return Err(TlvError::new(end, TlvErrorKind::TrailingData));
    }
    Ok(first)
}

/// Lazily iterate over a list of data objects without validating constructed values.
pub fn iter(data: &[u8]) -> TlvIter<'_> {
    TlvIter::new(data, 0)
}

fn validate(tlv: &Tlv<'_>, depth: usize) -> Result<(), TlvError> {
    if depth > MAX_DEPTH {
        return Err(TlvError::new(tlv.offset, TlvErrorKind::TooDeep(MAX_DEPTH)));
    }
    for child in tlv.children() {
        validate(&child?, depth + 1)?;
    }
    Ok(())
}

fn find_in<'a>(iter: TlvIter<'a>, tag: Tag, depth: usize) -> Option<Tlv<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    for tlv in iter.map_while(Result::ok) {
        if tlv.tag == tag {
            return Some(tlv);
        }
        if let Some(found) = find_in(tlv.children(), tag, depth + 1) {
            return Some(found);
        }
    }
    None
}

fn collect_in<'a>(iter: TlvIter<'a>, tag: Tag, out: &mut Vec<Tlv<'a>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for tlv in iter.map_while(Result::ok) {
        if tlv.tag == tag {
            out.push(tlv);
        }
        collect_in(tlv.children(), tag, out, depth + 1);
    }
}

/// The first object with `tag` anywhere in `list` (depth first, document order),
/// constructed objects included.
pub fn find<'a>(list: &[Tlv<'a>], tag: Tag) -> Option<Tlv<'a>> {
    for tlv in list {
        if tlv.tag == tag {
            return Some(*tlv);
        }
        if let Some(found) = tlv.find(tag) {
            return Some(found);
        }
    }
    None
}

/// Every object with `tag` anywhere in `list`, in document order, constructed ones
/// included (so `find_all(list, 9F36)` sees two ATCs inside one template).
pub fn find_all<'a>(list: &[Tlv<'a>], tag: Tag) -> Vec<Tlv<'a>> {
    let mut out = Vec::new();
    for tlv in list {
        if tlv.tag == tag {
            out.push(*tlv);
        }
        out.extend(tlv.find_all(tag));
    }
    out
}

/// Follow a path of tags separated by `/` from the top level: `"77/9F10"` is the `9F10`
/// directly inside the top-level `77`; `"6F/A5/BF0C/DF8117"` walks four levels. The first
/// match at each level is taken.
pub fn find_path<'a>(list: &[Tlv<'a>], path: &str) -> Result<Option<Tlv<'a>>, TlvError> {
    let tags = path
        .split('/')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Tag::from_hex(s).map_err(|_| TlvError::new(0, TlvErrorKind::BadPath(path.to_owned())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some((&first, rest)) = tags.split_first() else {
        return Err(TlvError::new(0, TlvErrorKind::BadPath(path.to_owned())));
    };
    let Some(mut current) = list.iter().find(|t| t.tag == first).copied() else {
        return Ok(None);
    };
    for &tag in rest {
        match current
            .children()
            .map_while(Result::ok)
            .find(|t| t.tag == tag)
        {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::decode;

    fn t(v: u32) -> Tag {
        Tag::new(v)
    }

    #[test]
    fn gpo_format_2_with_lookup() {
        let data = decode("77 0E 82 02 58 00 94 08 08 01 01 00 10 01 03 01").unwrap();
        let list = parse_all(&data).unwrap();
        assert_eq!(list.len(), 1);
        let aip = find_path(&list, "77/82").unwrap().unwrap();
        assert_eq!(aip.value(), &[0x58, 0x00]);
        assert_eq!(aip.offset(), 2);
        assert_eq!(aip.raw(), &[0x82, 0x02, 0x58, 0x00]);
        let afl = find(&list, t(0x94)).unwrap();
        assert_eq!(afl.value().len(), 8);
        assert_eq!(afl.value_offset(), 8);
        assert!(find_path(&list, "77/9F10").unwrap().is_none());
        assert!(find_path(&list, "70/82").unwrap().is_none());
    }

    #[test]
    fn fci_path_with_three_byte_tag_and_constructed_match() {
        let data = decode("6F 14 84 02 A0 01 A5 0E 50 01 41 BF0C 08 DF8117 01 05 9F4D 00").unwrap();
        let list = parse_all(&data).unwrap();
        let v = find_path(&list, "6F/A5/BF0C/DF8117").unwrap().unwrap();
        assert_eq!(v.value(), &[0x05]);
        // constructed objects are found too
        let a5 = find(&list, t(0xA5)).unwrap();
        assert!(a5.is_constructed());
        assert_eq!(a5.value().len(), 14);
    }

    #[test]
    fn find_all_sees_siblings_inside_one_template() {
        let data = decode("70 0B 9F36 02 0001 A5 04 9F36 01 02").unwrap();
        let list = parse_all(&data).unwrap();
        let all = find_all(&list, t(0x9F36));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].value(), &[0x00, 0x01]);
        assert_eq!(all[1].value(), &[0x02]);
    }

    #[test]
    fn padding_before_between_and_after() {
        let data = decode("00 00 70 07 00 5A 01 11 00 FF 00 FF FF 9F 36 02 00 01 00").unwrap();
        let list = parse_all(&data).unwrap();
        assert_eq!(list.len(), 2);
        let pan = list[0].find(t(0x5A)).unwrap();
        assert_eq!(pan.value(), &[0x11]);
        assert_eq!(list[1].tag(), t(0x9F36));
    }

    #[test]
    fn non_minimal_lengths_keep_raw_bytes() {
        let data = decode("70 81 08 5A 81 03 11 22 33 00 00").unwrap();
        let one = parse_one(&data).unwrap();
        assert_eq!(one.raw().len(), data.len());
        assert!(one.has_non_minimal_length());
        let pan = one.find(t(0x5A)).unwrap();
        assert_eq!(pan.raw(), &[0x5A, 0x81, 0x03, 0x11, 0x22, 0x33]);
        assert_eq!(pan.value(), &[0x11, 0x22, 0x33]);
        assert!(pan.has_non_minimal_length());
    }

    #[test]
    fn errors_name_offset_and_reason() {
        // truncated length field
        let e = parse_all(&decode("5A").unwrap()).unwrap_err();
        assert_eq!((e.offset, e.kind), (1, TlvErrorKind::TruncatedLength));
        // value longer than the buffer (3-byte length)
        let e = parse_all(&decode("70 83 01 00 00 5A").unwrap()).unwrap_err();
        assert_eq!(e.offset, 0);
        assert_eq!(
            e.kind,
            TlvErrorKind::ValueOverrun {
                needed: 65536,
                available: 1
            }
        );
        // indefinite length
        let e = parse_all(&decode("9F10 80 00").unwrap()).unwrap_err();
        assert_eq!((e.offset, e.kind), (2, TlvErrorKind::IndefiniteLength));
        // inside a template: offset is absolute
        let e = parse_all(&decode("77 04 82 05 58 00").unwrap()).unwrap_err();
        assert_eq!(e.offset, 2);
        // trailing garbage after a single object
        let e = parse_one(&decode("82 02 58 00 94").unwrap()).unwrap_err();
        assert_eq!((e.offset, e.kind), (4, TlvErrorKind::TrailingData));
        // reserved length forms
        let e = parse_all(&decode("82 85 00 00 00 00 02").unwrap()).unwrap_err();
        assert_eq!(e.kind, TlvErrorKind::BadLengthForm(0x85));
    }

    #[test]
    fn nesting_is_capped() {
        // 300 nested constructed templates: E0 L E0 L ... built from the inside out
        let mut data: Vec<u8> = Vec::new();
        for _ in 0..300 {
            let mut outer = vec![0xE0];
            crate::encode::encode_length(data.len(), &mut outer);
            outer.extend_from_slice(&data);
            data = outer;
        }
        let e = parse_all(&data).unwrap_err();
        assert_eq!(e.kind, TlvErrorKind::TooDeep(MAX_DEPTH));
        // lookups on lazily iterated data stay bounded too
        let first = iter(&data).next().unwrap().unwrap();
        assert!(first.find(t(0x5A)).is_none());
        // exactly MAX_DEPTH levels is fine
        let mut ok: Vec<u8> = vec![0x5A, 0x01, 0x11];
        for _ in 0..MAX_DEPTH - 1 {
            let mut outer = vec![0xE0, ok.len() as u8];
            outer.extend_from_slice(&ok);
            ok = outer;
        }
        let list = parse_all(&ok).unwrap();
        assert_eq!(find(&list, t(0x5A)).unwrap().value(), &[0x11]);
    }

    #[test]
    fn bad_paths_are_errors() {
        let data = decode("82 02 58 00").unwrap();
        let list = parse_all(&data).unwrap();
        assert!(find_path(&list, "").is_err());
        assert!(find_path(&list, "82/XY").is_err());
        assert_eq!(find_path(&list, "82").unwrap().unwrap().value(), &[0x58, 0]);
    }

    #[test]
    fn empty_input_is_an_empty_list() {
        assert!(parse_all(&[]).unwrap().is_empty());
        assert!(parse_all(&[0, 0, 0xFF]).unwrap().is_empty());
        assert!(parse_one(&[]).is_err());
    }
}
