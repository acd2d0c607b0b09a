//! The crate's one error type.

use emv_auth::HostError;
use emv_crypto::CryptoError;
use thiserror::Error;

/// Everything that can go wrong in the issuer host.
///
/// Declines (wrong PIN, replay, insufficient funds, ...) are *not* errors: they are
/// answers with an ISO 8583 response code. An `Error` means the message or call could not
/// be processed at all, and nothing was changed in the store.
#[derive(Debug, Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
#[non_exhaustive]
pub enum Error {
    /// No card with this PAN (and PSN) is provisioned.
    #[error("unknown card {pan}")]
    UnknownCard {
        /// The PAN, masked.
        pan: String,
    },
    /// Several cards share this PAN: the PSN must be given.
    #[error("card {pan} is ambiguous: give the PSN (one of {psns})")]
    AmbiguousCard {
        /// The PAN, masked.
        pan: String,
        /// The PSNs that exist, comma separated.
        psns: String,
    },
    /// The request is malformed or inconsistent.
    #[error("{0}")]
    BadRequest(String),
    /// The ICC data (DE 55) cannot be used: malformed TLV, missing or mis-sized tags.
    #[error("ICC data (DE 55): {0}")]
    #[strum(serialize = "invalid-icc-data")]
    IccData(String),
    /// The PIN block names a terminal key the host does not know.
    #[error("unknown PIN key id {0:?}")]
    UnknownKeyId(String),
    /// The PIN block format does not fit the key or is not accepted.
    #[error("PIN block: {0}")]
    #[strum(serialize = "wrong-pin-block-format")]
    PinBlockFormat(String),
    /// The PIN block does not decrypt to a valid ISO 9564 PIN field under the named key.
    #[error("PIN block could not be decrypted to a valid ISO 9564 PIN field ({0})")]
    PinBlockUndecryptable(String),
    /// A new PIN was refused by the PIN policy (too easy to guess).
    #[error("PIN refused: {0}")]
    WeakPin(&'static str),
    /// The PIN's length cannot be checked by the card's verification method (a Visa PVV
    /// covers exactly 4 digits).
    #[error("PIN refused: {0}")]
    PinLength(&'static str),
    /// Card provisioning data is invalid.
    #[error("provisioning: {0}")]
    #[strum(serialize = "invalid-provisioning")]
    Provision(String),
    /// The key file is missing, malformed or incomplete.
    #[error("key file: {0}")]
    KeyFile(String),
    /// A PIN cannot be recovered from what the host stores for this card.
    #[error("{0}")]
    PinNotRecoverable(String),
    /// The issuer API key is missing or wrong.
    #[error("missing or invalid issuer API key")]
    Unauthorized,
    /// Cryptography failed on host-held data (keys, stored values).
    #[error("cryptography: {0}")]
    Crypto(#[from] CryptoError),
    /// The store failed (its backend's own error, e.g. SQLite's).
    #[error("store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached (down, restarting, the network lost): nothing was
    /// changed; the request may be tried again (HTTP 503, ISO 8583 `96`).
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    /// The store transaction could not be committed (the work was not saved).
    #[error("store commit failed: {0}")]
    #[strum(serialize = "store-commit")]
    Commit(String),
    /// The store holds data the host cannot read (corrupted or from a newer version).
    #[error("store data: {0}")]
    #[strum(serialize = "store-data")]
    Corrupt(String),
    /// File system or network I/O failed. The OS error is part of the message and not
    /// also reported as the error's source, so a printed chain names it once.
    #[error("{context}: {io}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        io: std::io::Error,
    },
    /// The store could not answer (a caller went away mid-call).
    #[error("the issuer service has stopped")]
    Stopped,
    /// No plastic with this plasticId (PIN Control API).
    #[error("unknown plasticId {0:?}")]
    UnknownPlastic(String),
    /// The PIN Control id is not a token this host made: malformed, truncated, tampered
    /// with, or minted by another host instance.
    #[error("invalid controlId: {0}")]
    InvalidControlId(&'static str),
    /// The PIN Control id is older than its 30 seconds (docs/pin.md §7 step 3).
    #[error("the controlId has expired (it is valid for 30 seconds): request a new one")]
    ControlIdExpired,
    /// The PIN Control id was already used (single use).
    #[error("the controlId was already used (it is single use): request a new one")]
    ControlIdUsed,
    /// The call does not fit the scope of the token (VIEW_PIN / SET_PIN).
    #[error("this snapshot was opened for {got}, not {expected}")]
    WrongScope {
        /// The scope the call needs.
        expected: &'static str,
        /// The scope of the token.
        got: &'static str,
    },
    /// No PIN Control snapshot with this id (never served, or long expired).
    #[error("unknown snapshot: open the PIN page with a controlId first")]
    UnknownSnapshot,
    /// The snapshot already revealed or set its PIN.
    #[error("this snapshot was already used: open the PIN page again with a new controlId")]
    SnapshotUsed,
    /// The snapshot is older than its lifetime.
    #[error("this snapshot has expired: open the PIN page again with a new controlId")]
    SnapshotExpired,
    /// Too many PIN Control tokens for one plastic in the rate window.
    #[error("too many PIN Control requests for this plastic: retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a new request is accepted.
        retry_after: u64,
    },
    /// The device's public key cannot be used (it must be an EC P-256 public JWK).
    #[error("publicKey: {0}")]
    #[strum(serialize = "invalid-public-key")]
    InvalidDeviceKey(String),
    /// The encrypted PIN from the device cannot be opened or is not a PIN of 4-12 digits.
    #[error("{0}")]
    InvalidPin(&'static str),
}

impl Error {
    /// A short machine-readable name of the error, used as `error` in HTTP bodies.
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// Whether the caller's input caused the error (as opposed to the host failing).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::UnknownCard { .. }
                | Self::AmbiguousCard { .. }
                | Self::BadRequest(_)
                | Self::IccData(_)
                | Self::UnknownKeyId(_)
                | Self::PinBlockFormat(_)
                | Self::PinBlockUndecryptable(_)
                | Self::WeakPin(_)
                | Self::PinLength(_)
                | Self::Provision(_)
                | Self::PinNotRecoverable(_)
                | Self::Unauthorized
                | Self::UnknownPlastic(_)
                | Self::InvalidControlId(_)
                | Self::ControlIdExpired
                | Self::ControlIdUsed
                | Self::WrongScope { .. }
                | Self::UnknownSnapshot
                | Self::SnapshotUsed
                | Self::SnapshotExpired
                | Self::RateLimited { .. }
                | Self::InvalidDeviceKey(_)
                | Self::InvalidPin(_)
        )
    }

    pub(crate) fn io(context: impl Into<String>, io: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            io,
        }
    }
}

impl From<Error> for HostError {
    fn from(e: Error) -> Self {
        if e.is_client_error() {
            HostError::Rejected(e.to_string())
        } else if matches!(e, Error::Stopped | Error::StoreUnavailable(_)) {
            HostError::Unreachable(e.to_string())
        } else {
            HostError::Internal(e.to_string())
        }
    }
}
