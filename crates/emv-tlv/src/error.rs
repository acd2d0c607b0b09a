//! The crate's one error type: what went wrong, and where (byte offset in the input).

use thiserror::Error;

/// Why a BER-TLV, DOL or hex input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TlvErrorKind {
    /// Input ended inside a tag.
    #[error("truncated tag")]
    TruncatedTag,
    /// Tag longer than 4 bytes.
    #[error("tag longer than 4 bytes")]
    TagTooLong,
    /// Input ended inside a length field.
    #[error("truncated length")]
    TruncatedLength,
    /// `80`: the indefinite length form, which EMV forbids (EMV 4.4 Book 3 Annex B2).
    #[error("indefinite length (0x80) is not allowed in EMV")]
    IndefiniteLength,
    /// A length form longer than 4 subsequent bytes (`85`..`FE`), or the reserved `FF`.
    #[error("unsupported length form 0x{0:02X}")]
    BadLengthForm(u8),
    /// The value runs past the end of its enclosing data.
    #[error("value of {needed} bytes runs past the end ({available} bytes left)")]
    ValueOverrun {
        /// Bytes the length field announced.
        needed: usize,
        /// Bytes actually left.
        available: usize,
    },
    /// Constructed objects nested deeper than the limit.
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// Bytes left after the last object that are neither a TLV nor padding.
    #[error("trailing data")]
    TrailingData,
    /// A character that is not a hex digit.
    #[error("invalid hex character {0:?}")]
    BadHexChar(char),
    /// Odd number of hex digits.
    #[error("odd number of hex digits")]
    OddHexLength,
    /// Data object list value longer than 255 bytes for one element.
    #[error("DOL length {0} is not representable")]
    DolLength(usize),
    /// A path expression that could not be read (`77/9F10`).
    #[error("bad path {0:?}")]
    BadPath(String),
    /// A value that does not fit the data element's format.
    #[error("{0}")]
    BadValue(String),
}

/// A BER-TLV, DOL or hex error with the byte offset (in the caller's whole input, for hex:
/// the character offset) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at offset {offset}: {kind}")]
pub struct TlvError {
    /// Offset of the first byte (or character) of the offending element.
    pub offset: usize,
    /// What is wrong.
    pub kind: TlvErrorKind,
}

impl TlvError {
    /// An error of `kind` at `offset`.
    pub fn new(offset: usize, kind: TlvErrorKind) -> Self {
        TlvError { offset, kind }
    }
}
