//! The one error type of this crate.

use emv_apdu::TransportError;
use emv_auth::HostError;
use emv_card::CardError;
use emv_kernel::KernelError;

/// What can go wrong while setting up or running a session. A card that misbehaves during a
/// transaction is not an error: the kernel turns it into a `terminated` outcome.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The card profile, the card's state file or a `--card-tag` override is unusable.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The terminal profile, a `--terminal-tag` override or the transaction parameters are
    /// unusable.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The embedded issuer host refused a call or failed.
    #[error(transparent)]
    Host(#[from] emv_host::Error),
    /// A remote issuer host (`--host http://...`) could not be reached or refused a call.
    #[error(transparent)]
    Remote(#[from] HostError),
    /// Cryptography failed (View PIN / Set PIN device side).
    #[error(transparent)]
    Crypto(#[from] emv_crypto::CryptoError),
    /// The card could not be powered on.
    #[error("card: {0}")]
    Transport(#[from] TransportError),
    /// The card profile cannot be turned into the host's provisioning data.
    #[error("card profile {profile}: {reason}")]
    Provision {
        /// The profile's name.
        profile: String,
        /// What is wrong.
        reason: String,
    },
    /// A scenario file is invalid.
    #[error("{file}:{line}: {field}{}{reason}", if field.is_empty() { "" } else { ": " })]
    Scenario {
        /// The file.
        file: String,
        /// 1-based line (0: the whole file).
        line: usize,
        /// The field (`amount`, `step[2].pin`, ...), empty when unknown.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A scenario step could not run.
    #[error("step {step} (line {line}): {source}")]
    Step {
        /// 1-based step.
        step: usize,
        /// Its line.
        line: usize,
        /// Why.
        source: Box<SessionError>,
    },
    /// A value given by the user (amount, host address, ...) is invalid.
    #[error("{0}")]
    Input(String),
}
