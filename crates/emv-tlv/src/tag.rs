//! BER-TLV tags (ISO/IEC 8825-1 as profiled by EMV 4.4 Book 3 Annex B1).

use core::fmt;

use crate::error::{TlvError, TlvErrorKind};

/// Longest tag EMV allows: EMV 4.4 Book 3 Annex B1 uses at most 3 bytes; we accept up to 4
/// (ISO/IEC 7816-4 §5.2.2.1 allows longer, no payment application uses them).
pub const MAX_TAG_LEN: usize = 4;

/// A BER-TLV tag, stored as its encoded bytes read big-endian (`9F26` is `Tag::new(0x9F26)`).
///
/// `Tag::new` does not validate; tags read from bytes by [`Tag::parse`] always have a valid
/// encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);

/// Tag class (bits b8-b7 of the first tag byte), ISO/IEC 8825-1 §8.1.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    /// `00`: universal class.
    Universal,
    /// `01`: application class (EMV tags such as `5A`, `5F2A`).
    Application,
    /// `10`: context-specific class (EMV tags such as `82`, `9F26`).
    ContextSpecific,
    /// `11`: private class (issuer/scheme proprietary, such as `DF01`).
    Private,
}

impl Tag {
    /// A tag from its encoded bytes read as a big-endian number (`0x9F26`). Not validated.
    pub const fn new(raw: u32) -> Self {
        Tag(raw)
    }

    /// The encoded bytes read as a big-endian number.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// Number of encoded bytes (1 to 4).
    pub const fn len(self) -> usize {
        if self.0 > 0xFF_FFFF {
            4
        } else if self.0 > 0xFFFF {
            3
        } else if self.0 > 0xFF {
            2
        } else {
            1
        }
    }

    /// Always false: a tag has at least one byte. Present for clippy's `len_without_is_empty`.
    pub const fn is_empty(self) -> bool {
        false
    }

    /// First encoded byte.
    pub const fn first_byte(self) -> u8 {
        (self.0 >> (8 * (self.len() - 1))) as u8
    }

    /// Constructed (b6 of the first byte set): the value is itself a list of TLVs.
    /// ISO/IEC 8825-1 §8.1.2.5.
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag's class.
    pub const fn class(self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// The encoded bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        let n = self.len();
        self.0.to_be_bytes()[4 - n..].to_vec()
    }

    /// Append the encoded bytes to `out`.
    pub fn write_to(self, out: &mut Vec<u8>) {
        let n = self.len();
        out.extend_from_slice(&self.0.to_be_bytes()[4 - n..]);
    }

    /// Read one tag at the start of `input`; returns the tag and how many bytes it used.
    ///
    /// Multi-byte tags: low five bits of the first byte all set, then subsequent bytes with
    /// b8 set continue the tag (EMV 4.4 Book 3 Annex B1). `base` is the offset of `input` in
    /// the caller's buffer, used in error messages.
    pub fn parse(input: &[u8], base: usize) -> Result<(Tag, usize), TlvError> {
        let Some(&first) = input.first() else {
            return Err(TlvError::new(base, TlvErrorKind::TruncatedTag));
        };
        let mut raw = u32::from(first);
        if first & 0x1F != 0x1F {
            return Ok((Tag(raw), 1));
        }
        let mut used = 1;
        loop {
            let Some(&b) = input.get(used) else {
                return Err(TlvError::new(base, TlvErrorKind::TruncatedTag));
            };
            used += 1;
            if used > MAX_TAG_LEN {
                return Err(TlvError::new(base, TlvErrorKind::TagTooLong));
            }
            raw = (raw << 8) | u32::from(b);
            if b & 0x80 == 0 {
                return Ok((Tag(raw), used));
            }
        }
    }

    /// Parse a tag written as hex (`"9F26"`, `"9f 26"`); the whole string must be one tag.
    pub fn from_hex(s: &str) -> Result<Tag, TlvError> {
        let bytes = crate::hex::decode(s)?;
        let (tag, used) = Tag::parse(&bytes, 0)?;
        if used != bytes.len() {
            return Err(TlvError::new(used, TlvErrorKind::TrailingData));
        }
        Ok(tag)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$X}", self.0, width = self.len() * 2)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl core::str::FromStr for Tag {
    type Err = TlvError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tag::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_byte_tags() {
        assert_eq!(Tag::parse(&[0x82, 0x02], 0).unwrap(), (Tag::new(0x82), 1));
        assert_eq!(
            Tag::parse(&[0x9F, 0x26, 0x08], 0).unwrap(),
            (Tag::new(0x9F26), 2)
        );
        assert_eq!(
            Tag::parse(&[0xDF, 0x81, 0x17], 0).unwrap(),
            (Tag::new(0xDF8117), 3)
        );
        assert!(Tag::new(0x77).is_constructed());
        assert!(Tag::new(0xBF0C).is_constructed());
        assert!(!Tag::new(0x9F26).is_constructed());
        assert_eq!(Tag::new(0x5F2A).class(), TagClass::Application);
        assert_eq!(Tag::new(0xDF01).class(), TagClass::Private);
        assert_eq!(Tag::new(0x9F26).to_string(), "9F26");
        assert_eq!(Tag::new(0x9F26).to_bytes(), vec![0x9F, 0x26]);
        assert_eq!("9f 26".parse::<Tag>().unwrap(), Tag::new(0x9F26));
    }

    #[test]
    fn truncated_and_overlong_tags_are_errors() {
        assert_eq!(Tag::parse(&[0x9F], 7).unwrap_err().offset, 7);
        assert_eq!(
            Tag::parse(&[0x9F, 0x81], 0).unwrap_err().kind,
            TlvErrorKind::TruncatedTag
        );
        assert_eq!(
            Tag::parse(&[0x9F, 0x81, 0x81, 0x81, 0x01], 0)
                .unwrap_err()
                .kind,
            TlvErrorKind::TagTooLong
        );
    }
}
