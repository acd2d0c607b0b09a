//! JWE compact serialisation (RFC 7516 §7.1), encrypt and decrypt, for the host's
//! "View PIN" tokens (the browser decrypts with WebCrypto) and its own opaque tokens.
//!
//! Supported (and nothing else, by design):
//! * key management `RSA-OAEP-256` (RFC 7518 §4.3), `ECDH-ES` direct key agreement on P-256
//!   with the Concat KDF (RFC 7518 §4.6), and `dir` (RFC 7518 §4.5);
//! * content encryption `A256GCM` (RFC 7518 §5.3).
//!
//! The protected header is minimal: `alg`, `enc`, `epk` (ECDH-ES), `apu`/`apv` (only when
//! set), `kid` and `cty` (only when set). No member is ever `null` (panva/jose rejects
//! `"apu":null`). Keys and content encryption keys are kept in zeroizing buffers and never
//! printed.
//!
//! ```
//! use emv_crypto::jwe::{JweEncrypter, PrivateJwk, decrypt};
//! # fn main() -> Result<(), emv_crypto::CryptoError> {
//! let key = PrivateJwk::symmetric(&[7u8; 32])?;
//! let token = JweEncrypter::direct_jwk(&key)?.kid("k1").encrypt(b"1234")?;
//! assert_eq!(decrypt(&token, &key)?.plaintext.as_slice(), b"1234");
//! # Ok(())
//! # }
//! ```

mod jwk;
mod jws;
mod kdf;

pub use jwk::{PrivateJwk, PublicJwk};
pub use jws::verify_es256;
pub use kdf::concat_kdf;

use core::fmt;

use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::{Aes256Gcm, KeyInit};
use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{CryptoRng, TryRng};
use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::CryptoError;
use jwk::{EcJwkOut, PrivateKey, PublicKey};

/// Content encryption key length for A256GCM (RFC 7518 §5.3: 256 bits).
pub const CEK_LEN: usize = 32;
/// Initialisation vector length for AES-GCM (RFC 7518 §5.3: 96 bits).
pub const IV_LEN: usize = 12;
/// Authentication tag length for AES-GCM (RFC 7518 §5.3: 128 bits).
pub const TAG_LEN: usize = 16;

pub(crate) fn b64e(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// base64url without padding (RFC 7515 §2), strict: padding, whitespace and non-canonical
/// trailing bits are rejected.
pub(crate) fn b64d(text: &str, what: &'static str) -> Result<Vec<u8>, CryptoError> {
    Base64UrlUnpadded::decode_vec(text).map_err(|_| CryptoError::JweMalformed(what))
}

/// Key management algorithm (the `alg` header parameter, RFC 7518 §4.1), parsed from its
/// registered name (case-sensitive, RFC 7515 §4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(parse_err_ty = CryptoError, parse_err_fn = unsupported_alg)]
pub enum KeyManagement {
    /// `RSA-OAEP-256`: the CEK is RSAES-OAEP encrypted with SHA-256 and MGF1-SHA-256
    /// (RFC 7518 §4.3).
    #[strum(serialize = "RSA-OAEP-256")]
    RsaOaep256,
    /// `ECDH-ES`: the CEK is the Concat KDF output of an ephemeral-static ECDH on P-256
    /// (RFC 7518 §4.6), no encrypted key.
    #[strum(serialize = "ECDH-ES")]
    EcdhEs,
    /// `dir`: the shared symmetric key is the CEK (RFC 7518 §4.5).
    #[strum(serialize = "dir")]
    Direct,
}

fn unsupported_alg(value: &str) -> CryptoError {
    CryptoError::JweUnsupported {
        what: "alg",
        value: value.to_owned(),
    }
}

impl KeyManagement {
    /// The registered name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Content encryption algorithm (the `enc` header parameter, RFC 7518 §5.1), parsed from
/// its registered name (case-sensitive, RFC 7516 §4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(parse_err_ty = CryptoError, parse_err_fn = unsupported_enc)]
pub enum ContentEncryption {
    /// `A256GCM` (RFC 7518 §5.3).
    #[strum(serialize = "A256GCM")]
    A256Gcm,
}

fn unsupported_enc(value: &str) -> CryptoError {
    CryptoError::JweUnsupported {
        what: "enc",
        value: value.to_owned(),
    }
}

impl ContentEncryption {
    /// The registered name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The JOSE header of a decrypted token (the members we understand).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JweHeader {
    /// `alg`.
    pub alg: KeyManagement,
    /// `enc`.
    pub enc: ContentEncryption,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `cty`, if present (e.g. `JWT` for a nested token).
    pub cty: Option<String>,
    /// `epk` (ECDH-ES only).
    pub epk: Option<PublicJwk>,
    /// `apu`, decoded (empty if absent).
    pub apu: Vec<u8>,
    /// `apv`, decoded (empty if absent).
    pub apv: Vec<u8>,
}

/// A decrypted token.
pub struct Decrypted {
    /// Its protected header.
    pub header: JweHeader,
    /// The plaintext, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("header", &self.header)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// Serialised header; field order is the emitted order, absent members are skipped.
#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'static str,
    enc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    epk: Option<EcJwkOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cty: Option<&'a str>,
}

enum Recipient<'a> {
    Rsa(&'a rsa::RsaPublicKey),
    Ec(&'a p256::PublicKey),
    Direct(Zeroizing<[u8; CEK_LEN]>),
}

/// Builds compact JWE tokens for one recipient key.
///
/// By default the CEK, IV and ephemeral key come from the operating system RNG; the
/// `with_*` methods inject them for deterministic tests.
pub struct JweEncrypter<'a> {
    recipient: Recipient<'a>,
    kid: Option<String>,
    cty: Option<String>,
    apu: Vec<u8>,
    apv: Vec<u8>,
    cek: Option<Zeroizing<[u8; CEK_LEN]>>,
    iv: Option<[u8; IV_LEN]>,
    ephemeral: Option<p256::SecretKey>,
}

impl fmt::Debug for JweEncrypter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JweEncrypter")
            .field("alg", &self.key_management())
            .field("kid", &self.kid)
            .field("cty", &self.cty)
            .finish_non_exhaustive()
    }
}

fn key32(key: &[u8], what: &'static str) -> Result<Zeroizing<[u8; CEK_LEN]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; CEK_LEN]);
    if key.len() != CEK_LEN {
        return Err(CryptoError::KeyLength {
            algorithm: what,
            expected: "32",
            got: key.len(),
        });
    }
    out.copy_from_slice(key);
    Ok(out)
}

impl<'a> JweEncrypter<'a> {
    /// Encrypts to a public JWK: `RSA-OAEP-256` for an RSA key, `ECDH-ES` for a P-256 key.
    /// The token's `kid` defaults to the JWK's `kid`.
    pub fn new(recipient: &'a PublicJwk) -> Self {
        let kid = recipient.kid().map(str::to_owned);
        let recipient = match recipient.key() {
            PublicKey::Rsa(key) => Recipient::Rsa(key),
            PublicKey::Ec(key) => Recipient::Ec(key),
        };
        Self::with_recipient(recipient, kid)
    }

    fn with_recipient(recipient: Recipient<'a>, kid: Option<String>) -> Self {
        Self {
            recipient,
            kid,
            cty: None,
            apu: Vec::new(),
            apv: Vec::new(),
            cek: None,
            iv: None,
            ephemeral: None,
        }
    }

    /// Direct encryption (`dir`) with a shared 256-bit key.
    pub fn direct(key: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self::with_recipient(
            Recipient::Direct(key32(key, "A256GCM (dir)")?),
            None,
        ))
    }

    /// Direct encryption with a symmetric (`"kty":"oct"`) JWK; `kid` defaults to its `kid`.
    pub fn direct_jwk(key: &PrivateJwk) -> Result<Self, CryptoError> {
        match key.key() {
            PrivateKey::Oct(k) => Ok(Self::with_recipient(
                Recipient::Direct(key32(k, "A256GCM (dir)")?),
                key.kid().map(str::to_owned),
            )),
            _ => Err(CryptoError::JweKey("dir needs a symmetric (oct) key")),
        }
    }

    /// The `alg` this encrypter uses.
    pub fn key_management(&self) -> KeyManagement {
        match self.recipient {
            Recipient::Rsa(_) => KeyManagement::RsaOaep256,
            Recipient::Ec(_) => KeyManagement::EcdhEs,
            Recipient::Direct(_) => KeyManagement::Direct,
        }
    }

    /// Sets the `kid` header parameter.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets the `cty` header parameter (e.g. `JWT` for a nested JWS).
    pub fn content_type(mut self, cty: impl Into<String>) -> Self {
        self.cty = Some(cty.into());
        self
    }

    /// Sets the ECDH-ES Agreement PartyUInfo / PartyVInfo (`apu`, `apv`; RFC 7518
    /// §4.6.1.2–3). Empty values are omitted from the header. Only valid for ECDH-ES.
    pub fn agreement_info(mut self, apu: &[u8], apv: &[u8]) -> Self {
        self.apu = apu.to_vec();
        self.apv = apv.to_vec();
        self
    }

    /// Uses this IV instead of a random one (tests only: never reuse an IV with a key).
    pub fn with_iv(mut self, iv: [u8; IV_LEN]) -> Self {
        self.iv = Some(iv);
        self
    }

    /// Uses this CEK instead of a random one (RSA-OAEP-256 only; tests only).
    pub fn with_cek(mut self, cek: [u8; CEK_LEN]) -> Self {
        self.cek = Some(Zeroizing::new(cek));
        self
    }

    /// Uses this ephemeral key for ECDH-ES instead of a fresh one (tests only).
    pub fn with_ephemeral_key(mut self, key: &PrivateJwk) -> Result<Self, CryptoError> {
        match key.key() {
            PrivateKey::Ec(secret) => {
                self.ephemeral = Some(secret.clone());
                Ok(self)
            }
            _ => Err(CryptoError::JweKey("the ephemeral key must be a P-256 key")),
        }
    }

    /// Encrypts `plaintext` with randomness from the operating system.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, CryptoError> {
        self.encrypt_with_rng(plaintext, &mut rand_core::UnwrapErr(getrandom::SysRng))
    }

    /// Encrypts `plaintext` (RFC 7516 §5.1) with randomness from `rng`.
    pub fn encrypt_with_rng<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<String, CryptoError> {
        let is_ecdh = matches!(self.recipient, Recipient::Ec(_));
        if !is_ecdh && (!self.apu.is_empty() || !self.apv.is_empty()) {
            return Err(CryptoError::InvalidInput {
                what: "JWE apu/apv",
                reason: "only ECDH-ES uses agreement info".into(),
            });
        }
        if self.cek.is_some() && !matches!(self.recipient, Recipient::Rsa(_)) {
            return Err(CryptoError::InvalidInput {
                what: "JWE CEK",
                reason: "a CEK can only be chosen for RSA-OAEP-256".into(),
            });
        }
        let enc = ContentEncryption::A256Gcm;
        // Steps 1–5 of RFC 7516 §5.1: CEK and JWE Encrypted Key.
        let (cek, encrypted_key, epk) = match &self.recipient {
            Recipient::Rsa(key) => {
                let cek = match &self.cek {
                    Some(cek) => cek.clone(),
                    None => {
                        let mut cek = Zeroizing::new([0u8; CEK_LEN]);
                        rng.fill_bytes(cek.as_mut_slice());
                        cek
                    }
                };
                // RFC 7518 §4.3: RSAES-OAEP with SHA-256 and MGF1 with SHA-256.
                let encrypted = key
                    .encrypt(rng, rsa::Oaep::<sha2::Sha256>::new(), cek.as_slice())
                    .map_err(|_| CryptoError::JweKey("RSA-OAEP encryption failed"))?;
                (cek, encrypted, None)
            }
            Recipient::Ec(recipient) => {
                let ephemeral = match &self.ephemeral {
                    Some(key) => key.clone(),
                    None => {
                        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(rng)
                    }
                };
                let cek = ecdh_es_cek(&ephemeral, recipient, enc, &self.apu, &self.apv)?;
                (
                    cek,
                    Vec::new(),
                    Some(EcJwkOut::new(&ephemeral.public_key(), None)),
                )
            }
            Recipient::Direct(key) => (key.clone(), Vec::new(), None),
        };
        let non_empty = |v: &[u8]| (!v.is_empty()).then(|| b64e(v));
        let header = HeaderOut {
            alg: self.key_management().name(),
            enc: enc.name(),
            epk,
            apu: non_empty(&self.apu),
            apv: non_empty(&self.apv),
            kid: self.kid.as_deref(),
            cty: self.cty.as_deref(),
        };
        let header = serde_json::to_string(&header).map_err(|_| CryptoError::InvalidInput {
            what: "JWE header",
            reason: "cannot serialise".into(),
        })?;
        let protected = b64e(header.as_bytes());
        let iv = match self.iv {
            Some(iv) => iv,
            None => {
                let mut iv = [0u8; IV_LEN];
                rng.fill_bytes(&mut iv);
                iv
            }
        };
        // Steps 13–15: AAD = ASCII(BASE64URL(UTF8(protected header))), AES-GCM.
        let mut ciphertext = plaintext.to_vec();
        let cipher = Aes256Gcm::new_from_slice(cek.as_slice())
            .map_err(|_| CryptoError::JweKey("CEK length"))?;
        let tag = cipher
            .encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(iv),
                protected.as_bytes(),
                ciphertext.as_mut_slice().into(),
            )
            .map_err(|_| CryptoError::InvalidInput {
                what: "JWE plaintext",
                reason: "too long for AES-GCM".into(),
            })?;
        // Step 19: compact serialisation.
        Ok([
            protected,
            b64e(&encrypted_key),
            b64e(&iv),
            b64e(&ciphertext),
            b64e(tag.as_slice()),
        ]
        .join("."))
    }
}

/// The ECDH-ES CEK (RFC 7518 §4.6.2): Concat KDF over Z with AlgorithmID = `enc`,
/// keydatalen = the `enc` key size.
fn ecdh_es_cek(
    secret: &p256::SecretKey,
    public: &p256::PublicKey,
    enc: ContentEncryption,
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<[u8; CEK_LEN]>, CryptoError> {
    let shared = secret.diffie_hellman(public);
    let derived = concat_kdf(
        shared.raw_secret_bytes().as_slice(),
        CEK_LEN,
        enc.name().as_bytes(),
        apu,
        apv,
    )?;
    key32(&derived, "ECDH-ES CEK")
}

fn string_member(
    header: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Option<String>, CryptoError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CryptoError::JweMalformed(what)),
    }
}

/// Parses and checks the protected header of a compact token (RFC 7516 §5.2 steps 2–5)
/// without decrypting, e.g. to choose a key by `kid`.
pub fn parse_header(token: &str) -> Result<JweHeader, CryptoError> {
    let protected = token
        .split('.')
        .next()
        .ok_or(CryptoError::JweMalformed("token"))?;
    parse_protected(protected)
}

fn parse_protected(protected: &str) -> Result<JweHeader, CryptoError> {
    let json = b64d(protected, "protected header (base64url)")?;
    let header: Map<String, Value> = serde_json::from_slice(&json)
        .map_err(|_| CryptoError::JweMalformed("protected header (JSON object)"))?;
    // RFC 7516 §4.1.13 / RFC 7515 §4.1.11: we implement no extension, so any `crit`
    // must be rejected; `zip` (§4.1.3) is not supported either.
    for unsupported in ["crit", "zip"] {
        if let Some(value) = header.get(unsupported) {
            return Err(CryptoError::JweUnsupported {
                what: if unsupported == "crit" { "crit" } else { "zip" },
                value: value.to_string(),
            });
        }
    }
    let alg = string_member(&header, "alg", "header: alg")?
        .ok_or(CryptoError::JweMalformed("header: alg missing"))?;
    let alg: KeyManagement = alg.parse()?;
    let enc = string_member(&header, "enc", "header: enc")?
        .ok_or(CryptoError::JweMalformed("header: enc missing"))?;
    let enc: ContentEncryption = enc.parse()?;
    let epk = match (alg, header.get("epk")) {
        (KeyManagement::EcdhEs, Some(value)) => {
            let epk = PublicJwk::from_value(value)?;
            if !matches!(epk.key(), PublicKey::Ec(_)) {
                return Err(CryptoError::JweKey("epk is not a P-256 key"));
            }
            Some(epk)
        }
        (KeyManagement::EcdhEs, None) => {
            return Err(CryptoError::JweMalformed("header: epk missing"));
        }
        _ => None,
    };
    let bytes_member = |name: &str, what: &'static str| -> Result<Vec<u8>, CryptoError> {
        string_member(&header, name, what)?.map_or(Ok(Vec::new()), |s| b64d(&s, what))
    };
    Ok(JweHeader {
        alg,
        enc,
        kid: string_member(&header, "kid", "header: kid")?,
        cty: string_member(&header, "cty", "header: cty")?,
        epk,
        apu: bytes_member("apu", "header: apu")?,
        apv: bytes_member("apv", "header: apv")?,
    })
}

/// Decrypts a compact JWE (RFC 7516 §5.2) with `key`: a P-256 private JWK for `ECDH-ES`,
/// an RSA private JWK for `RSA-OAEP-256`, a symmetric JWK for `dir`.
///
/// A wrong key and any change to the header, encrypted key, IV, ciphertext or tag give
/// [`CryptoError::JweDecryption`]; a failed RSA-OAEP unwrap continues with a random CEK so
/// it is not distinguishable from a bad tag (RFC 7516 §11.5).
pub fn decrypt(token: &str, key: &PrivateJwk) -> Result<Decrypted, CryptoError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(CryptoError::JweMalformed(
            "token: expected 5 base64url parts",
        ));
    };
    let header = parse_protected(protected)?;
    let encrypted_key = b64d(encrypted_key, "encrypted key")?;
    let iv: [u8; IV_LEN] = b64d(iv, "initialization vector")?
        .try_into()
        .map_err(|_| CryptoError::JweMalformed("initialization vector (must be 96 bits)"))?;
    let mut buffer = Zeroizing::new(b64d(ciphertext, "ciphertext")?);
    let tag: [u8; TAG_LEN] = b64d(tag, "authentication tag")?
        .try_into()
        .map_err(|_| CryptoError::JweMalformed("authentication tag (must be 128 bits)"))?;

    let no_encrypted_key = || {
        // RFC 7516 §5.2 step 10: for direct agreement / encryption the encrypted key must
        // be empty.
        if encrypted_key.is_empty() {
            Ok(())
        } else {
            Err(CryptoError::JweMalformed("encrypted key (must be empty)"))
        }
    };
    let cek = match (header.alg, key.key()) {
        (KeyManagement::Direct, PrivateKey::Oct(k)) => {
            no_encrypted_key()?;
            key32(k, "A256GCM (dir)")?
        }
        (KeyManagement::EcdhEs, PrivateKey::Ec(secret)) => {
            no_encrypted_key()?;
            let epk = match header.epk.as_ref().map(PublicJwk::key) {
                Some(PublicKey::Ec(epk)) => epk,
                _ => return Err(CryptoError::JweMalformed("header: epk missing")),
            };
            ecdh_es_cek(secret, epk, header.enc, &header.apu, &header.apv)?
        }
        (KeyManagement::RsaOaep256, PrivateKey::Rsa(secret)) => {
            let unwrapped = secret
                .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &encrypted_key)
                .ok()
                .map(Zeroizing::new);
            match unwrapped {
                Some(cek) if cek.len() == CEK_LEN => key32(&cek, "CEK")?,
                _ => {
                    // RFC 7516 §11.5: carry on with a random CEK; the tag check fails.
                    let mut cek = Zeroizing::new([0u8; CEK_LEN]);
                    // On RNG failure the zero key fails the tag check just the same.
                    let _ = getrandom::SysRng.try_fill_bytes(cek.as_mut_slice());
                    cek
                }
            }
        }
        _ => {
            return Err(CryptoError::JweKey(
                "the key type does not match the token's alg",
            ));
        }
    };
    let cipher =
        Aes256Gcm::new_from_slice(cek.as_slice()).map_err(|_| CryptoError::JweKey("CEK length"))?;
    cipher
        .decrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(iv),
            protected.as_bytes(),
            buffer.as_mut_slice().into(),
            &Tag::<Aes256Gcm>::from(tag),
        )
        .map_err(|_| CryptoError::JweDecryption)?;
    Ok(Decrypted {
        header,
        plaintext: buffer,
    })
}

#[cfg(test)]
mod tests;
