//! The crate's one error type.

use emv_apdu::{ApduError, TransportError};
use emv_tlv::TlvError;
use thiserror::Error;

/// Everything that can go wrong in the kernel.
///
/// Configuration problems ([`KernelError::Profile`], [`KernelError::Params`], ...) are
/// returned by [`crate::Kernel::run`] before the first APDU. Everything that goes wrong
/// *during* a transaction (a malformed card answer, a card that disappears, a status word
/// that ends the transaction) becomes an outcome `terminated` with the error's text as
/// the reason: card answers are input, never a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KernelError {
    /// A terminal profile field is missing or invalid; `field` names it
    /// (`tac.denial`, `aid[1].aid`, `9F33`, ...).
    #[error("terminal profile {profile}: {field}: {reason}")]
    Profile {
        /// Profile name or path.
        profile: String,
        /// The field (TOML key or tag).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A terminal profile could not be found or read.
    #[error("terminal profile {0}")]
    ProfileNotFound(String),
    /// Invalid transaction parameters (amount too large, bad date, ...).
    #[error("transaction parameters: {0}")]
    Params(String),
    /// The PIN pad was given something that is not a PIN entry.
    #[error("PIN pad: {0}")]
    PinPad(String),
    /// The card or reader failed (removed, mute, malformed R-APDU).
    #[error("card communication: {0}")]
    Transport(#[from] TransportError),
    /// The card or reader failed during this command (removed, mute, malformed R-APDU):
    /// the outcome's termination reason names the command that got no usable answer.
    #[error("card communication failed during {command}: {source}")]
    Card {
        /// The command's name as the APDU log gives it (`GENERATE AC (TC)`, ...).
        command: String,
        /// What the transport reported.
        #[source]
        source: TransportError,
    },
    /// A command could not be encoded (a DOL asked for more data than fits, ...).
    #[error("APDU: {0}")]
    Apdu(#[from] ApduError),
    /// A card answer is not well-formed BER-TLV.
    #[error("malformed card data: {0}")]
    Tlv(#[from] TlvError),
    /// The transaction is terminated for the stated reason (EMV 4.4 Book 3 and Book 4 name
    /// each case; the reason cites the section).
    #[error("{0}")]
    Terminate(String),
}

impl KernelError {
    /// A termination with a reason.
    pub(crate) fn terminate(reason: impl Into<String>) -> Self {
        KernelError::Terminate(reason.into())
    }
}
