#!/usr/bin/env python3
"""The host's ISO 8583 port driven by independent implementations: messages built and read
by pyiso8583's stock specs (`default_ascii` and `default`, unmodified), ARQCs by pyemv,
PIN blocks by psec, MACs (ISO/IEC 9797-1 algorithm 3, docs/iso8583.md §5) by pyemv.

For each layout and framing (2b, 4a, none, and 2b with a TPDU) on a fresh data directory
with four CVN 18 card profiles provisioned (`emvbench host provision --profile`):
- 0800 sign-on, echo, sign-off;
- a wrong online PIN x the try limit answered 55, then 75, on POS (0100, chip), ATM
  (0200, chip) and e-commerce (0100, no chip data), each on its own card;
- an ATM approval whose chip reports its offline PIN blocked carries the PIN UNBLOCK
  script in DE 55 (91 + 72); the 0220 advice of the script result settles it;
- a reversal (0400, DE 90) gives the amount back once; a second changes nothing; an
  unknown original is 25; 0420 and 0120 advices are answered;
- a missing or wrong MAC is answered 63 and counts nothing;
- malformed messages (bad bitmap, bad length prefix, field too long, non-digits in a
  numeric field) answered 30; an unreadable MTI or a truncated frame: the connection
  closes; the host keeps answering afterwards and stops within 5 s of SIGTERM.

Usage: EMVBENCH=target/debug/emvbench python3 tests/interop/iso8583_vs_pyiso8583.py
(pip install pyiso8583==4.0.1 pyemv==1.5.0 psec==1.3.0)
"""
import json, os, pathlib, re, signal, socket, subprocess, sys, tempfile, time, tomllib, warnings

warnings.filterwarnings("ignore")  # cryptography's TripleDES deprecation notes

import iso8583
from iso8583.specs import default as SPEC_BINARY, default_ascii as SPEC_ASCII
from pyemv import cvn as pcvn, mac as pmac, tlv as ptlv
import psec

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from card_profiles import load_profile  # noqa: E402
EMVBENCH = os.environ.get("EMVBENCH", str(ROOT / "target/debug/emvbench"))

KEYS = tomllib.loads((ROOT / "host-keys/test-keys.toml").read_text())
LINK = KEYS["iso8583_links"][0]
MAC_KEY = bytes.fromhex(LINK["mac_key"])
TPK = bytes.fromhex(next(k["key"] for k in KEYS["terminal_keys"] if k["id"] == LINK["pin_key"]))

POS_CARD, ATM_CARD, ECOM_CARD, FLOW_CARD = (
    "visa-cvn18", "visa-cvn18-signature", "visa-cvn18-no-cvm", "visa-cvn18-online-pin-first")

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    checks += 1


class Card:
    """A CVN 18 card as the host sees it: the ARQC by pyemv from the profile's TEST IMK."""

    def __init__(self, profile):
        p = load_profile(profile)
        assert p["cvn"] == "visa-18", profile
        self.pan, self.psn, self.pin = p["card"]["pan"], p["card"]["psn"], p["card"]["pin"]
        self.limit = p["host"]["online_pin_try_limit"]
        self.expiry = p["card"]["expiry"]
        k = p["keys"]
        self.cvn = pcvn.VisaCVN18(iss_mk_ac=bytes.fromhex(k["imk_ac"]), iss_mk_smi=bytes.fromhex(k["imk_smi"]),
                                  iss_mk_smc=bytes.fromhex(k["imk_smc"]), pan=self.pan, psn=self.psn)
        self.atc = 1

    def icc(self, amount, ttype=0x00, offline_pin_blocked=False):
        """DE 55 of an online request: 9F26 ARQC over the CDOL1 data (EMV 4.4 Book 2 §8.1.1)."""
        atc = self.atc.to_bytes(2, "big")
        self.atc += 1
        un = os.urandom(4)
        # Visa IAD format 0/1/3: CVR byte 3 b7 = PIN Try Limit exceeded
        iad = bytes([0x06, 0x01, 0x12, 0x03, 0xA0, 0x40 if offline_pin_blocked else 0x00, 0x00])
        d = {"9F02": bytes.fromhex("%012d" % amount), "9F03": bytes(6), "9F1A": bytes.fromhex("0250"),
             "95": bytes.fromhex("0000008000"), "5F2A": bytes.fromhex("0978"),
             "9A": bytes.fromhex(time.strftime("%y%m%d", time.gmtime())), "9C": bytes([ttype]),
             "9F37": un, "82": bytes.fromhex("3900"), "9F36": atc}
        arqc = self.cvn.generate_ac(tag_9f02=d["9F02"], tag_9f03=d["9F03"], tag_9f1a=d["9F1A"],
                                    tag_95=d["95"], tag_5f2a=d["5F2A"], tag_9a=d["9A"], tag_9c=d["9C"],
                                    tag_9f37=d["9F37"], tag_82=d["82"], tag_9f36=d["9F36"], tag_9f10=iad)
        objs = {"9F26": arqc, "9F27": bytes([0x80]), "9F10": iad, **d,
                "9F35": bytes([0x22]), "5F34": bytes.fromhex(self.psn)}
        return ptlv.encode(objs).hex().upper(), atc

    def pin_block(self, pin):
        """ISO 9564-1 format 0 under the link's zone PIN key."""
        clear = psec.pinblock.encode_pinblock_iso_0(pin, self.pan)
        return psec.des.encrypt_tdes_ecb(TPK, clear).hex().upper()


class Host:
    def __init__(self, fmt, header, tpdu):
        self.spec = SPEC_ASCII if fmt == "ascii" else SPEC_BINARY
        self.fmt, self.header, self.tpdu = fmt, header, tpdu
        self.dir = tempfile.mkdtemp(prefix="emvbench-iso-")
        for prof in (POS_CARD, ATM_CARD, ECOM_CARD, FLOW_CARD):
            subprocess.run([EMVBENCH, "host", "provision", "--data", self.dir, "--profile", prof],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args = [EMVBENCH, "host", "serve", "--data", self.dir, "--listen", "127.0.0.1:0",
                "--iso8583", "127.0.0.1:0", "--iso8583-format", fmt, "--iso8583-header", header]
        if tpdu:
            args += ["--tpdu", tpdu]
        self.log = open(os.path.join(self.dir, "host.log"), "w")
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.addr = None
        deadline = time.time() + 30
        while self.addr is None and time.time() < deadline:
            line = self.p.stdout.readline()
            m = re.search(r"iso8583://([\d.]+):(\d+)", line)
            if m:
                self.addr = (m.group(1), int(m.group(2)))
        check(self.addr is not None, "the host printed its ISO 8583 address")
        self.conn = self.connect()
        self.stan = 0

    def connect(self):
        s = socket.create_connection(self.addr, timeout=10)
        s.settimeout(10)
        return s

    def status(self, card):
        out = subprocess.run([EMVBENCH, "host", "status", "--data", self.dir, card.pan],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    # -- framing -------------------------------------------------------------------------
    def frame(self, body):
        if self.tpdu:
            body = bytes.fromhex(self.tpdu) + body
        if self.header == "2b":
            return len(body).to_bytes(2, "big") + body
        if self.header == "4a":
            return b"%04d" % len(body) + body
        return body

    def recv_exact(self, s, n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def read_answer(self, s):
        """One answer: its message bytes (TPDU checked and removed), or None on close."""
        if self.header == "2b":
            h = self.recv_exact(s, 2)
            body = h and self.recv_exact(s, int.from_bytes(h, "big"))
        elif self.header == "4a":
            h = self.recv_exact(s, 4)
            body = h and self.recv_exact(s, int(h))
        else:
            # no header: read until pyiso8583 decodes a whole message
            body = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                body += chunk
                try:
                    iso8583.decode(body[5:] if self.tpdu else body, self.spec)
                    break
                except iso8583.DecodeError:
                    continue
        if not body:
            return None
        if self.tpdu:
            t = bytes.fromhex(self.tpdu)
            # the answer's TPDU swaps destination and source
            check(body[:5] == t[:1] + t[3:5] + t[1:3], "answer TPDU swaps the addresses")
            body = body[5:]
        return body

    # -- messages ------------------------------------------------------------------------
    def encode(self, doc, mac=True, bad_mac=False):
        d = dict(doc)
        if not mac:
            raw, _ = iso8583.encode(d, self.spec)
            return bytes(raw)
        mac_de = "128" if any(64 < int(k) < 128 for k in d if k.isdigit()) else "64"
        binary = self.spec[mac_de]["data_enc"] == "b"
        d[mac_de] = "00" * 8 if binary else "0" * 16
        raw, _ = iso8583.encode(d, self.spec)
        body = bytes(raw[: len(raw) - (8 if binary else 16)])
        key = bytes(16) if bad_mac else MAC_KEY
        d[mac_de] = pmac.mac_iso9797_3(key[:8], key[8:], body, 1).hex().upper()
        raw, _ = iso8583.encode(d, self.spec)
        return bytes(raw)

    def decode_answer(self, raw):
        doc, _ = iso8583.decode(raw, self.spec)
        mac_de = "128" if "128" in doc else "64"
        check(mac_de in doc, "the answer carries a MAC")
        cut = 8 if self.spec[mac_de]["data_enc"] == "b" else 16
        want = pmac.mac_iso9797_3(MAC_KEY[:8], MAC_KEY[8:], raw[:-cut], 1).hex().upper()
        check(doc[mac_de] == want, "the answer's MAC verifies (pyemv)")
        return doc

    def send(self, doc, **kw):
        self.conn.sendall(self.frame(self.encode(doc, **kw)))
        raw = self.read_answer(self.conn)
        check(raw is not None, f"an answer to {doc['t']}")
        return self.decode_answer(raw)

    def send_raw(self, body):
        """Sends raw message bytes on a fresh connection; the answer or None (closed)."""
        s = self.connect()
        try:
            s.sendall(self.frame(body))
            raw = self.read_answer(s)
            return None if raw is None else self.decode_answer(raw)
        except (ConnectionResetError, socket.timeout):
            return None
        finally:
            s.close()

    def next_stan(self):
        self.stan += 1
        return "%06d" % self.stan

    def stop(self):
        t = time.time()
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        check(rc == 0 and time.time() - t < 5, f"SIGTERM stops the host within 5 s (rc {rc}, {time.time() - t:.1f} s)")
        self.log.close()
        subprocess.run(["rm", "-rf", self.dir])


def now7():
    return time.strftime("%m%d%H%M%S", time.gmtime())


def auth(host, card, channel, pin, amount=1000, offline_pin_blocked=False):
    """An authorisation as a terminal sends it; returns (request, answer)."""
    mti = "0200" if channel == "atm" else "0100"
    ttype = 0x01 if channel == "atm" else 0x00
    doc = {"t": mti, "2": card.pan, "3": "%02d0000" % ttype, "4": "%012d" % amount,
           "7": now7(), "11": host.next_stan(), "14": card.expiry, "23": "0" + card.psn,
           "41": "ATM00001" if channel == "atm" else "POS00001", "42": "MERCHANT0000001",
           "49": "978", "19": "250"}
    if channel == "ecom":
        doc.update({"22": "812", "25": "59"})
    else:
        doc.update({"22": "051", "55": card.icc(amount, ttype, offline_pin_blocked)[0]})
        doc["18" if channel == "atm" else "25"] = "6011" if channel == "atm" else "00"
    if pin is not None:
        doc.update({"52": card.pin_block(pin), "53": LINK["pin_key"].ljust(16)})
    ans = host.send(doc)
    check(ans["t"] == mti[:2] + "10" and ans["11"] == doc["11"], f"{mti} answered with its STAN")
    return doc, ans


def pin_flows(host):
    for channel, prof in (("pos", POS_CARD), ("atm", ATM_CARD), ("ecom", ECOM_CARD)):
        card = Card(prof)
        tries = host.status(card)["online_pin_tries_left"]
        for i in range(card.limit):
            _, ans = auth(host, card, channel, "0000" if card.pin != "0000" else "1111")
            check(ans["39"] in ("55", "75"), f"{channel}: wrong PIN {i + 1} answered 55/75, got {ans['39']}")
            if i < card.limit - 1:
                check(ans["39"] == "55", f"{channel}: wrong PIN {i + 1} of {card.limit} answered 55")
        _, ans = auth(host, card, channel, card.pin)
        check(ans["39"] == "75", f"{channel}: after {card.limit} wrong PINs even the right one is 75, got {ans['39']}")
        check(host.status(card)["online_pin_blocked"], f"{channel}: the online PIN is blocked")
        check(tries == card.limit, "tries started at the limit")


def atc_of(req):
    """The ATC (9F36) of the request's chip data: an advice or reversal names the
    transaction it is about as a terminal would (STAN, RRN, PAN and ATC)."""
    return ptlv.decode(bytes.fromhex(req["55"]))["9F36"]


def unblock_and_reversal(host):
    card = Card(FLOW_CARD)
    # an ATM approval whose chip reports its offline PIN blocked carries a PIN UNBLOCK
    req, ans = auth(host, card, "atm", card.pin, amount=2000, offline_pin_blocked=True)
    check(ans["39"] == "00", f"ATM approval, got {ans['39']}")
    icc = ptlv.decode(bytes.fromhex(ans["55"]), flatten=False)
    check("91" in icc and "72" in icc, f"DE 55 of the answer has 91 and a 72 script: {sorted(icc)}")
    script = icc["72"]
    check(script.get("86", b"")[:2] == b"\x84\x24", "the script's command is PIN UNBLOCK (84 24)")
    sid = script.get("9F18")
    check(sid is not None and len(sid) == 4, "the script has an identifier (9F18)")
    before = host.status(card)
    # the advice of the script result (9F5B: 20 = ran, then the identifier)
    adv = {"t": "0220", "2": card.pan, "3": req["3"], "4": req["4"], "7": now7(),
           "11": host.next_stan(), "23": req["23"], "37": ans.get("37", "000000000000"),
           "41": req["41"], "49": "978",
           # a completion advice quotes the transaction's ATC (9F36) with the script results
           "55": ptlv.encode({"9F36": atc_of(req), "9F27": b"\x40", "9F5B": b"\x20" + sid}).hex().upper(),
           "90": req["t"] + req["11"] + req["7"] + "0" * 22}
    if "37" not in ans:
        adv.pop("37")
    a = host.send(adv)
    check(a["t"] == "0230" and a["39"] == "00", f"0220 answered 0230 00, got {a['t']} {a['39']}")
    after = host.status(card)
    check(json.dumps(after.get("scripts")) != json.dumps(before.get("scripts")), "the advice settled the script")

    # a POS approval, then its reversal (0400 with DE 90), twice; an unknown original
    otb0 = host.status(card)["open_to_buy"]
    req, ans = auth(host, card, "pos", card.pin, amount=1500)
    check(ans["39"] == "00", f"POS approval, got {ans['39']}")
    check(host.status(card)["open_to_buy"] == otb0 - 1500, "the approval took the amount")
    rev = {"t": "0400", "2": card.pan, "3": req["3"], "4": req["4"], "7": now7(),
           "11": host.next_stan(), "23": req["23"], "41": req["41"], "49": "978",
           "55": ptlv.encode({"9F36": atc_of(req)}).hex().upper(),
           "90": req["t"] + req["11"] + req["7"] + "0" * 22}
    if "37" in ans:
        rev["37"] = ans["37"]
    a = host.send(rev)
    check(a["t"] == "0410" and a["39"] == "00", f"0400 answered 0410 00, got {a['t']} {a['39']}")
    check(host.status(card)["open_to_buy"] == otb0, "the reversal gave the amount back")
    rev["11"] = host.next_stan()
    a = host.send(rev)
    check(a["39"] == "00", "a second reversal is answered 00")
    check(host.status(card)["open_to_buy"] == otb0, "a second reversal changes nothing")
    unknown = dict(rev, **{"11": host.next_stan(), "90": "0100999999" + req["7"] + "0" * 22})
    unknown.pop("37", None)
    a = host.send(unknown)
    check(a["39"] == "25", f"a reversal of an unknown original is 25, got {a['39']}")
    # a reversal advice and a completion advice are answered
    a = host.send(dict(unknown, t="0420", **{"11": host.next_stan()}))
    check(a["t"] == "0430", "0420 answered 0430")
    # a completion advice names its answer by PAN, STAN (DE 90), RRN and ATC; one that
    # names no answer of the host is 25 and settles nothing
    req, ans = auth(host, card, "pos", card.pin, amount=700)
    check(ans["39"] == "00", f"POS approval, got {ans['39']}")
    comp = {"t": "0120", "2": card.pan, "4": req["4"], "7": now7(), "11": host.next_stan(),
            "41": req["41"], "49": "978", "90": req["t"] + req["11"] + req["7"] + "0" * 22,
            "55": ptlv.encode({"9F36": atc_of(req), "9F27": b"\x40"}).hex().upper()}
    if "37" in ans:
        comp["37"] = ans["37"]
    a = host.send(comp)
    check(a["t"] == "0130" and a["39"] == "00", f"0120 answered 0130 00, got {a['t']} {a['39']}")
    forged = dict(comp, **{"11": host.next_stan(), "37": "999999999999"})
    a = host.send(forged)
    check(a["t"] == "0130" and a["39"] == "25", f"a forged 0120 is 25, got {a['t']} {a['39']}")


def network(host):
    for code in ("001", "301", "002"):
        a = host.send({"t": "0800", "7": now7(), "11": host.next_stan(), "70": code})
        check(a["t"] == "0810" and a["39"] == "00" and a["70"] == code, f"0800 {code} answered 0810 00")


def mac_checks(host):
    card = Card(FLOW_CARD)
    tries = host.status(card)["online_pin_tries_left"]
    for kw, what in (({"mac": False}, "no MAC"), ({"bad_mac": True}, "a wrong MAC")):
        doc = {"t": "0100", "2": card.pan, "3": "000000", "4": "000000000100", "7": now7(),
               "11": host.next_stan(), "22": "051", "49": "978", "52": card.pin_block("0000"),
               "55": card.icc(100)[0]}
        a = host.send(doc, **kw)
        check(a["39"] == "63", f"{what}: answered 63, got {a['39']}")
    check(host.status(card)["online_pin_tries_left"] == tries, "refused messages count nothing")


def malformed(host):
    asc = host.fmt == "ascii"
    bm = (lambda hexmap: hexmap.encode()) if asc else (lambda hexmap: bytes.fromhex(hexmap))
    cases = {
        # not hex; in binary, bit 65 (a tertiary bitmap, not in ISO 8583:1987)
        "bad bitmap": b"0100" + (b"Z" * 16 if asc else bm("8000000000000000") * 2),
        "bad length prefix": b"0100" + bm("4000000000000000") + b"1X4761",
        "field too long": b"0100" + bm("4000000000000000") + b"20" + b"1" * 20,
        "non-digits in a numeric field": b"0100" + bm("2000000000000000") + b"ABCDEF",
        "truncated field": b"0200" + bm("2000000000000000") + b"0000",
    }
    for what, body in cases.items():
        a = host.send_raw(body)
        if host.header == "none" and what == "truncated field":
            check(a is None, "no header: a truncated message waits, then the connection closes")
            continue
        check(a is not None and a["39"] == "30", f"{what}: answered 30, got {a and a['39']}")
        check(a["t"] == body[:2].decode() + "10", f"{what}: the response MTI")
    # an unreadable MTI closes the connection
    check(host.send_raw(b"AB12" + bm("2000000000000000") + b"000000") is None, "unreadable MTI: closed")
    if host.header != "none":
        # a frame shorter than its header says: the host waits, then closes (read timeout)
        s = host.connect()
        s.sendall(host.frame(b"0800")[: (2 if host.header == "2b" else 4)] + b"08")
        s.shutdown(socket.SHUT_WR)
        check(host.read_answer(s) is None, "truncated frame: closed without an answer")
        s.close()
    # still answering
    network(host)


def main():
    runs = [(f, h, None) for f in ("ascii", "binary") for h in ("2b", "4a", "none")]
    runs += [("ascii", "2b", "6000010002"), ("binary", "4a", "6000010002")]
    for fmt, header, tpdu in runs:
        host = Host(fmt, header, tpdu)
        try:
            network(host)
            pin_flows(host)
            unblock_and_reversal(host)
            mac_checks(host)
            malformed(host)
        finally:
            if host.p.poll() is None:
                host.stop()
        print(f"ok {fmt} header {header}{' TPDU ' + tpdu if tpdu else ''}")
    print(f"iso8583_vs_pyiso8583: {checks} checks passed")


if __name__ == "__main__":
    main()
