//! [`Iso8583Host`]: the [`Host`] trait over ISO 8583 (`--host iso8583://ADDR`), for a
//! kernel that talks to `emvbench host serve --iso8583 ADDR` or any ISO 8583:1987 issuer
//! in the stock layouts. Blocking `std::net` TCP, one message at a time on one
//! connection (reconnected after a failure); requests are MACed and answers' MACs
//! verified with the link's key (docs/iso8583.md §5).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emv_auth::{
    Advice, AdviceResponse, AuthRequest, AuthResponse, Host, HostError, OriginalData, ResponseCode,
};
use emv_crypto::TdesKey;
use emv_iso8583::{Framing, Message, Mti, mac, map};

use crate::keys::{HostKeys, LinkKeys};

/// How the terminal side speaks ISO 8583.
#[derive(Debug, Clone)]
pub struct Iso8583Options {
    /// Layout, length header and TPDU.
    pub framing: Framing,
    /// The link's MAC key; `None` sends no MAC and accepts answers without one (a host
    /// run with `--insecure-network`).
    pub mac_key: Option<TdesKey>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// The acquirer's PIN translation (`None`: PIN blocks go as the terminal made them).
    pub pin_translation: Option<PinTranslation>,
}

/// PIN translation at the acquirer: the keys that open the terminal's PIN block and the
/// link's zone PIN key it is enciphered under for the network
/// ([`crate::pin::translate_to_zone`]).
#[derive(Debug, Clone)]
pub struct PinTranslation {
    /// The key file (terminal keys and the zone key).
    pub keys: Arc<HostKeys>,
    /// The zone PIN key's id (a TDES `[[terminal_keys]]` entry).
    pub zone_key: String,
}

impl Iso8583Options {
    /// The options of a link of the key file: its MAC key, the default framing.
    pub fn for_link(link: &LinkKeys) -> Self {
        Self {
            framing: Framing::default(),
            mac_key: Some(link.mac_key.clone()),
            timeout: Duration::from_secs(30),
            pin_translation: None,
        }
    }

    /// No MAC (for a host run with `--insecure-network`).
    pub fn insecure() -> Self {
        Self {
            framing: Framing::default(),
            mac_key: None,
            timeout: Duration::from_secs(30),
            pin_translation: None,
        }
    }

    /// With `framing`.
    pub fn with_framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// PIN blocks translated to the zone key `zone_key` of `keys` before they go on the
    /// network, as the acquirer's HSM does (ISO 8583:1987 DE 52 carries a 64-bit block:
    /// a terminal's AES format 4 block does not fit).
    pub fn with_pin_translation(mut self, keys: Arc<HostKeys>, zone_key: &str) -> Self {
        self.pin_translation = Some(PinTranslation {
            keys,
            zone_key: zone_key.to_owned(),
        });
        self
    }
}

/// The last authorisation sent: what a following advice's DE 90 names.
#[derive(Debug, Clone)]
struct Sent {
    mti: Mti,
    stan: u32,
    transmitted_at: Option<String>,
}

/// An issuer host reached over ISO 8583.
#[derive(Debug)]
pub struct Iso8583Host {
    addr: String,
    opts: Iso8583Options,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
    last: Option<Sent>,
}

impl Iso8583Host {
    /// Connects to `addr` (`HOST:PORT`, or `iso8583://HOST:PORT`).
    pub fn connect(addr: &str, opts: Iso8583Options) -> Result<Self, HostError> {
        let addr = addr.strip_prefix("iso8583://").unwrap_or(addr).to_owned();
        let mut host = Self {
            addr,
            opts,
            conn: None,
            buf: Vec::new(),
            last: None,
        };
        host.stream()?;
        Ok(host)
    }

    fn stream(&mut self) -> Result<&mut TcpStream, HostError> {
        if self.conn.is_none() {
            let unreachable =
                |e: std::io::Error| HostError::Unreachable(format!("{}: {e}", self.addr));
            let sa = self
                .addr
                .to_socket_addrs()
                .map_err(unreachable)?
                .next()
                .ok_or_else(|| HostError::Unreachable(format!("{}: no address", self.addr)))?;
            let s = TcpStream::connect_timeout(&sa, self.opts.timeout).map_err(unreachable)?;
            s.set_read_timeout(Some(self.opts.timeout))
                .map_err(unreachable)?;
            s.set_write_timeout(Some(self.opts.timeout))
                .map_err(unreachable)?;
            let _ = s.set_nodelay(true);
            self.buf.clear();
            self.conn = Some(s);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| HostError::Unreachable("not connected".into()))
    }

    /// Sends `msg` and returns its answer (same response MTI and STAN), MAC checked.
    pub fn exchange(&mut self, mut msg: Message) -> Result<Message, HostError> {
        let result = self.exchange_once(&mut msg);
        if result.is_err() {
            // a half-read answer would desynchronise the next exchange
            self.conn = None;
        }
        result
    }

    fn exchange_once(&mut self, msg: &mut Message) -> Result<Message, HostError> {
        let format = self.opts.framing.format;
        let rejected = |e: emv_iso8583::Error| HostError::Rejected(e.to_string());
        let raw = match &self.opts.mac_key {
            Some(k) => mac::sign(msg, format, k).map_err(rejected)?,
            None => msg.encode(format).map_err(rejected)?,
        };
        let frame = self.opts.framing.wrap(None, &raw).map_err(rejected)?;
        let want = msg
            .mti
            .response()
            .ok_or_else(|| HostError::Rejected(format!("{} expects no answer", msg.mti)))?;
        let stan = msg.get(11).map(<[u8]>::to_vec);
        let io = |e: std::io::Error| HostError::Unreachable(e.to_string());
        self.stream()?.write_all(&frame).map_err(io)?;
        let deadline = Instant::now() + self.opts.timeout;
        loop {
            let frame = self.read_frame(deadline)?;
            let answer = Message::decode(format, &frame.message)
                .map_err(|e| HostError::Internal(format!("answer does not decode: {e}")))?;
            if answer.mti != want || answer.get(11).map(<[u8]>::to_vec) != stan {
                // an answer to something else (a late one): not ours
                continue;
            }
            if let Some(k) = &self.opts.mac_key {
                mac::verify(&answer, &frame.message, format, k).map_err(|e| {
                    HostError::Unreachable(format!("the answer's MAC does not verify: {e}"))
                })?;
            }
            return match answer.text(39).and_then(|c| ResponseCode::parse(c).ok()) {
                Some(ResponseCode::FORMAT_ERROR) => Err(HostError::Rejected(
                    "the host answered 30 (format error)".into(),
                )),
                Some(ResponseCode::SECURITY_VIOLATION) => Err(HostError::Rejected(
                    "the host answered 63 (security violation: MAC)".into(),
                )),
                Some(ResponseCode::SYSTEM_MALFUNCTION) => Err(HostError::Internal(
                    "the host answered 96 (system malfunction)".into(),
                )),
                _ => Ok(answer),
            };
        }
    }

    fn read_frame(&mut self, deadline: Instant) -> Result<emv_iso8583::Frame, HostError> {
        let framing = self.opts.framing;
        let mut chunk = [0u8; 4096];
        loop {
            match framing.take(&mut self.buf) {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(e) => return Err(HostError::Internal(format!("answer framing: {e}"))),
            }
            if Instant::now() >= deadline {
                return Err(HostError::Unreachable("no answer in time".into()));
            }
            let n = self
                .stream()?
                .read(&mut chunk)
                .map_err(|e| HostError::Unreachable(e.to_string()))?;
            if n == 0 {
                return Err(HostError::Unreachable(
                    "the host closed the connection".into(),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

impl Host for Iso8583Host {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        let translated = match (&self.opts.pin_translation, &request.pin) {
            (Some(t), Some(pin)) if pin.key_id != t.zone_key => {
                let pin = crate::pin::translate_to_zone(&t.keys, &request.pan, pin, &t.zone_key)
                    .map_err(|e| HostError::Rejected(format!("PIN translation: {e}")))?;
                Some(AuthRequest {
                    pin: Some(pin),
                    ..request.clone()
                })
            }
            _ => None,
        };
        let request = translated.as_ref().unwrap_or(request);
        let msg = map::auth_request_to_message(request)
            .map_err(|e| HostError::Rejected(e.to_string()))?;
        self.last = Some(Sent {
            mti: msg.mti,
            stan: request.stan,
            transmitted_at: request.transmitted_at.clone(),
        });
        let answer = self.exchange(msg)?;
        map::message_to_auth_response(&answer, request.pin.is_some())
            .map_err(|e| HostError::Internal(format!("answer: {e}")))
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        let mut advice = advice.clone();
        if advice.original.is_none() {
            // DE 90 names the authorisation this terminal sent (ISO 8583:1987 DE 90)
            advice.original = self
                .last
                .as_ref()
                .filter(|s| s.stan == advice.stan)
                .and_then(|s| {
                    Some(OriginalData {
                        mti: s.mti.to_string(),
                        stan: s.stan,
                        transmitted_at: s.transmitted_at.clone()?,
                        acquirer: "0".repeat(11),
                        forwarder: "0".repeat(11),
                    })
                });
        }
        let msg =
            map::advice_to_message(&advice).map_err(|e| HostError::Rejected(e.to_string()))?;
        let answer = self.exchange(msg)?;
        map::message_to_advice_response(&answer)
            .map_err(|e| HostError::Internal(format!("answer: {e}")))
    }
}
