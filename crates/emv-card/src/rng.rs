//! The card's random numbers (GET CHALLENGE, ICC dynamic numbers): the operating
//! system's generator, or a seeded one so that scenarios and traces replay byte for byte.

/// A random source.
#[derive(Debug, Clone)]
pub enum CardRng {
    /// `getrandom`.
    System,
    /// SplitMix64 from a seed (deterministic; for tests, scenarios and traces).
    Seeded(u64),
}

impl CardRng {
    /// The operating system's generator.
    pub fn system() -> Self {
        Self::System
    }

    /// A deterministic generator.
    pub fn seeded(seed: u64) -> Self {
        Self::Seeded(seed)
    }

    /// Fills `out`.
    pub fn fill(&mut self, out: &mut [u8]) {
        match self {
            Self::System => {
                if getrandom::fill(out).is_err() {
                    // No OS randomness: fall back to a time-seeded generator rather than
                    // failing the command (the card has no other error to give).
                    let seed = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos() as u64)
                        .unwrap_or(0x5EED);
                    let mut g = Self::Seeded(seed);
                    g.fill(out);
                }
            }
            Self::Seeded(state) => {
                for chunk in out.chunks_mut(8) {
                    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    let bytes = z.to_be_bytes();
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
            }
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }
}
