//! The vpcd front end: puts a [`VirtualCard`] (the software card) into vsmartcard's virtual
//! reader, so that every PC/SC program on the machine sees a card.
//!
//! vpcd runs inside pcscd and *listens* on TCP port 35963 + slot; the card *connects*
//! (docs/virtual-reader.md §1, §3). Every message in both directions is a 2-byte big-endian length and
//! that many bytes. vpcd sends 1-byte control messages (`00` power off, `01` power on, `02`
//! reset, `04` get ATR) and C-APDUs; the card answers `04` with its ATR and each C-APDU with
//! its R-APDU, nothing else. A card that does not answer leaves: the link is closed, and
//! vpcd's EOF handling ejects it (docs/virtual-reader.md §3). A zero-length reply is never sent:
//! vpcd 0.8 then blocks in `recv(fd, NULL, 0, MSG_WAITALL)` and hangs the client's
//! SCardTransmit (measured with gdb on Debian's 3.3+dfsg-2).
//!
//! Latency: vpcd 0.8 sends the length and the body in two `send()` calls without
//! TCP_NODELAY, so Nagle holds the body until the card ACKs the header, which Linux delays
//! by ~40 ms. Setting TCP_QUICKACK after every header read takes an APDU from 44 ms to
//! ~0.1 ms (docs/virtual-reader.md §4). This module does that through socket2's safe API.

use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use emv_card::{Card, CardStore};
use tracing::{debug, info, trace, warn};

use crate::Error;

/// vpcd's host when none is given.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// vpcd's first port: `DEVICENAME /dev/null:0x8C7B` in /etc/reader.conf.d/vpcd; slot *i*
/// listens on this port + *i* (docs/virtual-reader.md §1).
pub const DEFAULT_PORT: u16 = 35963;
/// Slots one vpcd reader.conf entry serves (`VPCDSLOTS=2`, docs/virtual-reader.md §1). More cards
/// need more reader.conf entries, each with its own copy of the driver (§7).
pub const SLOTS_PER_READER: u16 = 2;
/// The largest message the 2-byte length can carry (docs/virtual-reader.md §3).
pub const MAX_MESSAGE: usize = 0xFFFF;
/// vpcd's `MAX_ATR_SIZE` (docs/virtual-reader.md §3).
pub const MAX_ATR: usize = 33;

/// The class byte of PC/SC Part 3's reader pseudo-APDUs (GET DATA `FF CA` for the UID
/// or ATS of a contactless card, LOAD KEYS, ...): the reader front end answers them.
pub const READER_CLA: u8 = 0xFF;

/// What a contact reader answers to a reader pseudo-APDU: `6A81`, function not supported
/// (PC/SC Part 3 §3.2.2.1.3, the status words of GET DATA).
pub const READER_FUNCTION_NOT_SUPPORTED: [u8; 2] = [0x6A, 0x81];

/// One message from vpcd (docs/virtual-reader.md §3, the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `00`: power off; no answer.
    PowerOff,
    /// `01`: power on (cold reset); no answer, a `04` follows.
    PowerOn,
    /// `02`: warm reset; no answer, a `04` follows.
    Reset,
    /// `04`: send the ATR (also pcscd's presence poll, every 400 ms per slot).
    GetAtr,
    /// Anything of 2 bytes or more: a C-APDU exactly as the client passed it to
    /// `SCardTransmit` (no T=0/T=1 framing).
    Apdu(&'a [u8]),
}

impl<'a> Request<'a> {
    /// Classifies one message body.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Error> {
        match msg {
            [] => Err(Error::VpcdProtocol("empty message from vpcd".into())),
            [0x00] => Ok(Self::PowerOff),
            [0x01] => Ok(Self::PowerOn),
            [0x02] => Ok(Self::Reset),
            [0x04] => Ok(Self::GetAtr),
            // 0x03 is unused; a 1-byte message is always a control byte (docs/virtual-reader.md §3)
            [b] => Err(Error::VpcdProtocol(format!(
                "unknown control byte {b:02X} from vpcd"
            ))),
            apdu => Ok(Self::Apdu(apdu)),
        }
    }
}

/// A card vpcd can talk to. [`Card`] is one; [`EchoCard`] is the latency baseline.
pub trait VirtualCard {
    /// The ATR (at most [`MAX_ATR`] bytes), answered to every `04`, powered or not.
    fn atr(&self) -> Vec<u8>;
    /// Cold reset: the volatile state is cleared.
    fn power_on(&mut self);
    /// Warm reset: the volatile state is cleared, the persistent state stays.
    fn reset(&mut self);
    /// Power off (also called when the link to vpcd ends: the card left the reader).
    fn power_off(&mut self);
    /// Answers one C-APDU with its R-APDU. Empty means "no answer": the link is closed,
    /// which vpcd and the client see as card removal.
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8>;
}

impl<S: CardStore> VirtualCard for Card<S> {
    fn atr(&self) -> Vec<u8> {
        Card::atr(self).to_vec()
    }
    fn power_on(&mut self) {
        Card::power_on(self);
    }
    fn reset(&mut self) {
        Card::reset(self);
    }
    fn power_off(&mut self) {
        Card::power_off(self);
    }
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        self.handle(capdu)
    }
}

/// A card whose every power event and exchange goes to a trace as it happens
/// (`emvbench card serve --record FILE`): what a foreign terminal did to the card, PIN data
/// redacted unless the writer keeps it, replayable with `emvbench trace replay`. A trace
/// that cannot be written is reported once and recording stops; the card goes on.
#[derive(Debug)]
pub struct Recorded<C, W: std::io::Write> {
    card: C,
    writer: Option<crate::trace::TraceWriter<W>>,
}

impl<C: VirtualCard, W: std::io::Write> Recorded<C, W> {
    /// `card`, recorded by `writer`.
    pub fn new(card: C, writer: crate::trace::TraceWriter<W>) -> Self {
        Self {
            card,
            writer: Some(writer),
        }
    }

    fn record(&mut self, event: &crate::trace::Event) {
        if let Some(w) = &mut self.writer
            && let Err(e) = w.event(event)
        {
            tracing::error!(error = %e, "the trace cannot be written: recording stopped");
            self.writer = None;
        }
    }
}

impl<C: VirtualCard, W: std::io::Write> VirtualCard for Recorded<C, W> {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power_on(&mut self) {
        self.card.power_on();
        let atr = self.card.atr();
        self.record(&crate::trace::Event::PowerOn(atr));
    }
    fn reset(&mut self) {
        // a warm reset: the trace's power-off then power-on (the volatile state is cleared
        // either way, EMV 4.4 Book 1 §6.1.3)
        self.card.reset();
        let atr = self.card.atr();
        self.record(&crate::trace::Event::PowerOff);
        self.record(&crate::trace::Event::PowerOn(atr));
    }
    fn power_off(&mut self) {
        self.card.power_off();
        self.record(&crate::trace::Event::PowerOff);
    }
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        let r = self.card.transmit(capdu);
        if let Some(w) = &mut self.writer {
            let response = if r.is_empty() {
                Err("no answer (the card left the reader)".to_owned())
            } else {
                Ok(r.clone())
            };
            if let Err(e) = w.exchange(capdu, response) {
                tracing::error!(error = %e, "the trace cannot be written: recording stopped");
                self.writer = None;
            }
        }
        r
    }
}

impl<T: VirtualCard + ?Sized> VirtualCard for &mut T {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        (**self).transmit(capdu)
    }
}

impl<T: VirtualCard + ?Sized> VirtualCard for Box<T> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        (**self).transmit(capdu)
    }
}

/// The trivial card for latency baselines: answers every C-APDU with `9000`, ATR
/// `3B 02 14 50` (T=0, an ATR of docs/virtual-reader.md §5).
#[derive(Debug, Default, Clone, Copy)]
pub struct EchoCard;

impl VirtualCard for EchoCard {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x02, 0x14, 0x50]
    }
    fn power_on(&mut self) {}
    fn reset(&mut self) {}
    fn power_off(&mut self) {}
    fn transmit(&mut self, _capdu: &[u8]) -> Vec<u8> {
        vec![0x90, 0x00]
    }
}

/// `host:port` of the given slot: vpcd's slot *i* listens on the first port + *i*
/// (docs/virtual-reader.md §1).
pub fn slot_address(base: &str, slot: u16) -> Result<String, Error> {
    let bad = |why: &str| Error::BadAddress {
        addr: base.to_owned(),
        reason: why.to_owned(),
    };
    let (host, port) = base
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    let port = port
        .checked_add(slot)
        .ok_or_else(|| bad("slot port above 65535"))?;
    Ok(format!("{host}:{port}"))
}

/// Stops [`serve`] loops from another thread (Ctrl-C): every link is shut down, which
/// wakes its blocking read, and backoff sleeps end at once. Clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    stopped: AtomicBool,
    next_id: AtomicU64,
    links: Mutex<Vec<(u64, TcpStream)>>,
    wake: Condvar,
}

impl Shutdown {
    /// A handle that has not been triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops every loop that watches this handle.
    pub fn trigger(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        let links = self.lock();
        for (_, s) in links.iter() {
            // wakes the blocked read with EOF; the card then powers off
            let _ = s.shutdown(NetShutdown::Both);
        }
        self.inner.wake.notify_all();
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, TcpStream)>> {
        self.inner
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps up to `d`; returns true (at once) when triggered.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut g = self.lock();
        while !self.is_triggered() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self
                .inner
                .wake
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    fn register(&self, s: &TcpStream) -> io::Result<Registration<'_>> {
        let id = self.inner.next_id.fetch_add(1, Ordering::SeqCst);
        self.lock().push((id, s.try_clone()?));
        // a trigger that ran before the push did not see this link
        if self.is_triggered() {
            let _ = s.shutdown(NetShutdown::Both);
        }
        Ok(Registration { owner: self, id })
    }
}

struct Registration<'a> {
    owner: &'a Shutdown,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.owner.lock().retain(|(id, _)| *id != self.id);
    }
}

/// How one connection to vpcd ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// vpcd closed it (pcscd stopped).
    Closed,
    /// The card gave no answer to a C-APDU, so the link was closed: the card left the
    /// reader.
    NoAnswer,
    /// [`Shutdown::trigger`] was called.
    Stopped,
}

/// Counters of one link, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// C-APDUs answered.
    pub apdus: u64,
    /// `04` messages answered (power-up and presence polls).
    pub atr_requests: u64,
    /// Power on, reset and power off messages.
    pub power_events: u64,
}

/// One TCP connection to one vpcd slot: one card in one virtual reader.
#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    stats: LinkStats,
}

impl Link {
    /// Connects to vpcd at `addr` (`HOST:PORT`). Connection refused means vpcd is not
    /// listening (pcscd not running, or no vpcd reader for this port).
    pub fn connect(addr: &str) -> Result<Self, Error> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| Error::BadAddress {
                addr: addr.to_owned(),
                reason: e.to_string(),
            })?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
                Ok(s) => return Self::from_stream(s),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Vpcd {
            addr: addr.to_owned(),
            source: last.unwrap_or_else(|| io::Error::other("the name resolved to no address")),
        })
    }

    /// Wraps an already connected stream (tests use a fake vpcd).
    pub fn from_stream(stream: TcpStream) -> Result<Self, Error> {
        let peer = stream.peer_addr().map_err(|e| Error::Vpcd {
            addr: "?".into(),
            source: e,
        })?;
        // the card's replies go out in one write each; no Nagle on our side (pitfall 1)
        stream.set_nodelay(true).map_err(|e| Error::Vpcd {
            addr: peer.to_string(),
            source: e,
        })?;
        Ok(Self {
            stream,
            peer,
            buf: Vec::with_capacity(512),
            stats: LinkStats::default(),
        })
    }

    /// What this link has answered so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Serves `card` until vpcd closes the connection or `stop` is triggered. The card is
    /// powered off when the session ends (it left the reader).
    pub fn serve<C: VirtualCard + ?Sized>(
        &mut self,
        card: &mut C,
        stop: &Shutdown,
    ) -> Result<SessionEnd, Error> {
        let _reg = stop.register(&self.stream).map_err(|e| self.io(e))?;
        let end = self.serve_inner(card, stop);
        card.power_off();
        match end {
            _ if stop.is_triggered() => Ok(SessionEnd::Stopped),
            Ok(end) => Ok(end),
            // vpcd ejecting the card resets the connection rather than closing it when our
            // last write raced its close
            Err(Error::Vpcd { source, .. })
                if matches!(
                    source.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                ) =>
            {
                Ok(SessionEnd::Closed)
            }
            Err(e) => Err(e),
        }
    }

    fn io(&self, e: io::Error) -> Error {
        Error::Vpcd {
            addr: self.peer.to_string(),
            source: e,
        }
    }

    /// Returns how the session ended, unless an I/O error ended it.
    fn serve_inner<C: VirtualCard + ?Sized>(
        &mut self,
        card: &mut C,
        stop: &Shutdown,
    ) -> Result<SessionEnd, Error> {
        let mut polled = false;
        loop {
            let started = match read_message(&mut self.stream, &mut self.buf, quickack) {
                Ok(true) => Instant::now(),
                Ok(false) => return Ok(SessionEnd::Closed),
                Err(e) => return Err(self.io(e)),
            };
            if stop.is_triggered() {
                return Ok(SessionEnd::Stopped);
            }
            if !polled {
                // Connected is not inserted: a second card on a served port sits in the
                // accept backlog until the first leaves (docs/virtual-reader.md §3).
                polled = true;
                info!(vpcd = %self.peer, "card inserted (vpcd is polling it)");
            }
            let reply = match Request::parse(&self.buf) {
                Ok(Request::PowerOff) => {
                    debug!(vpcd = %self.peer, "power off");
                    self.stats.power_events += 1;
                    card.power_off();
                    continue;
                }
                Ok(Request::PowerOn) => {
                    debug!(vpcd = %self.peer, "power on (cold reset)");
                    self.stats.power_events += 1;
                    card.power_on();
                    continue;
                }
                Ok(Request::Reset) => {
                    debug!(vpcd = %self.peer, "warm reset");
                    self.stats.power_events += 1;
                    card.reset();
                    continue;
                }
                Ok(Request::GetAtr) => {
                    // also the 400 ms presence poll: trace level, not debug (pitfall 7)
                    trace!(vpcd = %self.peer, "ATR requested");
                    self.stats.atr_requests += 1;
                    let mut atr = card.atr();
                    atr.truncate(MAX_ATR);
                    atr
                }
                Ok(Request::Apdu(capdu)) if capdu.first() == Some(&READER_CLA) => {
                    // a reader pseudo-APDU (PC/SC Part 3 §3.2.2.1, class FF): the reader
                    // answers it, never the card; a contact reader has no contactless UID
                    // or ATS to give (docs/virtual-reader.md §5)
                    debug!(
                        vpcd = %self.peer,
                        "reader command {} -> 6A81 (a contact reader)",
                        emv_apdu::describe::command_summary(capdu)
                    );
                    READER_FUNCTION_NOT_SUPPORTED.to_vec()
                }
                Ok(Request::Apdu(capdu)) => {
                    self.stats.apdus += 1;
                    let r = card.transmit(capdu);
                    if tracing::enabled!(tracing::Level::DEBUG) {
                        debug!(
                            vpcd = %self.peer,
                            "{} -> {} ({} µs)",
                            emv_apdu::describe::command_summary(capdu),
                            describe_rapdu(&r),
                            started.elapsed().as_micros()
                        );
                    }
                    if r.is_empty() {
                        warn!(vpcd = %self.peer, "the card did not answer: taking it out of the reader");
                        let _ = self.stream.shutdown(NetShutdown::Both);
                        return Ok(SessionEnd::NoAnswer);
                    }
                    r
                }
                Err(e) => {
                    warn!(vpcd = %self.peer, "ignored: {e}");
                    continue;
                }
            };
            write_message(&mut self.stream, &reply).map_err(|e| self.io(e))?;
        }
    }
}

/// TCP_QUICKACK after every header read: without it, vpcd's body waits ~40 ms for our
/// delayed ACK (docs/virtual-reader.md §4, §9 pitfall 1). Linux-only; elsewhere there is no such
/// option and nothing to do.
fn quickack(s: &TcpStream) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        socket2::SockRef::from(s).set_tcp_quickack(true)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = s;
        Ok(())
    }
}

/// Reads one message into `buf`. Ok(false) on EOF before a message starts; EOF inside a
/// message is an error. `after_header` runs between the length and the body.
pub(crate) fn read_message<R: Read>(
    r: &mut R,
    buf: &mut Vec<u8>,
    after_header: impl Fn(&R) -> io::Result<()>,
) -> io::Result<bool> {
    let mut hdr = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match r.read(&mut hdr[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    after_header(r)?;
    let len = usize::from(u16::from_be_bytes(hdr));
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf)?;
    Ok(true)
}

/// Writes one message: length and body in a single write, so Nagle on either side has
/// nothing to hold back (docs/virtual-reader.md §4).
pub(crate) fn write_message<W: Write>(w: &mut W, body: &[u8]) -> io::Result<()> {
    let len = u16::try_from(body.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("answer of {} bytes does not fit vpcd's framing", body.len()),
        )
    })?;
    let mut out = Vec::with_capacity(2 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

fn describe_rapdu(r: &[u8]) -> String {
    match r {
        [] => "no answer".to_owned(),
        [.., a, b] => format!("{} bytes, SW {a:02X}{b:02X}", r.len() - 2),
        _ => format!("{} byte(s), no status word", r.len()),
    }
}

/// Reconnect timing for [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait after a refused connection.
    pub min: Duration,
    /// Longest wait.
    pub max: Duration,
    /// How long the card stays out after vpcd closed the link (ejected it, or pcscd
    /// stopped) before connecting again. pcscd sees a removal only on its 400 ms poll
    /// (docs/virtual-reader.md §7); a card back sooner may look as if it never left, with its
    /// clients' handles still open on a card that lost its power state.
    pub reinsert: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        // pcscd is ready 0.03-0.06 s after start (docs/virtual-reader.md §2): start short
        Self {
            min: Duration::from_millis(50),
            max: Duration::from_secs(1),
            reinsert: Duration::from_millis(1000),
        }
    }
}

/// Serves `card` at `addr` until `stop` is triggered: connects (retrying with backoff
/// while vpcd is not up), serves, and connects again whenever vpcd goes away (pcscd
/// restarted, card ejected). Fails only on an address that does not resolve.
pub fn serve<C: VirtualCard + ?Sized>(
    card: &mut C,
    addr: &str,
    stop: &Shutdown,
    backoff: Backoff,
) -> Result<(), Error> {
    let mut wait = backoff.min;
    let mut waiting_logged = false;
    while !stop.is_triggered() {
        let mut link = match Link::connect(addr) {
            Ok(l) => l,
            Err(e @ Error::BadAddress { .. }) => return Err(e),
            Err(e) => {
                if waiting_logged {
                    debug!("still waiting for vpcd at {addr}: {e}");
                } else {
                    info!("waiting for vpcd at {addr} (pcscd with vsmartcard-vpcd running?): {e}");
                    waiting_logged = true;
                }
                if stop.sleep(wait) {
                    break;
                }
                wait = (wait * 2).min(backoff.max);
                continue;
            }
        };
        wait = backoff.min;
        waiting_logged = false;
        info!("connected to vpcd at {addr}");
        match link.serve(card, stop) {
            Ok(SessionEnd::Stopped) => break,
            Ok(SessionEnd::Closed) => {
                info!("vpcd at {addr} closed the connection (pcscd stopped?); reconnecting")
            }
            Ok(SessionEnd::NoAnswer) => {
                info!("the card left the reader at {addr}; inserting it again")
            }
            Err(e) => warn!("link to vpcd at {addr} failed: {e}; reconnecting"),
        }
        let s = link.stats();
        debug!(
            "link to {addr} ended after {} APDUs, {} ATR requests, {} power events",
            s.apdus, s.atr_requests, s.power_events
        );
        if stop.sleep(backoff.reinsert) {
            break;
        }
    }
    card.power_off();
    Ok(())
}

/// Serves several cards at once, card *i* on slot *i* (`base` port + *i*), one thread per
/// card, until `stop` is triggered. If one fails (bad address) the others are stopped.
pub fn serve_slots<C: VirtualCard + Send>(
    cards: &mut [C],
    base: &str,
    stop: &Shutdown,
    backoff: Backoff,
) -> Result<(), Error> {
    let mut addrs = Vec::new();
    for i in 0..cards.len() {
        let slot = u16::try_from(i).map_err(|_| Error::BadAddress {
            addr: base.to_owned(),
            reason: "too many slots".into(),
        })?;
        addrs.push(slot_address(base, slot)?);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = cards
            .iter_mut()
            .zip(&addrs)
            .map(|(card, addr)| {
                s.spawn(move || {
                    let r = serve(card, addr, stop, backoff);
                    if r.is_err() {
                        stop.trigger();
                    }
                    r
                })
            })
            .collect();
        let mut first = Ok(());
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                stop.trigger();
                Err(Error::VpcdProtocol("a slot thread panicked".into()))
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;

    use emv_card::{MemoryStore, Personalisation};

    use super::*;

    /// A fake vpcd: the listening side of the protocol, driven by the test.
    struct FakeVpcd {
        s: TcpStream,
        buf: Vec<u8>,
    }

    impl FakeVpcd {
        fn send(&mut self, body: &[u8]) {
            // like vpcd 0.8: header and body in two writes (docs/virtual-reader.md §4, strace)
            let len = u16::try_from(body.len()).unwrap().to_be_bytes();
            self.s.write_all(&len).unwrap();
            self.s.write_all(body).unwrap();
        }
        fn recv(&mut self) -> Vec<u8> {
            assert!(read_message(&mut self.s, &mut self.buf, |_| Ok(())).unwrap());
            self.buf.clone()
        }
        fn apdu(&mut self, c: &[u8]) -> Vec<u8> {
            self.send(c);
            self.recv()
        }
    }

    fn listener() -> (TcpListener, String) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap().to_string();
        (l, a)
    }

    fn accept(l: &TcpListener) -> FakeVpcd {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        FakeVpcd { s, buf: Vec::new() }
    }

    fn software_card() -> Card<MemoryStore> {
        let p = Arc::new(Personalisation::load("visa-cvn18", &[]).unwrap());
        Card::in_memory(p).unwrap().with_seed(1)
    }

    const SELECT_PSE: &[u8] = b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00";

    #[test]
    fn a_recorded_card_writes_a_trace_that_replays_and_holds_no_pin() {
        use crate::trace::{self, Event, Trace, TraceWriter};
        let card_line = Event::Marker {
            name: "card".into(),
            args: Vec::new(),
            fields: trace::card_fields("visa-cvn18", 1, &[])
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        };
        let mut file = Vec::new();
        {
            let writer = TraceWriter::new(&mut file, false, &[card_line]).unwrap();
            let mut rec = Recorded::new(software_card(), writer);
            rec.power_on();
            assert!(rec.transmit(SELECT_PSE).ends_with(&[0x90, 0x00]));
            assert!(
                rec.transmit(b"\x00\xA4\x04\x00\x07\xA0\x00\x00\x00\x03\x10\x10\x00")
                    .ends_with(&[0x90, 0x00])
            );
            // VERIFY, plaintext PIN 1234 (ISO 9564 format 2 block)
            let verify = b"\x00\x20\x00\x80\x08\x24\x12\x34\xFF\xFF\xFF\xFF\xFF";
            assert_eq!(rec.transmit(verify), vec![0x90, 0x00]);
            rec.power_off();
        }
        let text = String::from_utf8(file).unwrap();
        assert!(!text.contains("241234"), "{text}");
        assert!(text.contains("0020008008[PIN]"), "{text}");
        let t = Trace::parse(&text).unwrap();
        assert_eq!(t.exchanges(), 3);
        let mut card = trace::card_for_trace(&t).unwrap();
        let stats = trace::replay_against_card(&t, &mut card).unwrap();
        assert_eq!((stats.exchanges, stats.power_ons), (3, 1));
    }

    #[test]
    fn requests_parse_per_the_wire_table() {
        assert_eq!(Request::parse(&[0]).unwrap(), Request::PowerOff);
        assert_eq!(Request::parse(&[1]).unwrap(), Request::PowerOn);
        assert_eq!(Request::parse(&[2]).unwrap(), Request::Reset);
        assert_eq!(Request::parse(&[4]).unwrap(), Request::GetAtr);
        assert!(Request::parse(&[3]).is_err());
        assert!(Request::parse(&[]).is_err());
        assert_eq!(
            Request::parse(&[0, 0xA4]).unwrap(),
            Request::Apdu(&[0, 0xA4])
        );
    }

    #[test]
    fn framing_round_trips_and_rejects_oversize() {
        let mut out = Vec::new();
        write_message(&mut out, &[0x90, 0x00]).unwrap();
        assert_eq!(out, [0x00, 0x02, 0x90, 0x00]);
        let mut buf = Vec::new();
        let mut r = &out[..];
        assert!(read_message(&mut r, &mut buf, |_| Ok(())).unwrap());
        assert_eq!(buf, [0x90, 0x00]);
        assert!(!read_message(&mut r, &mut buf, |_| Ok(())).unwrap(), "EOF");
        let mut r = &[0x00, 0x05, 0x01][..];
        assert!(read_message(&mut r, &mut buf, |_| Ok(())).is_err());
        let mut r = &[0x00][..];
        assert!(read_message(&mut r, &mut buf, |_| Ok(())).is_err());
        assert!(write_message(&mut Vec::new(), &vec![0; MAX_MESSAGE + 1]).is_err());
    }

    #[test]
    fn slot_addresses_follow_vpcds_port_convention() {
        assert_eq!(
            slot_address("127.0.0.1:35963", 1).unwrap(),
            "127.0.0.1:35964"
        );
        assert_eq!(slot_address("[::1]:35963", 0).unwrap(), "[::1]:35963");
        assert!(slot_address("localhost", 0).is_err());
        assert!(slot_address("h:65535", 1).is_err());
        assert!(slot_address(":1", 0).is_err());
    }

    #[test]
    fn power_atr_and_apdus_against_a_fake_vpcd() {
        let (l, addr) = listener();
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let server = thread::spawn(move || {
            let mut card = software_card();
            let mut link = Link::connect(&addr).unwrap();
            let end = link.serve(&mut card, &stop2).unwrap();
            (end, link.stats(), card)
        });
        let mut v = accept(&l);
        // presence poll, then pcscd's power-up sequence (docs/virtual-reader.md §3)
        v.send(&[0x04]);
        assert_eq!(v.recv(), emv_card::ATR);
        v.send(&[0x01]);
        v.send(&[0x04]);
        assert_eq!(v.recv(), emv_card::ATR);
        let r = v.apdu(SELECT_PSE);
        assert_eq!(r[0], 0x6F, "FCI");
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00]);
        // unknown control bytes get no answer and do not break the stream
        v.send(&[0x03]);
        let r = v.apdu(&[
            0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0,
        ]);
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00]);
        // reader pseudo-APDUs are the reader's: GET UID and GET ATS get 6A81 from a contact
        // reader, and the card never sees them (its selection stays)
        for pseudo in [
            &[0xFF, 0xCA, 0x00, 0x00, 0x00][..],
            &[0xFF, 0xCA, 0x01, 0x00, 0x00],
        ] {
            assert_eq!(v.apdu(pseudo), [0x6A, 0x81]);
        }
        let r = v.apdu(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]);
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "GPO after SELECT");
        // GPO needs a selected application: a warm reset forgets it (volatile state)
        v.send(&[0x02]);
        v.send(&[0x04]);
        assert_eq!(v.recv(), emv_card::ATR);
        let r = v.apdu(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]);
        assert_eq!(r, [0x69, 0x85], "conditions of use not satisfied");
        // power off: the card does not answer, so it leaves (EOF, never a zero-length
        // reply, which would block vpcd 0.8)
        v.send(&[0x00]);
        v.send(SELECT_PSE);
        let mut b = [0u8; 2];
        assert_eq!(v.s.read(&mut b).unwrap(), 0, "EOF");
        let (end, stats, _card) = server.join().unwrap();
        assert_eq!(end, SessionEnd::NoAnswer);
        assert_eq!(
            stats.apdus, 5,
            "the card's APDUs: the reader's own are not counted"
        );
        assert_eq!(stats.atr_requests, 3);
        assert_eq!(stats.power_events, 3);
        assert!(!stop.is_triggered());
    }

    #[test]
    fn persistent_state_survives_power_cycles_and_reconnects() {
        let (l, addr) = listener();
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let server = thread::spawn(move || {
            let mut card = software_card();
            let quick = Backoff {
                reinsert: Duration::from_millis(10),
                ..Backoff::default()
            };
            serve(&mut card, &addr, &stop2, quick).unwrap();
            card.state().pin_try_counter
        });
        let wrong_pin = [
            0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x99, 0x99, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let select = [
            0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0,
        ];
        for expect in [[0x63, 0xC2], [0x63, 0xC1]] {
            let mut v = accept(&l);
            v.send(&[0x01]);
            v.apdu(&select);
            assert_eq!(v.apdu(&wrong_pin), expect);
            // vpcd goes away (pcscd restart); the card reconnects by itself
            drop(v);
        }
        let mut v = accept(&l);
        v.send(&[0x04]);
        assert_eq!(v.recv(), emv_card::ATR);
        stop.trigger();
        assert_eq!(
            server.join().unwrap(),
            1,
            "PIN Try Counter kept across links"
        );
    }

    #[test]
    fn waits_for_vpcd_then_connects_and_stops_promptly() {
        // reserve a port, close it: nobody listens yet
        let (l, addr) = listener();
        drop(l);
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let a2 = addr.clone();
        let server = thread::spawn(move || {
            let mut card = EchoCard;
            serve(&mut card, &a2, &stop2, Backoff::default())
        });
        thread::sleep(Duration::from_millis(150));
        let l = TcpListener::bind(&addr).unwrap();
        let mut v = accept(&l);
        assert_eq!(v.apdu(&[0x00, 0x84, 0x00, 0x00, 0x08]), [0x90, 0x00]);
        let t = Instant::now();
        stop.trigger();
        server.join().unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        // and vpcd sees the card leave
        let mut b = [0u8; 1];
        assert_eq!(v.s.read(&mut b).unwrap(), 0);
    }

    #[test]
    fn stop_while_waiting_for_vpcd_is_prompt() {
        let (l, addr) = listener();
        drop(l);
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let server = thread::spawn(move || {
            serve(
                &mut EchoCard,
                &addr,
                &stop2,
                Backoff {
                    min: Duration::from_secs(5),
                    max: Duration::from_secs(5),
                    reinsert: Duration::from_secs(5),
                },
            )
        });
        thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        stop.trigger();
        server.join().unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn several_cards_on_consecutive_ports() {
        // two listeners on consecutive ports, like vpcd's slots 0 and 1
        let (l0, l1, base) = loop {
            let l0 = TcpListener::bind("127.0.0.1:0").unwrap();
            let p = l0.local_addr().unwrap().port();
            let Some(p1) = p.checked_add(1) else { continue };
            if let Ok(l1) = TcpListener::bind(("127.0.0.1", p1)) {
                break (l0, l1, format!("127.0.0.1:{p}"));
            }
        };
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let server = thread::spawn(move || {
            let mut cards: Vec<Box<dyn VirtualCard + Send>> =
                vec![Box::new(software_card()), Box::new(EchoCard)];
            serve_slots(&mut cards, &base, &stop2, Backoff::default())
        });
        let mut v0 = accept(&l0);
        let mut v1 = accept(&l1);
        v0.send(&[0x04]);
        v1.send(&[0x04]);
        assert_eq!(v0.recv(), emv_card::ATR);
        assert_eq!(v1.recv(), [0x3B, 0x02, 0x14, 0x50]);
        assert_eq!(v0.apdu(SELECT_PSE)[0], 0x6F);
        assert_eq!(v1.apdu(SELECT_PSE), [0x90, 0x00]);
        stop.trigger();
        server.join().unwrap().unwrap();
    }

    #[test]
    fn bad_address_is_an_error_not_a_retry_loop() {
        let stop = Shutdown::new();
        let e = serve(&mut EchoCard, "no-port-here", &stop, Backoff::default()).unwrap_err();
        assert!(matches!(e, Error::BadAddress { .. }), "{e}");
    }

    #[test]
    fn quickack_is_set_after_the_header() {
        // the option is one-shot in the kernel, so check that our hook runs and succeeds
        // on a real socket (docs/virtual-reader.md §4)
        let (l, addr) = listener();
        let c = TcpStream::connect(&addr).unwrap();
        let (mut s, _) = l.accept().unwrap();
        write_message(&mut &c, &[0x04]).unwrap();
        let mut buf = Vec::new();
        let calls = std::cell::Cell::new(0);
        assert!(
            read_message(&mut s, &mut buf, |s| {
                calls.set(calls.get() + 1);
                quickack(s)
            })
            .unwrap()
        );
        assert_eq!(calls.get(), 1);
        assert_eq!(buf, [0x04]);
    }
}
