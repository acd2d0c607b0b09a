//! The PostgreSQL backend (docs/postgres.md): [`PgStore`], for an issuer shared by a lab,
//! several host processes on one database.
//!
//! Concurrency (docs/postgres.md §3): every write runs in one `READ COMMITTED`
//! transaction and every read-modify-write of a card starts with
//! [`StoreTx::card_for_update`], `SELECT … FOR UPDATE`: the card's row is locked until the
//! transaction ends, so two requests for one card, on one node or two, run one after the
//! other, and the second reads what the first committed (PostgreSQL re-reads a locked row
//! after the lock is granted). Requests for different cards do not wait for each other.
//! `SERIALIZABLE` would give the same result for a card, but makes every conflict a
//! failed transaction to retry; the row lock makes the second one wait instead.
//!
//! The driver is `tokio-postgres`. Its connections run on a small runtime of the store's
//! own (one thread), so the host's rules can run inside a closure on the caller's thread
//! as with SQLite, whether or not that thread belongs to another tokio runtime: each
//! statement is a future awaited with [`block_on`], which parks the calling thread until
//! the store's runtime has the answer (the `postgres` crate's blocking client cannot be
//! called from inside a runtime). Connections come from a small pool of our own
//! ([`Pool`]; docs/crate-choices.md says why not r2d2 or deadpool).

pub mod schema;

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::{NewCard, Store, StoreTx, redact_url};
use crate::Error;
use crate::audit::{AuditEntry, AuditRecord};
use crate::pin::PinRecord;
use crate::provision::{Plastic, PlasticStatus};
use crate::rules::{
    Answered, AuthorisationId, CardId, CardRecord, CardRef, CardState, CardSummary, ChipKnowledge,
    JournalEntry, NewScript, ScriptChange, ScriptId, ScriptRow,
};
use crate::time::rfc3339;

/// Connections a node opens at most, by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a request waits for a free connection, or for a new one to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Wakes a thread parked in [`block_on`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on the calling thread, parked while it waits. The futures
/// given here only exchange messages with connections that run on the store's runtime,
/// so they need no runtime of their own.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// A driver error: the database is unreachable (connection refused, lost, timed out) or
/// it refused a statement.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        // the server going away says so in a message of its own: classes 08 (connection
        // exception), 53 (insufficient resources: too many connections) and 57 (operator
        // intervention: shutdown, restart) mean "unavailable", not a failed statement
        // (PostgreSQL documentation, Appendix A, "PostgreSQL Error Codes")
        Some(db)
            if ["08", "53", "57"]
                .iter()
                .any(|c| db.code().code().starts_with(c)) =>
        {
            Error::StoreUnavailable(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
        }
        // the server's own words: SQLSTATE and message ("db error" alone says nothing)
        Some(db) if !e.is_closed() => {
            Error::Store(format!("{} (SQLSTATE {})", db.message(), db.code().code()).into())
        }
        // no answer from the server: the database or the network is down
        _ => {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Error::StoreUnavailable(format!("{e}{cause}"))
        }
    }
}

/// One pooled connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// The pool: at most `max` connections, opened on demand, a broken one dropped when it is
/// handed back (the next request opens a new one: a node recovers by itself when the
/// database returns).
struct Pool {
    config: tokio_postgres::Config,
    /// Where the connections' I/O runs (one thread).
    runtime: Option<tokio::runtime::Runtime>,
    target: String,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    fn get(&self) -> Result<Pooled<'_>, Error> {
        let mut st = lock(&self.state);
        loop {
            if let Some(c) = st.idle.pop() {
                if c.client.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.connect() {
                    Ok(c) => Ok(Pooled {
                        pool: self,
                        conn: Some(c),
                    }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (guard, waited) = self
                .freed
                .wait_timeout(st, CONNECT_TIMEOUT)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            if waited.timed_out() && st.idle.is_empty() && st.open >= self.max {
                return Err(Error::StoreUnavailable(format!(
                    "{}: all {} connections busy for {}s",
                    self.target,
                    self.max,
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
    }

    fn connect(&self) -> Result<Conn, Error> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::StoreUnavailable(format!("{}: store closed", self.target)))?;
        let config = self.config.clone();
        let connected = block_on(rt.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            // the connection's I/O runs here until the client is dropped or it breaks
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "postgres connection closed");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        }))
        .map_err(|e| Error::StoreUnavailable(format!("{}: {e}", self.target)))?;
        let client = connected.map_err(|e| {
            // "error connecting to server" alone does not say why: add the cause
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Error::StoreUnavailable(format!("cannot connect to {}: {e}{cause}", self.target))
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // without waiting: the store may be dropped on another runtime's thread
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A connection on loan; back to the pool when dropped.
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut st = lock(&self.pool.state);
            if c.client.is_closed() {
                st.open -= 1;
            } else {
                st.idle.push(c);
            }
            drop(st);
            self.pool.freed.notify_one();
        }
    }
}

/// The issuer's store in a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.pool.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`), creating or
    /// migrating the schema; at most `pool_size` connections. A database that cannot be
    /// reached is [`Error::StoreUnavailable`], naming the URL without its password.
    pub fn open(url: &str, pool_size: usize) -> Result<Self, Error> {
        let target = redact_url(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::BadRequest(format!("database URL {target}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("emvbench-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the PostgreSQL store's runtime", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("emvbench-host");
        }
        let pool = Pool {
            config,
            runtime: Some(runtime),
            target,
            max: pool_size.max(1),
            state: Mutex::new(PoolState::default()),
            freed: Condvar::new(),
        };
        {
            let mut c = pool.get()?;
            let conn = c
                .conn
                .as_mut()
                .ok_or_else(|| Error::Commit("no connection".into()))?;
            schema::migrate(&mut conn.client).map_err(|e| match e {
                Error::Corrupt(m) => Error::Corrupt(format!("{}: {m}", pool.target)),
                e => e,
            })?;
        }
        Ok(Self {
            pool: Arc::new(pool),
        })
    }

    /// The database URL without its password.
    pub fn target(&self) -> &str {
        &self.pool.target
    }

    /// Runs `work` in a transaction of `isolation`, committing it when `commit`.
    fn run<T, F>(&self, isolation: IsolationLevel, commit: bool, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error>,
    {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled
            .conn
            .as_mut()
            .ok_or_else(|| Error::Commit("no connection".into()))?;
        let mut tx = block_on(
            client
                .build_transaction()
                .isolation_level(isolation)
                .read_only(!commit)
                .start(),
        )
        .map_err(pg_error)?;
        let out = work(&mut PgTx {
            tx: &mut tx,
            statements,
        })?;
        if commit {
            // an answer only once the commit is acknowledged (docs/issuer-host.md §8)
            block_on(tx.commit()).map_err(|e| match pg_error(e) {
                Error::StoreUnavailable(m) => Error::StoreUnavailable(m),
                other => Error::Commit(other.to_string()),
            })?;
        }
        Ok(out)
    }
}

impl Store for PgStore {
    fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        self.run(IsolationLevel::ReadCommitted, true, work)
    }

    fn write_async<T, F>(&self, work: F) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        let store = self.clone();
        async move {
            tokio::task::spawn_blocking(move || store.write(work))
                .await
                .unwrap_or_else(|e| Err(Error::Commit(format!("store task failed: {e}"))))
        }
    }

    fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error>,
    {
        // one consistent snapshot of all the reads
        self.run(IsolationLevel::RepeatableRead, false, work)
    }

    fn card_summary(&self, card: &CardRef) -> Result<Option<CardSummary>, Error> {
        self.read(|tx| {
            let card = match tx.find_card(card) {
                Ok(c) => c,
                Err(Error::UnknownCard { .. } | Error::AmbiguousCard { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            let open = tx.scripts_open(card.id)?;
            Ok(Some(CardSummary {
                online_pin_tries_left: card.state.online_pin_tries_left,
                card_status: card.state.status,
                pending_scripts: open.len(),
            }))
        })
    }
}

/// A card's columns.
const CARD_COLUMNS: &str = "id, pan, psn, expiry, cvn, icc_keys, pin_method, pvki, pin_value, \
     pin_len, online_pin_try_limit, online_pin_tries_left, offline_pin_try_limit, status, \
     open_to_buy, currency, last_online_atc, last_arqc, last_response, chip_pin_blocked, \
     chip_pin_try_counter, chip_cvr, chip_seen_at, pending_pin, open_to_buy_limit, pin_sealed";

static FIND_BY_PAN_PSN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = $1 AND psn = $2")
});
static FIND_BY_PAN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = $1 ORDER BY psn LIMIT 3")
});
static LOCK_BY_PAN_PSN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = $1 AND psn = $2 FOR UPDATE")
});
static LOCK_BY_PAN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CARD_COLUMNS} FROM cards WHERE pan = $1 ORDER BY psn LIMIT 3 FOR UPDATE")
});

const SCRIPT_COLUMNS_SQL_OPEN: &str = "SELECT id, kind, state, attempts, last_result, sent_stan \
     FROM scripts WHERE card_id = $1 AND state IN ('pending', 'sent') ORDER BY id";
const SCRIPT_COLUMNS_SQL_RECENT: &str = "SELECT id, kind, state, attempts, last_result, \
     sent_stan FROM (SELECT * FROM scripts WHERE card_id = $1 ORDER BY id DESC LIMIT $2) s \
     ORDER BY id";

/// An integer column in the rules' type; a value out of its range is corrupt data.
fn int<T: TryFrom<i64>>(r: &Row, col: &str) -> Result<T, Error> {
    let v: i64 = r.try_get(col).map_err(pg_error)?;
    T::try_from(v).map_err(|_| Error::Corrupt(format!("column {col}: {v} is out of range")))
}

fn opt_int<T: TryFrom<i64>>(r: &Row, col: &str) -> Result<Option<T>, Error> {
    let v: Option<i64> = r.try_get(col).map_err(pg_error)?;
    v.map(|v| {
        T::try_from(v).map_err(|_| Error::Corrupt(format!("column {col}: {v} is out of range")))
    })
    .transpose()
}

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(r: &'r Row, col: &str) -> Result<T, Error> {
    r.try_get(col).map_err(pg_error)
}

fn card_row(r: &Row) -> Result<CardRecord, Error> {
    let last_arqc = match get::<Option<&str>>(r, "last_arqc")? {
        None => None,
        Some(h) => {
            let mut a = [0u8; 8];
            hex::decode_to_slice(h, &mut a)
                .map_err(|_| Error::Corrupt("stored ARQC is not 8 bytes of hex".into()))?;
            Some(a)
        }
    };
    Ok(CardRecord {
        id: CardId(get(r, "id")?),
        pan: get(r, "pan")?,
        psn: get(r, "psn")?,
        expiry: get(r, "expiry")?,
        cvn: get::<&str>(r, "cvn")?
            .parse()
            .map_err(|e: emv_crypto::CryptoError| Error::Corrupt(e.to_string()))?,
        icc_keys: get(r, "icc_keys")?,
        online_pin_try_limit: int(r, "online_pin_try_limit")?,
        offline_pin_try_limit: int(r, "offline_pin_try_limit")?,
        currency: int(r, "currency")?,
        open_to_buy_limit: get(r, "open_to_buy_limit")?,
        state: CardState {
            status: get::<&str>(r, "status")?.parse()?,
            pin: PinRecord {
                method: get::<&str>(r, "pin_method")?.parse()?,
                pvki: int(r, "pvki")?,
                value: get(r, "pin_value")?,
                pin_len: int(r, "pin_len")?,
                sealed: get(r, "pin_sealed")?,
            },
            pending_pin: get(r, "pending_pin")?,
            online_pin_tries_left: int(r, "online_pin_tries_left")?,
            open_to_buy: get(r, "open_to_buy")?,
            last_online_atc: opt_int(r, "last_online_atc")?,
            last_arqc,
            last_response: get(r, "last_response")?,
            chip: ChipKnowledge {
                pin_blocked: get(r, "chip_pin_blocked")?,
                pin_try_counter: opt_int(r, "chip_pin_try_counter")?,
                cvr: get(r, "chip_cvr")?,
                seen_at: get(r, "chip_seen_at")?,
            },
        },
    })
}

fn script_row(r: &Row) -> Result<ScriptRow, Error> {
    Ok(ScriptRow {
        id: ScriptId(get(r, "id")?),
        kind: get::<&str>(r, "kind")?.parse()?,
        state: get::<&str>(r, "state")?.parse()?,
        attempts: int(r, "attempts")?,
        last_result: get(r, "last_result")?,
        sent_stan: opt_int(r, "sent_stan")?,
    })
}

/// The statements of one transaction.
struct PgTx<'a, 'c> {
    tx: &'a mut Transaction<'c>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl PgTx<'_, '_> {
    /// `sql` prepared once per connection.
    fn statement(&mut self, sql: &'static str) -> Result<Statement, Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = block_on(self.tx.prepare(sql)).map_err(pg_error)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>, Error> {
        let s = self.statement(sql)?;
        block_on(self.tx.query(&s, params)).map_err(pg_error)
    }

    fn query_opt(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Option<Row>, Error> {
        let s = self.statement(sql)?;
        block_on(self.tx.query_opt(&s, params)).map_err(pg_error)
    }

    fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> Result<u64, Error> {
        let s = self.statement(sql)?;
        block_on(self.tx.execute(&s, params)).map_err(pg_error)
    }

    /// The card(s) a reference names, through `by_pan_psn` or `by_pan`.
    fn cards(
        &mut self,
        card: &CardRef,
        by_pan_psn: &'static str,
        by_pan: &'static str,
    ) -> Result<CardRecord, Error> {
        let rows = match &card.psn {
            Some(psn) => self.query(by_pan_psn, &[&card.pan, psn])?,
            None => self.query(by_pan, &[&card.pan])?,
        };
        match rows.as_slice() {
            [] => Err(card.unknown()),
            [one] => card_row(one),
            several => {
                let psns = several
                    .iter()
                    .map(|r| get::<&str>(r, "psn"))
                    .collect::<Result<Vec<_>, _>>()?;
                Err(card.ambiguous(&psns))
            }
        }
    }

    fn supersede_open_scripts(&mut self, card: CardId) -> Result<(), Error> {
        self.execute(
            "UPDATE scripts SET state = 'superseded' WHERE card_id = $1 AND state IN ('pending', 'sent')",
            &[&card.0],
        )?;
        Ok(())
    }
}

impl StoreTx for PgTx<'_, '_> {
    fn find_card(&mut self, card: &CardRef) -> Result<CardRecord, Error> {
        self.cards(card, &FIND_BY_PAN_PSN, &FIND_BY_PAN)
    }

    fn card_for_update(&mut self, card: &CardRef) -> Result<CardRecord, Error> {
        // the row lock is held until the transaction ends (docs/postgres.md §3)
        self.cards(card, &LOCK_BY_PAN_PSN, &LOCK_BY_PAN)
    }

    fn update_card(
        &mut self,
        card: CardId,
        state: &CardState,
        touched_at: Option<i64>,
    ) -> Result<(), Error> {
        let s = state;
        self.execute(
            "UPDATE cards SET status = $2, pin_method = $3, pvki = $4, pin_value = $5, \
             pin_len = $6, pending_pin = $7, online_pin_tries_left = $8, open_to_buy = $9, \
             last_online_atc = $10, last_arqc = $11, last_response = $12, \
             chip_pin_blocked = $13, chip_pin_try_counter = $14, chip_cvr = $15, \
             chip_seen_at = $16, updated_at = COALESCE($17, updated_at), \
             pin_sealed = $18 WHERE id = $1",
            &[
                &card.0,
                &s.status.name(),
                &s.pin.method.name(),
                &i64::from(s.pin.pvki),
                &s.pin.value,
                &i64::from(s.pin.pin_len),
                &s.pending_pin,
                &i64::from(s.online_pin_tries_left),
                &s.open_to_buy,
                &s.last_online_atc.map(i64::from),
                &s.last_arqc.map(hex::encode_upper),
                &s.last_response,
                &s.chip.pin_blocked,
                &s.chip.pin_try_counter.map(i64::from),
                &s.chip.cvr,
                &s.chip.seen_at,
                &touched_at.map(rfc3339),
                &s.pin.sealed,
            ],
        )?;
        Ok(())
    }

    fn plastics(&mut self, card: CardId) -> Result<Vec<Plastic>, Error> {
        self.query(
            "SELECT plastic_id, expiry, status FROM plastics WHERE card_id = $1 \
             ORDER BY expiry, plastic_id",
            &[&card.0],
        )?
        .iter()
        .map(|r| {
            Ok(Plastic {
                plastic_id: get(r, "plastic_id")?,
                expiry: get(r, "expiry")?,
                status: get::<&str>(r, "status")?.parse()?,
            })
        })
        .collect()
    }

    fn plastics_with_expiry(
        &mut self,
        card: CardId,
        expiry: &str,
    ) -> Result<Vec<(String, PlasticStatus)>, Error> {
        self.query(
            "SELECT plastic_id, status FROM plastics WHERE card_id = $1 AND expiry = $2",
            &[&card.0, &expiry],
        )?
        .iter()
        .map(|r| Ok((get(r, "plastic_id")?, get::<&str>(r, "status")?.parse()?)))
        .collect()
    }

    fn plastic(&mut self, plastic_id: &str) -> Result<Option<(CardRef, PlasticStatus)>, Error> {
        let Some(r) = self.query_opt(
            "SELECT c.pan, c.psn, p.status FROM plastics p JOIN cards c ON c.id = p.card_id \
             WHERE p.plastic_id = $1",
            &[&plastic_id],
        )?
        else {
            return Ok(None);
        };
        let psn: &str = get(&r, "psn")?;
        Ok(Some((
            CardRef::new(get::<String>(&r, "pan")?, Some(psn)),
            get::<&str>(&r, "status")?.parse()?,
        )))
    }

    fn scripts_open(&mut self, card: CardId) -> Result<Vec<ScriptRow>, Error> {
        self.query(SCRIPT_COLUMNS_SQL_OPEN, &[&card.0])?
            .iter()
            .map(script_row)
            .collect()
    }

    fn scripts_recent(&mut self, card: CardId, limit: u32) -> Result<Vec<ScriptRow>, Error> {
        self.query(SCRIPT_COLUMNS_SQL_RECENT, &[&card.0, &i64::from(limit)])?
            .iter()
            .map(script_row)
            .collect()
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
        let r = self
            .query_opt(
                "INSERT INTO scripts (card_id, kind, state, created_at) \
                 VALUES ($1, $2, 'pending', $3) RETURNING id",
                &[&card.0, &script.kind.name(), &rfc3339(at)],
            )?
            .ok_or_else(|| Error::Commit("INSERT … RETURNING gave no row".into()))?;
        Ok(ScriptId(get(&r, "id")?))
    }

    fn update_script(&mut self, script: ScriptId, change: &ScriptChange) -> Result<(), Error> {
        match change {
            ScriptChange::Sent { at, atc, stan } => self.execute(
                "UPDATE scripts SET state = 'sent', attempts = attempts + 1, sent_at = $2, \
                 sent_atc = $3, sent_stan = $4 WHERE id = $1",
                &[
                    &script.0,
                    &rfc3339(*at),
                    &i64::from(*atc),
                    &i64::from(*stan),
                ],
            )?,
            ScriptChange::Done { at } => self.execute(
                "UPDATE scripts SET state = 'done', done_at = $2, last_result = 'successful' \
                 WHERE id = $1",
                &[&script.0, &rfc3339(*at)],
            )?,
            ScriptChange::Retry { why } => self.execute(
                "UPDATE scripts SET state = 'pending', last_result = $2 WHERE id = $1",
                &[&script.0, why],
            )?,
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
        self.execute(
            "INSERT INTO authorisations (card_id, at, stan, channel, transaction_type, atc, \
             amount, response_code, reason, online_pin, mti, rrn, terminal_id, \
             transmitted_at, currency, scripts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &[
                &card.0,
                &rfc3339(e.at),
                &i64::from(e.stan),
                &e.channel,
                &e.transaction_type,
                &e.atc.map(i64::from),
                &e.amount,
                &e.response_code,
                &e.reason,
                &e.online_pin,
                &e.mti,
                &e.rrn,
                &e.terminal_id,
                &e.transmitted_at,
                &i64::from(e.currency),
                &scripts,
            ],
        )?;
        Ok(())
    }

    fn next_rrn(&mut self) -> Result<String, Error> {
        let r = self
            .query_opt("SELECT nextval('rrn_sequence') AS last", &[])?
            .ok_or_else(|| Error::Commit("nextval gave no row".into()))?;
        let n: i64 = get(&r, "last")?;
        // 12 digits (DE 37, an 12): 10^12 answers before it would wrap
        Ok(format!("{:012}", n.rem_euclid(1_000_000_000_000)))
    }

    fn answered(&mut self, card: CardId, stan: u32) -> Result<Vec<Answered>, Error> {
        self.query(
            "SELECT id, at, mti, stan, rrn, terminal_id, transmitted_at, atc, amount, \
             transaction_type, response_code, reversed, scripts FROM authorisations \
             WHERE card_id = $1 AND stan = $2 ORDER BY id DESC LIMIT 16",
            &[&card.0, &i64::from(stan)],
        )?
        .iter()
        .map(|r| {
            let scripts = get::<Option<&str>>(r, "scripts")?
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(|id| {
                    id.parse()
                        .map(ScriptId)
                        .map_err(|_| Error::Corrupt("journal: script id is not a number".into()))
                })
                .collect::<Result<_, _>>()?;
            Ok(Answered {
                id: AuthorisationId(get(r, "id")?),
                at: get(r, "at")?,
                mti: get(r, "mti")?,
                stan: int(r, "stan")?,
                rrn: get(r, "rrn")?,
                terminal_id: get(r, "terminal_id")?,
                transmitted_at: get(r, "transmitted_at")?,
                atc: opt_int(r, "atc")?,
                amount: get(r, "amount")?,
                transaction_type: get(r, "transaction_type")?,
                response_code: get(r, "response_code")?,
                reversed: get(r, "reversed")?,
                scripts,
            })
        })
        .collect()
    }

    fn mark_reversed(&mut self, id: AuthorisationId) -> Result<(), Error> {
        self.execute(
            "UPDATE authorisations SET reversed = TRUE WHERE id = $1",
            &[&id.0],
        )?;
        Ok(())
    }

    fn insert_audit(&mut self, a: &AuditRecord<'_>) -> Result<(), Error> {
        self.execute(
            "INSERT INTO audit (at, actor, action, pan_masked, psn, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &rfc3339(a.at),
                &a.actor,
                &a.action,
                &a.pan_masked,
                &a.psn,
                &a.outcome,
            ],
        )?;
        Ok(())
    }

    fn audit_log(&mut self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        self.query(
            "SELECT at, actor, action, pan_masked, psn, outcome FROM audit ORDER BY id DESC LIMIT $1",
            &[&i64::from(limit)],
        )?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                at: get(r, "at")?,
                actor: get(r, "actor")?,
                action: get(r, "action")?,
                pan: get(r, "pan_masked")?,
                psn: get(r, "psn")?,
                outcome: get(r, "outcome")?,
            })
        })
        .collect()
    }

    fn card_id(&mut self, pan: &str, psn: &str) -> Result<Option<CardId>, Error> {
        self.query_opt(
            "SELECT id FROM cards WHERE pan = $1 AND psn = $2",
            &[&pan, &psn],
        )?
        .map(|r| get(&r, "id").map(CardId))
        .transpose()
    }

    fn insert_card(&mut self, c: &NewCard<'_>) -> Result<CardId, Error> {
        let at = rfc3339(c.at);
        let r = self
            .query_opt(
                "INSERT INTO cards (pan, psn, expiry, cvn, icc_keys, pin_method, pvki, \
                 pin_value, pin_len, pin_sealed, online_pin_try_limit, online_pin_tries_left, \
                 offline_pin_try_limit, status, open_to_buy, open_to_buy_limit, currency, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, \
                 $14, $15, $16, $16) RETURNING id",
                &[
                    &c.pan,
                    &c.psn,
                    &c.expiry,
                    &c.cvn,
                    &c.icc_keys,
                    &c.pin.method.name(),
                    &i64::from(c.pin.pvki),
                    &c.pin.value,
                    &i64::from(c.pin.pin_len),
                    &c.pin.sealed,
                    &i64::from(c.online_pin_try_limit),
                    &i64::from(c.offline_pin_try_limit),
                    &c.status.name(),
                    &c.open_to_buy,
                    &i64::from(c.currency),
                    &at,
                ],
            )?
            .ok_or_else(|| Error::Commit("INSERT … RETURNING gave no row".into()))?;
        Ok(CardId(get(&r, "id")?))
    }

    fn refresh_card(&mut self, id: CardId, c: &NewCard<'_>) -> Result<(), Error> {
        self.execute(
            "UPDATE cards SET expiry = $2, cvn = $3, icc_keys = $4, \
             online_pin_try_limit = $5, \
             online_pin_tries_left = LEAST(online_pin_tries_left, $5), \
             offline_pin_try_limit = $6, currency = $7, \
             open_to_buy_limit = $8, updated_at = $9 WHERE id = $1",
            &[
                &id.0,
                &c.expiry,
                &c.cvn,
                &c.icc_keys,
                &i64::from(c.online_pin_try_limit),
                &i64::from(c.offline_pin_try_limit),
                &i64::from(c.currency),
                &c.open_to_buy,
                &rfc3339(c.at),
            ],
        )?;
        Ok(())
    }

    fn reset_card(&mut self, id: CardId, c: &NewCard<'_>) -> Result<(), Error> {
        self.execute(
            "UPDATE cards SET expiry = $2, cvn = $3, icc_keys = $4, \
             pin_method = $5, pvki = $6, pin_value = $7, pin_len = $8, pin_sealed = $9, \
             online_pin_try_limit = $10, online_pin_tries_left = $10, \
             offline_pin_try_limit = $11, status = $12, \
             open_to_buy = $13, open_to_buy_limit = $13, currency = $14, \
             last_online_atc = NULL, last_arqc = NULL, last_response = NULL, \
             chip_pin_blocked = NULL, chip_pin_try_counter = NULL, chip_cvr = NULL, \
             chip_seen_at = NULL, pending_pin = NULL, updated_at = $15 WHERE id = $1",
            &[
                &id.0,
                &c.expiry,
                &c.cvn,
                &c.icc_keys,
                &c.pin.method.name(),
                &i64::from(c.pin.pvki),
                &c.pin.value,
                &i64::from(c.pin.pin_len),
                &c.pin.sealed,
                &i64::from(c.online_pin_try_limit),
                &i64::from(c.offline_pin_try_limit),
                &c.status.name(),
                &c.open_to_buy,
                &i64::from(c.currency),
                &rfc3339(c.at),
            ],
        )?;
        self.supersede_open_scripts(id)?;
        self.execute("DELETE FROM plastics WHERE card_id = $1", &[&id.0])?;
        Ok(())
    }

    fn plastic_owner(&mut self, plastic_id: &str) -> Result<Option<CardId>, Error> {
        self.query_opt(
            "SELECT card_id FROM plastics WHERE plastic_id = $1",
            &[&plastic_id],
        )?
        .map(|r| get(&r, "card_id").map(CardId))
        .transpose()
    }

    fn insert_plastic(&mut self, card: CardId, p: &Plastic) -> Result<(), Error> {
        self.execute(
            "INSERT INTO plastics (card_id, plastic_id, expiry, status) VALUES ($1, $2, $3, $4)",
            &[&card.0, &p.plastic_id, &p.expiry, &p.status.name()],
        )?;
        Ok(())
    }

    fn set_plastic_expiry(&mut self, plastic_id: &str, expiry: &str) -> Result<(), Error> {
        self.execute(
            "UPDATE plastics SET expiry = $2 WHERE plastic_id = $1",
            &[&plastic_id, &expiry],
        )?;
        Ok(())
    }

    fn spend_control_id(&mut self, jti: &str, expires: i64, now: i64) -> Result<bool, Error> {
        self.execute("DELETE FROM pin_control_spent WHERE expires < $1", &[&now])?;
        // the primary key decides: of two nodes spending one id at once, one inserts
        let n = self.execute(
            "INSERT INTO pin_control_spent (jti, expires) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
            &[&jti, &expires],
        )?;
        Ok(n == 1)
    }

    fn count_token_request(
        &mut self,
        plastic_id: &str,
        now: i64,
        window: i64,
        limit: u32,
    ) -> Result<Result<i64, i64>, Error> {
        // one plastic's requests are counted one at a time on every node: a lock on the
        // plastic id's hash until the transaction ends (PostgreSQL advisory locks)
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&plastic_id],
        )?;
        self.execute(
            "DELETE FROM pin_control_requests WHERE at <= $1",
            &[&(now - window)],
        )?;
        let r = self
            .query_opt(
                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM pin_control_requests \
                 WHERE plastic_id = $1",
                &[&plastic_id],
            )?
            .ok_or_else(|| Error::Commit("COUNT gave no row".into()))?;
        let n: i64 = get(&r, "n")?;
        if n >= i64::from(limit) {
            return Ok(Err(get::<Option<i64>>(&r, "oldest")?.unwrap_or(now)));
        }
        let r = self
            .query_opt(
                "INSERT INTO pin_control_requests (plastic_id, at) VALUES ($1, $2) RETURNING id",
                &[&plastic_id, &now],
            )?
            .ok_or_else(|| Error::Commit("INSERT … RETURNING gave no row".into()))?;
        Ok(Ok(get(&r, "id")?))
    }

    fn forget_token_request(&mut self, id: i64) -> Result<(), Error> {
        self.execute("DELETE FROM pin_control_requests WHERE id = $1", &[&id])?;
        Ok(())
    }
}

/// Runs `sql` (one or more statements, no parameters) on a connection of its own, on a
/// thread and runtime of its own: the rows' text values. For tests and administration
/// (creating a database), never for the host's own work.
pub fn simple_query(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
    let (url, sql) = (url.to_string(), sql.to_string());
    let target = redact_url(&url);
    let run = move || -> Result<Vec<Vec<Option<String>>>, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting a runtime", e))?;
        rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .map_err(|e| Error::StoreUnavailable(format!("cannot connect to {target}: {e}")))?;
            tokio::spawn(connection);
            let messages = client.simple_query(&sql).await.map_err(pg_error)?;
            Ok(messages
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect())
        })
    };
    std::thread::spawn(run)
        .join()
        .unwrap_or_else(|_| Err(Error::Commit("simple_query thread panicked".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        for (url, shown) in [
            (
                "postgres://bench:s3cret@db.lab:5433/issuer",
                "postgres://bench@db.lab:5433/issuer",
            ),
            (
                "postgres://bench@127.0.0.1/issuer",
                "postgres://bench@127.0.0.1/issuer",
            ),
            (
                "postgresql://u:p%40ss@h/db?password=x&sslmode=disable",
                "postgresql://u@h/db?password=***&sslmode=disable",
            ),
            ("postgres://h", "postgres://h"),
            ("host=x password=y", "<not a postgres:// URL>"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            assert!(!redact_url(url).contains("s3cret"));
        }
    }
}
