//! The host's keys, read from a TOML key file (never from code): PIN verification keys,
//! the decimalisation table, the storage keys, terminal PIN keys by key id and the issuer
//! API keys. See `host-keys/test-keys.toml` for the layout.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use emv_crypto::jwe::{self, JweEncrypter, PrivateJwk};
use emv_crypto::pvv::DecimalisationTable;
use emv_crypto::{AesKey, TdesKey};
use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;

/// The committed TEST key file (`host-keys/test-keys.toml` in the repository), compiled in
/// so that the binary works from any directory: the default when no key file is given. Its
/// keys are public; never use them in production.
pub const TEST_KEYS_TOML: &str = include_str!("../../../host-keys/test-keys.toml");

/// A secret string from a TOML or JSON file, zeroized on drop and redacted in `Debug`.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(Zeroizing::new(s.into()))
    }

    /// The secret text: deliberately reveals it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    pin_verification: PinVerificationToml,
    storage: StorageToml,
    #[serde(default)]
    terminal_keys: Vec<TerminalKeyToml>,
    #[serde(default)]
    api_keys: Vec<ApiKeyToml>,
    #[serde(default)]
    acquirer_keys: Vec<ApiKeyToml>,
    #[serde(default)]
    iso8583_links: Vec<LinkToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkToml {
    name: String,
    mac_key: Secret,
    pin_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinVerificationToml {
    default_pvki: u8,
    decimalisation_table: String,
    #[serde(default = "default_pad")]
    validation_pad: char,
    pvk: Vec<PvkToml>,
}

fn default_pad() -> char {
    'F'
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PvkToml {
    pvki: u8,
    key: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageToml {
    pin_key: Secret,
    data_key: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TerminalKeyToml {
    id: String,
    algorithm: String,
    key: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyToml {
    name: String,
    key: Secret,
}

/// A terminal PIN key: TDES for ISO 9564 format 0, AES for format 4.
#[derive(Debug, Clone)]
pub enum TerminalKey {
    /// Double- or triple-length TDES key (format 0 PIN blocks).
    Tdes(TdesKey),
    /// AES key (format 4 PIN blocks).
    Aes(AesKey),
}

/// The keys of one ISO 8583 link (one acquirer or switch connection).
#[derive(Debug, Clone)]
pub struct LinkKeys {
    /// The link's name (`--iso8583-link NAME`).
    pub name: String,
    /// The MAC key: ISO/IEC 9797-1 MAC algorithm 3 over the message, in DE 64 or DE 128.
    pub mac_key: TdesKey,
    /// The zone PIN key (a terminal key id) a PIN block is under when DE 53 is absent.
    pub pin_key: String,
}

/// All keys of the host. `Debug` shows no key material.
pub struct HostKeys {
    pvks: BTreeMap<u8, TdesKey>,
    default_pvki: u8,
    decimalisation: DecimalisationTable,
    validation_pad: char,
    pin_storage: AesKey,
    data_key: PrivateJwk,
    /// PIN Control's token key, derived from the data key: every host node with this
    /// key file mints and reads the same tokens (docs/issuer-host.md §6.1).
    pin_control_key: PrivateJwk,
    terminal: BTreeMap<String, TerminalKey>,
    api_keys: Vec<(String, Secret)>,
    acquirer_keys: Vec<(String, Secret)>,
    links: Vec<LinkKeys>,
}

impl fmt::Debug for HostKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostKeys")
            .field("pvkis", &self.pvks.keys().collect::<Vec<_>>())
            .field("terminal_keys", &self.terminal.keys().collect::<Vec<_>>())
            .field(
                "api_keys",
                &self.api_keys.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "acquirer_keys",
                &self
                    .acquirer_keys
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field(
                "iso8583_links",
                &self.links.iter().map(|l| &l.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Named secrets of at least 16 characters (API keys, acquirer keys).
fn named_keys(what: &str, keys: Vec<ApiKeyToml>) -> Result<Vec<(String, Secret)>, Error> {
    let mut out: Vec<(String, Secret)> = Vec::new();
    for a in keys {
        if a.key.expose().len() < 16 {
            return Err(kf(format!(
                "{what} {} must be at least 16 characters",
                a.name
            )));
        }
        out.push((a.name, a.key));
    }
    Ok(out)
}

/// The name of the key `presented` matches, comparing every key in constant time.
fn check_key<'a>(keys: &'a [(String, Secret)], presented: &str) -> Option<&'a str> {
    let mut found = None;
    for (name, key) in keys {
        let a = presented.as_bytes();
        let b = key.expose().as_bytes();
        // lengths are not secret (keys have a fixed format); contents compared in constant time
        if a.len() == b.len() && bool::from(a.ct_eq(b)) {
            found = Some(name.as_str());
        }
    }
    found
}

/// The `[storage]` keys: the PIN storage key, the data key, and PIN Control's token key
/// derived from the data key.
fn storage_keys(storage: &StorageToml) -> Result<(AesKey, PrivateJwk, PrivateJwk), Error> {
    let pin_storage = AesKey::from_hex(storage.pin_key.expose())
        .map_err(|e| kf(format!("storage.pin_key: {e}")))?;
    let data_bytes = Zeroizing::new(
        hex::decode(storage.data_key.expose())
            .map_err(|e| kf(format!("storage.data_key: not hex ({e})")))?,
    );
    let data_key = PrivateJwk::symmetric(&data_bytes)
        .map_err(|e| kf(format!("storage.data_key must be an AES-256 key: {e}")))?;
    // a key of its own for PIN Control tokens, from the data key by the one-step KDF
    // of NIST SP 800-56A §5.8.1 (SHA-256), labelled so it can never equal another use
    let token_bytes = emv_crypto::jwe::concat_kdf(
        &data_bytes,
        32,
        b"emvbench PIN Control token key v1",
        b"",
        b"",
    )
    .map_err(|e| kf(format!("storage.data_key: {e}")))?;
    let pin_control_key = PrivateJwk::symmetric(&token_bytes).map_err(|e| kf(e.to_string()))?;
    Ok((pin_storage, data_key, pin_control_key))
}

fn kf(msg: impl Into<String>) -> Error {
    Error::KeyFile(msg.into())
}

impl HostKeys {
    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading key file {}", path.display()), e))?,
        );
        Self::from_toml(&text).map_err(|e| match e {
            Error::KeyFile(m) => Error::KeyFile(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The committed TEST keys ([`TEST_KEYS_TOML`], built in).
    pub fn load_test_keys() -> Result<Self, Error> {
        Self::from_toml(TEST_KEYS_TOML).map_err(|e| match e {
            Error::KeyFile(m) => Error::KeyFile(format!("the built-in TEST key file: {m}")),
            other => other,
        })
    }

    /// Parses the TOML text of a key file.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let file: KeyFile = toml::from_str(text).map_err(|e| kf(e.to_string()))?;
        let pv = file.pin_verification;
        let mut pvks = BTreeMap::new();
        for p in pv.pvk {
            if p.pvki > 9 {
                return Err(kf(format!("PVKI must be one digit 0-9, got {}", p.pvki)));
            }
            let key = TdesKey::from_hex(p.key.expose())
                .map_err(|e| kf(format!("PVK with PVKI {}: {e}", p.pvki)))?;
            if pvks.insert(p.pvki, key).is_some() {
                return Err(kf(format!("PVKI {} appears twice", p.pvki)));
            }
        }
        if !pvks.contains_key(&pv.default_pvki) {
            return Err(kf(format!(
                "default_pvki {} has no [[pin_verification.pvk]] entry",
                pv.default_pvki
            )));
        }
        let decimalisation =
            DecimalisationTable::new(&pv.decimalisation_table).map_err(|e| kf(e.to_string()))?;
        if !pv.validation_pad.is_ascii_hexdigit() {
            return Err(kf("validation_pad must be one hex digit"));
        }
        let (pin_storage, data_key, pin_control_key) = storage_keys(&file.storage)?;
        let mut terminal = BTreeMap::new();
        for t in file.terminal_keys {
            let key = match t.algorithm.to_ascii_lowercase().as_str() {
                "tdes" | "3des" => TerminalKey::Tdes(
                    TdesKey::from_hex(t.key.expose())
                        .map_err(|e| kf(format!("terminal key {}: {e}", t.id)))?,
                ),
                "aes" => TerminalKey::Aes(
                    AesKey::from_hex(t.key.expose())
                        .map_err(|e| kf(format!("terminal key {}: {e}", t.id)))?,
                ),
                other => {
                    return Err(kf(format!(
                        "terminal key {}: algorithm must be tdes or aes, got {other:?}",
                        t.id
                    )));
                }
            };
            if terminal.insert(t.id.clone(), key).is_some() {
                return Err(kf(format!("terminal key id {} appears twice", t.id)));
            }
        }
        let api_keys = named_keys("API key", file.api_keys)?;
        let acquirer_keys = named_keys("acquirer key", file.acquirer_keys)?;
        // the management and the network credentials are distinct: one must never
        // open the other's routes
        if let Some((name, _)) = acquirer_keys
            .iter()
            .find(|(_, k)| api_keys.iter().any(|(_, a)| a.expose() == k.expose()))
        {
            return Err(kf(format!(
                "acquirer key {name} is also an issuer API key: use distinct keys"
            )));
        }
        let mut links: Vec<LinkKeys> = Vec::new();
        for l in file.iso8583_links {
            let mac_key = TdesKey::from_hex(l.mac_key.expose())
                .map_err(|e| kf(format!("ISO 8583 link {}: mac_key: {e}", l.name)))?;
            if !terminal.contains_key(&l.pin_key) {
                return Err(kf(format!(
                    "ISO 8583 link {}: pin_key {} is not a [[terminal_keys]] id",
                    l.name, l.pin_key
                )));
            }
            if links.iter().any(|k| k.name == l.name) {
                return Err(kf(format!("ISO 8583 link {} appears twice", l.name)));
            }
            links.push(LinkKeys {
                name: l.name,
                mac_key,
                pin_key: l.pin_key,
            });
        }
        Ok(Self {
            pvks,
            default_pvki: pv.default_pvki,
            decimalisation,
            validation_pad: pv.validation_pad.to_ascii_uppercase(),
            pin_storage,
            data_key,
            pin_control_key,
            terminal,
            api_keys,
            acquirer_keys,
            links,
        })
    }

    /// The PVK with this PVKI.
    pub fn pvk(&self, pvki: u8) -> Result<&TdesKey, Error> {
        self.pvks
            .get(&pvki)
            .ok_or_else(|| kf(format!("no PVK with PVKI {pvki}")))
    }

    /// The PVKI new cards use.
    pub fn default_pvki(&self) -> u8 {
        self.default_pvki
    }

    /// The IBM 3624 decimalisation table.
    pub fn decimalisation(&self) -> &DecimalisationTable {
        &self.decimalisation
    }

    /// The IBM 3624 validation-data pad character.
    pub fn validation_pad(&self) -> char {
        self.validation_pad
    }

    /// The AES key that encrypts PINs at rest (ISO 9564 format 4).
    pub fn pin_storage_key(&self) -> &AesKey {
        &self.pin_storage
    }

    /// The terminal PIN key named `id`.
    pub fn terminal_key(&self, id: &str) -> Result<&TerminalKey, Error> {
        self.terminal
            .get(id)
            .ok_or_else(|| Error::UnknownKeyId(id.to_string()))
    }

    /// The first issuer API key of the key file, for clients that hold the same key file
    /// (`emvbench run --host http://...` against a host using the TEST keys).
    pub fn client_api_key(&self) -> Option<&Secret> {
        self.api_keys.first().map(|(_, k)| k)
    }

    /// The name of the API key `presented` matches, comparing every key in constant time.
    pub fn check_api_key(&self, presented: &str) -> Option<&str> {
        check_key(&self.api_keys, presented)
    }

    /// The first acquirer key of the key file, for terminals that hold the same key file
    /// (`emvbench run --host http://...`).
    pub fn client_acquirer_key(&self) -> Option<&Secret> {
        self.acquirer_keys.first().map(|(_, k)| k)
    }

    /// The name of the acquirer key `presented` matches (constant time, like
    /// [`HostKeys::check_api_key`]).
    pub fn check_acquirer_key(&self, presented: &str) -> Option<&str> {
        check_key(&self.acquirer_keys, presented)
    }

    /// The ISO 8583 link named `name`, or the key file's first link when `name` is `None`.
    pub fn iso8583_link(&self, name: Option<&str>) -> Result<&LinkKeys, Error> {
        match name {
            Some(n) => self.links.iter().find(|l| l.name == n),
            None => self.links.first(),
        }
        .ok_or_else(|| {
            kf(match name {
                Some(n) => format!("no [[iso8583_links]] entry named {n}"),
                None => "the key file has no [[iso8583_links]] entry".into(),
            })
        })
    }

    /// Encrypts data at rest under the data key (JWE compact, `dir` + A256GCM).
    /// The key PIN Control tokens are encrypted under (A256GCM, direct).
    pub(crate) fn pin_control_key(&self) -> &PrivateJwk {
        &self.pin_control_key
    }

    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<String, Error> {
        Ok(JweEncrypter::direct_jwk(&self.data_key)?.encrypt(plaintext)?)
    }

    /// Decrypts and authenticates data sealed by [`HostKeys::seal`].
    pub(crate) fn open(&self, token: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        Ok(jwe::decrypt(token, &self.data_key)?.plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquirer_keys_and_links_are_their_own_credentials() {
        let k = HostKeys::load_test_keys().unwrap();
        let acq = "test-acquirer-key-do-not-use-in-production";
        assert_eq!(k.check_acquirer_key(acq), Some("test-acquirer"));
        assert_eq!(
            k.check_api_key(acq),
            None,
            "an acquirer key opens no management route"
        );
        assert_eq!(
            k.check_acquirer_key("test-issuer-api-key-do-not-use-in-production"),
            None
        );
        assert_eq!(k.client_acquirer_key().map(Secret::expose), Some(acq));
        let link = k.iso8583_link(None).unwrap();
        assert_eq!(
            (link.name.as_str(), link.pin_key.as_str()),
            ("test-link", "TPK-TEST-01")
        );
        assert_eq!(k.iso8583_link(Some("test-link")).unwrap().name, "test-link");
        assert!(matches!(
            k.iso8583_link(Some("other")),
            Err(Error::KeyFile(_))
        ));
        let dbg = format!("{k:?}");
        assert!(
            dbg.contains("test-link") && !dbg.contains("4F1E8A3B"),
            "{dbg}"
        );

        let base = TEST_KEYS_TOML;
        let shared = base.replace(
            "key = \"test-acquirer-key-do-not-use-in-production\"",
            "key = \"test-issuer-api-key-do-not-use-in-production\"",
        );
        assert!(
            matches!(HostKeys::from_toml(&shared), Err(Error::KeyFile(m)) if m.contains("distinct"))
        );
        let bad_pin_key = base.replace("pin_key = \"TPK-TEST-01\"", "pin_key = \"TPK-NONE\"");
        assert!(
            matches!(HostKeys::from_toml(&bad_pin_key), Err(Error::KeyFile(m)) if m.contains("TPK-NONE"))
        );
    }

    #[test]
    fn test_key_file_loads_and_redacts() {
        let k = HostKeys::load_test_keys().unwrap();
        assert!(matches!(
            k.terminal_key("TPK-TEST-01").unwrap(),
            TerminalKey::Tdes(_)
        ));
        assert!(matches!(
            k.terminal_key("TPK-AES-TEST-01").unwrap(),
            TerminalKey::Aes(_)
        ));
        assert!(matches!(
            k.terminal_key("nope"),
            Err(Error::UnknownKeyId(_))
        ));
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("C1D0F8FB"), "{dbg}");
        assert_eq!(
            k.check_api_key("test-issuer-api-key-do-not-use-in-production"),
            Some("test-issuer")
        );
        assert_eq!(
            k.check_api_key("test-issuer-api-key-do-not-use-in-productioN"),
            None
        );
        let sealed = k.seal(b"abc").unwrap();
        assert_eq!(&k.open(&sealed).unwrap()[..], b"abc");
    }

    #[test]
    fn bad_key_files_name_the_problem() {
        let err = HostKeys::from_toml("[storage]\npin_key='00'\ndata_key='00'").unwrap_err();
        assert!(err.to_string().contains("pin_verification"), "{err}");
        let text = TEST_KEYS_TOML.replace("algorithm = \"aes\"", "algorithm = \"rsa\"");
        let err = HostKeys::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("tdes or aes"), "{err}");
    }
}
