//! The PIN pad dialog: what the cardholder sees and types when the kernel asks for a PIN.
//! Digits are kept in a zeroizing buffer and drawn as dots, never in clear.

use emv_crypto::Pin;
use emv_kernel::{PinEntry, PinKind, PinPrompt};
use emv_session::format_amount;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use zeroize::Zeroizing;

use super::view::Theme;

/// Most digits a PIN has (ISO 9564-1: 4 to 12).
const PIN_MAX: usize = 12;

/// A key at the PIN pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKey {
    /// A digit 0-9.
    Digit(u8),
    /// Erase the last digit.
    Backspace,
    /// Enter (OK).
    Enter,
    /// PIN bypass (Book 4 §6.3.4.3).
    Bypass,
    /// Cancel.
    Cancel,
}

/// The open PIN pad dialog.
pub struct PinDialog {
    /// What the kernel asked.
    pub prompt: PinPrompt,
    /// Decimals of the amount shown.
    exponent: u32,
    digits: Zeroizing<Vec<u8>>,
    /// A hint after a key that was refused.
    pub hint: Option<&'static str>,
}

impl std::fmt::Debug for PinDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinDialog")
            .field("prompt", &self.prompt)
            .field("digits", &self.digits.len())
            .finish()
    }
}

impl PinDialog {
    /// A dialog for `prompt`; the amount has `exponent` decimals.
    pub fn new(prompt: PinPrompt, exponent: u32) -> Self {
        Self {
            prompt,
            exponent,
            digits: Zeroizing::new(Vec::with_capacity(PIN_MAX)),
            hint: None,
        }
    }

    /// Digits typed so far.
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }

    /// A key; the cardholder's answer when the key ends the entry.
    pub fn key(&mut self, key: PinKey) -> Option<PinEntry> {
        self.hint = None;
        match key {
            PinKey::Digit(d) if d <= 9 => {
                if self.digits.len() < PIN_MAX {
                    self.digits.push(d);
                } else {
                    self.hint = Some("a PIN has at most 12 digits");
                }
                None
            }
            PinKey::Digit(_) => None,
            PinKey::Backspace => {
                self.digits.pop();
                None
            }
            PinKey::Enter => match Pin::from_digit_values(&self.digits) {
                Ok(pin) => Some(PinEntry::Pin(pin)),
                Err(_) => {
                    self.hint = Some("a PIN has 4 to 12 digits");
                    None
                }
            },
            PinKey::Bypass => Some(PinEntry::Bypass),
            PinKey::Cancel => Some(PinEntry::Cancel),
        }
    }

    /// Draws the dialog in the middle of `area`.
    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
        // wide enough for its longest line (amount, currency and tries left)
        let w = 58.min(area.width);
        let h = 10.min(area.height);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        let p = &self.prompt;
        let which = match p.kind {
            PinKind::OfflinePlaintext => "offline PIN (checked by the chip)",
            PinKind::OfflineEnciphered => "offline PIN (enciphered for the chip)",
            PinKind::Online => "online PIN (checked by the issuer)",
        };
        let mut message = String::from("ENTER PIN");
        // Book 4 §11.2 messages 0A "INCORRECT PIN" and "LAST PIN TRY"
        if p.previous_incorrect {
            message = format!("INCORRECT PIN · {message}");
        }
        if p.last_try {
            message.push_str(" · LAST PIN TRY");
        }
        let tries = p
            .tries_left
            .map(|t| format!(" · {t} offline tr{} left", if t == 1 { "y" } else { "ies" }))
            .unwrap_or_default();
        let dots = if self.is_empty() {
            "_".to_owned()
        } else {
            vec!["●"; self.len()].join(" ")
        };
        let lines = vec![
            Line::from(which),
            Line::from(format!(
                "amount {} (currency {:04}){tries}",
                format_amount(p.amount, self.exponent),
                p.currency
            )),
            Line::from(Span::styled(message, theme.warn)),
            Line::from(""),
            Line::from(Span::styled(dots, theme.strong)).alignment(Alignment::Center),
            Line::from(Span::styled(self.hint.unwrap_or(""), theme.bad)),
            Line::from("0-9 digits · Backspace erase · Enter OK"),
            Line::from("b bypass PIN entry · Esc cancel"),
        ];
        frame.render_widget(Clear, r);
        frame.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" PIN pad ")
                    .border_style(theme.focus),
            ),
            r,
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn prompt() -> PinPrompt {
        PinPrompt {
            kind: PinKind::OfflinePlaintext,
            amount: 2500,
            currency: 978,
            tries_left: Some(3),
            previous_incorrect: false,
            last_try: false,
        }
    }

    #[test]
    fn digits_backspace_enter() {
        let mut d = PinDialog::new(prompt(), 2);
        for k in [1, 2, 3] {
            assert_eq!(d.key(PinKey::Digit(k)), None);
        }
        assert_eq!(d.key(PinKey::Enter), None);
        assert!(d.hint.is_some());
        d.key(PinKey::Digit(9));
        d.key(PinKey::Backspace);
        d.key(PinKey::Digit(4));
        assert_eq!(
            d.key(PinKey::Enter),
            Some(PinEntry::Pin(Pin::new("1234").unwrap()))
        );
        assert_eq!(d.key(PinKey::Bypass), Some(PinEntry::Bypass));
        assert_eq!(d.key(PinKey::Cancel), Some(PinEntry::Cancel));
        assert!(!format!("{d:?}").contains("1234"));
    }
}
