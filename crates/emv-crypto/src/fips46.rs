//! DES (FIPS 46-3) with the S-boxes and the P permutation folded into eight 64-entry
//! "SP" tables, and IP/FP as nibble tables, all derived at compile time from the
//! standard's own tables below.
//!
//! Why not only the RustCrypto `des` crate (still a dependency, and the oracle of this
//! module's tests): it computes every permutation bit by bit (~280 ns a block here), and a
//! host answering ISO 8583 computes four ISO/IEC 9797-1 MACs over ~40 blocks per
//! authorisation; these tables take a block in about a third of that (BENCHMARKS.md,
//! crypto primitives). Same security class as the crate it replaces on the hot path:
//! table look-ups indexed by key-dependent data, like any software DES.
//!
//! Bit numbering follows FIPS 46-3: bit 1 is the most significant bit of the first byte.
//! The key schedule is kept (16 × 8 six-bit subkey chunks), so one key encrypts many blocks
//! without recomputing it, and is wiped on drop.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Initial permutation IP (FIPS 46-3, Figure 1 / "IP"): output bit i is input bit IP[i].
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, //
    62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, //
    57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, //
    61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Inverse initial permutation IP⁻¹ (FIPS 46-3).
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, //
    38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29, //
    36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, //
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

/// Permutation P of the cipher function f (FIPS 46-3).
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, //
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/// Permuted choice 1 (FIPS 46-3, key schedule): C0 is the first 28 entries, D0 the rest.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, //
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, //
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, //
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2 (FIPS 46-3): the 48 subkey bits from C‖D (56 bits).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, //
    23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, //
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, //
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left shifts of C and D per round (FIPS 46-3, key schedule).
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The eight S-boxes (FIPS 46-3), each as 4 rows of 16.
const S: [[[u8; 16]; 4]; 8] = [
    [
        [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7],
        [0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8],
        [4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0],
        [15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
    ],
    [
        [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10],
        [3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5],
        [0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15],
        [13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
    ],
    [
        [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8],
        [13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1],
        [13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7],
        [1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
    ],
    [
        [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15],
        [13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9],
        [10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4],
        [3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
    ],
    [
        [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9],
        [14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6],
        [4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14],
        [11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
    ],
    [
        [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11],
        [10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8],
        [9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6],
        [4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
    ],
    [
        [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1],
        [13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6],
        [1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2],
        [6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
    ],
    [
        [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7],
        [1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2],
        [7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8],
        [2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
    ],
];

/// Bit `n` (1-based, FIPS numbering) of a `width`-bit value held in the low bits of `v`.
const fn bit(v: u64, width: u32, n: u8) -> u64 {
    (v >> (width - n as u32)) & 1
}

/// Applies a FIPS-style permutation table: output bit i (of `table.len()`) is input bit
/// `table[i]` of the `width`-bit input.
const fn permute(v: u64, width: u32, table: &[u8]) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < table.len() {
        out = (out << 1) | bit(v, width, table[i]);
        i += 1;
    }
    out
}

/// S-box `i` then P, for every 6-bit input: `SP[i][x]` = P(S_i(x) in its 4-bit slot).
/// The 6-bit input is b1..b6 as FIPS numbers them: the row is b1 b6, the column b2..b5.
const SP: [[u32; 64]; 8] = {
    let mut t = [[0u32; 64]; 8];
    let mut i = 0;
    while i < 8 {
        let mut x = 0;
        while x < 64 {
            let row = ((x >> 4) & 2) | (x & 1);
            let col = (x >> 1) & 0xF;
            let s = S[i][row][col] as u64;
            t[i][x] = permute(s << (28 - 4 * i), 32, &P) as u32;
            x += 1;
        }
        i += 1;
    }
    t
};

/// A 64-bit permutation as 16 nibble tables: `T[n][v]` is the image of nibble `n`
/// (from the most significant) having value `v`, the other bits zero.
const fn nibble_tables(table: &[u8; 64]) -> [[u64; 16]; 16] {
    let mut t = [[0u64; 16]; 16];
    let mut n = 0;
    while n < 16 {
        let mut v = 0;
        while v < 16 {
            t[n][v] = permute((v as u64) << (60 - 4 * n), 64, table);
            v += 1;
        }
        n += 1;
    }
    t
}

const IP_T: [[u64; 16]; 16] = nibble_tables(&IP);
const FP_T: [[u64; 16]; 16] = nibble_tables(&FP);

fn apply(t: &[[u64; 16]; 16], v: u64) -> u64 {
    let mut out = 0;
    for (n, row) in t.iter().enumerate() {
        out |= row[((v >> (60 - 4 * n)) & 0xF) as usize];
    }
    out
}

/// The cipher function f(R, K) (FIPS 46-3): E, XOR with the subkey, S-boxes, P. E's
/// six-bit groups are the windows of R starting one bit before each nibble (wrapping).
fn f(r: u32, k: &[u8; 8]) -> u32 {
    let e = r.rotate_right(1);
    let mut out = 0;
    for (i, (sp, ki)) in SP.iter().zip(k).enumerate() {
        let window = (e.rotate_left(4 * i as u32) >> 26) as u8;
        out |= sp[usize::from((window ^ ki) & 0x3F)];
    }
    out
}

/// One DES key's schedule (FIPS 46-3): 16 subkeys, each as eight 6-bit chunks.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Des {
    subkeys: [[u8; 8]; 16],
}

impl Des {
    /// The schedule of an 8-byte key (parity bits ignored, as FIPS 46-3 does).
    pub(crate) fn new(key: &[u8; 8]) -> Self {
        let cd = permute(u64::from_be_bytes(*key), 64, &PC1);
        let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0FFF_FFFF) as u32);
        let mut subkeys = [[0u8; 8]; 16];
        for (sk, shift) in subkeys.iter_mut().zip(SHIFTS) {
            c = ((c << shift) | (c >> (28 - shift))) & 0x0FFF_FFFF;
            d = ((d << shift) | (d >> (28 - shift))) & 0x0FFF_FFFF;
            let k = permute((u64::from(c) << 28) | u64::from(d), 56, &PC2);
            for (j, chunk) in sk.iter_mut().enumerate() {
                *chunk = ((k >> (42 - 6 * j)) & 0x3F) as u8;
            }
        }
        Self { subkeys }
    }

    fn rounds<'a>(block: u64, keys: impl Iterator<Item = &'a [u8; 8]>) -> u64 {
        let x = apply(&IP_T, block);
        let (mut l, mut r) = ((x >> 32) as u32, x as u32);
        for k in keys {
            (l, r) = (r, l ^ f(r, k));
        }
        // the last round's halves are not swapped: R16 L16 (FIPS 46-3)
        apply(&FP_T, (u64::from(r) << 32) | u64::from(l))
    }

    /// Encrypts one block in place.
    pub(crate) fn encrypt(&self, block: &mut [u8; 8]) {
        *block = Self::rounds(u64::from_be_bytes(*block), self.subkeys.iter()).to_be_bytes();
    }

    /// Decrypts one block in place (the subkeys in reverse order).
    pub(crate) fn decrypt(&self, block: &mut [u8; 8]) {
        *block = Self::rounds(u64::from_be_bytes(*block), self.subkeys.iter().rev()).to_be_bytes();
    }
}

impl core::fmt::Debug for Des {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Des(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
    use proptest::prelude::*;

    use hex_literal::hex;

    #[test]
    fn known_answers() {
        // FIPS 81 Appendix B (ECB): key 0123456789ABCDEF, "Now is t" → 3FA40E8A984D4815
        let k = Des::new(&hex!("0123456789ABCDEF"));
        let mut b = *b"Now is t";
        k.encrypt(&mut b);
        assert_eq!(b, hex!("3FA40E8A984D4815"));
        k.decrypt(&mut b);
        assert_eq!(&b, b"Now is t");
        // the worked example of the DES literature: 133457799BBCDFF1 / 0123456789ABCDEF
        let k = Des::new(&hex!("133457799BBCDFF1"));
        let mut b = hex!("0123456789ABCDEF");
        k.encrypt(&mut b);
        assert_eq!(b, hex!("85E813540F0AB405"));
    }

    proptest! {
        #[test]
        fn the_same_as_the_rustcrypto_crate(key in any::<[u8; 8]>(), block in any::<[u8; 8]>()) {
            let oracle = des::Des::new(&key.into());
            let ours = Des::new(&key);
            let (mut a, mut b) = (block, block);
            oracle.encrypt_block((&mut a).into());
            ours.encrypt(&mut b);
            prop_assert_eq!(a, b);
            oracle.decrypt_block((&mut a).into());
            ours.decrypt(&mut b);
            prop_assert_eq!(a, block);
            prop_assert_eq!(b, block);
        }
    }
}
