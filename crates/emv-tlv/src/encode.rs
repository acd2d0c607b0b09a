//! The BER-TLV encoder: always the shortest length form (EMV 4.4 Book 3 Annex B2), as a
//! card personalised by this project writes it.

use crate::tag::Tag;

/// Bytes the shortest length field for `len` takes (1 to 5).
pub fn length_field_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

/// Append the shortest BER length field for `len` to `out`.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    let n = length_field_len(len);
    if n == 1 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    out.push(0x80 | (n - 1) as u8);
    out.extend_from_slice(&bytes[8 - (n - 1)..]);
}

/// Encode one primitive or constructed object whose value is already encoded.
pub fn encode_tlv(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + length_field_len(value.len()) + value.len());
    tag.write_to(&mut out);
    encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// Builds a list of data objects, nesting templates with closures:
///
/// ```
/// use emv_tlv::{Builder, Tag};
/// let bytes = Builder::new()
///     .constructed(Tag::new(0x77), |b| {
///         b.primitive(Tag::new(0x82), &[0x58, 0x00])
///             .primitive(Tag::new(0x94), &[0x08, 0x01, 0x01, 0x00])
///     })
///     .build();
/// assert_eq!(bytes, [0x77, 0x0A, 0x82, 0x02, 0x58, 0x00, 0x94, 0x04, 0x08, 0x01, 0x01, 0x00]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    out: Vec<u8>,
}

impl Builder {
    /// An empty list.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Append a primitive object.
    pub fn primitive(mut self, tag: Tag, value: &[u8]) -> Self {
        tag.write_to(&mut self.out);
        encode_length(value.len(), &mut self.out);
        self.out.extend_from_slice(value);
        self
    }

    /// Append a primitive object if `value` is present.
    pub fn optional(self, tag: Tag, value: Option<&[u8]>) -> Self {
        match value {
            Some(v) => self.primitive(tag, v),
            None => self,
        }
    }

    /// Append a constructed object whose children `fill` writes.
    pub fn constructed(mut self, tag: Tag, fill: impl FnOnce(Builder) -> Builder) -> Self {
        let inner = fill(Builder::new()).build();
        tag.write_to(&mut self.out);
        encode_length(inner.len(), &mut self.out);
        self.out.extend_from_slice(&inner);
        self
    }

    /// Append bytes that are already TLV-encoded.
    pub fn raw(mut self, encoded: &[u8]) -> Self {
        self.out.extend_from_slice(encoded);
        self
    }

    /// The encoded bytes.
    pub fn build(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_length_forms() {
        let enc = |n| {
            let mut v = Vec::new();
            encode_length(n, &mut v);
            v
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(127), [0x7F]);
        assert_eq!(enc(128), [0x81, 0x80]);
        assert_eq!(enc(255), [0x81, 0xFF]);
        assert_eq!(enc(256), [0x82, 0x01, 0x00]);
        assert_eq!(enc(65536), [0x83, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn value_of_127_bytes_uses_the_short_form() {
        // iso7816-tlv 0.4 writes 81 7F here (docs/crate-choices.md §2)
        let v = encode_tlv(Tag::new(0x90), &[0xAB; 127]);
        assert_eq!(&v[..2], &[0x90, 0x7F]);
        assert_eq!(v.len(), 129);
    }
}
