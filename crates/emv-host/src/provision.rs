//! What the host needs to know about a card, as the binary builds it from the software
//! card's profile (or reads it from a TOML file): identity, keys, PIN, limits, plastics.

use std::fmt;

use emv_crypto::Cvn;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::keys::Secret;

/// How the host keeps the means to verify a PIN (docs/pin.md §5: never in clear, as a PIN
/// verification value, an IBM 3624 offset or under a storage key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case", parse_err_ty = Error, parse_err_fn = unknown_pin_method)]
pub enum PinVerificationMethod {
    /// Visa PIN Verification Value (4 digits) under the PVK (docs/pin.md §5).
    #[default]
    Pvv,
    /// IBM 3624 offset under the PVK and decimalisation table (docs/pin.md §5).
    Ibm3624,
    /// The PIN as an ISO 9564 format 4 block under the storage key.
    Encrypted,
}

impl PinVerificationMethod {
    /// The name stored and shown (`pvv`, `ibm3624`, `encrypted`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn unknown_pin_method(s: &str) -> Error {
    Error::Corrupt(format!("unknown PIN method {s:?}"))
}

/// The issuer's status of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case", parse_err_ty = Error, parse_err_fn = unknown_card_status)]
pub enum CardStatus {
    /// Usable.
    #[default]
    Active,
    /// Blocked by the issuer: every authorisation is declined 62 "Restricted card".
    Blocked,
}

impl CardStatus {
    /// The name stored and shown (`active`, `blocked`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn unknown_card_status(s: &str) -> Error {
    Error::Corrupt(format!("unknown card status {s:?}"))
}

/// Status of one plastic (physical card) of a card number (docs/pin.md §7 step 2: several
/// plastics can share a card number with different expiry dates; only an ACTIVE plastic
/// should be used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(
    serialize_all = "SCREAMING_SNAKE_CASE",
    parse_err_ty = Error,
    parse_err_fn = unknown_plastic_status
)]
pub enum PlasticStatus {
    /// In use.
    #[default]
    Active,
    /// Issued but not (yet, or any more) in use.
    Inactive,
    /// Reported lost.
    Lost,
    /// Reported stolen.
    Stolen,
    /// Replaced by a newer plastic.
    Replaced,
}

impl PlasticStatus {
    /// The name stored and shown (`ACTIVE`, `INACTIVE`, `LOST`, `STOLEN`, `REPLACED`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn unknown_plastic_status(s: &str) -> Error {
    Error::Corrupt(format!("unknown plastic status {s:?}"))
}

/// One plastic of a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plastic {
    /// Identifier of the physical card (used by View PIN).
    pub plastic_id: String,
    /// Expiry date YYMM printed on (and encoded in) this plastic.
    pub expiry: String,
    /// Status.
    #[serde(default)]
    pub status: PlasticStatus,
}

/// A card as the host provisions it. The clear PIN is used once to compute the
/// verification data, then dropped (it is zeroized; `Debug` redacts it and the keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardProvision {
    /// Primary account number, digits only.
    pub pan: String,
    /// PAN sequence number, two digits (default `00`).
    #[serde(default = "default_psn")]
    pub psn: String,
    /// Application expiry date YYMM.
    pub expiry: String,
    /// Cryptogram version of the card application (`visa-18`, `mc-16`, ...).
    #[serde(with = "cvn_serde")]
    pub cvn: Cvn,
    /// Issuer master key for application cryptograms (hex TDES).
    pub imk_ac: Secret,
    /// Issuer master key for secure-messaging integrity (hex TDES).
    pub imk_smi: Secret,
    /// Issuer master key for secure-messaging confidentiality (hex TDES).
    pub imk_smc: Secret,
    /// The cardholder's PIN in clear (4-12 digits), used once.
    pub pin: Secret,
    /// How the host keeps the PIN verification data.
    #[serde(default)]
    pub pin_verification: PinVerificationMethod,
    /// PVKI for PVV / IBM 3624 (default: the key file's `default_pvki`).
    #[serde(default)]
    pub pvki: Option<u8>,
    /// The issuer offers View PIN for this card: where the verification data is one-way
    /// (a PVV), the PIN is also kept sealed under the storage key, so that View PIN can
    /// show it (docs/pin.md §5, §7). Without it a PVV card's View PIN token is refused.
    #[serde(default)]
    pub view_pin: bool,
    /// Online PIN try limit of the host's counter.
    #[serde(default = "default_try_limit")]
    pub online_pin_try_limit: u8,
    /// The chip's offline PIN Try Limit (the value PIN UNBLOCK and the CSU restore).
    #[serde(default = "default_try_limit")]
    pub offline_pin_try_limit: u8,
    /// Open-to-buy (available balance) in minor units of `currency`.
    pub open_to_buy: u64,
    /// ISO 4217 numeric currency code of the account.
    pub currency: u16,
    /// Issuer status.
    #[serde(default)]
    pub status: CardStatus,
    /// The plastics sharing this card number.
    #[serde(default)]
    pub plastics: Vec<Plastic>,
}

fn default_psn() -> String {
    "00".into()
}

fn default_try_limit() -> u8 {
    3
}

mod cvn_serde {
    use super::*;

    pub fn serialize<S: Serializer>(cvn: &Cvn, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(cvn.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cvn, D::Error> {
        let s = String::deserialize(d)?;
        Cvn::from_written(&s).map_err(serde::de::Error::custom)
    }
}

/// `YYMM` with a valid month.
pub(crate) fn check_yymm(what: &str, s: &str) -> Result<(u16, u8), Error> {
    let bad = || Error::BadRequest(format!("{what} must be YYMM, got {s:?}"));
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let yy: u16 = s[..2].parse().map_err(|_| bad())?;
    let mm: u8 = s[2..].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&mm) {
        return Err(bad());
    }
    Ok((2000 + yy, mm))
}

impl CardProvision {
    /// Reads a provisioning TOML file's text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Provision(e.to_string()))
    }

    /// Checks everything that does not need the keys.
    pub fn validate(&self) -> Result<(), Error> {
        let p = |m: String| Error::Provision(m);
        emv_crypto::kdf::validate_pan(&self.pan).map_err(|e| p(e.to_string()))?;
        emv_crypto::kdf::validate_psn(&self.psn).map_err(|e| p(e.to_string()))?;
        check_yymm("expiry", &self.expiry).map_err(|e| p(e.to_string()))?;
        for (n, lim) in [
            ("online_pin_try_limit", self.online_pin_try_limit),
            ("offline_pin_try_limit", self.offline_pin_try_limit),
        ] {
            if !(1..=15).contains(&lim) {
                return Err(p(format!("{n} must be 1-15, got {lim}")));
            }
        }
        // docs/pin.md §5: a PVV covers exactly 4 PIN digits
        if self.pin_verification == PinVerificationMethod::Pvv && self.pin.expose().len() != 4 {
            return Err(p(crate::pin::PVV_PIN_LENGTH.into()));
        }
        let mut ids = std::collections::BTreeSet::new();
        for pl in &self.plastics {
            if pl.plastic_id.trim().is_empty() || pl.plastic_id.len() > 64 {
                return Err(p("plasticId must be 1-64 characters".into()));
            }
            check_yymm("plastic expiry", &pl.expiry).map_err(|e| p(e.to_string()))?;
            if !ids.insert(pl.plastic_id.as_str()) {
                return Err(p(format!("plasticId {} appears twice", pl.plastic_id)));
            }
        }
        Ok(())
    }
}

impl fmt::Display for CardProvision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "card {} PSN {} ({})",
            crate::audit::mask_pan(&self.pan),
            self.psn,
            self.cvn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for (m, name) in [
            (PinVerificationMethod::Pvv, "pvv"),
            (PinVerificationMethod::Ibm3624, "ibm3624"),
            (PinVerificationMethod::Encrypted, "encrypted"),
        ] {
            assert_eq!(m.name(), name);
            assert_eq!(name.parse::<PinVerificationMethod>().unwrap(), m);
        }
        for (s, name) in [
            (CardStatus::Active, "active"),
            (CardStatus::Blocked, "blocked"),
        ] {
            assert_eq!(s.name(), name);
            assert_eq!(name.parse::<CardStatus>().unwrap(), s);
        }
        for (p, name) in [
            (PlasticStatus::Active, "ACTIVE"),
            (PlasticStatus::Inactive, "INACTIVE"),
            (PlasticStatus::Lost, "LOST"),
            (PlasticStatus::Stolen, "STOLEN"),
            (PlasticStatus::Replaced, "REPLACED"),
        ] {
            assert_eq!(p.name(), name);
            assert_eq!(name.parse::<PlasticStatus>().unwrap(), p);
        }
        let e = "PVV".parse::<PinVerificationMethod>().unwrap_err();
        assert_eq!(e.to_string(), "store data: unknown PIN method \"PVV\"");
        let e = "Active".parse::<CardStatus>().unwrap_err();
        assert_eq!(e.to_string(), "store data: unknown card status \"Active\"");
        let e = "active".parse::<PlasticStatus>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "store data: unknown plastic status \"active\""
        );
    }
}
