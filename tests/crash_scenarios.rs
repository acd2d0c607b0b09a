//! Tearing across whole flows: the scenarios run with the card's state in a file
//! and the issuer host in SQLite, and the process is killed at write point N of the card's
//! file store (counted across the whole scenario, every `WritePoint` of every save), for
//! every N until the scenario completes (scenarios 01 and 04; scenario 10 at every point of
//! the saves that touch the PIN and one point on each side of the others). After each kill:
//!
//! - the state file loads through the card's store API and the card opens on it;
//! - it is exactly the state the file held at that point of a clean run (old or new, never
//!   torn), and its PIN Try Counter is never above what the card could have granted: the
//!   counter at the start of that transaction, unless in that transaction the card verified
//!   the PIN or accepted the issuer's PIN script;
//! - a fresh session on the state file and the same host runs the next transactions: an
//!   ATM with the issuer's PIN (online PIN verified, pending scripts delivered), then an
//!   offline PIN at a shop (approved, the counter back at its limit).
//!
//! The crash itself is `crates/emv-card/tests/crash.rs`'s: the test re-executes its own
//! binary (`--exact scenario_crash_child`) with the crash point in the environment, and the
//! write hook aborts the process there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use emv_auth::TransactionType;
use emv_card::{CardError, CardState, CardStore, FileStore, Personalisation, WritePoint};
use emv_host::{HostKeys, Issuer, SyncMode};
use emv_kernel::{
    Decision, Kernel, KernelConfig, Outcome, Profile, ScriptedPinPad, TransactionParams,
};
use emv_session::scenario::{self, Action, HostCall, Scenario};
use emv_session::{CardSpec, IssuerLink, Session};

const ENV_SCENARIO: &str = "EMVBENCH_CRASH_SCENARIO";
const ENV_DIR: &str = "EMVBENCH_CRASH_DIR";
const ENV_AT: &str = "EMVBENCH_CRASH_AT";

/// The child's exit code when the scenario ran to the end (the crash point was past its
/// last write).
const COMPLETED: i32 = 3;
/// The child's exit code when the scenario ran to the end but an expectation failed.
const EXPECTATION_FAILED: i32 = 4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn keys() -> HostKeys {
    HostKeys::load_test_keys().unwrap()
}

/// The card state file and the host's data directory of one run.
fn state_file(dir: &Path) -> PathBuf {
    dir.join("card.json")
}

fn host_dir(dir: &Path) -> PathBuf {
    dir.join("host")
}

/// A store that remembers every state it is asked to save (in order), around the file.
struct Probe {
    inner: FileStore,
    saves: Arc<Mutex<Vec<CardState>>>,
}

impl CardStore for Probe {
    fn load(&mut self) -> Result<Option<CardState>, CardError> {
        self.inner.load()
    }
    fn save(&mut self, state: &CardState) -> Result<(), CardError> {
        self.saves.lock().unwrap().push(state.clone());
        self.inner.save(state)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Opens the scenario's session in `dir`: the card's state in `card.json` (personalised
/// there), the embedded host in `host/` with the scenario's PIN seed; then puts `store` in
/// place of the card's file store (same file). The host commits without fsync
/// (`SyncMode::Normal`): its answers survive the process being killed, which is all a
/// crash here does, and the runs stay fast.
fn open(s: &Scenario, dir: &Path, store: Box<dyn CardStore + Send>) -> Session {
    let spec = CardSpec {
        state: Some(state_file(dir)),
        ..s.card.clone()
    };
    let issuer = Issuer::open_with(&host_dir(dir), keys(), SyncMode::Normal)
        .unwrap()
        .with_pin_seed(s.seed);
    let mut session = Session::with_host(&spec, Some(IssuerLink::Embedded(issuer))).unwrap();
    *session.card.soft_mut().unwrap().card_mut().store_mut() = store;
    session
}

/// The child: runs the scenario and aborts the process at write point `at`.
#[test]
fn scenario_crash_child() {
    let (Ok(file), Ok(dir), Ok(at)) = (
        std::env::var(ENV_SCENARIO),
        std::env::var(ENV_DIR),
        std::env::var(ENV_AT),
    ) else {
        return; // run directly by `cargo test`: nothing to do
    };
    let at: usize = at.parse().unwrap();
    let dir = PathBuf::from(dir);
    let s = scenario::load(Path::new(&file)).unwrap();
    let mut n = 0usize;
    let store = FileStore::new(state_file(&dir)).with_write_hook(Box::new(move |_: WritePoint| {
        n += 1;
        if n == at {
            std::process::abort();
        }
    }));
    let mut session = open(&s, &dir, Box::new(store));
    let ran = scenario::run_in(&s, &mut session, false).unwrap();
    if !ran.report.passed {
        eprintln!("{:#?}", ran.report.steps);
        std::process::exit(EXPECTATION_FAILED);
    }
    std::process::exit(COMPLETED);
}

fn run_child(file: &Path, dir: &Path, at: usize) -> Option<i32> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "scenario_crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_SCENARIO, file)
        .env(ENV_DIR, dir)
        .env(ENV_AT, at.to_string())
        .output()
        .unwrap();
    if !matches!(out.status.code(), None | Some(COMPLETED)) {
        panic!(
            "{}: crash point {at}: the child failed ({:?}):\n{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.code()
}

/// What a clean run shows at one write point.
struct Point {
    /// Where in `FileStore::save` it is.
    at: WritePoint,
    /// 1-based index of the save this point belongs to.
    save: usize,
    /// What the file holds at this point: what a crash here leaves.
    file: CardState,
}

/// The clean run, in this process: every save's new state, and the file at every point.
struct Clean {
    initial: CardState,
    saves: Vec<CardState>,
    points: Vec<Point>,
    /// ATCs of the transactions in which the card verified the PIN or accepted an issuer
    /// PIN script (the only ones that may raise its PIN Try Counter).
    granted: Vec<u16>,
}

impl Clean {
    fn run(s: &Scenario, dir: &Path) -> Self {
        let saves = Arc::new(Mutex::new(Vec::new()));
        let points = Arc::new(Mutex::new(Vec::new()));
        let (saves2, points2) = (saves.clone(), points.clone());
        let path = state_file(dir);
        let path2 = path.clone();
        let inner = FileStore::new(&path).with_write_hook(Box::new(move |at: WritePoint| {
            let file = FileStore::new(&path2)
                .load()
                .unwrap_or_else(|e| panic!("clean run, {at:?}: the state file does not load: {e}"))
                .unwrap_or_else(|| panic!("clean run, {at:?}: the state file is gone"));
            let save = saves2.lock().unwrap().len();
            points2.lock().unwrap().push(Point { at, save, file });
        }));
        let mut session = open(
            s,
            dir,
            Box::new(Probe {
                inner,
                saves: saves.clone(),
            }),
        );
        let initial = FileStore::new(&path).load().unwrap().unwrap();
        let ran = scenario::run_in(s, &mut session, false).unwrap();
        assert!(ran.report.passed, "{}: {:#?}", s.name, ran.report.steps);
        let granted = ran
            .report
            .steps
            .iter()
            .filter_map(|st| st.outcome.as_deref())
            .filter(|o| verified_pin(o) || pin_script(o))
            .filter_map(|o| o.card.as_ref().map(|c| u16::try_from(c.atc).unwrap()))
            .collect();
        drop(session);
        let saves = saves.lock().unwrap().clone();
        let points = std::mem::take(&mut *points.lock().unwrap());
        Clean {
            initial,
            saves,
            points,
            granted,
        }
    }

    /// The state before save `save` (1-based).
    fn before(&self, save: usize) -> &CardState {
        match save {
            1 => &self.initial,
            i => &self.saves[i - 2],
        }
    }

    /// Whether a crash at write point `n` (1-based) is tried: every point of a save that
    /// changes the PIN or its try counter; for the other saves (ATC, counters, flags) the
    /// last point that leaves the old file (`TempSynced`) and the first that shows the new
    /// one (`Renamed`): `Begin` and `TempWritten` leave the same file as `TempSynced`, and
    /// `Done` the same as `Renamed` (what differs is the temporary file, which the
    /// single-command crash test in crates/emv-card/tests/crash.rs covers point by point).
    fn tried(&self, n: usize) -> bool {
        let p = &self.points[n - 1];
        let (old, new) = (self.before(p.save), &self.saves[p.save - 1]);
        let pin_save =
            old.pin_try_counter != new.pin_try_counter || old.pin_cryptogram != new.pin_cryptogram;
        pin_save || matches!(p.at, WritePoint::TempSynced | WritePoint::Renamed)
    }

    /// The most PIN tries the card could have left at write point `n` (1-based).
    fn allowed(&self, n: usize, limit: u8) -> u8 {
        let save = self.points[n - 1].save;
        let atc = self.saves[save - 1].atc;
        if self.granted.contains(&atc) {
            return limit;
        }
        // the counter before the first save of this transaction (its GET PROCESSING
        // OPTIONS, which counts the ATC up)
        let first = self.saves[..save]
            .iter()
            .position(|st| st.atc == atc)
            .unwrap();
        self.before(first + 1).pin_try_counter
    }
}

/// The card verified an offline PIN in this transaction (Book 3 §6.5.12: the counter goes
/// back to the limit).
fn verified_pin(o: &Outcome) -> bool {
    o.cvm_performed.name().starts_with("offline") && o.cvm_results.0[2] == 0x02
}

/// An issuer script ran successfully in this transaction (PIN UNBLOCK / CHANGE).
fn pin_script(o: &Outcome) -> bool {
    // Book 4 Annex A5: high nibble 2 of byte 1, script processing successful
    o.script_results.iter().any(|r| r.status >> 4 == 2)
}

/// The PIN the issuer holds for the card once the scenario's host steps ran: the profile's,
/// the one `change-pin` sets, or the one `reset-pin new` generates (the same seeded
/// sequence as in the run).
fn issuer_pin(s: &Scenario) -> String {
    let perso = Personalisation::load(&s.card.profile, &s.card.overrides).unwrap();
    let mut pin = perso.source.card.pin.clone();
    let mut host = IssuerLink::Embedded(Issuer::in_memory(keys()).unwrap().with_pin_seed(s.seed));
    host.provision(&emv_session::card_provision(&perso).unwrap(), true)
        .unwrap();
    let card = emv_session::card_ref(&perso);
    for step in &s.steps {
        match &step.action {
            Action::Host(HostCall::ChangePin(p) | HostCall::SetPin(p)) => pin.clone_from(p),
            Action::Host(HostCall::ResetPin(mode)) => {
                host.reset_pin(&card, *mode).unwrap();
                if let Ok(p) = host.view_pin(&card) {
                    pin = p.to_string();
                }
            }
            _ => {}
        }
    }
    pin
}

fn transaction(session: &mut Session, terminal: &str, txn: TransactionType, pin: &str) -> Outcome {
    let kernel = Kernel::new(Profile::load(terminal).unwrap(), KernelConfig::default());
    let mut pad = ScriptedPinPad::new([pin]).unwrap();
    let params = TransactionParams {
        transaction_type: txn,
        ..TransactionParams::purchase(2000)
    };
    session.transact(&kernel, &mut pad, &params).unwrap()
}

/// After a crash: a fresh session on the state file and the same host runs the next
/// transactions, and the chip and the host end in step.
fn next_transactions_work(s: &Scenario, dir: &Path, pin: &str, what: &str) {
    let spec = CardSpec {
        state: Some(state_file(dir)),
        ..s.card.clone()
    };
    let host =
        IssuerLink::Embedded(Issuer::open_with(&host_dir(dir), keys(), SyncMode::Normal).unwrap());
    let mut session = Session::with_host(&spec, Some(host))
        .unwrap_or_else(|e| panic!("{what}: a fresh session cannot open the card: {e}"));
    let o = transaction(&mut session, "atm", TransactionType::Cash, pin);
    let log: Vec<String> = o.decisions.iter().map(Decision::text).collect();
    assert_eq!(o.outcome.name(), "online-approved", "{what}: ATM: {log:#?}");
    assert_eq!(
        o.online_pin.map(|p| p.name()),
        Some("verified"),
        "{what}: ATM"
    );
    assert_eq!(
        o.host.as_ref().map(|h| h.pending_scripts),
        Some(0),
        "{what}: ATM: the scripts are delivered"
    );
    let o = transaction(
        &mut session,
        "pos-offline-only",
        TransactionType::Purchase,
        pin,
    );
    let log: Vec<String> = o.decisions.iter().map(Decision::text).collect();
    assert_eq!(o.outcome.name(), "approved", "{what}: shop: {log:#?}");
    assert_eq!(
        o.cvm_results.to_hex(),
        "410302",
        "{what}: shop: offline PIN verified"
    );
    let card = o.card.unwrap();
    assert_eq!(card.pin_try_counter, card.pin_try_limit, "{what}: shop");
}

/// Kills the scenario at every write point (`every`), or at those [`Clean::tried`] picks.
fn crash_at_write_points(file: &str, every: bool) {
    let started = Instant::now();
    let file = root().join("scenarios").join(file);
    let s = scenario::load(&file).unwrap();
    let base = std::env::temp_dir().join(format!(
        "emvbench-crash-{}-{}",
        std::process::id(),
        file.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&base);
    let clean_dir = base.join("clean");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let clean = Clean::run(&s, &clean_dir);
    let total = clean.points.len();
    assert!(total >= 5 * 4, "{}: {total} write points", s.name);
    let perso = Personalisation::load(&s.card.profile, &s.card.overrides).unwrap();
    let limit = perso.pin_try_limit;
    let pin = issuer_pin(&s);
    let (mut in_child, mut in_recovery) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut tried = 0;
    for n in 1..=total + 1 {
        if n <= total && !every && !clean.tried(n) {
            continue;
        }
        tried += 1;
        let dir = base.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let t = Instant::now();
        let code = run_child(&file, &dir, n);
        in_child += t.elapsed();
        let what = format!("{}: killed at write point {n} of {total}", s.name);
        if n > total {
            assert_eq!(code, Some(COMPLETED), "{what}: no write point left");
            break;
        }
        assert_eq!(code, None, "{what}: the child must die by abort (signal)");
        let state = FileStore::new(state_file(&dir))
            .load()
            .unwrap_or_else(|e| panic!("{what}: the state file does not load: {e}"))
            .unwrap_or_else(|| panic!("{what}: the state file is gone"));
        let point = &clean.points[n - 1];
        assert_eq!(
            state, point.file,
            "{what} (save {}): not the state the file held there in a clean run",
            point.save
        );
        let allowed = clean.allowed(n, limit);
        assert!(
            state.pin_try_counter <= allowed,
            "{what}: PIN Try Counter {} above the {allowed} the card could have granted",
            state.pin_try_counter
        );
        let t = Instant::now();
        next_transactions_work(&s, &dir, &pin, &what);
        in_recovery += t.elapsed();
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::remove_dir_all(&base).unwrap();
    eprintln!(
        "{}: killed at {} of {total} write points ({} saves) in {:?} (children {in_child:?}, recovery {in_recovery:?})",
        s.name,
        tried - 1,
        clean.saves.len(),
        started.elapsed()
    );
}

#[test]
fn scenario_01_offline_pin_blocked_then_atm_unblock_survives_a_crash_at_every_write() {
    crash_at_write_points("01-offline-pin-blocked-atm-unblock.toml", true);
}

#[test]
fn scenario_04_reset_pin_and_atm_pin_change_survives_a_crash_at_every_write() {
    crash_at_write_points("04-reset-new-pin-view-pin-atm-sync.toml", true);
}

/// Another card (mc-cvn16: M/Chip CVN 16, CDA, its own script cryptography) and the PIN
/// changed through the issuer's API: every point of the saves that touch the PIN, one on
/// each side of the others (see [`Clean::tried`]).
#[test]
fn scenario_10_pin_change_api_and_atm_script_survives_a_crash_at_the_pin_writes() {
    crash_at_write_points("10-pin-change-api-chip-follows.toml", false);
}
