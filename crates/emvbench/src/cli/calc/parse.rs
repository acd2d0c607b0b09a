//! Argument parsing for `calc`: hex, keys, PINs, PANs, with errors that name the argument
//! and never echo a key or a PIN.
//!
//! Secrets (keys, PINs) are read from the command line into [`Secret`] (a zeroizing string
//! with a redacted `Debug`) and turned into the library's zeroizing types at once. Their
//! parse errors are produced here, not by clap, because clap's "invalid value 'X'" message
//! would echo the secret.

use core::fmt;
use std::convert::Infallible;

use anyhow::Error;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use emv_crypto::CryptoError;
use emv_crypto::keys::{AesKey, TdesKey};
use emv_crypto::pinblock::Pin;
use emv_crypto::util;
use zeroize::Zeroizing;

use crate::cli::InputError;

/// A secret command-line value (key or PIN), wiped on drop and redacted in `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// clap value parser for [`Secret`]: takes the value as is (validation comes later, with
/// errors that do not echo it).
pub fn secret(s: &str) -> Result<Secret, Infallible> {
    Ok(Secret(Zeroizing::new(s.to_string())))
}

/// An input error: `--arg: message`, exit code 2.
pub fn input(arg: &str, msg: impl fmt::Display) -> Error {
    InputError(format!("{arg}: {msg}")).into()
}

/// Wraps a library error as an input error on `arg`. The library's messages name lengths
/// and positions, never key or PIN values.
pub fn crypto(arg: &'static str) -> impl Fn(CryptoError) -> Error {
    move |e| match e {
        // the library's own name for the input ("TDES key") would repeat the argument
        CryptoError::InvalidHex { reason, .. } => input(arg, format!("invalid hex ({reason})")),
        other => input(arg, other),
    }
}

/// Hex bytes (either case; spaces ignored).
pub fn hex(arg: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    util::from_hex("", s).map_err(crypto(arg))
}

/// Hex of exactly `N` bytes.
pub fn hex_array<const N: usize>(arg: &'static str, s: &str) -> Result<[u8; N], Error> {
    let v = hex(arg, s)?;
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| {
        input(
            arg,
            format!(
                "must be {N} bytes ({} hex digits), got {} bytes",
                2 * N,
                v.len()
            ),
        )
    })
}

/// The ATC (9F36): 2 bytes.
pub fn atc(s: &str) -> Result<u16, Error> {
    hex_array::<2>("--atc", s).map(u16::from_be_bytes)
}

/// A TDES key (16 or 24 bytes).
pub fn tdes(arg: &'static str, s: &Secret) -> Result<TdesKey, Error> {
    TdesKey::from_hex(s.as_str()).map_err(crypto(arg))
}

/// An AES key (16, 24 or 32 bytes).
pub fn aes(arg: &'static str, s: &Secret) -> Result<AesKey, Error> {
    AesKey::from_hex(s.as_str()).map_err(crypto(arg))
}

/// Raw key bytes for operations that take several key families (`kcv`, `mac`).
pub fn key_bytes(arg: &'static str, s: &Secret) -> Result<Zeroizing<Vec<u8>>, Error> {
    let k = Zeroizing::new(util::from_hex("", s.as_str()).map_err(crypto(arg))?);
    if k.is_empty() {
        return Err(input(arg, "the key is empty"));
    }
    Ok(k)
}

/// A PIN of 4–12 digits.
pub fn pin(arg: &'static str, s: &Secret) -> Result<Pin, Error> {
    Pin::new(s.as_str()).map_err(crypto(arg))
}

/// A PAN: 8–19 decimal digits, by the library's rule (`emv_crypto::kdf::validate_pan`).
pub fn pan<'a>(arg: &'static str, s: &'a str) -> Result<&'a str, Error> {
    match emv_crypto::kdf::validate_pan(s) {
        Ok(()) => Ok(s),
        Err(CryptoError::InvalidPan(_)) => {
            Err(input(arg, format!("PAN must be 8-19 digits, got {s:?}")))
        }
        Err(other) => Err(input(arg, other)),
    }
}

/// A PAN Sequence Number: 2 decimal digits, by the library's rule.
pub fn psn(s: &str) -> Result<&str, Error> {
    emv_crypto::kdf::validate_psn(s)
        .map(|()| s)
        .map_err(crypto("--psn"))
}

/// A clap parser restricted to `names` (listed in `--help`, completed by shells) that maps
/// the chosen name through the library's `FromStr`.
pub fn choice<T>(names: impl IntoIterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: core::str::FromStr<Err = CryptoError> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn errors_name_the_argument_and_hide_secrets() {
        let s = secret("0123456789ABCDEFFEDCBA98765432").unwrap_or_else(|e| match e {});
        let e = msg(tdes("--key", &s).unwrap_err());
        assert!(e.starts_with("--key: key length 15 bytes"), "{e}");
        assert!(!e.contains("0123"), "{e}");
        let e = msg(pin("--pin", &secret("123").unwrap_or_else(|e| match e {})).unwrap_err());
        assert_eq!(e, "--pin: PIN must be 4–12 digits, got 3");
        let e = msg(pin("--pin", &secret("12a45").unwrap_or_else(|e| match e {})).unwrap_err());
        assert!(!e.contains("12a45"), "{e}");
        assert_eq!(
            msg(pan("--pan", "12AB").unwrap_err()),
            "--pan: PAN must be 8-19 digits, got \"12AB\""
        );
        assert_eq!(
            msg(hex("--data", "12G4").unwrap_err()),
            "--data: invalid hex ('G' is not a hex digit)"
        );
        assert_eq!(
            msg(atc("001").unwrap_err()),
            "--atc: invalid hex (odd number of hex digits (3))"
        );
        assert_eq!(
            msg(atc("000102").unwrap_err()),
            "--atc: must be 2 bytes (4 hex digits), got 3 bytes"
        );
        assert_eq!(atc("0012").unwrap(), 0x12);
        assert!(psn("1").is_err());
        assert_eq!(psn("01").unwrap(), "01");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
