//! The binary works outside the build tree: copied alone into an empty directory and run
//! from there, with HOME in another empty directory and no repository around, it has every
//! built-in card profile, terminal profile, the TEST host keys and the demo's scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{empty_dir, installed, run_installed as run};

#[test]
fn the_installed_binary_works_from_an_empty_directory() {
    let dir = empty_dir("installed");
    let home = empty_dir("installed-home");
    let bin = installed(&dir);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");

    // every profile of the repository's card-profiles/ is listed, built in
    let (code, out, err) = run(&bin, &dir, &home, &["card", "profiles"]);
    assert_eq!(code, 0, "{err}");
    let mut shipped = 0;
    for e in std::fs::read_dir(repo.join("card-profiles")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            let line = out
                .lines()
                .find(|l| l.split_whitespace().next() == Some(&name))
                .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
            assert!(line.ends_with("[built-in]"), "{line}");
            shipped += 1;
        }
    }
    assert!(shipped >= 10, "{out}");

    // no host: the key file is not needed
    let args = [
        "run",
        "--card",
        "visa-cvn18",
        "--amount",
        "25.00",
        "--pin",
        "1234",
    ];
    let (code, out, err) = run(
        &bin,
        &dir,
        &home,
        &[&args[..], &["--host", "none"]].concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    // the embedded host with the built-in TEST keys, a built-in terminal profile
    let (code, out, err) = run(
        &bin,
        &dir,
        &home,
        &[
            &args[..],
            &["--terminal", "atm", "--type", "cash", "--json"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "online-approved", "{out}");

    let (code, out, err) = run(&bin, &dir, &home, &["demo"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.is_empty());

    // nothing was written next to the binary
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["emvbench"], "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn profile_directories_override_and_extend_and_say_so() {
    let dir = empty_dir("installed-profiles");
    let home = empty_dir("installed-profiles-home");
    let bin = installed(&dir);
    let cards = dir.join("my-cards");
    let terminals = dir.join("my-terminals");
    std::fs::create_dir_all(&cards).unwrap();
    std::fs::create_dir_all(&terminals).unwrap();
    std::fs::write(
        cards.join("my-visa.toml"),
        "extends = \"visa-cvn18\"\nname = \"my-visa\"\ndescription = \"my own card\"\n",
    )
    .unwrap();
    let (code, out, err) = run(
        &bin,
        &dir,
        &home,
        &["card", "profiles", "--profiles", cards.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let mine = out
        .lines()
        .find(|l| l.starts_with("my-visa"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(mine.contains("my own card"), "{mine}");
    assert!(
        mine.ends_with(&format!("[{}]", cards.join("my-visa.toml").display())),
        "{mine}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("visa-cvn18 ") && l.ends_with("[built-in]"))
    );

    // a terminal directory: a new terminal by name
    let atm = include_str!("../../../terminal-profiles/atm.toml").replacen(
        "name = \"atm\"",
        "name = \"my-atm\"",
        1,
    );
    assert!(atm.contains("my-atm"), "fixture drifted");
    std::fs::write(terminals.join("my-atm.toml"), atm).unwrap();
    let (code, out, err) = run(
        &bin,
        &dir,
        &home,
        &[
            "run",
            "--card",
            "my-visa",
            "--terminal",
            "my-atm",
            "--type",
            "cash",
            "--amount",
            "20",
            "--pin",
            "1234",
            "--json",
            "--profiles",
            cards.to_str().unwrap(),
            "--terminal-profiles",
            terminals.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    // a directory that is not there is bad input
    let (code, _, err) = run(
        &bin,
        &dir,
        &home,
        &["card", "profiles", "--profiles", "nope"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--profiles nope: not a directory"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&home).unwrap();
}
