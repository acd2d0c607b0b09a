//! Differential fuzzing of the hand-written fixed-width RSA arithmetic of `emv-crypto`
//! (`oda/rsa_fixed.rs`: Montgomery multiplication, fixed-window exponentiation, Garner's CRT
//! recombination) against `num-bigint`, through the doc-hidden wrappers of
//! `emv_crypto::oda::fuzz_support` (feature `fuzzing`).
//!
//! Two operations, chosen by bit 0 of the first byte:
//!
//! * public (`0`): `x^e mod n` (`public_op`) against `BigUint::modpow`;
//! * private (`1`): the CRT operation (`crt_op`) against the same formulas computed with
//!   `num-bigint` (PKCS #1 v2.2, RFC 8017 §5.1.2 step 2.b: `m1 = x^dP mod p`,
//!   `m2 = x^dQ mod q`, `h = qInv·(m1 − m2) mod p`, `m = m2 + q·h`). The formulas are plain
//!   arithmetic, so `p` and `q` need not be prime, nor `dP`, `dQ`, `qInv` consistent with
//!   them: any values within the preconditions below give one exact answer.
//!
//! Both results must be equal byte for byte, at the modulus length.
//!
//! Every input keeps the preconditions that the code relies on and its real caller
//! (`oda/rsa_key.rs`) guarantees, so a mismatch is a bug in a contract somebody relies on.
//! Inputs go beyond what `rsa_key` produces only where the code assumes nothing (non-prime
//! or unbalanced `p`, `q`; `dP`, `dQ`, `qInv` unrelated to them; odd `e` other than 3 and
//! 65537). The preconditions:
//!
//! * public: the modulus is odd, 64..=256 bytes (512..=2048 bits, `RsaPublicKey::new`'s
//!   range, i.e. 8..=32 limbs) without a leading zero byte (`RsaPublicKey::new` trims it);
//!   `x < n` given as exactly `n_len` bytes (`check_representative`). `e` is 3 or 65537 (the
//!   only exponents EMV and `rsa_key` allow), sometimes another odd `e` (same code path);
//! * CRT: `p`, `q` odd and > 1 (they divide the odd modulus; the rsa crate rejects primes
//!   ≤ 1), the longer of 25..=128 bytes (4..=16 limbs: `rsa_key` gets primes of
//!   ⌈bits(n)/2⌉ bits at most from the rsa crate, 256..=1024 bits for its moduli), in either
//!   order (`p < q` and `p > q`), usually of equal length as the rsa crate's are, sometimes
//!   not; `dP < p`, `dQ < q` (the rsa crate passes `d mod (p − 1)`; the exponentiation reads
//!   only as many exponent bits as the prime has, rounded up to a 4-bit window, and silently
//!   ignores any above); `qInv < p` (the rsa crate passes
//!   `q⁻¹ mod p`; here usually an arbitrary value below `p`, sometimes the true inverse);
//!   `n_len` = the byte length of `n = p·q` (`rsa_key` passes the trimmed modulus's length);
//!   `x < n` as exactly `n_len` bytes. The components are passed with or without leading
//!   zero bytes (the rsa crate's `to_be_bytes` pads them to whole limbs).
//!
//! Input layout (a short input reads as if padded with zero bytes):
//!
//! ```text
//! public:  [0] flags (bit 0 = 0)  [1] n_len = 64 + b % 193  [2] e: 3, 65537, odd u8, odd u32
//!          [3] n form  [4] n top  [5] x selector  [6] x form
//!          then the payload: e's bytes (odd u8 / u32), n's, x's
//! CRT:     [0] flags (bit 0 = 1; bit 1: q gets the longer length; bit 2: pad the
//!              components to whole limbs)  [1] longer length = 25 + b % 104
//!          [2] other length: equal, a few bytes shorter, any  [3] its parameter
//!          [4] p form [5] p top  [6] q form [7] q top  [8] dP selector [9] dP form
//!          [10] dQ selector [11] dQ form  [12] qInv selector [13] qInv form
//!          [14] x selector [15] x form
//!          then the payload: p, q, dP, dQ, qInv, x (each only as far as its form reads)
//! ```
//!
//! A *form* shapes a number of a given byte length so the edge cases are reachable: raw
//! bytes (3 of 8), all ones, `2^k + small` (just above a byte/limb boundary, with the top
//! fix-up below), `2^(8·len) − small` (close to `R` when `len` is a multiple of 8),
//! `2^k − small`, or limb by limb (from the least significant end) zero / all ones / raw /
//! `2^63`. A modulus or prime then gets its top byte forced nonzero (`1 << (top % 8)` when
//! it is zero) and its low bit set. A *selector* picks a special value (`x` = 0, 1, 2,
//! `n − 1`, `n − 2`, `p`, `q`, `n − p`, `p·k mod n`; `dP`, `dQ` = 0, 1, `p − 1`,
//! `p − 2`; `qInv` = 0, 1, `p − 1`, the true `q⁻¹ mod p`) or a shaped value reduced below
//! its bound.
#![no_main]

use emv_crypto::oda::fuzz_support::{crt_op, public_op};
use libfuzzer_sys::fuzz_target;
use num_bigint::BigUint;

/// The input as a stream of bytes; zeros once it runs out.
struct Source<'a>(&'a [u8]);

impl Source<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// `n` bytes, zero-padded on the right once the input runs out.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        let mut v = head.to_vec();
        v.resize(n, 0);
        v
    }
}

/// A number of exactly `len` big-endian bytes (`len` ≥ 1) in the shape `form` selects
/// (see the header comment).
fn shaped(src: &mut Source<'_>, len: usize, form: u8) -> Vec<u8> {
    let low = len.min(8);
    match form % 8 {
        3 => vec![0xFF; len],
        // small: only the low limb's bytes (2^k + small after the top fix-up)
        4 => {
            let mut v = vec![0; len];
            v[len - low..].copy_from_slice(&src.take(low));
            v
        }
        // 2^(8·len) − small, and 2^k − small with k = 8·len − (form >> 3) % 8
        5 | 7 => {
            let mut v = vec![0xFF; len];
            v[len - low..].copy_from_slice(&src.take(low));
            if form % 8 == 7 && len > low {
                v[0] = 0xFF >> ((form >> 3) % 8);
            }
            v
        }
        // limb by limb, least significant first (a partial top limb for odd lengths)
        6 => {
            let mut v = vec![0; len];
            let mut end = len;
            while end > 0 {
                let start = end.saturating_sub(8);
                let limb = &mut v[start..end];
                match src.byte() % 4 {
                    0 => {}
                    1 => limb.fill(0xFF),
                    2 => limb.copy_from_slice(&src.take(end - start)),
                    _ => limb[0] = 0x80,
                }
                end = start;
            }
            v
        }
        _ => src.take(len),
    }
}

/// An odd number of exactly `len` significant bytes (`len` ≥ 1), greater than one.
fn odd_modulus(src: &mut Source<'_>, len: usize, form: u8, top: u8) -> Vec<u8> {
    let mut v = shaped(src, len, form);
    if v[0] == 0 {
        v[0] = 1 << (top % 8);
    }
    let last = v.len() - 1;
    v[last] |= 1;
    if v == [1] {
        v[0] = 3;
    }
    v
}

/// `v` as exactly `len` big-endian bytes (the harness only asks for values that fit).
fn be(v: &BigUint, len: usize) -> Vec<u8> {
    let bytes = v.to_bytes_be();
    let bytes = if bytes == [0] { Vec::new() } else { bytes };
    assert!(
        bytes.len() <= len,
        "harness: {} bytes into {len}",
        bytes.len()
    );
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(&bytes);
    out
}

/// A shaped value of `len` bytes reduced below `bound` (> 0).
fn below(src: &mut Source<'_>, bound: &BigUint, len: usize, form: u8) -> BigUint {
    BigUint::from_bytes_be(&shaped(src, len, form)) % bound
}

fn public(src: &mut Source<'_>) {
    let n_len = 64 + usize::from(src.byte()) % 193;
    let e_sel = src.byte();
    let (n_form, n_top, x_sel, x_form) = (src.byte(), src.byte(), src.byte(), src.byte());
    let e = match e_sel % 4 {
        0 => 3,
        1 => 65537,
        2 => u32::from(src.byte()) | 1,
        _ => u32::from_be_bytes([src.byte(), src.byte(), src.byte(), src.byte()]) | 1,
    };
    let n_bytes = odd_modulus(src, n_len, n_form, n_top);
    let n = BigUint::from_bytes_be(&n_bytes);
    let one = BigUint::from(1u8);
    let x = match x_sel % 16 {
        0 => BigUint::ZERO,
        1 => one.clone(),
        2 => &n - &one,
        3 => &n - 2u8,
        4 => BigUint::from(2u8),
        _ => below(src, &n, n_len, x_form),
    };
    let x_bytes = be(&x, n_len);
    let got = public_op(&n_bytes, e, &x_bytes)
        .expect("public_key declined an odd modulus of 64..=256 bytes");
    let want = be(&x.modpow(&BigUint::from(e), &n), n_len);
    assert!(
        got == want,
        "public op mismatch\n n = {n:x}\n e = {e}\n x = {x:x}\n got  {}\n want {}",
        hex(&got),
        hex(&want)
    );
}

fn crt(src: &mut Source<'_>, flags: u8) {
    let long = 25 + usize::from(src.byte()) % 104;
    let (other_sel, other_arg) = (src.byte(), src.byte());
    let other = match other_sel % 4 {
        0 | 1 => long,
        2 => long.saturating_sub(usize::from(other_arg % 8)).max(1),
        _ => 1 + usize::from(other_arg) % long,
    };
    let (p_len, q_len) = if flags & 2 == 0 {
        (long, other)
    } else {
        (other, long)
    };
    let header: [u8; 12] = core::array::from_fn(|_| src.byte());
    let [
        p_form,
        p_top,
        q_form,
        q_top,
        dp_sel,
        dp_form,
        dq_sel,
        dq_form,
        qinv_sel,
        qinv_form,
        x_sel,
        x_form,
    ] = header;
    let p_bytes = odd_modulus(src, p_len, p_form, p_top);
    let q_bytes = odd_modulus(src, q_len, q_form, q_top);
    let (p, q) = (
        BigUint::from_bytes_be(&p_bytes),
        BigUint::from_bytes_be(&q_bytes),
    );
    let one = BigUint::from(1u8);
    // p and q are odd and > 1, so ≥ 3: p − 2 ≥ 1.
    let mut exponent = |sel: u8, form: u8, prime: &BigUint, len: usize| match sel % 16 {
        0 => BigUint::ZERO,
        1 => one.clone(),
        2 => prime - &one,
        3 => prime - 2u8,
        _ => below(src, prime, len, form),
    };
    let dp = exponent(dp_sel, dp_form, &p, p_len);
    let dq = exponent(dq_sel, dq_form, &q, q_len);
    let qinv = match qinv_sel % 16 {
        0 => match q.modinv(&p) {
            Some(inverse) => inverse,
            None => below(src, &p, p_len, qinv_form),
        },
        1 => BigUint::ZERO,
        2 => one.clone(),
        3 => &p - &one,
        _ => below(src, &p, p_len, qinv_form),
    };
    let n = &p * &q;
    let n_len = usize::try_from(n.bits().div_ceil(8)).expect("n_len fits usize");
    let x = match x_sel % 16 {
        0 => BigUint::ZERO,
        1 => one.clone(),
        2 => &n - &one,
        3 => p.clone(),
        4 => q.clone(),
        5 => &n - &p,
        6 => (&p * BigUint::from_bytes_be(&shaped(src, q_len, x_form))) % &n,
        _ => below(src, &n, n_len, x_form),
    };
    // The rsa crate's big-endian bytes are padded to whole limbs; ours are minimal.
    let width = |len: usize| {
        if flags & 4 == 0 {
            len
        } else {
            len.next_multiple_of(8)
        }
    };
    let (pw, qw) = (width(p_len), width(q_len));
    let x_bytes = be(&x, n_len);
    let got = crt_op(
        n_len,
        &be(&p, pw),
        &be(&q, qw),
        &be(&dp, pw),
        &be(&dq, qw),
        &be(&qinv, pw),
        &x_bytes,
    )
    .expect("crt_key declined odd primes > 1 of 4..=16 limbs");

    // RFC 8017 §5.1.2 step 2.b, with num-bigint.
    let m1 = x.modpow(&dp, &p);
    let m2 = x.modpow(&dq, &q);
    let h = (&qinv * ((&m1 + &p - (&m2 % &p)) % &p)) % &p;
    let m = &m2 + &q * &h;
    let want = be(&m, n_len);
    assert!(
        got == want,
        "CRT op mismatch\n p = {p:x}\n q = {q:x}\n dp = {dp:x}\n dq = {dq:x}\n qinv = {qinv:x}\n \
         x = {x:x}\n got  {}\n want {}",
        hex(&got),
        hex(&want)
    );
}

fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let mut src = Source(data);
    let flags = src.byte();
    if flags & 1 == 0 {
        public(&mut src);
    } else {
        crt(&mut src, flags);
    }
});
