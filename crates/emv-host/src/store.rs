//! The SQLite store: schema and migrations, and the group commit that runs every piece
//! of work in a `BEGIN IMMEDIATE` transaction.
//!
//! Durability (shared/docs/dependencies.md §5): WAL journal, `synchronous=FULL` by default
//! (a commit is on disk when `COMMIT` returns; see [`SyncMode`] for the faster `NORMAL`), writes in `BEGIN IMMEDIATE` transactions (the write
//! lock is taken before anything is read, so two connections cannot both read the same
//! counter and both decrement it), `CHECK` constraints on the counters.
//!
//! Group commit ([`Db`]): the jobs queued while the connection is busy run together, each
//! inside its own `SAVEPOINT` of one `BEGIN IMMEDIATE` transaction (a job that fails rolls
//! back only its own changes), with one commit (one fsync) for the batch; only then is
//! each caller answered. An answer therefore always means "on disk"; a crash before the
//! commit loses only work nobody was told about. With one caller a batch is one job.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::Error;

/// Current schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 256;

/// The database file inside a data directory.
pub const DB_FILE: &str = "host.sqlite3";

/// How far a commit goes before its callers are answered: SQLite's `PRAGMA synchronous`
/// in WAL mode (<https://sqlite.org/pragma.html#pragma_synchronous>, "WAL mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// `synchronous=FULL`: the WAL is fsynced at every commit. An answer survives a crash
    /// of the process, of the OS and a power cut. The default (dependencies.md §5).
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit is written to the WAL (the OS page cache) and fsynced
    /// at checkpoints. An answer survives the host process being killed (SIGKILL included);
    /// an OS crash or a power cut can roll back the last commits (the database stays
    /// consistent). For load tests, where fsync latency would be the only thing measured.
    Normal,
}

impl SyncMode {
    /// The name used on the command line and in `PRAGMA synchronous`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }

    /// `PRAGMA synchronous` values (0 off, 1 normal, 2 full).
    fn pragma(self) -> i64 {
        match self {
            Self::Full => 2,
            Self::Normal => 1,
        }
    }
}

impl std::str::FromStr for SyncMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("sync mode {other:?}: expected full or normal")),
        }
    }
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
    // dependencies.md §5: WAL + synchronous=FULL (or NORMAL by choice, see SyncMode); wait
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

trait Job: Send {
    /// Runs the work; `true` if it succeeded (its changes are kept).
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
    /// Wakes the caller, still waiting for its job to run, to lead the next batch.
    fn lead(&self);
}

/// What a waiting caller is told.
enum Reply<T> {
    /// Its job's outcome, committed (or not).
    Done(Result<T, Error>),
    /// It leads the next batch (its job is still queued).
    Lead,
}

struct TypedJob<T, F> {
    work: Option<F>,
    out: Option<Result<T, Error>>,
    reply: mpsc::SyncSender<Reply<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let r = catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(Error::Corrupt("internal error (panic) in a job".into())));
        let ok = r.is_ok();
        self.out = Some(r);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let answer = match (self.out, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(m)) => Err(Error::Commit(m)),
            (None, Ok(())) => Err(Error::Commit("job did not run".into())),
        };
        // the caller may have gone away; nothing to do then
        let _ = self.reply.try_send(Reply::Done(answer));
    }

    fn lead(&self) {
        let _ = self.reply.try_send(Reply::Lead);
    }
}

/// The store handle: one connection, shared by all callers with **leader/follower group
/// commit**. A caller queues its job; if no batch is running it becomes the leader: it
/// takes every queued job (its own and those queued meanwhile), runs them in one
/// transaction, commits and answers each of them on its own channel. If jobs were queued
/// during that batch, it hands the lead to the caller of the first one (one wake-up, not a
/// broadcast) and returns. An uncontended call runs on the caller's thread with no
/// hand-off; under load, the callers that queue while a leader waits for its commit share
/// the next one.
pub(crate) struct Db {
    conn: Mutex<Connection>,
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Box<dyn Job>>,
    leading: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic while holding a lock cannot leave the SQLite connection mid-transaction
    // (rusqlite rolls back on drop), so a poisoned lock is still usable
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ends a leader's turn, even if it unwinds: the lead passes to the first queued job's
/// caller, or nobody leads.
struct Turn<'a>(&'a Mutex<Queue>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut st = lock(self.0);
        match st.jobs.front() {
            Some(next) => next.lead(),
            None => st.leading = false,
        }
    }
}

impl Db {
    /// A store over an open connection.
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn: Mutex::new(conn),
            state: Mutex::new(Queue::default()),
        }
    }

    /// Runs `work` in a transaction and returns its result once committed. An `Err` from
    /// `work` rolls back its changes.
    pub(crate) fn call<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        // capacity 1: a job is sent `Lead` only while queued and `Done` only after its
        // batch ran, and its caller takes `Lead` before that batch starts
        let (reply, answer) = mpsc::sync_channel(1);
        let mut lead = {
            let mut st = lock(&self.state);
            st.jobs.push_back(Box::new(TypedJob {
                work: Some(work),
                out: None,
                reply,
            }));
            !std::mem::replace(&mut st.leading, true)
        };
        loop {
            if lead {
                // our job is at the front of the queue (a leader finds the queue empty;
                // `Lead` goes to the first queued job), so it is in this batch
                let _turn = Turn(&self.state);
                let batch: Vec<Box<dyn Job>> = {
                    let mut st = lock(&self.state);
                    let n = st.jobs.len().min(MAX_BATCH);
                    st.jobs.drain(..n).collect()
                };
                let mut conn = lock(&self.conn);
                self.run_and_answer(&mut conn, batch);
            }
            match answer.recv() {
                Ok(Reply::Done(r)) => return r,
                Ok(Reply::Lead) => lead = true,
                Err(_) => return Err(Error::Commit("the store dropped the job".into())),
            }
        }
    }

    /// Runs a read-only `work` in a deferred transaction (a consistent snapshot of its
    /// queries) on the caller's thread, outside the group commit: a read has nothing to
    /// commit, so it neither queues behind writers' fsyncs nor takes SQLite's write lock
    /// (`BEGIN IMMEDIATE`). The transaction is rolled back, whatever `work` did.
    pub(crate) fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, Error>,
    {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        work(&tx)
    }

    /// Runs `work`, one read-only statement, on the caller's thread in autocommit mode: a
    /// single `SELECT` is its own consistent snapshot, so it needs no transaction around it.
    pub(crate) fn query<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> Result<T, Error>,
    {
        work(&lock(&self.conn))
    }

    fn run_and_answer(&self, conn: &mut Connection, mut batch: Vec<Box<dyn Job>>) {
        let committed = run_batch(conn, &mut batch).map_err(|e| e.to_string());
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = batch.len(), "store transaction failed");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let [job] = batch {
        // one job: the transaction is its savepoint (a failed job rolls back on drop)
        if job.run(&tx) {
            tx.commit()?;
        }
        return Ok(());
    }
    for job in batch.iter_mut() {
        tx.prepare_cached("SAVEPOINT job")?.execute([])?;
        if job.run(&tx) {
            tx.prepare_cached("RELEASE job")?.execute([])?;
        } else {
            tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
            tx.prepare_cached("RELEASE job")?.execute([])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn failed_job_rolls_back_alone() {
        let db = Db::new(open_connection(None, SyncMode::Full).unwrap());
        db.call(|tx| {
            tx.execute(
                "INSERT INTO audit (at, actor, action, pan_masked, psn, outcome) VALUES ('t','a','x','p','00','ok')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let r: Result<(), Error> = db.call(|tx| {
            tx.execute("DELETE FROM audit", [])?;
            Err(Error::BadRequest("no".into()))
        });
        assert!(r.is_err());
        let n: i64 = db
            .call(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn concurrent_callers_each_get_their_own_answer_and_nothing_is_lost() {
        let dir = crate::testkit::TempDir::new("store-group");
        let db = std::sync::Arc::new(Db::new(
            open_connection(Some(&dir.path().join(DB_FILE)), SyncMode::Normal).unwrap(),
        ));
        db.call(|tx| {
            tx.execute_batch("CREATE TABLE n (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)")?;
            Ok(())
        })
        .unwrap();
        let threads: Vec<_> = (0..24_i64)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..50_i64 {
                        let key = t * 1000 + i;
                        // every third job fails: its row must not appear, the others' must
                        let fail = i % 3 == 0;
                        let got = db.call(move |tx| {
                            tx.execute("INSERT INTO n (k, v) VALUES (?1, ?1)", [key])?;
                            if fail {
                                return Err(Error::BadRequest(format!("job {key}")));
                            }
                            Ok(key)
                        });
                        match got {
                            Ok(k) => assert!(!fail && k == key, "{k} for {key}"),
                            Err(Error::BadRequest(m)) => {
                                assert!(fail && m == format!("job {key}"), "{m}")
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (rows, bad): (i64, i64) = db
            .call(|tx| {
                Ok(
                    tx.query_row("SELECT COUNT(*), SUM((k % 1000) % 3 = 0) FROM n", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?,
                )
            })
            .unwrap();
        assert_eq!((rows, bad), (24 * 33, 0));
    }

    #[test]
    fn open_scripts_are_read_through_their_index_not_the_cards_whole_history() {
        let c = open_connection(None, SyncMode::Full).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::service::OPEN_SCRIPTS_SQL
            ))
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
}
