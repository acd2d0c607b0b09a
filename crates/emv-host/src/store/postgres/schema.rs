//! The PostgreSQL schema and its migrations (docs/postgres.md §2).
//!
//! The same tables and columns as the SQLite schema, in PostgreSQL's types: integers are
//! `BIGINT` (the store converts them to the rules' types and refuses a value out of
//! range), flags `BOOLEAN`, times RFC 3339 `TEXT` as in SQLite, so both stores answer
//! alike. The version lives in `emvbench_schema`; migrations run under a transaction-level
//! advisory lock, so host nodes starting together migrate once.

use tokio_postgres::Client;

use super::{block_on, pg_error};
use crate::Error;
use crate::store::SCHEMA_VERSION;

/// The advisory lock key the migrations hold (any constant; "emvbench" in ASCII).
const MIGRATION_LOCK: i64 = 0x656d_7662_656e_6368;

/// Migrations: `(from, to, sql)`. A new database goes to the SQLite schema's v4 in one
/// step; later versions add an entry each, numbered as SQLite's.
const MIGRATIONS: &[(i64, i64, &str)] = &[
    (
        0,
        4,
        "CREATE TABLE cards (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        pan TEXT NOT NULL,
        psn TEXT NOT NULL,
        expiry TEXT NOT NULL,
        cvn TEXT NOT NULL,
        icc_keys TEXT NOT NULL,
        pin_method TEXT NOT NULL,
        pvki BIGINT NOT NULL,
        pin_value TEXT NOT NULL,
        pin_len BIGINT NOT NULL,
        pin_sealed TEXT,
        online_pin_try_limit BIGINT NOT NULL CHECK (online_pin_try_limit BETWEEN 1 AND 15),
        online_pin_tries_left BIGINT NOT NULL
            CHECK (online_pin_tries_left >= 0 AND online_pin_tries_left <= online_pin_try_limit),
        offline_pin_try_limit BIGINT NOT NULL CHECK (offline_pin_try_limit BETWEEN 1 AND 15),
        status TEXT NOT NULL,
        open_to_buy BIGINT NOT NULL CHECK (open_to_buy >= 0),
        open_to_buy_limit BIGINT NOT NULL DEFAULT 0,
        currency BIGINT NOT NULL,
        last_online_atc BIGINT,
        last_arqc TEXT,
        last_response TEXT,
        chip_pin_blocked BOOLEAN,
        chip_pin_try_counter BIGINT,
        chip_cvr TEXT,
        chip_seen_at TEXT,
        pending_pin TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (pan, psn)
    );
    CREATE TABLE plastics (
        card_id BIGINT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        plastic_id TEXT NOT NULL UNIQUE,
        expiry TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE INDEX plastics_card ON plastics(card_id);
    CREATE TABLE scripts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        card_id BIGINT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'superseded')),
        attempts BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        sent_atc BIGINT,
        sent_stan BIGINT,
        done_at TEXT,
        last_result TEXT
    );
    CREATE INDEX scripts_open ON scripts(card_id, state);
    CREATE INDEX scripts_card_id ON scripts(card_id, id);
    CREATE TABLE authorisations (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        card_id BIGINT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        stan BIGINT NOT NULL,
        channel TEXT NOT NULL,
        transaction_type TEXT NOT NULL,
        atc BIGINT,
        amount BIGINT NOT NULL,
        response_code TEXT NOT NULL,
        reason TEXT NOT NULL,
        online_pin TEXT,
        reversed BOOLEAN NOT NULL DEFAULT FALSE,
        mti TEXT,
        rrn TEXT,
        terminal_id TEXT,
        transmitted_at TEXT,
        currency BIGINT,
        scripts TEXT
    );
    CREATE INDEX authorisations_card_stan ON authorisations(card_id, stan);
    CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        pan_masked TEXT NOT NULL,
        psn TEXT NOT NULL,
        outcome TEXT NOT NULL
    );
    -- host-assigned RRNs (DE 37): a sequence, not a counter row, so that authorisations
    -- on different cards never wait for each other's commits (a rolled-back transaction
    -- leaves a gap, as PostgreSQL sequences do)
    CREATE SEQUENCE rrn_sequence AS BIGINT MINVALUE 1;",
    ),
    (
        4,
        5,
        // PIN Control's one-time token ids and per-plastic rate limit (SQLite's v5)
        "CREATE TABLE pin_control_spent (
        jti TEXT PRIMARY KEY,
        expires BIGINT NOT NULL
    );
    CREATE TABLE pin_control_requests (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plastic_id TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE INDEX pin_control_requests_plastic ON pin_control_requests(plastic_id, at);",
    ),
];

/// Brings the schema to [`SCHEMA_VERSION`]: creates it on an empty database, refuses a
/// newer one. Safe to run from several nodes at once.
pub(super) fn migrate(client: &mut Client) -> Result<(), Error> {
    let tx = block_on(client.transaction()).map_err(pg_error)?;
    block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]))
        .map_err(pg_error)?;
    block_on(tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS emvbench_schema (
            id INT PRIMARY KEY CHECK (id = 1),
            version BIGINT NOT NULL
        );
        INSERT INTO emvbench_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    ))
    .map_err(pg_error)?;
    let mut version: i64 =
        block_on(tx.query_one("SELECT version FROM emvbench_schema WHERE id = 1", &[]))
            .and_then(|r| r.try_get(0))
            .map_err(pg_error)?;
    if version > SCHEMA_VERSION {
        return Err(Error::Corrupt(format!(
            "the database has schema version {version}, newer than this program's {SCHEMA_VERSION}"
        )));
    }
    while let Some((_, to, sql)) = MIGRATIONS.iter().find(|(from, _, _)| *from == version) {
        block_on(tx.batch_execute(sql)).map_err(pg_error)?;
        block_on(tx.execute(
            "UPDATE emvbench_schema SET version = $1 WHERE id = 1",
            &[to],
        ))
        .map_err(pg_error)?;
        version = *to;
    }
    if version != SCHEMA_VERSION {
        return Err(Error::Corrupt(format!(
            "no migration from schema version {version} to {SCHEMA_VERSION}"
        )));
    }
    block_on(tx.commit()).map_err(pg_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_reach_the_current_version_from_an_empty_database() {
        let mut v = 0;
        while let Some((_, to, _)) = MIGRATIONS.iter().find(|(from, _, _)| *from == v) {
            assert!(*to > v);
            v = *to;
        }
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn every_sqlite_column_exists_in_the_postgres_schema() {
        // the two stores keep the same columns: a column added to one must be added to both
        let sqlite = crate::store::open_connection(None, crate::store::SyncMode::Full).unwrap();
        let sql: String = MIGRATIONS.iter().map(|m| m.2).collect();
        for table in [
            "cards",
            "plastics",
            "scripts",
            "authorisations",
            "audit",
            "pin_control_spent",
            "pin_control_requests",
        ] {
            let mut stmt = sqlite
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap();
            let cols: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let start = sql.find(&format!("CREATE TABLE {table} (")).unwrap();
            let body = &sql[start..start + sql[start..].find(");").unwrap()];
            for c in cols {
                assert!(
                    body.lines()
                        .any(|l| l.trim_start().starts_with(&format!("{c} "))),
                    "{table}.{c} is missing from the PostgreSQL schema"
                );
            }
        }
    }
}
