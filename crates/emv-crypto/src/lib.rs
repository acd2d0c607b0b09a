//! Payment cryptography shared by the card, the kernel and the host: block ciphers and
//! MACs, key derivation, application cryptograms, issuer-script secure messaging, ISO 9564
//! PIN blocks, PIN verification values, offline data authentication, enciphered offline
//! PIN and JWE. Pure: no I/O. Secrets live in zeroizing buffers and are compared in
//! constant time.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod error;
mod fips46;

// symmetric (block ciphers, MACs, keys, cryptograms, scripts, PIN blocks, PVV)
pub mod block;
pub mod cryptogram;
pub mod cvv;
pub mod kdf;
pub mod keys;
pub mod mac;
pub mod pinblock;
pub mod pvv;
pub mod script;
pub mod session;
pub mod tr31;
pub mod util;

// asymmetric (ODA certificates, enciphered offline PIN) and JWE
pub mod jwe;
pub mod oda;
pub mod offline_pin;

pub use error::CryptoError;

pub use cryptogram::Cvn;
pub use keys::{AesKey, DesKey, TdesKey};
pub use pinblock::Pin;
