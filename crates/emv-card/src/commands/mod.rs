//! One module per command (EMV 4.4 Book 3 §6.5, Book 1 §11), each an `impl Card` block.

mod authenticate;
mod generate_ac;
pub(crate) mod processing;
mod scripts;
mod select;
mod verify;

use emv_tlv::{Dol, Tag};

pub(crate) use processing::GET_DATA_TAGS;

/// The values a DOL-related data field carries, by tag (Book 3 §5.4). `None` when the
/// length does not match the DOL.
pub(crate) fn split_dol(dol: &Dol, data: &[u8]) -> Option<Vec<(u32, Vec<u8>)>> {
    if data.len() != dol.data_len() {
        return None;
    }
    dol.split(data).ok().map(|v| {
        v.into_iter()
            .map(|(t, b): (Tag, &[u8])| (t.value(), b.to_vec()))
            .collect()
    })
}

/// The value of `tag` in split DOL data, or `len` zero bytes.
pub(crate) fn dol_value(values: &[(u32, Vec<u8>)], tag: u32, len: usize) -> Vec<u8> {
    values
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| vec![0; len])
}
