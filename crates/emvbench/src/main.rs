//! `emvbench`: the command-line front end of the EMV test bench.
//!
//! Each subcommand lives in its own module under `cli/`; library crates hold the logic.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

mod cli;
mod tui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            let (message, code) = cli::report(&err);
            eprintln!("error: {message}");
            code
        }
    }
}
