//! Every error answer of the real listener is the documented `{"error", "detail"}` JSON
//! (docs/issuer-host.md §1), including the ones the HTTP stack makes itself (a wrong
//! method, a body over the limit, an unknown route), and a browser that opens the
//! `pinURL` gets a page that says what it is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::SocketAddr;

use emv_host::testkit::{TEST_ACQUIRER_KEY, TEST_API_KEY, TempDir};
use emv_host::{HostKeys, http, testkit};
use serde_json::Value;

/// The host on a real port, until the runtime is dropped.
struct Listener {
    addr: SocketAddr,
    _rt: tokio::runtime::Runtime,
    _dir: TempDir,
}

fn listen() -> Listener {
    let dir = TempDir::new("http-errors");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(http::serve_on(listener, issuer, std::future::pending()));
    Listener {
        addr,
        _rt: rt,
        _dir: dir,
    }
}

/// One request on its own connection: status, headers (lower-case names), body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // the host may answer (413) before the whole body is in: ignore a reset write
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer: {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = out[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
    {
        body = unchunk(&body);
    }
    (status, headers, body)
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The documented error body: `error` and `detail`, both non-empty strings.
fn error_body(status: u16, h: &[(String, String)], body: &[u8]) -> (String, String) {
    assert_eq!(
        header(h, "content-type"),
        Some("application/json"),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    let v: Value = serde_json::from_slice(body).unwrap();
    let e = v["error"].as_str().unwrap().to_owned();
    let d = v["detail"].as_str().unwrap().to_owned();
    assert!(!e.is_empty() && !d.is_empty(), "{v}");
    (e, d)
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn a_body_over_the_limit_is_a_json_413_on_every_route() {
    let l = listen();
    let big = vec![b' '; http::MAX_BODY + 1];
    let api = format!("Bearer {TEST_API_KEY}");
    // the network routes (read whole by the extractor) and a management route (read_body)
    for (path, auth) in [
        ("/v1/authorise", ("x-acquirer-key", TEST_ACQUIRER_KEY)),
        ("/v1/advice", ("x-acquirer-key", TEST_ACQUIRER_KEY)),
        ("/v1/cards", ("authorization", api.as_str())),
    ] {
        let (s, h, b) = request(l.addr, "POST", path, &[JSON, auth], &big);
        assert_eq!(s, 413, "{path}: {}", String::from_utf8_lossy(&b));
        let (e, d) = error_body(s, &h, &b);
        assert_eq!(e, "body-too-large", "{path}");
        assert!(d.contains("64 KiB"), "{d}");
    }
    // at the limit, the body is read (and refused for what it is, not for its size)
    let (s, h, b) = request(
        l.addr,
        "POST",
        "/v1/authorise",
        &[JSON, ("x-acquirer-key", TEST_ACQUIRER_KEY)],
        &vec![b' '; http::MAX_BODY],
    );
    assert_eq!(s, 400);
    assert_eq!(error_body(s, &h, &b).0, "malformed-json");
}

#[test]
fn a_wrong_method_is_a_json_405_naming_the_allowed_ones() {
    let l = listen();
    let api = format!("Bearer {TEST_API_KEY}");
    // with the route's credential (without it, the route answers 401 first)
    for (method, path, allowed, auth) in [
        (
            "GET",
            "/v1/authorise",
            "POST",
            Some(("x-acquirer-key", TEST_ACQUIRER_KEY)),
        ),
        (
            "DELETE",
            "/v1/cards/4761739001010119",
            "GET",
            Some(("authorization", api.as_str())),
        ),
        ("PUT", "/health", "GET", None),
        ("PATCH", "/openapi.json", "GET", None),
    ] {
        let (s, h, b) = request(
            l.addr,
            method,
            path,
            &auth.into_iter().collect::<Vec<_>>(),
            b"",
        );
        assert_eq!(s, 405, "{method} {path}");
        let (e, d) = error_body(s, &h, &b);
        assert_eq!(e, "method-not-allowed");
        assert!(d.contains(method) && d.contains(path), "{d}");
        assert!(
            header(&h, "allow").is_some_and(|a| a.contains(allowed)),
            "{h:?}"
        );
    }
    // an unknown route stays a JSON 404
    let (s, h, b) = request(l.addr, "GET", "/v2/nothing", &[], b"");
    assert_eq!(s, 404);
    let (e, d) = error_body(s, &h, &b);
    assert_eq!(e, "not-found");
    assert!(d.contains("/v2/nothing"), "{d}");
}

#[test]
fn a_browser_opening_the_pin_url_gets_a_page_that_says_what_it_is() {
    let l = listen();
    let (s, h, b) = request(l.addr, "GET", "/pin-control/v1/pin", &[], b"");
    assert_eq!(s, 405);
    assert_eq!(header(&h, "allow"), Some("POST"));
    assert!(
        header(&h, "content-type").is_some_and(|t| t.starts_with("text/html")),
        "{h:?}"
    );
    // the device routes' strict headers (docs/issuer-host.md §6.2)
    assert_eq!(header(&h, "cache-control"), Some("no-store"));
    assert!(header(&h, "content-security-policy").is_some());
    let page = String::from_utf8(b).unwrap();
    assert!(page.contains("banking app"), "{page}");
    assert!(page.contains("View PIN or Set PIN"), "{page}");
}

#[test]
fn an_audit_limit_outside_its_range_is_a_json_400_naming_the_range() {
    let l = listen();
    let auth = format!("Bearer {TEST_API_KEY}");
    for limit in ["0", "1001", "4294967295"] {
        let path = format!("/v1/audit?limit={limit}");
        let (s, h, b) = request(l.addr, "GET", &path, &[("authorization", &auth)], b"");
        assert_eq!(s, 400, "{limit}");
        let (e, d) = error_body(s, &h, &b);
        assert_eq!(e, "invalid-query");
        assert!(d.contains("1–1000") && d.contains(limit), "{d}");
    }
    for limit in ["1", "1000"] {
        let path = format!("/v1/audit?limit={limit}");
        let (s, _, b) = request(l.addr, "GET", &path, &[("authorization", &auth)], b"");
        assert_eq!(s, 200, "{limit}: {}", String::from_utf8_lossy(&b));
    }
    // not a number: still the JSON shape
    let (s, h, b) = request(
        l.addr,
        "GET",
        "/v1/audit?limit=ten",
        &[("authorization", &auth)],
        b"",
    );
    assert_eq!(s, 400);
    assert_eq!(error_body(s, &h, &b).0, "invalid-query");
}
