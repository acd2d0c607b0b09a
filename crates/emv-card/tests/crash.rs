//! Tearing: the writing process is killed at every persistence point of a wrong-PIN
//! VERIFY, a correct VERIFY and an unblock script; after each kill the state file must be
//! readable and must never show more PIN tries than the card could have granted.
//!
//! The test re-executes its own binary as the child (`--exact crash_child`) with the
//! crash point in the environment; the child aborts the process at that point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use emv_apdu::AcType;
use emv_card::{Card, FileStore, WritePoint};
use emv_crypto::script::ScriptCommand;

const ENV_PATH: &str = "EMVCARD_CRASH_STATE";
const ENV_AT: &str = "EMVCARD_CRASH_AT";
const ENV_STEP: &str = "EMVCARD_CRASH_STEP";

/// The child: opens the card on the state file with a hook that aborts at write point
/// number `at` (counted across the whole run) and performs `step`.
#[test]
fn crash_child() {
    let (Ok(path), Ok(at), Ok(step)) = (
        std::env::var(ENV_PATH),
        std::env::var(ENV_AT),
        std::env::var(ENV_STEP),
    ) else {
        return; // run directly by `cargo test`: nothing to do
    };
    let at: usize = at.parse().unwrap();
    let count = Arc::new(Mutex::new(0usize));
    let c2 = count.clone();
    let store = FileStore::new(&path).with_write_hook(Box::new(move |_p: WritePoint| {
        let mut n = c2.lock().unwrap();
        *n += 1;
        if *n == at {
            std::process::abort();
        }
    }));
    let mut card = Card::new(perso("visa-cvn18"), store).unwrap().with_seed(1);
    start(&mut card);
    match step.as_str() {
        "wrong" => {
            verify_pin(&mut card, "9999");
        }
        "right" => {
            verify_pin(&mut card, "1234");
        }
        "unblock" => {
            let tx = Tx::default();
            let d = tx.cdol1(&card);
            let r = parse_ac(&generate_ac(&mut card, AcType::Arqc, &d).data);
            let cmd = Issuer::of(&card).script(r.atc, r.ac, 0, &ScriptCommand::PinUnblock);
            card.handle(&cmd);
        }
        other => panic!("unknown step {other}"),
    }
    // reaching here means the crash point was past the last write
    std::process::exit(3);
}

fn run_child(path: &Path, at: usize, step: &str) -> Option<i32> {
    let exe = std::env::current_exe().unwrap();
    let status = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(ENV_PATH, path)
        .env(ENV_AT, at.to_string())
        .env(ENV_STEP, step)
        .output()
        .unwrap();
    status.status.code()
}

fn fresh(dir: &Path, ptc: u8) -> PathBuf {
    let path = dir.join("card.json");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("card.json.tmp"));
    let mut c = Card::new(perso("visa-cvn18"), FileStore::new(&path)).unwrap();
    start(&mut c);
    for _ in ptc..3 {
        verify_pin(&mut c, "9999");
    }
    assert_eq!(c.state().pin_try_counter, ptc);
    path
}

fn reopen(path: &Path) -> Card<FileStore> {
    Card::new(perso("visa-cvn18"), FileStore::new(path)).expect("state must stay readable")
}

#[test]
fn killed_at_every_write_point_never_grants_an_extra_try() {
    let dir = std::env::temp_dir().join(format!("emvcard-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // (step, counter before, allowed counters after a crash at any point)
    let cases: [(&str, u8, &[u8]); 3] = [
        ("wrong", 3, &[3, 2]), // 3 only if the crash came before the decrement was durable
        ("right", 2, &[2, 1, 3]), // 1: decremented, crashed before the reset
        ("unblock", 0, &[0, 3]),
    ];
    for (step, before, allowed) in cases {
        let mut crashes = 0;
        for at in 1..=20 {
            let path = fresh(&dir, before);
            let code = run_child(&path, at, step);
            let card = reopen(&path);
            let ptc = card.state().pin_try_counter;
            assert!(
                allowed.contains(&ptc),
                "{step}: crash at write point {at}: counter {ptc}, allowed {allowed:?}"
            );
            if step == "wrong" && code != Some(3) {
                crashes += 1;
            }
            if code == Some(3) {
                // no crash: the step completed; check its final effect
                let expected = match step {
                    "wrong" => before - 1,
                    "right" | "unblock" => 3,
                    _ => unreachable!(),
                };
                assert_eq!(ptc, expected, "{step} completed");
                break;
            }
            assert_eq!(
                code, None,
                "{step}: the child must die by abort (signal), got {code:?}"
            );
        }
        if step == "wrong" {
            assert!(
                crashes >= 5,
                "every write point of a wrong VERIFY was exercised"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
