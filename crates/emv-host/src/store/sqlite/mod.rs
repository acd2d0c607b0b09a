//! The SQLite backend: [`SqliteStore`] over one connection with group commit
//! ([`group_commit`]), the schema ([`schema`]) and the statements ([`SqliteTx`]). Columns
//! are read by name.

pub mod group_commit;
pub mod schema;

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use self::group_commit::Db;
use self::schema::SyncMode;
use super::{NewCard, Store, StoreTx};
use crate::Error;
use crate::audit::{AuditEntry, AuditRecord};
use crate::pin::PinRecord;
use crate::provision::{Plastic, PlasticStatus};
use crate::rules::{
    Answered, AuthorisationId, CardId, CardRecord, CardRef, CardState, CardSummary, ChipKnowledge,
    JournalEntry, NewScript, ScriptChange, ScriptId, ScriptRow,
};
use crate::time::rfc3339;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(Box::new(e))
    }
}

/// The issuer's store in one SQLite database.
pub struct SqliteStore {
    db: Arc<Db>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`; `None` is a private
    /// in-memory one.
    pub fn open(path: Option<&Path>, sync: SyncMode) -> Result<Self, Error> {
        Ok(Self::new(schema::open_connection(path, sync)?))
    }

    /// A store over an open, migrated connection.
    pub fn new(conn: Connection) -> Self {
        Self {
            db: Arc::new(Db::new(conn)),
        }
    }
}

impl Store for SqliteStore {
    fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        self.db.call(move |tx| work(&mut SqliteTx(tx)))
    }

    fn write_async<T, F>(&self, work: F) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        async move { db.call_async(move |tx| work(&mut SqliteTx(tx))).await }
    }

    fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error>,
    {
        self.db.read(|tx| work(&mut SqliteTx(tx)))
    }

    fn card_summary(&self, card: &CardRef) -> Result<Option<CardSummary>, Error> {
        self.db.query(|conn| {
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
        })
    }
}

/// Where the columns of a query's rows are, found by name once per process. rusqlite's
/// `get("name")` compares the name with every column's on each call (about 1,200
/// instructions for a card row's 24 columns, 30 times per authorisation); the positions
/// are looked up the first time and kept. Every query read through a `columns!` type
/// selects the same column list (the `const` next to it), so the positions are the same.
macro_rules! columns {
    ($(#[$meta:meta])* $name:ident { $($col:ident),+ $(,)? }) => {
        $(#[$meta])*
        struct $name {
            $($col: usize),+
        }

        impl $name {
            fn of(row: &Row<'_>) -> Result<&'static Self, Error> {
                static POSITIONS: std::sync::OnceLock<$name> = std::sync::OnceLock::new();
                if let Some(c) = POSITIONS.get() {
                    return Ok(c);
                }
                let stmt = row.as_ref();
                let found = $name {
                    $($col: stmt.column_index(stringify!($col))?),+
                };
                Ok(POSITIONS.get_or_init(|| found))
            }
        }
    };
}

columns! {
    /// The columns of [`CARD_COLUMNS`].
    CardCols {
        id, pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, pin_len,
        online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, status,
        open_to_buy, currency, last_online_atc, last_arqc, last_response, chip_pin_blocked,
        chip_pin_try_counter, chip_cvr, chip_seen_at, pending_pin, open_to_buy_limit,
        pin_sealed,
    }
}

columns! {
    /// The columns of [`SCRIPT_COLUMNS`].
    ScriptCols { id, kind, state, attempts, last_result, sent_stan }
}

/// The columns both script queries select, in [`ScriptCols`]' order (a test checks them).
#[cfg(test)]
const SCRIPT_COLUMNS: &str = "id, kind, state, attempts, last_result, sent_stan";

/// A card by PAN and PSN (the statement text is built once: it is the cache's key).
static FIND_BY_PAN_PSN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = ?1 AND psn = ?2")
});

/// The cards of a PAN (at most three: one, or enough to say it is ambiguous).
static FIND_BY_PAN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = ?1 ORDER BY psn LIMIT 3")
});

/// A card's latest scripts, oldest first.
const RECENT_SCRIPTS_SQL: &str = "SELECT id, kind, state, attempts, last_result, sent_stan FROM \
     (SELECT * FROM scripts WHERE card_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id";

/// A card's columns, read by name in [`card_row`].
const CARD_COLUMNS: &str = "id, pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
     pin_len, online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, status, \
     open_to_buy, currency, last_online_atc, last_arqc, last_response, chip_pin_blocked, \
     chip_pin_try_counter, chip_cvr, chip_seen_at, pending_pin, open_to_buy_limit, pin_sealed";

/// A card's open scripts. `INDEXED BY`: with the v2 index `scripts(card_id, id)` the
/// planner preferred it (no sort for `ORDER BY id`) and read every script the card ever
/// had on each authorisation; `scripts_open(card_id, state)` reads only the open ones.
pub(crate) const OPEN_SCRIPTS_SQL: &str = "SELECT id, kind, state, attempts, last_result, sent_stan \
     FROM scripts INDEXED BY scripts_open WHERE card_id = ?1 AND state IN ('pending', 'sent') \
     ORDER BY id";

/// [`CardSummary`] in one statement: the card's counter and status, and the number of its
/// open scripts (through the same index as [`OPEN_SCRIPTS_SQL`]; one count per open state,
/// as `state IN (…)` would build a temporary b-tree for its list on every execution). Two
/// forms, as in [`StoreTx::find_card`]; without a PSN, a second row means the PAN alone
/// is ambiguous.
macro_rules! card_summary_sql {
    ($where:literal) => {
        concat!(
            "SELECT c.online_pin_tries_left, c.status, \
             (SELECT COUNT(*) FROM scripts INDEXED BY scripts_open \
              WHERE card_id = c.id AND state = 'pending') + \
             (SELECT COUNT(*) FROM scripts INDEXED BY scripts_open \
              WHERE card_id = c.id AND state = 'sent') AS open_scripts \
             FROM cards c WHERE ",
            $where
        )
    };
}
const CARD_SUMMARY_SQL: &str = card_summary_sql!("c.pan = ?1 AND c.psn = ?2");
const CARD_SUMMARY_BY_PAN_SQL: &str = card_summary_sql!("c.pan = ?1 ORDER BY c.psn LIMIT 2");

fn summary_row(r: &Row<'_>) -> Result<CardSummary, Error> {
    let open: i64 = r.get("open_scripts")?;
    Ok(CardSummary {
        online_pin_tries_left: r.get("online_pin_tries_left")?,
        card_status: text(r, "status")?.parse()?,
        pending_scripts: usize::try_from(open).unwrap_or(0),
    })
}

/// A text column, borrowed from the row.
fn text<'r, I: rusqlite::RowIndex>(r: &'r Row<'_>, column: I) -> Result<&'r str, Error> {
    Ok(r.get_ref(column)?.as_str().map_err(rusqlite::Error::from)?)
}

fn card_row(r: &Row<'_>) -> Result<CardRecord, Error> {
    let c = CardCols::of(r)?;
    let last_arqc = match r
        .get_ref(c.last_arqc)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?
    {
        None => None,
        Some(h) => {
            let mut a = [0u8; 8];
            hex::decode_to_slice(h, &mut a)
                .map_err(|_| Error::Corrupt("stored ARQC is not 8 bytes of hex".into()))?;
            Some(a)
        }
    };
    Ok(CardRecord {
        id: CardId(r.get(c.id)?),
        pan: r.get(c.pan)?,
        psn: r.get(c.psn)?,
        expiry: r.get(c.expiry)?,
        cvn: text(r, c.cvn)?
            .parse()
            .map_err(|e: emv_crypto::CryptoError| Error::Corrupt(e.to_string()))?,
        icc_keys: r.get(c.icc_keys)?,
        online_pin_try_limit: r.get(c.online_pin_try_limit)?,
        offline_pin_try_limit: r.get(c.offline_pin_try_limit)?,
        currency: r.get(c.currency)?,
        open_to_buy_limit: r.get(c.open_to_buy_limit)?,
        state: CardState {
            status: text(r, c.status)?.parse()?,
            pin: PinRecord {
                method: text(r, c.pin_method)?.parse()?,
                pvki: r.get(c.pvki)?,
                value: r.get(c.pin_value)?,
                pin_len: r.get(c.pin_len)?,
                sealed: r.get(c.pin_sealed)?,
            },
            pending_pin: r.get(c.pending_pin)?,
            online_pin_tries_left: r.get(c.online_pin_tries_left)?,
            open_to_buy: r.get(c.open_to_buy)?,
            last_online_atc: r.get(c.last_online_atc)?,
            last_arqc,
            last_response: r.get(c.last_response)?,
            chip: ChipKnowledge {
                pin_blocked: r.get(c.chip_pin_blocked)?,
                pin_try_counter: r.get(c.chip_pin_try_counter)?,
                cvr: r.get(c.chip_cvr)?,
                seen_at: r.get(c.chip_seen_at)?,
            },
        },
    })
}

fn script_row(r: &Row<'_>) -> Result<ScriptRow, Error> {
    let c = ScriptCols::of(r)?;
    Ok(ScriptRow {
        id: ScriptId(r.get(c.id)?),
        kind: text(r, c.kind)?.parse()?,
        state: text(r, c.state)?.parse()?,
        attempts: r.get(c.attempts)?,
        last_result: r.get(c.last_result)?,
        sent_stan: r.get(c.sent_stan)?,
    })
}

/// Collects the rows of a query through `read`.
fn collect<T>(
    mut rows: rusqlite::Rows<'_>,
    read: impl Fn(&Row<'_>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

/// The statements of one transaction.
pub struct SqliteTx<'a>(&'a Connection);

impl SqliteTx<'_> {
    /// Runs `sql` with the provisioning values it names (`:pan`, `:expiry`, …, `:id`): one
    /// set of values for the statements that create, refresh and reset a card.
    fn execute_new_card(
        &self,
        sql: &str,
        id: Option<CardId>,
        c: &NewCard<'_>,
    ) -> Result<(), Error> {
        let at = rfc3339(c.at);
        let values: [(&str, &dyn ToSql); 17] = [
            (":id", &id.map(|i| i.0)),
            (":pan", &c.pan),
            (":psn", &c.psn),
            (":expiry", &c.expiry),
            (":cvn", &c.cvn),
            (":icc_keys", &c.icc_keys),
            (":pin_method", &c.pin.method.name()),
            (":pvki", &c.pin.pvki),
            (":pin_value", &c.pin.value),
            (":pin_len", &c.pin.pin_len),
            (":pin_sealed", &c.pin.sealed),
            (":online_limit", &c.online_pin_try_limit),
            (":offline_limit", &c.offline_pin_try_limit),
            (":status", &c.status.name()),
            (":open_to_buy", &c.open_to_buy),
            (":currency", &c.currency),
            (":at", &at),
        ];
        let mut stmt = self.0.prepare_cached(sql)?;
        for (name, value) in values {
            if let Some(i) = stmt.parameter_index(name)? {
                stmt.raw_bind_parameter(i, value)?;
            }
        }
        stmt.raw_execute()?;
        Ok(())
    }

    fn supersede_open_scripts(&self, card: CardId) -> Result<(), Error> {
        self.0
            .prepare_cached(
                "UPDATE scripts SET state = 'superseded' WHERE card_id = ?1 AND state IN ('pending', 'sent')",
            )?
            .execute([card.0])?;
        Ok(())
    }
}

impl StoreTx for SqliteTx<'_> {
    fn find_card(&mut self, card: &CardRef) -> Result<CardRecord, Error> {
        // two statements rather than `(?2 IS NULL OR psn = ?2)`: SQLite (STAT4) re-prepares
        // a statement whose plan may depend on a bound value, on every execution
        let mut stmt;
        let mut rows = match &card.psn {
            Some(psn) => {
                stmt = self.0.prepare_cached(&FIND_BY_PAN_PSN)?;
                stmt.query(params![card.pan, psn])?
            }
            None => {
                stmt = self.0.prepare_cached(&FIND_BY_PAN)?;
                stmt.query(params![card.pan])?
            }
        };
        let Some(first) = rows.next()? else {
            return Err(card.unknown());
        };
        let first_psn: String = first.get(CardCols::of(first)?.psn)?;
        let found = card_row(first);
        let Some(second) = rows.next()? else {
            return found;
        };
        let mut psns = vec![first_psn, second.get("psn")?];
        while let Some(r) = rows.next()? {
            psns.push(r.get("psn")?);
        }
        let psns: Vec<&str> = psns.iter().map(String::as_str).collect();
        Err(card.ambiguous(&psns))
    }

    fn card_for_update(&mut self, card: &CardRef) -> Result<CardRecord, Error> {
        // every write transaction is BEGIN IMMEDIATE: the database's write lock is held
        // from the start, so the card cannot change under us
        self.find_card(card)
    }

    fn update_card(
        &mut self,
        card: CardId,
        state: &CardState,
        touched_at: Option<i64>,
    ) -> Result<(), Error> {
        let s = state;
        self.0
            .prepare_cached(
                "UPDATE cards SET status = ?2, pin_method = ?3, pvki = ?4, pin_value = ?5, \
                 pin_len = ?6, pending_pin = ?7, online_pin_tries_left = ?8, open_to_buy = ?9, \
                 last_online_atc = ?10, last_arqc = ?11, last_response = ?12, \
                 chip_pin_blocked = ?13, chip_pin_try_counter = ?14, chip_cvr = ?15, \
                 chip_seen_at = ?16, updated_at = COALESCE(?17, updated_at), \
                 pin_sealed = ?18 WHERE id = ?1",
            )?
            .execute(params![
                card.0,
                s.status.name(),
                s.pin.method.name(),
                s.pin.pvki,
                s.pin.value,
                s.pin.pin_len,
                s.pending_pin,
                s.online_pin_tries_left,
                s.open_to_buy,
                s.last_online_atc,
                s.last_arqc.map(hex::encode_upper),
                s.last_response,
                s.chip.pin_blocked,
                s.chip.pin_try_counter,
                s.chip.cvr,
                s.chip.seen_at,
                touched_at.map(rfc3339),
                s.pin.sealed,
            ])?;
        Ok(())
    }

    fn plastics(&mut self, card: CardId) -> Result<Vec<Plastic>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT plastic_id, expiry, status FROM plastics WHERE card_id = ?1 ORDER BY expiry, plastic_id",
        )?;
        collect(stmt.query([card.0])?, |r| {
            Ok(Plastic {
                plastic_id: r.get("plastic_id")?,
                expiry: r.get("expiry")?,
                status: text(r, "status")?.parse()?,
            })
        })
    }

    fn plastics_with_expiry(
        &mut self,
        card: CardId,
        expiry: &str,
    ) -> Result<Vec<(String, PlasticStatus)>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT plastic_id, status FROM plastics WHERE card_id = ?1 AND expiry = ?2",
        )?;
        collect(stmt.query(params![card.0, expiry])?, |r| {
            Ok((r.get("plastic_id")?, text(r, "status")?.parse()?))
        })
    }

    fn plastic(&mut self, plastic_id: &str) -> Result<Option<(CardRef, PlasticStatus)>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT c.pan, c.psn, p.status FROM plastics p JOIN cards c ON c.id = p.card_id \
             WHERE p.plastic_id = ?1",
        )?;
        let mut rows = stmt.query([plastic_id])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let psn: String = r.get("psn")?;
        Ok(Some((
            CardRef::new(r.get::<_, String>("pan")?, Some(&psn)),
            text(r, "status")?.parse()?,
        )))
    }

    fn scripts_open(&mut self, card: CardId) -> Result<Vec<ScriptRow>, Error> {
        let mut stmt = self.0.prepare_cached(OPEN_SCRIPTS_SQL)?;
        collect(stmt.query([card.0])?, script_row)
    }

    fn scripts_recent(&mut self, card: CardId, limit: u32) -> Result<Vec<ScriptRow>, Error> {
        let mut stmt = self.0.prepare_cached(RECENT_SCRIPTS_SQL)?;
        collect(stmt.query(params![card.0, limit])?, script_row)
    }

    fn queue_script(
        &mut self,
        card: CardId,
        script: NewScript,
        at: i64,
    ) -> Result<ScriptId, Error> {
        if script.supersede_open {
            self.supersede_open_scripts(card)?;
        }
        self.0
            .prepare_cached(
                "INSERT INTO scripts (card_id, kind, state, created_at) VALUES (?1, ?2, 'pending', ?3)",
            )?
            .execute(params![card.0, script.kind.name(), rfc3339(at)])?;
        Ok(ScriptId(self.0.last_insert_rowid()))
    }

    fn update_script(&mut self, script: ScriptId, change: &ScriptChange) -> Result<(), Error> {
        match change {
            ScriptChange::Sent { at, atc, stan } => self
                .0
                .prepare_cached(
                    "UPDATE scripts SET state = 'sent', attempts = attempts + 1, sent_at = ?2, \
                     sent_atc = ?3, sent_stan = ?4 WHERE id = ?1",
                )?
                .execute(params![script.0, rfc3339(*at), atc, stan])?,
            ScriptChange::Done { at } => self
                .0
                .prepare_cached(
                    "UPDATE scripts SET state = 'done', done_at = ?2, last_result = 'successful' WHERE id = ?1",
                )?
                .execute(params![script.0, rfc3339(*at)])?,
            ScriptChange::Retry { why } => self
                .0
                .prepare_cached(
                    "UPDATE scripts SET state = 'pending', last_result = ?2 WHERE id = ?1",
                )?
                .execute(params![script.0, why])?,
        };
        Ok(())
    }

    fn insert_authorisation(&mut self, card: CardId, e: &JournalEntry<'_>) -> Result<(), Error> {
        let scripts = e
            .scripts
            .iter()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        self.0
            .prepare_cached(
                "INSERT INTO authorisations (card_id, at, stan, channel, transaction_type, atc, \
                 amount, response_code, reason, online_pin, mti, rrn, terminal_id, \
                 transmitted_at, currency, scripts) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                card.0,
                rfc3339(e.at),
                e.stan,
                e.channel,
                e.transaction_type,
                e.atc,
                e.amount,
                e.response_code,
                e.reason,
                e.online_pin,
                e.mti,
                e.rrn,
                e.terminal_id,
                e.transmitted_at,
                e.currency,
                scripts,
            ])?;
        Ok(())
    }

    fn next_rrn(&mut self) -> Result<String, Error> {
        let n: i64 = self
            .0
            .prepare_cached("UPDATE rrn_sequence SET last = last + 1 WHERE id = 1 RETURNING last")?
            .query_row([], |r| r.get(0))?;
        // 12 digits (DE 37, an 12): 10^12 answers before it would wrap
        Ok(format!("{:012}", n.rem_euclid(1_000_000_000_000)))
    }

    fn answered(&mut self, card: CardId, stan: u32) -> Result<Vec<Answered>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, at, mti, stan, rrn, terminal_id, transmitted_at, atc, amount, \
             transaction_type, response_code, reversed, scripts FROM authorisations \
             WHERE card_id = ?1 AND stan = ?2 ORDER BY id DESC LIMIT 16",
        )?;
        collect(stmt.query(params![card.0, stan])?, |r| {
            let scripts: Option<String> = r.get("scripts")?;
            let scripts = scripts
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(|id| {
                    id.parse()
                        .map(ScriptId)
                        .map_err(|_| Error::Corrupt("journal: script id is not a number".into()))
                })
                .collect::<Result<_, _>>()?;
            Ok(Answered {
                id: AuthorisationId(r.get("id")?),
                at: r.get("at")?,
                mti: r.get("mti")?,
                stan: r.get("stan")?,
                rrn: r.get("rrn")?,
                terminal_id: r.get("terminal_id")?,
                transmitted_at: r.get("transmitted_at")?,
                atc: r.get("atc")?,
                amount: r.get("amount")?,
                transaction_type: r.get("transaction_type")?,
                response_code: r.get("response_code")?,
                reversed: r.get("reversed")?,
                scripts,
            })
        })
    }

    fn mark_reversed(&mut self, id: AuthorisationId) -> Result<(), Error> {
        self.0
            .prepare_cached("UPDATE authorisations SET reversed = 1 WHERE id = ?1")?
            .execute([id.0])?;
        Ok(())
    }

    fn insert_audit(&mut self, a: &AuditRecord<'_>) -> Result<(), Error> {
        self.0
            .prepare_cached(
                "INSERT INTO audit (at, actor, action, pan_masked, psn, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                rfc3339(a.at),
                a.actor,
                a.action,
                a.pan_masked,
                a.psn,
                a.outcome
            ])?;
        Ok(())
    }

    fn audit_log(&mut self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT at, actor, action, pan_masked, psn, outcome FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        collect(stmt.query([limit])?, |r| {
            Ok(AuditEntry {
                at: r.get("at")?,
                actor: r.get("actor")?,
                action: r.get("action")?,
                pan: r.get("pan_masked")?,
                psn: r.get("psn")?,
                outcome: r.get("outcome")?,
            })
        })
    }

    fn card_id(&mut self, pan: &str, psn: &str) -> Result<Option<CardId>, Error> {
        Ok(self
            .0
            .prepare_cached("SELECT id FROM cards WHERE pan = ?1 AND psn = ?2")?
            .query_row(params![pan, psn], |r| r.get("id"))
            .optional()?
            .map(CardId))
    }

    fn insert_card(&mut self, c: &NewCard<'_>) -> Result<CardId, Error> {
        self.execute_new_card(
            "INSERT INTO cards (pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
             pin_len, pin_sealed, online_pin_try_limit, online_pin_tries_left, \
             offline_pin_try_limit, status, open_to_buy, open_to_buy_limit, currency, \
             created_at, updated_at) \
             VALUES (:pan, :psn, :expiry, :cvn, :icc_keys, :pin_method, :pvki, :pin_value, \
             :pin_len, :pin_sealed, :online_limit, :online_limit, :offline_limit, :status, \
             :open_to_buy, :open_to_buy, :currency, :at, :at)",
            None,
            c,
        )?;
        Ok(CardId(self.0.last_insert_rowid()))
    }

    fn refresh_card(&mut self, id: CardId, c: &NewCard<'_>) -> Result<(), Error> {
        self.execute_new_card(
            "UPDATE cards SET expiry = :expiry, cvn = :cvn, icc_keys = :icc_keys, \
             online_pin_try_limit = :online_limit, \
             online_pin_tries_left = MIN(online_pin_tries_left, :online_limit), \
             offline_pin_try_limit = :offline_limit, currency = :currency, \
             open_to_buy_limit = :open_to_buy, updated_at = :at WHERE id = :id",
            Some(id),
            c,
        )
    }

    fn reset_card(&mut self, id: CardId, c: &NewCard<'_>) -> Result<(), Error> {
        self.execute_new_card(
            "UPDATE cards SET expiry = :expiry, cvn = :cvn, icc_keys = :icc_keys, \
             pin_method = :pin_method, pvki = :pvki, pin_value = :pin_value, \
             pin_len = :pin_len, pin_sealed = :pin_sealed, \
             online_pin_try_limit = :online_limit, online_pin_tries_left = :online_limit, \
             offline_pin_try_limit = :offline_limit, status = :status, \
             open_to_buy = :open_to_buy, open_to_buy_limit = :open_to_buy, currency = :currency, \
             last_online_atc = NULL, last_arqc = NULL, last_response = NULL, \
             chip_pin_blocked = NULL, chip_pin_try_counter = NULL, chip_cvr = NULL, \
             chip_seen_at = NULL, pending_pin = NULL, updated_at = :at WHERE id = :id",
            Some(id),
            c,
        )?;
        self.supersede_open_scripts(id)?;
        self.0
            .execute("DELETE FROM plastics WHERE card_id = ?1", [id.0])?;
        Ok(())
    }

    fn plastic_owner(&mut self, plastic_id: &str) -> Result<Option<CardId>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT card_id FROM plastics WHERE plastic_id = ?1",
                [plastic_id],
                |r| r.get("card_id"),
            )
            .optional()?
            .map(CardId))
    }

    fn insert_plastic(&mut self, card: CardId, p: &Plastic) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO plastics (card_id, plastic_id, expiry, status) VALUES (?1, ?2, ?3, ?4)",
            params![card.0, p.plastic_id, p.expiry, p.status.name()],
        )?;
        Ok(())
    }

    fn set_plastic_expiry(&mut self, plastic_id: &str, expiry: &str) -> Result<(), Error> {
        self.0.execute(
            "UPDATE plastics SET expiry = ?2 WHERE plastic_id = ?1",
            params![plastic_id, expiry],
        )?;
        Ok(())
    }

    fn spend_control_id(&mut self, jti: &str, expires: i64, now: i64) -> Result<bool, Error> {
        self.0
            .prepare_cached("DELETE FROM pin_control_spent WHERE expires < ?1")?
            .execute([now])?;
        let n = self
            .0
            .prepare_cached(
                "INSERT INTO pin_control_spent (jti, expires) VALUES (?1, ?2) \
                 ON CONFLICT (jti) DO NOTHING",
            )?
            .execute(params![jti, expires])?;
        Ok(n == 1)
    }

    fn count_token_request(
        &mut self,
        plastic_id: &str,
        now: i64,
        window: i64,
        limit: u32,
    ) -> Result<Result<i64, i64>, Error> {
        // BEGIN IMMEDIATE: no other writer between the count and the insert
        self.0
            .prepare_cached("DELETE FROM pin_control_requests WHERE at <= ?1")?
            .execute([now - window])?;
        let (n, oldest): (i64, Option<i64>) = self
            .0
            .prepare_cached(
                "SELECT COUNT(*), MIN(at) FROM pin_control_requests WHERE plastic_id = ?1",
            )?
            .query_row([plastic_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if n >= i64::from(limit) {
            return Ok(Err(oldest.unwrap_or(now)));
        }
        self.0
            .prepare_cached("INSERT INTO pin_control_requests (plastic_id, at) VALUES (?1, ?2)")?
            .execute(params![plastic_id, now])?;
        Ok(Ok(self.0.last_insert_rowid()))
    }

    fn forget_token_request(&mut self, id: i64) -> Result<(), Error> {
        self.0
            .prepare_cached("DELETE FROM pin_control_requests WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::schema::open_connection;

    #[test]
    fn every_script_query_selects_the_columns_script_row_reads() {
        // the positions `ScriptCols` keeps are those of SCRIPT_COLUMNS
        for sql in [OPEN_SCRIPTS_SQL, RECENT_SCRIPTS_SQL] {
            assert!(
                sql.starts_with(&format!("SELECT {SCRIPT_COLUMNS} ")),
                "{sql}"
            );
        }
    }

    #[test]
    fn open_scripts_are_read_through_their_index_not_the_cards_whole_history() {
        let c = open_connection(None, SyncMode::Full).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {}", OPEN_SCRIPTS_SQL))
            .unwrap()
            .query_map([1], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|d| d.contains("INDEX scripts_open")),
            "{plan:?}"
        );
    }

    #[test]
    fn the_summary_reads_its_scripts_through_the_open_index() {
        let c = open_connection(None, SyncMode::Full).unwrap();
        let plan = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Vec<String> {
            c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(p, |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        for p in [
            plan(CARD_SUMMARY_SQL, &[&"4761739001010010", &"01"]),
            plan(CARD_SUMMARY_BY_PAN_SQL, &[&"4761739001010010"]),
        ] {
            let n = p
                .iter()
                .filter(|d| d.contains("INDEX scripts_open"))
                .count();
            assert_eq!(n, 2, "{p:?}");
        }
    }
}
