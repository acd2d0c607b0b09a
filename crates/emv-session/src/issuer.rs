//! The issuer host a session talks to: the embedded service (in-process, SQLite on disk or
//! in memory), a remote `emvbench host serve` over HTTP, or any issuer over ISO 8583 (with
//! the host's HTTP API for the management calls, when there is one). All answer the
//! kernel through [`emv_auth::Host`] and the session's management calls through the same
//! methods.

use std::path::Path;

use emv_auth::{Advice, AdviceResponse, AuthRequest, AuthResponse, Host, HostError};
use emv_crypto::jwe::{JweEncrypter, PrivateJwk, PublicJwk};
use emv_host::iso8583_client::{Iso8583Host, Iso8583Options};
use emv_host::pin_control::{Scope, SetAnswer, TokenAnswer, ViewAnswer};
use emv_host::{
    CardProvision, CardRef, CardStatus, CardView, HostKeys, HttpHost, Issuer, PinControl,
    PinControlConfig, PinOutcome, PinResetMode, PlasticStatus,
};
use emv_kernel::HostState;
use serde_json::json;

use crate::SessionError;

/// Who the management calls of a session are made as, in the host's audit table.
pub const ACTOR: &str = "emvbench";

/// Where the issuer host is.
pub enum IssuerLink {
    /// The host service in this process.
    Embedded(Issuer),
    /// A running `emvbench host serve`.
    Remote(Box<HttpHost>),
    /// An issuer's ISO 8583 port for the terminal's messages, and its HTTP API (if known)
    /// for provisioning and PIN management.
    Iso8583 {
        /// Authorisations, advices and reversals.
        network: Box<Iso8583Host>,
        /// The management API (`--host-api`).
        api: Option<Box<HttpHost>>,
    },
}

impl std::fmt::Debug for IssuerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Embedded(_) => "IssuerLink::Embedded",
            Self::Remote(_) => "IssuerLink::Remote",
            Self::Iso8583 { .. } => "IssuerLink::Iso8583",
        })
    }
}

/// Where a session's management calls go.
enum Management<'a> {
    Embedded(&'a Issuer),
    Remote(&'a mut HttpHost),
}

impl IssuerLink {
    /// An embedded host whose store lives in memory (gone with the process).
    pub fn in_memory(keys: HostKeys) -> Result<Self, SessionError> {
        Ok(Self::Embedded(Issuer::in_memory(keys)?))
    }

    /// An embedded host whose store lives in `data_dir` (created on first use).
    pub fn open(data_dir: &Path, keys: HostKeys) -> Result<Self, SessionError> {
        Ok(Self::Embedded(Issuer::open(data_dir, keys)?))
    }

    /// A remote host at `url` (`http://HOST:PORT`), with the issuer API key its management
    /// API needs and the acquirer key its network routes need (`None`: a host serving them
    /// `--insecure-network`).
    pub fn remote(
        url: &str,
        api_key: &str,
        acquirer_key: Option<&str>,
    ) -> Result<Self, SessionError> {
        let mut host = HttpHost::new(url)?.with_api_key(api_key);
        if let Some(k) = acquirer_key {
            host = host.with_acquirer_key(k);
        }
        Ok(Self::Remote(Box::new(host)))
    }

    /// An issuer's ISO 8583 port at `addr` (`HOST:PORT`), and its HTTP management API.
    pub fn iso8583(
        addr: &str,
        options: Iso8583Options,
        api: Option<(&str, &str)>,
    ) -> Result<Self, SessionError> {
        let network = Box::new(Iso8583Host::connect(addr, options)?);
        let api = api
            .map(|(url, key)| HttpHost::new(url).map(|h| Box::new(h.with_api_key(key))))
            .transpose()?;
        Ok(Self::Iso8583 { network, api })
    }

    /// `embedded`, `remote` or `iso8583`, for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Embedded(_) => "embedded",
            Self::Remote(_) => "remote",
            Self::Iso8583 { .. } => "iso8583",
        }
    }

    /// Whether provisioning and PIN management calls can reach the host.
    pub fn has_management(&self) -> bool {
        !matches!(self, Self::Iso8583 { api: None, .. })
    }

    fn management(&mut self) -> Result<Management<'_>, SessionError> {
        match self {
            Self::Embedded(i) => Ok(Management::Embedded(i)),
            Self::Remote(h) | Self::Iso8583 { api: Some(h), .. } => Ok(Management::Remote(h)),
            Self::Iso8583 { api: None, .. } => Err(SessionError::Input(
                "this ISO 8583 host has no management API: give --host-api http://HOST:PORT \
                 (its `emvbench host serve` HTTP address) for provisioning and PIN management"
                    .into(),
            )),
        }
    }

    /// Provisions (or refreshes; with `reset`, re-issues) a card.
    pub fn provision(&mut self, p: &CardProvision, reset: bool) -> Result<(), SessionError> {
        match self.management()? {
            Management::Embedded(i) => {
                i.provision(p, reset)?;
            }
            Management::Remote(h) => {
                let path = if reset {
                    "/v1/cards?reset=true"
                } else {
                    "/v1/cards"
                };
                let _: serde_json::Value = h.call("POST", path, Some(p))?;
            }
        }
        Ok(())
    }

    /// The host's view of a card.
    pub fn card_status(&mut self, card: &CardRef) -> Result<CardView, SessionError> {
        Ok(match self.management()? {
            Management::Embedded(i) => i.card_status(card)?,
            Management::Remote(h) => h.card_status(card)?,
        })
    }

    /// The host part of the outcome object (`None` when no management API can read it).
    pub fn state(&mut self, card: &CardRef) -> Result<Option<HostState>, SessionError> {
        if !self.has_management() {
            return Ok(None);
        }
        let (tries, status, pending) = match self.management()? {
            // read after every transaction: the embedded host's lean query
            Management::Embedded(i) => {
                let s = i.card_summary(card)?;
                (s.online_pin_tries_left, s.card_status, s.pending_scripts)
            }
            Management::Remote(h) => {
                let v = h.card_status(card)?;
                (v.online_pin_tries_left, v.card_status, v.pending_scripts)
            }
        };
        Ok(Some(HostState {
            online_pin_tries_left: tries,
            card_status: status.name().to_string(),
            pending_scripts: u32::try_from(pending).unwrap_or(u32::MAX),
        }))
    }

    /// Unblock PIN: resets the online counter and queues a PIN UNBLOCK script.
    pub fn unblock_pin(&mut self, card: &CardRef) -> Result<PinOutcome, SessionError> {
        match self.management()? {
            Management::Embedded(i) => Ok(i.unblock_pin(card, ACTOR)?),
            Management::Remote(h) => Ok(h.call(
                "POST",
                &card_path(card, "pin/unblock"),
                Some(&serde_json::json!({})),
            )?),
        }
    }

    /// Reset PIN: a new random PIN (read it with View PIN) or keep the old one.
    pub fn reset_pin(
        &mut self,
        card: &CardRef,
        mode: PinResetMode,
    ) -> Result<PinOutcome, SessionError> {
        match self.management()? {
            Management::Embedded(i) => Ok(i.reset_pin(card, mode, ACTOR)?),
            Management::Remote(h) => Ok(h.call(
                "POST",
                &card_path(card, "pin/reset"),
                Some(&serde_json::json!({ "mode": mode })),
            )?),
        }
    }

    /// Change the PIN: the new PIN arrives as an encrypted PIN block (never in clear); a
    /// PIN CHANGE script is queued for the chip.
    pub fn change_pin(
        &mut self,
        card: &CardRef,
        new_pin: &emv_auth::PinData,
    ) -> Result<PinOutcome, SessionError> {
        match self.management()? {
            Management::Embedded(i) => Ok(i.change_pin(card, new_pin, ACTOR)?),
            Management::Remote(h) => Ok(h.call(
                "POST",
                &card_path(card, "pin/change"),
                Some(&serde_json::json!({
                    "pin_block": hex::encode_upper(&new_pin.pin_block),
                    "format": new_pin.format,
                    "key_id": new_pin.key_id,
                })),
            )?),
        }
    }

    /// Block or unblock the card at the host.
    pub fn set_card_status(
        &mut self,
        card: &CardRef,
        status: CardStatus,
    ) -> Result<CardView, SessionError> {
        match self.management()? {
            Management::Embedded(i) => Ok(i.set_card_status(card, status, ACTOR)?),
            Management::Remote(h) => {
                let op = match status {
                    CardStatus::Blocked => "block",
                    CardStatus::Active => "unblock",
                };
                Ok(h.call("POST", &card_path(card, op), Some(&serde_json::json!({})))?)
            }
        }
    }

    /// View PIN the way the cardholder's app does it (docs/pin.md §7): a token for
    /// the card's ACTIVE plastic, the device snapshot, a fresh P-256 device key, and the
    /// PIN received as a JWE to that key and decrypted "on the device". A remote host is
    /// driven through its HTTP routes exactly as a device would (token, the page, reveal).
    pub fn view_pin(&mut self, card: &CardRef) -> Result<zeroize::Zeroizing<String>, SessionError> {
        let device = PrivateJwk::generate_p256(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let public_jwk = device
            .public_jwk()
            .ok_or_else(|| SessionError::Input("device key: no public key".into()))?;
        let public: serde_json::Value = serde_json::from_str(&public_jwk.to_json())
            .map_err(|e| SessionError::Input(format!("device key: {e}")))?;
        let answer = if let Management::Remote(h) = self.management()? {
            let page = remote_page(h, card, Scope::ViewPin)?;
            let url = page_url(&page, "viewURL")?;
            h.call::<_, ViewAnswer>("POST", &url, Some(&json!({ "publicKey": public })))?
        } else {
            let (pc, plastic) = self.pin_control(card)?;
            let token = pc.issue_token(&plastic, Scope::ViewPin, ACTOR, "http://embedded")?;
            let snap = pc.open_snapshot(&token.id)?;
            pc.view(&snap.snapshot_id, &public)?
        };
        let plain = emv_crypto::jwe::decrypt(&answer.pin, &device)?;
        let digits = String::from_utf8(plain.plaintext.to_vec())
            .map_err(|_| SessionError::Input("the revealed PIN is not digits".into()))?;
        Ok(zeroize::Zeroizing::new(digits))
    }

    /// Set PIN the way the cardholder's app does it: the chosen PIN encrypted on the
    /// device to the snapshot's service key (docs/issuer-host.md §6.4); a remote host
    /// through its HTTP routes, as a device.
    pub fn set_pin(&mut self, card: &CardRef, pin: &str) -> Result<String, SessionError> {
        if let Management::Remote(h) = self.management()? {
            let page = remote_page(h, card, Scope::SetPin)?;
            let url = page_url(&page, "setURL")?;
            let id = page_url(&page, "snapshotId")?;
            let key = page
                .get("serviceKey")
                .filter(|k| k.is_object())
                .ok_or_else(|| SessionError::Input("the Set PIN page has no service key".into()))?;
            let jwe = JweEncrypter::new(&PublicJwk::from_json(&key.to_string())?)
                .agreement_info(b"", id.as_bytes())
                .encrypt(pin.as_bytes())?;
            let answer: SetAnswer = h.call("POST", &url, Some(&json!({ "encryptedPin": jwe })))?;
            return Ok(serde_json::to_string(&answer).unwrap_or_default());
        }
        let (pc, plastic) = self.pin_control(card)?;
        let token = pc.issue_token(&plastic, Scope::SetPin, ACTOR, "http://embedded")?;
        let snap = pc.open_snapshot(&token.id)?;
        let key = snap
            .service_key
            .as_deref()
            .ok_or_else(|| SessionError::Input("the Set PIN snapshot has no service key".into()))?;
        let jwe = JweEncrypter::new(&PublicJwk::from_json(key)?)
            .agreement_info(b"", snap.snapshot_id.as_bytes())
            .encrypt(pin.as_bytes())?;
        let answer = pc.set(&snap.snapshot_id, &jwe)?;
        Ok(serde_json::to_string(&answer).unwrap_or_default())
    }

    fn pin_control(&self, card: &CardRef) -> Result<(PinControl, String), SessionError> {
        let Self::Embedded(issuer) = self else {
            return Err(SessionError::Input(
                "the embedded PIN Control needs the embedded host".into(),
            ));
        };
        // docs/pin.md §7 step 2: only an ACTIVE plastic should be used
        let plastic = issuer
            .plastics(card)?
            .into_iter()
            .find(|p| p.status == PlasticStatus::Active)
            .ok_or_else(|| SessionError::Input("the card has no ACTIVE plastic".into()))?;
        let pc = PinControl::new(issuer.clone(), PinControlConfig::default())?;
        Ok((pc, plastic.plastic_id))
    }

    /// The embedded service, when the host is in-process.
    pub fn embedded(&self) -> Option<&Issuer> {
        match self {
            Self::Embedded(i) => Some(i),
            Self::Remote(_) | Self::Iso8583 { .. } => None,
        }
    }
}

/// The device's first steps on a remote host (docs/pin.md §7): the app's back end asks
/// for a token for the card's ACTIVE plastic, the device POSTs the `controlId` to the
/// `pinURL` and reads the page's data (`<script type="application/json" id="pc-data">`).
fn remote_page(
    h: &mut HttpHost,
    card: &CardRef,
    scope: Scope,
) -> Result<serde_json::Value, SessionError> {
    let plastics: Vec<emv_host::Plastic> =
        h.call("GET", &card_path(card, "plastics"), None::<&()>)?;
    // docs/pin.md §7 step 2: only an ACTIVE plastic should be used
    let plastic = plastics
        .into_iter()
        .find(|p| p.status == PlasticStatus::Active)
        .ok_or_else(|| SessionError::Input("the card has no ACTIVE plastic".into()))?;
    let token: TokenAnswer = h.call(
        "POST",
        &format!("/pin-control/v1/plastics/{}/token", plastic.plastic_id),
        Some(&json!({ "scope": scope })),
    )?;
    // the pinURL is absolute (the host's address as the back end reached it): its path
    let path = match token.pin_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => token.pin_url.as_str(),
    };
    let (status, html) = h.post_form(path, &[("controlId", &token.id)])?;
    let data = html
        .split_once("id=\"pc-data\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(json, _)| json)
        .ok_or_else(|| {
            SessionError::Input(format!(
                "the PIN page (HTTP {status}) has no pc-data element"
            ))
        })?;
    let page: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| SessionError::Input(format!("the PIN page's data: {e}")))?;
    if let Some(e) = page.get("error") {
        return Err(SessionError::Input(format!(
            "the PIN page (HTTP {status}): {e}"
        )));
    }
    Ok(page)
}

/// A text field of the page's data.
fn page_url(page: &serde_json::Value, field: &str) -> Result<String, SessionError> {
    page.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SessionError::Input(format!("the PIN page's data has no {field}")))
}

fn card_path(card: &CardRef, op: &str) -> String {
    match &card.psn {
        Some(psn) => format!("/v1/cards/{}/{op}?psn={psn}", card.pan),
        None => format!("/v1/cards/{}/{op}", card.pan),
    }
}

impl Host for IssuerLink {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        match self {
            Self::Embedded(i) => Host::authorise(i, request),
            Self::Remote(h) => h.authorise(request),
            Self::Iso8583 { network, .. } => network.authorise(request),
        }
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        match self {
            Self::Embedded(i) => Host::advise(i, advice),
            Self::Remote(h) => h.advise(advice),
            Self::Iso8583 { network, .. } => network.advise(advice),
        }
    }
}
