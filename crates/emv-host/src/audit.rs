//! The audit trail of the PIN management API: every change is written with its time,
//! action, masked PAN and outcome, in the same transaction as the change (never a PIN; docs/issuer-host.md §8).

use serde::Serialize;

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

/// An audit record to write (docs/issuer-host.md §8): the PAN masked, never a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord<'a> {
    /// When (Unix seconds).
    pub at: i64,
    /// Who asked.
    pub actor: &'a str,
    /// What was asked.
    pub action: &'a str,
    /// The PAN, masked.
    pub pan_masked: String,
    /// PAN sequence number.
    pub psn: &'a str,
    /// `ok` or the refusal reason.
    pub outcome: &'a str,
}

impl<'a> AuditRecord<'a> {
    /// A record about the card `pan`/`psn`.
    pub fn new(
        at: i64,
        actor: &'a str,
        action: &'a str,
        pan: &str,
        psn: &'a str,
        outcome: &'a str,
    ) -> Self {
        Self {
            at,
            actor,
            action,
            pan_masked: mask_pan(pan),
            psn,
            outcome,
        }
    }
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
