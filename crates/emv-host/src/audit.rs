//! The audit trail of the PIN management API: every change is written with its time,
//! action, masked PAN and outcome, in the same transaction as the change (never a PIN).

use rusqlite::{Transaction, params};
use serde::Serialize;

use crate::Error;

/// A PAN as audit records and logs show it: first 6 and last 4 digits.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    if n <= 10 || !pan.is_ascii() {
        return "*".repeat(n.min(19));
    }
    format!("{}{}{}", &pan[..6], "*".repeat(n - 10), &pan[n - 4..])
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC time.
    pub at: String,
    /// Who asked (API key name, `cli`, `service`).
    pub actor: String,
    /// What was asked (`pin-unblock`, `pin-reset`, `block-card`, ...).
    pub action: String,
    /// Masked PAN.
    pub pan: String,
    /// PAN sequence number.
    pub psn: String,
    /// `ok` or the refusal reason.
    pub outcome: String,
}

pub(crate) fn record(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    pan: &str,
    psn: &str,
    outcome: &str,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, pan_masked, psn, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        crate::time::rfc3339(crate::time::now_unix()),
        actor,
        action,
        mask_pan(pan),
        psn,
        outcome
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_pan("4761739001010010"), "476173******0010");
        assert_eq!(mask_pan("1234"), "****");
    }
}
