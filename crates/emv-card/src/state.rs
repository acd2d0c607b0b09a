//! The card's persistent state: what survives a power cut (PIN Try Counter, the PIN,
//! counters, block flags, data written by PUT DATA). Versioned: a newer binary reads an
//! older file (fields added later have defaults).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Current state file version.
pub const STATE_VERSION: u32 = 1;

/// The persistent state of one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    /// Format version ([`STATE_VERSION`] when written by this binary).
    pub version: u32,
    /// The profile this state belongs to.
    pub profile: String,
    /// PIN Try Counter (9F17): remaining offline PIN tries.
    pub pin_try_counter: u8,
    /// The offline PIN, as an ISO 9564 format 2 block enciphered under the card's storage
    /// key (never in clear), hex.
    pub pin_cryptogram: String,
    /// Application Transaction Counter (9F36) of the last GET PROCESSING OPTIONS.
    pub atc: u16,
    /// ATC of the last transaction that went online and completed (9F13).
    pub last_online_atc: u16,
    /// AIDs (hex) of the applications blocked by APPLICATION BLOCK (or the CSU).
    #[serde(default)]
    pub blocked_apps: Vec<String>,
    /// CARD BLOCK was executed: every SELECT answers `6A81`.
    #[serde(default)]
    pub card_blocked: bool,
    /// Consecutive transactions approved offline since the last online one.
    #[serde(default)]
    pub consecutive_offline: u8,
    /// The last transaction asked to go online and did not complete.
    #[serde(default)]
    pub last_online_not_completed: bool,
    /// Issuer authentication failed on the last online transaction.
    #[serde(default)]
    pub issuer_auth_failed_last: bool,
    /// Issuer script processing failed on the last transaction.
    #[serde(default)]
    pub script_failed_last: bool,
    /// Secure-messaging commands processed on the last transaction that had scripts.
    #[serde(default)]
    pub script_commands_last: u8,
    /// Script commands rejected for a bad MAC, in total.
    #[serde(default)]
    pub sm_failures: u16,
    /// The CSU asked to go online on the next transaction.
    #[serde(default)]
    pub go_online_next: bool,
    /// The offline PIN was changed by script on the last transaction (M/Chip CVR).
    #[serde(default)]
    pub pin_changed_last: bool,
    /// Data objects written by PUT DATA (tag hex → value hex).
    #[serde(default)]
    pub data_updates: BTreeMap<String, String>,
    /// The transaction logs (EMV 4.4 Book 3 Annex D): by AID (hex), the records (hex),
    /// most recent first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transaction_log: BTreeMap<String, Vec<String>>,
}

impl CardState {
    /// Brings a state read from an older file up to [`STATE_VERSION`].
    pub fn migrate(mut self) -> Self {
        // Version 1 is the first format; later versions add fields with serde defaults
        // and convert here.
        self.version = STATE_VERSION;
        self
    }

    /// Whether the application `aid` is blocked.
    pub fn app_blocked(&self, aid: &[u8]) -> bool {
        let h = hex::encode_upper(aid);
        self.blocked_apps.contains(&h)
    }

    /// Blocks or unblocks `aid`.
    pub fn set_app_blocked(&mut self, aid: &[u8], blocked: bool) {
        let h = hex::encode_upper(aid);
        self.blocked_apps.retain(|a| *a != h);
        if blocked {
            self.blocked_apps.push(h);
        }
    }
}
