//! The card of a session: the software card in-process (its state in memory or in a file),
//! or any other [`Transport`] (a real card in a PC/SC reader, a replayed trace).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use emv_apdu::{Transport, TransportError};
use emv_card::{Card, CardStatus, CardStore, FileStore, MemoryStore, Personalisation, TagOverride};
use emv_transport::{InProcessCard, Removable};

use crate::SessionError;

/// The software card with its state behind any store.
pub type SoftCard = InProcessCard<Box<dyn CardStore + Send>>;

/// How to make the software card of a session.
#[derive(Debug, Clone, Default)]
pub struct CardSpec {
    /// Card profile name (in `card-profiles/`) or path.
    pub profile: String,
    /// `--card-tag` overrides.
    pub overrides: Vec<TagOverride>,
    /// Where the card keeps its state; `None`: in memory, freshly personalised.
    pub state: Option<PathBuf>,
    /// Seed of the card's random numbers (GET CHALLENGE, ICC dynamic numbers); `None`:
    /// the system's random source.
    pub seed: Option<u64>,
}

impl CardSpec {
    /// A fresh in-memory card of `profile`.
    pub fn profile(profile: impl Into<String>) -> Self {
        Self {
            profile: profile.into(),
            ..Self::default()
        }
    }

    /// Personalises (or loads) the card. The flag says whether it is freshly personalised
    /// (in memory, or a state file that did not exist yet).
    pub fn open(&self) -> Result<(SoftCard, bool), SessionError> {
        let perso = Arc::new(Personalisation::load(&self.profile, &self.overrides)?);
        let (store, fresh): (Box<dyn CardStore + Send>, bool) = match &self.state {
            None => (Box::new(MemoryStore::new()), true),
            Some(path) => (Box::new(FileStore::new(path)), !exists(path)),
        };
        let mut card = Card::new(perso, store)?;
        if let Some(seed) = self.seed {
            card = card.with_seed(seed);
        }
        Ok((InProcessCard::new(card), fresh))
    }
}

fn exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok()
}

/// The card a session drives.
pub enum CardSlot {
    /// The software card, whose state the session can read.
    Soft(Box<SoftCard>),
    /// A card the session reaches only through APDUs.
    External(Box<dyn Transport + Send>),
}

impl std::fmt::Debug for CardSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Soft(c) => write!(f, "CardSlot::Soft({})", c.card().personalisation().name),
            Self::External(_) => f.write_str("CardSlot::External"),
        }
    }
}

impl CardSlot {
    /// The software card's status, if this is the software card.
    pub fn status(&self) -> Option<CardStatus> {
        match self {
            Self::Soft(c) => Some(c.card().status()),
            Self::External(_) => None,
        }
    }

    /// The software card's personalisation, if this is the software card.
    pub fn personalisation(&self) -> Option<&Personalisation> {
        match self {
            Self::Soft(c) => Some(c.card().personalisation()),
            Self::External(_) => None,
        }
    }

    /// The software card, if this is it.
    pub fn soft_mut(&mut self) -> Option<&mut SoftCard> {
        match self {
            Self::Soft(c) => Some(c),
            Self::External(_) => None,
        }
    }
}

/// Pulling the software card out loses its volatile state; a card reached only through
/// APDUs stays where it is (its exchanges fail while it counts as pulled).
impl Removable for CardSlot {
    fn remove(&mut self) {
        if let Self::Soft(c) = self {
            c.remove();
        }
    }
    fn insert(&mut self) {
        if let Self::Soft(c) = self {
            c.insert();
        }
    }
}

impl Transport for CardSlot {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Soft(c) => c.transmit(capdu),
            Self::External(t) => t.transmit(capdu),
        }
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Soft(c) => c.power_on(),
            Self::External(t) => t.power_on(),
        }
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Soft(c) => c.reset(),
            Self::External(t) => t.reset(),
        }
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        match self {
            Self::Soft(c) => c.power_off(),
            Self::External(t) => t.power_off(),
        }
    }
}
