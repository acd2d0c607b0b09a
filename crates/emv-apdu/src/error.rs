//! The crate's one error type.

use crate::status::StatusWord;

/// Everything that can go wrong when parsing, encoding or building an APDU.
///
/// Parse errors carry the byte offset (from the start of the APDU) where the input
/// stopped making sense, so a trace or a card log can point at the culprit byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// A C-APDU shorter than the 4-byte header `CLA INS P1 P2`.
    #[error("C-APDU too short: {len} byte(s), the header CLA INS P1 P2 needs 4")]
    CommandTooShort {
        /// Length of the input.
        len: usize,
    },

    /// Byte 4 is `00` and exactly one byte follows it (a 6-byte C-APDU). A short Lc must
    /// be 1..=255, and an extended length field (`00` + 2 bytes) needs two more bytes;
    /// this is what a broken encoder produces for "Lc = 0, Le = xx".
    #[error(
        "Lc = 00 at offset 4 followed by a single byte: a short Lc must be 1..=255 and an extended length field needs 2 more bytes"
    )]
    ShortLcZero,

    /// An extended Lc field (`00 hi lo`) whose value is `0000` but that is followed by
    /// more bytes. (`00 00 00` with nothing after it is a valid case 2E, Le = 65536.)
    #[error("extended Lc = 0000 at offset {offset}: extended Lc must be 1..=65535")]
    ExtendedLcZero {
        /// Offset of the two Lc bytes.
        offset: usize,
    },

    /// Lc announces more data bytes than the C-APDU contains.
    #[error("Lc = {lc} (at offset {lc_offset}) but only {available} data byte(s) follow")]
    DataTruncated {
        /// The value of Lc.
        lc: usize,
        /// Offset of the Lc field.
        lc_offset: usize,
        /// How many bytes actually follow the Lc field.
        available: usize,
    },

    /// After an extended Lc and its data exactly one byte is left: an extended case 4
    /// needs a 2-byte Le.
    #[error(
        "one byte at offset {offset} after the data of an extended C-APDU: extended Le needs 2 bytes"
    )]
    ExtendedLeTruncated {
        /// Offset of the lone byte.
        offset: usize,
    },

    /// Bytes left over after the Le field (or after the data of a case 3 command with
    /// more than one byte left over).
    #[error("{count} trailing byte(s) at offset {offset} after the end of the C-APDU")]
    TrailingBytes {
        /// Offset of the first unexpected byte.
        offset: usize,
        /// Number of unexpected bytes.
        count: usize,
    },

    /// An R-APDU shorter than the two status bytes SW1 SW2.
    #[error("R-APDU too short: {len} byte(s), SW1 SW2 need 2")]
    ResponseTooShort {
        /// Length of the input.
        len: usize,
    },

    /// Encoding: more command data than an extended Lc can announce (65535).
    #[error("command data too long: {len} bytes, at most 65535 can be sent")]
    DataTooLong {
        /// Length of the data field.
        len: usize,
    },

    /// Encoding: Ne must be absent or 1..=65536.
    #[error("invalid Ne {ne}: must be 1..=65536 (or absent)")]
    InvalidNe {
        /// The rejected value.
        ne: usize,
    },

    /// Encoding: a short APDU was requested but the data (> 255 bytes) or Ne (> 256)
    /// need extended length fields.
    #[error(
        "command needs extended length fields (Nc = {nc}, Ne = {ne:?}) but short form was requested"
    )]
    NeedsExtendedLength {
        /// Length of the data field.
        nc: usize,
        /// Expected response length.
        ne: Option<usize>,
    },

    /// Builder: a short file identifier outside 1..=30 (EMV 4.4 Book 3 §6.5.11; AFL, §10.2).
    #[error("invalid SFI {sfi}: EMV short file identifiers are 1..=30")]
    InvalidSfi {
        /// The rejected SFI.
        sfi: u8,
    },

    /// Builder: record number 0 (EMV record numbers start at 1).
    #[error("invalid record number 0: EMV record numbers start at 1")]
    InvalidRecordNumber,

    /// The card answered with a status word the caller did not accept (see
    /// [`crate::Response::into_success_data`]).
    #[error("card returned {sw}: {}", sw.meaning())]
    UnexpectedStatus {
        /// The status word the card returned.
        sw: StatusWord,
    },
}
