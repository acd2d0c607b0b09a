//! A simulated issuer host: online authorisation with ARQC/ARPC, online PIN verification
//! with its own durable try counter, issuer scripts that bring the chip's offline PIN in
//! step with the host, and a PIN management API, over a SQLite store.
//!
//! Layers (the service never knows about HTTP, the rules never know about storage;
//! docs/issuer-host.md §9):
//! - [`service::Issuer`]: the API (authorise, advise, PIN management, provisioning), each
//!   call one store transaction around the rules; it implements [`emv_auth::Host`] for
//!   in-process use;
//! - [`rules`]: the issuer's decisions, pure: state in, verdict and effects out;
//! - [`store`]: the [`store::Store`] / [`store::StoreTx`] interface and its SQLite
//!   backend (schema, migrations, leader/follower group commit);
//! - [`http`]: the axum API over the service, [`http::serve`] for the binary;
//! - [`client::HttpHost`]: [`emv_auth::Host`] over HTTP, for a kernel talking to a
//!   remote `emvbench host serve`;
//! - [`pin_control`]: View PIN / Set PIN for the issuer's app (tokens, the device page);
//! - [`keys`], [`provision`], [`pin`], [`chip`], [`scripts`], [`audit`]: the parts;
//! - [`testkit`]: requests built the way a card and terminal would (TEST keys).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod audit;
pub mod chip;
pub mod client;
mod error;
pub mod http;
pub mod iso8583;
pub mod iso8583_client;
pub mod keys;
pub mod pin;
pub mod pin_control;
pub mod provision;
pub mod rules;
pub mod scripts;
pub mod service;
pub mod store;
pub mod testkit;
pub mod time;

pub use client::HttpHost;
pub use error::Error;
pub use iso8583_client::{Iso8583Host, Iso8583Options};
pub use keys::{HostKeys, LinkKeys};
pub use pin_control::{PinControl, PinControlConfig};
pub use provision::{CardProvision, CardStatus, PinVerificationMethod, Plastic, PlasticStatus};
pub use service::{CardRef, CardSummary, CardView, Issuer, PinOutcome, PinResetMode};
pub use store::{HostStore, SqliteStore, Store, StoreTx, SyncMode, redact_url};

/// The default data directory: `$XDG_DATA_HOME/emvbench`, else
/// `$HOME/.local/share/emvbench`, else `./emvbench-data`.
pub fn default_data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("emvbench");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/emvbench");
    }
    PathBuf::from("emvbench-data")
}
