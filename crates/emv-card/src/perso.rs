//! Personalisation: a validated [`ProfileFile`] turned into what the card serves — FCIs,
//! directory records, application records and AFL, derived ICC keys, ODA certificates
//! computed from the test CA (so a profile edit never leaves stale certificates), and
//! the fault rules.

use std::collections::BTreeMap;
use std::path::Path;

use emv_crypto::Cvn;
use emv_crypto::keys::TdesKey;
use emv_crypto::oda::test_keys;
use emv_crypto::oda::{
    self, RsaPrivateKey, issue_icc_certificate, issue_icc_pin_encipherment_certificate,
    issue_issuer_certificate, issuer_identifier_from_pan,
};
use emv_crypto::pinblock::Pin;
use emv_crypto::script::IccKeys;
use emv_tlv::{Dol, Tag, encode_tlv};

use crate::CardError;
use crate::commands::processing::GET_DATA_TAGS;
use crate::fault::Fault;
use crate::log::{LogEntry, log_format};
use crate::profile::{self, ApplicationSection, ProfileFile, RiskSection};

/// One application as the card serves it.
#[derive(Debug, Clone)]
pub struct Application {
    /// AID (DF name).
    pub aid: Vec<u8>,
    /// Application label.
    pub label: String,
    /// Application Priority Indicator (87), if any.
    pub priority: Option<u8>,
    /// The FCI answered to SELECT (`6F ...`).
    pub fci: Vec<u8>,
    /// Application Interchange Profile (82).
    pub aip: [u8; 2],
    /// Application File Locator (94).
    pub afl: Vec<u8>,
    /// PDOL (9F38), if any.
    pub pdol: Option<Dol>,
    /// Response format of GPO and GENERATE AC (1 or 2).
    pub response_format: u8,
    /// Records by (SFI, record number): the whole `70 ..` template.
    pub records: BTreeMap<(u8, u8), Vec<u8>>,
    /// Every data object of the application (records, FCI, card-internal such as CDOLs,
    /// limits, log format), by tag.
    pub data: BTreeMap<u32, Vec<u8>>,
    /// CDOL1 (8C).
    pub cdol1: Dol,
    /// CDOL2 (8D).
    pub cdol2: Dol,
    /// The transaction log's Log Entry (9F4D), if the application keeps one.
    pub log_entry: Option<LogEntry>,
    /// Its Log Format (9F4F), a DOL.
    pub log_format: Option<Dol>,
}

impl Application {
    /// A data object's value.
    pub fn get(&self, tag: u32) -> Option<&[u8]> {
        self.data.get(&tag).map(Vec::as_slice)
    }

    /// Whether the AIP sets `bit` (byte 1 mask).
    pub fn aip_has(&self, mask: u8) -> bool {
        self.aip[0] & mask != 0
    }
}

/// Which Answer To Reset the card gives (a profile's `atr`; EMV 4.4 Book 1 §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtrChoice {
    /// EMV's basic ATR for T=0 ([`crate::ATR`]).
    #[default]
    T0,
    /// EMV's basic ATR for T=1 ([`crate::ATR_T1`]).
    T1,
}

impl AtrChoice {
    /// The ATR's bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::T0 => &crate::ATR,
            Self::T1 => &crate::ATR_T1,
        }
    }
}

/// A card ready to be served: everything [`crate::Card`] needs that does not change.
pub struct Personalisation {
    /// Profile name.
    pub name: String,
    /// Profile description.
    pub description: String,
    /// Cryptogram version.
    pub cvn: Cvn,
    /// PAN digits.
    pub pan: String,
    /// PAN sequence number (2 digits).
    pub psn: String,
    /// Expiry YYMM.
    pub expiry: String,
    /// ICC master keys (derived from the profile's IMKs).
    pub(crate) keys: IccKeys,
    /// PIN Try Limit.
    pub pin_try_limit: u8,
    /// The PIN at personalisation.
    pub(crate) initial_pin: Pin,
    /// PIN Try Counter of a fresh card.
    pub initial_pin_try_counter: u8,
    /// ATC of a fresh card.
    pub initial_atc: u16,
    /// Last Online ATC Register (9F13) of a fresh card.
    pub initial_last_online_atc: u16,
    /// Derivation key index.
    pub dki: u8,
    /// Card risk management limits.
    pub risk: RiskSection,
    /// The Answer To Reset.
    pub atr: AtrChoice,
    /// Whether the PSE / PPSE exist.
    pub pse: bool,
    /// Whether the PPSE exists.
    pub ppse: bool,
    /// The applications.
    pub apps: Vec<Application>,
    /// PSE directory records (SFI 1).
    pub pse_records: Vec<Vec<u8>>,
    /// ICC private key (DDA/CDA; enciphered PIN when there is no PIN key).
    pub(crate) icc_key: Option<RsaPrivateKey>,
    /// ICC PIN encipherment private key.
    pub(crate) pin_key: Option<RsaPrivateKey>,
    /// Fault injection rules.
    pub faults: Vec<Fault>,
    /// The profile as written (the issuer host provisions from it).
    pub source: ProfileFile,
}

impl std::fmt::Debug for Personalisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Personalisation")
            .field("name", &self.name)
            .field("cvn", &self.cvn)
            .field("apps", &self.apps.len())
            .finish_non_exhaustive()
    }
}

/// A `--card-tag TAG=HEX` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagOverride {
    /// The tag.
    pub tag: u32,
    /// The new value.
    pub value: Vec<u8>,
}

impl std::str::FromStr for TagOverride {
    type Err = CardError;
    fn from_str(s: &str) -> Result<Self, CardError> {
        let (t, v) = s.split_once('=').ok_or_else(|| {
            CardError::Override(format!(
                "{s:?}: expected TAG=HEX, e.g. 8E=000000000000000042031E031F00"
            ))
        })?;
        let tag = Tag::from_hex(t.trim())
            .map_err(|e| CardError::Override(format!("{s:?}: tag {t:?}: {e}")))?;
        // '00' and 'FF' are padding between data objects, never the first byte of a tag
        // (EMV 4.4 Book 3 Annex B1)
        if matches!(tag.first_byte(), 0x00 | 0xFF) {
            return Err(CardError::Override(format!(
                "{s:?}: tag {t:?}: a tag cannot start with 00 or FF (padding, EMV 4.4 Book 3 Annex B1)"
            )));
        }
        let tag = tag.value();
        let value =
            parse_hex_str(v).map_err(|e| CardError::Override(format!("{s:?}: value: {e}")))?;
        Ok(Self { tag, value })
    }
}

/// Tags a `--card-tag` override changes outside the data objects.
const TAG_AIP: u32 = 0x82;
const TAG_AFL: u32 = 0x94;
const TAG_PDOL: u32 = 0x9F38;
const TAG_PTC: u32 = 0x9F17;
const TAG_ATC: u32 = 0x9F36;
const TAG_LAST_ONLINE_ATC: u32 = 0x9F13;
const TAG_LABEL: u32 = 0x50;
const TAG_PRIORITY: u32 = 0x87;
const TAG_PREFERRED_NAME: u32 = 0x9F12;
const TAG_LANGUAGE: u32 = 0x5F2D;

/// Tags an override changes outside the data objects, always placed: the AIP and AFL of
/// GET PROCESSING OPTIONS, the counters GET DATA reads from the card's state, and the FCI
/// fields (EMV 4.4 Book 1 §11.3.4 Table 43).
const PLACED_TAGS: [u32; 10] = [
    TAG_AIP,
    TAG_AFL,
    TAG_PDOL,
    TAG_PTC,
    TAG_ATC,
    TAG_LAST_ONLINE_ATC,
    TAG_LABEL,
    TAG_PRIORITY,
    TAG_PREFERRED_NAME,
    TAG_LANGUAGE,
];

/// Whether application `a`, whose data objects are `data` (before the overrides), has a
/// place for `tag` (card-profiles/README.md, "Overrides"): a data object the profile
/// holds is replaced where it is (its records, the card's own data such as the CDOLs); a
/// tag a record lists gets its value there (also a certificate computed from `[oda]`); a
/// tag GET DATA serves (EMV 4.4 Book 3 §6.5.7) is served.
fn has_place(a: &ApplicationSection, data: &BTreeMap<u32, Vec<u8>>, tag: u32) -> bool {
    data.contains_key(&tag)
        || GET_DATA_TAGS.contains(&tag)
        || a.records.iter().any(|r| {
            r.tags
                .iter()
                .any(|t| Tag::from_hex(t.trim()).is_ok_and(|x| x.value() == tag))
        })
}

/// Every override has a place in the card (see [`has_place`]), else it is refused with
/// where a tag can go: an override that would change nothing is a mistake, not a no-op.
fn check_overrides(
    file: &ProfileFile,
    common: &BTreeMap<u32, Vec<u8>>,
    overrides: &[TagOverride],
) -> Result<(), CardError> {
    for o in overrides {
        let tag = Tag::new(o.tag);
        match o.tag {
            t if PLACED_TAGS.contains(&t) => continue,
            0x84 | 0x4F => {
                return Err(CardError::Override(format!(
                    "{tag}: the AID is the profile's `application.aid`; write a profile \
                     (`extends = \"{}\"`, card-profiles/README.md) to change it",
                    file.name
                )));
            }
            0x9F11 => {
                return Err(CardError::Override(format!(
                    "{tag}: the Issuer Code Table Index goes with the preferred name; \
                     override 9F12 instead"
                )));
            }
            _ => {}
        }
        let placed = file.application.iter().any(|a| {
            let mut data = common.clone();
            for t in a.data.keys() {
                if let Ok(t) = Tag::from_hex(t.trim()) {
                    data.insert(t.value(), Vec::new());
                }
            }
            has_place(a, &data, o.tag)
        });
        if !placed {
            let get_data: Vec<String> = [TAG_LAST_ONLINE_ATC, TAG_PTC, TAG_ATC]
                .iter()
                .chain(GET_DATA_TAGS.iter())
                .map(|t| Tag::new(*t).to_string())
                .collect();
            return Err(CardError::Override(format!(
                "{tag}: {name} has no data object {tag} and no place for it. A --card-tag \
                 can replace a data object of the profile (in its records or the card's own \
                 data: 8E, 9F07, 8C, ...), set one the card answers to GET DATA ({}), or \
                 change the FCI (50, 87, 5F2D, 9F12, 9F38), the AIP (82) or the AFL (94). \
                 To add {tag} to a record, write a profile that extends {name} \
                 (card-profiles/README.md)",
                get_data.join(", "),
                name = file.name,
            )));
        }
    }
    Ok(())
}

/// An override of a computed tag (a certificate, the CA index) replaces the computed value
/// where a record lists the tag: a deliberately wrong value for an ODA test.
fn computed_overrides(file: &ProfileFile, apps: &mut [Application], overrides: &[TagOverride]) {
    for (app, section) in apps.iter_mut().zip(&file.application) {
        let mut changed = false;
        for o in overrides.iter().filter(|o| is_computed(o.tag)) {
            if has_place(section, &BTreeMap::new(), o.tag) {
                app.data.insert(o.tag, o.value.clone());
                changed = true;
            }
        }
        if changed {
            app.records = build_records(section, &app.data);
        }
    }
}

/// An `ans` text field of the FCI (50, 9F12: 1–16 characters, EMV 4.4 Book 3 Annex A).
fn fci_text(o: &TagOverride) -> Result<String, CardError> {
    let ok = (1..=16).contains(&o.value.len()) && o.value.iter().all(|b| (0x20..0x7F).contains(b));
    match std::str::from_utf8(&o.value) {
        Ok(s) if ok => Ok(s.to_owned()),
        _ => Err(CardError::Override(format!(
            "{} takes 1–16 printable ASCII characters (ans 1–16)",
            Tag::new(o.tag)
        ))),
    }
}

/// What the `[card]` section gives once checked.
struct CardChecks {
    expiry: (u8, u8),
    effective: Option<(u8, u8)>,
    initial_pin: Pin,
    initial_ptc: u8,
}

/// `[card]`: PAN and PSN (EMV 4.4 Book 3 Annex A: 5A cn ≤ 19, 5F34 n2), dates, service
/// code, the PIN (ISO 9564-1: 4-12 digits), PIN Try Limit 1-15 and the starting counter.
fn check_card(cx: &Ctx<'_>, c: &crate::profile::CardSection) -> Result<CardChecks, CardError> {
    emv_crypto::kdf::validate_pan(&c.pan).map_err(|e| cx.err("card.pan", e.to_string()))?;
    emv_crypto::kdf::validate_psn(&c.psn).map_err(|e| cx.err("card.psn", e.to_string()))?;
    let expiry = cx.yymm("card.expiry", &c.expiry)?;
    let effective = c
        .effective
        .as_deref()
        .map(|e| cx.yymm("card.effective", e))
        .transpose()?;
    cx.digits("card.service_code", &c.service_code, 3..=3)?;
    let initial_pin = Pin::new(&c.pin).map_err(|e| cx.err("card.pin", e.to_string()))?;
    if !(1..=15).contains(&c.pin_try_limit) {
        return Err(cx.err(
            "card.pin_try_limit",
            format!("{} is not 1–15", c.pin_try_limit),
        ));
    }
    let initial_ptc = c.pin_try_counter.unwrap_or(c.pin_try_limit);
    if initial_ptc > c.pin_try_limit {
        return Err(cx.err(
            "card.pin_try_counter",
            format!(
                "{initial_ptc} is above the PIN Try Limit {}",
                c.pin_try_limit
            ),
        ));
    }
    Ok(CardChecks {
        expiry,
        effective,
        initial_pin,
        initial_ptc,
    })
}

/// The card's keys, derived from the issuer master keys of `[keys]` for its CVN.
fn icc_keys(cx: &Ctx<'_>, file: &ProfileFile, cvn: Cvn) -> Result<IccKeys, CardError> {
    let key = |field: &str, s: &str| {
        TdesKey::from_hex(s.trim()).map_err(|e| cx.err(field, e.to_string()))
    };
    let imk_ac = key("keys.imk_ac", &file.keys.imk_ac)?;
    let imk_smi = key("keys.imk_smi", &file.keys.imk_smi)?;
    let imk_smc = key("keys.imk_smc", &file.keys.imk_smc)?;
    let c = &file.card;
    Ok(IccKeys::derive(
        cvn,
        &imk_ac,
        &imk_smi,
        &imk_smc,
        &c.pan,
        Some(&c.psn),
    )?)
}

/// `[risk]` (lower ≤ upper consecutive offline limit, Book 3 §10.6.3) and `[host]`
/// (plastic expiry dates, the host's PIN verification method).
fn check_risk_and_host(cx: &Ctx<'_>, file: &ProfileFile) -> Result<(), CardError> {
    if file.risk.lower_consecutive_offline_limit > file.risk.upper_consecutive_offline_limit {
        return Err(cx.err(
            "risk.lower_consecutive_offline_limit",
            "is above risk.upper_consecutive_offline_limit",
        ));
    }
    for (i, p) in file.host.plastics.iter().enumerate() {
        cx.yymm(&format!("host.plastics[{i}].expiry"), &p.expiry)?;
    }
    if !["pvv", "ibm3624", "encrypted"].contains(&file.host.pin_verification.as_str()) {
        return Err(cx.err(
            "host.pin_verification",
            format!(
                "{:?}: expected pvv, ibm3624 or encrypted",
                file.host.pin_verification
            ),
        ));
    }
    Ok(())
}

/// `[oda]`: the test CA index and the issuer's, ICC's and PIN encipherment keys by name.
fn oda_keys(
    cx: &Ctx<'_>,
    o: &crate::profile::OdaSection,
) -> Result<
    (
        u8,
        RsaPrivateKey,
        Option<RsaPrivateKey>,
        Option<RsaPrivateKey>,
    ),
    CardError,
> {
    let [idx] = cx.hex_n::<1>("oda.ca_index", &o.ca_index)?;
    let ca_known = test_keys::TEST_CA_KEYS.iter().any(|(i, _)| *i == idx);
    if !ca_known {
        return Err(cx.err(
            "oda.ca_index",
            format!("{idx:02X} is not a test CA index (E1, E2, E3)"),
        ));
    }
    let issuer = cx.test_key("oda.issuer_key", &o.issuer_key)?;
    let optional = |field: &str, name: &Option<String>| {
        name.as_deref()
            .filter(|s| !s.is_empty())
            .map(|n| cx.test_key(field, n))
            .transpose()
    };
    let icc = optional("oda.icc_key", &o.icc_key)?;
    let pin = optional("oda.pin_key", &o.pin_key)?;
    Ok((idx, issuer, icc, pin))
}

/// The data objects every application shares, the card section filling the usual ones
/// (PAN, PSN, dates, name, service code, Track 2 equivalent, offline limits), then
/// `[data]`.
fn common_data(
    cx: &Ctx<'_>,
    file: &ProfileFile,
    (yy, mm): (u8, u8),
    effective: Option<(u8, u8)>,
) -> Result<BTreeMap<u32, Vec<u8>>, CardError> {
    let c = &file.card;
    let mut common: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    common.insert(0x5A, bcd(&c.pan));
    common.insert(0x5F34, bcd(&c.psn));
    common.insert(
        0x5F24,
        bcd(&format!("{yy:02}{mm:02}{:02}", days_in_month(yy, mm))),
    );
    if let Some((ey, em)) = effective {
        common.insert(0x5F25, bcd(&format!("{ey:02}{em:02}01")));
    }
    if let Some(name) = &c.cardholder_name {
        common.insert(0x5F20, name.as_bytes().to_vec());
    }
    common.insert(0x5F30, bcd(&format!("0{}", c.service_code)));
    common.insert(
        0x57,
        bcd(&format!(
            "{}D{}{}0000000000",
            c.pan, &c.expiry, c.service_code
        )),
    );
    common.insert(0x9F14, vec![file.risk.lower_consecutive_offline_limit]);
    common.insert(0x9F23, vec![file.risk.upper_consecutive_offline_limit]);
    for (t, v) in &file.data {
        let field = format!("data.{t}");
        common.insert(cx.tag(&field, t)?, cx.hex(&field, v)?);
    }
    Ok(common)
}

/// `--card-tag 9F17=..` / `9F36=..` / `9F13=..`: the card's starting PIN Try Counter,
/// ATC and Last Online ATC Register, which GET DATA reads from its state (EMV 4.4 Book 3
/// §6.5.7).
fn counter_overrides(
    overrides: &[TagOverride],
    pin_try_limit: u8,
    ptc: &mut u8,
    (atc, last_online_atc): (&mut u16, &mut u16),
) -> Result<(), CardError> {
    for o in overrides {
        match o.tag {
            TAG_PTC => {
                let [v] = <[u8; 1]>::try_from(o.value.as_slice())
                    .map_err(|_| CardError::Override("9F17 takes one byte".into()))?;
                if v > pin_try_limit {
                    return Err(CardError::Override(format!(
                        "9F17={v:02X} is above the PIN Try Limit {pin_try_limit}"
                    )));
                }
                *ptc = v;
            }
            TAG_ATC => {
                let v = <[u8; 2]>::try_from(o.value.as_slice())
                    .map_err(|_| CardError::Override("9F36 takes two bytes".into()))?;
                *atc = u16::from_be_bytes(v);
            }
            TAG_LAST_ONLINE_ATC => {
                let v = <[u8; 2]>::try_from(o.value.as_slice())
                    .map_err(|_| CardError::Override("9F13 takes two bytes".into()))?;
                *last_online_atc = u16::from_be_bytes(v);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The PSE directory record of an application: template 70 holding one Application
/// Template 61 with its AID, label and priority (EMV 4.4 Book 1 §12.2.3).
fn pse_record(a: &Application) -> Vec<u8> {
    let mut entry = encode_tlv(Tag::new(0x4F), &a.aid);
    entry.extend(encode_tlv(Tag::new(0x50), a.label.as_bytes()));
    if let Some(p) = a.priority {
        entry.extend(encode_tlv(Tag::new(0x87), &[p]));
    }
    encode_tlv(Tag::new(0x70), &encode_tlv(Tag::new(0x61), &entry))
}

fn parse_hex_str(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&compact).map_err(|e| format!("not hex ({e})"))
}

/// Builds field errors for one profile.
struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, reason: impl Into<String>) -> CardError {
        CardError::ProfileField {
            origin: self.origin.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn hex(&self, field: &str, s: &str) -> Result<Vec<u8>, CardError> {
        parse_hex_str(s).map_err(|e| self.err(field, e))
    }

    fn hex_n<const N: usize>(&self, field: &str, s: &str) -> Result<[u8; N], CardError> {
        let v = self.hex(field, s)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| self.err(field, format!("expected {N} bytes, got {}", v.len())))
    }

    fn tag(&self, field: &str, s: &str) -> Result<u32, CardError> {
        Tag::from_hex(s.trim())
            .map(Tag::value)
            .map_err(|e| self.err(field, format!("not a tag: {e}")))
    }

    fn digits(
        &self,
        field: &str,
        s: &str,
        lens: std::ops::RangeInclusive<usize>,
    ) -> Result<(), CardError> {
        if !s.bytes().all(|b| b.is_ascii_digit()) || !lens.contains(&s.len()) {
            return Err(self.err(
                field,
                format!("expected {}–{} digits, got {s:?}", lens.start(), lens.end()),
            ));
        }
        Ok(())
    }

    fn yymm(&self, field: &str, s: &str) -> Result<(u8, u8), CardError> {
        self.digits(field, s, 4..=4)?;
        let yy = s[..2].parse::<u8>().unwrap_or(0);
        let mm = s[2..].parse::<u8>().unwrap_or(0);
        if !(1..=12).contains(&mm) {
            return Err(self.err(field, format!("month {mm} in {s:?} is not 01–12")));
        }
        Ok((yy, mm))
    }

    fn test_key(&self, field: &str, name: &str) -> Result<RsaPrivateKey, CardError> {
        let all = test_keys::ALL;
        let key = all.iter().find(|k| k.name == name).ok_or_else(|| {
            self.err(
                field,
                format!(
                    "unknown test key {name:?}; built-in keys: {}",
                    all.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        Ok(key.private_key()?)
    }
}

fn bcd(digits: &str) -> Vec<u8> {
    let mut s = digits.to_owned();
    if s.len() % 2 == 1 {
        s.push('F');
    }
    parse_hex_str(&s).unwrap_or_default()
}

fn days_in_month(yy: u8, mm: u8) -> u8 {
    match mm {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Personalisation {
    /// Loads a profile by name or path (see [`profile::resolve`]) and builds it.
    pub fn load(profile: &str, overrides: &[TagOverride]) -> Result<Self, CardError> {
        let source = profile::resolve(profile)?;
        let file = profile::load_source(&source)?;
        let origin = match &source {
            profile::ProfileSource::BuiltIn(name) => format!("{name} (built-in)"),
            profile::ProfileSource::File(path) => path.display().to_string(),
        };
        Self::build(file, &origin, overrides)
    }

    /// Loads and builds the profile at `path`.
    pub fn load_path(path: &Path, overrides: &[TagOverride]) -> Result<Self, CardError> {
        let file = profile::load_file(path)?;
        Self::build(file, &path.display().to_string(), overrides)
    }

    /// Validates a parsed profile and builds the card. `origin` names it in errors.
    pub fn build(
        file: ProfileFile,
        origin: &str,
        overrides: &[TagOverride],
    ) -> Result<Self, CardError> {
        let cx = Ctx { origin };
        let c = &file.card;
        let cvn = Cvn::from_written(&file.cvn).map_err(|e| {
            cx.err(
                "cvn",
                format!(
                    "{e}; expected one of visa-10, visa-18, visa-22, mc-16, mc-17, mc-20, mc-21"
                ),
            )
        })?;
        if matches!(cvn, Cvn::Interac133) {
            return Err(cx.err("cvn", "interac-133 cards are not modelled"));
        }
        let CardChecks {
            expiry: (exp_yy, exp_mm),
            effective,
            initial_pin,
            mut initial_ptc,
        } = check_card(&cx, c)?;
        let [dki] = cx.hex_n::<1>("card.dki", &c.dki)?;
        let keys = icc_keys(&cx, &file, cvn)?;
        let mut initial_atc = c.atc;
        check_risk_and_host(&cx, &file)?;

        let (ca_index, issuer_key, icc_key, pin_key) = match &file.oda {
            Some(o) => {
                let (idx, issuer, icc, pin) = oda_keys(&cx, o)?;
                (Some(idx), Some(issuer), icc, pin)
            }
            None => (None, None, None, None),
        };
        let common = common_data(&cx, &file, (exp_yy, exp_mm), effective)?;
        check_overrides(&file, &common, overrides)?;

        let mut apps = Vec::new();
        for (i, a) in file.application.iter().enumerate() {
            apps.push(build_app(&cx, i, a, &common, overrides)?);
        }
        if apps.is_empty() {
            return Err(cx.err("application", "a card needs at least one [[application]]"));
        }
        let mut initial_last_online_atc = 0;
        counter_overrides(
            overrides,
            c.pin_try_limit,
            &mut initial_ptc,
            (&mut initial_atc, &mut initial_last_online_atc),
        )?;

        // ODA: certificates computed over the final records (Book 2 §5, §6, §7).
        if let (Some(idx), Some(issuer)) = (ca_index, &issuer_key) {
            for (i, app) in apps.iter_mut().enumerate() {
                certify(
                    &cx,
                    i,
                    app,
                    idx,
                    issuer,
                    icc_key.as_ref(),
                    pin_key.as_ref(),
                    &file,
                    (exp_yy, exp_mm),
                )?;
            }
        }
        computed_overrides(&file, &mut apps, overrides);

        let pse_records = apps.iter().map(pse_record).collect();
        let atr = match file.atr.trim() {
            "t0" | "T0" => AtrChoice::T0,
            "t1" | "T1" => AtrChoice::T1,
            other => return Err(cx.err("atr", format!("{other:?}: expected t0 or t1"))),
        };

        let mut faults = Vec::new();
        for (i, f) in file.fault.iter().enumerate() {
            faults.push(Fault::from_section(f).map_err(|e| cx.err(format!("fault[{i}]"), e))?);
        }

        let perso = Self {
            name: file.name.clone(),
            description: file.description.clone(),
            cvn,
            pan: c.pan.clone(),
            psn: c.psn.clone(),
            expiry: c.expiry.clone(),
            keys,
            pin_try_limit: c.pin_try_limit,
            initial_pin,
            initial_pin_try_counter: initial_ptc,
            initial_atc,
            initial_last_online_atc,
            dki,
            risk: file.risk.clone(),
            atr,
            pse: file.pse,
            ppse: file.ppse,
            apps,
            pse_records,
            icc_key,
            pin_key,
            faults,
            source: file,
        };
        crate::sizes::check(&perso, origin)?;
        Ok(perso)
    }

    /// The application whose AID is exactly `aid`.
    pub fn app_index(&self, aid: &[u8]) -> Option<usize> {
        self.apps.iter().position(|a| a.aid == aid)
    }

    /// Whether the card can decipher an enciphered PIN (has a PIN or ICC key).
    pub fn supports_enciphered_pin(&self) -> bool {
        self.pin_key.is_some() || self.icc_key.is_some()
    }
}

fn build_app(
    cx: &Ctx<'_>,
    i: usize,
    a: &ApplicationSection,
    common: &BTreeMap<u32, Vec<u8>>,
    overrides: &[TagOverride],
) -> Result<Application, CardError> {
    let p = |f: &str| format!("application[{i}].{f}");
    let aid = cx.hex(&p("aid"), &a.aid)?;
    if !(5..=16).contains(&aid.len()) {
        return Err(cx.err(p("aid"), format!("{} bytes, an AID has 5–16", aid.len())));
    }
    let mut aip = cx.hex_n::<2>(&p("aip"), &a.aip)?;
    let mut label = a.label.clone();
    let mut preferred_name = a.preferred_name.clone();
    let mut priority = a
        .priority
        .as_deref()
        .map(|s| cx.hex_n::<1>(&p("priority"), s).map(|[b]| b))
        .transpose()?;
    if !matches!(a.response_format, 1 | 2) {
        return Err(cx.err(p("response_format"), "must be 1 or 2"));
    }
    let mut data = common.clone();
    for (t, v) in &a.data {
        let field = p(&format!("data.{t}"));
        data.insert(cx.tag(&field, t)?, cx.hex(&field, v)?);
    }
    let mut pdol_bytes = a
        .pdol
        .as_deref()
        .map(|s| cx.hex(&p("pdol"), s))
        .transpose()?;
    let mut afl_override = None;
    for o in overrides {
        match o.tag {
            TAG_AIP => {
                aip = <[u8; 2]>::try_from(o.value.as_slice())
                    .map_err(|_| CardError::Override("82 takes two bytes".into()))?;
            }
            TAG_AFL => afl_override = Some(o.value.clone()),
            TAG_PDOL => pdol_bytes = Some(o.value.clone()),
            TAG_PTC | TAG_ATC | TAG_LAST_ONLINE_ATC => {}
            TAG_PRIORITY => {
                let [v] = <[u8; 1]>::try_from(o.value.as_slice())
                    .map_err(|_| CardError::Override("87 takes one byte".into()))?;
                priority = Some(v);
            }
            TAG_LABEL => label = fci_text(o)?,
            TAG_PREFERRED_NAME => preferred_name = Some(fci_text(o)?),
            // the FCI carries the language preference when there is one
            TAG_LANGUAGE => {
                data.insert(TAG_LANGUAGE, o.value.clone());
            }
            t if has_place(a, &data, t) => {
                data.insert(t, o.value.clone());
            }
            // another application of the card holds it ([`check_overrides`])
            _ => {}
        }
    }
    let pdol = pdol_bytes
        .as_deref()
        .map(|b| Dol::parse(b).map_err(|e| cx.err(p("pdol"), e.to_string())))
        .transpose()?;
    let dol = |tag: u32, name: &str| -> Result<Dol, CardError> {
        let v = data
            .get(&tag)
            .ok_or_else(|| cx.err(p(&format!("data.{name}")), format!("{name} is required")))?;
        Dol::parse(v).map_err(|e| cx.err(p(&format!("data.{name}")), e.to_string()))
    };
    let cdol1 = dol(0x8C, "8C")?;
    let cdol2 = dol(0x8D, "8D")?;
    data.insert(0x82, aip.to_vec());
    data.insert(0x84, aid.clone());
    data.insert(0x4F, aid.clone());
    data.insert(TAG_LABEL, label.as_bytes().to_vec());

    check_records(cx, i, a, &data)?;
    let (log_entry, log_format) = check_log(cx, i, a, &data)?;
    let afl = match afl_override {
        Some(v) => v,
        None => build_afl(a),
    };
    let fci = build_fci(
        (&label, preferred_name.as_deref()),
        &aid,
        priority,
        pdol_bytes.as_deref(),
        &data,
    );
    let mut app = Application {
        aid,
        label,
        priority,
        fci,
        aip,
        afl,
        pdol,
        response_format: a.response_format,
        records: BTreeMap::new(),
        data,
        cdol1,
        cdol2,
        log_entry,
        log_format,
    };
    app.records = build_records(a, &app.data);
    Ok(app)
}

/// The application's records: SFI 1-30, records 1-254, each once; every tag has a value;
/// no value computed from the ODA data inside a record signed for ODA.
fn check_records(
    cx: &Ctx<'_>,
    i: usize,
    a: &ApplicationSection,
    data: &BTreeMap<u32, Vec<u8>>,
) -> Result<(), CardError> {
    let mut seen = BTreeMap::new();
    for (r, rec) in a.records.iter().enumerate() {
        let f = format!("application[{i}].records[{r}]");
        if !(1..=30).contains(&rec.sfi) {
            return Err(cx.err(format!("{f}.sfi"), format!("{} is not 1–30", rec.sfi)));
        }
        if rec.record == 0 || rec.record == 0xFF {
            return Err(cx.err(format!("{f}.record"), "must be 1–254"));
        }
        if seen.insert((rec.sfi, rec.record), r).is_some() {
            return Err(cx.err(
                f,
                format!("SFI {} record {} appears twice", rec.sfi, rec.record),
            ));
        }
        for (k, t) in rec.tags.iter().enumerate() {
            let tag = cx.tag(&format!("{f}.tags[{k}]"), t)?;
            if !data.contains_key(&tag) && !is_computed(tag) {
                return Err(cx.err(
                    format!("{f}.tags[{k}]"),
                    format!("tag {t} has no value in [data] or the application's data"),
                ));
            }
            if rec.oda && is_computed(tag) {
                return Err(cx.err(
                    format!("{f}.tags[{k}]"),
                    format!("tag {t} is computed from the ODA data and cannot be in an ODA record"),
                ));
            }
        }
    }
    Ok(())
}

/// The transaction log (EMV 4.4 Book 3 Annex D): a Log Entry (9F4D) needs a Log Format
/// (9F4F) and an SFI of its own, 11–30, that no record of the AFL uses.
fn check_log(
    cx: &Ctx<'_>,
    i: usize,
    a: &ApplicationSection,
    data: &BTreeMap<u32, Vec<u8>>,
) -> Result<(Option<LogEntry>, Option<Dol>), CardError> {
    let Some(v) = data.get(&0x9F4D) else {
        return Ok((None, None));
    };
    let field = format!("application[{i}].data.9F4D");
    let entry = LogEntry::parse(v).map_err(|e| cx.err(&field, e))?;
    let format = log_format(data)
        .filter(|f| f.data_len() > 0)
        .ok_or_else(|| cx.err(&field, "a Log Entry needs a Log Format (9F4F, a DOL)"))?;
    if let Some(r) = a.records.iter().position(|r| r.sfi == entry.sfi) {
        return Err(cx.err(
            field,
            format!(
                "the log's SFI {} holds application records (records[{r}])",
                entry.sfi
            ),
        ));
    }
    Ok((Some(entry), Some(format)))
}

/// The FCI of the application's SELECT (EMV 4.4 Book 1 §11.3.4 Table 43): DF name, then
/// the proprietary template with label, priority, PDOL, language, preferred name and the
/// FCI Issuer Discretionary Data (BF0C) with the Log Entry (Book 3 Annex D).
fn build_fci(
    (label, preferred_name): (&str, Option<&str>),
    aid: &[u8],
    priority: Option<u8>,
    pdol: Option<&[u8]>,
    data: &BTreeMap<u32, Vec<u8>>,
) -> Vec<u8> {
    let mut fci_prop = encode_tlv(Tag::new(0x50), label.as_bytes());
    if let Some(pr) = priority {
        fci_prop.extend(encode_tlv(Tag::new(0x87), &[pr]));
    }
    if let Some(pd) = pdol {
        fci_prop.extend(encode_tlv(Tag::new(0x9F38), pd));
    }
    if let Some(lang) = data.get(&0x5F2D) {
        fci_prop.extend(encode_tlv(Tag::new(0x5F2D), lang));
    }
    if let Some(name) = preferred_name {
        fci_prop.extend(encode_tlv(Tag::new(0x9F11), &[0x01]));
        fci_prop.extend(encode_tlv(Tag::new(0x9F12), name.as_bytes()));
    }
    if let Some(entry) = data.get(&0x9F4D) {
        fci_prop.extend(encode_tlv(
            Tag::new(0xBF0C),
            &encode_tlv(Tag::new(0x9F4D), entry),
        ));
    }
    let mut fci_body = encode_tlv(Tag::new(0x84), aid);
    fci_body.extend(encode_tlv(Tag::new(0xA5), &fci_prop));
    encode_tlv(Tag::new(0x6F), &fci_body)
}

/// Tags computed at personalisation from the ODA keys.
fn is_computed(tag: u32) -> bool {
    matches!(
        tag,
        0x8F | 0x90 | 0x92 | 0x93 | 0x9F32 | 0x9F46 | 0x9F47 | 0x9F48 | 0x9F2D | 0x9F2E | 0x9F2F
    )
}

fn build_records(
    a: &ApplicationSection,
    data: &BTreeMap<u32, Vec<u8>>,
) -> BTreeMap<(u8, u8), Vec<u8>> {
    a.records
        .iter()
        .map(|rec| {
            let mut body = Vec::new();
            for t in &rec.tags {
                if let Ok(tag) = Tag::from_hex(t.trim())
                    && let Some(v) = data.get(&tag.value())
                    // an empty key remainder (92, 9F48, 9F2F) is left out
                    && !(v.is_empty() && is_computed(tag.value()))
                {
                    body.extend(encode_tlv(tag, v));
                }
            }
            ((rec.sfi, rec.record), encode_tlv(Tag::new(0x70), &body))
        })
        .collect()
}

/// AFL (EMV 4.4 Book 3 §10.2): one 4-byte entry per run of consecutive records of one
/// SFI in which the ODA records come first.
fn build_afl(a: &ApplicationSection) -> Vec<u8> {
    let mut afl = Vec::new();
    let mut entry: Option<[u8; 4]> = None;
    let mut oda_closed = false;
    for rec in &a.records {
        let extend = entry.is_some_and(|e| {
            e[0] >> 3 == rec.sfi
                && e[2].checked_add(1) == Some(rec.record)
                && !(rec.oda && oda_closed)
        });
        if extend {
            if let Some(e) = entry.as_mut() {
                e[2] = rec.record;
                if rec.oda {
                    e[3] += 1;
                } else {
                    oda_closed = true;
                }
            }
        } else {
            if let Some(e) = entry.take() {
                afl.extend_from_slice(&e);
            }
            entry = Some([rec.sfi << 3, rec.record, rec.record, u8::from(rec.oda)]);
            oda_closed = !rec.oda;
        }
    }
    if let Some(e) = entry {
        afl.extend_from_slice(&e);
    }
    afl
}

/// Static Data to be Authenticated (EMV 4.4 Book 3 §10.3): the ODA records along the AFL
/// (SFI 1–10: the value of the `70` template; 11–30: the whole record), then the values
/// of the tags in the Static Data Authentication Tag List (9F4A, only 82 allowed).
pub fn static_data_to_authenticate(app: &Application) -> Vec<u8> {
    let mut out = Vec::new();
    for e in app.afl.chunks_exact(4) {
        let sfi = e[0] >> 3;
        let mut left = e[3];
        for r in e[1]..=e[2] {
            if left == 0 {
                break;
            }
            left -= 1;
            if let Some(rec) = app.records.get(&(sfi, r)) {
                if sfi <= 10 {
                    if let Ok(t) = emv_tlv::parse_one(rec) {
                        out.extend_from_slice(t.value());
                    }
                } else {
                    out.extend_from_slice(rec);
                }
            }
        }
    }
    if app.get(0x9F4A).is_some_and(|l| l == [0x82]) {
        out.extend_from_slice(&app.aip);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn certify(
    cx: &Ctx<'_>,
    i: usize,
    app: &mut Application,
    ca_index: u8,
    issuer: &RsaPrivateKey,
    icc: Option<&RsaPrivateKey>,
    pin: Option<&RsaPrivateKey>,
    file: &ProfileFile,
    expiry: (u8, u8),
) -> Result<(), CardError> {
    let ca = test_keys::TEST_CA_KEYS
        .iter()
        .find(|(idx, _)| *idx == ca_index)
        .map(|(_, k)| k.private_key())
        .transpose()?
        .ok_or_else(|| cx.err("oda.ca_index", "unknown test CA index"))?;
    let serial = file
        .oda
        .as_ref()
        .map(|o| cx.hex_n::<3>("oda.serial", &o.serial))
        .transpose()?
        .unwrap_or([0, 0, 1]);
    let mmyy = {
        let b = bcd(&format!("{:02}{:02}", expiry.1, expiry.0));
        [b[0], b[1]]
    };
    let pan_bcd = app.data.get(&0x5A).cloned().unwrap_or_default();
    let issuer_id = issuer_identifier_from_pan(&pan_bcd, 6)?;
    if issuer.modulus_len() > ca.modulus_len() {
        return Err(cx.err("oda.issuer_key", "the issuer key is longer than the CA key"));
    }
    let ic = issue_issuer_certificate(&ca, issuer_id, mmyy, serial, issuer.public_key())?;
    app.data.insert(0x8F, vec![ca_index]);
    app.data.insert(0x90, ic.certificate);
    app.data.insert(0x92, ic.remainder);
    app.data.insert(0x9F32, ic.exponent);
    // Records built before the certificates: rebuild them so computed tags get values.
    let rebuild = |app: &mut Application| {
        app.records = build_records(&file.application[i], &app.data);
    };
    rebuild(app);
    let static_data = static_data_to_authenticate(app);
    if app.aip_has(0x40) {
        let dac = app
            .data
            .get(&0x9F45)
            .and_then(|v| <[u8; 2]>::try_from(v.as_slice()).ok())
            .unwrap_or([0xDA, 0xC1]);
        app.data.insert(
            0x93,
            oda::sign_static_application_data(issuer, dac, &static_data)?,
        );
    }
    if let Some(icc) = icc {
        if icc.modulus_len() > issuer.modulus_len() {
            return Err(cx.err("oda.icc_key", "the ICC key is longer than the issuer key"));
        }
        let c = issue_icc_certificate(
            issuer,
            &pan_bcd,
            mmyy,
            serial,
            icc.public_key(),
            &static_data,
        )?;
        app.data.insert(0x9F46, c.certificate);
        app.data.insert(0x9F48, c.remainder);
        app.data.insert(0x9F47, c.exponent);
    } else if app.aip_has(0x20) || app.aip_has(0x01) {
        return Err(cx.err(
            format!("application[{i}].aip"),
            "DDA/CDA is set but [oda] has no icc_key",
        ));
    }
    if let Some(pk) = pin {
        let c = issue_icc_pin_encipherment_certificate(
            issuer,
            &pan_bcd,
            mmyy,
            serial,
            pk.public_key(),
        )?;
        app.data.insert(0x9F2D, c.certificate);
        app.data.insert(0x9F2F, c.remainder);
        app.data.insert(0x9F2E, c.exponent);
    }
    rebuild(app);
    Ok(())
}
