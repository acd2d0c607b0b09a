//! The kernel's deterministic random source: Unpredictable Number (9F37), random
//! transaction selection (Book 3 §10.6.2) and the random padding of enciphered PIN blocks
//! (Book 2 §7.2).
//!
//! A hash DRBG (SHA-256 of a key derived from the seed and a counter): given the same seed
//! the kernel sends the same APDUs, which is what recorded traces and scenario files need.
//! Choose a fresh seed per transaction (e.g. from the OS) when running against real cards.

use core::convert::Infallible;
use core::fmt;

use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Deterministic random generator seeded by a `u64`.
pub struct KernelRng {
    key: Zeroizing<[u8; 32]>,
    counter: u64,
    buf: Zeroizing<[u8; 32]>,
    pos: usize,
}

impl fmt::Debug for KernelRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KernelRng(..)")
    }
}

impl KernelRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"emvbench kernel rng v1");
        h.update(seed.to_be_bytes());
        KernelRng {
            key: Zeroizing::new(h.finalize().into()),
            counter: 0,
            buf: Zeroizing::new([0; 32]),
            pos: 32,
        }
    }

    fn refill(&mut self) {
        let mut h = Sha256::new();
        h.update(self.key.as_slice());
        h.update(self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        *self.buf = h.finalize().into();
        self.pos = 0;
    }

    /// Fill `out` with pseudo-random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.pos >= self.buf.len() {
                self.refill();
            }
            *b = self.buf[self.pos];
            self.pos += 1;
        }
    }

    /// A pseudo-random `u32`.
    pub fn next_u32_value(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_be_bytes(b)
    }

    /// A number from 1 to 99 (Book 3 §10.6.2: "the terminal shall generate a random number
    /// in the range of 1 to 99").
    pub fn percent(&mut self) -> u8 {
        // 1 + (u32 mod 99): the bias is below 1e-7
        1 + (self.next_u32_value() % 99) as u8
    }
}

impl TryRng for KernelRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.next_u32_value())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        Ok(u64::from_be_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.fill(dst);
        Ok(())
    }
}

/// Seeded from the caller: as unpredictable as the seed. The kernel uses it for the
/// enciphered PIN padding, which only needs to differ between transactions.
impl TryCryptoRng for KernelRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let (mut a, mut b, mut c) = (KernelRng::new(7), KernelRng::new(7), KernelRng::new(8));
        let mut x = [0u8; 70];
        let mut y = [0u8; 70];
        let mut z = [0u8; 70];
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        for _ in 0..1000 {
            let p = a.percent();
            assert!((1..=99).contains(&p));
        }
    }
}
