//! The transaction's data objects: what the card returned (ICC data) and what the terminal
//! holds (terminal data), kept apart so a card cannot overwrite terminal data.

use std::collections::{BTreeMap, BTreeSet};

use emv_tlv::{Dol, Tag};

/// ICC and terminal data objects of one transaction.
#[derive(Debug, Clone, Default)]
pub struct DataStore {
    icc: BTreeMap<Tag, Vec<u8>>,
    from_fci: BTreeSet<Tag>,
    terminal: BTreeMap<Tag, Vec<u8>>,
}

impl DataStore {
    /// Terminal data first (the terminal's own values win), then ICC data.
    pub fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.terminal
            .get(&tag)
            .or_else(|| self.icc.get(&tag))
            .map(Vec::as_slice)
    }

    /// A data object the card returned.
    pub fn icc(&self, tag: Tag) -> Option<&[u8]> {
        self.icc.get(&tag).map(Vec::as_slice)
    }

    /// A terminal data object.
    pub fn terminal(&self, tag: Tag) -> Option<&[u8]> {
        self.terminal.get(&tag).map(Vec::as_slice)
    }

    /// Store a card data object read during application processing. Returns `false` (and
    /// keeps the first value) if the tag was already read: Book 3 §10.2 "If the terminal
    /// encounters more than one occurrence of a single primitive data object while reading
    /// data from the ICC, the transaction shall be terminated".
    /// Data from the FCI (label, priority, PDOL, ...) may be repeated in the records.
    pub fn insert_icc_unique(&mut self, tag: Tag, value: &[u8]) -> bool {
        if self.icc.contains_key(&tag) && !self.from_fci.remove(&tag) {
            return false;
        }
        self.icc.insert(tag, value.to_vec());
        true
    }

    /// Store or replace a card data object (GENERATE AC results, GET DATA answers, or a
    /// test injecting card data).
    pub fn set_icc(&mut self, tag: Tag, value: &[u8]) {
        self.icc.insert(tag, value.to_vec());
    }

    /// Store a data object of the FCI of the selected application.
    pub fn set_fci(&mut self, tag: Tag, value: &[u8]) {
        self.icc.insert(tag, value.to_vec());
        self.from_fci.insert(tag);
    }

    /// Forget a card data object.
    pub fn remove_icc(&mut self, tag: Tag) {
        self.icc.remove(&tag);
    }

    /// Forget every card data object (a new application is selected).
    pub fn clear_icc(&mut self) {
        self.icc.clear();
        self.from_fci.clear();
    }

    /// Store or replace a terminal data object.
    pub fn set_terminal(&mut self, tag: Tag, value: &[u8]) {
        self.terminal.insert(tag, value.to_vec());
    }

    /// DOL-related data for `dol` (Book 3 §5.4): values from [`DataStore::get`], formats
    /// from the tag dictionary, missing values zero-filled.
    pub fn build_dol(&self, dol: &Dol) -> Vec<u8> {
        dol.build(|tag| self.get(tag))
    }

    /// Every ICC data object, by tag.
    pub fn icc_objects(&self) -> impl Iterator<Item = (Tag, &[u8])> {
        self.icc.iter().map(|(t, v)| (*t, v.as_slice()))
    }
}
