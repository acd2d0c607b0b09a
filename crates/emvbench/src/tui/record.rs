//! Recording a TUI session: one JSON object per line for every transaction (its outcome
//! object with the masked APDU log, docs/formats.md §1, §4) and every card or host action.
//! It is a session log, not a replayable trace (`emvbench run --record` and `scenario run
//! --record-dir` write those). PINs are never written: the APDU log masks the data of every
//! PIN-bearing command (`emv_apdu::describe`) and View PIN is recorded without its value.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use emv_kernel::{Outcome, TransactionParams};
use serde_json::{Value, json};

/// An open recording.
pub struct Recorder {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Recorder {
    /// Starts recording to `path` (appending: a session can be recorded in pieces).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut r = Recorder {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        r.write(&json!({
            "event": "start",
            "tool": concat!("emvbench ", env!("CARGO_PKG_VERSION")),
            "format": "emvbench tui session log, JSON lines",
        }))?;
        Ok(r)
    }

    /// Where it records.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, v: &Value) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// One transaction.
    pub fn transaction(
        &mut self,
        card: &str,
        terminal: &str,
        params: &TransactionParams,
        outcome: &Outcome,
    ) -> std::io::Result<()> {
        let d = params.date;
        self.write(&json!({
            "event": "transaction",
            "card": card,
            "terminal": terminal,
            "amount": params.amount,
            "type": params.transaction_type.name(),
            "date": format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            "seed": params.seed,
            "outcome": outcome,
        }))
    }

    /// A card or host action and what came of it (`ok` or the error).
    pub fn action(&mut self, action: &str, result: &str) -> std::io::Result<()> {
        self.write(&json!({ "event": "action", "action": action, "result": result }))
    }
}
