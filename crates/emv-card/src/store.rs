//! Where the card keeps its [`CardState`]: in memory, or in a file written atomically
//! (write a temporary file, fsync it, rename it over the old one, fsync the directory) so
//! that a crash at any point leaves either the old or the new state, never a torn file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::CardError;
use crate::state::{CardState, STATE_VERSION};

/// A place for the card's persistent state.
pub trait CardStore {
    /// Reads the saved state; `None` for a fresh card.
    fn load(&mut self) -> Result<Option<CardState>, CardError>;
    /// Makes `state` durable before returning.
    fn save(&mut self, state: &CardState) -> Result<(), CardError>;
    /// A name for messages (`memory` or the file path).
    fn describe(&self) -> String;
}

impl<S: CardStore + ?Sized> CardStore for Box<S> {
    fn load(&mut self) -> Result<Option<CardState>, CardError> {
        (**self).load()
    }
    fn save(&mut self, state: &CardState) -> Result<(), CardError> {
        (**self).save(state)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// State in memory (tests, in-process transactions, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    state: Option<CardState>,
    saves: u64,
    fail_saves: bool,
}

impl MemoryStore {
    /// An empty store (fresh card).
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times the state was saved.
    pub fn saves(&self) -> u64 {
        self.saves
    }

    /// The last saved state.
    pub fn saved(&self) -> Option<&CardState> {
        self.state.as_ref()
    }

    /// Makes every later save fail (to test that a failed write changes nothing).
    pub fn fail_saves(&mut self, fail: bool) {
        self.fail_saves = fail;
    }
}

impl CardStore for MemoryStore {
    fn load(&mut self) -> Result<Option<CardState>, CardError> {
        Ok(self.state.clone())
    }
    fn save(&mut self, state: &CardState) -> Result<(), CardError> {
        if self.fail_saves {
            return Err(CardError::Store {
                path: "memory".into(),
                reason: "write failed (injected)".into(),
            });
        }
        self.saves += 1;
        self.state = Some(state.clone());
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// The points inside [`FileStore::save`] where a crash can happen (the crash test kills
/// the process at each of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePoint {
    /// Before anything is written.
    Begin,
    /// The temporary file is written but not synced.
    TempWritten,
    /// The temporary file is synced.
    TempSynced,
    /// The rename is done but the directory is not synced.
    Renamed,
    /// Everything is durable.
    Done,
}

/// A hook called at every [`WritePoint`] (fault injection).
pub type WriteHook = Box<dyn FnMut(WritePoint) + Send>;

/// State in a JSON file, written atomically.
pub struct FileStore {
    path: PathBuf,
    hook: Option<WriteHook>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            hook: None,
        }
    }

    /// Calls `hook` at every write point (fault injection).
    pub fn with_write_hook(mut self, hook: WriteHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".tmp");
        self.path.with_file_name(name)
    }

    fn point(&mut self, p: WritePoint) {
        if let Some(h) = self.hook.as_mut() {
            h(p);
        }
    }

    fn err(&self, reason: impl Into<String>) -> CardError {
        CardError::Store {
            path: self.path.display().to_string(),
            reason: reason.into(),
        }
    }
}

impl CardStore for FileStore {
    fn load(&mut self) -> Result<Option<CardState>, CardError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(e.to_string())),
        };
        let state: CardState = serde_json::from_str(&text)
            .map_err(|e| self.err(format!("not a card state file: {e}")))?;
        if state.version > STATE_VERSION {
            return Err(self.err(format!(
                "written by a newer emvbench (state version {}, this one reads up to {STATE_VERSION})",
                state.version
            )));
        }
        Ok(Some(state.migrate()))
    }

    fn save(&mut self, state: &CardState) -> Result<(), CardError> {
        self.point(WritePoint::Begin);
        let json = serde_json::to_vec_pretty(state).map_err(|e| self.err(e.to_string()))?;
        let tmp = self.temp_path();
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(|e| self.err(format!("{}: {e}", tmp.display())))?;
            f.write_all(&json).map_err(|e| self.err(e.to_string()))?;
            self.point(WritePoint::TempWritten);
            f.sync_all().map_err(|e| self.err(e.to_string()))?;
        }
        self.point(WritePoint::TempSynced);
        fs::rename(&tmp, &self.path).map_err(|e| self.err(e.to_string()))?;
        self.point(WritePoint::Renamed);
        // The rename is durable only once the directory entry is.
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            d.sync_all().map_err(|e| self.err(e.to_string()))?;
        }
        self.point(WritePoint::Done);
        Ok(())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}
