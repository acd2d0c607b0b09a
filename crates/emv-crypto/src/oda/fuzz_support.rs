//! Thin wrappers around the fixed-width RSA arithmetic (`rsa_fixed`) for the `rsa_fixed`
//! fuzz target (fuzz/fuzz_targets/rsa_fixed.rs), which compares them with an independent
//! big-integer implementation. Only compiled with the `fuzzing` feature; not part of the
//! crate's API.
//!
//! The wrappers pass their arguments through unchanged. The caller must keep the
//! preconditions that `rsa_key.rs`, the only real caller of `rsa_fixed`, guarantees:
//!
//! * public: the modulus is odd, has no leading zero byte and is 64..=256 bytes long
//!   (`RsaPublicKey::new` trims it and accepts 512..=2048 bits); `x` has exactly the
//!   modulus's length and is below it (`check_representative`);
//! * private (CRT): `p`, `q` odd and greater than one; `dp < p`, `dq < q` (the rsa crate
//!   passes `d mod (p − 1)`, `d mod (q − 1)`: the exponentiation reads only as many
//!   exponent bits as the prime has, rounded up to a 4-bit window); `qinv < p` (the rsa
//!   crate passes `q⁻¹ mod p`); `n_len` is the byte length of `p·q` (the trimmed modulus);
//!   `x` has exactly `n_len` bytes and is below `p·q`.
//!
//! The wrappers assert the preconditions they can check without big-integer arithmetic, so
//! a harness that breaks them fails loudly instead of reporting a false mismatch.

use super::rsa_fixed::{self, CrtParts};

/// Big-endian bytes without their leading zeros.
fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    &v[start..]
}

/// `a < b` for big-endian values of any length.
fn below(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (trim(a), trim(b));
    // Without leading zeros the longer is larger; at equal length byte order is numeric.
    (a.len(), a) < (b.len(), b)
}

/// `x^e mod modulus` through `rsa_fixed::public_key`, as `n_len` big-endian bytes; `None`
/// when `public_key` declines the modulus (no instantiation for its length, or even).
///
/// # Panics
///
/// If the modulus is empty or has a leading zero byte, or `x` is not exactly as long as
/// the modulus or not below it (preconditions, see the module documentation).
pub fn public_op(modulus: &[u8], e: u32, x: &[u8]) -> Option<Vec<u8>> {
    assert!(
        modulus.first().is_some_and(|&b| b != 0),
        "precondition: modulus non-empty, no leading zero byte"
    );
    assert_eq!(x.len(), modulus.len(), "precondition: x has n_len bytes");
    // Same length, big-endian: byte order is numeric order.
    assert!(x < modulus, "precondition: x < n");
    Some(rsa_fixed::public_key(modulus, e)?.public_op(x))
}

/// The CRT private operation through `rsa_fixed::crt_key`: Garner's recombination
/// (RFC 8017 §5.1.2) of `x^dp mod p` and `x^dq mod q` with `qinv`, as `n_len` big-endian
/// bytes; `None` when `crt_key` declines the components (primes of a length without an
/// instantiation, even or ≤ 1, a component wider than the primes, `n_len` too large).
///
/// # Panics
///
/// If `p` or `q` is even or ≤ 1, `dp ≥ p`, `dq ≥ q`, `qinv ≥ p`, or `x` is not exactly
/// `n_len` bytes (`n_len` = the byte length of `p·q` and `x < p·q` need big-integer
/// arithmetic to check and are the caller's; see the module documentation).
pub fn crt_op(
    n_len: usize,
    p: &[u8],
    q: &[u8],
    dp: &[u8],
    dq: &[u8],
    qinv: &[u8],
    x: &[u8],
) -> Option<Vec<u8>> {
    for prime in [p, q] {
        let prime = trim(prime);
        assert!(
            prime.last().is_some_and(|&b| b & 1 == 1) && prime != [1],
            "precondition: p and q odd and > 1"
        );
    }
    assert!(below(dp, p), "precondition: dp < p");
    assert!(below(dq, q), "precondition: dq < q");
    assert!(below(qinv, p), "precondition: qinv < p");
    assert_eq!(x.len(), n_len, "precondition: x has n_len bytes");
    let key = rsa_fixed::crt_key(&CrtParts {
        n_len,
        p,
        q,
        dp,
        dq,
        qinv,
    })?;
    Some(key.private_op(x).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oda::test_keys;
    use rsa::BoxedUint;
    use rsa::traits::PrivateKeyParts;

    /// The wrappers on a real key: the CRT operation signs, the public operation recovers.
    #[test]
    fn crt_op_and_public_op_invert_each_other_on_a_test_key() {
        let key = test_keys::ICC_768_E3;
        let n = |v: &[u8]| BoxedUint::from_be_slice_vartime(v);
        let rsa_key = rsa::RsaPrivateKey::from_components(
            n(key.modulus),
            n(key.exponent),
            n(key.private_exponent),
            vec![n(key.prime_p), n(key.prime_q)],
        )
        .expect("valid test key");
        let be = |v: &BoxedUint| v.to_be_bytes().to_vec();
        let (dp, dq) = (be(rsa_key.dp().expect("dp")), be(rsa_key.dq().expect("dq")));
        let qinv = be(&rsa_key.crt_coefficient().expect("qinv"));
        let n_len = key.modulus.len();
        let mut x = vec![0u8; n_len];
        x[n_len - 1] = 2;
        let signed = crt_op(n_len, key.prime_p, key.prime_q, &dp, &dq, &qinv, &x)
            .expect("an instantiation for 384-bit primes");
        assert_eq!(public_op(key.modulus, 3, &signed), Some(x.clone()));
        // 2^3 = 8 < n.
        let mut eight = vec![0u8; n_len];
        eight[n_len - 1] = 8;
        assert_eq!(public_op(key.modulus, 3, &x), Some(eight));
        // An even modulus is declined, not computed.
        let mut even = key.modulus.to_vec();
        even[n_len - 1] &= 0xFE;
        assert_eq!(public_op(&even, 3, &x), None);
    }

    #[test]
    #[should_panic(expected = "precondition: x < n")]
    fn public_op_refuses_x_not_below_n() {
        let key = test_keys::ICC_768_E3;
        let _ = public_op(key.modulus, 3, key.modulus);
    }
}
