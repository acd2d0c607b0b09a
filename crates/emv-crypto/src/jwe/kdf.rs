//! The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as profiled for ECDH-ES by
//! RFC 7518 §4.6.2.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::CryptoError;

fn length_prefixed(out: &mut Vec<u8>, data: &[u8]) -> Result<(), CryptoError> {
    let len = u32::try_from(data.len()).map_err(|_| CryptoError::InvalidInput {
        what: "Concat KDF input",
        reason: "longer than 2^32 - 1 bytes".into(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// Derives `key_len` bytes from the shared secret `z` (RFC 7518 §4.6.2):
/// `K(i) = SHA-256(i ‖ Z ‖ OtherInfo)` for i = 1, 2, … (32-bit big-endian), where
/// OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo, the first three
/// prefixed with their 32-bit big-endian length and SuppPubInfo = keydatalen in bits
/// (32-bit big-endian). For direct ECDH-ES, AlgorithmID is the `enc` value.
pub fn concat_kdf(
    z: &[u8],
    key_len: usize,
    algorithm_id: &[u8],
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key_bits = key_len
        .checked_mul(8)
        .and_then(|bits| u32::try_from(bits).ok())
        .filter(|&bits| bits > 0)
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "Concat KDF key length",
            reason: format!("{key_len} bytes"),
        })?;
    let mut other_info = Vec::new();
    length_prefixed(&mut other_info, algorithm_id)?;
    length_prefixed(&mut other_info, apu)?;
    length_prefixed(&mut other_info, apv)?;
    other_info.extend_from_slice(&key_bits.to_be_bytes());

    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut counter: u32 = 1;
    while out.len() < key_len {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        h.update(&other_info);
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(key_len);
    Ok(out)
}
