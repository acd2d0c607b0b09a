//! The class byte: interindustry vs proprietary class, command chaining, secure
//! messaging indication, logical channel.
//!
//! Sources: ISO/IEC 7816-4 §5.4.1 (Tables 2 and 3); EMV 4.4 Book 3 §6.3 (EMV uses
//! CLA `0X` for interindustry and `8X` for its proprietary commands, with the same
//! bit layout); Book 2 §9.2 (secure messaging format 1 = CLA `x C`, format 2 = `x4`);
//! Book 3 §6.5.13 (command chaining, CLA b5, for VERIFY and PIN CHANGE/UNBLOCK).

use std::fmt;

/// Secure messaging indication carried by CLA (b4-b3 of the first interindustry class
/// layout, which EMV also uses for its proprietary class `8X`/`9X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecureMessaging {
    /// No secure messaging (b4-b3 = 00).
    None,
    /// b4-b3 = 01: proprietary secure messaging. EMV: format 2 (CLA `04` / `84`), the
    /// payment-system-specific format used by most issuer scripts.
    Proprietary,
    /// b4-b3 = 10 (or b6 in the further interindustry class): ISO secure messaging,
    /// command header not processed.
    HeaderNotAuthenticated,
    /// b4-b3 = 11: ISO secure messaging, command header authenticated. EMV: format 1
    /// (CLA `0C` / `8C`).
    HeaderAuthenticated,
}

impl SecureMessaging {
    /// Whether any secure messaging is indicated.
    #[must_use]
    pub const fn is_some(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// A class byte, with accessors for the bits ISO/IEC 7816-4 and EMV define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cla(pub u8);

impl Cla {
    /// `00`: interindustry class, no SM, no chaining, basic channel (SELECT, READ RECORD,
    /// VERIFY, GET CHALLENGE, INTERNAL/EXTERNAL AUTHENTICATE, GET RESPONSE).
    pub const ISO: Self = Self(0x00);
    /// `80`: EMV proprietary class (GET PROCESSING OPTIONS, GET DATA, GENERATE AC).
    pub const PROPRIETARY: Self = Self(0x80);
    /// `84`: proprietary class with secure messaging format 2, the default for issuer
    /// script (post-issuance) commands (EMV 4.4 Book 3 §6.5.1-§6.5.3, §6.5.10).
    pub const SM_FORMAT2: Self = Self(0x84);
    /// `8C`: proprietary class with secure messaging format 1 (header authenticated).
    pub const SM_FORMAT1: Self = Self(0x8C);
    /// `04`: interindustry class with proprietary (format 2) secure messaging (PUT DATA,
    /// UPDATE RECORD in scripts).
    pub const ISO_SM_FORMAT2: Self = Self(0x04);
    /// `0C`: interindustry class with ISO secure messaging, header authenticated.
    pub const ISO_SM_FORMAT1: Self = Self(0x0C);

    /// The chaining bit, b5 (`0x10`).
    pub const CHAINING_BIT: u8 = 0x10;

    /// `FF` is invalid (reserved for PPS, ISO/IEC 7816-3); everything else is a class.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 != 0xFF
    }

    /// b8 = 1: proprietary class (EMV `8X`/`9X`).
    #[must_use]
    pub const fn is_proprietary(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// b8 = 0: interindustry class (first `000x xxxx` or further `01xx xxxx`).
    #[must_use]
    pub const fn is_interindustry(self) -> bool {
        !self.is_proprietary()
    }

    /// `01xx xxxx`: the further interindustry class (logical channels 4-19).
    #[must_use]
    pub const fn is_further_interindustry(self) -> bool {
        self.0 & 0xC0 == 0x40
    }

    /// b5: command chaining control, "not the last command of a chain".
    #[must_use]
    pub const fn is_chained(self) -> bool {
        self.is_valid() && self.0 & Self::CHAINING_BIT != 0
    }

    /// The same class with the chaining bit set or cleared.
    #[must_use]
    pub const fn with_chaining(self, chained: bool) -> Self {
        if chained {
            Self(self.0 | Self::CHAINING_BIT)
        } else {
            Self(self.0 & !Self::CHAINING_BIT)
        }
    }

    /// The secure messaging indication.
    ///
    /// For the first interindustry class and the EMV proprietary class: b4-b3. For the
    /// further interindustry class: b6. `FF`: none.
    #[must_use]
    pub const fn secure_messaging(self) -> SecureMessaging {
        if !self.is_valid() {
            return SecureMessaging::None;
        }
        if self.is_further_interindustry() {
            return if self.0 & 0x20 != 0 {
                SecureMessaging::HeaderNotAuthenticated
            } else {
                SecureMessaging::None
            };
        }
        match (self.0 >> 2) & 0x03 {
            0 => SecureMessaging::None,
            1 => SecureMessaging::Proprietary,
            2 => SecureMessaging::HeaderNotAuthenticated,
            _ => SecureMessaging::HeaderAuthenticated,
        }
    }

    /// Whether any secure messaging is indicated (true for `84`, `8C`, `04`, `0C`).
    #[must_use]
    pub const fn has_secure_messaging(self) -> bool {
        self.secure_messaging().is_some()
    }

    /// The logical channel number: b2-b1 (0-3) in the first interindustry and EMV
    /// proprietary class, 4 + b4-b1 (4-19) in the further interindustry class.
    #[must_use]
    pub const fn logical_channel(self) -> u8 {
        if self.is_further_interindustry() {
            4 + (self.0 & 0x0F)
        } else {
            self.0 & 0x03
        }
    }
}

impl From<u8> for Cla {
    fn from(b: u8) -> Self {
        Self(b)
    }
}

impl From<Cla> for u8 {
    fn from(c: Cla) -> Self {
        c.0
    }
}

/// Two upper-case hex digits.
impl fmt::Display for Cla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{Cla, SecureMessaging as Sm};

    #[test]
    fn secure_messaging_indication() {
        assert_eq!(Cla(0x00).secure_messaging(), Sm::None);
        assert_eq!(Cla(0x80).secure_messaging(), Sm::None);
        assert_eq!(Cla(0x84).secure_messaging(), Sm::Proprietary);
        assert_eq!(Cla(0x04).secure_messaging(), Sm::Proprietary);
        assert_eq!(Cla(0x8C).secure_messaging(), Sm::HeaderAuthenticated);
        assert_eq!(Cla(0x0C).secure_messaging(), Sm::HeaderAuthenticated);
        assert_eq!(Cla(0x08).secure_messaging(), Sm::HeaderNotAuthenticated);
        assert_eq!(Cla(0x9C).secure_messaging(), Sm::HeaderAuthenticated);
        assert_eq!(Cla(0x60).secure_messaging(), Sm::HeaderNotAuthenticated);
        assert_eq!(Cla(0x4C).secure_messaging(), Sm::None);
        assert_eq!(Cla(0xFF).secure_messaging(), Sm::None);
        for cla in [0x84, 0x8C, 0x04, 0x0C] {
            assert!(Cla(cla).has_secure_messaging(), "{cla:02X}");
        }
        for cla in [0x00, 0x80, 0x10, 0x90, 0x01] {
            assert!(!Cla(cla).has_secure_messaging(), "{cla:02X}");
        }
    }

    #[test]
    fn chaining_bit() {
        assert!(Cla(0x10).is_chained());
        assert!(Cla(0x9C).is_chained());
        assert!(!Cla(0x8C).is_chained());
        assert!(!Cla(0xFF).is_chained());
        assert_eq!(Cla(0x8C).with_chaining(true), Cla(0x9C));
        assert_eq!(Cla(0x9C).with_chaining(false), Cla(0x8C));
        assert_eq!(Cla(0x00).with_chaining(true), Cla(0x10));
    }

    #[test]
    fn class_and_channel() {
        assert!(Cla(0x80).is_proprietary());
        assert!(Cla(0x84).is_proprietary());
        assert!(!Cla(0x00).is_proprietary());
        assert!(Cla(0x0C).is_interindustry());
        assert!(Cla(0x41).is_further_interindustry());
        assert!(!Cla(0x01).is_further_interindustry());
        assert_eq!(Cla(0x03).logical_channel(), 3);
        assert_eq!(Cla(0x83).logical_channel(), 3);
        assert_eq!(Cla(0x40).logical_channel(), 4);
        assert_eq!(Cla(0x4F).logical_channel(), 19);
        assert!(!Cla(0xFF).is_valid());
        assert!(Cla(0xFE).is_valid());
        assert_eq!(Cla::SM_FORMAT2.to_string(), "84");
    }
}
