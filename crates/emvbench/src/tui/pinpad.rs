//! The kernel's [`PinPad`] for the TUI: the worker thread asks the UI thread over a
//! channel and waits for the cardholder's answer on another. Only the [`PinEntry`] crosses
//! (the PIN inside is a zeroizing [`emv_crypto::Pin`]); nothing is logged.

use std::sync::mpsc::{Receiver, Sender};

use emv_kernel::{PinEntry, PinPad, PinPadStatus, PinPrompt};

use super::worker::{CardPresence, Event};

/// A PIN pad whose keys are on the UI thread.
pub struct UiPinPad<'a> {
    events: &'a Sender<Event>,
    entries: &'a Receiver<PinEntry>,
    presence: &'a CardPresence,
    status: PinPadStatus,
}

impl<'a> UiPinPad<'a> {
    /// A PIN pad that sends prompts on `events` and takes answers from `entries`;
    /// `fitted`: the terminal profile has a PIN pad. Once the card is pulled out
    /// (`presence`), it asks nobody and answers Cancel.
    pub fn new(
        events: &'a Sender<Event>,
        entries: &'a Receiver<PinEntry>,
        presence: &'a CardPresence,
        fitted: bool,
    ) -> Self {
        // answers typed for an earlier prompt (a dialog closed by a pull) are stale
        while entries.try_recv().is_ok() {}
        UiPinPad {
            events,
            entries,
            presence,
            status: if fitted {
                PinPadStatus::Working
            } else {
                PinPadStatus::Absent
            },
        }
    }
}

impl PinPad for UiPinPad<'_> {
    fn status(&self) -> PinPadStatus {
        self.status
    }

    fn enter_pin(&mut self, prompt: &PinPrompt) -> PinEntry {
        // the card left the reader: the transaction ends at its next exchange, and no
        // cardholder is asked for a PIN in between
        if self.presence.pulled() {
            return PinEntry::Cancel;
        }
        if self.events.send(Event::PinRequest(prompt.clone())).is_err() {
            // the UI is gone: nobody can type a PIN
            return PinEntry::Cancel;
        }
        self.entries.recv().unwrap_or(PinEntry::Cancel)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::mpsc::channel;

    use emv_kernel::PinKind;

    use super::*;

    #[test]
    fn asks_the_ui_and_returns_its_answer() {
        let (ev_tx, ev_rx) = channel();
        let (pin_tx, pin_rx) = channel();
        pin_tx.send(PinEntry::Bypass).unwrap(); // stale: dropped
        let presence = CardPresence::default();
        let mut pad = UiPinPad::new(&ev_tx, &pin_rx, &presence, true);
        let ui = std::thread::spawn(move || {
            let Ok(Event::PinRequest(p)) = ev_rx.recv() else {
                panic!("no prompt");
            };
            assert_eq!(p.kind, PinKind::Online);
            pin_tx.send(PinEntry::Cancel).unwrap();
            // the UI goes away: the next prompt is a cancel
        });
        let prompt = PinPrompt {
            kind: PinKind::Online,
            amount: 1,
            currency: 978,
            tries_left: None,
            previous_incorrect: false,
            last_try: false,
        };
        assert_eq!(pad.enter_pin(&prompt), PinEntry::Cancel);
        ui.join().unwrap();
        assert_eq!(pad.enter_pin(&prompt), PinEntry::Cancel);
        assert_eq!(pad.status(), PinPadStatus::Working);
        presence.pull();
        assert_eq!(pad.enter_pin(&prompt), PinEntry::Cancel);
    }
}
