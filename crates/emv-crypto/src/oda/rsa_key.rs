//! EMV RSA keys and the two raw RSA operations of EMV 4.4 Book 2 Annex B2.1:
//! the *recovery function* (public operation, `X = S^e mod n`) and the *signature
//! function* (private operation, `S = X^d mod n`), without any padding.
//!
//! EMV keys are small by today's standards (issuer and ICC keys of 768 or 896 bits are
//! common in test decks) and use e = 3 or e = 2^16 + 1 (Book 2 Annex B2.1.1), so these
//! wrappers accept moduli of 512..=2048 bits, which the `rsa` crate only allows through
//! `new_with_size_limits`.

use core::fmt;
use std::sync::Arc;

use rand_core::CryptoRng;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use super::rsa_fixed::{self, CrtOp, CrtParts, PublicOp};
use crate::CryptoError;

/// Smallest modulus accepted, in bits.
pub const MIN_MODULUS_BITS: usize = 512;
/// Largest modulus accepted, in bits (EMV 4.4 allows CA keys up to 1984 bits; we allow 2048).
pub const MAX_MODULUS_BITS: usize = 2048;

/// The two public exponents EMV allows (Book 2 Annex B2.1.1: "e = 3 or e = 2^16 + 1").
const EXPONENT_3: [u8; 1] = [0x03];
const EXPONENT_65537: [u8; 3] = [0x01, 0x00, 0x01];

fn invalid(what: &'static str, reason: impl Into<String>) -> CryptoError {
    CryptoError::InvalidInput {
        what,
        reason: reason.into(),
    }
}

fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Canonical encoding of an allowed public exponent, or an error.
fn canonical_exponent(exponent: &[u8]) -> Result<&'static [u8], CryptoError> {
    match trim_leading_zeros(exponent) {
        [0x03] => Ok(&EXPONENT_3),
        [0x01, 0x00, 0x01] => Ok(&EXPONENT_65537),
        _ => Err(invalid(
            "RSA public exponent",
            "EMV allows only 3 or 65537 (Book 2 Annex B2.1.1)",
        )),
    }
}

/// Writes `value` big-endian into exactly `len` bytes (left-padded with zeros). The value is
/// always smaller than the modulus, so it fits.
fn to_fixed_len(value: &BoxedUint, len: usize) -> Result<Vec<u8>, CryptoError> {
    // The intermediate may hold a deciphered PIN block: zeroize it too.
    let bytes = Zeroizing::new(value.to_be_bytes());
    let trimmed = trim_leading_zeros(&bytes);
    if trimmed.len() > len {
        return Err(invalid("RSA result", "longer than the modulus"));
    }
    let mut out = vec![0u8; len];
    out[len - trimmed.len()..].copy_from_slice(trimmed);
    Ok(out)
}

/// An EMV RSA public key (CA, issuer, ICC or ICC PIN encipherment key).
#[derive(Clone)]
pub struct RsaPublicKey {
    inner: PublicInner,
    modulus: Vec<u8>,
    bits: usize,
    exponent: &'static [u8],
}

/// How the public operation is carried out.
#[derive(Clone)]
enum PublicInner {
    /// Fixed-width arithmetic (`rsa_fixed`): every modulus in range on 64-bit targets.
    Fixed(Arc<dyn PublicOp>),
    /// The `rsa` crate, for a modulus no instantiation covers.
    Boxed(Box<rsa::RsaPublicKey>),
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.modulus == other.modulus && self.exponent == other.exponent
    }
}

impl Eq for RsaPublicKey {}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("bits", &self.bits())
            .field("exponent", &self.exponent)
            .finish_non_exhaustive()
    }
}

impl RsaPublicKey {
    /// Builds a key from its big-endian modulus and exponent. Leading zero bytes are
    /// ignored; the modulus must be 512..=2048 bits and the exponent 3 or 65537.
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self, CryptoError> {
        let modulus = trim_leading_zeros(modulus);
        let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(invalid(
                "RSA modulus",
                format!("{bits} bits, expected {MIN_MODULUS_BITS}..={MAX_MODULUS_BITS}"),
            ));
        }
        let exponent = canonical_exponent(exponent)?;
        let e = exponent.iter().fold(0, |e, &b| (e << 8) | u32::from(b));
        // Built on every transaction (the kernel recovers the issuer and ICC keys), so the
        // fixed-width key skips the rsa crate's own setup.
        let inner = match rsa_fixed::public_key(modulus, e) {
            Some(fixed) => PublicInner::Fixed(Arc::from(fixed)),
            // Even moduli land here too: the rsa crate rejects them with its own message.
            None => PublicInner::Boxed(Box::new(boxed_public_key(modulus, exponent)?)),
        };
        Ok(Self {
            inner,
            modulus: modulus.to_vec(),
            bits,
            exponent,
        })
    }

    /// The modulus, big-endian, exactly [`Self::modulus_len`] bytes.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The public exponent, minimal big-endian (`03` or `01 00 01`).
    pub fn exponent(&self) -> &[u8] {
        self.exponent
    }

    /// Modulus length in bytes (N_CA, N_I, N_IC or N_PE in Book 2).
    pub fn modulus_len(&self) -> usize {
        self.modulus.len()
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Checks `data` is exactly N bytes and, as a big-endian integer, below the modulus
    /// (Annex B2.1: the input to both RSA functions is an integer in `[0, n)`). The input of
    /// either operation is public (a signature, or enciphered PIN data on the wire), so a
    /// plain comparison is fine.
    fn check_representative(&self, data: &[u8]) -> Result<(), CryptoError> {
        if data.len() != self.modulus_len() {
            return Err(invalid(
                "RSA input",
                format!(
                    "{} bytes, the modulus is {} bytes",
                    data.len(),
                    self.modulus_len()
                ),
            ));
        }
        // Same length, big-endian: byte order is numeric order.
        if data >= self.modulus.as_slice() {
            return Err(invalid("RSA input", "not smaller than the modulus"));
        }
        Ok(())
    }

    /// Checks `data` as [`Self::check_representative`] does and converts it to an integer of
    /// `key`'s precision, for the `rsa` crate's operations.
    fn representative(
        &self,
        key: &rsa::RsaPublicKey,
        data: &[u8],
    ) -> Result<BoxedUint, CryptoError> {
        self.check_representative(data)?;
        BoxedUint::from_be_slice(data, key.n_bits_precision())
            .map_err(|_| invalid("RSA input", "does not fit the modulus precision"))
    }

    /// The RSA *recovery function* (Book 2 Annex B2.1.2): `X = S^e mod n`. `signature` must
    /// be exactly [`Self::modulus_len`] bytes and smaller than the modulus; the result has
    /// the same length.
    pub fn recover(&self, signature: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            PublicInner::Fixed(fixed) => {
                self.check_representative(signature)?;
                Ok(fixed.public_op(signature))
            }
            PublicInner::Boxed(key) => {
                let s = self.representative(key, signature)?;
                let x = rsa::hazmat::rsa_encrypt(key.as_ref(), &s)
                    .map_err(|err| invalid("RSA public operation", err.to_string()))?;
                to_fixed_len(&x, self.modulus_len())
            }
        }
    }

    /// The RSA encipherment used for the offline PIN (Book 2 §7.2): the same public
    /// operation as [`Self::recover`].
    pub fn encipher(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.recover(data)
    }

    /// SHA-1 checksum of a CA public key as in a CA key file: SHA-1(RID ‖ index ‖ modulus ‖
    /// exponent) (Book 2 §11.2.2, Table 29).
    pub fn ca_checksum(&self, rid: &[u8; 5], index: u8) -> [u8; 20] {
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        h.update(rid);
        h.update([index]);
        h.update(&self.modulus);
        h.update(self.exponent);
        h.finalize().into()
    }
}

/// How the private operation is carried out.
enum PrivateInner {
    /// CRT in fixed-width arithmetic (`rsa_fixed`), checked with the public operation.
    Fixed(Box<dyn CrtOp>),
    /// Full key with primes: CRT with a fault check (`rsa_decrypt_and_check`).
    Crt(Box<rsa::RsaPrivateKey>),
    /// Only `d` is known (e.g. e = 3 keys given as n, e, d): plain `X^d mod n`, with the
    /// `rsa` crate's form of the public key for its modulus.
    Exponent(Zeroizing<BoxedUint>, Box<rsa::RsaPublicKey>),
}

/// An EMV RSA private key (CA, issuer, ICC or ICC PIN encipherment key). Never printed.
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    inner: PrivateInner,
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl RsaPrivateKey {
    /// Builds a key from modulus, public exponent, private exponent and the two primes
    /// (all big-endian). The key is validated (`p·q = n`, `d·e ≡ 1`).
    pub fn from_components(
        modulus: &[u8],
        public_exponent: &[u8],
        private_exponent: &[u8],
        prime_p: &[u8],
        prime_q: &[u8],
    ) -> Result<Self, CryptoError> {
        let public = RsaPublicKey::new(modulus, public_exponent)?;
        let key = rsa::RsaPrivateKey::from_components(
            BoxedUint::from_be_slice_vartime(public.modulus()),
            BoxedUint::from_be_slice_vartime(public.exponent()),
            BoxedUint::from_be_slice_vartime(private_exponent),
            vec![
                BoxedUint::from_be_slice_vartime(prime_p),
                BoxedUint::from_be_slice_vartime(prime_q),
            ],
        )
        .map_err(|err| invalid("RSA private key", err.to_string()))?;
        Ok(Self {
            inner: crt_inner(key, public.modulus_len()),
            public,
        })
    }

    /// Builds a key from modulus, public exponent and private exponent only (the form in
    /// which many EMV test keys are published). The private operation is then a plain
    /// modular exponentiation; one round trip is checked here so a wrong `d` is caught.
    pub fn from_private_exponent(
        modulus: &[u8],
        public_exponent: &[u8],
        private_exponent: &[u8],
    ) -> Result<Self, CryptoError> {
        let public = RsaPublicKey::new(modulus, public_exponent)?;
        let d = trim_leading_zeros(private_exponent);
        if d.is_empty() || d.len() > public.modulus_len() {
            return Err(invalid("RSA private exponent", "empty or longer than n"));
        }
        let d = Zeroizing::new(BoxedUint::from_be_slice_vartime(d));
        let boxed = boxed_public_key(public.modulus(), public.exponent())?;
        let key = Self {
            public,
            inner: PrivateInner::Exponent(d, Box::new(boxed)),
        };
        // Self-test: (2^e)^d must give 2 back (x^(ed) = x mod n).
        let mut probe = vec![0u8; key.public.modulus_len()];
        if let Some(last) = probe.last_mut() {
            *last = 2;
        }
        let signed = key.private_op(&probe)?;
        if key.public.recover(&signed)?.as_slice() != probe.as_slice() {
            return Err(invalid(
                "RSA private exponent",
                "does not match the public key",
            ));
        }
        Ok(key)
    }

    /// Generates a new key of exactly `bits` bits (512..=2048) with exponent 3 or 65537.
    /// Slow for large keys; tests should use the embedded keys in
    /// [`crate::oda::test_keys`].
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        bits: usize,
        public_exponent: u32,
    ) -> Result<Self, CryptoError> {
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(invalid(
                "RSA key size",
                format!("{bits} bits, expected {MIN_MODULUS_BITS}..={MAX_MODULUS_BITS}"),
            ));
        }
        let e = canonical_exponent(&public_exponent.to_be_bytes())?;
        loop {
            let key = rsa::RsaPrivateKey::new_with_exp_unchecked(
                rng,
                bits,
                BoxedUint::from_be_slice_vartime(e),
            )
            .map_err(|err| invalid("RSA key generation", err.to_string()))?;
            // The generator may return a modulus one bit short; EMV wants exactly N bytes
            // with the top bit set, so retry.
            if key.n().bits() as usize != bits {
                continue;
            }
            let public = RsaPublicKey::new(&key.n_bytes(), e)?;
            return Ok(Self {
                inner: crt_inner(key, public.modulus_len()),
                public,
            });
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Modulus length in bytes.
    pub fn modulus_len(&self) -> usize {
        self.public.modulus_len()
    }

    fn private_op(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let s = match &self.inner {
            PrivateInner::Fixed(key) => {
                self.public.check_representative(data)?;
                let s = key.private_op(data);
                // Fault check (Boneh–DeMillo–Lipton): a CRT result that does not verify is
                // never released, as rsa_decrypt_and_check does.
                if s.len() != data.len() || self.public.recover(&s)?.as_slice() != data {
                    return Err(invalid("RSA private operation", "result failed its check"));
                }
                return Ok(s);
            }
            PrivateInner::Crt(key) => {
                let x = self.public.representative(key.as_ref().as_ref(), data)?;
                Zeroizing::new(
                    rsa::hazmat::rsa_decrypt_and_check(
                        key.as_ref(),
                        None::<&mut getrandom::SysRng>,
                        &x,
                    )
                    .map_err(|err| invalid("RSA private operation", err.to_string()))?,
                )
            }
            PrivateInner::Exponent(d, key) => {
                let x = self.public.representative(key, data)?;
                Zeroizing::new(x.pow_mod(d, key.n_params().modulus()))
            }
        };
        Ok(Zeroizing::new(to_fixed_len(&s, self.modulus_len())?))
    }

    /// The RSA *signature function* (Book 2 Annex B2.1.2): `S = X^d mod n`. `data` must be
    /// exactly [`Self::modulus_len`] bytes and smaller than the modulus.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.private_op(data)?.to_vec())
    }

    /// The card's decipherment of enciphered PIN data (Book 2 §7.2): the same private
    /// operation as [`Self::sign`], with the result in a zeroizing buffer.
    pub fn decipher(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.private_op(data)
    }
}

/// The `rsa` crate's public key for a validated modulus and exponent.
fn boxed_public_key(modulus: &[u8], exponent: &[u8]) -> Result<rsa::RsaPublicKey, CryptoError> {
    let n = BoxedUint::from_be_slice_vartime(modulus);
    let e = BoxedUint::from_be_slice_vartime(exponent);
    rsa::RsaPublicKey::new_with_size_limits(n, e, MIN_MODULUS_BITS..=MAX_MODULUS_BITS)
        .map_err(|err| invalid("RSA public key", err.to_string()))
}

/// The private operation for a key with primes: fixed-width CRT when an instantiation covers
/// the primes, otherwise the `rsa` crate's CRT.
fn crt_inner(key: rsa::RsaPrivateKey, n_len: usize) -> PrivateInner {
    use rsa::traits::PrivateKeyParts;
    let be = |v: &BoxedUint| Zeroizing::new(v.to_be_bytes());
    let fixed = match (key.primes(), key.dp(), key.dq(), key.crt_coefficient()) {
        ([p, q], Some(dp), Some(dq), Some(qinv)) => {
            let (p, q, dp, dq) = (be(p.as_ref()), be(q.as_ref()), be(dp), be(dq));
            let qinv = Zeroizing::new(qinv);
            let qinv = be(&qinv);
            rsa_fixed::crt_key(&CrtParts {
                n_len,
                p: &p,
                q: &q,
                dp: &dp,
                dq: &dq,
                qinv: &qinv,
            })
        }
        _ => None,
    };
    match fixed {
        Some(fixed) => PrivateInner::Fixed(fixed),
        None => PrivateInner::Crt(Box::new(key)),
    }
}
