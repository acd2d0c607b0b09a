//! The ISO 8583 front end (docs/iso8583.md): a TCP listener next to the HTTP one, over the
//! same [`Issuer`] and store. Messages are ISO 8583:1987 in one of the two stock layouts
//! ([`Format`]), framed by a length header and an optional TPDU ([`Framing`]).
//!
//! - [`Iso8583Handler`]: one message in, the answer out (decode, MAC check, dispatch to the
//!   issuer, encode, MAC); the listener awaits it (`handle_async`), the fuzz target drives
//!   it directly (`handle`);
//! - [`serve`] / [`start`]: the tokio listener: many connections (up to a limit), many
//!   messages per connection answered as each completes (pipelining), idle and read
//!   timeouts, a prompt stop.
//!
//! Every request must carry a valid MAC (DE 64/128, the link's key) unless the host runs
//! with `insecure`: a message without one, or with a wrong one, is answered `63` without
//! reaching the issuer, and only logged. A message that does not decode is answered with
//! the response MTI and `30` when its MTI is readable, else the connection is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use emv_auth::{AdviceResponse, ResponseCode};
use emv_iso8583::map::{self, Request};
use emv_iso8583::message::peek_mti;
use emv_iso8583::{Format, Framing, Message, Mti, Tpdu, mac};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::Error;
use crate::keys::LinkKeys;
use crate::service::Issuer;
use crate::store::{HostStore, Store};

/// What the ISO 8583 listener runs with.
pub struct Iso8583Config {
    /// Address to listen on (port 0 picks a free port).
    pub listen: String,
    /// Layout, length header and TPDU.
    pub framing: Framing,
    /// The `[[iso8583_links]]` entry of the key file (`None`: the first).
    pub link: Option<String>,
    /// No MAC required on requests nor set on answers (`--insecure-network`).
    pub insecure: bool,
    /// Most connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// A connection with no message under way is closed after this long without a byte.
    pub idle_timeout: Duration,
    /// A message must arrive whole within this long of its first byte (and an answer be
    /// written within this long).
    pub read_timeout: Duration,
    /// Called with the bound address once the listener is up.
    pub on_listening: Option<Box<dyn FnOnce(SocketAddr) + Send + Sync>>,
}

impl std::fmt::Debug for Iso8583Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iso8583Config")
            .field("listen", &self.listen)
            .field("framing", &self.framing)
            .field("link", &self.link)
            .field("insecure", &self.insecure)
            .field("max_connections", &self.max_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl Iso8583Config {
    /// Defaults: ASCII layout, 2-byte header, no TPDU, the first link, MAC required, 256
    /// connections, 60 s idle, 10 s per message.
    pub fn new(listen: impl Into<String>) -> Self {
        Self {
            listen: listen.into(),
            framing: Framing::default(),
            link: None,
            insecure: false,
            max_connections: 256,
            idle_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(10),
            on_listening: None,
        }
    }
}

/// Messages a connection processes at once (pipelined requests beyond wait to be read).
const MAX_IN_FLIGHT: usize = 32;
/// How long a stopping listener lets running messages finish (SIGTERM stops the host
/// within 5 s whatever its clients do).
const STOP_GRACE: Duration = Duration::from_secs(2);

// ------------------------------------------------------------------------------------
// One message

/// A message after decoding and authentication.
enum Accepted {
    /// Answered (or dropped) without reaching the issuer.
    Done(Option<Vec<u8>>),
    /// A request for the issuer (boxed: a decoded message is large).
    Request(Box<(Message, Request)>),
}

/// What the issuer did with a request.
enum Outcome {
    Auth(Result<emv_auth::AuthResponse, Error>),
    Advice(Result<crate::service::AdviceOutcome, Error>),
    /// Network management (DE 70): answered by the front end itself.
    Network(&'static str),
}

/// Decodes, authenticates and dispatches one message to the issuer; encodes the answer.
pub struct Iso8583Handler<S = HostStore> {
    issuer: Issuer<S>,
    link: LinkKeys,
    format: Format,
    insecure: bool,
}

impl<S> std::fmt::Debug for Iso8583Handler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iso8583Handler")
            .field("link", &self.link.name)
            .field("format", &self.format)
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Iso8583Handler<S> {
    /// A handler for the link `link` (its MAC key and default PIN key) in `format`.
    pub fn new(issuer: Issuer<S>, link: LinkKeys, format: Format, insecure: bool) -> Self {
        Self {
            issuer,
            link,
            format,
            insecure,
        }
    }

    /// The answer to one message (MTI onwards, without framing), or `None` when it gets
    /// none: an answer or other message type that expects no response (logged), or bytes
    /// whose MTI cannot be read (the caller closes the connection).
    pub fn handle(&self, raw: &[u8]) -> Option<Vec<u8>> {
        match self.accept(raw) {
            Accepted::Done(answer) => answer,
            Accepted::Request(r) => {
                let (msg, req) = *r;
                let outcome = match req {
                    Request::Authorisation(r) => Outcome::Auth(self.issuer.authorise(&r)),
                    Request::Advice(a) => Outcome::Advice(self.issuer.advise(&a)),
                    Request::Network(code) => Outcome::Network(code.code()),
                };
                self.answer(&msg, outcome)
            }
        }
    }

    /// [`Self::handle`] for the listener's tasks: the issuer's transaction is awaited
    /// (the store's group commit), so a connection task never blocks a runtime thread
    /// and needs no blocking thread of its own.
    pub async fn handle_async(&self, raw: &[u8]) -> Option<Vec<u8>> {
        match self.accept(raw) {
            Accepted::Done(answer) => answer,
            Accepted::Request(r) => {
                let (msg, req) = *r;
                let outcome = match req {
                    Request::Authorisation(r) => {
                        Outcome::Auth(self.issuer.authorise_async(&r).await)
                    }
                    Request::Advice(a) => Outcome::Advice(self.issuer.advise_async(&a).await),
                    Request::Network(code) => Outcome::Network(code.code()),
                };
                self.answer(&msg, outcome)
            }
        }
    }

    /// Decodes and authenticates a message: the request for the issuer, or the answer
    /// when it never reaches the issuer.
    fn accept(&self, raw: &[u8]) -> Accepted {
        let msg = match Message::decode(self.format, raw) {
            Ok(m) => m,
            Err(e) => {
                let Some(mti) = peek_mti(raw) else {
                    return Accepted::Done(None);
                };
                tracing::warn!(%mti, error = %e, "iso8583: malformed message, answered 30");
                return Accepted::Done(map::format_error(mti).and_then(|m| self.encode(m)));
            }
        };
        let Some(_) = msg.mti.response() else {
            tracing::warn!(mti = %msg.mti, "iso8583: not a request, ignored");
            return Accepted::Done(None);
        };
        if !self.insecure
            && let Err(e) = mac::verify(&msg, raw, self.format, &self.link.mac_key)
        {
            // refused before the issuer sees it: nothing is counted (docs/iso8583.md §5)
            tracing::warn!(mti = %msg.mti, error = %e, "iso8583: MAC check failed, answered 63");
            let answer = map::answer(&msg, ResponseCode::SECURITY_VIOLATION);
            return Accepted::Done(answer.and_then(|m| self.encode(m)));
        }
        match map::parse_request(&msg, &self.link.pin_key) {
            Ok(req) => Accepted::Request(Box::new((msg, req))),
            Err(e) => {
                let code = mapping_code(&e);
                tracing::warn!(mti = %msg.mti, error = %e, code = %code, "iso8583: request refused");
                Accepted::Done(map::answer(&msg, code).and_then(|m| self.encode(m)))
            }
        }
    }

    /// The encoded answer to `msg` from what the issuer did.
    fn answer(&self, msg: &Message, outcome: Outcome) -> Option<Vec<u8>> {
        let out = match outcome {
            Outcome::Auth(Ok(resp)) => map::auth_response_to_message(msg, &resp),
            Outcome::Auth(Err(e)) => {
                return self.encode(map::answer(msg, self.error_code(msg.mti, &e, false))?);
            }
            Outcome::Advice(Ok(o)) => map::advice_response_to_message(
                msg,
                &AdviceResponse {
                    response_code: o.response_code,
                    reversed: o.reversed,
                },
            ),
            Outcome::Advice(Err(e)) => {
                return self.encode(map::answer(msg, self.error_code(msg.mti, &e, true))?);
            }
            Outcome::Network(code) => {
                tracing::info!(code, "iso8583: network management");
                return self.encode(map::answer(msg, ResponseCode::APPROVED)?);
            }
        };
        match out {
            Ok(m) => self.encode(m),
            Err(e) => {
                tracing::error!(mti = %msg.mti, error = %e, "iso8583: answer does not encode");
                self.encode(map::answer(msg, ResponseCode::SYSTEM_MALFUNCTION)?)
            }
        }
    }

    /// DE 39 for an issuer error: an advice about a card the host does not know has no
    /// original (`25`); other errors in the request are format errors (`30`), the host's
    /// own failures `96` (ISO 8583:1987 DE 39; docs/iso8583.md §6).
    fn error_code(&self, mti: Mti, e: &Error, advice: bool) -> ResponseCode {
        let code = match e {
            Error::UnknownCard { .. } if advice => ResponseCode::NO_ORIGINAL,
            e if e.is_client_error() => ResponseCode::FORMAT_ERROR,
            _ => ResponseCode::SYSTEM_MALFUNCTION,
        };
        tracing::warn!(%mti, error = %e, code = %code, "iso8583: issuer refused the message");
        code
    }

    fn encode(&self, mut msg: Message) -> Option<Vec<u8>> {
        let out = match self.insecure {
            true => msg.encode(self.format),
            false => mac::sign(&mut msg, self.format, &self.link.mac_key),
        };
        out.map_err(
            |e| tracing::error!(mti = %msg.mti, error = %e, "iso8583: answer does not encode"),
        )
        .ok()
    }
}

/// DE 39 for a request the mapping refuses: a message type or function the host does not
/// offer is an invalid transaction (`12`), a malformed one a format error (`30`).
fn mapping_code(e: &emv_iso8583::Error) -> ResponseCode {
    match e {
        emv_iso8583::Error::Unsupported { .. } | emv_iso8583::Error::UnsupportedMti(_) => {
            ResponseCode::INVALID_TRANSACTION
        }
        _ => ResponseCode::FORMAT_ERROR,
    }
}

// ------------------------------------------------------------------------------------
// The listener

/// Binds `config.listen` and serves ISO 8583 on it in the current tokio runtime until
/// `stop` turns true; returns the task to await after stopping.
pub async fn start<S: Store + Send + Sync + 'static>(
    mut config: Iso8583Config,
    issuer: Issuer<S>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let link = issuer.keys().iso8583_link(config.link.as_deref())?.clone();
    if config.insecure {
        tracing::warn!(
            "INSECURE NETWORK: the ISO 8583 listener takes messages without a MAC; anyone who reaches the port can authorise and reverse"
        );
    }
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Error::io(format!("binding {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound address", e))?;
    tracing::info!(%addr, format = config.framing.format.name(), header = config.framing.header.name(), link = %link.name, "iso8583 listening");
    if let Some(f) = config.on_listening.take() {
        f(addr);
    }
    let handler = Arc::new(Iso8583Handler::new(
        issuer,
        link,
        config.framing.format,
        config.insecure,
    ));
    Ok(tokio::spawn(serve(
        listener,
        handler,
        Arc::new(config),
        stop,
    )))
}

/// Accepts connections on `listener` until `stop` turns true, then gives running messages
/// [`STOP_GRACE`] and closes every connection.
pub async fn serve<S: Store + Send + Sync + 'static>(
    listener: TcpListener,
    handler: Arc<Iso8583Handler<S>>,
    config: Arc<Iso8583Config>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut conns = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        let (h, c, s) = (Arc::clone(&handler), Arc::clone(&config), stop.clone());
                        conns.spawn(async move {
                            connection(stream, peer, h, c, s).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        tracing::warn!(%peer, limit = config.max_connections, "iso8583: connection limit reached, closed");
                        drop(stream);
                    }
                },
                Err(e) => {
                    // out of descriptors and the like: do not spin
                    tracing::warn!(error = %e, "iso8583: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.changed() => {}
        }
    }
    drop(listener);
    let deadline = Instant::now() + STOP_GRACE + Duration::from_millis(500);
    while !conns.is_empty() {
        match tokio::time::timeout_at(deadline, conns.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                conns.abort_all();
                break;
            }
        }
    }
    tracing::info!("iso8583 listener stopped");
}

/// One connection: reads frames, runs each as a task of its own (up to [`MAX_IN_FLIGHT`] at
/// once; the issuer's transaction is awaited, not run on a blocking thread per request),
/// writes each answer from this task as it completes.
async fn connection<S: Store + Send + Sync + 'static>(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<Iso8583Handler<S>>,
    config: Arc<Iso8583Config>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let framing = config.framing;
    let mut running: JoinSet<Option<Vec<u8>>> = JoinSet::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut started: Option<Instant> = None;
    let mut chunk = vec![0u8; 8192];
    let mut open = true;
    while open {
        // every complete frame goes to the blocking pool while there is room
        while running.len() < MAX_IN_FLIGHT {
            match framing.take(&mut buf) {
                Ok(Some(frame)) => {
                    started = None;
                    if peek_mti(&frame.message).is_none() {
                        tracing::warn!(%peer, "iso8583: unreadable MTI, connection closed");
                        open = false;
                        break;
                    }
                    let h = Arc::clone(&handler);
                    running.spawn(async move {
                        let answer = h.handle_async(&frame.message).await?;
                        framing
                            .wrap(frame.tpdu.map(Tpdu::reply), &answer)
                            .map_err(
                                |e| tracing::error!(error = %e, "iso8583: answer does not frame"),
                            )
                            .ok()
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    // the stream cannot be delimited any more: answer 30 if the MTI is
                    // readable, then close
                    let at = framing.header.len() + framing.tpdu.map_or(0, |_| 5);
                    let answer = buf.get(at..).and_then(peek_mti).and_then(map::format_error);
                    tracing::warn!(%peer, error = %e, "iso8583: bad frame, connection closed");
                    if let Some(bytes) = answer
                        .and_then(|m| handler.encode(m))
                        .and_then(|a| framing.wrap(None, &a).ok())
                    {
                        running.spawn(async move { Some(bytes) });
                    }
                    open = false;
                    break;
                }
            }
        }
        if !open {
            break;
        }
        if !buf.is_empty() && started.is_none() {
            started = Some(Instant::now());
        }
        let deadline = match started {
            Some(t) => t + config.read_timeout,
            None => Instant::now() + config.idle_timeout,
        };
        let room = running.len() < MAX_IN_FLIGHT;
        tokio::select! {
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok(Some(bytes)) = done
                    && !write(&mut wr, &bytes, config.read_timeout, peer).await
                {
                    return;
                }
            }
            r = tokio::time::timeout_at(deadline, rd.read(&mut chunk)), if room => match r {
                Ok(Ok(0)) => open = false,
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "iso8583: read failed");
                    open = false;
                }
                Err(_) => {
                    tracing::warn!(%peer, partial = !buf.is_empty(), "iso8583: read timeout, connection closed");
                    open = false;
                }
            },
            _ = stop.changed() => open = false,
        }
    }
    // answers under way still go out (within the grace period), then the socket closes
    let drain = async {
        while let Some(done) = running.join_next().await {
            if let Ok(Some(bytes)) = done
                && !write(&mut wr, &bytes, config.read_timeout, peer).await
            {
                return;
            }
        }
        let _ = wr.shutdown().await;
    };
    let _ = tokio::time::timeout(STOP_GRACE, drain).await;
}

/// Writes one answer; `false` when the peer does not take it in time.
async fn write(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    bytes: &[u8],
    timeout: Duration,
    peer: SocketAddr,
) -> bool {
    match tokio::time::timeout(timeout, wr.write_all(bytes)).await {
        Ok(Ok(())) => true,
        _ => {
            tracing::warn!(%peer, "iso8583: write failed or timed out, connection closed");
            false
        }
    }
}
