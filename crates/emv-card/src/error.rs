//! The crate's one error type.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong outside the APDU interface (which answers with status words).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CardError {
    /// A card profile could not be read.
    #[error("cannot read card profile {path}: {source}")]
    ProfileIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A card profile is not valid TOML or does not fit the schema (the message carries
    /// the line and column).
    #[error("card profile {origin}: {message}")]
    ProfileSyntax {
        /// File name or profile name.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A field of a card profile has a bad value.
    #[error("card profile {origin}: field `{field}`: {reason}")]
    ProfileField {
        /// File name or profile name.
        origin: String,
        /// Dotted path of the field, e.g. `application[0].records[1].tags[2]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// No profile of that name in the profile directory.
    #[error("unknown card profile {name:?} (looked in {dir}); available: {available}")]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        dir: String,
        /// The names that exist.
        available: String,
    },
    /// A `--card-tag` override is malformed.
    #[error("card tag override {0}")]
    Override(String),
    /// The state store failed.
    #[error("card state {path}: {reason}")]
    Store {
        /// The state file (or `memory`).
        path: String,
        /// What failed.
        reason: String,
    },
    /// A state file belongs to another card profile.
    #[error(
        "card state {path} belongs to profile {found:?}, not {expected:?}; use another --state file or delete it"
    )]
    StateMismatch {
        /// The state file.
        path: String,
        /// Its profile.
        found: String,
        /// The profile in use.
        expected: String,
    },
    /// A replay cannot build stand-in data for a redacted PIN-bearing command.
    #[error("stand-in PIN data: {0}")]
    StandIn(String),
    /// A cryptographic operation failed while personalising.
    #[error("card personalisation: {0}")]
    Crypto(#[from] emv_crypto::CryptoError),
}
