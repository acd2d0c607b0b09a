//! PIN Control: View PIN and Set PIN for the issuer's app, without the app's back-end
//! ever seeing the PIN (docs/pin.md §7; the API: docs/issuer-host.md §6).
//!
//! The flow and its rules (each cites its source):
//! 1. The back-end asks for a token for one **plasticId** with its issuer API key
//!    ([`PinControl::issue_token`]). Only the plasticId is validated (unknown → 404); no
//!    balance, status or limit check happens, but the plastic's status is returned
//!    (docs/pin.md §7 step 2). Tokens are rate-limited per plastic.
//! 2. The token (`id`) is a compact JWE (`dir` + `A256GCM`) under a key this host instance
//!    made at start-up and never shows: encrypted and integrity-protected, it carries the
//!    plasticId, scope, expiry (30 s, docs/pin.md §7 step 3) and a one-time identifier.
//!    A restart invalidates every outstanding token, so the used-id list can live in
//!    memory (kept until the ids expire).
//! 3. The device POSTs `controlId=<id>` to the `pinURL` ([`PinControl::open_snapshot`]):
//!    the id is checked (tampered → 400, expired → 410, used → 409) and spent, and an
//!    HTML *snapshot* is served ([`page`]): no PIN inside, strict headers, a per-response
//!    CSP nonce (docs/issuer-host.md §6.2).
//! 4. View: the page makes an ECDH P-256 key pair (private key non-extractable) and sends
//!    the public JWK for its snapshot ([`PinControl::view`]); the PIN comes back as a JWE
//!    (`ECDH-ES` + `A256GCM`, `apv` = the snapshot id) that only that key opens. One
//!    reveal per snapshot (docs/issuer-host.md §6.3).
//! 5. Set: the snapshot carries a fresh service P-256 public key; the page encrypts the
//!    chosen PIN to it (`ECDH-ES` + `A256GCM`, `apv` = the snapshot id) and
//!    [`PinControl::set`] checks it (4-12 digits, no trivial PIN), stores the new
//!    verification data and queues the PIN CHANGE script (the change-PIN path of
//!    [`Issuer`]). A refused PIN may be retried a few times on the same snapshot.
//!
//! Nothing here logs, stores or returns a PIN, except inside the JWE for the device.

pub mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use emv_crypto::Pin;
use emv_crypto::jwe::{self, JweEncrypter, KeyManagement, PrivateJwk, PublicJwk};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::provision::PlasticStatus;
use crate::service::PinOutcome;
use crate::{Error, Issuer};

/// Lifetime of a PIN Control id (docs/pin.md §7 step 3: valid for 30 seconds).
pub const TOKEN_SECONDS: i64 = 30;

/// Wrong PINs (format or policy) accepted on one Set PIN snapshot before it is spent.
pub const MAX_SET_ATTEMPTS: u8 = 5;

/// Longest controlId accepted (a real one is about 300 characters).
const MAX_CONTROL_ID_LEN: usize = 4096;

/// How long spent snapshots are remembered after they expire, so that late calls get a
/// precise answer ("used", "expired") rather than "unknown".
const SNAPSHOT_GRACE_SECONDS: i64 = 300;

/// What a token allows (docs/issuer-host.md §6.1: `{"scope":"VIEW_PIN"|"SET_PIN"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// Show the current PIN on the device.
    ViewPin,
    /// Let the cardholder choose a new PIN on the device.
    SetPin,
}

impl Scope {
    /// The wire name (`VIEW_PIN`, `SET_PIN`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Settings of the PIN Control service (`emvbench host serve` flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinControlConfig {
    /// Base URL the device reaches this host at (`https://pin.example.com`); `pinURL` is
    /// built from it. `None`: from the request's `Host` header (`http://HOST`).
    pub public_url: Option<String>,
    /// The CSP `frame-ancestors` sources allowed to embed the page in an iframe
    /// (e.g. `'self' https://app.example.com`); `'none'` (the default) forbids framing.
    /// WebViews that load the page at top level are not affected.
    pub frame_ancestors: String,
    /// Seconds the PIN stays on screen before the page hides and wipes it (docs/pin.md
    /// §7 step 6: one minute by default).
    pub display_seconds: u32,
    /// Seconds a served snapshot can reveal or set its PIN.
    pub snapshot_seconds: u32,
    /// Tokens per plastic allowed in `rate_window_seconds` (docs/issuer-host.md §6.1).
    pub rate_limit: u32,
    /// The rate-limit window in seconds.
    pub rate_window_seconds: u32,
    /// Extra CSS appended to the page's stylesheet, typically overriding the `--pc-*`
    /// custom properties to match the issuer's app.
    pub theme_css: Option<String>,
}

impl Default for PinControlConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            frame_ancestors: "'none'".into(),
            display_seconds: 60,
            snapshot_seconds: 120,
            rate_limit: 5,
            rate_window_seconds: 60,
            theme_css: None,
        }
    }
}

impl PinControlConfig {
    /// Checks the settings (they end up in HTTP headers and the page).
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Error::BadRequest(format!("PIN Control settings: {m}"));
        let fa = self.frame_ancestors.trim();
        if fa.is_empty()
            || !fa
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',') || c == ' ')
        {
            return Err(bad(format!(
                "frame-ancestors must be CSP sources separated by spaces (like 'self' https://app.example), got {:?}",
                self.frame_ancestors
            )));
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(bad(format!(
                "public URL must start with http:// or https://, got {u:?}"
            )));
        }
        for (name, v) in [
            ("display seconds", self.display_seconds),
            ("snapshot seconds", self.snapshot_seconds),
            ("rate limit", self.rate_limit),
            ("rate window seconds", self.rate_window_seconds),
        ] {
            if !(1..=86_400).contains(&v) {
                return Err(bad(format!("{name} must be 1-86400, got {v}")));
            }
        }
        if let Some(css) = &self.theme_css
            && css.to_ascii_lowercase().contains("</style")
        {
            return Err(bad("theme CSS must not contain </style".into()));
        }
        Ok(())
    }
}

/// A clock in Unix seconds (tests inject one they can move).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The answer to a token request (docs/issuer-host.md §6.1 `{"id", "pinURL"}`, plus the
/// lifetime and the plastic's status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAnswer {
    /// The controlId: opaque to the caller.
    pub id: String,
    /// Where the device POSTs `controlId`.
    #[serde(rename = "pinURL")]
    pub pin_url: String,
    /// Seconds the id stays valid.
    #[serde(rename = "expiresIn")]
    pub expires_in: i64,
    /// The plastic's status (not checked: the back-end picks the ACTIVE plastic).
    #[serde(rename = "plasticStatus")]
    pub plastic_status: PlasticStatus,
}

/// What the page needs of a snapshot it was opened for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotView {
    /// The snapshot id (also the JWE `apv`).
    pub snapshot_id: String,
    /// What the page does.
    pub scope: Scope,
    /// Set PIN: the service's public key (JWK JSON) the page encrypts the PIN to.
    pub service_key: Option<String>,
    /// Seconds left to reveal / set.
    pub expires_in: i64,
}

/// The answer to a reveal: the PIN as a JWE for the device's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewAnswer {
    /// Compact JWE, `ECDH-ES` + `A256GCM`, plaintext = the PIN digits.
    pub pin: String,
    /// Seconds the page shows the PIN.
    #[serde(rename = "displaySeconds")]
    pub display_seconds: u32,
}

/// The answer to a Set PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAnswer {
    /// `PIN_SET`.
    pub result: String,
    /// What happened, in words.
    pub message: String,
    /// Scripts waiting for the chip (the PIN CHANGE among them).
    #[serde(rename = "pendingScripts")]
    pub pending_scripts: usize,
}

/// The claims inside a controlId.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    /// plasticId.
    pid: String,
    scope: Scope,
    /// Issued at / expires at, Unix seconds.
    iat: i64,
    exp: i64,
    /// One-time identifier.
    jti: String,
    /// Who asked (the API key name): carried to the audit of the reveal.
    act: String,
}

struct Snapshot {
    plastic_id: String,
    scope: Scope,
    actor: String,
    expires: i64,
    used: bool,
    set_failures: u8,
    service_key: Option<Arc<PrivateJwk>>,
}

/// What this process keeps: the snapshots of the tokens redeemed here (the device's next
/// requests come back to the process that served its page). Spent token ids and the rate
/// limit are in the store, shared by every process on it.
#[derive(Default)]
struct State {
    snapshots: HashMap<String, Snapshot>,
}

impl State {
    fn purge(&mut self, now: i64) {
        self.snapshots
            .retain(|_, s| s.expires + SNAPSHOT_GRACE_SECONDS >= now);
    }
}

/// The PIN Control service over an [`Issuer`]. Share it behind an `Arc`.
pub struct PinControl {
    issuer: Issuer,
    config: PinControlConfig,
    clock: Clock,
    state: Mutex<State>,
}

impl std::fmt::Debug for PinControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinControl")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, Error> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::fill(b.as_mut_slice()).map_err(|e| Error::Io {
        context: "operating system RNG".into(),
        io: std::io::Error::other(e.to_string()),
    })?;
    Ok(b)
}

fn random_id() -> Result<String, Error> {
    Ok(hex::encode(random::<16>()?.as_slice()))
}

fn system_clock() -> Clock {
    Arc::new(crate::time::now_unix)
}

impl PinControl {
    /// The service with `config` (checked) and the system clock.
    pub fn new(issuer: Issuer, config: PinControlConfig) -> Result<Self, Error> {
        Self::with_clock(issuer, config, system_clock())
    }

    /// The service with a given clock (tests).
    pub fn with_clock(
        issuer: Issuer,
        config: PinControlConfig,
        clock: Clock,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            issuer,
            config,
            clock,
            state: Mutex::new(State::default()),
        })
    }

    /// The settings.
    pub fn config(&self) -> &PinControlConfig {
        &self.config
    }

    /// The issuer service.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // the state holds no invariant a panic could break halfway
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.purge(self.now());
        st
    }

    /// A token for `plastic_id` (step 1 of the module documentation). `base_url` is used
    /// for `pinURL` when no public URL is configured.
    pub fn issue_token(
        &self,
        plastic_id: &str,
        scope: Scope,
        actor: &str,
        base_url: &str,
    ) -> Result<TokenAnswer, Error> {
        if plastic_id.is_empty() || plastic_id.len() > 64 {
            return Err(Error::BadRequest(
                "plasticId must be 1-64 characters".into(),
            ));
        }
        let action = format!("pin-control-token {}", scope.name());
        let now = self.now();
        // docs/issuer-host.md §6.1: rate limiting per plastic (counted for known plastics only)
        // (kept in the store: every host process on one database counts the same requests)
        let counted = self.issuer.count_token_request(
            plastic_id,
            now,
            i64::from(self.config.rate_window_seconds),
            self.config.rate_limit,
        )?;
        let request = match counted {
            Ok(id) => id,
            Err(retry_after) => {
                self.issuer
                    .plastic_event(plastic_id, actor, &action, "refused: rate limited")?;
                return Err(Error::RateLimited { retry_after });
            }
        };
        // docs/pin.md §7: a card whose PIN cannot be shown is refused here, not on the device
        let event = self
            .issuer
            .token_event(plastic_id, actor, &action, scope == Scope::ViewPin);
        let status = match event {
            Ok(Ok(s)) => s,
            Ok(Err(refused)) => return Err(refused),
            Err(e) => {
                // an unknown plastic does not count against anyone's limit
                self.issuer.forget_token_request(request)?;
                return Err(e);
            }
        };
        let claims = Claims {
            pid: plastic_id.to_string(),
            scope,
            iat: now,
            exp: now + TOKEN_SECONDS,
            jti: random_id()?,
            act: actor.to_string(),
        };
        let json = serde_json::to_vec(&claims).map_err(|e| Error::Corrupt(e.to_string()))?;
        let id = JweEncrypter::direct_jwk(self.issuer.keys().pin_control_key())?
            .kid("pin-control")
            .encrypt(&json)?;
        let base = self
            .config
            .public_url
            .as_deref()
            .unwrap_or(base_url)
            .trim_end_matches('/');
        tracing::info!(scope = scope.name(), "pin-control token issued");
        Ok(TokenAnswer {
            id,
            pin_url: format!("{base}{}", page::PIN_PATH),
            expires_in: TOKEN_SECONDS,
            plastic_status: status,
        })
    }

    /// Opens the controlId the device posted and makes its snapshot (step 3).
    pub fn open_snapshot(&self, control_id: &str) -> Result<SnapshotView, Error> {
        let control_id = control_id.trim();
        if control_id.is_empty() {
            return Err(Error::InvalidControlId("the form field controlId is empty"));
        }
        if control_id.len() > MAX_CONTROL_ID_LEN {
            return Err(Error::InvalidControlId("too long"));
        }
        let plain = jwe::decrypt(control_id, self.issuer.keys().pin_control_key()).map_err(|_| {
            Error::InvalidControlId(
                "not a token of this host (malformed, tampered with, or minted under another key file)",
            )
        })?;
        if plain.header.alg != KeyManagement::Direct {
            return Err(Error::InvalidControlId("not a PIN Control token"));
        }
        let claims: Claims = serde_json::from_slice(&plain.plaintext)
            .map_err(|_| Error::InvalidControlId("not a PIN Control token"))?;
        let now = self.now();
        let audit = |outcome: &str| {
            self.issuer
                .plastic_event(&claims.pid, &claims.act, "pin-control-open", outcome)
        };
        // docs/pin.md §7 step 3: valid 30 seconds
        if now > claims.exp {
            audit("refused: controlId expired")?;
            return Err(Error::ControlIdExpired);
        }
        let service_key = match claims.scope {
            Scope::ViewPin => None,
            Scope::SetPin => Some(Arc::new(PrivateJwk::generate_p256(
                &mut rand_core::UnwrapErr(getrandom::SysRng),
            ))),
        };
        let snapshot_id = random_id()?;
        let expires = now + i64::from(self.config.snapshot_seconds);
        // single use: the one-time id is spent here, once, on whichever host process of
        // the store it reaches (docs/issuer-host.md §6.1)
        if !self.issuer.spend_control_id(&claims.jti, claims.exp, now)? {
            audit("refused: controlId already used")?;
            return Err(Error::ControlIdUsed);
        }
        {
            let mut st = self.state();
            st.snapshots.insert(
                snapshot_id.clone(),
                Snapshot {
                    plastic_id: claims.pid.clone(),
                    scope: claims.scope,
                    actor: claims.act.clone(),
                    expires,
                    used: false,
                    set_failures: 0,
                    service_key: service_key.clone(),
                },
            );
        }
        audit(&format!("ok ({})", claims.scope.name()))?;
        Ok(SnapshotView {
            snapshot_id,
            scope: claims.scope,
            service_key: service_key
                .and_then(|k| k.public_jwk())
                .map(|k| k.to_json()),
            expires_in: expires - now,
        })
    }

    /// Checks a snapshot can be used for `scope` now and marks it used; returns its
    /// plastic, actor and (Set PIN) service key.
    fn take(
        &self,
        snapshot_id: &str,
        scope: Scope,
    ) -> Result<(String, String, Option<Arc<PrivateJwk>>), Error> {
        let now = self.now();
        let mut st = self.state();
        let s = st
            .snapshots
            .get_mut(snapshot_id)
            .ok_or(Error::UnknownSnapshot)?;
        if s.scope != scope {
            return Err(Error::WrongScope {
                expected: scope.name(),
                got: s.scope.name(),
            });
        }
        // docs/issuer-host.md §6.3: a second reveal for the same snapshot fails
        if s.used {
            return Err(Error::SnapshotUsed);
        }
        if now > s.expires {
            return Err(Error::SnapshotExpired);
        }
        s.used = true;
        Ok((s.plastic_id.clone(), s.actor.clone(), s.service_key.clone()))
    }

    /// View PIN (step 4): the PIN as a JWE to the device's public key.
    pub fn view(
        &self,
        snapshot_id: &str,
        device_key: &serde_json::Value,
    ) -> Result<ViewAnswer, Error> {
        // the key is checked first: a bad key does not spend the snapshot
        let key = device_public_key(device_key)?;
        let (plastic, actor, _) = self.take(snapshot_id, Scope::ViewPin)?;
        let pin = self.issuer.reveal_pin_by_plastic(&plastic, &actor)?;
        let digits = pin.expose();
        // apv binds the JWE to this snapshot (RFC 7518 §4.6.1.3)
        let jwe = JweEncrypter::new(&key)
            .agreement_info(b"", snapshot_id.as_bytes())
            .encrypt(digits.as_bytes())?;
        tracing::info!("pin-control PIN revealed to a device key");
        Ok(ViewAnswer {
            pin: jwe,
            display_seconds: self.config.display_seconds,
        })
    }

    /// Set PIN (step 5): `encrypted_pin` is a JWE (`ECDH-ES` + `A256GCM`) to the
    /// snapshot's service key whose plaintext is the new PIN's digits.
    pub fn set(&self, snapshot_id: &str, encrypted_pin: &str) -> Result<SetAnswer, Error> {
        let (plastic, actor, key) = self.take(snapshot_id, Scope::SetPin)?;
        let result = (|| {
            let key = key.ok_or(Error::UnknownSnapshot)?;
            let plain = jwe::decrypt(encrypted_pin.trim(), &key).map_err(|_| {
                Error::InvalidPin(
                    "the encrypted PIN cannot be opened with this snapshot's key (it must be a \
                     compact JWE, ECDH-ES + A256GCM, to the snapshot's serviceKey)",
                )
            })?;
            if plain.header.apv != snapshot_id.as_bytes() {
                return Err(Error::InvalidPin(
                    "the encrypted PIN is bound to another snapshot (apv)",
                ));
            }
            let text = std::str::from_utf8(&plain.plaintext)
                .map_err(|_| Error::InvalidPin("the PIN must be 4 to 12 digits"))?;
            // ISO 9564-1 §8.1 (emv_crypto::Pin): 4-12 decimal digits
            let pin =
                Pin::new(text).map_err(|_| Error::InvalidPin("the PIN must be 4 to 12 digits"))?;
            self.issuer.set_pin_by_plastic(&plastic, pin, &actor)
        })();
        match result {
            Ok(out) => Ok(set_answer(&out)),
            Err(e @ (Error::InvalidPin(_) | Error::WeakPin(_))) => {
                // the cardholder may choose again, a few times (docs/issuer-host.md §6.4)
                let mut st = self.state();
                if let Some(s) = st.snapshots.get_mut(snapshot_id) {
                    s.set_failures = s.set_failures.saturating_add(1);
                    s.used = s.set_failures >= MAX_SET_ATTEMPTS;
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

fn set_answer(out: &PinOutcome) -> SetAnswer {
    SetAnswer {
        result: "PIN_SET".into(),
        message: "The new PIN is set. It is written to the chip at the next online transaction \
                  (use it at an ATM first)."
            .into(),
        pending_scripts: out.pending_scripts.len(),
    }
}

/// The device's key: an EC P-256 public JWK (docs/issuer-host.md §6.3: ECDH P-256).
fn device_public_key(v: &serde_json::Value) -> Result<PublicJwk, Error> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::InvalidDeviceKey("must be a JWK object".into()))?;
    if obj.contains_key("d") {
        return Err(Error::InvalidDeviceKey(
            "this is a private key: send only the public key".into(),
        ));
    }
    if obj.get("kty").and_then(|k| k.as_str()) != Some("EC")
        || obj.get("crv").and_then(|k| k.as_str()) != Some("P-256")
    {
        return Err(Error::InvalidDeviceKey(
            "must be an EC P-256 key (kty EC, crv P-256) for ECDH-ES".into(),
        ));
    }
    PublicJwk::from_value(v).map_err(|e| Error::InvalidDeviceKey(e.to_string()))
}
