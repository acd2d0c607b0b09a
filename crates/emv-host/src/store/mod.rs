//! The store interface (docs/issuer-host.md §9): where cards, scripts, the journal and the
//! audit live. The rules ([`crate::rules`]) never see it; the service runs each request
//! in one [`Store::write`] transaction, loads what the rules need through [`StoreTx`] and
//! applies their [`Effects`] there.
//!
//! A backend implements both traits; [`SqliteStore`] is the one today. The contract a
//! networked backend (several host processes on one database) keeps as well:
//! - everything a [`Store::write`] closure does commits together, and only then does the
//!   caller get its answer; an `Err` from the closure leaves nothing behind;
//! - [`StoreTx::card_for_update`] locks the card until the transaction ends (SQLite:
//!   `BEGIN IMMEDIATE` holds the database's write lock before anything is read; a server
//!   database: `SELECT … FOR UPDATE`, or `SERIALIZABLE` with a retry), so two requests
//!   never both read the same counter and both write it back;
//! - errors are the crate's [`Error`]: a backend maps its driver's errors into
//!   [`Error::Store`] (no driver type crosses these traits).

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use sqlite::group_commit::MAX_BATCH;
pub use sqlite::schema::{DB_FILE, SCHEMA_VERSION, SyncMode, db_path, migrate, open_connection};

use crate::Error;
use crate::audit::{AuditEntry, AuditRecord};
use crate::pin::PinRecord;
use crate::provision::{CardStatus, Plastic, PlasticStatus};
use crate::rules::{
    Answered, AuthorisationId, CardId, CardRecord, CardRef, CardState, CardSummary, Effects,
    JournalEntry, NewScript, ScriptChange, ScriptId, ScriptRow,
};

/// A storage backend.
pub trait Store: Send + Sync + 'static {
    /// Runs `work` in one read-write transaction and returns its result once committed.
    /// An `Err` from `work` rolls back all it did.
    fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static;

    /// [`Self::write`] for an async caller (the network front ends): the same transaction
    /// and the same answer, awaited without blocking the runtime's thread while the
    /// transaction waits for its commit.
    fn write_async<T, F>(&self, work: F) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static;

    /// Runs `work` in a read-only transaction (one consistent snapshot); nothing it does
    /// is kept.
    fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error>;

    /// The card's online PIN counter, status and number of open scripts, in one read;
    /// `None` when the reference finds no card or, without a PSN, several.
    fn card_summary(&self, card: &CardRef) -> Result<Option<CardSummary>, Error>;
}

/// A card as provisioning writes it.
#[derive(Debug, Clone, Copy)]
pub struct NewCard<'a> {
    /// PAN.
    pub pan: &'a str,
    /// PAN sequence number.
    pub psn: &'a str,
    /// Application expiry YYMM.
    pub expiry: &'a str,
    /// Cryptogram version's name.
    pub cvn: &'static str,
    /// The ICC master keys, sealed.
    pub icc_keys: &'a str,
    /// The PIN's verification data.
    pub pin: &'a PinRecord,
    /// Online PIN try limit (and the counter of a new or reset card).
    pub online_pin_try_limit: u8,
    /// The chip's PIN Try Limit.
    pub offline_pin_try_limit: u8,
    /// Issuer status.
    pub status: CardStatus,
    /// Open-to-buy, minor units: a new or reset card's, and the card's limit (a refresh
    /// sets the limit and keeps the balance).
    pub open_to_buy: i64,
    /// Account currency.
    pub currency: u16,
    /// When.
    pub at: i64,
}

/// One transaction's view of the store: typed reads and writes, nothing else.
pub trait StoreTx {
    // -- cards

    /// The card `card` names: [`Error::UnknownCard`] if none, [`Error::AmbiguousCard`]
    /// if the PAN alone names several.
    fn find_card(&mut self, card: &CardRef) -> Result<CardRecord, Error>;

    /// [`Self::find_card`], locking the card until the transaction ends: every
    /// read-modify-write of a card starts here.
    fn card_for_update(&mut self, card: &CardRef) -> Result<CardRecord, Error>;

    /// Writes the card's state back whole; `touched_at` also sets its `updated_at`.
    fn update_card(
        &mut self,
        card: CardId,
        state: &CardState,
        touched_at: Option<i64>,
    ) -> Result<(), Error>;

    // -- plastics

    /// The card's plastics, by expiry then id.
    fn plastics(&mut self, card: CardId) -> Result<Vec<Plastic>, Error>;

    /// The card's plastics with this expiry: id and status.
    fn plastics_with_expiry(
        &mut self,
        card: CardId,
        expiry: &str,
    ) -> Result<Vec<(String, PlasticStatus)>, Error>;

    /// The card and status of a plastic.
    fn plastic(&mut self, plastic_id: &str) -> Result<Option<(CardRef, PlasticStatus)>, Error>;

    // -- scripts

    /// The card's open scripts (pending or sent), oldest first.
    fn scripts_open(&mut self, card: CardId) -> Result<Vec<ScriptRow>, Error>;

    /// The card's `limit` newest scripts, oldest first.
    fn scripts_recent(&mut self, card: CardId, limit: u32) -> Result<Vec<ScriptRow>, Error>;

    /// Queues a script (superseding the open ones when it says so); its id.
    fn queue_script(&mut self, card: CardId, script: NewScript, at: i64)
    -> Result<ScriptId, Error>;

    /// Records what happened to a script.
    fn update_script(&mut self, script: ScriptId, change: &ScriptChange) -> Result<(), Error>;

    // -- journal and audit

    /// Journals an answered authorisation.
    fn insert_authorisation(&mut self, card: CardId, entry: &JournalEntry<'_>)
    -> Result<(), Error>;

    /// A retrieval reference number (DE 37) for an answer whose request had none: 12
    /// digits, never handed out before by this store.
    fn next_rrn(&mut self) -> Result<String, Error>;

    /// The card's journalled answers with this STAN, newest first (at most 16).
    fn answered(&mut self, card: CardId, stan: u32) -> Result<Vec<Answered>, Error>;

    /// Marks an answer reversed.
    fn mark_reversed(&mut self, id: AuthorisationId) -> Result<(), Error>;

    /// Writes an audit record.
    fn insert_audit(&mut self, record: &AuditRecord<'_>) -> Result<(), Error>;

    /// The newest `limit` audit records, newest first.
    fn audit_log(&mut self, limit: u32) -> Result<Vec<AuditEntry>, Error>;

    // -- provisioning

    /// The card with exactly this PAN and PSN.
    fn card_id(&mut self, pan: &str, psn: &str) -> Result<Option<CardId>, Error>;

    /// A new card, its counter at the limit.
    fn insert_card(&mut self, card: &NewCard<'_>) -> Result<CardId, Error>;

    /// Keys, expiry, limits and currency refreshed; PIN, counters (the online one at most
    /// the new limit), balance, chip knowledge and scripts kept.
    fn refresh_card(&mut self, id: CardId, card: &NewCard<'_>) -> Result<(), Error>;

    /// Everything set to the provisioning data, chip knowledge and the stored answer
    /// forgotten, open scripts superseded, plastics removed.
    fn reset_card(&mut self, id: CardId, card: &NewCard<'_>) -> Result<(), Error>;

    /// The card a plastic id belongs to.
    fn plastic_owner(&mut self, plastic_id: &str) -> Result<Option<CardId>, Error>;

    /// Adds a plastic to a card.
    fn insert_plastic(&mut self, card: CardId, plastic: &Plastic) -> Result<(), Error>;

    /// Refreshes a plastic's expiry (its status stays).
    fn set_plastic_expiry(&mut self, plastic_id: &str, expiry: &str) -> Result<(), Error>;

    // -- PIN Control (docs/issuer-host.md §6.1)

    /// Spends the one-time token id `jti` (valid until `expires`): `true` the first time,
    /// `false` ever after, whichever host process asks; forgets ids expired before `now`.
    fn spend_control_id(&mut self, jti: &str, expires: i64, now: i64) -> Result<bool, Error>;

    /// Counts a token request for `plastic_id` at `now` unless `limit` were counted in the
    /// `window` seconds before: `Ok(id)` of the counted request, or `Err(at)` of the oldest
    /// one in the window. Forgets requests older than the window. Requests for one plastic
    /// are counted one at a time, whichever host process takes them.
    fn count_token_request(
        &mut self,
        plastic_id: &str,
        now: i64,
        window: i64,
        limit: u32,
    ) -> Result<Result<i64, i64>, Error>;

    /// Forgets a counted request (an unknown plastic does not count against anyone).
    fn forget_token_request(&mut self, id: i64) -> Result<(), Error>;

    /// Applies a decision's effects to `card`.
    fn apply(&mut self, card: CardId, effects: &Effects<'_>) -> Result<(), Error> {
        if let Some(state) = effects.card {
            self.update_card(card, state, effects.touched_at)?;
        }
        for (id, change) in &effects.scripts {
            self.update_script(*id, change)?;
        }
        if let Some(entry) = &effects.journal {
            self.insert_authorisation(card, entry)?;
        }
        if let Some(id) = effects.reversed {
            self.mark_reversed(id)?;
        }
        if let Some(record) = &effects.audit {
            self.insert_audit(record)?;
        }
        Ok(())
    }
}

/// `postgres://user:secret@host/db` as `postgres://user@host/db`: what errors and logs
/// show of a database URL (never its password).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a postgres:// URL>".into();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    // a password can also be a query parameter
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The store a host runs on, chosen at run time: the embedded SQLite database (the
/// default) or, built with the `postgres` feature, a PostgreSQL database shared by several
/// host nodes (docs/postgres.md).
#[derive(Debug)]
pub enum HostStore {
    /// SQLite: one process, a file or memory.
    Sqlite(SqliteStore),
    /// PostgreSQL: any number of host processes on one database.
    #[cfg(feature = "postgres")]
    Postgres(PgStore),
}

impl Store for HostStore {
    fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Self::Sqlite(s) => s.write(work),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.write(work),
        }
    }

    async fn write_async<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Self::Sqlite(s) => s.write_async(work).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.write_async(work).await,
        }
    }

    fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn StoreTx) -> Result<T, Error>,
    {
        match self {
            Self::Sqlite(s) => s.read(work),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.read(work),
        }
    }

    fn card_summary(&self, card: &CardRef) -> Result<Option<CardSummary>, Error> {
        match self {
            Self::Sqlite(s) => s.card_summary(card),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.card_summary(card),
        }
    }
}
