//! The SQLite schema, its migrations and how a connection is opened.
//!
//! Durability (docs/issuer-host.md §8): WAL journal, `synchronous=FULL` by default (a
//! commit is on disk when `COMMIT` returns; see [`SyncMode`] for the faster `NORMAL`),
//! writes in `BEGIN IMMEDIATE` transactions (the write lock is taken before anything is
//! read, so two connections cannot both read the same counter and both decrement it),
//! `CHECK` constraints on the counters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::Error;

/// Current schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// The database file inside a data directory.
pub const DB_FILE: &str = "host.sqlite3";

/// How far a commit goes before its callers are answered: SQLite's `PRAGMA synchronous`
/// in WAL mode (<https://sqlite.org/pragma.html#pragma_synchronous>, "WAL mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
#[strum(parse_err_ty = String, parse_err_fn = unknown_sync_mode)]
pub enum SyncMode {
    /// `synchronous=FULL`: the WAL is fsynced at every commit. An answer survives a crash
    /// of the process, of the OS and a power cut. The default (docs/dependencies.md §5).
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit is written to the WAL (the OS page cache) and fsynced
    /// at checkpoints. An answer survives the host process being killed (SIGKILL included);
    /// an OS crash or a power cut can roll back the last commits (the database stays
    /// consistent). For load tests, where fsync latency would be the only thing measured.
    Normal,
}

impl SyncMode {
    /// The name used on the command line and in `PRAGMA synchronous` (`full`, `normal`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// `PRAGMA synchronous` values (0 off, 1 normal, 2 full).
    fn pragma(self) -> i64 {
        match self {
            Self::Full => 2,
            Self::Normal => 1,
        }
    }
}

fn unknown_sync_mode(s: &str) -> String {
    format!(
        "sync mode {:?}: expected full or normal",
        s.to_ascii_lowercase()
    )
}

/// Migrations: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1
    "CREATE TABLE cards (
        id INTEGER PRIMARY KEY,
        pan TEXT NOT NULL,
        psn TEXT NOT NULL,
        expiry TEXT NOT NULL,
        cvn TEXT NOT NULL,
        icc_keys TEXT NOT NULL,             -- MK-AC | MK-SMI | MK-SMC sealed under the data key
        pin_method TEXT NOT NULL,           -- pvv | ibm3624 | encrypted
        pvki INTEGER NOT NULL,
        pin_value TEXT NOT NULL,            -- PVV, IBM 3624 offset or encrypted ISO-4 block
        pin_len INTEGER NOT NULL,
        online_pin_try_limit INTEGER NOT NULL CHECK (online_pin_try_limit BETWEEN 1 AND 15),
        online_pin_tries_left INTEGER NOT NULL
            CHECK (online_pin_tries_left >= 0 AND online_pin_tries_left <= online_pin_try_limit),
        offline_pin_try_limit INTEGER NOT NULL CHECK (offline_pin_try_limit BETWEEN 1 AND 15),
        status TEXT NOT NULL,
        open_to_buy INTEGER NOT NULL CHECK (open_to_buy >= 0),
        currency INTEGER NOT NULL,
        last_online_atc INTEGER,
        last_arqc TEXT,
        last_response TEXT,                 -- answer to last_arqc, for retransmissions
        chip_pin_blocked INTEGER,           -- what the last CVR said; NULL = not known
        chip_pin_try_counter INTEGER,
        chip_cvr TEXT,
        chip_seen_at TEXT,
        pending_pin TEXT,                   -- new PIN (encrypted ISO-4) while PIN CHANGE is pending
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (pan, psn)
    );
    CREATE TABLE plastics (
        card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        plastic_id TEXT NOT NULL UNIQUE,
        expiry TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE INDEX plastics_card ON plastics(card_id);
    CREATE TABLE scripts (
        id INTEGER PRIMARY KEY,             -- also the Script Identifier (9F18)
        card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                 -- pin-unblock | pin-change
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'superseded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        sent_atc INTEGER,
        sent_stan INTEGER,
        done_at TEXT,
        last_result TEXT
    );
    CREATE INDEX scripts_open ON scripts(card_id, state);
    CREATE TABLE authorisations (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        stan INTEGER NOT NULL,
        channel TEXT NOT NULL,
        transaction_type TEXT NOT NULL,
        atc INTEGER,
        amount INTEGER NOT NULL,
        response_code TEXT NOT NULL,
        reason TEXT NOT NULL,
        online_pin TEXT,
        reversed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX authorisations_card_stan ON authorisations(card_id, stan);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        pan_masked TEXT NOT NULL,
        psn TEXT NOT NULL,
        outcome TEXT NOT NULL
    );",
    // v2: a card's scripts newest first (load_scripts) without reading and sorting every
    // script the card ever had
    "CREATE INDEX scripts_card_id ON scripts(card_id, id);",
];

/// Opens (creating if needed) and migrates a database; `None` is a private in-memory one.
pub fn open_connection(path: Option<&Path>, sync: SyncMode) -> Result<Connection, Error> {
    let mut conn = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    // docs/dependencies.md §5: WAL + synchronous=FULL (or NORMAL by choice, see SyncMode); wait
    // for other writers rather than fail
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if path.is_some() && !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!(
            "could not switch the database to WAL (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", sync.pragma())?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // query planner stability: with STAT4 (bundled SQLite) a cached statement whose plan
    // could depend on a bound value is re-prepared on every execution; our plans do not
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    migrate(&mut conn)?;
    Ok(conn)
}

/// Brings the schema to [`SCHEMA_VERSION`], one migration per transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), Error> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Corrupt(format!(
                "the database has schema version {version}, newer than this program's {SCHEMA_VERSION}"
            )));
        }
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

/// The database file of a data directory, creating the directory.
pub fn db_path(data_dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::io(format!("creating data directory {}", data_dir.display()), e))?;
    Ok(data_dir.join(DB_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_mode_names() {
        for (m, name) in [(SyncMode::Full, "full"), (SyncMode::Normal, "normal")] {
            assert_eq!(m.name(), name);
            assert_eq!(name.parse::<SyncMode>(), Ok(m));
        }
        assert_eq!("NORMAL".parse::<SyncMode>(), Ok(SyncMode::Normal));
        assert_eq!(
            "Fast".parse::<SyncMode>(),
            Err("sync mode \"fast\": expected full or normal".to_string())
        );
    }

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let dir = crate::testkit::TempDir::new("store-migrate");
        let path = dir.path().join(DB_FILE);
        let c = open_connection(Some(&path), SyncMode::Full).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        drop(c);
        // reopening is a no-op; the sync mode is per connection
        let c = open_connection(Some(&path), SyncMode::Normal).unwrap();
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 1, "synchronous=NORMAL");
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(c);
        assert!(matches!(
            open_connection(Some(&path), SyncMode::Full),
            Err(Error::Corrupt(_))
        ));
    }
}
