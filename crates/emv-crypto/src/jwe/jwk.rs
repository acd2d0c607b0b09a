//! JSON Web Keys (RFC 7517, RFC 7518 §6): public EC P-256 and RSA keys as WebCrypto exports
//! them, private keys (EC, RSA, symmetric) for decryption and tests, and RFC 7638
//! thumbprints.

use core::fmt;

use p256::elliptic_curve::sec1::ToSec1Point;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest;
use zeroize::Zeroizing;

use super::{b64d, b64e};
use crate::CryptoError;

/// Smallest RSA key for RSA-OAEP-256 (RFC 7518 §4.3: "A key of size 2048 bits or larger
/// MUST be used").
const MIN_RSA_BITS: u32 = 2048;
/// P-256 field element length.
const COORD_LEN: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Ec(p256::PublicKey),
    Rsa(rsa::RsaPublicKey),
}

pub(crate) enum PrivateKey {
    Ec(p256::SecretKey),
    Rsa(Box<rsa::RsaPrivateKey>),
    Oct(Zeroizing<Vec<u8>>),
}

/// A public JWK: EC P-256 (`{"kty":"EC","crv":"P-256","x","y"}`) or RSA (`n`, `e`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    key: PublicKey,
    kid: Option<String>,
}

/// A private JWK: EC P-256 (`d`), RSA (`d`, `p`, `q`) or symmetric (`"kty":"oct"`, `k`).
/// Never printed.
pub struct PrivateJwk {
    key: PrivateKey,
    kid: Option<String>,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kty = match self.key {
            PrivateKey::Ec(_) => "EC",
            PrivateKey::Rsa(_) => "RSA",
            PrivateKey::Oct(_) => "oct",
        };
        f.debug_struct("PrivateJwk")
            .field("kty", &kty)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An EC public JWK as serialised (member order as WebCrypto exports it).
#[derive(Serialize)]
pub(crate) struct EcJwkOut {
    kty: &'static str,
    crv: &'static str,
    x: String,
    y: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

impl EcJwkOut {
    pub(crate) fn new(key: &p256::PublicKey, kid: Option<String>) -> Self {
        let (x, y) = ec_coordinates(key);
        Self {
            kty: "EC",
            crv: "P-256",
            x: b64e(&x),
            y: b64e(&y),
            kid,
        }
    }
}

#[derive(Serialize)]
struct RsaJwkOut {
    kty: &'static str,
    n: String,
    e: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

fn ec_coordinates(key: &p256::PublicKey) -> ([u8; COORD_LEN], [u8; COORD_LEN]) {
    let point = key.to_sec1_point(false);
    let bytes = point.as_bytes();
    let mut x = [0u8; COORD_LEN];
    let mut y = [0u8; COORD_LEN];
    // Uncompressed SEC1: 04 ‖ x ‖ y.
    if bytes.len() == 1 + 2 * COORD_LEN {
        x.copy_from_slice(&bytes[1..=COORD_LEN]);
        y.copy_from_slice(&bytes[1 + COORD_LEN..]);
    }
    (x, y)
}

fn member<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Option<&'a str>, CryptoError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CryptoError::JweMalformed(what)),
    }
}

fn required<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<&'a str, CryptoError> {
    member(jwk, name, what)?.ok_or(CryptoError::JweMalformed(what))
}

fn as_object(value: &Value) -> Result<&Map<String, Value>, CryptoError> {
    value
        .as_object()
        .ok_or(CryptoError::JweMalformed("JWK (not a JSON object)"))
}

fn parse_json(json: &str) -> Result<Value, CryptoError> {
    serde_json::from_str(json).map_err(|_| CryptoError::JweMalformed("JWK (not JSON)"))
}

/// A parsed private JWK whose string members (`d`, `p`, `k`, …) are zeroized on drop.
struct Scrubbed(Value);

impl Drop for Scrubbed {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        if let Value::Object(map) = &mut self.0 {
            for value in map.values_mut() {
                if let Value::String(s) = value {
                    s.zeroize();
                }
            }
        }
    }
}

fn coordinate(
    jwk: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Vec<u8>, CryptoError> {
    let bytes = b64d(required(jwk, name, what)?, what)?;
    // RFC 7518 §6.2.1.2: the full 32 octets, even with leading zeros.
    if bytes.len() != COORD_LEN {
        return Err(CryptoError::JweKey("EC coordinate is not 32 bytes"));
    }
    Ok(bytes)
}

fn parse_ec_public(jwk: &Map<String, Value>) -> Result<p256::PublicKey, CryptoError> {
    let crv = required(jwk, "crv", "JWK crv")?;
    if crv != "P-256" {
        return Err(CryptoError::JweUnsupported {
            what: "crv",
            value: crv.to_owned(),
        });
    }
    let mut sec1 = vec![0x04];
    sec1.extend(coordinate(jwk, "x", "JWK x")?);
    sec1.extend(coordinate(jwk, "y", "JWK y")?);
    // from_sec1_bytes checks the point is on the curve and not the identity.
    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| CryptoError::JweKey("not a point on P-256"))
}

fn big(jwk: &Map<String, Value>, name: &str, what: &'static str) -> Result<BoxedUint, CryptoError> {
    let bytes = Zeroizing::new(b64d(required(jwk, name, what)?, what)?);
    if bytes.is_empty() {
        return Err(CryptoError::JweMalformed(what));
    }
    Ok(BoxedUint::from_be_slice_vartime(&bytes))
}

fn parse_rsa_public(jwk: &Map<String, Value>) -> Result<rsa::RsaPublicKey, CryptoError> {
    let key = rsa::RsaPublicKey::new(big(jwk, "n", "JWK n")?, big(jwk, "e", "JWK e")?)
        .map_err(|_| CryptoError::JweKey("invalid RSA public key"))?;
    if key.n().bits() < MIN_RSA_BITS {
        return Err(CryptoError::JweKey(
            "RSA-OAEP-256 needs a key of at least 2048 bits",
        ));
    }
    Ok(key)
}

fn kty(jwk: &Map<String, Value>) -> Result<&str, CryptoError> {
    required(jwk, "kty", "JWK kty")
}

fn kid(jwk: &Map<String, Value>) -> Result<Option<String>, CryptoError> {
    Ok(member(jwk, "kid", "JWK kid")?.map(str::to_owned))
}

impl PublicJwk {
    /// Parses a public JWK (extra members such as `ext`, `key_ops`, `alg` are ignored; a
    /// private JWK's private members are ignored too).
    pub fn from_json(json: &str) -> Result<Self, CryptoError> {
        Self::from_value(&parse_json(json)?)
    }

    /// Parses a public JWK from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, CryptoError> {
        let jwk = as_object(value)?;
        let key = match kty(jwk)? {
            "EC" => PublicKey::Ec(parse_ec_public(jwk)?),
            "RSA" => PublicKey::Rsa(parse_rsa_public(jwk)?),
            other => {
                return Err(CryptoError::JweUnsupported {
                    what: "kty",
                    value: other.to_owned(),
                });
            }
        };
        Ok(Self {
            key,
            kid: kid(jwk)?,
        })
    }

    /// From a P-256 public key in SEC1 form (`04 ‖ x ‖ y` or compressed).
    pub fn from_p256_sec1(sec1: &[u8]) -> Result<Self, CryptoError> {
        let key = p256::PublicKey::from_sec1_bytes(sec1)
            .map_err(|_| CryptoError::JweKey("not a point on P-256"))?;
        Ok(Self {
            key: PublicKey::Ec(key),
            kid: None,
        })
    }

    pub(crate) fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Sets the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key management algorithm used for this key: `RSA-OAEP-256` or `ECDH-ES`.
    pub fn key_management(&self) -> super::KeyManagement {
        match self.key {
            PublicKey::Ec(_) => super::KeyManagement::EcdhEs,
            PublicKey::Rsa(_) => super::KeyManagement::RsaOaep256,
        }
    }

    /// Serialises as WebCrypto does: `{"kty":"EC","crv":"P-256","x":…,"y":…}` or
    /// `{"kty":"RSA","n":…,"e":…}`, plus `kid` when set.
    pub fn to_json(&self) -> String {
        let json = match &self.key {
            PublicKey::Ec(key) => serde_json::to_string(&EcJwkOut::new(key, self.kid.clone())),
            PublicKey::Rsa(key) => serde_json::to_string(&RsaJwkOut {
                kty: "RSA",
                n: b64e(&key.n_bytes()),
                e: b64e(&key.e_bytes()),
                kid: self.kid.clone(),
            }),
        };
        // Serialising these plain structs cannot fail.
        json.unwrap_or_default()
    }

    /// RFC 7638 JWK thumbprint: base64url(SHA-256 of the required members in
    /// lexicographic order, no whitespace).
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.key {
            PublicKey::Ec(key) => {
                let (x, y) = ec_coordinates(key);
                format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    b64e(&x),
                    b64e(&y)
                )
            }
            PublicKey::Rsa(key) => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64e(&key.e_bytes()),
                b64e(&key.n_bytes())
            ),
        };
        b64e(&sha2::Sha256::digest(canonical.as_bytes()))
    }
}

impl PrivateJwk {
    /// Parses a private JWK: EC P-256 with `d` (checked against `x`, `y`), RSA with `d`
    /// (and `p`, `q` if given; otherwise the primes are recovered), or `oct` with `k`.
    pub fn from_json(json: &str) -> Result<Self, CryptoError> {
        let value = Scrubbed(parse_json(json)?);
        let jwk = as_object(&value.0)?;
        let key = match kty(jwk)? {
            "EC" => {
                let public = parse_ec_public(jwk)?;
                let d = Zeroizing::new(b64d(required(jwk, "d", "JWK d")?, "JWK d")?);
                let secret = p256::SecretKey::from_slice(&d)
                    .map_err(|_| CryptoError::JweKey("invalid P-256 private key"))?;
                if secret.public_key() != public {
                    return Err(CryptoError::JweKey("d does not match x and y"));
                }
                PrivateKey::Ec(secret)
            }
            "RSA" => {
                let public = parse_rsa_public(jwk)?;
                let primes = match (jwk.get("p"), jwk.get("q")) {
                    (Some(_), Some(_)) => vec![big(jwk, "p", "JWK p")?, big(jwk, "q", "JWK q")?],
                    _ => Vec::new(),
                };
                let key = rsa::RsaPrivateKey::from_components(
                    public.n().as_ref().clone(),
                    public.e().clone(),
                    big(jwk, "d", "JWK d")?,
                    primes,
                )
                .map_err(|_| CryptoError::JweKey("invalid RSA private key"))?;
                PrivateKey::Rsa(Box::new(key))
            }
            "oct" => PrivateKey::Oct(Zeroizing::new(b64d(required(jwk, "k", "JWK k")?, "JWK k")?)),
            other => {
                return Err(CryptoError::JweUnsupported {
                    what: "kty",
                    value: other.to_owned(),
                });
            }
        };
        Ok(Self {
            key,
            kid: kid(jwk)?,
        })
    }

    /// A symmetric key for `dir` (32 bytes for A256GCM).
    pub fn symmetric(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != super::CEK_LEN {
            return Err(CryptoError::KeyLength {
                algorithm: "A256GCM (dir)",
                expected: "32",
                got: key.len(),
            });
        }
        Ok(Self {
            key: PrivateKey::Oct(Zeroizing::new(key.to_vec())),
            kid: None,
        })
    }

    /// A fresh P-256 key pair (e.g. for tests or a host-side recipient).
    pub fn generate_p256<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            key: PrivateKey::Ec(
                <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(rng),
            ),
            kid: None,
        }
    }

    pub(crate) fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Sets the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The public half (`None` for a symmetric key), with the same `kid`.
    pub fn public_jwk(&self) -> Option<PublicJwk> {
        let key = match &self.key {
            PrivateKey::Ec(secret) => PublicKey::Ec(secret.public_key()),
            PrivateKey::Rsa(secret) => PublicKey::Rsa(secret.to_public_key()),
            PrivateKey::Oct(_) => return None,
        };
        Some(PublicJwk {
            key,
            kid: self.kid.clone(),
        })
    }
}
