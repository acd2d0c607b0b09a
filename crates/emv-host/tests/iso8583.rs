//! The ISO 8583 listener on a real port: `Iso8583Host` (MAC on both ways) authorises,
//! reverses and is refused without a MAC; raw sockets check malformed messages, the
//! connection limit, the read timeout and a prompt stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use emv_auth::{Advice, AdviceReason, Host, HostError, ResponseCode};
use emv_crypto::Cvn;
use emv_host::iso8583::{self, Iso8583Config};
use emv_host::testkit::{self, TempDir, TestCard};
use emv_host::{CardRef, HostKeys, Iso8583Host, Iso8583Options, Issuer, PinVerificationMethod};
use emv_iso8583::{Format, Framing, Header, Message, Mti, mac};

const PAN: &str = "5413330089020011";
const PIN: &str = "4821";

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
    issuer: Issuer,
    card: TestCard,
    _dir: TempDir,
}

fn start(tune: impl FnOnce(&mut Iso8583Config)) -> Running {
    let dir = TempDir::new("iso8583");
    let issuer = testkit::open_issuer(&dir, HostKeys::load_test_keys().unwrap()).unwrap();
    let p = testkit::provision(PAN, Cvn::Mc16, PIN, PinVerificationMethod::Ibm3624);
    issuer.provision(&p, false).unwrap();
    let mut config = Iso8583Config::new("127.0.0.1:0");
    tune(&mut config);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    config.on_listening = Some(Box::new(move |a| addr_tx.send(a).unwrap()));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let served = issuer.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let task = iso8583::start(config, served, stop_rx).await.unwrap();
            task.await.unwrap();
        });
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    Running {
        addr,
        stop,
        thread,
        issuer,
        card: TestCard::new(&p).unwrap(),
        _dir: dir,
    }
}

fn link_opts() -> Iso8583Options {
    let keys = HostKeys::load_test_keys().unwrap();
    Iso8583Options::for_link(keys.iso8583_link(None).unwrap())
}

fn tries(issuer: &Issuer) -> u8 {
    issuer
        .card_status(&CardRef::new(PAN, None))
        .unwrap()
        .online_pin_tries_left
}

fn reversal(stan: u32, rrn: Option<String>, amount: u64) -> Advice {
    Advice {
        reason: AdviceReason::Reversal,
        request: true,
        pan: PAN.into(),
        psn: Some("01".into()),
        stan,
        icc_data: Vec::new(),
        rrn,
        terminal_id: "ATM00001".into(),
        amount: Some(amount),
        currency: Some(978),
        transmitted_at: Some("0115120500".into()),
        original: None,
    }
}

#[test]
fn authorise_reverse_and_pin_over_iso8583_in_every_framing() {
    for (format, header) in [
        (Format::Ascii, Header::Binary2),
        (Format::Binary, Header::Ascii4),
        (Format::Ascii, Header::None),
    ] {
        let framing = Framing {
            format,
            header,
            tpdu: None,
        };
        let mut r = start(|c| c.framing = framing);
        let mut host =
            Iso8583Host::connect(&r.addr.to_string(), link_opts().with_framing(framing)).unwrap();
        let before = r
            .issuer
            .card_status(&CardRef::new(PAN, None))
            .unwrap()
            .open_to_buy;
        let online = r.card.online(1500, Some(PIN)).unwrap();
        let resp = host.authorise(&online.request).unwrap();
        assert_eq!(
            resp.response_code,
            ResponseCode::APPROVED,
            "{format:?} {header:?}"
        );
        assert!(resp.issuer_authentication_data.is_some());
        r.card.check_response(&online, &resp).unwrap();
        let rrn = resp.rrn.clone();
        // the reversal gives the amount back once; a second changes nothing
        let rev = host
            .advise(&reversal(online.request.stan, rrn.clone(), 1500))
            .unwrap();
        assert_eq!(
            (rev.response_code, rev.reversed),
            (ResponseCode::APPROVED, true)
        );
        let again = host
            .advise(&reversal(online.request.stan, rrn.clone(), 1500))
            .unwrap();
        assert_eq!(again.response_code, ResponseCode::APPROVED);
        let after = r
            .issuer
            .card_status(&CardRef::new(PAN, None))
            .unwrap()
            .open_to_buy;
        assert_eq!(before, after, "the reversal gave the amount back once");
        // a reversal of nothing this host answered gives nothing back (the issuer answers
        // it 25 once it matches reversals to its answers, docs/iso8583.md §6)
        host.advise(&reversal(999_999, None, 1)).unwrap();
        let now = r
            .issuer
            .card_status(&CardRef::new(PAN, None))
            .unwrap()
            .open_to_buy;
        assert_eq!(now, after);
        // a wrong PIN is 55 and counts
        let t = tries(&r.issuer);
        let online = r.card.online(100, Some("0000")).unwrap();
        let resp = host.authorise(&online.request).unwrap();
        assert_eq!(resp.response_code, ResponseCode::INCORRECT_PIN);
        assert_eq!(tries(&r.issuer), t - 1);
        r.stop.send(true).unwrap();
        r.thread.join().unwrap();
    }
}

#[test]
fn messages_without_a_valid_mac_are_refused_and_count_nothing() {
    let mut r = start(|_| {});
    let t = tries(&r.issuer);
    let mut bare = Iso8583Host::connect(&r.addr.to_string(), Iso8583Options::insecure()).unwrap();
    let online = r.card.online(100, Some("0000")).unwrap();
    let e = bare.authorise(&online.request).unwrap_err();
    assert!(
        matches!(&e, HostError::Rejected(m) if m.contains("63")),
        "{e}"
    );
    // a MAC under another key
    let mut other = link_opts();
    other.mac_key =
        Some(emv_crypto::TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap());
    let mut wrong = Iso8583Host::connect(&r.addr.to_string(), other).unwrap();
    let online = r.card.online(100, Some("0000")).unwrap();
    let e = wrong.authorise(&online.request).unwrap_err();
    // the answer is MACed under the host's key, which this client does not have
    assert!(
        matches!(&e, HostError::Unreachable(m) if m.contains("MAC")),
        "{e}"
    );
    assert_eq!(tries(&r.issuer), t, "refused messages count nowhere");
    r.stop.send(true).unwrap();
    r.thread.join().unwrap();
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn read_answer(s: &mut TcpStream) -> Option<Message> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body).ok()?;
    Some(Message::decode(Format::Ascii, &body).unwrap())
}

#[test]
fn malformed_messages_get_30_or_a_closed_connection() {
    let r = start(|_| {});
    let mut s = TcpStream::connect(r.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // bad bitmap, non-digits in DE 3, field too long, bad length prefix: 30 each, same link
    for bad in [
        &b"0100Z000000000000000"[..],
        b"01002000000000000000ABCDEF",
        b"01004000000000000000201234",
        b"010040000000000000001X1234",
        b"0200200000000000000000000", // truncated DE 3
    ] {
        s.write_all(&frame(bad)).unwrap();
        let a = read_answer(&mut s).expect("an answer");
        assert_eq!(
            a.mti.as_str(),
            if bad.starts_with(b"02") {
                "0210"
            } else {
                "0110"
            }
        );
        assert_eq!(a.text(39), Some("30"), "{}", String::from_utf8_lossy(bad));
        let key = HostKeys::load_test_keys().unwrap();
        let raw = a.encode(Format::Ascii).unwrap();
        mac::verify(
            &a,
            &raw,
            Format::Ascii,
            &key.iso8583_link(None).unwrap().mac_key,
        )
        .unwrap();
    }
    // an echo works on the same connection
    let mut echo =
        emv_iso8583::map::network_request(emv_iso8583::NetworkCode::Echo, 1, "0115120000").unwrap();
    let key = HostKeys::load_test_keys().unwrap();
    let raw = mac::sign(
        &mut echo,
        Format::Ascii,
        &key.iso8583_link(None).unwrap().mac_key,
    )
    .unwrap();
    s.write_all(&frame(&raw)).unwrap();
    let a = read_answer(&mut s).unwrap();
    assert_eq!(
        (a.mti, a.text(39), a.text(70)),
        (Mti::from_number(810).unwrap(), Some("00"), Some("301"))
    );
    // an unreadable MTI closes the connection
    s.write_all(&frame(b"XXXX0000000000000000")).unwrap();
    assert!(read_answer(&mut s).is_none());
    r.stop.send(true).unwrap();
    r.thread.join().unwrap();
}

#[test]
fn slow_clients_limits_and_stop() {
    let r = start(|c| {
        c.max_connections = 2;
        c.read_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_millis(1500);
    });
    // a half-sent message is dropped after the read timeout
    let mut slow = TcpStream::connect(r.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    slow.write_all(&[0x00, 0x40, b'0', b'1']).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 1];
    assert_eq!(slow.read(&mut b).unwrap_or(0), 0);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // a silent one after the idle timeout
    let mut idle = TcpStream::connect(r.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    assert_eq!(idle.read(&mut b).unwrap_or(0), 0);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // two connections fill the limit, a third is closed at once
    let _a = TcpStream::connect(r.addr).unwrap();
    let _b = TcpStream::connect(r.addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut c = TcpStream::connect(r.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(c.read(&mut b).unwrap_or(0), 0);
    // stop ends the listener promptly with connections open
    let t = Instant::now();
    r.stop.send(true).unwrap();
    r.thread.join().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}
