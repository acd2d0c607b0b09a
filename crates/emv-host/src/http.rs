//! The HTTP API: thin axum handlers over [`Issuer`]. The network routes await the
//! issuer's transaction (the store's group commit); the other (blocking) store work runs
//! through `spawn_blocking`.
//!
//! Bad input is a 4xx with `{"error": "<code>", "detail": "<what is wrong>"}` and never
//! changes anything; declines are `200` with an ISO 8583 response code in the
//! [`AuthResponse`]. The PIN management routes need `Authorization: Bearer <key>` or
//! `X-Api-Key: <key>` (an issuer API key of the key file); the network routes
//! (`/v1/authorise`, `/v1/advice`) an acquirer key (`X-Acquirer-Key: <key>`), unless the
//! host serves them [`Network::Insecure`]. `/openapi.json` describes it all.
//! Logs name routes by their template (`/v1/cards/{pan}`), never a PAN or a PIN.

// helpers return a ready error `Response` as their `Err`: the handler returns it as is
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Form, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use emv_auth::{Advice, AuthRequest, PinData};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::pin_control::{PinControl, PinControlConfig, Scope, page};
use crate::service::{CardRef, PinResetMode};
use crate::{CardProvision, CardStatus, Error, HostKeys, Issuer, SyncMode};

/// The OpenAPI 3.1 description of this API (served at `/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The JSON body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable error name (`unknown-card`, `malformed-json`, ...).
    pub error: String,
    /// What exactly is wrong.
    pub detail: String,
}

fn error_response(status: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    let mut r = (
        status,
        Json(ErrorBody {
            error: error.into(),
            detail: detail.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// The HTTP status for a service error.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::UnknownCard { .. } | Error::UnknownPlastic(_) | Error::UnknownSnapshot => {
            StatusCode::NOT_FOUND
        }
        Error::AmbiguousCard { .. }
        | Error::PinNotRecoverable(_)
        | Error::ControlIdUsed
        | Error::SnapshotUsed => StatusCode::CONFLICT,
        Error::ControlIdExpired | Error::SnapshotExpired => StatusCode::GONE,
        Error::WrongScope { .. } => StatusCode::FORBIDDEN,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::WeakPin(_) | Error::PinLength(_) | Error::InvalidPin(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Stopped | Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        e if e.is_client_error() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_of(&self);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut r = error_response(status, self.code(), self.to_string());
        if let Error::RateLimited { retry_after } = self {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        r
    }
}

/// Parses a JSON body, naming the problem in a 400.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "malformed-json"
        } else {
            "invalid-request"
        };
        error_response(StatusCode::BAD_REQUEST, code, e.to_string())
    })
}

/// A service result as a response.
fn respond<T: Serialize>(r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs service work off the async threads and turns its result into a response.
async fn blocking<T, F>(work: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => respond(r),
        Err(e) => {
            tracing::error!(error = %e, "service task failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "service task failed",
            )
        }
    }
}

#[derive(Clone)]
struct AppState {
    issuer: Issuer,
    pin_control: Arc<PinControl>,
    network: Network,
}

/// Who may use the network routes (`POST /v1/authorise`, `POST /v1/advice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Only callers presenting an acquirer key of the key file (the default).
    #[default]
    AcquirerKey,
    /// Anyone who can reach the port (`--insecure-network`, local play only).
    Insecure,
}

/// The API key name that authorised a management call (the audit's actor).
#[derive(Clone)]
struct Actor(String);

async fn require_api_key(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = api_key(req.headers());
    match presented.and_then(|k| s.issuer.keys().check_api_key(k)) {
        Some(name) => {
            let actor = Actor(format!("api:{name}"));
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        None => error_response(
            StatusCode::UNAUTHORIZED,
            Error::Unauthorized.code(),
            "send an issuer API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
        ),
    }
}

/// The network routes' credential (docs/issuer-host.md §1): an acquirer key of the key file
/// in `X-Acquirer-Key`, or in `Authorization: Bearer` when it is an acquirer key. An issuer
/// API key opens no network route and an acquirer key no management route. A missing or
/// wrong key is a 401 before the body is read: nothing is counted or changed, and the
/// answer is the same whatever was wrong with the key.
async fn require_acquirer_key(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.network == Network::Insecure {
        return next.run(req).await;
    }
    let keys = s.issuer.keys();
    let presented = req
        .headers()
        .get("x-acquirer-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| bearer(req.headers()));
    match presented.and_then(|k| keys.check_acquirer_key(k)) {
        Some(_) => next.run(req).await,
        None => error_response(
            StatusCode::UNAUTHORIZED,
            Error::Unauthorized.code(),
            "send an acquirer key as `X-Acquirer-Key: <key>`",
        ),
    }
}

/// The token of an `Authorization: Bearer <token>` header; the scheme name is
/// case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` are the same scheme.
fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn api_key(h: &HeaderMap) -> Option<&str> {
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return bearer_token(v);
    }
    h.get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PsnQuery {
    psn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionQuery {
    #[serde(default)]
    reset: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    mode: PinResetMode,
}

/// The PIN change body: an encrypted PIN block, never a clear PIN.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    pin_block: String,
    format: u8,
    key_id: String,
}

fn query<T: DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, Response> {
    Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| error_response(StatusCode::BAD_REQUEST, "invalid-query", e.body_text()))
}

fn card_ref(pan: String, uri: &axum::http::Uri) -> Result<CardRef, Response> {
    let q: PsnQuery = query(uri)?;
    Ok(CardRef { pan, psn: q.psn })
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

async fn authorise(State(s): State<AppState>, body: Bytes) -> Response {
    let req: AuthRequest = tri!(parse_json(&body));
    // the transaction is awaited (the store's group commit), no blocking thread per request
    respond(s.issuer.authorise_async(&req).await)
}

async fn advise(State(s): State<AppState>, body: Bytes) -> Response {
    let advice: Advice = tri!(parse_json(&body));
    respond(s.issuer.advise_async(&advice).await)
}

async fn card_status(State(s): State<AppState>, Path(pan): Path<String>, req: Request) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    blocking(move || s.issuer.card_status(&card)).await
}

async fn plastics(State(s): State<AppState>, Path(pan): Path<String>, req: Request) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    blocking(move || s.issuer.plastics(&card)).await
}

async fn pin_unblock(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(pan): Path<String>,
    req: Request,
) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    blocking(move || s.issuer.unblock_pin(&card, &actor.0)).await
}

async fn pin_reset(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(pan): Path<String>,
    req: Request,
) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    let body = tri!(read_body(req).await);
    let b: ResetBody = tri!(parse_json(&body));
    blocking(move || s.issuer.reset_pin(&card, b.mode, &actor.0)).await
}

async fn pin_change(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(pan): Path<String>,
    req: Request,
) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    let body = tri!(read_body(req).await);
    // a clear PIN in JSON is refused outright (it must arrive as an encrypted PIN block)
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(&body)
        && ["pin", "new_pin", "newPin", "clear_pin"]
            .iter()
            .any(|k| m.contains_key(*k))
    {
        return error_response(
            StatusCode::BAD_REQUEST,
            "clear-pin-refused",
            "a PIN is never accepted in clear: send {\"pin_block\": hex, \"format\": 0|4, \"key_id\": ...}",
        );
    }
    let b: ChangeBody = tri!(parse_json(&body));
    let Ok(pin_block) = hex::decode(b.pin_block.trim()) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "pin_block is not hex",
        );
    };
    let data = PinData {
        pin_block,
        format: b.format,
        key_id: b.key_id,
    };
    blocking(move || s.issuer.change_pin(&card, &data, &actor.0)).await
}

async fn set_status(
    s: AppState,
    actor: Actor,
    pan: String,
    req: Request,
    status: CardStatus,
) -> Response {
    let card = tri!(card_ref(pan, req.uri()));
    blocking(move || s.issuer.set_card_status(&card, status, &actor.0)).await
}

async fn block_card(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(pan): Path<String>,
    req: Request,
) -> Response {
    set_status(s, actor, pan, req, CardStatus::Blocked).await
}

async fn unblock_card(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(pan): Path<String>,
    req: Request,
) -> Response {
    set_status(s, actor, pan, req, CardStatus::Active).await
}

async fn provision(State(s): State<AppState>, req: Request) -> Response {
    let q: ProvisionQuery = tri!(query(req.uri()));
    let body = tri!(read_body(req).await);
    let p: CardProvision = tri!(parse_json(&body));
    blocking(move || {
        s.issuer
            .provision(&p, q.reset)
            .map(|o| serde_json::json!({ "outcome": o }))
    })
    .await
}

/// `GET /v1/audit?limit=N`: N within 1–1000 (openapi.json), default 100.
const AUDIT_LIMITS: std::ops::RangeInclusive<u32> = 1..=1000;

async fn audit(State(s): State<AppState>, req: Request) -> Response {
    let q: AuditQuery = tri!(query(req.uri()));
    let limit = q.limit.unwrap_or(100);
    if !AUDIT_LIMITS.contains(&limit) {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            format!(
                "limit must be {}–{}, got {limit}",
                AUDIT_LIMITS.start(),
                AUDIT_LIMITS.end()
            ),
        );
    }
    blocking(move || s.issuer.audit_log(limit)).await
}

/// The largest request body the host reads (docs/issuer-host.md §1): `413` beyond it.
pub const MAX_BODY: usize = 64 * 1024;

fn body_too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("the request body is larger than {} KiB", MAX_BODY / 1024),
    )
}

async fn read_body(req: Request) -> Result<Bytes, Response> {
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| body_too_large())
}

/// Every error answer in the documented `{"error", "detail"}` shape (docs/issuer-host.md
/// §1): the ones axum and hyper make themselves (a wrong method's empty `405`, an
/// extractor's plain-text `400` or `413`) are rewritten with a machine-readable code; JSON
/// answers and the device's HTML pages pass as they are.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let r = next.run(req).await;
    let status = r.status();
    let typed = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return r;
    }
    let allow = r.headers().get(header::ALLOW).cloned();
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let mut out = match status {
        StatusCode::METHOD_NOT_ALLOWED => error_response(
            status,
            "method-not-allowed",
            format!(
                "{method} is not allowed on {path}; allowed: {}; see /openapi.json",
                allow.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-")
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
        StatusCode::NOT_FOUND => error_response(
            status,
            "not-found",
            format!("no route {method} {path}; see /openapi.json"),
        ),
        s if s.is_client_error() => error_response(s, "invalid-request", text),
        s => error_response(s, "internal", text),
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    // the answer keeps the headers the route set (security headers, Retry-After, ...)
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().entry(k).or_insert_with(|| v.clone());
        }
    }
    out
}

// ------------------------------------------------------------------------------------
// PIN Control (View PIN / Set PIN): see crate::pin_control

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    scope: Scope,
}

#[derive(Debug, Deserialize)]
struct ControlForm {
    #[serde(rename = "controlId")]
    control_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewBody {
    #[serde(rename = "publicKey")]
    public_key: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    #[serde(rename = "encryptedPin")]
    encrypted_pin: String,
}

/// docs/issuer-host.md §6.2: `Cache-Control: no-store`, `Referrer-Policy: no-referrer`,
/// `X-Content-Type-Options: nosniff` on every answer of the device's routes.
async fn strict_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    for (k, v) in page::STRICT_HEADERS {
        r.headers_mut().insert(k, HeaderValue::from_static(v));
    }
    r
}

async fn pc_token(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(plastic_id): Path<String>,
    req: Request,
) -> Response {
    let base = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let body = tri!(read_body(req).await);
    let b: TokenBody = tri!(parse_json(&body));
    let pc = Arc::clone(&s.pin_control);
    let mut r = blocking(move || pc.issue_token(&plastic_id, b.scope, &actor.0, &base)).await;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A fresh CSP nonce (16 random bytes, hex).
fn nonce() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    Some(hex::encode(b))
}

fn html(status: StatusCode, nonce: &str, config: &PinControlConfig, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&page::content_security_policy(nonce, config)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

async fn pc_page(
    State(s): State<AppState>,
    form: Result<Form<ControlForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(nonce) = nonce() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopped",
            "the operating system RNG failed",
        );
    };
    let pc = Arc::clone(&s.pin_control);
    let config = pc.config().clone();
    let result = match form {
        Ok(Form(f)) => tokio::task::spawn_blocking(move || pc.open_snapshot(&f.control_id))
            .await
            .unwrap_or(Err(Error::Stopped)),
        Err(_) => Err(Error::InvalidControlId(
            "POST the id as the form field controlId (application/x-www-form-urlencoded)",
        )),
    };
    match result {
        Ok(snap) => html(
            StatusCode::OK,
            &nonce,
            &config,
            page::render(&snap, &nonce, &config),
        ),
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = %e, "PIN page failed");
            }
            html(
                status,
                &nonce,
                &config,
                page::render_error(e.code(), &e.to_string(), &nonce, &config),
            )
        }
    }
}

/// A browser that opens the `pinURL` itself (a GET, without the app's `controlId`): a
/// short page saying where the PIN page comes from, instead of an empty answer. `405`
/// with `Allow: POST` (RFC 9110 §15.5.6).
async fn pc_page_get(State(s): State<AppState>) -> Response {
    let Some(nonce) = nonce() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopped",
            "the operating system RNG failed",
        );
    };
    let config = s.pin_control.config().clone();
    let mut r = html(
        StatusCode::METHOD_NOT_ALLOWED,
        &nonce,
        &config,
        page::render_error(
            "method-not-allowed",
            "This is your card issuer's PIN page. It opens only from your banking app, \
             which sends it a one-time code; its address cannot be opened, bookmarked or \
             reloaded on its own. Go back to the app and choose View PIN or Set PIN again.",
            &nonce,
            &config,
        ),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

async fn pc_view(
    State(s): State<AppState>,
    Path(snapshot_id): Path<String>,
    body: Bytes,
) -> Response {
    let b: ViewBody = tri!(parse_json(&body));
    let pc = Arc::clone(&s.pin_control);
    blocking(move || pc.view(&snapshot_id, &b.public_key)).await
}

async fn pc_set(
    State(s): State<AppState>,
    Path(snapshot_id): Path<String>,
    body: Bytes,
) -> Response {
    let b: SetBody = tri!(parse_json(&body));
    let pc = Arc::clone(&s.pin_control);
    blocking(move || pc.set(&snapshot_id, &b.encrypted_pin)).await
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not-found",
        format!(
            "no route {} {}; see /openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

/// The API router over `issuer`, with the default PIN Control settings; the network
/// routes need an acquirer key.
pub fn router(issuer: Issuer) -> Router {
    match PinControl::new(issuer.clone(), PinControlConfig::default()) {
        Ok(pc) => router_with(Arc::new(pc)),
        // only the OS RNG can fail here; without it the PIN Control routes answer 503
        Err(e) => {
            tracing::error!(error = %e, "PIN Control unavailable");
            router_without_pin_control(issuer)
        }
    }
}

fn router_without_pin_control(issuer: Issuer) -> Router {
    base_router(issuer, None, Network::AcquirerKey)
}

/// The API router over the PIN Control service (and its issuer); the network routes need
/// an acquirer key.
pub fn router_with(pin_control: Arc<PinControl>) -> Router {
    router_with_network(pin_control, Network::AcquirerKey)
}

/// [`router_with`], saying who may use the network routes.
pub fn router_with_network(pin_control: Arc<PinControl>, network: Network) -> Router {
    base_router(pin_control.issuer().clone(), Some(pin_control), network)
}

fn base_router(issuer: Issuer, pin_control: Option<Arc<PinControl>>, network: Network) -> Router {
    let Some(pin_control) = pin_control else {
        return Router::new().fallback(|| async {
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "stopped",
                "the operating system RNG failed",
            )
        });
    };
    let state = AppState {
        issuer,
        pin_control,
        network,
    };
    let acquirer = Router::new()
        .route("/v1/authorise", post(authorise))
        .route("/v1/advice", post(advise))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_acquirer_key,
        ));
    let management = Router::new()
        .route("/v1/cards", post(provision))
        .route("/v1/cards/{pan}", get(card_status))
        .route("/v1/cards/{pan}/plastics", get(plastics))
        .route("/v1/cards/{pan}/pin/unblock", post(pin_unblock))
        .route("/v1/cards/{pan}/pin/reset", post(pin_reset))
        .route("/v1/cards/{pan}/pin/change", post(pin_change))
        .route("/v1/cards/{pan}/block", post(block_card))
        .route("/v1/cards/{pan}/unblock", post(unblock_card))
        .route("/v1/audit", get(audit))
        .route(
            "/pin-control/v1/plastics/{plastic_id}/token",
            post(pc_token),
        )
        .route("/pin-control/v1/cards/{pan}/plastics", get(plastics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    // the device's side: no API key (the controlId is the credential), strict headers
    let device = Router::new()
        .route(page::PIN_PATH, post(pc_page).get(pc_page_get))
        .route(
            "/pin-control/v1/snapshots/{snapshot_id}/view",
            post(pc_view),
        )
        .route("/pin-control/v1/snapshots/{snapshot_id}/set", post(pc_set))
        .layer(middleware::from_fn(strict_headers));
    Router::new()
        .merge(acquirer)
        .route("/openapi.json", get(openapi))
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(management)
        .merge(device)
        .fallback(not_found)
        .with_state(state)
        // the Bytes extractors' limit, as read_body's
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(json_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // the route template, never the URI (it can hold a PAN)
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("-", MatchedPath::as_str);
                    tracing::info_span!("http", method = %req.method(), route)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// What `emvbench host serve` runs.
#[derive(Debug)]
pub struct ServeConfig {
    /// Data directory (the SQLite database lives there), unless `database` is given.
    pub data_dir: PathBuf,
    /// A database server instead of SQLite: `postgres://USER@HOST/DB` and the most
    /// connections to open (docs/postgres.md).
    pub database: Option<(String, usize)>,
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: String,
    /// The host's keys.
    pub keys: HostKeys,
    /// PIN Control (View PIN / Set PIN) settings.
    pub pin_control: PinControlConfig,
    /// How far a commit goes before the answer ([`SyncMode::Full`]: on disk).
    pub sync: SyncMode,
    /// Serve the network routes without an acquirer key, and the ISO 8583 port without
    /// MACs (`--insecure-network`): anyone who reaches the ports can authorise, reverse
    /// and advise. Local play only.
    pub insecure_network: bool,
    /// Timeouts and the connection limit of the listener.
    pub limits: ListenerLimits,
    /// The ISO 8583 listener next to the HTTP one, same issuer and store
    /// ([`crate::iso8583`]).
    pub iso8583: Option<crate::iso8583::Iso8583Config>,
}

/// Serves the API on an already bound listener until `shutdown` completes, then lets
/// running requests finish (within [`ListenerLimits::shutdown_grace`]).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    issuer: Issuer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_router(listener, router(issuer), shutdown).await
}

/// How the HTTP listener protects itself from slow, idle and too many clients
/// (docs/issuer-host.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Longest wait for a request's complete header, counted from the connection's start
    /// or, on a kept-alive connection, from the end of the previous answer (so it is the
    /// idle timeout too).
    pub header_timeout: Duration,
    /// Longest time for a request once its header is in: reading its body and answering;
    /// past it the answer is `408`.
    pub request_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen backlog until one
    /// closes.
    pub max_connections: usize,
    /// After the shutdown signal: how long running requests may finish before every
    /// connection is cut.
    pub shutdown_grace: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Serves `app` (e.g. [`router_with`]) on an already bound listener with the default
/// [`ListenerLimits`] until `shutdown` completes.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_router_with(listener, app, shutdown, ListenerLimits::default()).await
}

/// Serves `app` on an already bound listener (HTTP/1.1) within `limits` until `shutdown`
/// completes; then stops accepting, lets running requests finish for
/// [`ListenerLimits::shutdown_grace`] and cuts every connection still open, whatever its
/// client does.
pub async fn serve_router_with(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ListenerLimits,
) -> Result<(), Error> {
    let request_timeout = limits.request_timeout;
    let app = app.layer(middleware::from_fn(move |req: Request, next: Next| {
        time_limit(request_timeout, req, next)
    }));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            s = Arc::clone(&slots).acquire_owned() => s.map_err(|_| Error::Stopped)?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                // out of file descriptors and the like: keep serving the open connections
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            stream,
            app.clone(),
            limits,
            closed.clone(),
            slot,
        ));
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open = connections.len(),
            "shutdown: cutting the connections still open"
        );
    }
    connections.abort_all();
    Ok(())
}

/// One connection: HTTP/1.1 with the header timeout, until it ends or the host closes.
async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: ListenerLimits,
    mut closing: tokio::sync::watch::Receiver<bool>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    let service = hyper_util::service::TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// [`ListenerLimits::request_timeout`]: a request that takes longer (a client sending its
/// body slowly) is answered `408`.
async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error_response(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!("the request took longer than {} s", limit.as_secs()),
        ),
    }
}

/// Opens the store, binds `config.listen`, calls `ready` with the bound address, and serves
/// until Ctrl-C (or SIGTERM); then running requests get [`ListenerLimits::shutdown_grace`]
/// to finish and the rest is cut, so the host stops within about 5 s whatever its clients
/// do. Blocks the calling thread.
pub fn serve(config: ServeConfig, ready: impl FnOnce(SocketAddr) + Send) -> Result<(), Error> {
    let sync = config.sync;
    let network = if config.insecure_network {
        warn_insecure_network();
        Network::Insecure
    } else {
        Network::AcquirerKey
    };
    let store = match &config.database {
        Some((url, _)) => crate::store::redact_url(url),
        None => format!("sqlite, sync={}", sync.name()),
    };
    let issuer = match &config.database {
        Some((url, pool)) => Issuer::open_database(url, config.keys, *pool)?,
        None => Issuer::open_with(&config.data_dir, config.keys, sync)?,
    };
    let iso_issuer = issuer.clone();
    let pin_control = Arc::new(PinControl::new(issuer, config.pin_control)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("emv-host-http")
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| Error::io(format!("binding {}", config.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        tracing::info!(%addr, %store, "issuer host listening");
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let iso = match config.iso8583 {
            Some(mut c) => {
                c.insecure |= config.insecure_network;
                Some(crate::iso8583::start(c, iso_issuer, stop).await?)
            }
            None => None,
        };
        ready(addr);
        let stopping = async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        };
        let served = serve_router_with(
            listener,
            router_with_network(pin_control, network),
            stopping,
            config.limits,
        )
        .await;
        if let Some(task) = iso {
            // the ISO 8583 listener stops on the same signal and cuts its connections
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        served
    });
    // a store call still running when its connection was cut must not hold the exit
    rt.shutdown_timeout(Duration::from_secs(1));
    served
}

/// What `--insecure-network` prints (stderr) and logs.
pub const INSECURE_NETWORK_WARNING: &str = "WARNING: --insecure-network: POST /v1/authorise \
     and /v1/advice accept requests WITHOUT an acquirer key, and the ISO 8583 port messages \
     without a MAC; anyone who reaches these ports can spend, reverse and settle scripts on \
     every card. Local play only.";

fn warn_insecure_network() {
    eprintln!("{INSECURE_NETWORK_WARNING}");
    tracing::warn!("{INSECURE_NETWORK_WARNING}");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing running requests");
}

#[cfg(test)]
mod bearer_tests {
    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer k1", "bearer k1", "BEARER   k1 ", " Bearer k1"] {
            assert_eq!(super::bearer_token(v), Some("k1"), "{v:?}");
        }
        for v in ["Basic k1", "Bearerk1", "Bearer ", "Bearer"] {
            assert_eq!(super::bearer_token(v), None, "{v:?}");
        }
    }
}
