//! The PIN pad seam: scripted (tests, scenarios, `--pin`), absent, or interactive (a TUI
//! implements [`PinPad`] itself).
//!
//! PINs travel as [`emv_crypto::Pin`] (zeroizing buffer, `Debug` prints `Pin(****)`); the
//! kernel never logs them.

use std::collections::VecDeque;

use emv_crypto::Pin;

use crate::error::KernelError;

/// Whether a PIN pad can take a PIN now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinPadStatus {
    /// Present and working.
    Working,
    /// Present but malfunctioning (Book 3 §10.5.1: treated like "not present").
    NotWorking,
    /// No PIN pad.
    Absent,
}

/// Which PIN the cardholder is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// Offline PIN, verified by the card in plaintext (CVM 01/03).
    OfflinePlaintext,
    /// Offline PIN, enciphered for the card (CVM 04/05).
    OfflineEnciphered,
    /// Online PIN, verified by the issuer (CVM 02).
    Online,
}

/// What the PIN pad shows when it asks for a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPrompt {
    /// Which PIN.
    pub kind: PinKind,
    /// Amount to display, minor units.
    pub amount: u64,
    /// Transaction currency (ISO 4217 numeric).
    pub currency: u16,
    /// Remaining offline tries as far as the terminal knows (9F17 or the last `63Cx`).
    pub tries_left: Option<u8>,
    /// The previous offline PIN was wrong ("INCORRECT PIN", Book 4 §11.2 message 0A).
    pub previous_incorrect: bool,
    /// Show "LAST PIN TRY" (Book 4 §11.2 message 14 style): one try left.
    pub last_try: bool,
}

/// What the cardholder (or the attendant) did at the PIN pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinEntry {
    /// A PIN of 4-12 digits.
    Pin(Pin),
    /// PIN entry bypassed (Book 4 §6.3.4.3): the terminal sets "PIN entry required, PIN pad
    /// present, but PIN was not entered".
    Bypass,
    /// The cardholder cancelled (or a scripted PIN pad ran out of entries): the PIN CVM is
    /// unsuccessful.
    Cancel,
    /// Nobody was asked for a PIN, for the reason given (a scripted PIN pad given no PIN at
    /// all: `emvbench run` without `--pin`). To the kernel it is PIN entry not performed,
    /// as [`PinEntry::Cancel`] (Book 4 §6.3.4.3: "PIN entry required, PIN pad present, but
    /// PIN was not entered"); the outcome says why instead of "cancelled".
    NotEntered(String),
}

/// A PIN pad.
pub trait PinPad {
    /// Whether the PIN pad is there and works (default: working).
    fn status(&self) -> PinPadStatus {
        PinPadStatus::Working
    }

    /// Ask for a PIN.
    fn enter_pin(&mut self, prompt: &PinPrompt) -> PinEntry;

    /// Ask the cardholder to confirm an application whose Application Priority Indicator
    /// requires confirmation (Book 1 §12.4). Default: confirmed.
    fn confirm_application(&mut self, _label: &str) -> bool {
        true
    }
}

impl<P: PinPad + ?Sized> PinPad for &mut P {
    fn status(&self) -> PinPadStatus {
        (**self).status()
    }
    fn enter_pin(&mut self, prompt: &PinPrompt) -> PinEntry {
        (**self).enter_pin(prompt)
    }
    fn confirm_application(&mut self, label: &str) -> bool {
        (**self).confirm_application(label)
    }
}

impl<P: PinPad + ?Sized> PinPad for Box<P> {
    fn status(&self) -> PinPadStatus {
        (**self).status()
    }
    fn enter_pin(&mut self, prompt: &PinPrompt) -> PinEntry {
        (**self).enter_pin(prompt)
    }
    fn confirm_application(&mut self, label: &str) -> bool {
        (**self).confirm_application(label)
    }
}

/// One scripted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scripted {
    Pin(Pin),
    Bypass,
}

/// A PIN pad that plays a queue of entries: each entry is a PIN or a bypass; when the
/// queue is empty the cardholder cancels. `--pin 0000 --pin 1234` is
/// `ScriptedPinPad::new(["0000", "1234"])`.
#[derive(Debug, Clone, Default)]
pub struct ScriptedPinPad {
    entries: VecDeque<Scripted>,
    /// Why nobody enters a PIN once the entries are used up (instead of cancelling).
    when_empty: Option<String>,
    status: Option<PinPadStatus>,
    decline_confirmation: bool,
    prompts: Vec<PinPrompt>,
}

impl ScriptedPinPad {
    /// Entries: PIN digits (4-12) or `"bypass"`.
    pub fn new<I, S>(entries: I) -> Result<Self, KernelError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = ScriptedPinPad::default();
        for (i, e) in entries.into_iter().enumerate() {
            let e = e.as_ref();
            if e.eq_ignore_ascii_case("bypass") {
                out.entries.push_back(Scripted::Bypass);
            } else {
                let pin = Pin::new(e)
                    .map_err(|err| KernelError::PinPad(format!("entry {}: {err}", i + 1)))?;
                out.entries.push_back(Scripted::Pin(pin));
            }
        }
        Ok(out)
    }

    /// A scripted PIN pad that reports `status` (e.g. not working).
    pub fn with_status(mut self, status: PinPadStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Once the entries are used up, answer [`PinEntry::NotEntered`] with `reason` instead
    /// of cancelling: for a pad that was given no entry at all, where no cardholder is
    /// there to cancel.
    pub fn when_empty(mut self, reason: impl Into<String>) -> Self {
        self.when_empty = Some(reason.into());
        self
    }

    /// The cardholder refuses every application confirmation.
    pub fn refusing_confirmation(mut self) -> Self {
        self.decline_confirmation = true;
        self
    }

    /// Entries not used yet.
    pub fn remaining(&self) -> usize {
        self.entries.len()
    }

    /// Every prompt shown so far.
    pub fn prompts(&self) -> &[PinPrompt] {
        &self.prompts
    }
}

impl PinPad for ScriptedPinPad {
    fn status(&self) -> PinPadStatus {
        self.status.unwrap_or(PinPadStatus::Working)
    }

    fn enter_pin(&mut self, prompt: &PinPrompt) -> PinEntry {
        self.prompts.push(prompt.clone());
        match self.entries.pop_front() {
            Some(Scripted::Pin(p)) => PinEntry::Pin(p),
            Some(Scripted::Bypass) => PinEntry::Bypass,
            None => match &self.when_empty {
                Some(why) => PinEntry::NotEntered(why.clone()),
                None => PinEntry::Cancel,
            },
        }
    }

    fn confirm_application(&mut self, _label: &str) -> bool {
        !self.decline_confirmation
    }
}

/// No PIN pad at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPinPad;

impl PinPad for NoPinPad {
    fn status(&self) -> PinPadStatus {
        PinPadStatus::Absent
    }

    fn enter_pin(&mut self, _prompt: &PinPrompt) -> PinEntry {
        PinEntry::Cancel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> PinPrompt {
        PinPrompt {
            kind: PinKind::Online,
            amount: 1,
            currency: 978,
            tries_left: None,
            previous_incorrect: false,
            last_try: false,
        }
    }

    #[test]
    fn scripted_queue_then_cancel() {
        let mut pad = ScriptedPinPad::new(["1234", "BYPASS"]).unwrap();
        assert!(matches!(pad.enter_pin(&prompt()), PinEntry::Pin(_)));
        assert_eq!(pad.enter_pin(&prompt()), PinEntry::Bypass);
        assert_eq!(pad.enter_pin(&prompt()), PinEntry::Cancel);
        assert_eq!(pad.prompts().len(), 3);
        let mut pad = ScriptedPinPad::new(["bypass"])
            .unwrap()
            .when_empty("no PIN given");
        assert_eq!(pad.enter_pin(&prompt()), PinEntry::Bypass);
        assert_eq!(
            pad.enter_pin(&prompt()),
            PinEntry::NotEntered("no PIN given".into())
        );
    }

    #[test]
    fn bad_entries_are_rejected_without_echo() {
        let err = ScriptedPinPad::new(["12a4"]).unwrap_err().to_string();
        assert!(!err.contains("12a4"), "{err}");
        assert!(ScriptedPinPad::new(["123"]).is_err());
    }
}
