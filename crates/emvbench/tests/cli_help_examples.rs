//! Every `emvbench ...` example of every subcommand's `--help` runs as written: the files it
//! names exist in the repository (globs match), and its arguments parse (each example is run
//! from the repository's root with `--help` added, which clap prints once everything before
//! it has parsed). No help text uses words that mean nothing to a user (internal notes,
//! a citation of a document the repository does not have).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn help(path: &[String]) -> String {
    let args: Vec<&str> = path.iter().map(String::as_str).chain(["--help"]).collect();
    let (code, out, err) = common::run_binary(&args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The subcommands listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.split("\nCommands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty())
                .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every command path (`["run"]`, `["host", "serve"]`, ...) and its long help.
fn all_helps() -> Vec<(Vec<String>, String)> {
    let mut todo = vec![Vec::new()];
    let mut all = Vec::new();
    while let Some(path) = todo.pop() {
        let text = help(&path);
        for c in subcommands(&text) {
            let mut p = path.clone();
            p.push(c);
            todo.push(p);
        }
        all.push((path, text));
    }
    assert!(all.len() >= 25, "{} help texts", all.len());
    all
}

/// The example command lines of a help text: lines starting `emvbench ` (or `$ emvbench `),
/// with their `\` continuations joined and any `# comment` cut.
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = help.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start().trim_start_matches("$ ");
        if !t.starts_with("emvbench ") && t != "emvbench" {
            continue;
        }
        let mut cmd = t.to_owned();
        while cmd.trim_end().ends_with('\\') {
            cmd = cmd.trim_end().trim_end_matches('\\').to_owned();
            match lines.next() {
                Some(next) => cmd.push_str(next.trim()),
                None => break,
            }
            cmd.push(' ');
        }
        out.push(cmd);
    }
    out
}

/// Shell words: single quotes group, `#` starts a comment.
fn words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in cmd.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            '#' if !quoted && !started => break,
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(cur);
    }
    words
}

/// A word that names a file of the repository to read: a relative path into one of its
/// directories, or an input `.toml`/`.trace` file.
fn repo_file(word: &str, previous: Option<&str>) -> bool {
    let output = matches!(
        previous,
        Some("--record" | "--record-dir" | "--state" | "--data" | "-o" | "--output" | "--junit")
    );
    !output
        && !word.starts_with('-')
        && !word.starts_with('/')
        && !word.contains("://")
        && (word.contains('/')
            || Path::new(word)
                .extension()
                .is_some_and(|e| e == "toml" || e == "trace"))
}

/// The files a glob like `scenarios/*.toml` matches (only `*` in the last part).
fn glob(pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or((".", pattern));
    let (pre, post) = name.split_once('*').unwrap();
    let mut found: Vec<String> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len())
        .map(|n| format!("{dir}/{n}"))
        .collect();
    found.sort();
    found
}

#[test]
fn every_help_example_names_real_files_and_parses() {
    let mut checked = 0;
    for (path, text) in all_helps() {
        for example in examples(&text) {
            let mut args: Vec<String> = Vec::new();
            let ws = words(&example);
            for (i, w) in ws.iter().enumerate().skip(1) {
                let previous = i.checked_sub(1).map(|p| ws[p].as_str());
                if w.contains('*') {
                    let files = glob(w);
                    assert!(
                        !files.is_empty(),
                        "{path:?}: {example}: {w} matches nothing"
                    );
                    args.extend(files);
                    continue;
                }
                if repo_file(w, previous) {
                    assert!(
                        repo().join(w).exists(),
                        "{path:?}: the example `{example}` names {w}, which does not exist"
                    );
                }
                args.push(w.clone());
            }
            // clap prints the help once everything before `--help` has parsed
            args.push("--help".into());
            let out = common::emvbench()
                .args(&args)
                .current_dir(repo())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{path:?}: the example `{example}` does not parse: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} examples");
}

#[test]
fn help_texts_use_no_internal_words() {
    let docs: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for (path, text) in all_helps() {
        for bad in [
            "emv-reference",
            "MISSION",
            "dependencies.md",
            "pcsc-vpcd.md",
            "../shared",
            "[NOT MET]",
        ] {
            assert!(!text.contains(bad), "{path:?} says {bad:?}:\n{text}");
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        for w in words.windows(2) {
            // "issue 6" is a note of ours, not something a user can look up
            assert!(
                !(w[0].eq_ignore_ascii_case("issue")
                    && w[1].starts_with(|c: char| c.is_ascii_digit())),
                "{path:?}: {} {}",
                w[0],
                w[1]
            );
            // a section sign cites a public standard or a file of docs/
            if w[1].starts_with('§') && w[0].ends_with(".md") {
                let file = w[0]
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .trim_start_matches(['(', '[', '`']);
                assert!(
                    docs.iter().any(|d| d == file),
                    "{path:?} cites {} {}",
                    w[0],
                    w[1]
                );
            }
        }
    }
}

/// The options a help text declares (`  -x, --name ...` / `      --name ...` lines).
fn declared(help: &str) -> Vec<String> {
    help.lines()
        .filter(|l| {
            let t = l.trim_start();
            // `--name` or `-x, --name`, not a `- value: ...` line
            l.starts_with("  ") && (t.starts_with("--") || t.get(2..4) == Some(", "))
        })
        .flat_map(|l| {
            l.split([' ', ','])
                .filter(|w| w.starts_with("--"))
                .map(|w| {
                    w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                        .to_owned()
                })
                .take(1)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What a command's arguments say about other flags is true of that command: an argument
/// description mentions only flags the command has (like the `--cashback` that `tui` does
/// not have), or cargo's.
#[test]
fn argument_descriptions_mention_only_flags_the_command_has() {
    for (path, text) in all_helps() {
        // the Options section: its indented lines, up to the first one that is not
        let options: Vec<&str> = text
            .split("\nOptions:\n")
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .collect();
        let options = options.join("\n");
        let own = declared(&text);
        // `emvbench other ...` in backticks quotes another command, with its own flags
        let options: String = options
            .split('`')
            .enumerate()
            .filter(|(i, part)| i % 2 == 0 || !part.starts_with("emvbench "))
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        for w in
            options.split(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | ')' | ',' | ';'))
        {
            let flag = w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            // `--pc-*` names CSS custom properties, not a flag
            if !flag.starts_with("--") || flag.len() < 3 || w.contains('*') {
                continue;
            }
            let name = flag.split('=').next().unwrap();
            assert!(
                own.iter().any(|o| o == name)
                    || ["--features", "--release", "--locked"].contains(&name),
                "{path:?}: its help mentions {name}, which it does not have:\n{options}"
            );
        }
    }
}
