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
pub const SCHEMA_VERSION: i64 = 5;

/// The database file inside a data directory.
pub const DB_FILE: &str = "host.sqlite3";

/// How far a commit goes before its callers are answered: SQLite's `PRAGMA synchronous`
/// in WAL mode (<https://sqlite.org/pragma.html#pragma_synchronous>, "WAL mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
#[strum(parse_err_ty = String, parse_err_fn = unknown_sync_mode)]
pub enum SyncMode {
    /// `synchronous=FULL`: the WAL is fsynced at every commit. An answer survives a crash
    /// of the process, of the OS and a power cut. The default (docs/crate-choices.md §5).
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
    // v3: the journal keeps what an advice or reversal must quote to act on an answer
    // (docs/issuer-host.md §5): MTI, RRN (DE 37), terminal id (DE 41), DE 7, currency and
    // the scripts the answer carried; host-assigned RRNs come from one sequence; a card's
    // provisioned open-to-buy bounds refunds and reversals (docs/issuer-host.md §2)
    "ALTER TABLE authorisations ADD COLUMN mti TEXT;
    ALTER TABLE authorisations ADD COLUMN rrn TEXT;
    ALTER TABLE authorisations ADD COLUMN terminal_id TEXT;
    ALTER TABLE authorisations ADD COLUMN transmitted_at TEXT;
    ALTER TABLE authorisations ADD COLUMN currency INTEGER;
    ALTER TABLE authorisations ADD COLUMN scripts TEXT;    -- ids of the scripts the answer carried, space separated
    CREATE TABLE rrn_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
    INSERT INTO rrn_sequence (id, last) VALUES (1, 0);
    ALTER TABLE cards ADD COLUMN open_to_buy_limit INTEGER NOT NULL DEFAULT 0;
    UPDATE cards SET open_to_buy_limit = open_to_buy;",
    // v4: an issuer that offers View PIN keeps the PIN sealed under the storage key next to
    // a one-way PVV (docs/pin.md §5); NULL for cards provisioned before, or without it
    "ALTER TABLE cards ADD COLUMN pin_sealed TEXT;              -- encrypted ISO-4 block, hex",
    // v5: PIN Control's one-time token ids and its per-plastic rate limit live in the store,
    // so that every host process on one database spends a token once and counts the same
    // requests (docs/issuer-host.md §6.1)
    "CREATE TABLE pin_control_spent (
        jti TEXT PRIMARY KEY,
        expires INTEGER NOT NULL
    );
    CREATE TABLE pin_control_requests (
        id INTEGER PRIMARY KEY,
        plastic_id TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX pin_control_requests_plastic ON pin_control_requests(plastic_id, at);",
];

/// Opens (creating if needed) and migrates a database; `None` is a private in-memory one.
pub fn open_connection(path: Option<&Path>, sync: SyncMode) -> Result<Connection, Error> {
    let mut conn = match path {
        Some(p) => {
            create_private_file(p)?;
            Connection::open(p)?
        }
        None => Connection::open_in_memory()?,
    };
    // docs/crate-choices.md §5: WAL + synchronous=FULL (or NORMAL by choice, see SyncMode); wait
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
    if let Some(p) = path {
        restrict_files(p)?;
    }
    Ok(conn)
}

/// The database, its write-ahead log and shared-memory index hold the card keys (sealed),
/// PIN verification data and the journal: owner-only (0600), in an owner-only (0700) data
/// directory (docs/issuer-host.md §8). SQLite gives the `-wal` and `-shm` files the
/// database file's permissions (<https://sqlite.org/tempfiles.html>); they are set again
/// here in case they were made before.
#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(format!("creating {}", path.display()), e)),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Sets the database and its `-wal`/`-shm` files (those that exist) to 0600.
#[cfg(unix)]
fn restrict_files(db: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let p = PathBuf::from(name);
        match std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("restricting {}", p.display()), e)),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_files(_db: &Path) -> Result<(), Error> {
    Ok(())
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

/// The database file of a data directory, creating the directory (and its missing
/// parents) owner-only, 0700 (docs/issuer-host.md §8); an existing directory is left as it
/// is.
pub fn db_path(data_dir: &Path) -> Result<PathBuf, Error> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(data_dir)
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

    #[cfg(unix)]
    #[test]
    fn the_data_directory_is_0700_and_its_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::testkit::TempDir::new("store-perms");
        let data = dir.path().join("a/b");
        let path = db_path(&data).unwrap();
        let c = open_connection(Some(&path), SyncMode::Full).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        for f in [DB_FILE, "host.sqlite3-wal", "host.sqlite3-shm"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
        // an existing database with looser permissions is tightened when opened
        drop(c);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _c = open_connection(Some(&path), SyncMode::Full).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_v2_store_gains_the_journal_columns_and_the_card_limit() {
        let dir = crate::testkit::TempDir::new("store-v2");
        let path = dir.path().join(DB_FILE);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.execute_batch(MIGRATIONS[1]).unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
        c.execute_batch(
            "INSERT INTO cards (pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
             pin_len, online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, \
             status, open_to_buy, currency, created_at, updated_at) VALUES ('4761739001010010', \
             '01', '4912', 'visa-18', 'x', 'pvv', 1, '1234', 4, 3, 3, 3, 'active', 70000, 978, \
             'now', 'now'); \
             INSERT INTO authorisations (card_id, at, stan, channel, transaction_type, atc, \
             amount, response_code, reason) VALUES (1, 'now', 7, 'atm', 'purchase', 1, 100, \
             '00', 'approved');",
        )
        .unwrap();
        drop(c);
        let c = open_connection(Some(&path), SyncMode::Full).unwrap();
        let (limit, otb): (i64, i64) = c
            .query_row(
                "SELECT open_to_buy_limit, open_to_buy FROM cards",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((limit, otb), (70_000, 70_000), "the balance is the limit");
        let rrn: Option<String> = c
            .query_row("SELECT rrn FROM authorisations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rrn, None, "an old answer has no RRN: no advice can name it");
        let n: i64 = c
            .query_row(
                "UPDATE rrn_sequence SET last = last + 1 RETURNING last",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
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
