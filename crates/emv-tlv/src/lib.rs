//! BER-TLV for EMV: a borrowing parser that keeps every element's raw bytes, an encoder,
//! path lookup, data object lists (DOLs), the EMV tag dictionary, and typed bit fields
//! (AIP, AUC, TVR, TSI, CVM List and Results, terminal capabilities, CID, AFL, IAD/CVR)
//! with readable decoding.
//!
//! Sources: EMV 4.4 Book 3 Annex B (BER-TLV coding), §5.4 (DOLs), Annex A (data elements),
//! Annex C (bit fields); Book 4 Annex A (terminal data elements).
//!
//! Pure: no I/O. Every error names the byte offset where the input went wrong.
//!
//! ```
//! let data = emv_tlv::hex::decode("77 0E 82 02 58 00 94 08 08 01 01 00 10 01 03 01")?;
//! let list = emv_tlv::parse_all(&data)?;
//! let aip = emv_tlv::find_path(&list, "77/82")?.expect("AIP present");
//! assert_eq!(aip.value(), [0x58, 0x00]);
//! # Ok::<(), emv_tlv::TlvError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod bits;
pub mod describe;
pub mod dictionary;
pub mod dol;
pub mod encode;
pub mod error;
pub mod format;
pub mod hex;
pub mod tag;
pub mod tags;
pub mod tlv;

pub use dictionary::{TagInfo, lookup};
pub use dol::{Dol, DolEntry};
pub use encode::{Builder, encode_length, encode_tlv};
pub use error::{TlvError, TlvErrorKind};
pub use format::{Format, Source};
pub use tag::{Tag, TagClass};
pub use tlv::{MAX_DEPTH, Tlv, TlvIter, find, find_all, find_path, iter, parse_all, parse_one};
