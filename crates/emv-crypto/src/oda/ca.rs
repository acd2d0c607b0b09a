//! Certification Authority public keys and the terminal's key store (Book 2 §5.2, §11.2):
//! the terminal selects the CA key with the RID of the selected AID and the CA Public Key
//! Index (tag `8F`) read from the card.

use std::collections::BTreeMap;

use super::rsa_key::RsaPublicKey;
use super::test_keys::{TEST_CA_KEYS, TEST_CA_RID};
use crate::CryptoError;

/// A Certification Authority public key as a terminal stores it (Book 2 §11.2.2, Table 29:
/// RID, index, modulus, exponent; the checksum is [`CaPublicKey::checksum`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaPublicKey {
    /// Registered Application Provider Identifier: the first 5 bytes of the AID.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index (tag `8F` on the card).
    pub index: u8,
    /// The key.
    pub key: RsaPublicKey,
}

impl CaPublicKey {
    /// Key check value of Book 2 Table 29: SHA-1(RID ‖ index ‖ modulus ‖ exponent).
    pub fn checksum(&self) -> [u8; 20] {
        self.key.ca_checksum(&self.rid, self.index)
    }
}

/// The terminal's CA public keys, looked up by (RID, index). Starts empty or with the
/// emvbench test CA; users add their own with [`CaKeyStore::insert`].
#[derive(Clone, Debug, Default)]
pub struct CaKeyStore {
    keys: BTreeMap<([u8; 5], u8), CaPublicKey>,
}

impl CaKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the **test** CA keys under the test RID `F0 00 00 00 01`
    /// (see [`crate::oda::test_keys`]).
    pub fn with_test_keys() -> Result<Self, CryptoError> {
        let mut store = Self::new();
        store.insert_test_keys(TEST_CA_RID)?;
        Ok(store)
    }

    /// Adds the **test** CA keys (indices `E1`, `E2`, `E3`) under `rid`, for card profiles
    /// that use a real scheme's AID with test certificates.
    pub fn insert_test_keys(&mut self, rid: [u8; 5]) -> Result<(), CryptoError> {
        for (index, key) in TEST_CA_KEYS {
            self.insert(CaPublicKey {
                rid,
                index,
                key: key.public_key()?,
            });
        }
        Ok(())
    }

    /// Adds or replaces a key; returns the key it replaced.
    pub fn insert(&mut self, key: CaPublicKey) -> Option<CaPublicKey> {
        self.keys.insert((key.rid, key.index), key)
    }

    /// Removes a key (e.g. a revoked or expired one).
    pub fn remove(&mut self, rid: &[u8; 5], index: u8) -> Option<CaPublicKey> {
        self.keys.remove(&(*rid, index))
    }

    /// The key for `rid` and `index`, if known.
    pub fn get(&self, rid: &[u8; 5], index: u8) -> Option<&CaPublicKey> {
        self.keys.get(&(*rid, index))
    }

    /// The key for the RID of `aid` (its first 5 bytes) and `index` (Book 2 §5.2 / §6.2:
    /// "The RID and CA Public Key Index together identify the CA public key").
    pub fn get_for_aid(&self, aid: &[u8], index: u8) -> Option<&CaPublicKey> {
        let rid: [u8; 5] = aid.get(..5)?.try_into().ok()?;
        self.get(&rid, index)
    }

    /// All keys, ordered by RID and index.
    pub fn iter(&self) -> impl Iterator<Item = &CaPublicKey> {
        self.keys.values()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
