//! Card profiles: the TOML personalisation files in `card-profiles/`.
//!
//! A profile names the card (PAN, PSN, expiry, PIN, PIN Try Limit), its issuer master keys
//! (TEST keys), its ODA keys (built-in test keys certified by the test CA), card risk
//! limits, what the issuer host should provision, and one or more applications, each with
//! its AIP, PDOL, data objects and record layout. [`crate::Personalisation::build`] turns
//! it into what the card serves. Errors name the field (`application[0].records[1].sfi`).
//!
//! The schema is documented in `card-profiles/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::CardError;

/// A profile file as written (before validation).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Profile name, e.g. `visa-cvn18`.
    pub name: String,
    /// One line for listings.
    #[serde(default)]
    pub description: String,
    /// Cryptogram version: `visa-10`, `visa-18`, `visa-22`, `mc-16`, `mc-17`, `mc-20`, `mc-21`.
    pub cvn: String,
    /// Cardholder and PIN data.
    pub card: CardSection,
    /// Issuer master keys (TEST keys).
    pub keys: KeysSection,
    /// Offline data authentication keys (optional: no ODA without it).
    #[serde(default)]
    pub oda: Option<OdaSection>,
    /// Card risk management limits.
    #[serde(default)]
    pub risk: RiskSection,
    /// What the issuer host provisions for this card.
    #[serde(default)]
    pub host: HostSection,
    /// Data objects shared by all applications (tag hex → value hex).
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// Whether the card answers SELECT 1PAY.SYS.DDF01 (default true).
    #[serde(default = "yes")]
    pub pse: bool,
    /// The Answer To Reset: `t0` (default), EMV's basic ATR for T=0, or `t1`, the basic
    /// ATR for T=1 (EMV 4.4 Book 1 §8.3).
    #[serde(default = "default_atr")]
    pub atr: String,
    /// Whether the card answers SELECT 2PAY.SYS.DDF01 (default false: a contact card).
    #[serde(default)]
    pub ppse: bool,
    /// The applications, in directory order.
    pub application: Vec<ApplicationSection>,
    /// Fault injection rules for negative testing of terminals.
    #[serde(default)]
    pub fault: Vec<FaultSection>,
}

fn yes() -> bool {
    true
}

fn default_atr() -> String {
    "t0".into()
}

/// `[card]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    /// Primary account number (12–19 digits).
    pub pan: String,
    /// PAN sequence number, two digits (default `01`).
    #[serde(default = "default_psn")]
    pub psn: String,
    /// Expiry `YYMM`.
    pub expiry: String,
    /// Effective date `YYMM` (optional).
    #[serde(default)]
    pub effective: Option<String>,
    /// Cardholder name (tag 5F20).
    #[serde(default)]
    pub cardholder_name: Option<String>,
    /// Service code (3 digits, default `201`: international, chip, normal authorisation).
    #[serde(default = "default_service_code")]
    pub service_code: String,
    /// The offline PIN at personalisation (TEST PIN, 4–12 digits).
    pub pin: String,
    /// PIN Try Limit (1–15, default 3).
    #[serde(default = "default_ptl")]
    pub pin_try_limit: u8,
    /// Initial PIN Try Counter (default = the limit).
    #[serde(default)]
    pub pin_try_counter: Option<u8>,
    /// Derivation key index (IAD), hex byte (default `01`).
    #[serde(default = "default_dki")]
    pub dki: String,
    /// Initial Application Transaction Counter (default 0).
    #[serde(default)]
    pub atc: u16,
}

fn default_psn() -> String {
    "01".into()
}
fn default_service_code() -> String {
    "201".into()
}
fn default_ptl() -> u8 {
    3
}
fn default_dki() -> String {
    "01".into()
}

/// `[keys]`: issuer master keys; the card derives its ICC master keys with the CVN's
/// option (EMV 4.4 Book 2 A1.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// IMK for application cryptograms (16 bytes hex).
    pub imk_ac: String,
    /// IMK for secure-messaging integrity.
    pub imk_smi: String,
    /// IMK for secure-messaging confidentiality.
    pub imk_smc: String,
}

/// `[oda]`: which built-in test keys certify the card (see `card-profiles/ca/`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OdaSection {
    /// CA public key index (hex byte: `E1`, `E2`, `E3`).
    pub ca_index: String,
    /// Issuer key: a built-in test key name such as `ISSUER_1024_E3`.
    pub issuer_key: String,
    /// ICC key for DDA/CDA (and enciphered PIN without a PIN key), e.g. `ICC_768_E3`.
    #[serde(default)]
    pub icc_key: Option<String>,
    /// Separate ICC PIN encipherment key (optional).
    #[serde(default)]
    pub pin_key: Option<String>,
    /// Certificate serial number (3 bytes hex, default `000001`).
    #[serde(default = "default_serial")]
    pub serial: String,
}

fn default_serial() -> String {
    "000001".into()
}

/// `[risk]`: card risk management (EMV 4.4 Book 3 Annex C, CCD-style).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSection {
    /// Lower consecutive offline limit (9F14): beyond it the card asks to go online.
    #[serde(default = "default_lcol")]
    pub lower_consecutive_offline_limit: u8,
    /// Upper consecutive offline limit (9F23): beyond it the card declines offline.
    #[serde(default = "default_ucol")]
    pub upper_consecutive_offline_limit: u8,
    /// Ask to go online (ARQC instead of TC) when the PIN Try Limit is exceeded.
    #[serde(default = "yes")]
    pub online_if_pin_blocked: bool,
    /// Decline offline (AAC instead of TC) when the PIN Try Limit was exceeded in this
    /// transaction.
    #[serde(default)]
    pub decline_if_pin_blocked: bool,
    /// After this many script commands with a bad MAC the application blocks itself
    /// (0 = never).
    #[serde(default)]
    pub sm_failure_limit: u8,
}

fn default_lcol() -> u8 {
    3
}
fn default_ucol() -> u8 {
    5
}

impl Default for RiskSection {
    fn default() -> Self {
        Self {
            lower_consecutive_offline_limit: default_lcol(),
            upper_consecutive_offline_limit: default_ucol(),
            online_if_pin_blocked: true,
            decline_if_pin_blocked: false,
            sm_failure_limit: 0,
        }
    }
}

/// `[host]`: what the simulated issuer host provisions for this card (the card itself
/// ignores it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    /// Online PIN try limit at the host (default 3).
    #[serde(default = "default_ptl")]
    pub online_pin_try_limit: u8,
    /// How the host keeps the PIN: `pvv`, `ibm3624` or `encrypted`.
    #[serde(default = "default_pin_verification")]
    pub pin_verification: String,
    /// The issuer offers View PIN for this card's plastics (default `true`): the host keeps
    /// the PIN recoverable under its storage key, next to a PVV (docs/pin.md §5, §7).
    #[serde(default = "default_view_pin")]
    pub view_pin: bool,
    /// Open-to-buy in major units, e.g. `"1000.00"`.
    #[serde(default = "default_balance")]
    pub balance: String,
    /// The plastics sharing this card number.
    #[serde(default)]
    pub plastics: Vec<PlasticSection>,
}

fn default_pin_verification() -> String {
    "pvv".into()
}
fn default_balance() -> String {
    "1000.00".into()
}
fn default_view_pin() -> bool {
    true
}

impl Default for HostSection {
    fn default() -> Self {
        Self {
            online_pin_try_limit: default_ptl(),
            pin_verification: default_pin_verification(),
            view_pin: default_view_pin(),
            balance: default_balance(),
            plastics: Vec::new(),
        }
    }
}

/// One plastic (physical card) of `[host]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlasticSection {
    /// The plasticId.
    pub id: String,
    /// Expiry `YYMM`.
    pub expiry: String,
    /// `ACTIVE`, `INACTIVE`, `BLOCKED`, `EXPIRED`, ...
    pub status: String,
}

/// `[[application]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSection {
    /// AID (5–16 bytes hex).
    pub aid: String,
    /// Application label (tag 50).
    pub label: String,
    /// Application priority indicator (tag 87), hex byte, optional.
    #[serde(default)]
    pub priority: Option<String>,
    /// Application preferred name (9F12).
    #[serde(default)]
    pub preferred_name: Option<String>,
    /// PDOL (9F38) hex, optional.
    #[serde(default)]
    pub pdol: Option<String>,
    /// GET PROCESSING OPTIONS / GENERATE AC response format: 1 (tag 80) or 2 (tag 77).
    #[serde(default = "default_format")]
    pub response_format: u8,
    /// Application Interchange Profile (82), 2 bytes hex.
    pub aip: String,
    /// Data objects of this application (tag hex → value hex); override `[data]`.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// The records, in AFL order.
    pub records: Vec<RecordSection>,
}

fn default_format() -> u8 {
    2
}

/// One record of an application.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSection {
    /// Short file identifier (1–30).
    pub sfi: u8,
    /// Record number (1–254).
    pub record: u8,
    /// Tags in the record, in order (hex).
    pub tags: Vec<String>,
    /// Whether the record takes part in offline data authentication.
    #[serde(default)]
    pub oda: bool,
}

/// `[[fault]]`: one fault injection rule.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// The command it applies to: `select`, `gpo`, `read-record`, `get-data`,
    /// `get-challenge`, `verify`, `internal-authenticate`, `generate-ac`,
    /// `external-authenticate`, `script` (any post-issuance command) or `any`.
    pub command: String,
    /// Answer with this status word instead (and no data, no state change).
    #[serde(default)]
    pub sw: Option<String>,
    /// Flip the last byte of this tag's value in the response (e.g. `9F26`).
    #[serde(default)]
    pub corrupt_tag: Option<String>,
    /// Leave this tag out of the response (e.g. `8C` from a record).
    #[serde(default)]
    pub omit_tag: Option<String>,
    /// Return a wrong application cryptogram (GENERATE AC).
    #[serde(default)]
    pub wrong_cryptogram: bool,
    /// Skip this many matching commands before the fault starts (default 0).
    #[serde(default)]
    pub after: u32,
    /// Apply to this many matching commands (default: all).
    #[serde(default)]
    pub times: Option<u32>,
}

/// The profiles shipped in `card-profiles/`, compiled in so that the binary works from any
/// directory (a copied or installed binary, a container). `include_str!` makes every file a
/// build input, so an edited profile rebuilds the crate; the test
/// `the_built_in_table_is_the_card_profiles_directory` keeps this table equal to the
/// directory.
const BUILTIN: &[(&str, &str)] = &[
    (
        "mc-cvn16",
        include_str!("../../../card-profiles/mc-cvn16.toml"),
    ),
    (
        "mc-cvn20",
        include_str!("../../../card-profiles/mc-cvn20.toml"),
    ),
    (
        "visa-cvn10",
        include_str!("../../../card-profiles/visa-cvn10.toml"),
    ),
    (
        "visa-cvn18",
        include_str!("../../../card-profiles/visa-cvn18.toml"),
    ),
    (
        "visa-cvn18-enciphered-pin",
        include_str!("../../../card-profiles/visa-cvn18-enciphered-pin.toml"),
    ),
    (
        "visa-cvn18-no-cvm",
        include_str!("../../../card-profiles/visa-cvn18-no-cvm.toml"),
    ),
    (
        "visa-cvn18-no-ptc-get-data",
        include_str!("../../../card-profiles/visa-cvn18-no-ptc-get-data.toml"),
    ),
    (
        "visa-cvn18-online-pin-first",
        include_str!("../../../card-profiles/visa-cvn18-online-pin-first.toml"),
    ),
    (
        "visa-cvn18-ptl5",
        include_str!("../../../card-profiles/visa-cvn18-ptl5.toml"),
    ),
    (
        "visa-cvn18-signature",
        include_str!("../../../card-profiles/visa-cvn18-signature.toml"),
    ),
    (
        "visa-cvn22",
        include_str!("../../../card-profiles/visa-cvn22.toml"),
    ),
];

/// The environment variable naming a directory of card profiles that override or extend the
/// built-in ones.
pub const PROFILES_ENV: &str = "EMVBENCH_CARD_PROFILES";

/// The directory given on the command line (`--profiles DIR`), set once per process.
static PROFILE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// Compiled into the binary (`card-profiles/NAME.toml` at build time).
    BuiltIn(&'static str),
    /// A file.
    File(PathBuf),
}

impl std::fmt::Display for ProfileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn(_) => f.write_str("built-in"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl ProfileSource {
    /// The profile's TOML text.
    pub fn text(&self) -> Result<String, CardError> {
        match self {
            Self::BuiltIn(name) => {
                builtin_text(name)
                    .map(str::to_owned)
                    .ok_or_else(|| CardError::UnknownProfile {
                        name: (*name).to_owned(),
                        dir: "the built-in profiles".into(),
                        available: builtin_names().collect::<Vec<_>>().join(", "),
                    })
            }
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|source| CardError::ProfileIo {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// How the profile is named in errors: `built-in NAME` or the file's path.
    fn origin(&self) -> String {
        match self {
            Self::BuiltIn(name) => format!("built-in {name}"),
            Self::File(p) => p.display().to_string(),
        }
    }
}

/// One profile a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEntry {
    /// The name the CLI takes (`visa-cvn18`).
    pub name: String,
    /// Where it comes from.
    pub source: ProfileSource,
}

/// The names of the built-in profiles.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

/// The TOML text of a built-in profile.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Sets the directory of profiles that override or extend the built-in ones for the rest of
/// the process (the CLI's `--profiles DIR`); it takes precedence over
/// `$EMVBENCH_CARD_PROFILES`. Only the first call counts; false when it was set already.
pub fn set_profile_dir(dir: PathBuf) -> bool {
    PROFILE_DIR.set(dir).is_ok()
}

/// The directory of profiles that override or extend the built-in ones: the one set by
/// [`set_profile_dir`], else `$EMVBENCH_CARD_PROFILES`, else `card-profiles/` in the current
/// directory or a parent (a checkout of the repository: edits there count without a
/// rebuild), else none.
pub fn profile_dir() -> Option<PathBuf> {
    if let Some(dir) = PROFILE_DIR.get() {
        return Some(dir.clone());
    }
    if let Some(dir) = std::env::var_os(PROFILES_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join("card-profiles"))
        .find(|d| d.is_dir())
}

/// The `*.toml` files of `dir` by name (an unreadable directory has none).
fn files_in(dir: &Path) -> BTreeMap<String, PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    rd.filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            Some((stem, p))
        })
        .collect()
}

/// Every profile a name can take, sorted by name: the built-in ones, with the files of
/// [`profile_dir`] overriding a built-in profile of the same name or adding to them.
pub fn catalog() -> Vec<ProfileEntry> {
    let mut all: BTreeMap<String, ProfileSource> = builtin_names()
        .map(|n| (n.to_owned(), ProfileSource::BuiltIn(n)))
        .collect();
    if let Some(dir) = profile_dir() {
        for (name, path) in files_in(&dir) {
            all.insert(name, ProfileSource::File(path));
        }
    }
    all.into_iter()
        .map(|(name, source)| ProfileEntry { name, source })
        .collect()
}

/// The names of the profiles of the [`catalog`], sorted.
pub fn available_profiles() -> Vec<String> {
    catalog().into_iter().map(|e| e.name).collect()
}

/// Resolves PROFILE as the CLI takes it: a path to a file (anything with a `/` or ending
/// in `.toml` that exists), else a name in the [`catalog`].
pub fn resolve(profile: &str) -> Result<ProfileSource, CardError> {
    let as_path = Path::new(profile);
    if (profile.contains('/') || profile.ends_with(".toml")) && as_path.is_file() {
        return Ok(ProfileSource::File(as_path.to_path_buf()));
    }
    let catalog = catalog();
    if let Some(e) = catalog.iter().find(|e| e.name == profile) {
        return Ok(e.source.clone());
    }
    let dir = match profile_dir() {
        Some(d) => format!("{} and the built-in profiles", d.display()),
        None => "the built-in profiles".into(),
    };
    Err(CardError::UnknownProfile {
        name: profile.to_owned(),
        dir,
        available: catalog
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Reads and parses a profile file (schema only; see [`crate::Personalisation::build`]
/// for validation). A profile may start with `extends = "other-profile"`: it is then the
/// other profile (looked up next to it, else by name) with this file's tables merged over
/// it, key by key (arrays are replaced as a whole).
pub fn load_file(path: &Path) -> Result<ProfileFile, CardError> {
    load_source(&ProfileSource::File(path.to_path_buf()))
}

/// Reads and parses a profile from where it comes from (see [`load_file`]); a built-in
/// profile extends built-in ones only.
pub fn load_source(source: &ProfileSource) -> Result<ProfileFile, CardError> {
    let table = load_table(source, 0)?;
    table
        .try_into()
        .map_err(|e: toml::de::Error| CardError::ProfileSyntax {
            origin: source.origin(),
            message: e.to_string(),
        })
}

/// How many `extends` links a profile may follow (a loop is an error, not a hang).
const MAX_EXTENDS: usize = 8;

fn load_table(source: &ProfileSource, depth: usize) -> Result<toml::Table, CardError> {
    let origin = source.origin();
    let text = source.text()?;
    let mut table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| CardError::ProfileSyntax {
                origin: origin.clone(),
                message: e.to_string(),
            })?;
    let Some(base) = table.remove("extends") else {
        return Ok(table);
    };
    let field = |reason: String| CardError::ProfileField {
        origin: origin.clone(),
        field: "extends".into(),
        reason,
    };
    let base = base
        .as_str()
        .ok_or_else(|| field("must be a profile name".into()))?
        .to_owned();
    if depth >= MAX_EXTENDS {
        return Err(field(format!(
            "more than {MAX_EXTENDS} levels of extends (a loop?)"
        )));
    }
    let base_source = match source {
        ProfileSource::BuiltIn(_) => builtin_names()
            .find(|n| *n == base)
            .map(ProfileSource::BuiltIn)
            .ok_or_else(|| field(format!("no built-in profile {base:?}")))?,
        ProfileSource::File(path) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let next_to = dir.join(format!("{base}.toml"));
            // a file that overrides a built-in profile may extend the built-in one
            let found = if next_to.is_file() && next_to != *path {
                Some(ProfileSource::File(next_to))
            } else {
                match resolve(&base) {
                    Ok(ProfileSource::File(p)) if p != *path => Some(ProfileSource::File(p)),
                    _ => builtin_names()
                        .find(|n| *n == base)
                        .map(ProfileSource::BuiltIn),
                }
            };
            found.ok_or_else(|| {
                field(format!(
                    "no profile {base:?} in {} nor built in",
                    dir.display()
                ))
            })?
        }
    };
    let mut merged = load_table(&base_source, depth + 1)?;
    merge(&mut merged, table);
    Ok(merged)
}

/// Merges `over` into `base`: tables recursively, everything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parses profile TOML; `origin` names it in errors (`extends` is not resolved).
pub fn parse(text: &str, origin: &str) -> Result<ProfileFile, CardError> {
    toml::from_str(text).map_err(|e| CardError::ProfileSyntax {
        origin: origin.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_built_in_table_is_the_card_profiles_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../card-profiles");
        let on_disk: Vec<String> = files_in(&dir).into_keys().collect();
        let built_in: Vec<&str> = builtin_names().collect();
        assert_eq!(built_in, on_disk, "add new profiles to BUILTIN (sorted)");
        for (name, path) in files_in(&dir) {
            let text = std::fs::read_to_string(path).unwrap();
            assert_eq!(builtin_text(&name), Some(text.as_str()), "{name}");
        }
    }

    #[test]
    fn built_in_profiles_load_without_any_file() {
        for name in builtin_names() {
            let file = load_source(&ProfileSource::BuiltIn(name)).unwrap();
            assert_eq!(file.name, name);
        }
        assert_eq!(ProfileSource::BuiltIn("visa-cvn18").to_string(), "built-in");
    }
}
