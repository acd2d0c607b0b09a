//! Group commit ([`Db`]): the jobs queued while the connection is busy run together, each
//! inside its own `SAVEPOINT` of one `BEGIN IMMEDIATE` transaction (a job that fails rolls
//! back only its own changes), with one commit (one fsync) for the batch; only then is
//! each caller answered. An answer therefore always means "on disk"; a crash before the
//! commit loses only work nobody was told about. With one caller a batch is one job
//! (docs/issuer-host.md §8).
//!
//! Callers come in two kinds. A thread ([`Db::call`]) waits for its answer and may be
//! asked to lead a batch. An async task ([`Db::call_async`]: the network front ends)
//! never blocks its runtime's thread: it queues its job and awaits the answer; when no
//! batch is running, one blocking thread is started to lead, and a leader that finds
//! async jobs queued after its batch leads the next one itself, so under load the front
//! ends hand each request over with one queue push and one wake-up, not a blocking thread
//! per request.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::Error;

/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 256;

trait Job: Send {
    /// Runs the work; `true` if it succeeded (its changes are kept).
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
    /// Offers the lead of the next batch to the job's caller: `true` if a waiting thread
    /// took it, `false` if the caller is an async task (the current leader goes on).
    fn lead(&self) -> bool;
}

/// What a waiting thread is told.
enum Reply<T> {
    /// Its job's outcome, committed (or not).
    Done(Result<T, Error>),
    /// It leads the next batch (its job is still queued).
    Lead,
}

/// Where a job's answer goes.
enum Caller<T> {
    /// A thread blocked in [`Db::call`].
    Thread(mpsc::SyncSender<Reply<T>>),
    /// A task awaiting [`Db::call_async`].
    Task(Option<oneshot::Sender<Result<T, Error>>>),
}

struct TypedJob<T, F> {
    work: Option<F>,
    out: Option<Result<T, Error>>,
    caller: Caller<T>,
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
        match self.caller {
            Caller::Thread(reply) => {
                let _ = reply.try_send(Reply::Done(answer));
            }
            Caller::Task(mut reply) => {
                if let Some(reply) = reply.take() {
                    let _ = reply.send(answer);
                }
            }
        }
    }

    fn lead(&self) -> bool {
        match &self.caller {
            Caller::Thread(reply) => reply.try_send(Reply::Lead).is_ok(),
            Caller::Task(_) => false,
        }
    }
}

/// The store handle: one connection, shared by all callers with **leader/follower group
/// commit**. A caller queues its job; if no batch is running it becomes the leader: it
/// takes every queued job (its own and those queued meanwhile), runs them in one
/// transaction, commits and answers each of them on its own channel. If jobs were queued
/// during that batch, it hands the lead to the caller of the first one (one wake-up, not a
/// broadcast) when that caller is a waiting thread, and leads the next batch itself when
/// it is an async task. An uncontended call runs on the caller's thread with no
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

/// Who leads next, after a batch.
enum Next {
    /// Nobody: the queue is empty.
    Nobody,
    /// A waiting thread took the lead.
    Handed,
    /// The first queued job is an async task's: the current leader goes on.
    Me,
}

/// Passes the lead after a batch: to the first queued job's waiting thread, to nobody if
/// the queue is empty, or back to the current leader for an async task's job.
fn pass_lead(state: &Mutex<Queue>) -> Next {
    let mut st = lock(state);
    match st.jobs.front() {
        None => {
            st.leading = false;
            Next::Nobody
        }
        Some(next) if next.lead() => Next::Handed,
        Some(_) => Next::Me,
    }
}

/// Ends a leader's turn if it unwinds: the lead passes on as after a batch; an async
/// task's job gets a new leading thread.
struct Turn<'a>(&'a Arc<Db>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() && matches!(pass_lead(&self.0.state), Next::Me) {
            let db = Arc::clone(self.0);
            std::thread::spawn(move || db.lead_batches());
        }
    }
}

/// A leader started for an async task's job. A runtime that is shutting down drops a
/// blocking task without running it: the queued jobs then get a thread of their own, so
/// none is left waiting for a leader.
struct Leader(Option<Arc<Db>>);

impl Leader {
    fn run(mut self) {
        if let Some(db) = self.0.take() {
            db.lead_batches();
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            std::thread::spawn(move || db.lead_batches());
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
    pub(crate) fn call<T, F>(self: &Arc<Self>, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        // capacity 1: a job is sent `Lead` only while queued and `Done` only after its
        // batch ran, and its caller takes `Lead` before that batch starts
        let (reply, answer) = mpsc::sync_channel(1);
        let mut lead = self.queue(Box::new(TypedJob {
            work: Some(work),
            out: None,
            caller: Caller::Thread(reply),
        }));
        loop {
            if lead {
                // our job is at the front of the queue (a leader finds the queue empty;
                // `Lead` goes to the first queued job), so it is in this batch
                self.lead_batches();
            }
            match answer.recv() {
                Ok(Reply::Done(r)) => return r,
                Ok(Reply::Lead) => lead = true,
                Err(_) => return Err(Error::Commit("the store dropped the job".into())),
            }
        }
    }

    /// [`Self::call`] for an async task: queues the job and awaits its answer without
    /// blocking the task's thread. If no batch is running, a blocking thread (the tokio
    /// runtime's blocking pool, else a new thread) leads.
    pub(crate) async fn call_async<T, F>(self: &Arc<Self>, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let lead = self.queue(Box::new(TypedJob {
            work: Some(work),
            out: None,
            caller: Caller::Task(Some(reply)),
        }));
        if lead {
            let leader = Leader(Some(Arc::clone(self)));
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || leader.run())),
                Err(_) => drop(std::thread::spawn(move || leader.run())),
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Error::Commit("the store dropped the job".into())))
    }

    /// Queues a job; `true` if its caller must lead (no batch is running).
    fn queue(&self, job: Box<dyn Job>) -> bool {
        let mut st = lock(&self.state);
        st.jobs.push_back(job);
        !std::mem::replace(&mut st.leading, true)
    }

    /// Leads batches until the lead passes to a waiting thread or the queue is empty.
    fn lead_batches(self: &Arc<Self>) {
        let _turn = Turn(self);
        loop {
            let batch: Vec<Box<dyn Job>> = {
                let mut st = lock(&self.state);
                let n = st.jobs.len().min(MAX_BATCH);
                st.jobs.drain(..n).collect()
            };
            if !batch.is_empty() {
                let mut conn = lock(&self.conn);
                self.run_and_answer(&mut conn, batch);
            }
            if !matches!(pass_lead(&self.state), Next::Me) {
                return;
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
        let db = Arc::new(Db::new(open_connection(None, SyncMode::Full).unwrap()));
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
        let (db, _dir) = counter_db();
        let threads: Vec<_> = (0..24_i64)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..50_i64 {
                        // every third job fails: its row must not appear, the others' must
                        check_answer(db.call(insert(t * 1000 + i, i % 3 == 0)), t * 1000 + i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(rows(&db), (24 * 33, 0));
    }

    /// The answer to `insert(key, key % 1000 % 3 == 0)`: its own, never another job's.
    fn check_answer(got: Result<i64, Error>, key: i64) {
        let fail = (key % 1000) % 3 == 0;
        match got {
            Ok(k) => assert!(!fail && k == key, "{k} for {key}"),
            Err(Error::BadRequest(m)) => assert!(fail && m == format!("job {key}"), "{m}"),
            Err(e) => panic!("{e}"),
        }
    }

    fn counter_db() -> (Arc<Db>, crate::testkit::TempDir) {
        let dir = crate::testkit::TempDir::new("store-group-async");
        let db = Arc::new(Db::new(
            open_connection(Some(&dir.path().join(DB_FILE)), SyncMode::Normal).unwrap(),
        ));
        db.call(|tx| {
            tx.execute_batch("CREATE TABLE n (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)")?;
            Ok(())
        })
        .unwrap();
        (db, dir)
    }

    fn insert(key: i64, fail: bool) -> impl FnOnce(&Transaction<'_>) -> Result<i64, Error> {
        move |tx| {
            tx.execute("INSERT INTO n (k, v) VALUES (?1, ?1)", [key])?;
            if fail {
                return Err(Error::BadRequest(format!("job {key}")));
            }
            Ok(key)
        }
    }

    fn rows(db: &Arc<Db>) -> (i64, i64) {
        db.call(|tx| {
            Ok(
                tx.query_row("SELECT COUNT(*), SUM((k % 1000) % 3 = 0) FROM n", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .unwrap()
    }

    #[test]
    fn async_tasks_and_threads_share_batches_and_each_gets_its_own_answer() {
        let (db, _dir) = counter_db();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        // 16 tasks and 8 threads at once, 50 jobs each; every third job fails
        let tasks: Vec<_> = (0..16_i64)
            .map(|t| {
                let db = db.clone();
                rt.spawn(async move {
                    for i in 0..50_i64 {
                        let key = t * 1000 + i;
                        check_answer(db.call_async(insert(key, i % 3 == 0)).await, key);
                    }
                })
            })
            .collect();
        let threads: Vec<_> = (16..24_i64)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..50_i64 {
                        let key = t * 1000 + i;
                        check_answer(db.call(insert(key, i % 3 == 0)), key);
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(rows(&db), (24 * 33, 0));
        // nobody leads once all is answered: the next call leads at once
        assert!(!lock(&db.state).leading);
    }

    #[test]
    fn a_leader_the_runtime_never_ran_still_answers_the_queued_task() {
        // a runtime shutting down drops a blocking task unrun: the job must not wait forever
        let (db, _dir) = counter_db();
        let (reply, answer) = oneshot::channel();
        let lead = db.queue(Box::new(TypedJob {
            work: Some(insert(7, false)),
            out: None,
            caller: Caller::Task(Some(reply)),
        }));
        assert!(lead, "an idle store: the caller's job needs a leader");
        drop(Leader(Some(Arc::clone(&db))));
        assert_eq!(answer.blocking_recv().unwrap().unwrap(), 7);
        assert_eq!(rows(&db), (1, 0));
    }
}
