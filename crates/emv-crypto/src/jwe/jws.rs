//! Verification of compact JWS with `ES256` (RFC 7515, RFC 7518 §3.4), for nested tokens
//! (a signed JWT inside a JWE, `cty: JWT`).

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value};

use super::b64d;
use super::jwk::{PublicJwk, PublicKey};
use crate::CryptoError;

/// Verifies a compact JWS signed with ES256 by `key` (a P-256 public JWK) and returns its
/// payload. The header must say `"alg":"ES256"` and carry no `crit`.
pub fn verify_es256(token: &str, key: &PublicJwk) -> Result<Vec<u8>, CryptoError> {
    let PublicKey::Ec(public) = key.key() else {
        return Err(CryptoError::JweKey("ES256 needs a P-256 key"));
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(CryptoError::JweMalformed("JWS: expected 3 base64url parts"));
    };
    let header_json = b64d(header, "JWS header (base64url)")?;
    let header_map: Map<String, Value> = serde_json::from_slice(&header_json)
        .map_err(|_| CryptoError::JweMalformed("JWS header (JSON object)"))?;
    if let Some(crit) = header_map.get("crit") {
        return Err(CryptoError::JweUnsupported {
            what: "crit",
            value: crit.to_string(),
        });
    }
    match header_map.get("alg") {
        Some(Value::String(alg)) if alg == "ES256" => {}
        other => {
            return Err(CryptoError::JweUnsupported {
                what: "alg",
                value: other.map(Value::to_string).unwrap_or_default(),
            });
        }
    }
    // RFC 7518 §3.4: the signature is R ‖ S, 32 bytes each.
    let signature = Signature::from_slice(&b64d(signature, "JWS signature")?)
        .map_err(|_| CryptoError::JweMalformed("JWS signature (must be 64 bytes)"))?;
    let signing_input = format!("{header}.{payload}");
    VerifyingKey::from(public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| CryptoError::VerificationFailed("JWS ES256 signature"))?;
    b64d(payload, "JWS payload")
}
