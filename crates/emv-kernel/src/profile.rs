//! Terminal profiles: the configuration of one terminal (`terminal-profiles/*.toml`).
//!
//! A profile gives the terminal data of EMV 4.4 Book 4 Annex A (9F35 terminal type, 9F33
//! and 9F40 capabilities, 9F1A country, 5F2A currency, 9F1C terminal id, merchant data),
//! the risk management parameters of Book 3 §10.6 (floor limit, random selection), the
//! Terminal Action Codes of Book 3 §10.7, the supported AIDs of Book 1 §12.3 and the online
//! PIN key. Parsing is strict (unknown keys are errors) and every validation error names
//! the field.
//!
//! Any terminal tag can be overridden afterwards with [`Profile::override_tag`]
//! (`--terminal-tag 9F33=E0F8C8`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emv_auth::PinData;
use emv_crypto::pinblock::{self, Fill, Pin, PinBlockFormat};
use emv_crypto::{AesKey, CryptoError, TdesKey};
use emv_tlv::Tag;
use emv_tlv::bits::{AdditionalTerminalCapabilities, TerminalCapabilities, TerminalType};
use serde::Deserialize;

use crate::error::KernelError;
use crate::util::{from_bcd, to_bcd};

/// The profiles shipped in `terminal-profiles/`, compiled in so that a name works from any
/// directory.
const BUILTIN: &[(&str, &str)] = &[
    ("atm", include_str!("../../../terminal-profiles/atm.toml")),
    (
        "pos-attended",
        include_str!("../../../terminal-profiles/pos-attended.toml"),
    ),
    (
        "pos-offline-only",
        include_str!("../../../terminal-profiles/pos-offline-only.toml"),
    ),
    (
        "unattended",
        include_str!("../../../terminal-profiles/unattended.toml"),
    ),
    (
        "unattended-no-pinpad",
        include_str!("../../../terminal-profiles/unattended-no-pinpad.toml"),
    ),
    (
        "pos-no-pinpad",
        include_str!("../../../terminal-profiles/pos-no-pinpad.toml"),
    ),
];

/// The environment variable naming a directory of terminal profiles that override or
/// extend the built-in ones.
pub const TERMINAL_PROFILES_ENV: &str = "EMVBENCH_TERMINAL_PROFILES";

/// The directory given on the command line (`--terminal-profiles DIR`), set once.
static PROFILE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the directory of terminal profiles that override or extend the built-in ones for the
/// rest of the process (the CLI's `--terminal-profiles DIR`); it takes precedence over
/// `$EMVBENCH_TERMINAL_PROFILES`. Only the first call counts; false when it was set already.
pub fn set_terminal_profile_dir(dir: PathBuf) -> bool {
    PROFILE_DIR.set(dir).is_ok()
}

/// The directory of terminal profiles that override or extend the built-in ones: the one
/// set by [`set_terminal_profile_dir`], else `$EMVBENCH_TERMINAL_PROFILES`, else
/// `terminal-profiles/` in the current directory when there is one.
pub fn terminal_profile_dir() -> Option<PathBuf> {
    if let Some(dir) = PROFILE_DIR.get() {
        return Some(dir.clone());
    }
    if let Some(dir) = std::env::var_os(TERMINAL_PROFILES_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let local = PathBuf::from("terminal-profiles");
    local.is_dir().then_some(local)
}

/// Random transaction selection parameters (Book 3 §10.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomSelection {
    /// Target Percentage to be Used for Random Selection (0-99).
    pub target_percent: u8,
    /// Maximum Target Percentage to be used for Biased Random Selection (0-99).
    pub max_target_percent: u8,
    /// Threshold Value for Biased Random Selection (minor units, below the floor limit).
    pub threshold: u64,
}

/// The terminal PIN encryption key for online PIN (ISO 9564 format 0 under TDES, or
/// format 4 under AES).
#[derive(Clone, Debug)]
pub enum PinKey {
    /// TDES key, ISO 9564-1 format 0 block.
    Tdes(TdesKey),
    /// AES key, ISO 9564-1 format 4 block.
    Aes(AesKey),
}

impl PinKey {
    /// ISO 9564 format number of the blocks made with this key (0 or 4).
    pub fn format(&self) -> u8 {
        match self {
            PinKey::Tdes(_) => 0,
            PinKey::Aes(_) => 4,
        }
    }
}

/// Online PIN configuration.
#[derive(Clone, Debug)]
pub struct OnlinePinKey {
    /// Key identifier passed to the host with the PIN block (e.g. `TPK-TEST-01`).
    pub key_id: String,
    /// The key.
    pub key: PinKey,
}

impl OnlinePinKey {
    /// The online PIN block of `pin` for `pan` under this key, as the host receives it:
    /// ISO 9564-1 format 0 under TDES or format 4 under AES, the fill from `fill`.
    pub fn pin_block(&self, pin: &Pin, pan: &str, fill: &Fill) -> Result<PinData, CryptoError> {
        let block = match &self.key {
            PinKey::Tdes(k) => {
                pinblock::encrypt_pin_block(k, PinBlockFormat::Iso0, pin, Some(pan), fill)
                    .map(|b| b.to_vec())
            }
            PinKey::Aes(k) => {
                pinblock::encrypt_pin_block_iso4(k, pin, pan, fill).map(|b| b.to_vec())
            }
        }?;
        Ok(PinData {
            pin_block: block,
            format: self.key.format(),
            key_id: self.key_id.clone(),
        })
    }
}

/// One application the terminal supports (Book 1 §12.3.1: the terminal's list of AIDs,
/// each with its Application Selection Indicator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AidConfig {
    /// The AID (5-16 bytes).
    pub aid: Vec<u8>,
    /// Label for logs.
    pub label: String,
    /// Application Selection Indicator: the card's DF name may be longer than this AID
    /// (partial name selection, Book 1 §12.3.1).
    pub partial_match: bool,
    /// Application Version Number, terminal (9F09).
    pub application_version: [u8; 2],
}

/// A validated terminal profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// One line of description.
    pub description: String,
    /// Terminal Type (9F35).
    pub terminal_type: TerminalType,
    /// Terminal Capabilities (9F33).
    pub capabilities: TerminalCapabilities,
    /// Additional Terminal Capabilities (9F40).
    pub additional_capabilities: AdditionalTerminalCapabilities,
    /// Terminal Country Code (9F1A), ISO 3166 numeric.
    pub country_code: u16,
    /// Transaction Currency Code (5F2A), ISO 4217 numeric.
    pub currency_code: u16,
    /// Transaction Currency Exponent (5F36).
    pub currency_exponent: u8,
    /// Terminal Identification (9F1C), 8 characters.
    pub terminal_id: String,
    /// Merchant Identifier (9F16), up to 15 characters.
    pub merchant_id: String,
    /// Merchant Category Code (9F15), 4 digits.
    pub merchant_category_code: u16,
    /// Merchant Name and Location (9F4E).
    pub merchant_name_location: String,
    /// Acquirer Identifier (9F01), 6-11 digits.
    pub acquirer_id: String,
    /// A PIN pad is fitted.
    pub pin_pad: bool,
    /// The terminal can ask the cardholder to confirm an application (Book 1 §12.4).
    pub cardholder_confirmation: bool,
    /// Try the PSE (`1PAY.SYS.DDF01`) before the list of AIDs (Book 1 §12.3.2).
    pub use_pse: bool,
    /// Terminal Floor Limit (9F1B), minor units.
    pub floor_limit: u64,
    /// Random transaction selection; `None`: not performed.
    pub random_selection: Option<RandomSelection>,
    /// Perform velocity checking (Book 3 §10.6.3) when the card gives the limits.
    pub velocity_checking: bool,
    /// TAC - Denial.
    pub tac_denial: [u8; 5],
    /// TAC - Online.
    pub tac_online: [u8; 5],
    /// TAC - Default.
    pub tac_default: [u8; 5],
    /// Online PIN key; `None`: the terminal cannot encipher an online PIN.
    pub online_pin: Option<OnlinePinKey>,
    /// Default DDOL (Book 3 §10.3: used when the card has no DDOL).
    pub default_ddol: Option<Vec<u8>>,
    /// Supported applications, in the terminal's order.
    pub aids: Vec<AidConfig>,
    /// Further terminal data objects (and overrides), given to the card through DOLs.
    pub extra_tags: BTreeMap<Tag, Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    #[serde(default)]
    description: String,
    terminal_type: String,
    capabilities: String,
    additional_capabilities: String,
    country_code: String,
    currency_code: String,
    #[serde(default = "default_exponent")]
    currency_exponent: u8,
    terminal_id: String,
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    merchant_category_code: Option<String>,
    #[serde(default)]
    merchant_name_location: String,
    #[serde(default)]
    acquirer_id: String,
    pin_pad: bool,
    #[serde(default)]
    cardholder_confirmation: bool,
    #[serde(default = "yes")]
    use_pse: bool,
    floor_limit: u64,
    #[serde(default)]
    random_selection: Option<RawRandom>,
    #[serde(default = "yes")]
    velocity_checking: bool,
    tac: RawTac,
    #[serde(default)]
    online_pin: Option<RawPinKey>,
    #[serde(default)]
    default_ddol: Option<String>,
    #[serde(default)]
    aid: Vec<RawAid>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn default_exponent() -> u8 {
    2
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRandom {
    target_percent: u8,
    max_target_percent: u8,
    threshold: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTac {
    denial: String,
    online: String,
    default: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPinKey {
    key_id: String,
    format: u8,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAid {
    aid: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    partial_match: bool,
    application_version: String,
}

struct Ctx<'a> {
    profile: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, reason: impl Into<String>) -> KernelError {
        KernelError::Profile {
            profile: self.profile.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn hex(&self, field: &str, value: &str) -> Result<Vec<u8>, KernelError> {
        emv_tlv::hex::decode(value).map_err(|e| self.err(field, format!("not hex: {e}")))
    }

    fn hex_n<const N: usize>(&self, field: &str, value: &str) -> Result<[u8; N], KernelError> {
        let v = self.hex(field, value)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| self.err(field, format!("must be {N} bytes ({} hex digits)", 2 * N)))
    }

    fn digits(&self, field: &str, value: &str, max: usize) -> Result<u16, KernelError> {
        if value.is_empty() || value.len() > max || !value.chars().all(|c| c.is_ascii_digit()) {
            return Err(self.err(field, format!("must be 1 to {max} decimal digits")));
        }
        value
            .parse::<u16>()
            .map_err(|_| self.err(field, "not a number"))
    }
}

impl Profile {
    /// Parse and validate a profile from TOML text. `origin` (a name or path) appears in
    /// error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Profile, KernelError> {
        let ctx = Ctx { profile: origin };
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            // toml's message names the key ("missing field `tac`", "unknown field ...")
            ctx.err("toml", e.to_string().trim().replace('\n', " "))
        })?;
        Self::validate(raw, &ctx)
    }

    fn validate(raw: RawProfile, ctx: &Ctx<'_>) -> Result<Profile, KernelError> {
        let tt = ctx.hex_n::<1>("terminal_type", &raw.terminal_type)?[0];
        let terminal_type = TerminalType(tt);
        if !terminal_type.is_valid() {
            return Err(ctx.err(
                "terminal_type",
                format!("{tt:02X} is not a Book 4 Table 24 value (11-16, 21-26, 34-36)"),
            ));
        }
        let capabilities = TerminalCapabilities(ctx.hex_n("capabilities", &raw.capabilities)?);
        let additional_capabilities = AdditionalTerminalCapabilities(
            ctx.hex_n("additional_capabilities", &raw.additional_capabilities)?,
        );
        let country_code = ctx.digits("country_code", &raw.country_code, 3)?;
        let currency_code = ctx.digits("currency_code", &raw.currency_code, 3)?;
        if raw.currency_exponent > 9 {
            return Err(ctx.err("currency_exponent", "must be 0 to 9"));
        }
        let merchant_category_code = check_identifiers(&raw, ctx)?;
        if to_bcd(raw.floor_limit, 6).is_none() || raw.floor_limit > u64::from(u32::MAX) {
            return Err(ctx.err("floor_limit", "too large for 9F1B (4 bytes)"));
        }
        let random_selection = raw
            .random_selection
            .map(|r| random_selection(r, raw.floor_limit, ctx))
            .transpose()?;
        let tac_denial = ctx.hex_n("tac.denial", &raw.tac.denial)?;
        let tac_online = ctx.hex_n("tac.online", &raw.tac.online)?;
        let tac_default = ctx.hex_n("tac.default", &raw.tac.default)?;
        let online_pin = raw.online_pin.map(|k| online_pin_key(k, ctx)).transpose()?;
        let default_ddol = match raw.default_ddol {
            None => None,
            Some(d) => {
                let bytes = ctx.hex("default_ddol", &d)?;
                emv_tlv::Dol::parse(&bytes)
                    .map_err(|e| ctx.err("default_ddol", format!("not a DOL: {e}")))?;
                Some(bytes)
            }
        };
        if raw.aid.is_empty() {
            return Err(ctx.err("aid", "at least one [[aid]] is needed"));
        }
        let aids = raw
            .aid
            .into_iter()
            .enumerate()
            .map(|(i, a)| aid_config(i, a, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        let mut profile = Profile {
            name: raw.name,
            description: raw.description,
            terminal_type,
            capabilities,
            additional_capabilities,
            country_code,
            currency_code,
            currency_exponent: raw.currency_exponent,
            terminal_id: raw.terminal_id,
            merchant_id: raw.merchant_id,
            merchant_category_code,
            merchant_name_location: raw.merchant_name_location,
            acquirer_id: raw.acquirer_id,
            pin_pad: raw.pin_pad,
            cardholder_confirmation: raw.cardholder_confirmation,
            use_pse: raw.use_pse,
            floor_limit: raw.floor_limit,
            random_selection,
            velocity_checking: raw.velocity_checking,
            tac_denial,
            tac_online,
            tac_default,
            online_pin,
            default_ddol,
            aids,
            extra_tags: BTreeMap::new(),
        };
        for (tag, value) in &raw.tags {
            let field = format!("tags.{tag}");
            let t = Tag::from_hex(tag).map_err(|e| ctx.err(&field, format!("not a tag: {e}")))?;
            let v = ctx.hex(&field, value)?;
            profile
                .override_tag(t, &v)
                .map_err(|e| ctx.err(&field, e.to_string()))?;
        }
        Ok(profile)
    }

    /// The names of the built-in profiles.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Profile, KernelError> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            KernelError::ProfileNotFound(format!("{name:?}: no such built-in profile"))
        })?;
        Self::from_toml_str(text, name)
    }

    /// A profile by name or path: an existing file path is read; otherwise `NAME` is looked
    /// up as `NAME.toml` in [`terminal_profile_dir`], then among the built-in profiles.
    pub fn load(name_or_path: &str) -> Result<Profile, KernelError> {
        let path = Path::new(name_or_path);
        if path.is_file() {
            return Self::load_path(path);
        }
        let looks_like_path = name_or_path.contains('/')
            || name_or_path.contains('\\')
            || name_or_path.ends_with(".toml");
        if looks_like_path {
            return Err(KernelError::ProfileNotFound(format!(
                "{name_or_path}: no such file"
            )));
        }
        let dir = terminal_profile_dir();
        if let Some(local) = dir.as_ref().map(|d| d.join(format!("{name_or_path}.toml")))
            && local.is_file()
        {
            return Self::load_path(&local);
        }
        Self::builtin(name_or_path).map_err(|_| {
            let names: Vec<String> = Self::catalog().into_iter().map(|(n, _)| n).collect();
            KernelError::ProfileNotFound(format!(
                "{name_or_path:?}: not a file, not in {}, not built in (known: {})",
                dir.map_or_else(|| "a profile directory".into(), |d| d.display().to_string()),
                names.join(", ")
            ))
        })
    }

    /// Every terminal profile a name can take, sorted: the built-in ones (source `None`)
    /// and the files of [`terminal_profile_dir`] (source `Some(path)`), a file overriding
    /// a built-in profile of the same name.
    pub fn catalog() -> Vec<(String, Option<PathBuf>)> {
        let mut all: std::collections::BTreeMap<String, Option<PathBuf>> = Self::builtin_names()
            .map(|n| (n.to_owned(), None))
            .collect();
        if let Some(rd) = terminal_profile_dir().and_then(|d| std::fs::read_dir(d).ok()) {
            for p in rd.filter_map(Result::ok).map(|e| e.path()) {
                if p.is_file()
                    && p.extension().is_some_and(|x| x == "toml")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                {
                    all.insert(stem.to_owned(), Some(p.clone()));
                }
            }
        }
        all.into_iter().collect()
    }

    /// Read and validate a profile file.
    pub fn load_path(path: &Path) -> Result<Profile, KernelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| KernelError::ProfileNotFound(format!("{shown}: {e}")))?;
        Self::from_toml_str(&text, &shown)
    }

    /// Override one terminal data object, as `--terminal-tag TAG=HEX` does. Tags that drive
    /// the kernel update the typed field (9F33, 9F40, 9F35, 9F1A, 5F2A, 5F36, 9F1B floor
    /// limit, 9F1C, 9F09 for every AID; DF8120/DF8121/DF8122 are taken as TAC - Default /
    /// Denial / Online as in the C-2 kernel); any other tag is stored as terminal data and
    /// given to the card when a DOL asks for it. Lengths and formats are checked.
    pub fn override_tag(&mut self, tag: Tag, value: &[u8]) -> Result<(), KernelError> {
        let ctx = Ctx {
            profile: &self.name.clone(),
        };
        let field = tag.to_string();
        let exact = |n: usize| -> Result<(), KernelError> {
            if value.len() == n {
                Ok(())
            } else {
                Err(ctx.err(&field, format!("must be {n} bytes, got {}", value.len())))
            }
        };
        let bcd = |n: usize| -> Result<u64, KernelError> {
            exact(n)?;
            from_bcd(value).ok_or_else(|| ctx.err(&field, "not BCD digits"))
        };
        match tag.value() {
            0x9F33 => {
                exact(3)?;
                self.capabilities = TerminalCapabilities::from_slice(value)
                    .ok_or_else(|| ctx.err(&field, "3 bytes"))?;
            }
            0x9F40 => {
                exact(5)?;
                self.additional_capabilities = AdditionalTerminalCapabilities::from_slice(value)
                    .ok_or_else(|| ctx.err(&field, "5 bytes"))?;
            }
            0x9F35 => {
                exact(1)?;
                let t = TerminalType(value[0]);
                if !t.is_valid() {
                    return Err(ctx.err(&field, "not a Book 4 Table 24 terminal type"));
                }
                self.terminal_type = t;
            }
            0x9F1A => self.country_code = bcd(2)? as u16,
            0x5F2A => self.currency_code = bcd(2)? as u16,
            0x5F36 => self.currency_exponent = bcd(1)? as u8,
            0x9F1B => {
                exact(4)?;
                self.floor_limit =
                    u64::from(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
            }
            0x9F1C => {
                exact(8)?;
                self.terminal_id =
                    String::from_utf8(value.to_vec()).map_err(|_| ctx.err(&field, "not ASCII"))?;
            }
            0x9F09 => {
                exact(2)?;
                for a in &mut self.aids {
                    a.application_version = [value[0], value[1]];
                }
            }
            0xDF8120..=0xDF8122 => {
                exact(5)?;
                let tac = [value[0], value[1], value[2], value[3], value[4]];
                match tag.value() {
                    0xDF8120 => self.tac_default = tac,
                    0xDF8121 => self.tac_denial = tac,
                    _ => self.tac_online = tac,
                }
            }
            0x95 | 0x9B | 0x9F34 | 0x9F37 | 0x9F02 | 0x9F03 | 0x9A | 0x9C | 0x9F21 => {
                return Err(ctx.err(
                    &field,
                    "is computed per transaction, not a terminal setting",
                ));
            }
            _ => {
                if value.len() > 252 {
                    return Err(ctx.err(&field, "value too long"));
                }
                self.extra_tags.insert(tag, value.to_vec());
            }
        }
        Ok(())
    }

    /// Override from `TAG=HEX` text.
    pub fn override_tag_str(&mut self, spec: &str) -> Result<(), KernelError> {
        let (t, v) = spec.split_once('=').ok_or_else(|| KernelError::Profile {
            profile: self.name.clone(),
            field: spec.to_owned(),
            reason: "expected TAG=HEX".into(),
        })?;
        let tag = Tag::from_hex(t.trim()).map_err(|e| KernelError::Profile {
            profile: self.name.clone(),
            field: t.to_owned(),
            reason: format!("not a tag: {e}"),
        })?;
        let value = emv_tlv::hex::decode(v.trim()).map_err(|e| KernelError::Profile {
            profile: self.name.clone(),
            field: tag.to_string(),
            reason: format!("not hex: {e}"),
        })?;
        self.override_tag(tag, &value)
    }

    /// Attended terminal (Book 4 Table 24, environments 1-3).
    pub fn is_attended(&self) -> bool {
        !self.terminal_type.is_unattended()
    }

    /// An ATM: financial institution terminal, unattended, dispensing cash (Book 3 §10.4.2
    /// "ATM": terminal type 14, 15 or 16 with the cash capability in 9F40).
    pub fn is_atm(&self) -> bool {
        matches!(self.terminal_type.0, 0x14..=0x16)
            && self
                .additional_capabilities
                .is_set(AdditionalTerminalCapabilities::CASH)
    }

    /// Terminal data objects of this profile (Book 4 Annex A), overrides applied.
    pub fn terminal_data(&self) -> BTreeMap<Tag, Vec<u8>> {
        let mut m = BTreeMap::new();
        let t = Tag::new;
        m.insert(t(0x9F35), vec![self.terminal_type.0]);
        m.insert(t(0x9F33), self.capabilities.0.to_vec());
        m.insert(t(0x9F40), self.additional_capabilities.0.to_vec());
        m.insert(
            t(0x9F1A),
            to_bcd(u64::from(self.country_code), 2).unwrap_or_default(),
        );
        m.insert(
            t(0x5F2A),
            to_bcd(u64::from(self.currency_code), 2).unwrap_or_default(),
        );
        m.insert(
            t(0x5F36),
            to_bcd(u64::from(self.currency_exponent), 1).unwrap_or_default(),
        );
        m.insert(t(0x9F1C), self.terminal_id.as_bytes().to_vec());
        if !self.merchant_id.is_empty() {
            m.insert(t(0x9F16), self.merchant_id.as_bytes().to_vec());
        }
        m.insert(
            t(0x9F15),
            to_bcd(u64::from(self.merchant_category_code), 2).unwrap_or_default(),
        );
        if !self.merchant_name_location.is_empty() {
            m.insert(t(0x9F4E), self.merchant_name_location.as_bytes().to_vec());
        }
        if let Ok(v) = self.acquirer_id.parse::<u64>() {
            m.insert(t(0x9F01), to_bcd(v, 6).unwrap_or_default());
        }
        m.insert(
            t(0x9F1B),
            u32::try_from(self.floor_limit)
                .unwrap_or(u32::MAX)
                .to_be_bytes()
                .to_vec(),
        );
        // POS Entry Mode: 05 = integrated circuit card, contact (ISO 8583 DE 22)
        m.insert(t(0x9F39), vec![0x05]);
        for (tag, v) in &self.extra_tags {
            m.insert(*tag, v.clone());
        }
        m
    }
}

/// The terminal's and merchant's identifiers in their EMV formats (Book 3 Annex A: 9F1C
/// an8, 9F16 ans15, 9F15 n4, 9F4E, 9F01 n6-11); the Merchant Category Code as a number.
fn check_identifiers(raw: &RawProfile, ctx: &Ctx<'_>) -> Result<u16, KernelError> {
    if raw.terminal_id.len() != 8 || !raw.terminal_id.is_ascii() {
        return Err(ctx.err("terminal_id", "must be 8 ASCII characters (an8)"));
    }
    if raw.merchant_id.len() > 15 || !raw.merchant_id.is_ascii() {
        return Err(ctx.err("merchant_id", "at most 15 ASCII characters (ans15)"));
    }
    let merchant_category_code = match &raw.merchant_category_code {
        Some(m) if m.len() == 4 => ctx.digits("merchant_category_code", m, 4)?,
        Some(_) => return Err(ctx.err("merchant_category_code", "must be 4 digits")),
        None => 0,
    };
    if !raw.merchant_name_location.is_ascii() {
        return Err(ctx.err("merchant_name_location", "must be ASCII"));
    }
    if !raw.acquirer_id.is_empty()
        && (!(6..=11).contains(&raw.acquirer_id.len())
            || !raw.acquirer_id.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ctx.err("acquirer_id", "must be 6 to 11 digits"));
    }
    Ok(merchant_category_code)
}

/// `[random_selection]` (Book 3 §10.6.2).
fn random_selection(
    r: RawRandom,
    floor_limit: u64,
    ctx: &Ctx<'_>,
) -> Result<RandomSelection, KernelError> {
    if r.target_percent > 99 {
        return Err(ctx.err("random_selection.target_percent", "must be 0 to 99"));
    }
    if r.max_target_percent > 99 || r.max_target_percent < r.target_percent {
        return Err(ctx.err(
            "random_selection.max_target_percent",
            "must be target_percent to 99",
        ));
    }
    if r.threshold > floor_limit {
        return Err(ctx.err(
            "random_selection.threshold",
            "must not exceed the floor limit (Book 3 §10.6.2)",
        ));
    }
    Ok(RandomSelection {
        target_percent: r.target_percent,
        max_target_percent: r.max_target_percent,
        threshold: r.threshold,
    })
}

/// `[online_pin]`: the key of the online PIN block (ISO 9564-1 format 0 under TDES, or
/// format 4 under AES).
fn online_pin_key(k: RawPinKey, ctx: &Ctx<'_>) -> Result<OnlinePinKey, KernelError> {
    if k.key_id.is_empty() {
        return Err(ctx.err("online_pin.key_id", "must not be empty"));
    }
    let key = match k.format {
        0 => PinKey::Tdes(
            TdesKey::from_hex(&k.key).map_err(|e| ctx.err("online_pin.key", e.to_string()))?,
        ),
        4 => PinKey::Aes(
            AesKey::from_hex(&k.key).map_err(|e| ctx.err("online_pin.key", e.to_string()))?,
        ),
        other => {
            return Err(ctx.err(
                "online_pin.format",
                format!("{other}: only ISO 9564 formats 0 (TDES) and 4 (AES)"),
            ));
        }
    };
    Ok(OnlinePinKey {
        key_id: k.key_id,
        key,
    })
}

/// The `i`-th `[[aid]]`.
fn aid_config(i: usize, a: RawAid, ctx: &Ctx<'_>) -> Result<AidConfig, KernelError> {
    let field = |f: &str| format!("aid[{i}].{f}");
    let aid = ctx.hex(&field("aid"), &a.aid)?;
    if !(5..=16).contains(&aid.len()) {
        return Err(ctx.err(field("aid"), "an AID is 5 to 16 bytes (Book 1 §12.2.1)"));
    }
    let application_version = ctx.hex_n(&field("application_version"), &a.application_version)?;
    Ok(AidConfig {
        label: if a.label.is_empty() {
            emv_tlv::hex::encode(&aid)
        } else {
            a.label
        },
        aid,
        partial_match: a.partial_match,
        application_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Profile {
        fn builtin_text(name: &str) -> String {
            BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| (*t).to_owned())
                .unwrap_or_default()
        }
    }

    #[test]
    fn every_builtin_profile_parses() {
        for name in Profile::builtin_names() {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(p.name, name);
            assert!(!p.aids.is_empty());
        }
        let atm = Profile::builtin("atm").unwrap();
        assert!(atm.is_atm());
        assert_eq!(atm.terminal_type.0, 0x14);
        let pos = Profile::builtin("pos-attended").unwrap();
        assert!(!pos.is_atm());
        assert!(pos.is_attended());
        assert_eq!(pos.online_pin.as_ref().unwrap().key.format(), 0);
    }

    #[test]
    fn errors_name_the_field() {
        let text = Profile::builtin_text("pos-attended");
        let bad = text.replace("denial = \"", "denial = \"ZZ");
        let e = Profile::from_toml_str(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("tac.denial"), "{e}");
        let bad = text.replace("terminal_type = \"22\"", "terminal_type = \"27\"");
        let e = Profile::from_toml_str(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("terminal_type"), "{e}");
        let bad = format!("{text}\nfloor_limitt = 3\n");
        let e = Profile::from_toml_str(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("floor_limitt"), "{e}");
    }

    #[test]
    fn overrides() {
        let mut p = Profile::builtin("pos-attended").unwrap();
        p.override_tag_str("9F33=E0B0C8").unwrap();
        assert_eq!(p.capabilities.0, [0xE0, 0xB0, 0xC8]);
        p.override_tag_str("9F35=25").unwrap();
        assert!(p.terminal_type.is_unattended());
        p.override_tag_str("9F1B=00002710").unwrap();
        assert_eq!(p.floor_limit, 10_000);
        p.override_tag_str("DF8121=FFFFFFFFFF").unwrap();
        assert_eq!(p.tac_denial, [0xFF; 5]);
        p.override_tag_str("9F53=52").unwrap();
        assert_eq!(p.terminal_data()[&Tag::new(0x9F53)], [0x52]);
        let e = p.override_tag_str("9F33=E0").unwrap_err().to_string();
        assert!(e.contains("9F33"), "{e}");
        assert!(p.override_tag_str("9F35=99").is_err());
        assert!(p.override_tag_str("95=0000000000").is_err());
        assert!(p.override_tag_str("nonsense").is_err());
    }

    #[test]
    fn load_by_name_and_path() {
        assert_eq!(Profile::load("atm").unwrap().name, "atm");
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../terminal-profiles/unattended.toml"
        );
        assert_eq!(Profile::load(path).unwrap().name, "unattended");
        assert!(Profile::load("no-such-profile").is_err());
        assert!(Profile::load("/no/such/file.toml").is_err());
    }
}
