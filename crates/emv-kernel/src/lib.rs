//! An EMV contact terminal kernel for the emvbench test bench.
//!
//! One module per transaction stage, each rule citing its section of EMV 4.4 (Book 1 for
//! application selection, Book 2 for offline data authentication, Book 3 §10 for the
//! transaction flow, Book 4 §6 for the terminal's side):
//!
//! | stage | module |
//! |---|---|
//! | application selection (Book 1 §12) | [`selection`] |
//! | initiate application processing (Book 3 §10.1) | [`initiate`] |
//! | read application data (§10.2) | [`read_data`] |
//! | offline data authentication (§10.3) | [`oda`] |
//! | processing restrictions (§10.4) | [`restrictions`] |
//! | cardholder verification (§10.5, Book 4 §6.3.4) | [`cvm`] |
//! | terminal risk management (§10.6) | [`risk`] |
//! | terminal and card action analysis, GENERATE AC (§10.7, §10.8) | [`action`] |
//! | online processing, issuer authentication, completion (§10.9, §10.11) | [`online`] |
//! | issuer script processing (§10.10) | [`script`] |
//!
//! The kernel is generic over the card ([`emv_apdu::Transport`]: every command goes
//! through [`emv_apdu::exchange`]), the PIN pad ([`PinPad`]) and the issuer
//! ([`emv_auth::Host`]). Given the same profile, parameters (date, time, seed) and card it
//! sends the same APDUs. It reports what it does as one stream of typed [`Event`]s
//! ([`event`]) to one [`Observer`]: stages, exchanges, decisions with their spec
//! references, CV Rules, the issuer's answer, script results.
//!
//! ```no_run
//! use emv_kernel::{Kernel, KernelConfig, Profile, ScriptedPinPad, TransactionParams};
//! # fn demo(card: &mut dyn emv_apdu::Transport, host: &mut dyn emv_auth::Host) -> Result<(), emv_kernel::KernelError> {
//! let kernel = Kernel::new(Profile::load("pos-attended")?, KernelConfig::default());
//! let mut pinpad = ScriptedPinPad::new(["1234"])?;
//! let outcome = kernel.run(card, &mut pinpad, host, &TransactionParams::purchase(2500))?;
//! println!("{} TVR {} CVM Results {}", outcome.outcome.name(), outcome.tvr.to_hex(), outcome.cvm_results.to_hex());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

pub mod action;
pub mod cvm;
pub mod data;
pub mod error;
pub mod event;
pub mod initiate;
pub mod kernel;
pub mod oda;
pub mod online;
pub mod outcome;
pub mod params;
pub mod pinpad;
pub mod profile;
pub mod read_data;
pub mod restrictions;
pub mod risk;
pub mod rng;
pub mod script;
pub mod selection;
pub mod testing;
pub mod util;

pub use cvm::{CvRuleTrace, RuleOutcome};
pub use error::KernelError;
pub use event::{
    ApduRecord, Decision, Event, Exchange, Journal, Observer, ScriptResult, Stage, Topic,
};
pub use kernel::{Kernel, KernelConfig, OdaMethod, Transaction};
pub use outcome::{CardState, CvmPerformed, HostState, Outcome, OutcomeKind, Reversal};
pub use params::{TransactionDate, TransactionParams, TransactionTime};
pub use pinpad::{NoPinPad, PinEntry, PinKind, PinPad, PinPadStatus, PinPrompt, ScriptedPinPad};
pub use profile::{
    AidConfig, OnlinePinKey, PinKey, Profile, RandomSelection, TERMINAL_PROFILES_ENV,
    set_terminal_profile_dir, terminal_profile_dir,
};
