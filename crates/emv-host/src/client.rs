//! [`HttpHost`]: the [`Host`] trait over HTTP, for a kernel that talks to a running
//! `emvbench host serve` (`--host http://ADDR`). A small blocking HTTP/1.1 client over
//! `std::net::TcpStream` with keep-alive; plain HTTP only (the host is a test system on
//! loopback or a lab network).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use emv_auth::{Advice, AdviceResponse, AuthRequest, AuthResponse, Host, HostError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::ErrorBody;
use crate::keys::Secret;
use crate::service::{CardRef, CardView};

/// Largest response body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// An issuer host reached over HTTP.
#[derive(Debug)]
pub struct HttpHost {
    authority: String,
    prefix: String,
    timeout: Duration,
    api_key: Option<Secret>,
    acquirer_key: Option<Secret>,
    conn: Option<BufReader<TcpStream>>,
}

impl HttpHost {
    /// A client for `url`: `http://HOST:PORT[/PREFIX]` or `HOST:PORT`.
    pub fn new(url: &str) -> Result<Self, HostError> {
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some((scheme, _)) => {
                return Err(HostError::Rejected(format!(
                    "only http:// is supported, got {scheme}://"
                )));
            }
            None => url,
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || !authority.contains(':') {
            return Err(HostError::Rejected(format!(
                "host URL {url:?} needs HOST:PORT"
            )));
        }
        Ok(Self {
            authority: authority.to_string(),
            prefix: prefix.to_string(),
            timeout: Duration::from_secs(30),
            api_key: None,
            acquirer_key: None,
            conn: None,
        })
    }

    /// Sets the connect/read/write timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the issuer API key sent with management calls.
    pub fn with_api_key(mut self, key: &str) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// Sets the acquirer key sent with authorisations and advices (`X-Acquirer-Key`), the
    /// credential of the host's network routes.
    pub fn with_acquirer_key(mut self, key: &str) -> Self {
        self.acquirer_key = Some(Secret::new(key));
        self
    }

    /// `GET /v1/cards/{pan}` (needs an API key).
    pub fn card_status(&mut self, card: &CardRef) -> Result<CardView, HostError> {
        let mut path = format!("/v1/cards/{}", card.pan);
        if let Some(psn) = &card.psn {
            path.push_str(&format!("?psn={psn}"));
        }
        self.call("GET", &path, None::<&()>)
    }

    /// Sends a JSON request and decodes the JSON answer; 4xx → `Rejected`, 5xx →
    /// `Internal`, no answer → `Unreachable`.
    pub fn call<B: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, HostError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| HostError::Rejected(e.to_string()))?;
        let (status, bytes) = self.exchange(method, path, body.as_deref())?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|e| HostError::Internal(format!("unreadable answer from the host: {e}")));
        }
        let detail = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| format!("{}: {}", b.error, b.detail))
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
        if (400..500).contains(&status) {
            Err(HostError::Rejected(format!("HTTP {status}: {detail}")))
        } else {
            Err(HostError::Internal(format!("HTTP {status}: {detail}")))
        }
    }

    /// POSTs an HTML form (`application/x-www-form-urlencoded`, as a device's browser
    /// does) and returns the status and the body as text. No key is sent: the form's
    /// fields are the credential (a PIN Control `controlId`).
    pub fn post_form(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<(u16, String), HostError> {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let key = self.api_key.take();
        let r = self.exchange_as("POST", path, Some((FORM, body.as_bytes())), "text/html");
        self.api_key = key;
        let (status, bytes) = r?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, HostError> {
        let unreachable =
            |e: std::io::Error| HostError::Unreachable(format!("{}: {e}", self.authority));
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| HostError::Unreachable(format!("{}: no address", self.authority)))?;
        let s = TcpStream::connect_timeout(&addr, self.timeout).map_err(unreachable)?;
        s.set_read_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        s.set_write_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        s.set_nodelay(true).map_err(unreachable)?;
        Ok(BufReader::new(s))
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), HostError> {
        self.exchange_as(method, path, body.map(|b| (JSON, b)), JSON)
    }

    /// One request with a body of `(content type, bytes)`, accepting `accept`.
    fn exchange_as(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
        accept: &str,
    ) -> Result<(u16, Vec<u8>), HostError> {
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\n",
            self.prefix, self.authority
        );
        if let Some(k) = &self.api_key {
            head.push_str(&format!("Authorization: Bearer {}\r\n", k.expose()));
        }
        if let Some(k) = &self.acquirer_key {
            head.push_str(&format!("X-Acquirer-Key: {}\r\n", k.expose()));
        }
        if let Some((content_type, b)) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let mut msg = zeroize::Zeroizing::new(head.into_bytes());
        msg.extend_from_slice(body.map(|(_, b)| b).unwrap_or_default());
        // a kept-alive connection the server closed while idle fails before any answer
        // byte: then (and only then) the request is sent once more on a new connection
        let reused = self.conn.is_some();
        match self.try_exchange(&msg) {
            Err(Attempt::NothingReceived(_)) if reused => {
                self.conn = None;
                self.try_exchange(&msg).map_err(Attempt::into_error)
            }
            r => r.map_err(Attempt::into_error),
        }
    }

    fn try_exchange(&mut self, msg: &[u8]) -> Result<(u16, Vec<u8>), Attempt> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.connect().map_err(Attempt::Failed)?,
        };
        conn.get_mut()
            .write_all(msg)
            .and_then(|()| conn.get_mut().flush())
            .map_err(|e| Attempt::NothingReceived(e.to_string()))?;
        let (status, body, keep) = read_response(&mut conn)?;
        if keep {
            self.conn = Some(conn);
        }
        Ok((status, body))
    }
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// `application/x-www-form-urlencoded` encoding of one name or value (WHATWG URL §5.2).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

enum Attempt {
    NothingReceived(String),
    Failed(HostError),
}

impl Attempt {
    fn into_error(self) -> HostError {
        match self {
            Self::NothingReceived(m) => HostError::Unreachable(format!("no answer: {m}")),
            Self::Failed(e) => e,
        }
    }
}

fn bad(m: impl Into<String>) -> Attempt {
    Attempt::Failed(HostError::Unreachable(format!(
        "malformed HTTP answer: {}",
        m.into()
    )))
}

fn read_response(conn: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>, bool), Attempt> {
    let mut line = String::new();
    match conn.read_line(&mut line) {
        Ok(0) => return Err(Attempt::NothingReceived("connection closed".into())),
        Ok(_) => {}
        Err(e) => return Err(Attempt::NothingReceived(e.to_string())),
    }
    let io = |e: std::io::Error| Attempt::Failed(HostError::Unreachable(e.to_string()));
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or_default().to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut keep = version == "HTTP/1.1";
    loop {
        line.clear();
        if conn.read_line(&mut line).map_err(io)? == 0 {
            return Err(bad("headers cut short"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(bad(format!("header {l:?}")));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => {
                length = Some(value.parse::<usize>().map_err(|_| bad("content-length"))?)
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line).map_err(io)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // trailers end with an empty line
                loop {
                    line.clear();
                    if conn.read_line(&mut line).map_err(io)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..]).map_err(io)?;
            let mut crlf = [0u8; 2];
            conn.read_exact(&mut crlf).map_err(io)?;
        }
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(bad("body too large"));
        }
        body.resize(n, 0);
        conn.read_exact(&mut body).map_err(io)?;
    } else {
        conn.take(MAX_BODY as u64)
            .read_to_end(&mut body)
            .map_err(io)?;
        keep = false;
    }
    Ok((status, body, keep))
}

impl Host for HttpHost {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        self.call("POST", "/v1/authorise", Some(request))
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        self.call("POST", "/v1/advice", Some(advice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let h = HttpHost::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            (h.authority.as_str(), h.prefix.as_str()),
            ("127.0.0.1:8080", "")
        );
        let h = HttpHost::new("localhost:9/issuer").unwrap();
        assert_eq!(
            (h.authority.as_str(), h.prefix.as_str()),
            ("localhost:9", "/issuer")
        );
        assert!(HttpHost::new("https://x:1").is_err());
        assert!(HttpHost::new("http://nohost").is_err());
    }

    #[test]
    fn unreachable_host_is_unreachable() {
        // port 9 (discard) on loopback is closed in test environments
        let mut h = HttpHost::new("127.0.0.1:9")
            .unwrap()
            .with_timeout(Duration::from_millis(500));
        let e = h.advise(&Advice {
            reason: Default::default(),
            pan: "4761739001010010".into(),
            psn: None,
            stan: 0,
            icc_data: vec![],
            ..Advice::default()
        });
        assert!(matches!(e, Err(HostError::Unreachable(_))), "{e:?}");
    }
}
