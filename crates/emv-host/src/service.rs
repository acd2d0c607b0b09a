//! The issuer service: the host's rules over the store. No HTTP here; the HTTP layer, the
//! scenario runner and the TUI all call these methods.
//!
//! Authorisation rules, in the order they are applied (each cites its source):
//! 1. Message checks, before anything is read or written: PAN/PSN syntax, DE 55 parses and
//!    carries the ARQC with the data it covers, DE 4/DE 49 equal 9F02/5F2A (the ARQC covers
//!    the latter), the PIN block decrypts under the named key. A failure is an
//!    [`Error`] (HTTP 400), never a decline, never a changed counter.
//! 2. Unknown PAN/PSN → `14`.
//! 3. Retransmission: the same ATC **and** the same ARQC as the last verified request get
//!    the stored answer again, unchanged and without touching any counter (ISO 8583 repeat
//!    messages; a terminal that timed out must not cost the cardholder a PIN try).
//! 4. Chip data: CID must say ARQC, the ARQC must verify for the card's CVN (constant
//!    time; EMV 4.4 Book 2 §8.1) else `05`; an ATC not above the last online ATC is a
//!    replay → `05` (emv-reference §5.3: the ATC increments per transaction). The CVR in
//!    the IAD tells the host the chip's offline PIN state (emv-reference §3.5).
//! 5. Card blocked by the issuer → `62`.
//! 6. Online PIN blocked (tries left 0) → `75` on every channel, with or without a PIN
//!    (MISSION.md "Online PIN").
//! 7. Expired card or a non-ACTIVE plastic → `54` / `62`.
//! 8. Online PIN: the counter is decremented, then the PIN is checked, in the same
//!    transaction; success resets it to the limit; failure → `55` (dependencies.md §5,
//!    MISSION.md "Online PIN").
//! 9. Open-to-buy → `51`; else `00`, debiting the open-to-buy (refunds credit it).
//! 10. Approvals with chip data carry the pending PIN scripts (PIN UNBLOCK is queued when the
//!     online PIN was verified and the chip reports its offline PIN blocked; MISSION.md
//!     "Keeping offline and online in step", emv-reference §4.8), and every verified ARQC
//!     gets an ARPC by the CVN's method (method 2's CSU resets the chip's PIN Try Counter
//!     when an unblock rides on the response; emv-reference §4.7).

use std::sync::Arc;

use emv_auth::{
    Advice, AdviceReason, AuthRequest, AuthResponse, Host, HostError, OnlinePinResult, PinData,
    ResponseCode, TransactionType,
};
use emv_crypto::cryptogram::{ArpcMethod, ArpcResponse, Csu, generate_arpc, verify_ac};
use emv_crypto::script::IccKeys;
use emv_crypto::{CryptoError, Cvn, Pin, TdesKey};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;
use crate::audit::{self, AuditEntry, mask_pan};
use crate::chip::{self, ChipData};
use crate::keys::HostKeys;
use crate::pin::{self, PinRecord};
use crate::provision::{
    CardProvision, CardStatus, PinVerificationMethod, Plastic, PlasticStatus, check_yymm,
};
use crate::scripts::{self, MAX_SCRIPTS_LEN, ScriptKind, ScriptView};
use crate::store::{self, Db, SyncMode};
use crate::time::{now_unix, rfc3339, year_month};

/// A card as the management API addresses it: the PAN, and the PSN when several cards
/// share the PAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CardRef {
    /// Primary account number.
    pub pan: String,
    /// PAN sequence number; `None` when the PAN alone is unambiguous.
    #[serde(default)]
    pub psn: Option<String>,
}

impl CardRef {
    /// A reference by PAN and optional PSN.
    pub fn new(pan: impl Into<String>, psn: Option<&str>) -> Self {
        Self {
            pan: pan.into(),
            psn: psn.map(str::to_string),
        }
    }

    fn check(&self) -> Result<(), Error> {
        emv_crypto::kdf::validate_pan(&self.pan)
            .map_err(|e| Error::BadRequest(format!("PAN: {e}")))?;
        if let Some(psn) = &self.psn {
            emv_crypto::kdf::validate_psn(psn)
                .map_err(|e| Error::BadRequest(format!("PSN: {e}")))?;
        }
        Ok(())
    }
}

/// What provisioning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisionOutcome {
    /// A new card.
    Created,
    /// An existing card: keys, expiry, limits and plastics refreshed; PIN, counters,
    /// balance, chip knowledge and scripts kept.
    Updated,
    /// An existing card reset to the provisioning data (PIN, counters, balance, status),
    /// chip knowledge forgotten, open scripts superseded.
    Reset,
}

/// `reset` mode of the PIN reset API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinResetMode {
    /// Generate a new random PIN (retrievable only through View PIN), to be written to
    /// the chip by a PIN CHANGE script.
    New,
    /// Keep the PIN; only reset the online counter.
    Keep,
}

/// The answer of the PIN management calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinOutcome {
    /// What was done (`pin-unblock`, `pin-reset`, `pin-change`).
    pub action: String,
    /// Online PIN tries left after the call.
    pub online_pin_tries_left: u8,
    /// The online PIN try limit.
    pub online_pin_try_limit: u8,
    /// Scripts waiting for the chip.
    pub pending_scripts: Vec<ScriptView>,
    /// What happened, in words.
    pub message: String,
    /// The recommended next step for the cardholder, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

/// What the host knows of the chip (from the CVRs and the script results it saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipView {
    /// Offline PIN blocked (PIN Try Limit exceeded), per the last CVR or script result.
    pub offline_pin_blocked: Option<bool>,
    /// The chip's PIN Try Counter, where the CVR carries it.
    pub pin_try_counter: Option<u8>,
    /// The chip's PIN Try Limit (provisioned).
    pub offline_pin_try_limit: u8,
    /// ATC of the last verified online request.
    pub last_online_atc: Option<u16>,
    /// The last IAD's CVR bytes (hex).
    pub last_cvr: Option<String>,
    /// When the chip was last seen online.
    pub last_seen_at: Option<String>,
}

/// The counters a transaction reads back (the host part of the outcome object,
/// ARCHITECTURE.md): the same values as [`CardView`]'s, without the rest of the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardSummary {
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Issuer status.
    pub card_status: CardStatus,
    /// Scripts pending or sent, not yet confirmed.
    pub pending_scripts: usize,
}

/// A card's state for the status API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    /// The PAN, masked.
    pub pan: String,
    /// PAN sequence number.
    pub psn: String,
    /// Application expiry YYMM.
    pub expiry: String,
    /// Cryptogram version.
    pub cvn: String,
    /// Issuer status.
    pub card_status: CardStatus,
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Online PIN try limit.
    pub online_pin_try_limit: u8,
    /// Whether the online PIN is blocked (every authorisation answers 75).
    pub online_pin_blocked: bool,
    /// How the PIN is verified.
    pub pin_verification: PinVerificationMethod,
    /// Open-to-buy in minor units.
    pub open_to_buy: u64,
    /// Account currency (ISO 4217 numeric).
    pub currency: u16,
    /// What the host knows of the chip.
    pub chip: ChipView,
    /// Number of scripts waiting for the chip (pending or sent, not confirmed).
    pub pending_scripts: usize,
    /// Their kinds.
    pub pending_script_kinds: Vec<ScriptKind>,
    /// The card's scripts, newest last (at most 20).
    pub scripts: Vec<ScriptView>,
    /// The plastics.
    pub plastics: Vec<Plastic>,
}

/// What a completion or reversal advice settled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdviceOutcome {
    /// Scripts the chip ran (now done).
    pub confirmed: Vec<String>,
    /// Scripts that failed or were not delivered (sent again next time).
    pub retry: Vec<String>,
    /// Script results naming no open script of this card.
    pub ignored: Vec<String>,
    /// Whether an approval was reversed.
    pub reversed: bool,
}

/// The issuer host service. Cheap to clone; clones share the store and keys.
#[derive(Clone)]
pub struct Issuer {
    db: Arc<Db>,
    keys: Arc<HostKeys>,
    /// Seeded source of new PINs (reproducible scenarios); `None`: the system RNG.
    pin_seed: Option<Arc<std::sync::Mutex<u64>>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer").finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------------------------
// Card rows

const CARD_COLUMNS: &str = "id, pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
     pin_len, online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, status, \
     open_to_buy, currency, last_online_atc, last_arqc, last_response, chip_pin_blocked, \
     chip_pin_try_counter, chip_cvr, chip_seen_at, pending_pin";

struct CardRow {
    id: i64,
    pan: String,
    psn: String,
    expiry: String,
    cvn: Cvn,
    icc_keys: String,
    pin: PinRecord,
    online_limit: u8,
    tries_left: u8,
    offline_limit: u8,
    status: CardStatus,
    open_to_buy: i64,
    currency: u16,
    last_online_atc: Option<u16>,
    last_arqc: Option<String>,
    last_response: Option<String>,
    chip_pin_blocked: Option<bool>,
    chip_ptc: Option<u8>,
    chip_cvr: Option<String>,
    chip_seen_at: Option<String>,
    pending_pin: Option<String>,
}

type RawCard = (
    (i64, String, String, String, String, String, String, u8),
    (String, u8, u8, u8, u8, String, i64, u16),
    (
        Option<u16>,
        Option<String>,
        Option<String>,
        Option<bool>,
        Option<u8>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
);

fn raw_card(r: &Row<'_>) -> rusqlite::Result<RawCard> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ),
        (
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
            r.get(15)?,
        ),
        (
            r.get(16)?,
            r.get(17)?,
            r.get(18)?,
            r.get(19)?,
            r.get(20)?,
            r.get(21)?,
            r.get(22)?,
            r.get(23)?,
        ),
    ))
}

impl CardRow {
    fn from_raw(raw: RawCard) -> Result<Self, Error> {
        let ((id, pan, psn, expiry, cvn, icc_keys, method, pvki), b, c) = raw;
        let (value, pin_len, online_limit, tries_left, offline_limit, status, otb, currency) = b;
        let (
            last_online_atc,
            last_arqc,
            last_response,
            chip_pin_blocked,
            chip_ptc,
            chip_cvr,
            chip_seen_at,
            pending_pin,
        ) = c;
        Ok(Self {
            id,
            pan,
            psn,
            expiry,
            cvn: cvn
                .parse()
                .map_err(|e: CryptoError| Error::Corrupt(e.to_string()))?,
            icc_keys,
            pin: PinRecord {
                method: method.parse()?,
                pvki,
                value,
                pin_len,
            },
            online_limit,
            tries_left,
            offline_limit,
            status: status.parse()?,
            open_to_buy: otb,
            currency,
            last_online_atc,
            last_arqc,
            last_response,
            chip_pin_blocked,
            chip_ptc,
            chip_cvr,
            chip_seen_at,
            pending_pin,
        })
    }
}

fn find_card(tx: &Transaction<'_>, card: &CardRef) -> Result<CardRow, Error> {
    // two statements rather than `(?2 IS NULL OR psn = ?2)`: SQLite (STAT4) re-prepares a
    // statement whose plan may depend on a bound value, on every execution
    let rows = match &card.psn {
        Some(psn) => tx
            .prepare_cached(&format!(
                "SELECT {CARD_COLUMNS} FROM cards WHERE pan = ?1 AND psn = ?2"
            ))?
            .query_map(params![card.pan, psn], raw_card)?
            .collect::<Result<Vec<_>, _>>()?,
        None => tx
            .prepare_cached(&format!(
                "SELECT {CARD_COLUMNS} FROM cards WHERE pan = ?1 ORDER BY psn LIMIT 3"
            ))?
            .query_map(params![card.pan], raw_card)?
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut rows = rows.into_iter();
    match (rows.next(), rows.next()) {
        (None, _) => Err(Error::UnknownCard {
            pan: mask_pan(&card.pan),
        }),
        (Some(one), None) => CardRow::from_raw(one),
        (Some(a), Some(b)) => Err(Error::AmbiguousCard {
            pan: mask_pan(&card.pan),
            psns: [a, b]
                .iter()
                .map(|r| r.0.2.clone())
                .chain(rows.map(|r| r.0.2))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn open_icc_keys(keys: &HostKeys, card: &CardRow) -> Result<IccKeys, Error> {
    let raw = keys.open(&card.icc_keys)?;
    if raw.len() != 48 {
        return Err(Error::Corrupt(
            "sealed ICC keys are not 3 x 16 bytes".into(),
        ));
    }
    Ok(IccKeys {
        ac: TdesKey::new(&raw[..16])?,
        smi: TdesKey::new(&raw[16..32])?,
        smc: TdesKey::new(&raw[32..])?,
    })
}

/// A card's open scripts. `INDEXED BY`: with the v2 index `scripts(card_id, id)` the
/// planner preferred it (no sort for `ORDER BY id`) and read every script the card ever
/// had on each authorisation; `scripts_open(card_id, state)` reads only the open ones.
pub(crate) const OPEN_SCRIPTS_SQL: &str = "SELECT id, kind, state, attempts, last_result FROM scripts \
     INDEXED BY scripts_open WHERE card_id = ?1 AND state IN ('pending', 'sent') ORDER BY id";

/// [`CardSummary`] in one statement: the card's counter and status, and the number of its
/// open scripts (through the same index as [`OPEN_SCRIPTS_SQL`]; one count per open state,
/// as `state IN (…)` would build a temporary b-tree for its list on every execution). Two
/// forms, as in [`find_card`]; without a PSN, a second row means the PAN alone is
/// ambiguous.
macro_rules! card_summary_sql {
    ($where:literal) => {
        concat!(
            "SELECT c.online_pin_tries_left, c.status, \
             (SELECT COUNT(*) FROM scripts INDEXED BY scripts_open \
              WHERE card_id = c.id AND state = 'pending') + \
             (SELECT COUNT(*) FROM scripts INDEXED BY scripts_open \
              WHERE card_id = c.id AND state = 'sent') \
             FROM cards c WHERE ",
            $where
        )
    };
}
const CARD_SUMMARY_SQL: &str = card_summary_sql!("c.pan = ?1 AND c.psn = ?2");
const CARD_SUMMARY_BY_PAN_SQL: &str = card_summary_sql!("c.pan = ?1 ORDER BY c.psn LIMIT 2");

fn summary_row(r: &rusqlite::Row<'_>) -> Result<CardSummary, Error> {
    let open: i64 = r.get(2)?;
    Ok(CardSummary {
        online_pin_tries_left: r.get(0)?,
        card_status: r
            .get_ref(1)?
            .as_str()
            .map_err(rusqlite::Error::from)?
            .parse()?,
        pending_scripts: usize::try_from(open).unwrap_or(0),
    })
}

fn load_scripts(
    tx: &Transaction<'_>,
    card_id: i64,
    open_only: bool,
) -> Result<Vec<(i64, ScriptView)>, Error> {
    let sql = if open_only {
        OPEN_SCRIPTS_SQL
    } else {
        "SELECT id, kind, state, attempts, last_result FROM \
         (SELECT * FROM scripts WHERE card_id = ?1 ORDER BY id DESC LIMIT 20) ORDER BY id"
    };
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt
        .query_map([card_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, kind, state, attempts, last_result)| {
            Ok((
                id,
                ScriptView {
                    script_id: hex::encode_upper(scripts::script_id(id)),
                    kind: kind.parse()?,
                    state: state.parse()?,
                    attempts,
                    last_result,
                },
            ))
        })
        .collect()
}

/// Queues a script for the chip. A PIN CHANGE also resets the PIN Try Counter
/// (emv-reference §3.4), so it supersedes open scripts; an unblock is not added next to
/// an open script.
fn queue_script(tx: &Transaction<'_>, card_id: i64, kind: ScriptKind) -> Result<(), Error> {
    match kind {
        ScriptKind::PinUnblock => {
            let open: i64 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM scripts WHERE card_id = ?1 AND state IN ('pending', 'sent')",
                )?
                .query_row([card_id], |r| r.get(0))?;
            if open > 0 {
                return Ok(());
            }
        }
        ScriptKind::PinChange => {
            tx.prepare_cached(
                "UPDATE scripts SET state = 'superseded' WHERE card_id = ?1 AND state IN ('pending', 'sent')",
            )?
            .execute([card_id])?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO scripts (card_id, kind, state, created_at) VALUES (?1, ?2, 'pending', ?3)",
    )?
    .execute(params![card_id, kind.name(), rfc3339(now_unix())])?;
    Ok(())
}

fn response(code: ResponseCode, reason: impl Into<String>) -> AuthResponse {
    AuthResponse {
        response_code: code,
        reason: reason.into(),
        auth_code: None,
        issuer_authentication_data: None,
        issuer_scripts: Vec::new(),
        online_pin: None,
    }
}

fn random_auth_code() -> Result<String, Error> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| Error::Io {
        context: "operating system RNG".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("{:06}", u32::from_be_bytes(b) % 1_000_000))
}

fn is_debit(t: TransactionType) -> bool {
    !matches!(t, TransactionType::Refund)
}

// ------------------------------------------------------------------------------------
// The service

impl Issuer {
    /// Opens (creating and migrating) the store in `data_dir` ([`store::DB_FILE`]), every
    /// answer on disk ([`SyncMode::Full`]).
    pub fn open(data_dir: &std::path::Path, keys: HostKeys) -> Result<Self, Error> {
        Self::open_with(data_dir, keys, SyncMode::Full)
    }

    /// [`Issuer::open`] with a chosen [`SyncMode`].
    pub fn open_with(
        data_dir: &std::path::Path,
        keys: HostKeys,
        sync: SyncMode,
    ) -> Result<Self, Error> {
        Self::start(
            store::open_connection(Some(&store::db_path(data_dir)?), sync)?,
            keys,
        )
    }

    /// Opens (creating and migrating) the store at a database file path.
    pub fn open_file(path: &std::path::Path, keys: HostKeys) -> Result<Self, Error> {
        Self::start(store::open_connection(Some(path), SyncMode::Full)?, keys)
    }

    /// A service over a private in-memory store (tests, demos; nothing is durable).
    pub fn in_memory(keys: HostKeys) -> Result<Self, Error> {
        Self::start(store::open_connection(None, SyncMode::Full)?, keys)
    }

    fn start(conn: rusqlite::Connection, keys: HostKeys) -> Result<Self, Error> {
        Ok(Self {
            db: Arc::new(Db::new(conn)),
            keys: Arc::new(keys),
            pin_seed: None,
        })
    }

    /// Makes the PINs that "reset PIN (new)" generates a reproducible sequence from
    /// `seed` instead of the system RNG: for scenarios and their recorded traces only.
    pub fn with_pin_seed(mut self, seed: u64) -> Self {
        self.pin_seed = Some(Arc::new(std::sync::Mutex::new(seed)));
        self
    }

    /// The host's keys.
    pub fn keys(&self) -> &HostKeys {
        &self.keys
    }

    /// Provisions a card, or refreshes an existing one (same PAN and PSN) keeping its PIN,
    /// counters, balance, chip knowledge and scripts unless `reset`.
    pub fn provision(&self, p: &CardProvision, reset: bool) -> Result<ProvisionOutcome, Error> {
        p.validate()?;
        let prov = |what: &str, e: CryptoError| Error::Provision(format!("{what}: {e}"));
        let imk = |what: &str, s: &crate::keys::Secret| {
            TdesKey::from_hex(s.expose()).map_err(|e| prov(what, e))
        };
        let icc = IccKeys::derive(
            p.cvn,
            &imk("imk_ac", &p.imk_ac)?,
            &imk("imk_smi", &p.imk_smi)?,
            &imk("imk_smc", &p.imk_smc)?,
            &p.pan,
            Some(&p.psn),
        )
        .map_err(|e| prov("ICC master keys", e))?;
        let mut blob = Zeroizing::new(Vec::with_capacity(48));
        for k in [&icc.ac, &icc.smi, &icc.smc] {
            if k.byte_len() != 16 {
                return Err(Error::Provision(
                    "issuer master keys must be double-length TDES".into(),
                ));
            }
            blob.extend_from_slice(k.as_bytes());
        }
        let sealed = self.keys.seal(&blob)?;
        let pin = Pin::new(p.pin.expose()).map_err(|e| prov("pin", e))?;
        let pvki = p.pvki.unwrap_or(self.keys.default_pvki());
        let record = PinRecord::new(&self.keys, &p.pan, p.pin_verification, pvki, &pin)?;
        drop(pin);
        let otb = i64::try_from(p.open_to_buy)
            .map_err(|_| Error::Provision("open_to_buy is too large".into()))?;
        let p = p.clone();
        self.db.call(move |tx| {
            let now = rfc3339(now_unix());
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM cards WHERE pan = ?1 AND psn = ?2",
                    params![p.pan, p.psn],
                    |r| r.get(0),
                )
                .optional()?;
            let (card_id, outcome) = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO cards (pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
                         pin_len, online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, \
                         status, open_to_buy, currency, created_at, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
                        params![
                            p.pan, p.psn, p.expiry, p.cvn.name(), sealed, record.method.name(),
                            record.pvki, record.value, record.pin_len, p.online_pin_try_limit,
                            p.offline_pin_try_limit, p.status.name(), otb, p.currency, now
                        ],
                    )?;
                    (tx.last_insert_rowid(), ProvisionOutcome::Created)
                }
                Some(id) if !reset => {
                    tx.execute(
                        "UPDATE cards SET expiry = ?2, cvn = ?3, icc_keys = ?4, online_pin_try_limit = ?5, \
                         online_pin_tries_left = MIN(online_pin_tries_left, ?5), offline_pin_try_limit = ?6, \
                         currency = ?7, updated_at = ?8 WHERE id = ?1",
                        params![id, p.expiry, p.cvn.name(), sealed, p.online_pin_try_limit,
                                p.offline_pin_try_limit, p.currency, now],
                    )?;
                    (id, ProvisionOutcome::Updated)
                }
                Some(id) => {
                    tx.execute(
                        "UPDATE cards SET expiry = ?2, cvn = ?3, icc_keys = ?4, pin_method = ?5, pvki = ?6, \
                         pin_value = ?7, pin_len = ?8, online_pin_try_limit = ?9, online_pin_tries_left = ?9, \
                         offline_pin_try_limit = ?10, status = ?11, open_to_buy = ?12, currency = ?13, \
                         last_online_atc = NULL, last_arqc = NULL, last_response = NULL, \
                         chip_pin_blocked = NULL, chip_pin_try_counter = NULL, chip_cvr = NULL, \
                         chip_seen_at = NULL, pending_pin = NULL, updated_at = ?14 WHERE id = ?1",
                        params![id, p.expiry, p.cvn.name(), sealed, record.method.name(), record.pvki,
                                record.value, record.pin_len, p.online_pin_try_limit,
                                p.offline_pin_try_limit, p.status.name(), otb, p.currency, now],
                    )?;
                    tx.execute(
                        "UPDATE scripts SET state = 'superseded' WHERE card_id = ?1 AND state IN ('pending', 'sent')",
                        [id],
                    )?;
                    tx.execute("DELETE FROM plastics WHERE card_id = ?1", [id])?;
                    (id, ProvisionOutcome::Reset)
                }
            };
            for pl in &p.plastics {
                let owner: Option<i64> = tx
                    .query_row(
                        "SELECT card_id FROM plastics WHERE plastic_id = ?1",
                        [&pl.plastic_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                match owner {
                    Some(o) if o != card_id => {
                        return Err(Error::Provision(format!(
                            "plasticId {} belongs to another card",
                            pl.plastic_id
                        )));
                    }
                    // an existing plastic keeps the status the issuer gave it since
                    Some(_) => tx.execute(
                        "UPDATE plastics SET expiry = ?2 WHERE plastic_id = ?1",
                        params![pl.plastic_id, pl.expiry],
                    )?,
                    None => tx.execute(
                        "INSERT INTO plastics (card_id, plastic_id, expiry, status) VALUES (?1, ?2, ?3, ?4)",
                        params![card_id, pl.plastic_id, pl.expiry, pl.status.name()],
                    )?,
                };
            }
            let action = match outcome {
                ProvisionOutcome::Created => "provision-create",
                ProvisionOutcome::Updated => "provision-update",
                ProvisionOutcome::Reset => "provision-reset",
            };
            audit::record(tx, "provisioning", action, &p.pan, &p.psn, "ok")?;
            Ok(outcome)
        })
    }

    /// Authorises a request (see the module documentation for the rules).
    pub fn authorise(&self, req: &AuthRequest) -> Result<AuthResponse, Error> {
        let card = CardRef::new(req.pan.clone(), req.psn.as_deref());
        card.check()?;
        let chip = chip::parse(&req.icc_data)?;
        if let Some(c) = &chip {
            // the ARQC covers 9F02 and 5F2A: DE 4 / DE 49 must say the same
            if c.amount != req.amount {
                return Err(Error::BadRequest(format!(
                    "amount {} (DE 4) differs from 9F02 {} in the ICC data, which the ARQC covers",
                    req.amount, c.amount
                )));
            }
            if c.currency != req.currency {
                return Err(Error::BadRequest(format!(
                    "currency {} (DE 49) differs from 5F2A {:03} in the ICC data",
                    req.currency, c.currency
                )));
            }
            if let (Some(a), Some(b)) = (&req.psn, &c.psn)
                && a != b
            {
                return Err(Error::BadRequest(format!(
                    "PSN {a} (DE 23) differs from 5F34 {b} in the ICC data"
                )));
            }
        }
        if let Some(e) = &req.expiry {
            check_yymm("expiry (DE 14)", e)?;
        }
        // decrypt the PIN before the transaction: a bad block changes nothing
        let pin = req
            .pin
            .as_ref()
            .map(|p| pin::decrypt_terminal_pin(&self.keys, &req.pan, p))
            .transpose()?;
        let card = CardRef {
            psn: card
                .psn
                .or_else(|| chip.as_ref().and_then(|c| c.psn.clone())),
            ..card
        };
        let keys = Arc::clone(&self.keys);
        let req = req.clone();
        let resp = self
            .db
            .call(move |tx| authorise_in(tx, &keys, &req, &card, chip.as_ref(), pin.as_ref()))?;
        Ok(resp)
    }

    /// Takes a completion or reversal advice: settles the scripts its 9F5B reports
    /// (EMV 4.4 Book 4 §6.3.9, Annex A5) and, for a reversal, undoes the approval.
    pub fn advise(&self, advice: &Advice) -> Result<AdviceOutcome, Error> {
        let card = CardRef::new(advice.pan.clone(), advice.psn.as_deref());
        card.check()?;
        let list =
            emv_tlv::parse_all(&advice.icc_data).map_err(|e| Error::IccData(e.to_string()))?;
        let results = match emv_tlv::find(&list, emv_tlv::Tag::new(0x9F5B)) {
            Some(t) => scripts::parse_results(t.value())?,
            None => Vec::new(),
        };
        let advice = advice.clone();
        self.db
            .call(move |tx| advise_in(tx, &advice, &card, &results))
    }

    /// The card's state: counters, what the host knows of the chip, scripts, plastics.
    pub fn card_status(&self, card: &CardRef) -> Result<CardView, Error> {
        card.check()?;
        self.db.read(|tx| card_view(tx, &find_card(tx, card)?))
    }

    /// The card's online PIN counter, status and number of open scripts: what a session
    /// reads back after every transaction, at a fraction of [`Self::card_status`]'s cost.
    pub fn card_summary(&self, card: &CardRef) -> Result<CardSummary, Error> {
        card.check()?;
        let found = self.db.query(|conn| {
            let (mut stmt, psn) = match &card.psn {
                Some(psn) => (conn.prepare_cached(CARD_SUMMARY_SQL)?, Some(psn)),
                None => (conn.prepare_cached(CARD_SUMMARY_BY_PAN_SQL)?, None),
            };
            let mut rows = match psn {
                Some(psn) => stmt.query(params![card.pan, psn])?,
                None => stmt.query(params![card.pan])?,
            };
            let first = rows.next()?.map(summary_row).transpose()?;
            // without a PSN, a second card with the same PAN makes the reference ambiguous
            let ambiguous = psn.is_none() && rows.next()?.is_some();
            Ok(if ambiguous { None } else { first })
        })?;
        match found {
            Some(summary) => Ok(summary),
            // unknown or ambiguous: `find_card` answers with the error that says which (or,
            // if the card was provisioned meanwhile, the full view has the same values)
            None => self.db.read(|tx| {
                let v = card_view(tx, &find_card(tx, card)?)?;
                Ok(CardSummary {
                    online_pin_tries_left: v.online_pin_tries_left,
                    card_status: v.card_status,
                    pending_scripts: v.pending_scripts,
                })
            }),
        }
    }

    /// The card's plastics.
    pub fn plastics(&self, card: &CardRef) -> Result<Vec<Plastic>, Error> {
        Ok(self.card_status(card)?.plastics)
    }

    /// Unblock PIN (emv-reference §4.8, CLOWD9 "Unblock PIN API"): resets the online
    /// counter and queues a PIN UNBLOCK script for the chip's next online authorisation.
    pub fn unblock_pin(&self, card: &CardRef, actor: &str) -> Result<PinOutcome, Error> {
        card.check()?;
        let (card, actor) = (card.clone(), actor.to_string());
        self.db.call(move |tx| {
            let c = find_card(tx, &card)?;
            reset_online_counter(tx, &c)?;
            queue_script(tx, c.id, ScriptKind::PinUnblock)?;
            audit::record(tx, &actor, "pin-unblock", &c.pan, &c.psn, "ok")?;
            pin_outcome(
                tx,
                &c,
                "pin-unblock",
                "online PIN counter reset; a PIN UNBLOCK script is queued for the chip's next online authorisation",
                Some(
                    "Make an ATM transaction with the card (online PIN): it delivers the unblock \
                     script to the chip. At a merchant terminal the first transaction may still be declined.",
                ),
            )
        })
    }

    /// Reset PIN: `New` generates a random PIN (kept only as verification data and,
    /// encrypted, for the pending PIN CHANGE script; read it through View PIN), `Keep`
    /// only resets the online counter (MISSION.md "Keeping offline and online in step",
    /// case 1).
    pub fn reset_pin(
        &self,
        card: &CardRef,
        mode: PinResetMode,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        card.check()?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        let pin_seed = self.pin_seed.clone();
        self.db.call(move |tx| {
            let c = find_card(tx, &card)?;
            match mode {
                PinResetMode::Keep => {
                    reset_online_counter(tx, &c)?;
                    audit::record(tx, &actor, "pin-reset-keep", &c.pan, &c.psn, "ok")?;
                    pin_outcome(tx, &c, "pin-reset", "online PIN counter reset; the PIN is unchanged", None)
                }
                PinResetMode::New => {
                    let len = usize::from(c.pin.pin_len).clamp(4, 12);
                    let new_pin = match &pin_seed {
                        Some(m) => {
                            let mut state = m.lock().map_err(|_| {
                                Error::Corrupt("PIN generator lock poisoned".into())
                            })?;
                            pin::random_pin_from(len, Some(&mut state))?
                        }
                        None => pin::random_pin(len)?,
                    };
                    set_new_pin(tx, &keys, &c, &new_pin)?;
                    audit::record(tx, &actor, "pin-reset-new", &c.pan, &c.psn, "ok")?;
                    pin_outcome(
                        tx,
                        &c,
                        "pin-reset",
                        "a new PIN was generated; it can be read only through View PIN, and a PIN CHANGE \
                         script is queued for the chip",
                        Some(
                            "Show the cardholder the new PIN through View PIN, then make an ATM \
                             transaction with it: that writes the new PIN to the chip.",
                        ),
                    )
                }
            }
        })
    }

    /// Change PIN: the new PIN arrives as an encrypted PIN block (format 0 or 4 under a
    /// terminal/zone key), never in clear; trivial PINs are refused (and audited).
    pub fn change_pin(
        &self,
        card: &CardRef,
        new_pin: &PinData,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        card.check()?;
        let pin = pin::decrypt_terminal_pin(&self.keys, &card.pan, new_pin)?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        self.db.call(move |tx| {
            let c = find_card(tx, &card)?;
            change_pin_in(tx, &keys, &c, &pin, &actor, "pin-change")
        })?
    }

    /// Blocks (`Blocked`: every authorisation answers 62) or unblocks the card.
    pub fn set_card_status(
        &self,
        card: &CardRef,
        status: CardStatus,
        actor: &str,
    ) -> Result<CardView, Error> {
        card.check()?;
        let (card, actor) = (card.clone(), actor.to_string());
        self.db.call(move |tx| {
            let c = find_card(tx, &card)?;
            tx.prepare_cached("UPDATE cards SET status = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![c.id, status.name(), rfc3339(now_unix())])?;
            let action = match status {
                CardStatus::Blocked => "block-card",
                CardStatus::Active => "unblock-card",
            };
            audit::record(tx, &actor, action, &c.pan, &c.psn, "ok")?;
            card_view(tx, &find_card(tx, &card)?)
        })
    }

    /// The cardholder's current PIN, for the View PIN service (issue 7) only: the new PIN
    /// while its PIN CHANGE script is pending, else what the verification data allows
    /// (IBM 3624 offset, encrypted PIN; a PVV is one-way). Audited; never log the result.
    pub fn reveal_pin(&self, card: &CardRef, actor: &str) -> Result<Pin, Error> {
        card.check()?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        self.db.call(move |tx| {
            let c = find_card(tx, &card)?;
            reveal_in(tx, &keys, &c, &actor, "pin-reveal")
        })?
    }

    /// The plastic `plastic_id`: its card and status; records `action` with `outcome` in
    /// the audit (PIN Control API, emv-reference §7.1: only the plasticId is validated).
    pub(crate) fn plastic_event(
        &self,
        plastic_id: &str,
        actor: &str,
        action: &str,
        outcome: &str,
    ) -> Result<PlasticStatus, Error> {
        let (id, actor, action, outcome) = (
            plastic_id.to_string(),
            actor.to_string(),
            action.to_string(),
            outcome.to_string(),
        );
        self.db.call(move |tx| {
            let (c, status) = find_plastic(tx, &id)?;
            audit::record(tx, &actor, &action, &c.pan, &c.psn, &outcome)?;
            Ok(status)
        })
    }

    /// View PIN by plastic (the PIN Control service): like [`Issuer::reveal_pin`].
    pub(crate) fn reveal_pin_by_plastic(
        &self,
        plastic_id: &str,
        actor: &str,
    ) -> Result<Pin, Error> {
        let (id, actor, keys) = (
            plastic_id.to_string(),
            actor.to_string(),
            Arc::clone(&self.keys),
        );
        self.db.call(move |tx| {
            let (c, _) = find_plastic(tx, &id)?;
            reveal_in(tx, &keys, &c, &actor, "pin-control-view")
        })?
    }

    /// Set PIN by plastic (the PIN Control service): the change-PIN path with a PIN the
    /// device encrypted to the service (policy check, new verification data, PIN CHANGE
    /// script queued for the chip's next online authorisation).
    pub(crate) fn set_pin_by_plastic(
        &self,
        plastic_id: &str,
        pin: Pin,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        let (id, actor, keys) = (
            plastic_id.to_string(),
            actor.to_string(),
            Arc::clone(&self.keys),
        );
        self.db.call(move |tx| {
            let (c, _) = find_plastic(tx, &id)?;
            change_pin_in(tx, &keys, &c, &pin, &actor, "pin-control-set")
        })?
    }

    /// The newest `limit` audit records, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT at, actor, action, pan_masked, psn, outcome FROM audit ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok(AuditEntry {
                        at: r.get(0)?,
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        pan: r.get(3)?,
                        psn: r.get(4)?,
                        outcome: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

impl Host for Issuer {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        Issuer::authorise(self, request).map_err(HostError::from)
    }

    fn advise(&mut self, advice: &Advice) -> Result<(), HostError> {
        Issuer::advise(self, advice)
            .map(|_| ())
            .map_err(HostError::from)
    }
}

fn decode_hex(h: &str) -> Result<Vec<u8>, Error> {
    hex::decode(h).map_err(|_| Error::Corrupt("stored value is not hex".into()))
}

/// The card and status of a plastic (unknown → [`Error::UnknownPlastic`]).
fn find_plastic(tx: &Transaction<'_>, plastic_id: &str) -> Result<(CardRow, PlasticStatus), Error> {
    let row: Option<(String, String, String)> = tx
        .prepare_cached(
            "SELECT c.pan, c.psn, p.status FROM plastics p JOIN cards c ON c.id = p.card_id \
             WHERE p.plastic_id = ?1",
        )?
        .query_row([plastic_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((pan, psn, status)) = row else {
        return Err(Error::UnknownPlastic(plastic_id.to_string()));
    };
    let c = find_card(tx, &CardRef::new(pan, Some(&psn)))?;
    Ok((c, status.parse()?))
}

/// The current PIN (the pending new PIN first, else what the verification data allows),
/// audited as `action` (never the PIN).
fn reveal_in(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    c: &CardRow,
    actor: &str,
    action: &str,
) -> Result<Result<Pin, Error>, Error> {
    let pin = match &c.pending_pin {
        Some(h) => Some(pin::open_pin(keys, &c.pan, &decode_hex(h)?)?),
        None => c.pin.recover(keys, &c.pan)?,
    };
    let outcome = if pin.is_some() {
        "ok"
    } else {
        "refused: PIN not recoverable"
    };
    audit::record(tx, actor, action, &c.pan, &c.psn, outcome)?;
    Ok(pin.ok_or_else(|| {
        Error::PinNotRecoverable(format!(
            "the host keeps only a {} for this card and no PIN change is pending",
            c.pin.method.name()
        ))
    }))
}

/// A new PIN chosen by the cardholder: PIN policy (refusal audited and committed), new
/// verification data, PIN CHANGE script queued (MISSION.md "Keeping offline and online in
/// step"). The inner `Err` is the refusal.
fn change_pin_in(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    c: &CardRow,
    pin: &Pin,
    actor: &str,
    action: &str,
) -> Result<Result<PinOutcome, Error>, Error> {
    if let Err(e) = pin::check_pin_policy(pin) {
        // the refusal is audited and committed; the caller gets the error
        audit::record(tx, actor, action, &c.pan, &c.psn, "refused: weak PIN")?;
        return Ok(Err(e));
    }
    set_new_pin(tx, keys, c, pin)?;
    audit::record(tx, actor, action, &c.pan, &c.psn, "ok")?;
    pin_outcome(
        tx,
        c,
        "pin-change",
        "the PIN was changed on the host; a PIN CHANGE script is queued for the chip",
        Some("Make an ATM transaction with the new PIN: that writes it to the chip."),
    )
    .map(Ok)
}

fn reset_online_counter(tx: &Transaction<'_>, c: &CardRow) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE cards SET online_pin_tries_left = online_pin_try_limit, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![c.id, rfc3339(now_unix())])?;
    Ok(())
}

/// New PIN on the host: new verification data, the PIN kept encrypted for the PIN CHANGE
/// script while it is pending, online counter reset.
fn set_new_pin(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    c: &CardRow,
    new_pin: &Pin,
) -> Result<(), Error> {
    let record = PinRecord::new(keys, &c.pan, c.pin.method, c.pin.pvki, new_pin)?;
    let pending = hex::encode_upper(pin::seal_pin(keys, &c.pan, new_pin)?);
    tx.prepare_cached(
        "UPDATE cards SET pin_value = ?2, pin_len = ?3, pending_pin = ?4, \
         online_pin_tries_left = online_pin_try_limit, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![
        c.id,
        record.value,
        record.pin_len,
        pending,
        rfc3339(now_unix())
    ])?;
    queue_script(tx, c.id, ScriptKind::PinChange)
}

fn pin_outcome(
    tx: &Transaction<'_>,
    c: &CardRow,
    action: &str,
    message: &str,
    next_step: Option<&str>,
) -> Result<PinOutcome, Error> {
    let tries: u8 = tx
        .prepare_cached("SELECT online_pin_tries_left FROM cards WHERE id = ?1")?
        .query_row([c.id], |r| r.get(0))?;
    Ok(PinOutcome {
        action: action.into(),
        online_pin_tries_left: tries,
        online_pin_try_limit: c.online_limit,
        pending_scripts: load_scripts(tx, c.id, true)?
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
        message: message.into(),
        next_step: next_step.map(str::to_string),
    })
}

fn card_view(tx: &Transaction<'_>, c: &CardRow) -> Result<CardView, Error> {
    // the 20 newest scripts for the history; every open one for the pending count, which
    // must not miss an old script still waiting (and agrees with `card_summary`'s)
    let all = load_scripts(tx, c.id, false)?;
    let open = load_scripts(tx, c.id, true)?;
    let mut stmt = tx.prepare_cached(
        "SELECT plastic_id, expiry, status FROM plastics WHERE card_id = ?1 ORDER BY expiry, plastic_id",
    )?;
    let plastics = stmt
        .query_map([c.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|(plastic_id, expiry, status)| {
            Ok(Plastic {
                plastic_id,
                expiry,
                status: status.parse()?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(CardView {
        pan: mask_pan(&c.pan),
        psn: c.psn.clone(),
        expiry: c.expiry.clone(),
        cvn: c.cvn.name().into(),
        card_status: c.status,
        online_pin_tries_left: c.tries_left,
        online_pin_try_limit: c.online_limit,
        online_pin_blocked: c.tries_left == 0,
        pin_verification: c.pin.method,
        open_to_buy: u64::try_from(c.open_to_buy).unwrap_or(0),
        currency: c.currency,
        chip: ChipView {
            offline_pin_blocked: c.chip_pin_blocked,
            pin_try_counter: c.chip_ptc,
            offline_pin_try_limit: c.offline_limit,
            last_online_atc: c.last_online_atc,
            last_cvr: c.chip_cvr.clone(),
            last_seen_at: c.chip_seen_at.clone(),
        },
        pending_scripts: open.len(),
        pending_script_kinds: open.iter().map(|(_, v)| v.kind).collect(),
        scripts: all.iter().map(|(_, v)| v.clone()).collect(),
        plastics,
    })
}

// ------------------------------------------------------------------------------------
// Authorisation

/// The decision before scripts and ARPC.
struct Decision {
    code: ResponseCode,
    reason: String,
    online_pin: Option<OnlinePinResult>,
}

impl Decision {
    fn new(
        code: ResponseCode,
        reason: impl Into<String>,
        online_pin: Option<OnlinePinResult>,
    ) -> Self {
        Self {
            code,
            reason: reason.into(),
            online_pin,
        }
    }
}

fn authorise_in(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    req: &AuthRequest,
    card_ref: &CardRef,
    chip: Option<&ChipData>,
    pin: Option<&Pin>,
) -> Result<AuthResponse, Error> {
    let card = match find_card(tx, card_ref) {
        Ok(c) => c,
        // ISO 8583 DE 39 14 (emv-reference §6.4)
        Err(Error::UnknownCard { .. }) => {
            return Ok(response(
                ResponseCode::INVALID_CARD_NUMBER,
                "no card with this PAN (and PSN) at this issuer",
            ));
        }
        Err(e) => return Err(e),
    };
    let now = now_unix();
    let mut icc_keys = None;
    if let Some(c) = chip {
        // retransmission of the last verified request: the same answer, nothing changes
        if card.last_online_atc == Some(c.atc)
            && card.last_arqc.as_deref() == Some(hex::encode_upper(c.arqc).as_str())
            && let Some(json) = &card.last_response
        {
            return serde_json::from_str(json)
                .map_err(|e| Error::Corrupt(format!("stored response: {e}")));
        }
        // EMV 4.4 Book 3 §6.5.5.4: an online request carries an ARQC
        if !c.is_arqc() {
            let d = Decision::new(
                ResponseCode::DO_NOT_HONOUR,
                format!("the cryptogram is not an ARQC (CID {:02X})", c.cid),
                None,
            );
            return finish(tx, keys, req, &card, Some(c), None, d, now);
        }
        let k = open_icc_keys(keys, &card)?;
        // EMV 4.4 Book 2 §8.1; emv_crypto compares in constant time
        match verify_ac(card.cvn, &k.ac, &c.ac_inputs(), &c.arqc) {
            Ok(()) => {}
            Err(CryptoError::VerificationFailed(_)) => {
                let d = Decision::new(
                    ResponseCode::DO_NOT_HONOUR,
                    format!("ARQC verification failed for {} (ATC {})", card.cvn, c.atc),
                    None,
                );
                return finish(tx, keys, req, &card, Some(c), None, d, now);
            }
            Err(e) => return Err(Error::IccData(e.to_string())),
        }
        // the ATC increments with every transaction: not above the last online ATC = replay
        if let Some(last) = card.last_online_atc
            && c.atc <= last
        {
            let d = Decision::new(
                ResponseCode::DO_NOT_HONOUR,
                format!(
                    "ATC replay: ATC {} is not above the last online ATC {last}",
                    c.atc
                ),
                None,
            );
            return finish(tx, keys, req, &card, Some(c), Some(&k), d, now);
        }
        // learn the chip's offline PIN state from the CVR (emv-reference §3.5)
        let st = chip::pin_state(card.cvn, &c.iad);
        let cvr = emv_tlv::bits::Iad::detect(&c.iad).map(|i| hex::encode_upper(i.cvr()));
        tx.prepare_cached(
            "UPDATE cards SET last_online_atc = ?2, last_arqc = ?3, \
             chip_pin_blocked = COALESCE(?4, chip_pin_blocked), \
             chip_pin_try_counter = COALESCE(?5, chip_pin_try_counter), chip_cvr = ?6, chip_seen_at = ?7 \
             WHERE id = ?1",
        )?
        .execute(params![
            card.id,
            c.atc,
            hex::encode_upper(c.arqc),
            st.offline_pin_blocked,
            st.pin_try_counter,
            cvr,
            rfc3339(now)
        ])?;
        icc_keys = Some(k);
    }
    let d = decide(tx, keys, req, &card, chip, pin, now)?;
    finish(tx, keys, req, &card, chip, icc_keys.as_ref(), d, now)
}

/// Rules 5-9 of the module documentation.
fn decide(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    req: &AuthRequest,
    card: &CardRow,
    chip: Option<&ChipData>,
    pin: Option<&Pin>,
    now: i64,
) -> Result<Decision, Error> {
    let pin_blocked = pin.map(|_| OnlinePinResult::Blocked);
    // emv-reference §6.4: 62 restricted card
    if card.status == CardStatus::Blocked {
        return Ok(Decision::new(
            ResponseCode::RESTRICTED_CARD,
            "the card is blocked by the issuer",
            None,
        ));
    }
    // MISSION.md "Online PIN": past the limit every authorisation is declined 75
    if card.tries_left == 0 {
        return Ok(Decision::new(
            ResponseCode::PIN_TRIES_EXCEEDED,
            format!(
                "online PIN blocked after {} wrong PINs: every authorisation is declined until the PIN \
                 is reset through the PIN management API",
                card.online_limit
            ),
            pin_blocked,
        ));
    }
    // expiry: DE 14, else 5F24, else the card's; a plastic with that expiry must be ACTIVE
    let expiry = req
        .expiry
        .clone()
        .or_else(|| chip.and_then(|c| c.expiry.clone()))
        .unwrap_or_else(|| card.expiry.clone());
    let plastics: Vec<(String, String)> = tx
        .prepare_cached(
            "SELECT plastic_id, status FROM plastics WHERE card_id = ?1 AND expiry = ?2",
        )?
        .query_map(params![card.id, expiry], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let active = PlasticStatus::Active.name();
    if !plastics.is_empty() && !plastics.iter().any(|(_, s)| s == active) {
        let (id, status) = &plastics[0];
        return Ok(Decision::new(
            ResponseCode::RESTRICTED_CARD,
            format!("plastic {id} (expiry {expiry}) is {status}"),
            None,
        ));
    }
    if plastics.is_empty() && expiry != card.expiry {
        return Ok(Decision::new(
            ResponseCode::EXPIRED_CARD,
            format!("expiry {expiry} matches neither the card nor any of its plastics"),
            None,
        ));
    }
    let (y, m) = check_yymm("expiry", &expiry)?;
    // a card is valid to the end of its expiry month (EMV 4.4 Book 3 Annex A, 5F24)
    if (y, m) < year_month(now) {
        return Ok(Decision::new(
            ResponseCode::EXPIRED_CARD,
            format!("the card expired at the end of {expiry} (YYMM)"),
            None,
        ));
    }
    let mut online_pin = None;
    if let Some(pin) = pin {
        // dependencies.md §5 / MISSION.md: decrement before verifying, in this transaction
        let n = tx
            .prepare_cached(
                "UPDATE cards SET online_pin_tries_left = online_pin_tries_left - 1 \
                 WHERE id = ?1 AND online_pin_tries_left > 0",
            )?
            .execute([card.id])?;
        if n != 1 {
            return Ok(Decision::new(
                ResponseCode::PIN_TRIES_EXCEEDED,
                "online PIN blocked",
                pin_blocked,
            ));
        }
        if card.pin.verify(keys, &card.pan, pin)? {
            // a correct PIN resets the counter (it was not 0: checked above)
            tx.prepare_cached(
                "UPDATE cards SET online_pin_tries_left = online_pin_try_limit WHERE id = ?1",
            )?
            .execute([card.id])?;
            online_pin = Some(OnlinePinResult::Verified);
        } else {
            let left = card.tries_left - 1;
            let reason = if left == 0 {
                format!(
                    "incorrect PIN: the online PIN is now blocked ({} wrong PINs)",
                    card.online_limit
                )
            } else {
                format!("incorrect PIN: {left} online PIN tries left")
            };
            return Ok(Decision::new(
                ResponseCode::INCORRECT_PIN,
                reason,
                Some(OnlinePinResult::Incorrect),
            ));
        }
    }
    // a simple open-to-buy (emv-reference §6.4: 51); minor units, no currency conversion
    let amount = i64::try_from(req.amount).unwrap_or(i64::MAX);
    if is_debit(req.transaction_type) {
        if amount > card.open_to_buy {
            return Ok(Decision::new(
                ResponseCode::INSUFFICIENT_FUNDS,
                format!(
                    "open-to-buy {} is less than the amount {}",
                    card.open_to_buy, req.amount
                ),
                online_pin,
            ));
        }
        tx.prepare_cached("UPDATE cards SET open_to_buy = open_to_buy - ?2 WHERE id = ?1")?
            .execute(params![card.id, amount])?;
    } else {
        tx.prepare_cached("UPDATE cards SET open_to_buy = open_to_buy + ?2 WHERE id = ?1")?
            .execute(params![card.id, amount])?;
    }
    Ok(Decision::new(
        ResponseCode::APPROVED,
        "approved",
        online_pin,
    ))
}

/// Scripts, ARPC, journal: the answer.
#[allow(clippy::too_many_arguments)]
fn finish(
    tx: &Transaction<'_>,
    keys: &HostKeys,
    req: &AuthRequest,
    card: &CardRow,
    chip: Option<&ChipData>,
    icc_keys: Option<&IccKeys>,
    d: Decision,
    now: i64,
) -> Result<AuthResponse, Error> {
    let approved = d.code.is_approved();
    let mut resp = response(d.code, d.reason);
    resp.online_pin = d.online_pin;
    if approved {
        resp.auth_code = Some(random_auth_code()?);
    }
    if let (Some(c), Some(k)) = (chip, icc_keys) {
        let mut unblock_due = false;
        if approved {
            // MISSION.md case 2: online PIN verified and the chip's offline PIN is blocked
            let chip_blocked = chip::pin_state(card.cvn, &c.iad).offline_pin_blocked;
            if d.online_pin == Some(OnlinePinResult::Verified) && chip_blocked == Some(true) {
                queue_script(tx, card.id, ScriptKind::PinUnblock)?;
            }
            let pending_pin = card.pending_pin.as_deref().map(decode_hex).transpose()?;
            let mut total = 0;
            for (id, s) in load_scripts(tx, card.id, true)? {
                let new_pin = match (&pending_pin, s.kind) {
                    (Some(b), ScriptKind::PinChange) => Some(pin::open_pin(keys, &card.pan, b)?),
                    _ => None,
                };
                let t = scripts::build_template(
                    k,
                    card.cvn,
                    c,
                    scripts::script_id(id),
                    s.kind,
                    new_pin.as_ref(),
                )?;
                // EMV 4.4 Book 4 §6.3.9: at most 128 bytes of scripts; the rest waits
                if total + t.len() > MAX_SCRIPTS_LEN {
                    break;
                }
                total += t.len();
                resp.issuer_scripts.push(t);
                unblock_due = true;
                tx.prepare_cached(
                    "UPDATE scripts SET state = 'sent', attempts = attempts + 1, sent_at = ?2, \
                     sent_atc = ?3, sent_stan = ?4 WHERE id = ?1",
                )?
                .execute(params![id, rfc3339(now), c.atc, req.stan])?;
            }
        }
        // EMV 4.4 Book 2 §8.2: ARPC method 1 carries the ARC, method 2 a CSU (Annex C10)
        let arpc_response = match card.cvn.arpc_method() {
            ArpcMethod::Method1 => ArpcResponse::Arc(d.code.to_arc()),
            ArpcMethod::Method2 => {
                let csu = match (approved, unblock_due) {
                    (true, true) => Csu::approve_and_reset_ptc(card.offline_limit),
                    (true, false) => Csu {
                        approved: true,
                        ..Csu::default()
                    },
                    (false, _) => Csu::default(),
                };
                ArpcResponse::Csu {
                    csu: csu.to_bytes(),
                    proprietary: Vec::new(),
                }
            }
        };
        let arpc = generate_arpc(card.cvn, &k.ac, c.atc, &c.un, &c.arqc, &arpc_response)?;
        resp.issuer_authentication_data = Some(arpc.issuer_authentication_data);
    }
    tx.prepare_cached(
        "INSERT INTO authorisations (card_id, at, stan, channel, transaction_type, atc, amount, \
         response_code, reason, online_pin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        card.id,
        rfc3339(now),
        req.stan,
        req.channel.name(),
        req.transaction_type.name(),
        chip.map(|c| c.atc),
        i64::try_from(req.amount).unwrap_or(i64::MAX),
        resp.response_code.as_str(),
        resp.reason,
        resp.online_pin.map(OnlinePinResult::name),
    ])?;
    // keep the answer to a verified ARQC for retransmissions
    if icc_keys.is_some()
        && let Some(c) = chip
        && card.last_online_atc.is_none_or(|l| c.atc > l)
    {
        let json = serde_json::to_string(&resp).map_err(|e| Error::Corrupt(e.to_string()))?;
        tx.prepare_cached("UPDATE cards SET last_response = ?2 WHERE id = ?1")?
            .execute(params![card.id, json])?;
    }
    tracing::info!(
        pan = %mask_pan(&card.pan),
        stan = req.stan,
        channel = req.channel.name(),
        code = resp.response_code.as_str(),
        reason = %resp.reason,
        scripts = resp.issuer_scripts.len(),
        "authorisation"
    );
    Ok(resp)
}

// ------------------------------------------------------------------------------------
// Advice

fn advise_in(
    tx: &Transaction<'_>,
    advice: &Advice,
    card_ref: &CardRef,
    results: &[scripts::ScriptResult],
) -> Result<AdviceOutcome, Error> {
    let card = find_card(tx, card_ref)?;
    let now = rfc3339(now_unix());
    let mut out = AdviceOutcome::default();
    // Issuer Script Results (emv-reference §4.2): 2x = success, else the script is sent again
    for r in results {
        let id = i64::from(u32::from_be_bytes(r.script_id));
        let id_hex = hex::encode_upper(r.script_id);
        let kind: Option<String> = tx
            .prepare_cached(
                "SELECT kind FROM scripts WHERE id = ?1 AND card_id = ?2 AND state IN ('pending', 'sent')",
            )?
            .query_row(params![id, card.id], |r| r.get(0))
            .optional()?;
        let Some(kind) = kind else {
            out.ignored.push(id_hex);
            continue;
        };
        let kind: ScriptKind = kind.parse()?;
        if r.successful() {
            tx.prepare_cached(
                "UPDATE scripts SET state = 'done', done_at = ?2, last_result = 'successful' WHERE id = ?1",
            )?
            .execute(params![id, now])?;
            // PIN UNBLOCK and PIN CHANGE set the PTC back to the limit (emv-reference §3.4)
            tx.prepare_cached(
                "UPDATE cards SET chip_pin_blocked = 0, chip_pin_try_counter = offline_pin_try_limit \
                 WHERE id = ?1",
            )?
            .execute([card.id])?;
            if kind == ScriptKind::PinChange {
                // the chip has the new PIN: wipe the encrypted copy
                tx.prepare_cached(
                    "UPDATE cards SET pending_pin = NULL WHERE id = ?1 AND NOT EXISTS \
                     (SELECT 1 FROM scripts WHERE card_id = ?1 AND kind = 'pin-change' \
                      AND state IN ('pending', 'sent'))",
                )?
                .execute([card.id])?;
            }
            out.confirmed.push(id_hex);
        } else {
            tx.prepare_cached(
                "UPDATE scripts SET state = 'pending', last_result = ?2 WHERE id = ?1",
            )?
            .execute(params![id, r.describe()])?;
            out.retry.push(id_hex);
        }
    }
    if advice.reason == AdviceReason::Reversal {
        // undo the approval with this STAN (open-to-buy back)
        let auth: Option<(i64, i64, String)> = tx
            .prepare_cached(
                "SELECT id, amount, transaction_type FROM authorisations WHERE card_id = ?1 AND stan = ?2 \
                 AND response_code = '00' AND reversed = 0 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![card.id, advice.stan], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((auth_id, amount, ttype)) = auth {
            let delta = if ttype == TransactionType::Refund.name() {
                -amount
            } else {
                amount
            };
            tx.prepare_cached("UPDATE authorisations SET reversed = 1 WHERE id = ?1")?
                .execute([auth_id])?;
            tx.prepare_cached(
                "UPDATE cards SET open_to_buy = MAX(0, open_to_buy + ?2) WHERE id = ?1",
            )?
            .execute(params![card.id, delta])?;
            out.reversed = true;
        }
    }
    // scripts sent with this authorisation that no result reports were not delivered
    let undelivered: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM scripts WHERE card_id = ?1 AND state = 'sent' AND sent_stan = ?2",
        )?
        .query_map(params![card.id, advice.stan], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in undelivered {
        let why = match advice.reason {
            AdviceReason::Reversal => "not delivered (reversal)",
            AdviceReason::Completion => "not delivered (no result in the completion advice)",
        };
        tx.prepare_cached("UPDATE scripts SET state = 'pending', last_result = ?2 WHERE id = ?1")?
            .execute(params![id, why])?;
        out.retry.push(hex::encode_upper(scripts::script_id(id)));
    }
    tracing::info!(
        pan = %mask_pan(&card.pan),
        stan = advice.stan,
        confirmed = out.confirmed.len(),
        retry = out.retry.len(),
        reversed = out.reversed,
        "advice"
    );
    Ok(out)
}
