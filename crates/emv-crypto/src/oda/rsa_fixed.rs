//! Fixed-width, constant-time RSA arithmetic for the key sizes EMV uses.
//!
//! Why not the `rsa` crate's arithmetic: it works on heap-allocated `BoxedUint`s whose width
//! is chosen at run time, so an RSA-768 private operation costs ~110–160 µs on this project's
//! reference machine, most of a full card transaction. crypto-bigint's stack-allocated
//! `FixedMontyForm` was measured too and is barely faster (~100 µs), because its `const fn`
//! loops are not unrolled. Here the width `L` (64-bit limbs) is a const generic, the
//! Montgomery multiplication is the textbook CIOS loop on `u128` products, and LLVM unrolls
//! it; the same RSA-768 signature then costs a fraction of that.
//!
//! Constant time: nothing here branches on or indexes by a secret. Final subtractions and
//! table lookups use masks; the exponentiation is a fixed 4-bit window over a public number
//! of exponent bits (the prime's length). Secret values are zeroized after use.
//!
//! Algorithms:
//! - Montgomery multiplication, CIOS form (Koç, Acar, Kaliski, "Analyzing and Comparing
//!   Montgomery Multiplication Algorithms", IEEE Micro 1996).
//! - Private operation by Garner's CRT recombination (PKCS #1 v2.2, RFC 8017 §5.1.2:
//!   `m1 = c^dP mod p`, `m2 = c^dQ mod q`, `h = qInv·(m1 − m2) mod p`, `m = m2 + q·h`). The
//!   caller checks the result with the public operation, the fault-attack countermeasure
//!   `rsa_decrypt_and_check` applied before.
//!
//! [`crt_key`] and [`public_key`] pick the instantiation from the key length at run time and
//! return `None` for sizes without one; the caller then keeps using the `rsa` crate.

use zeroize::{Zeroize, Zeroizing};

/// Limbs are 64-bit words, least significant first.
type Limbs<const L: usize> = [u64; L];

/// All ones if `a == b`, else zero, without a branch.
fn ct_eq_mask(a: u64, b: u64) -> u64 {
    let x = a ^ b;
    // (x | −x) has its top bit set iff x ≠ 0.
    ((x | x.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// `a` where `mask` is all ones, `b` where it is zero.
fn select<const L: usize>(mask: u64, a: &Limbs<L>, b: &Limbs<L>) -> Limbs<L> {
    core::array::from_fn(|i| (a[i] & mask) | (b[i] & !mask))
}

/// `a − b` and the borrow out (0 or 1).
fn sub_borrow<const L: usize>(a: &Limbs<L>, b: &Limbs<L>) -> (Limbs<L>, u64) {
    let mut out = [0u64; L];
    let mut borrow = 0u64;
    for i in 0..L {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow);
        out[i] = d;
        borrow = u64::from(b1 | b2);
    }
    (out, borrow)
}

/// `a + b` and the carry out (0 or 1).
fn add_carry<const L: usize>(a: &Limbs<L>, b: &Limbs<L>) -> (Limbs<L>, u64) {
    let mut out = [0u64; L];
    let mut carry = 0u64;
    for i in 0..L {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(carry);
        out[i] = s;
        carry = u64::from(c1 | c2);
    }
    (out, carry)
}

/// Big-endian bytes (any length) as limbs; `None` if the value needs more than `L` limbs.
fn from_be<const L: usize>(bytes: &[u8]) -> Option<Limbs<L>> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    if bytes.len() > 8 * L {
        return None;
    }
    let mut out = [0u64; L];
    for (i, chunk) in bytes.rchunks(8).enumerate() {
        let mut word = [0u8; 8];
        word[8 - chunk.len()..].copy_from_slice(chunk);
        out[i] = u64::from_be_bytes(word);
    }
    Some(out)
}

/// Appends the limbs big-endian, most significant limb first.
fn extend_be(out: &mut Vec<u8>, value: &[u64]) {
    for limb in value.iter().rev() {
        out.extend_from_slice(&limb.to_be_bytes());
    }
}

/// The last `len` bytes of `wide` (big-endian), which the caller knows hold the whole value.
fn take_low(wide: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let start = wide.len().saturating_sub(len);
    let mut out = Zeroizing::new(vec![0u8; len]);
    out[len - (wide.len() - start)..].copy_from_slice(&wide[start..]);
    out
}

/// `−m0⁻¹ mod 2^64` for odd `m0`. Newton's iteration doubles the number of correct low bits
/// of the inverse each step: 1 → 64 in 6 steps.
fn neg_inverse(m0: u64) -> u64 {
    let mut inv = 1u64;
    for _ in 0..6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// An odd modulus `m < 2^(64·L)` with its Montgomery constants (`R = 2^(64·L)`).
struct Modulus<const L: usize> {
    m: Limbs<L>,
    /// `−m⁻¹ mod 2^64`.
    m_inv: u64,
    /// `R² mod m`: multiplying by it (Montgomery) converts into Montgomery form.
    r2: Limbs<L>,
    /// `R mod m`: one in Montgomery form.
    one: Limbs<L>,
    /// Bit length of `m` (public).
    bits: u32,
}

impl<const L: usize> Drop for Modulus<L> {
    fn drop(&mut self) {
        // The primes are secret.
        self.m.zeroize();
        self.r2.zeroize();
        self.one.zeroize();
        self.m_inv.zeroize();
    }
}

impl<const L: usize> Modulus<L> {
    /// `None` unless `m` is odd and greater than one.
    ///
    /// `R mod m`: with `k` the bit length of `m`, `2^k − m < m`, then `64·L − k` (< 64)
    /// modular doublings. `R² mod m`: `L` more doublings give `2^L·R` (the Montgomery form
    /// of `2^L`), and each Montgomery squaring doubles the exponent of a Montgomery form
    /// (`(2^a·R)²/R = 2^(2a)·R`), so six squarings give `2^(64·L)·R = R²`. (A kernel builds
    /// a key per certificate on every transaction: this costs about a third of raising
    /// `2·R` to the power `64·L`.) Neither step branches on anything but `k` and `L`, which
    /// are public (the key length), so this serves the secret primes too.
    fn new(m: Limbs<L>) -> Option<Self> {
        let top = m.iter().rposition(|&w| w != 0)?;
        if m[0] & 1 == 0 || (top == 0 && m[0] == 1) {
            return None;
        }
        let bits = 64 * top as u32 + (64 - m[top].leading_zeros());
        let mut modulus = Self {
            m,
            m_inv: neg_inverse(m[0]),
            r2: [0; L],
            one: [0; L],
            bits,
        };
        let mut x = [0u64; L];
        if (bits as usize) < 64 * L {
            x[bits as usize / 64] = 1 << (bits % 64);
        }
        // 2^k − m, wrapping: for k = 64·L the subtraction from zero wraps to R − m.
        let (mut x, _) = sub_borrow(&x, &m);
        for _ in bits as usize..64 * L {
            x = modulus.double(&x);
        }
        modulus.one = x;
        for _ in 0..L {
            x = modulus.double(&x);
        }
        // 2^L·R, squared six times: 2^(64·L)·R
        for _ in 0..6 {
            x = modulus.mul(&x, &x);
        }
        modulus.r2 = x;
        x.zeroize();
        Some(modulus)
    }

    /// `2a mod m` for `a < m`.
    fn double(&self, a: &Limbs<L>) -> Limbs<L> {
        self.add(a, a)
    }

    /// `a + b mod m` for `a, b < m`.
    fn add(&self, a: &Limbs<L>, b: &Limbs<L>) -> Limbs<L> {
        let (sum, carry) = add_carry(a, b);
        let (reduced, borrow) = sub_borrow(&sum, &self.m);
        // Subtract m when the sum overflowed R or is at least m.
        select(ct_eq_mask(carry | (borrow ^ 1), 0), &sum, &reduced)
    }

    /// `a − b mod m` for `a, b < m`.
    fn sub(&self, a: &Limbs<L>, b: &Limbs<L>) -> Limbs<L> {
        let (diff, borrow) = sub_borrow(a, b);
        let (fixed, _) = add_carry(&diff, &self.m);
        select(ct_eq_mask(borrow, 1), &fixed, &diff)
    }

    /// Montgomery product `a·b·R⁻¹ mod m`, fully reduced, for `a < R` and `b < m` (CIOS;
    /// the running value stays below `2m`, so one conditional subtraction suffices).
    fn mul(&self, a: &Limbs<L>, b: &Limbs<L>) -> Limbs<L> {
        let mut t = [0u64; L];
        let mut t_hi = 0u64;
        for &bi in b.iter() {
            // t += a·b_i
            let mut carry = 0u64;
            for j in 0..L {
                let s = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + u128::from(carry);
                t[j] = s as u64;
                carry = (s >> 64) as u64;
            }
            let s = u128::from(t_hi) + u128::from(carry);
            t_hi = s as u64;
            let t_top = (s >> 64) as u64;
            // t = (t + u·m) / 2^64, with u chosen so the low limb cancels
            let u = t[0].wrapping_mul(self.m_inv);
            let s = u128::from(t[0]) + u128::from(u) * u128::from(self.m[0]);
            let mut carry = (s >> 64) as u64;
            for j in 1..L {
                let s =
                    u128::from(t[j]) + u128::from(u) * u128::from(self.m[j]) + u128::from(carry);
                t[j - 1] = s as u64;
                carry = (s >> 64) as u64;
            }
            let s = u128::from(t_hi) + u128::from(carry);
            t[L - 1] = s as u64;
            t_hi = t_top + (s >> 64) as u64;
        }
        let (reduced, borrow) = sub_borrow(&t, &self.m);
        // t < 2m: subtract m when t overflowed R (t_hi = 1) or t ≥ m (no borrow).
        let out = select(ct_eq_mask(t_hi | (borrow ^ 1), 0), &t, &reduced);
        t.zeroize();
        out
    }

    /// `a` (any value below `R`) in Montgomery form.
    fn to_monty(&self, a: &Limbs<L>) -> Limbs<L> {
        self.mul(a, &self.r2)
    }

    /// Back from Montgomery form, fully reduced.
    fn retrieve(&self, a: &Limbs<L>) -> Limbs<L> {
        let mut one = [0u64; L];
        one[0] = 1;
        self.mul(a, &one)
    }

    /// `x mod m` in Montgomery form for `x = hi·R + lo` (two limbs' worth): `lo·R + hi·R²`.
    fn reduce_wide(&self, hi: &Limbs<L>, lo: &Limbs<L>) -> Limbs<L> {
        let lo_m = Zeroizing::new(self.to_monty(lo));
        let hi_m = Zeroizing::new(self.to_monty(&self.to_monty(hi)));
        self.add(&lo_m, &hi_m)
    }

    /// `base^exp` for `base` in Montgomery form, over the low `self.bits` bits of `exp`
    /// rounded up to whole windows: a fixed 4-bit window, every window does four squarings
    /// and one multiplication by a table entry read with a mask over the whole table.
    fn pow_ct(&self, base: &Limbs<L>, exp: &Limbs<L>) -> Limbs<L> {
        let mut table = Zeroizing::new([[0u64; L]; 16]);
        table[0] = self.one;
        for i in 1..16 {
            table[i] = self.mul(&table[i - 1], base);
        }
        let windows = self.bits.div_ceil(4) as usize;
        let mut acc = self.one;
        for w in (0..windows).rev() {
            for _ in 0..4 {
                acc = self.mul(&acc, &acc);
            }
            let bit = 4 * w;
            let digit = (exp[bit / 64] >> (bit % 64)) & 0xF;
            let mut entry = [0u64; L];
            for (i, row) in table.iter().enumerate() {
                let mask = ct_eq_mask(i as u64, digit);
                for (e, r) in entry.iter_mut().zip(row) {
                    *e |= r & mask;
                }
            }
            acc = self.mul(&acc, &entry);
            entry.zeroize();
        }
        acc
    }

    /// `base^exp` for `base` in Montgomery form and a public exponent (left-to-right square
    /// and multiply from the top bit, which is `base` itself; variable time in the exponent
    /// only). `exp = 3`: two multiplications.
    fn pow_public(&self, base: &Limbs<L>, exp: u32) -> Limbs<L> {
        if exp == 0 {
            return self.one;
        }
        let mut acc = *base;
        for bit in (0..31 - exp.leading_zeros()).rev() {
            acc = self.mul(&acc, &acc);
            if (exp >> bit) & 1 == 1 {
                acc = self.mul(&acc, base);
            }
        }
        acc
    }
}

/// The components of a CRT private key, big-endian.
pub(super) struct CrtParts<'a> {
    /// Modulus length in bytes: the length of the operation's input and output.
    pub n_len: usize,
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    /// `q⁻¹ mod p`.
    pub qinv: &'a [u8],
}

/// The private operation, behind a trait object so one `RsaPrivateKey` type serves every
/// width.
pub(super) trait CrtOp: Send + Sync {
    /// `x^d mod n` for `x < n` given as exactly `n_len` big-endian bytes; the result has the
    /// same length.
    fn private_op(&self, x: &[u8]) -> Zeroizing<Vec<u8>>;
}

/// A CRT private key with primes of at most `L` limbs. Every field is secret and zeroized on
/// drop (the moduli by `Modulus`'s own `Drop`).
struct FixedCrt<const L: usize> {
    p: Modulus<L>,
    q: Modulus<L>,
    dp: Limbs<L>,
    dq: Limbs<L>,
    /// `q⁻¹ mod p` (plain, not Montgomery: a Montgomery product of `(m1 − m2)·R` with it
    /// gives `h` directly).
    qinv: Limbs<L>,
    n_len: usize,
}

impl<const L: usize> Drop for FixedCrt<L> {
    fn drop(&mut self) {
        self.dp.zeroize();
        self.dq.zeroize();
        self.qinv.zeroize();
    }
}

impl<const L: usize> FixedCrt<L> {
    fn new(parts: &CrtParts<'_>) -> Option<Self> {
        let limbs = |v: &[u8]| from_be::<L>(v).map(Zeroizing::new);
        let key = Self {
            p: Modulus::new(*limbs(parts.p)?)?,
            q: Modulus::new(*limbs(parts.q)?)?,
            dp: *limbs(parts.dp)?,
            dq: *limbs(parts.dq)?,
            qinv: *limbs(parts.qinv)?,
            n_len: parts.n_len,
        };
        // p·q must fit the 2L limbs the recombination writes.
        (parts.n_len <= 16 * L).then_some(key)
    }
}

impl<const L: usize> CrtOp for FixedCrt<L> {
    fn private_op(&self, x: &[u8]) -> Zeroizing<Vec<u8>> {
        // x < n < R²: split it into its high and low L limbs.
        let split = x.len().saturating_sub(8 * L);
        let (Some(hi), Some(lo)) = (from_be::<L>(&x[..split]), from_be::<L>(&x[split..])) else {
            return Zeroizing::new(Vec::new());
        };
        let (hi, lo) = (Zeroizing::new(hi), Zeroizing::new(lo));
        let m1 = Zeroizing::new(self.p.pow_ct(&self.p.reduce_wide(&hi, &lo), &self.dp));
        let m2 = Zeroizing::new(self.q.pow_ct(&self.q.reduce_wide(&hi, &lo), &self.dq));
        let m2 = Zeroizing::new(self.q.retrieve(&m2));
        // h = qInv·(m1 − m2) mod p; m2 < q may exceed p, to_monty reduces it.
        let diff = Zeroizing::new(self.p.sub(&m1, &self.p.to_monty(&m2)));
        let h = Zeroizing::new(self.p.mul(&diff, &self.qinv));
        // m = m2 + q·h < q + q·(p − 1) = n, as 2L limbs.
        let mut m = Zeroizing::new(vec![0u64; 2 * L]);
        for (i, &hi_limb) in h.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &q_limb) in self.q.m.iter().enumerate() {
                let s = u128::from(m[i + j])
                    + u128::from(hi_limb) * u128::from(q_limb)
                    + u128::from(carry);
                m[i + j] = s as u64;
                carry = (s >> 64) as u64;
            }
            m[i + L] = carry;
        }
        let mut carry = 0u64;
        for (i, limb) in m.iter_mut().enumerate() {
            let add = if i < L { m2[i] } else { 0 };
            let s = u128::from(*limb) + u128::from(add) + u128::from(carry);
            *limb = s as u64;
            carry = (s >> 64) as u64;
        }
        let mut wide = Zeroizing::new(Vec::with_capacity(16 * L));
        extend_be(&mut wide, &m);
        take_low(&wide, self.n_len)
    }
}

/// The fixed-width private key for these components, or `None` when no instantiation covers
/// the primes' length.
pub(super) fn crt_key(parts: &CrtParts<'_>) -> Option<Box<dyn CrtOp>> {
    let significant = |v: &[u8]| v.len() - v.iter().take_while(|&&b| b == 0).count();
    let limbs = significant(parts.p).max(significant(parts.q)).div_ceil(8);
    macro_rules! widths {
        ($($l:literal)*) => {
            match limbs {
                $($l => FixedCrt::<$l>::new(parts).map(|k| Box::new(k) as Box<dyn CrtOp>),)*
                _ => None,
            }
        };
    }
    // Primes of 256..=1024 bits, i.e. moduli of 512..=2048 bits (rsa_key's range).
    widths!(4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// The public operation with a modulus of at most `L` limbs.
pub(super) trait PublicOp: Send + Sync {
    /// `x^e mod n` for `x < n` given as exactly `n_len` big-endian bytes; the result has the
    /// same length.
    fn public_op(&self, x: &[u8]) -> Vec<u8>;
}

struct FixedPublic<const L: usize> {
    n: Modulus<L>,
    e: u32,
    n_len: usize,
}

impl<const L: usize> PublicOp for FixedPublic<L> {
    fn public_op(&self, x: &[u8]) -> Vec<u8> {
        let Some(x) = from_be::<L>(x) else {
            return Vec::new();
        };
        let y = self
            .n
            .retrieve(&self.n.pow_public(&self.n.to_monty(&x), self.e));
        let mut out = Vec::with_capacity(8 * L);
        extend_be(&mut out, &y);
        take_low(&out, self.n_len).to_vec()
    }
}

/// The fixed-width public key for a big-endian modulus (no leading zero bytes) and public
/// exponent, or `None` when no instantiation covers it or the modulus is even.
pub(super) fn public_key(modulus: &[u8], exponent: u32) -> Option<Box<dyn PublicOp>> {
    let limbs = modulus.len().div_ceil(8);
    macro_rules! widths {
        ($($l:literal)*) => {
            match limbs {
                $($l => Some(Box::new(FixedPublic::<$l> {
                    n: Modulus::new(from_be::<$l>(modulus)?)?,
                    e: exponent,
                    n_len: modulus.len(),
                }) as Box<dyn PublicOp>),)*
                _ => None,
            }
        };
    }
    // Moduli of 512..=2048 bits.
    widths!(8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oda::test_keys::{self, TestRsaKey};
    use proptest::prelude::*;
    use rsa::BoxedUint;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    /// The `rsa` crate's key for the same components: the reference the fixed-width
    /// arithmetic must agree with bit for bit.
    fn reference(key: &TestRsaKey) -> rsa::RsaPrivateKey {
        let n = |v: &[u8]| BoxedUint::from_be_slice_vartime(v);
        rsa::RsaPrivateKey::from_components(
            n(key.modulus),
            n(key.exponent),
            n(key.private_exponent),
            vec![n(key.prime_p), n(key.prime_q)],
        )
        .unwrap()
    }

    fn fixed(key: &rsa::RsaPrivateKey) -> (Box<dyn CrtOp>, Box<dyn PublicOp>) {
        let be = |v: &BoxedUint| v.to_be_bytes().to_vec();
        let n_len = key.size();
        let parts = (
            be(key.primes()[0].as_ref()),
            be(key.primes()[1].as_ref()),
            be(key.dp().unwrap()),
            be(key.dq().unwrap()),
            be(&key.crt_coefficient().unwrap()),
        );
        let crt = crt_key(&CrtParts {
            n_len,
            p: &parts.0,
            q: &parts.1,
            dp: &parts.2,
            dq: &parts.3,
            qinv: &parts.4,
        })
        .expect("an instantiation for this size");
        let e = key.e().to_be_bytes_trimmed_vartime();
        let e = e.iter().fold(0, |e, &b| (e << 8) | u32::from(b));
        let public = public_key(&key.n_bytes(), e);
        (crt, public.expect("an instantiation for this size"))
    }

    fn reference_ops(key: &rsa::RsaPrivateKey, x: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let n_len = key.size();
        let x = BoxedUint::from_be_slice(x, key.n_bits_precision()).unwrap();
        let pad = |v: BoxedUint| {
            let bytes = v.to_be_bytes();
            bytes[bytes.len() - n_len..].to_vec()
        };
        let private =
            rsa::hazmat::rsa_decrypt_and_check(key, None::<&mut getrandom::SysRng>, &x).unwrap();
        let public = rsa::hazmat::rsa_encrypt(key, &x).unwrap();
        (pad(private), pad(public))
    }

    /// Inputs that stress the edges: 0, 1, 2, n − 1, n − 2, values just below and above
    /// the CRT split (2^(64·L) around p), and all-ones under the top byte.
    fn edge_inputs(n: &[u8]) -> Vec<Vec<u8>> {
        let len = n.len();
        let from_u64 = |v: u64| {
            let mut x = vec![0u8; len];
            x[len - 8..].copy_from_slice(&v.to_be_bytes());
            x
        };
        let minus = |k: u8| {
            let mut x = n.to_vec();
            // n is odd and > 2, so n − 1 and n − 2 only touch the last byte.
            x[len - 1] -= k;
            x
        };
        let mut below_top = vec![0xFF; len];
        below_top[0] = n[0] - 1;
        let mut half = vec![0u8; len];
        half[len / 2] = 1; // 2^(8·(len − len/2 − 1)): near the primes' size
        vec![
            from_u64(0),
            from_u64(1),
            from_u64(2),
            minus(1),
            minus(2),
            below_top,
            half,
        ]
    }

    #[test]
    fn crt_and_public_ops_match_the_rsa_crate_on_every_test_key_and_edge_input() {
        for key in test_keys::ALL {
            let reference_key = reference(&key);
            let (crt, public) = fixed(&reference_key);
            for x in edge_inputs(key.modulus) {
                let (want_private, want_public) = reference_ops(&reference_key, &x);
                assert_eq!(
                    crt.private_op(&x).as_slice(),
                    want_private,
                    "{} d",
                    key.name
                );
                assert_eq!(public.public_op(&x), want_public, "{} e", key.name);
            }
        }
    }

    #[test]
    fn sizes_without_an_instantiation_are_declined() {
        // A 2304-bit modulus needs 36 limbs: no public instantiation, the caller falls back.
        assert!(public_key(&[0xC5; 288], 3).is_none());
        // Even moduli have no Montgomery form.
        assert!(public_key(&[0xC4; 96], 3).is_none());
        let big = [0xC5u8; 136]; // 1088-bit primes: 17 limbs
        let parts = CrtParts {
            n_len: 272,
            p: &big,
            q: &big,
            dp: &big,
            dq: &big,
            qinv: &big,
        };
        assert!(crt_key(&parts).is_none());
        // Even primes have no Montgomery form.
        let even = [0xC4u8; 48];
        let parts = CrtParts {
            n_len: 96,
            p: &even,
            q: &even,
            dp: &even,
            dq: &even,
            qinv: &even,
        };
        assert!(crt_key(&parts).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random inputs below n on three key sizes (768, 896 with e = 65537, 1408): the
        /// private and public operations agree with the rsa crate and invert each other.
        #[test]
        fn random_inputs_match_the_rsa_crate(
            which in 0usize..3,
            bytes in proptest::collection::vec(any::<u8>(), 176),
        ) {
            let key = [test_keys::ICC_768_E3, test_keys::ICC_896_E65537, test_keys::CA_E2][which];
            let reference_key = reference(&key);
            let (crt, public) = fixed(&reference_key);
            let mut x = bytes[..key.modulus.len()].to_vec();
            x[0] &= 0x7F; // the test moduli have their top bit set: x < n
            let (want_private, want_public) = reference_ops(&reference_key, &x);
            let signed = crt.private_op(&x);
            prop_assert_eq!(signed.as_slice(), want_private.as_slice());
            prop_assert_eq!(public.public_op(&x), want_public);
            prop_assert_eq!(public.public_op(&signed), x);
        }
    }
}
