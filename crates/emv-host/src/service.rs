//! The issuer service: the public [`Issuer`] API that the HTTP layer, the embedded
//! [`Host`], the scenario runner and the TUI call. Each call is one store transaction
//! ([`Store::write`]) in which the service loads what the rules ([`crate::rules`]) need,
//! runs them and applies their effects (docs/issuer-host.md §9). The authorisation rules
//! and their order are documented in [`crate::rules`]. No HTTP here, and no SQL.

use std::sync::{Arc, Mutex};

use emv_auth::{Advice, AdviceResponse, AuthRequest, AuthResponse, Host, HostError, PinData};
use emv_crypto::script::IccKeys;
use emv_crypto::{CryptoError, Pin, TdesKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;
use crate::audit::{AuditEntry, AuditRecord, mask_pan};
use crate::chip::{self, ChipData};
use crate::keys::HostKeys;
use crate::pin::{self, PinRecord};
use crate::provision::{CardProvision, CardStatus, PinVerificationMethod, Plastic, PlasticStatus};
use crate::rules::authorise::{self, ChipCheck};
use crate::rules::pin::PresentedPin;
use crate::rules::provision::PlasticUpdate;
use crate::rules::{self, CardRecord, Effects, ScriptRow, scripts};
use crate::scripts::{ScriptKind, ScriptView};
use crate::store::{self, HostStore, NewCard, SqliteStore, Store, StoreTx, SyncMode};
use crate::time::now_unix;

pub use crate::rules::advice::AdviceOutcome;
pub use crate::rules::provision::ProvisionOutcome;
pub use crate::rules::{CardRef, CardSummary};

/// `reset` mode of the PIN reset API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinResetMode {
    /// Generate a new random PIN (retrievable only through View PIN), to be written to
    /// the chip by a PIN CHANGE script.
    New,
    /// Keep the PIN; only reset the online counter.
    Keep,
}

/// The answer of the PIN management calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinOutcome {
    /// What was done (`pin-unblock`, `pin-reset`, `pin-change`).
    pub action: String,
    /// Online PIN tries left after the call.
    pub online_pin_tries_left: u8,
    /// The online PIN try limit.
    pub online_pin_try_limit: u8,
    /// Scripts waiting for the chip.
    pub pending_scripts: Vec<ScriptView>,
    /// What happened, in words.
    pub message: String,
    /// The recommended next step for the cardholder, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

/// What the host knows of the chip (from the CVRs and the script results it saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipView {
    /// Offline PIN blocked (PIN Try Limit exceeded), per the last CVR or script result.
    pub offline_pin_blocked: Option<bool>,
    /// The chip's PIN Try Counter, where the CVR carries it.
    pub pin_try_counter: Option<u8>,
    /// The chip's PIN Try Limit (provisioned).
    pub offline_pin_try_limit: u8,
    /// ATC of the last verified online request.
    pub last_online_atc: Option<u16>,
    /// The last IAD's CVR bytes (hex), as the scheme numbers them (Visa: 4 bytes, the
    /// first its length `03`; M/Chip 6; CCD 5).
    pub last_cvr: Option<String>,
    /// When the chip was last seen online.
    pub last_seen_at: Option<String>,
}

/// A card's state for the status API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    /// The PAN, masked.
    pub pan: String,
    /// PAN sequence number.
    pub psn: String,
    /// Application expiry YYMM.
    pub expiry: String,
    /// Cryptogram version.
    pub cvn: String,
    /// Issuer status.
    pub card_status: CardStatus,
    /// Online PIN tries left.
    pub online_pin_tries_left: u8,
    /// Online PIN try limit.
    pub online_pin_try_limit: u8,
    /// Whether the online PIN is blocked (every authorisation answers 75).
    pub online_pin_blocked: bool,
    /// How the PIN is verified.
    pub pin_verification: PinVerificationMethod,
    /// View PIN can show the PIN now: the verification data is recoverable (or kept
    /// alongside, sealed), or a PIN change is pending (docs/pin.md §5, §7).
    #[serde(default)]
    pub view_pin: bool,
    /// Open-to-buy in minor units.
    pub open_to_buy: u64,
    /// Account currency (ISO 4217 numeric).
    pub currency: u16,
    /// What the host knows of the chip.
    pub chip: ChipView,
    /// Number of scripts waiting for the chip (pending or sent, not confirmed).
    pub pending_scripts: usize,
    /// Their kinds.
    pub pending_script_kinds: Vec<ScriptKind>,
    /// The card's scripts, newest last (at most 20).
    pub scripts: Vec<ScriptView>,
    /// The plastics.
    pub plastics: Vec<Plastic>,
}

/// The issuer host service over a store (the run-time choice of [`HostStore`] unless said
/// otherwise). Cheap to clone; clones share the store and keys.
pub struct Issuer<S = HostStore> {
    store: Arc<S>,
    keys: Arc<HostKeys>,
    /// Seeded source of new PINs (reproducible scenarios); `None`: the system RNG.
    pin_seed: Option<Arc<Mutex<u64>>>,
}

impl<S> Clone for Issuer<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            keys: Arc::clone(&self.keys),
            pin_seed: self.pin_seed.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Issuer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer").finish_non_exhaustive()
    }
}

impl Issuer<HostStore> {
    /// Opens (creating and migrating) the store in `data_dir` ([`store::DB_FILE`]), every
    /// answer on disk ([`SyncMode::Full`]).
    pub fn open(data_dir: &std::path::Path, keys: HostKeys) -> Result<Self, Error> {
        Self::open_with(data_dir, keys, SyncMode::Full)
    }

    /// [`Issuer::open`] with a chosen [`SyncMode`].
    pub fn open_with(
        data_dir: &std::path::Path,
        keys: HostKeys,
        sync: SyncMode,
    ) -> Result<Self, Error> {
        let store = SqliteStore::open(Some(&store::db_path(data_dir)?), sync)?;
        Ok(Self::with_store(HostStore::Sqlite(store), keys))
    }

    /// Opens (creating and migrating) the store at a database file path.
    pub fn open_file(path: &std::path::Path, keys: HostKeys) -> Result<Self, Error> {
        Ok(Self::with_store(
            HostStore::Sqlite(SqliteStore::open(Some(path), SyncMode::Full)?),
            keys,
        ))
    }

    /// A service over a private in-memory store (tests, demos; nothing is durable).
    pub fn in_memory(keys: HostKeys) -> Result<Self, Error> {
        Ok(Self::with_store(
            HostStore::Sqlite(SqliteStore::open(None, SyncMode::Full)?),
            keys,
        ))
    }

    /// Whether the store is a database server that other host processes may share
    /// (PostgreSQL), rather than this process's own SQLite.
    pub fn shared_store(&self) -> bool {
        match *self.store {
            HostStore::Sqlite(_) => false,
            #[cfg(feature = "postgres")]
            HostStore::Postgres(_) => true,
        }
    }

    /// Connects to a database server by URL, `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
    /// (a build with the `postgres` feature; docs/postgres.md), with at most `pool_size`
    /// connections. A URL of another kind, or a build without PostgreSQL, is a clear
    /// error naming the URL without its password.
    pub fn open_database(url: &str, keys: HostKeys, pool_size: usize) -> Result<Self, Error> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::BadRequest(format!(
                "database URL {}: expected postgres://USER@HOST[:PORT]/DB",
                store::redact_url(url)
            )));
        }
        #[cfg(feature = "postgres")]
        return Self::open_postgres(url, keys, pool_size);
        #[cfg(not(feature = "postgres"))]
        {
            let _ = (keys, pool_size);
            Err(Error::BadRequest(format!(
                "database URL {}: this build has no PostgreSQL support (build with the \
                 `postgres` feature: cargo build --release --features emvbench/postgres)",
                store::redact_url(url)
            )))
        }
    }

    /// Connects to the PostgreSQL database at `url` (creating or migrating its schema),
    /// with at most `pool_size` connections: a host node of an issuer that several nodes
    /// share (docs/postgres.md).
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, keys: HostKeys, pool_size: usize) -> Result<Self, Error> {
        let store = store::PgStore::open(url, pool_size)?;
        Ok(Self::with_store(HostStore::Postgres(store), keys))
    }
}

fn random_auth_code() -> Result<String, Error> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| Error::Io {
        context: "operating system RNG".into(),
        io: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("{:06}", u32::from_be_bytes(b) % 1_000_000))
}

impl<S: Store> Issuer<S> {
    /// A service over `store`.
    pub fn with_store(store: S, keys: HostKeys) -> Self {
        Self {
            store: Arc::new(store),
            keys: Arc::new(keys),
            pin_seed: None,
        }
    }

    /// Makes the PINs that "reset PIN (new)" generates a reproducible sequence from
    /// `seed` instead of the system RNG: for scenarios and their recorded traces only.
    pub fn with_pin_seed(mut self, seed: u64) -> Self {
        self.pin_seed = Some(Arc::new(Mutex::new(seed)));
        self
    }

    /// The host's keys.
    pub fn keys(&self) -> &HostKeys {
        &self.keys
    }

    /// Provisions a card, or refreshes an existing one (same PAN and PSN) keeping its PIN,
    /// counters, balance, chip knowledge and scripts unless `reset`.
    pub fn provision(&self, p: &CardProvision, reset: bool) -> Result<ProvisionOutcome, Error> {
        p.validate()?;
        let prov = |what: &str, e: CryptoError| Error::Provision(format!("{what}: {e}"));
        let imk = |what: &str, s: &crate::keys::Secret| {
            TdesKey::from_hex(s.expose()).map_err(|e| prov(what, e))
        };
        let icc = IccKeys::derive(
            p.cvn,
            &imk("imk_ac", &p.imk_ac)?,
            &imk("imk_smi", &p.imk_smi)?,
            &imk("imk_smc", &p.imk_smc)?,
            &p.pan,
            Some(&p.psn),
        )
        .map_err(|e| prov("ICC master keys", e))?;
        let mut blob = Zeroizing::new(Vec::with_capacity(48));
        for k in [&icc.ac, &icc.smi, &icc.smc] {
            if k.byte_len() != 16 {
                return Err(Error::Provision(
                    "issuer master keys must be double-length TDES".into(),
                ));
            }
            blob.extend_from_slice(k.as_bytes());
        }
        let sealed = self.keys.seal(&blob)?;
        let pin = Pin::new(p.pin.expose()).map_err(|e| prov("pin", e))?;
        let pvki = p.pvki.unwrap_or(self.keys.default_pvki());
        let mut record = PinRecord::new(&self.keys, &p.pan, p.pin_verification, pvki, &pin)?;
        if p.view_pin {
            record = record.recoverable(&self.keys, &p.pan, &pin)?;
        }
        drop(pin);
        let otb = i64::try_from(p.open_to_buy)
            .map_err(|_| Error::Provision("open_to_buy is too large".into()))?;
        let p = p.clone();
        self.store.write(move |tx| {
            let now = now_unix();
            let card = NewCard {
                pan: &p.pan,
                psn: &p.psn,
                expiry: &p.expiry,
                cvn: p.cvn.name(),
                icc_keys: &sealed,
                pin: &record,
                online_pin_try_limit: p.online_pin_try_limit,
                offline_pin_try_limit: p.offline_pin_try_limit,
                status: p.status,
                open_to_buy: otb,
                currency: p.currency,
                at: now,
            };
            let existing = tx.card_id(&p.pan, &p.psn)?;
            let outcome = rules::provision::outcome(existing, reset);
            let id = match existing {
                None => tx.insert_card(&card)?,
                Some(id) if outcome == ProvisionOutcome::Updated => {
                    tx.refresh_card(id, &card)?;
                    id
                }
                Some(id) => {
                    tx.reset_card(id, &card)?;
                    id
                }
            };
            for pl in &p.plastics {
                let owner = tx.plastic_owner(&pl.plastic_id)?;
                match rules::provision::plastic(owner, id, &pl.plastic_id)? {
                    PlasticUpdate::Insert => tx.insert_plastic(id, pl)?,
                    PlasticUpdate::RefreshExpiry => {
                        tx.set_plastic_expiry(&pl.plastic_id, &pl.expiry)?
                    }
                }
            }
            let audit =
                AuditRecord::new(now, "provisioning", outcome.action(), &p.pan, &p.psn, "ok");
            tx.insert_audit(&audit)?;
            Ok(outcome)
        })
    }

    /// Authorises a request (see [`crate::rules`] for the rules and their order).
    pub fn authorise(&self, req: &AuthRequest) -> Result<AuthResponse, Error> {
        self.store.write(self.authorisation(req)?)
    }

    /// [`Self::authorise`] for an async caller (the network front ends): the same rules
    /// and answer, the transaction awaited without blocking the runtime's thread.
    pub async fn authorise_async(&self, req: &AuthRequest) -> Result<AuthResponse, Error> {
        self.store.write_async(self.authorisation(req)?).await
    }

    /// Rule 1 and the PIN block's decryption, before any transaction; then the work of the
    /// authorisation's one transaction.
    fn authorisation(
        &self,
        req: &AuthRequest,
    ) -> Result<impl FnOnce(&mut dyn StoreTx) -> Result<AuthResponse, Error> + Send + 'static, Error>
    {
        // rule 1: a malformed message changes nothing
        let card = CardRef::new(req.pan.clone(), req.psn.as_deref());
        card.check()?;
        let chip = chip::parse(&req.icc_data)?;
        authorise::check_message(req, chip.as_ref())?;
        // decrypt the PIN before the transaction: a block naming an unknown key or the
        // wrong format changes nothing; one that does not decode is a wrong PIN (rule 8)
        let pin = req
            .pin
            .as_ref()
            .map(
                |p| match pin::decrypt_terminal_pin(&self.keys, &req.pan, p) {
                    Ok(pin) => Ok(PresentedPin::Decoded(pin)),
                    Err(e @ Error::PinBlockUndecryptable(_)) => {
                        // the detail for the operator only; it names no digit
                        tracing::warn!(pan = %mask_pan(&req.pan), stan = req.stan, error = %e,
                        "PIN block did not decode: answered as a wrong PIN");
                        Ok(PresentedPin::Undecodable)
                    }
                    Err(e) => Err(e),
                },
            )
            .transpose()?;
        let card = CardRef {
            psn: card
                .psn
                .or_else(|| chip.as_ref().and_then(|c| c.psn.clone())),
            ..card
        };
        let keys = Arc::clone(&self.keys);
        let req = req.clone();
        Ok(move |tx: &mut dyn StoreTx| {
            authorise_in(tx, &keys, &req, &card, chip.as_ref(), pin.as_ref())
        })
    }

    /// Takes a completion or reversal advice about an answer the host journalled (PAN,
    /// STAN, RRN and ATC for a completion; DE 90, or STAN, PAN, terminal id and date, for a
    /// reversal): settles the scripts that answer carried as its 9F5B reports (EMV 4.4
    /// Book 4 §6.3.9, Annex A5) and, for a reversal, gives an approval's amount back once.
    /// An advice about no such answer is answered `25` and changes nothing
    /// (docs/issuer-host.md §5).
    pub fn advise(&self, advice: &Advice) -> Result<AdviceOutcome, Error> {
        self.store.write(self.advice_work(advice)?)
    }

    /// [`Self::advise`] for an async caller (the network front ends).
    pub async fn advise_async(&self, advice: &Advice) -> Result<AdviceOutcome, Error> {
        self.store.write_async(self.advice_work(advice)?).await
    }

    /// The advice's checks, before any transaction; then the work of its one transaction.
    fn advice_work(
        &self,
        advice: &Advice,
    ) -> Result<impl FnOnce(&mut dyn StoreTx) -> Result<AdviceOutcome, Error> + Send + 'static, Error>
    {
        let card = CardRef::new(advice.pan.clone(), advice.psn.as_deref());
        card.check()?;
        if let Some(rrn) = &advice.rrn {
            authorise::check_rrn(rrn)?;
        }
        let list =
            emv_tlv::parse_all(&advice.icc_data).map_err(|e| Error::IccData(e.to_string()))?;
        let results = match emv_tlv::find(&list, emv_tlv::Tag::new(0x9F5B)) {
            Some(t) => crate::scripts::parse_results(t.value())?,
            None => Vec::new(),
        };
        let atc = match emv_tlv::find(&list, emv_tlv::Tag::new(0x9F36)) {
            Some(t) => Some(
                <[u8; 2]>::try_from(t.value())
                    .map(u16::from_be_bytes)
                    .map_err(|_| Error::IccData("9F36 (ATC) is not 2 bytes".into()))?,
            ),
            None => None,
        };
        let advice = advice.clone();
        Ok(move |tx: &mut dyn StoreTx| {
            let mut card = match tx.card_for_update(&card) {
                Ok(c) => c,
                // no such card: no such original either
                Err(Error::UnknownCard { .. }) => {
                    return Ok(AdviceOutcome {
                        response_code: emv_auth::ResponseCode::NO_ORIGINAL,
                        ..AdviceOutcome::default()
                    });
                }
                Err(e) => return Err(e),
            };
            let now = now_unix();
            let answers = tx.answered(card.id, rules::advice::journal_stan(&advice))?;
            let original = rules::advice::find_original(&advice, atc, &answers, now);
            let open = match original {
                Some(_) => tx.scripts_open(card.id)?,
                None => Vec::new(),
            };
            let s = rules::advice::settle(&mut card, open, &results, &advice, original, now);
            let effects = Effects {
                card: s.card_changed.then_some(&card.state),
                scripts: s.scripts,
                reversed: s.reversed,
                ..Effects::default()
            };
            tx.apply(card.id, &effects)?;
            let out = s.outcome;
            tracing::info!(
                pan = %mask_pan(&card.pan),
                stan = advice.stan,
                reason = ?advice.reason,
                code = out.response_code.as_str(),
                confirmed = out.confirmed.len(),
                retry = out.retry.len(),
                ignored = out.ignored.len(),
                reversed = out.reversed,
                "advice"
            );
            Ok(out)
        })
    }

    /// The card's state: counters, what the host knows of the chip, scripts, plastics.
    pub fn card_status(&self, card: &CardRef) -> Result<CardView, Error> {
        card.check()?;
        self.store.read(|tx| {
            let c = tx.find_card(card)?;
            card_view(tx, &c)
        })
    }

    /// The card's online PIN counter, status and number of open scripts: what a session
    /// reads back after every transaction, at a fraction of [`Self::card_status`]'s cost.
    pub fn card_summary(&self, card: &CardRef) -> Result<CardSummary, Error> {
        card.check()?;
        match self.store.card_summary(card)? {
            Some(summary) => Ok(summary),
            // unknown or ambiguous: `find_card` answers with the error that says which (or,
            // if the card was provisioned meanwhile, the full view has the same values)
            None => self.store.read(|tx| {
                let c = tx.find_card(card)?;
                let v = card_view(tx, &c)?;
                Ok(CardSummary {
                    online_pin_tries_left: v.online_pin_tries_left,
                    card_status: v.card_status,
                    pending_scripts: v.pending_scripts,
                })
            }),
        }
    }

    /// The card's plastics.
    pub fn plastics(&self, card: &CardRef) -> Result<Vec<Plastic>, Error> {
        Ok(self.card_status(card)?.plastics)
    }

    /// Unblock PIN (docs/issuer-host.md §7, docs/pin.md §6.1): resets the online counter
    /// and queues a PIN UNBLOCK script for the chip's next online authorisation.
    pub fn unblock_pin(&self, card: &CardRef, actor: &str) -> Result<PinOutcome, Error> {
        card.check()?;
        let (card, actor) = (card.clone(), actor.to_string());
        self.store.write(move |tx| {
            let now = now_unix();
            let mut c = tx.card_for_update(&card)?;
            let kind = rules::pin::unblock(&mut c);
            let mut open = tx.scripts_open(c.id)?;
            queue(tx, &c, &mut open, kind, now)?;
            let audit = c.audit(now, &actor, "pin-unblock", "ok");
            tx.apply(c.id, &management(&c, now, audit))?;
            Ok(pin_outcome(
                &c,
                &open,
                "pin-unblock",
                "online PIN counter reset; a PIN UNBLOCK script is queued for the chip's next online authorisation",
                Some(rules::pin::unblock_next_step(&c)),
            ))
        })
    }

    /// Reset PIN: `New` generates a random PIN (kept only as verification data and,
    /// encrypted, for the pending PIN CHANGE script; read it through View PIN), `Keep`
    /// only resets the online counter (docs/pin.md §6.1).
    pub fn reset_pin(
        &self,
        card: &CardRef,
        mode: PinResetMode,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        card.check()?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        let pin_seed = self.pin_seed.clone();
        self.store.write(move |tx| {
            let now = now_unix();
            let mut c = tx.card_for_update(&card)?;
            match mode {
                PinResetMode::Keep => {
                    rules::pin::reset_online_counter(&mut c);
                    let open = tx.scripts_open(c.id)?;
                    let audit = c.audit(now, &actor, "pin-reset-keep", "ok");
                    tx.apply(c.id, &management(&c, now, audit))?;
                    Ok(pin_outcome(
                        &c,
                        &open,
                        "pin-reset",
                        "online PIN counter reset; the PIN is unchanged",
                        None,
                    ))
                }
                PinResetMode::New => {
                    // a PVV covers 4 digits (docs/pin.md §5); the others keep the length
                    let len = match c.state.pin.method {
                        PinVerificationMethod::Pvv => 4,
                        _ => usize::from(c.state.pin.pin_len).clamp(4, 12),
                    };
                    let new_pin = match &pin_seed {
                        Some(m) => {
                            let mut state = m.lock().map_err(|_| {
                                Error::Corrupt("PIN generator lock poisoned".into())
                            })?;
                            pin::random_pin_from(len, Some(&mut state))?
                        }
                        None => pin::random_pin(len)?,
                    };
                    let open = set_new_pin(tx, &keys, &mut c, &new_pin, now)?;
                    let audit = c.audit(now, &actor, "pin-reset-new", "ok");
                    tx.apply(c.id, &management(&c, now, audit))?;
                    Ok(pin_outcome(
                        &c,
                        &open,
                        "pin-reset",
                        "a new PIN was generated; it can be read only through View PIN, and a PIN CHANGE \
                         script is queued for the chip",
                        Some(
                            "Show the cardholder the new PIN through View PIN, then make an ATM \
                             transaction with it: that writes the new PIN to the chip.",
                        ),
                    ))
                }
            }
        })
    }

    /// Change PIN: the new PIN arrives as an encrypted PIN block (format 0 or 4 under a
    /// terminal/zone key), never in clear; trivial PINs are refused (and audited).
    pub fn change_pin(
        &self,
        card: &CardRef,
        new_pin: &PinData,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        card.check()?;
        let pin = pin::decrypt_terminal_pin(&self.keys, &card.pan, new_pin)?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        self.store.write(move |tx| {
            let c = tx.card_for_update(&card)?;
            change_pin_in(tx, &keys, c, &pin, &actor, "pin-change")
        })?
    }

    /// Blocks (`Blocked`: every authorisation answers 62) or unblocks the card.
    pub fn set_card_status(
        &self,
        card: &CardRef,
        status: CardStatus,
        actor: &str,
    ) -> Result<CardView, Error> {
        card.check()?;
        let (card, actor) = (card.clone(), actor.to_string());
        self.store.write(move |tx| {
            let now = now_unix();
            let mut c = tx.card_for_update(&card)?;
            c.state.status = status;
            let action = match status {
                CardStatus::Blocked => "block-card",
                CardStatus::Active => "unblock-card",
            };
            let audit = c.audit(now, &actor, action, "ok");
            tx.apply(c.id, &management(&c, now, audit))?;
            card_view(tx, &c)
        })
    }

    /// The cardholder's current PIN, for the View PIN service only: the new PIN while its
    /// PIN CHANGE script is pending, else what the verification data allows (IBM 3624
    /// offset, encrypted PIN; a PVV is one-way). Audited; never log the result.
    pub fn reveal_pin(&self, card: &CardRef, actor: &str) -> Result<Pin, Error> {
        card.check()?;
        let (card, actor, keys) = (card.clone(), actor.to_string(), Arc::clone(&self.keys));
        self.store.write(move |tx| {
            let c = tx.find_card(&card)?;
            reveal_in(tx, &keys, &c, &actor, "pin-reveal")
        })?
    }

    /// Spends a PIN Control one-time id (docs/issuer-host.md §6.1): `true` the first time,
    /// on whichever host process of the store.
    pub(crate) fn spend_control_id(
        &self,
        jti: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, Error> {
        let jti = jti.to_string();
        self.store
            .write(move |tx| tx.spend_control_id(&jti, expires, now))
    }

    /// Counts a PIN Control token request against the plastic's rate limit: the counted
    /// request's id, or the seconds to wait (docs/issuer-host.md §6.1).
    pub(crate) fn count_token_request(
        &self,
        plastic_id: &str,
        now: i64,
        window: i64,
        limit: u32,
    ) -> Result<Result<i64, u64>, Error> {
        let plastic_id = plastic_id.to_string();
        let counted = self
            .store
            .write(move |tx| tx.count_token_request(&plastic_id, now, window, limit))?;
        Ok(counted.map_err(|oldest| u64::try_from(oldest + window - now).unwrap_or(1).max(1)))
    }

    /// Forgets a counted token request.
    pub(crate) fn forget_token_request(&self, id: i64) -> Result<(), Error> {
        self.store.write(move |tx| tx.forget_token_request(id))
    }

    /// The plastic `plastic_id`: its card and status; records `action` with `outcome` in
    /// the audit (PIN Control API: only the plasticId is validated; docs/issuer-host.md
    /// §6.1).
    pub(crate) fn plastic_event(
        &self,
        plastic_id: &str,
        actor: &str,
        action: &str,
        outcome: &str,
    ) -> Result<PlasticStatus, Error> {
        let (id, actor, action, outcome) = (
            plastic_id.to_string(),
            actor.to_string(),
            action.to_string(),
            outcome.to_string(),
        );
        self.store.write(move |tx| {
            let (card, status) = find_plastic(tx, &id)?;
            let psn = card.psn.as_deref().unwrap_or_default();
            let audit = AuditRecord::new(now_unix(), &actor, &action, &card.pan, psn, &outcome);
            tx.insert_audit(&audit)?;
            Ok(status)
        })
    }

    /// A PIN Control token request for `plastic_id`: its status, or (inner `Err`, audited
    /// and committed) the refusal of a View PIN token for a card whose PIN the host cannot
    /// show ([`rules::pin::revealable`]). The audit records `action` with its outcome.
    pub(crate) fn token_event(
        &self,
        plastic_id: &str,
        actor: &str,
        action: &str,
        view: bool,
    ) -> Result<Result<PlasticStatus, Error>, Error> {
        let (id, actor, action) = (
            plastic_id.to_string(),
            actor.to_string(),
            action.to_string(),
        );
        self.store.write(move |tx| {
            let (card, status) = find_plastic(tx, &id)?;
            let c = tx.find_card(&card)?;
            let refusal = if view {
                rules::pin::revealable(&c).err()
            } else {
                None
            };
            let outcome = match refusal {
                Some(_) => rules::pin::NOT_RECOVERABLE,
                None => "ok",
            };
            tx.insert_audit(&c.audit(now_unix(), &actor, &action, outcome))?;
            Ok(match refusal {
                Some(e) => Err(e),
                None => Ok(status),
            })
        })
    }

    /// View PIN by plastic (the PIN Control service): like [`Issuer::reveal_pin`].
    pub(crate) fn reveal_pin_by_plastic(
        &self,
        plastic_id: &str,
        actor: &str,
    ) -> Result<Pin, Error> {
        let (id, actor, keys) = (
            plastic_id.to_string(),
            actor.to_string(),
            Arc::clone(&self.keys),
        );
        self.store.write(move |tx| {
            let (card, _) = find_plastic(tx, &id)?;
            let c = tx.find_card(&card)?;
            reveal_in(tx, &keys, &c, &actor, "pin-control-view")
        })?
    }

    /// Set PIN by plastic (the PIN Control service): the change-PIN path with a PIN the
    /// device encrypted to the service (policy check, new verification data, PIN CHANGE
    /// script queued for the chip's next online authorisation).
    pub(crate) fn set_pin_by_plastic(
        &self,
        plastic_id: &str,
        pin: Pin,
        actor: &str,
    ) -> Result<PinOutcome, Error> {
        let (id, actor, keys) = (
            plastic_id.to_string(),
            actor.to_string(),
            Arc::clone(&self.keys),
        );
        self.store.write(move |tx| {
            let (card, _) = find_plastic(tx, &id)?;
            let c = tx.card_for_update(&card)?;
            change_pin_in(tx, &keys, c, &pin, &actor, "pin-control-set")
        })?
    }

    /// The newest `limit` audit records, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        self.store.read(|tx| tx.audit_log(limit))
    }
}

impl<S: Store> Host for Issuer<S> {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        Issuer::authorise(self, request).map_err(HostError::from)
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        Issuer::advise(self, advice)
            .map(|o| AdviceResponse {
                response_code: o.response_code,
                reversed: o.reversed,
            })
            .map_err(HostError::from)
    }
}

// ------------------------------------------------------------------------------------
// Orchestration: each function runs inside one store transaction

/// Rules 2-10 of [`crate::rules`] on the card `card_ref` names, and their effects.
fn authorise_in(
    tx: &mut dyn StoreTx,
    keys: &HostKeys,
    req: &AuthRequest,
    card_ref: &CardRef,
    chip: Option<&ChipData>,
    pin: Option<&PresentedPin>,
) -> Result<AuthResponse, Error> {
    // DE 37: the request's, else one of the host's (docs/issuer-host.md §5)
    let rrn = match &req.rrn {
        Some(r) => r.clone(),
        None => tx.next_rrn()?,
    };
    let mut card = match tx.card_for_update(card_ref) {
        Ok(c) => c,
        Err(Error::UnknownCard { .. }) => {
            return Ok(AuthResponse {
                rrn: Some(rrn),
                ..authorise::unknown_card()
            });
        }
        Err(e) => return Err(e),
    };
    let now = now_unix();
    // rules 2a, 2b and 4a decide before anything is read from the chip data
    let early = authorise::invalid_amount(req, &card)
        .or_else(|| authorise::foreign_currency(req, &card))
        .or_else(|| authorise::chip_missing(req, &card, chip));
    // rules 3-4, then 5-9 unless the chip data decided
    let check = match early {
        Some(_) => None,
        None => chip
            .map(|c| authorise::check_chip(keys, &card, c).map(|k| (c, k)))
            .transpose()?,
    };
    // a verified, fresh ARQC: what the chip says is learnt and the answer kept (rules 3, 4)
    let mut fresh = false;
    let (decision, icc, changed) = match (early, check) {
        (Some(d), _) => (d, None, false),
        (None, Some((_, ChipCheck::Retransmission(resp)))) => return Ok(resp),
        (None, Some((_, ChipCheck::Declined(d, icc)))) => (d, icc, false),
        (None, Some((c, ChipCheck::Verified(icc)))) => {
            authorise::learn_chip(&mut card.state, card.cvn, c, now);
            fresh = true;
            let (d, _) = decide_in(tx, keys, req, chip, &mut card, pin, now)?;
            (d, Some(icc), true)
        }
        (None, None) => {
            let (d, changed) = decide_in(tx, keys, req, chip, &mut card, pin, now)?;
            (d, None, changed)
        }
    };
    // rule 10: the scripts due, the answer and its ARPC
    let auth_code = match decision.code.is_approved() {
        true => Some(random_auth_code()?),
        false => None,
    };
    let chip_keys = chip.zip(icc.as_ref());
    let mut open = Vec::new();
    if let (true, Some((c, _))) = (decision.code.is_approved(), chip_keys) {
        open = tx.scripts_open(card.id)?;
        if scripts::unblock_due(&decision, &card, c) {
            queue(tx, &card, &mut open, ScriptKind::PinUnblock, now)?;
        }
    }
    let (mut resp, sent) =
        authorise::respond(keys, &card, req, chip_keys, decision, &open, auth_code, now)?;
    resp.rrn = Some(rrn);
    if fresh {
        card.state.last_response = Some(authorise::stored_answer(&resp)?);
    }
    let journal = authorise::journal_entry(req, chip, &resp, &sent, now);
    let effects = Effects {
        card: changed.then_some(&card.state),
        scripts: sent.clone(),
        journal: Some(journal),
        ..Effects::default()
    };
    tx.apply(card.id, &effects)?;
    tracing::info!(
        pan = %mask_pan(&card.pan),
        stan = req.stan,
        channel = req.channel.name(),
        code = resp.response_code.as_str(),
        reason = %resp.reason,
        scripts = resp.issuer_scripts.len(),
        "authorisation"
    );
    Ok(resp)
}

/// Rules 5-9 on the card's plastics with the expiry in use; their counters written into
/// the card's state. The decision, and whether the state changed.
fn decide_in(
    tx: &mut dyn StoreTx,
    keys: &HostKeys,
    req: &AuthRequest,
    chip: Option<&ChipData>,
    card: &mut CardRecord,
    pin: Option<&PresentedPin>,
    now: i64,
) -> Result<(authorise::Decision, bool), Error> {
    let expiry = authorise::expiry_in_use(req, chip, card);
    let plastics = tx.plastics_with_expiry(card.id, expiry)?;
    let verdict = authorise::decide(keys, req, chip, card, pin, &plastics, now)?;
    verdict.apply(&mut card.state);
    let changed = verdict.changes_card();
    Ok((verdict.decision, changed))
}

/// Queues a script of `kind` if the queue's rules want it, keeping `open` in step.
fn queue(
    tx: &mut dyn StoreTx,
    card: &CardRecord,
    open: &mut Vec<ScriptRow>,
    kind: ScriptKind,
    now: i64,
) -> Result<(), Error> {
    if let Some(new) = scripts::queueing(kind, open) {
        let id = tx.queue_script(card.id, new, now)?;
        scripts::after_queueing(open, new, id);
    }
    Ok(())
}

/// The effects of a PIN management call: the card's new state, touched, and its audit.
fn management<'a>(c: &'a CardRecord, now: i64, audit: AuditRecord<'a>) -> Effects<'a> {
    Effects {
        card: Some(&c.state),
        touched_at: Some(now),
        audit: Some(audit),
        ..Effects::default()
    }
}

/// The card and status of a plastic (unknown → [`Error::UnknownPlastic`]).
fn find_plastic(tx: &mut dyn StoreTx, plastic_id: &str) -> Result<(CardRef, PlasticStatus), Error> {
    tx.plastic(plastic_id)?
        .ok_or_else(|| Error::UnknownPlastic(plastic_id.to_string()))
}

/// The current PIN (the pending new PIN first, else what the verification data allows),
/// audited as `action` (never the PIN). The inner `Err` is the refusal.
fn reveal_in(
    tx: &mut dyn StoreTx,
    keys: &HostKeys,
    c: &CardRecord,
    actor: &str,
    action: &str,
) -> Result<Result<Pin, Error>, Error> {
    let (outcome, pin) = rules::pin::reveal_outcome(c, rules::pin::reveal(keys, c)?);
    tx.insert_audit(&c.audit(now_unix(), actor, action, outcome))?;
    Ok(pin)
}

/// New PIN on the host, its PIN CHANGE script queued; the card's open scripts after.
fn set_new_pin(
    tx: &mut dyn StoreTx,
    keys: &HostKeys,
    c: &mut CardRecord,
    new_pin: &Pin,
    now: i64,
) -> Result<Vec<ScriptRow>, Error> {
    let new = rules::pin::new_pin(keys, c, new_pin)?;
    let id = tx.queue_script(c.id, new, now)?;
    let mut open = Vec::new();
    scripts::after_queueing(&mut open, new, id);
    Ok(open)
}

/// A new PIN chosen by the cardholder: PIN policy (refusal audited and committed), new
/// verification data, PIN CHANGE script queued (docs/pin.md §5, §6.3). The inner `Err` is
/// the refusal.
fn change_pin_in(
    tx: &mut dyn StoreTx,
    keys: &HostKeys,
    mut c: CardRecord,
    pin: &Pin,
    actor: &str,
    action: &str,
) -> Result<Result<PinOutcome, Error>, Error> {
    let now = now_unix();
    if let Err(e) = rules::pin::check_policy(pin) {
        // the refusal is audited and committed; the caller gets the error
        tx.insert_audit(&c.audit(now, actor, action, "refused: weak PIN"))?;
        return Ok(Err(e));
    }
    let open = set_new_pin(tx, keys, &mut c, pin, now)?;
    let audit = c.audit(now, actor, action, "ok");
    tx.apply(c.id, &management(&c, now, audit))?;
    Ok(Ok(pin_outcome(
        &c,
        &open,
        "pin-change",
        "the PIN was changed on the host; a PIN CHANGE script is queued for the chip",
        Some("Make an ATM transaction with the new PIN: that writes it to the chip."),
    )))
}

fn pin_outcome(
    c: &CardRecord,
    open: &[ScriptRow],
    action: &str,
    message: &str,
    next_step: Option<&str>,
) -> PinOutcome {
    PinOutcome {
        action: action.into(),
        online_pin_tries_left: c.state.online_pin_tries_left,
        online_pin_try_limit: c.online_pin_try_limit,
        pending_scripts: open.iter().map(ScriptRow::view).collect(),
        message: message.into(),
        next_step: next_step.map(str::to_string),
    }
}

fn card_view(tx: &mut dyn StoreTx, c: &CardRecord) -> Result<CardView, Error> {
    // the 20 newest scripts for the history; every open one for the pending count, which
    // must not miss an old script still waiting (and agrees with `card_summary`'s)
    let recent = tx.scripts_recent(c.id, 20)?;
    let open = tx.scripts_open(c.id)?;
    let plastics = tx.plastics(c.id)?;
    let s = &c.state;
    Ok(CardView {
        pan: mask_pan(&c.pan),
        psn: c.psn.clone(),
        expiry: c.expiry.clone(),
        cvn: c.cvn.name().into(),
        card_status: s.status,
        online_pin_tries_left: s.online_pin_tries_left,
        online_pin_try_limit: c.online_pin_try_limit,
        online_pin_blocked: s.online_pin_tries_left == 0,
        pin_verification: s.pin.method,
        view_pin: rules::pin::revealable(c).is_ok(),
        open_to_buy: u64::try_from(s.open_to_buy).unwrap_or(0),
        currency: c.currency,
        chip: ChipView {
            offline_pin_blocked: s.chip.pin_blocked,
            pin_try_counter: s.chip.pin_try_counter,
            offline_pin_try_limit: c.offline_pin_try_limit,
            last_online_atc: s.last_online_atc,
            last_cvr: s.chip.cvr.clone(),
            last_seen_at: s.chip.seen_at.clone(),
        },
        pending_scripts: open.len(),
        pending_script_kinds: open.iter().map(|v| v.kind).collect(),
        scripts: recent.iter().map(ScriptRow::view).collect(),
        plastics,
    })
}
