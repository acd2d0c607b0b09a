//! Group commit ([`Db`]): the jobs queued while the connection is busy run together, each
//! inside its own `SAVEPOINT` of one `BEGIN IMMEDIATE` transaction (a job that fails rolls
//! back only its own changes), with one commit (one fsync) for the batch; only then is
//! each caller answered. An answer therefore always means "on disk"; a crash before the
//! commit loses only work nobody was told about. With one caller a batch is one job
//! (docs/issuer-host.md §8).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::Error;

/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 256;

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
    use crate::store::sqlite::schema::{DB_FILE, SyncMode, open_connection};

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
}
