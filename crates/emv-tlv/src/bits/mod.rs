//! Typed EMV bit fields with readable decoding.
//!
//! Each field is a newtype over its bytes with one named constant per bit (a [`Bit`]),
//! `set`/`clear`/`is_set`, and [`Describe::describe`], which lists what is set in the
//! words of the specification. Byte and bit numbers follow the spec: byte 1 is the first
//! byte, b8 the most significant bit.

pub mod afl;
pub mod aip;
pub mod cid;
pub mod cvm;
pub mod iad;
pub mod terminal;
pub mod tvr;

pub use afl::{Afl, AflEntry};
pub use aip::{Aip, Auc};
pub use cid::{AcType, Cid};
pub use cvm::{CvRule, CvmCode, CvmCondition, CvmList, CvmResult, CvmResults};
pub use iad::{Iad, IadFormat};
pub use terminal::{AdditionalTerminalCapabilities, TerminalCapabilities, TerminalType};
pub use tvr::{Tsi, Tvr};

/// One named bit of a bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bit {
    /// Byte number, 1-based as in the spec tables.
    pub byte: u8,
    /// Mask within the byte (`0x80` = b8).
    pub mask: u8,
    /// The spec's name for the bit.
    pub name: &'static str,
}

impl Bit {
    /// Bit number within the byte, 1 (LSB) to 8 (MSB), of the mask's highest bit.
    pub fn bit_number(&self) -> u8 {
        8 - self.mask.leading_zeros() as u8
    }

    /// "byte 3 bit 8" style position.
    pub fn position(&self) -> String {
        format!("byte {} bit {}", self.byte, self.bit_number())
    }
}

/// Readable decoding: one line per fact, in the spec's words.
pub trait Describe {
    /// What the value means, one line per set bit / field.
    fn describe(&self) -> Vec<String>;
}

/// Lines for every set bit of `bytes` according to `table`, plus a line for each set bit
/// the table does not name (RFU).
pub(crate) fn describe_bits(bytes: &[u8], table: &[Bit]) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        let byte = (i + 1) as u8;
        let mut known = 0u8;
        for bit in table.iter().filter(|bit| bit.byte == byte) {
            known |= bit.mask;
            if b & bit.mask == bit.mask && bit.mask != 0 {
                lines.push(format!("{}: {}", bit.position(), bit.name));
            }
        }
        let rfu = b & !known;
        for n in (1..=8u8).rev() {
            let mask = 1u8 << (n - 1);
            if rfu & mask != 0 {
                lines.push(format!("byte {byte} bit {n}: RFU bit set"));
            }
        }
    }
    lines
}

/// Declares a fixed-length bit field type with one constant per named bit.
macro_rules! bitfield {
    (
        $(#[$meta:meta])*
        $name:ident [$len:expr] {
            $( $cname:ident = ($byte:expr, $mask:expr, $text:expr) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;
            $(
                #[doc = $text]
                pub const $cname: $crate::bits::Bit =
                    $crate::bits::Bit { byte: $byte, mask: $mask, name: $text };
            )*
            /// Every named bit, in table order.
            pub const ALL: &'static [$crate::bits::Bit] = &[ $( Self::$cname ),* ];

            /// All bits clear.
            pub const fn new() -> Self {
                $name([0; $len])
            }

            /// From a slice of exactly the field's length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map($name)
            }

            /// Set `bit`.
            pub fn set(&mut self, bit: $crate::bits::Bit) {
                if let Some(b) = self.0.get_mut(usize::from(bit.byte).wrapping_sub(1)) {
                    *b |= bit.mask;
                }
            }

            /// Clear `bit`.
            pub fn clear(&mut self, bit: $crate::bits::Bit) {
                if let Some(b) = self.0.get_mut(usize::from(bit.byte).wrapping_sub(1)) {
                    *b &= !bit.mask;
                }
            }

            /// Whether `bit` is set.
            pub fn is_set(&self, bit: $crate::bits::Bit) -> bool {
                self.0
                    .get(usize::from(bit.byte).wrapping_sub(1))
                    .is_some_and(|b| b & bit.mask == bit.mask)
            }

            /// The named bits that are set, in table order.
            pub fn set_bits(&self) -> Vec<$crate::bits::Bit> {
                Self::ALL.iter().copied().filter(|b| self.is_set(*b)).collect()
            }

            /// Upper-case hex.
            pub fn to_hex(&self) -> String {
                $crate::hex::encode(&self.0)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}
pub(crate) use bitfield;
