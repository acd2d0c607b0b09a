#!/usr/bin/env python3
"""Foreign EMV terminals against the software card, through pcscd + vpcd: openemv's
emv-tool (C) and emv-decode on every card profile, python-emv's emvtool on every profile,
and the `emv` crate's emv-test-transaction (Rust, iohzrd/emv-rs 0.1.1): offline PIN
(plaintext, enciphered, wrong), an online transaction our issuer host (`host serve`)
answers for the ARQC the card really sent, and the ATM unblock it delivers. None shares
code with emvbench; our test CA's public keys are added to their CA key lists.

Needs pcscd running with vsmartcard-vpcd (slot 0 free) and the tools:
  EMVBENCH              emvbench binary (default target/debug/emvbench)
  EMV_TOOL, EMV_DECODE  openemv emv-utils binaries (.ci/run builds them from the source
                        kept in tests/thirdparty/, see its README.md)
  EMV_TEST_TRANSACTION  `cargo install emv --version 0.1.1 --locked --root DIR` gives
                        DIR/bin/emv-test-transaction
  EMVTOOL               python-emv's emvtool (pip install emv==1.0.14; .ci/run makes it)
  EMV_CRATE_CONFIG      the directory with that crate's terminal.toml, aids.toml, capk.toml
                        (its source directory)
  EMV_TOOL_CONFIG       emv-utils' tools/emv-config-example.xml

Usage: python3 tests/interop/foreign_terminals.py
"""

import hashlib
import json
import urllib.request
import os
import pathlib
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib

from card_profiles import ROOT, load_profile

EMVBENCH = os.environ.get("EMVBENCH", str(ROOT / "target" / "debug" / "emvbench"))
checks = 0
findings = []


def check(cond, what, detail=""):
    global checks
    checks += 1
    if not cond:
        sys.exit(f"FAIL: {what}\n{detail}")


def tool(var):
    p = os.environ.get(var)
    if not p or not pathlib.Path(p).exists():
        sys.exit(f"FAIL: {var} is not set to an existing file or directory ({p!r})")
    return p


# ---------------------------------------------------------------- our test CA's keys


def ca_keys():
    """(rid, index, modulus hex, exponent hex) for our test CA keys, under the RIDs the
    profiles use (the card certifies its issuer key under Visa's and Mastercard's RIDs)."""
    t = tomllib.loads((ROOT / "card-profiles" / "ca" / "test-ca.toml").read_text())
    out = []
    for rid in ("A000000003", "A000000004"):
        for k in t["key"]:
            out.append((rid, k["index"], k["modulus"], k["exponent"]))
    return out


def capk_hash(rid, index, modulus, exponent):
    # EMV 4.4 Book 2 §11.2.2: SHA-1 over RID | index | modulus | exponent
    return hashlib.sha1(bytes.fromhex(rid + index + modulus + exponent)).hexdigest().upper()


def emv_tool_config(tmp):
    xml = pathlib.Path(tool("EMV_TOOL_CONFIG")).read_text()
    ours = "".join(
        f"  <capk rid='{r}' index='{i}' hash_id='01'>\n    <modulus>{m}</modulus>\n"
        f"    <exponent>{e}</exponent>\n    <hash>{capk_hash(r, i, m, e)}</hash>\n  </capk>\n"
        for r, i, m, e in ca_keys()
    )
    check("</emv>" in xml, "emv-tool's example configuration ends with </emv>")
    path = tmp / "emv-config.xml"
    path.write_text(xml.replace("</emv>", ours + "</emv>"))
    return path


def emv_crate_config(tmp, terminal_type="22", capabilities="E0F8C8", floor_limit=100000):
    """The emv crate's config files, with our CA keys and a POS terminal (offline capable,
    plaintext and enciphered offline PIN, online PIN, signature, SDA/DDA/CDA)."""
    src = pathlib.Path(tool("EMV_CRATE_CONFIG"))
    d = tmp / "emv-crate"
    d.mkdir(exist_ok=True)
    for name in ("aids.toml", "crl.toml"):
        shutil.copy(src / name, d / name)
    capk = (src / "capk.toml").read_text() + "".join(
        f'\n[[capk_rsa]]\nrid = "{r}"\nindex = "{i}"\nmodulus = "{m}"\nexponent = "{e}"\n'
        for r, i, m, e in ca_keys()
    )
    (d / "capk.toml").write_text(capk)
    term = (src / "terminal.toml").read_text()
    term = re.sub(r'(?m)^terminal_type = ".*"', f'terminal_type = "{terminal_type}"', term)
    term = re.sub(r'(?m)^terminal_capabilities = ".*"', f'terminal_capabilities = "{capabilities}"', term)
    (d / "terminal.toml").write_text(term)
    aids = (d / "aids.toml").read_text()
    aids = re.sub(r"(?m)^terminal_floor_limit = \d+", f"terminal_floor_limit = {floor_limit}", aids)
    # no random selection for online (EMV 4.4 Book 3 §10.6.2): the offline flows stay offline
    aids = re.sub(r"(?m)^rts_(max_)?target_percentage = \d+", lambda m: m[0].split("=")[0] + "= 0", aids)
    aids = re.sub(r"(?m)^rts_threshold_value = \d+", "rts_threshold_value = 0", aids)
    # euro, the test cards' account currency (our host converts none: EMV 4.4 Book 4 §6.3.1)
    aids = re.sub(r"(?m)^transaction_currency_code = \d+", "transaction_currency_code = 978", aids)
    (d / "aids.toml").write_text(aids)
    return d


# ---------------------------------------------------------------- the served card


class Served:
    """`emvbench card serve` in vpcd's slot 0, recording what it sees (`--record`)."""

    def __init__(self, tmp, profile, state=None, card_tags=()):
        self.log = tmp / f"serve-{profile}.log"
        self.trace = tmp / f"serve-{profile}.trace"
        args = [EMVBENCH, "card", "serve", "--profile", profile, "-v", "--seed", "7",
                "--record", str(self.trace)]
        for t in card_tags:
            args += ["--card-tag", t]
        if state:
            args += ["--state", str(state)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        deadline = time.time() + 15
        # vpcd polls the card once pcscd has the reader: then clients see it present
        while "card inserted" not in self.text():
            check(self.proc.poll() is None, f"card serve {profile} is running", self.text())
            check(time.time() < deadline, f"card serve {profile} reached vpcd", self.text())
            time.sleep(0.05)
        time.sleep(0.5)

    def text(self):
        return self.log.read_text() if self.log.exists() else ""

    def apdus(self):
        """(C-APDU hex, R-APDU hex) per exchange, from the card's own trace."""
        lines = [l.split()[1] for l in self.trace.read_text().splitlines() if l.startswith((">> ", "<< "))]
        return list(zip(lines[0::2], lines[1::2]))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def in_pty(argv, answers, cwd, timeout=60):
    """Runs argv under a pseudo-terminal (both tools read the PIN from the terminal),
    answering each prompt (a substring) with the next answer in order."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvp(argv[0], argv)
    out, pending, deadline = b"", list(answers), time.time() + timeout
    seen = 0
    while True:
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            out += b"\n[TIMEOUT]"
            break
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        if pending and pending[0][0].encode() in out[seen:]:
            seen = out.rindex(pending[0][0].encode()) + 1
            os.write(fd, (pending.pop(0)[1] + "\r").encode())
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r", "")


# ---------------------------------------------------------------- emv-tool, emv-decode


def emv_tool_on(tmp, profile, config):
    served = Served(tmp, profile)
    try:
        rc, out = in_pty([tool("EMV_TOOL"), "--config-xml", str(config), "--txn-type", "00",
                          "--txn-amount", "1000", "--debug-level", "CARD"], [], cwd=tmp)
    finally:
        served.stop()
    where = f"emv-tool on {profile}"
    check("[TIMEOUT]" not in out, f"{where}: finished", out[-3000:])
    check("Card activated" in out, f"{where}: the reader activates the card", out[-3000:])
    p = load_profile(profile)
    aid = p["application"][0]["aid"]
    check(f"Application: {aid}" in out, f"{where}: the application is a candidate", out[-3000:])
    check("Read application data" in out and "READ RECORD" in out, f"{where}: records read")
    aip = bytes.fromhex(p["application"][0]["aip"])
    method = "CDA" if aip[0] & 0x01 else "DDA" if aip[0] & 0x20 else "SDA" if aip[0] & 0x40 else None
    if method == "CDA":
        check("(CDA) applied" in out, f"{where}: CDA set up with our CA keys", out[-4000:])
    elif method:
        check(f"({method}) succeeded" in out, f"{where}: {method} with our CA keys", out[-4000:])
    check("Offline data authentication failed" not in out, f"{where}: ODA did not fail", out[-4000:])
    # the first GENERATE AC: emv-tool asks for an AAC (with a CDA signature on a CDA card);
    # the card answers an AAC and, per EMV 4.4 Book 2 §6.6.1, no signature on an AAC
    gen = re.search(r"C-APDU: (80AE([0-9A-F]{2})[0-9A-F]+) \(GENERATE AC", out)
    check(gen is not None, f"{where}: GENERATE AC sent", out[-4000:])
    resp = re.search(r"R-APDU: ([0-9A-F]+) \(", out[gen.end():])
    check(resp is not None and resp[1].endswith("9000"), f"{where}: GENERATE AC answered 9000", out[-4000:])
    p1 = int(gen[2], 16)
    if p1 & 0xC0 == 0x00:
        # format 1 (tag 80: CID first) or format 2 (9F27 in a 77 template), EMV 4.4 Book 3 §6.5.5.4
        cid = resp[1][4:6] if resp[1].startswith("80") else (re.search(r"9F2701([0-9A-F]{2})", resp[1]) or [None, None])[1]
        check(cid is not None and int(cid, 16) & 0xC0 == 0x00,
              f"{where}: an AAC request is answered with an AAC (CID {cid})", resp[1])
        check("9F4B" not in resp[1], f"{where}: no CDA signature (9F4B) on an AAC (Book 2 §6.6.1)", resp[1])
        if p1 & 0x10:
            findings.append(f"emv-tool asked {profile} for an AAC with a CDA signature (P1 {gen[2]}); "
                            "the card gave the AAC without one, as EMV 4.4 Book 2 §6.6.1 says")
    # emv-tool's APDU log against the card's own record (card serve --record), byte for byte
    tool_apdus = re.findall(r"\[TTL\] C-APDU: ([0-9A-F]+) .*?\n(?:.*\n)*?\[TTL\] R-APDU: ([0-9A-F]+)", out)
    card = served.apdus()
    check(tool_apdus == card, f"{where}: emv-tool's APDU log is the card's record, byte for byte "
          f"({len(tool_apdus)} vs {len(card)} exchanges)", f"{tool_apdus}\n{card}")
    # and the record replays against a fresh card of the profile (same seed): every answer
    r = subprocess.run([EMVBENCH, "trace", "replay", str(served.trace)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and "identical" in r.stdout, f"{where}: the card's record replays", r.stdout + r.stderr)
    # emv-tool's own log imported as a trace (trace import --from plain) replays the same,
    # and our kernel plays against its answers (--as-card), stopping where it departs
    log = tmp / f"emv-tool-{profile}.log"
    log.write_text(out)
    imported = tmp / f"emv-tool-{profile}.trace"
    r = subprocess.run([EMVBENCH, "trace", "import", "--from", "plain", str(log), "-o", str(imported),
                        "--card", profile, "--seed", "7"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and f"imported {len(tool_apdus)} exchange(s)" in r.stdout,
          f"{where}: its log imports", r.stdout + r.stderr)
    r = subprocess.run([EMVBENCH, "trace", "replay", str(imported)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and "identical" in r.stdout, f"{where}: the imported log replays", r.stdout + r.stderr)
    r = subprocess.run([EMVBENCH, "trace", "replay", "--as-card", str(imported)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 or (r.returncode == 1 and re.search(r"line \d+: ", r.stdout)),
          f"{where}: our kernel against the log's answers runs and names where it departs", r.stdout + r.stderr)
    if r.returncode == 1:
        findings.append(f"our kernel departs from emv-tool's flow on {profile}: "
                        + r.stdout.splitlines()[0].split(": ", 1)[-1][:120])
    # emv-decode reads every answer without a parse error
    for c, r in tool_apdus:
        data = r[:-4]
        if not data:
            continue
        d = subprocess.run([tool("EMV_DECODE"), "--tlv", data], capture_output=True, text=True, timeout=30)
        # (its MCC and ISO code tables live in an install prefix we do not install into)
        bad = [
            l for l in (d.stdout + d.stderr).splitlines()
            if re.search(r"(?i)invalid|error|failed to", l)
            and "mcc_codes.json" not in l and "iso-codes data or mcc-codes data" not in l
        ]
        check(d.returncode == 0 and not bad, f"{where}: emv-decode reads the answer to {c[:8]}",
              d.stdout + d.stderr)
    return len(tool_apdus)


# ---------------------------------------------------------------- emv-test-transaction


def card_ptc(state, profile):
    """The chip's PIN try counter, read by our own `card send` (GET DATA 9F17)."""
    p = subprocess.run([EMVBENCH, "card", "send", "--profile", profile, "--state", str(state),
                        "00A4040007" + load_profile(profile)["application"][0]["aid"] + "00", "80CA9F1700"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    m = re.search(r"9F1701([0-9A-F]{2})", p.stdout.replace(" ", ""))
    check(m is not None, f"GET DATA 9F17 on {profile}", p.stdout + p.stderr)
    return int(m[1], 16)


def emv_crate_on(tmp, profile, config, pins, state, online_answer="00"):
    served = Served(tmp, profile, state)
    try:
        answers = [("Enter PIN", p) for p in pins] + [("response", online_answer)]
        rc, out = in_pty([tool("EMV_TEST_TRANSACTION"), "--terminal", str(config / "terminal.toml"),
                          "--aids", str(config / "aids.toml"), "--capk", str(config / "capk.toml"),
                          "--crl", str(config / "crl.toml")], answers, cwd=tmp)
    finally:
        served.stop()
    check("[TIMEOUT]" not in out, f"emv-test-transaction on {profile}: finished", out[-3000:])
    return rc, out, served


# ---------------------------------------------------------------- our issuer host


class HostServe:
    """`emvbench host serve` on a free port, the built-in profiles' cards provisioned."""

    def __init__(self, tmp):
        keys = tomllib.loads((ROOT / "host-keys" / "test-keys.toml").read_text())
        self.acquirer = keys["acquirer_keys"][0]["key"]
        self.issuer = keys["api_keys"][0]["key"]
        self.proc = subprocess.Popen([EMVBENCH, "host", "serve", "--data", str(tmp / "issuer"),
                                      "--listen", "127.0.0.1:0", "--provision-profiles"],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = None
        deadline = time.time() + 30
        while self.url is None:
            check(time.time() < deadline and self.proc.poll() is None, "host serve prints its address")
            m = re.search(r"(http://[0-9.:]+)", self.proc.stdout.readline())
            self.url = m[1] if m else None

    def post(self, path, body, key_header):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **key_header})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def authorise(self, request):
        return self.post("/v1/authorise", request, {"X-Acquirer-Key": self.acquirer})

    def unblock_pin(self, pan):
        return self.post(f"/v1/cards/{pan}/pin/unblock", {}, {"Authorization": f"Bearer {self.issuer}"})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def dol(spec_hex):
    """(tag hex, length) of a DOL (EMV 4.4 Book 3 §5.4)."""
    b, i, out = bytes.fromhex(spec_hex.replace(" ", "")), 0, []
    while i < len(b):
        j = i + 1
        if b[i] & 0x1F == 0x1F:
            while b[j] & 0x80:
                j += 1
            j += 1
        out.append((b[i:j].hex().upper(), b[j]))
        i = j + 1
    return out


def tlv(tag, value):
    v = bytes.fromhex(value)
    return tag + (f"{len(v):02X}" if len(v) < 128 else f"81{len(v):02X}") + value


def tlv_items(hexstr):
    """Top-level and nested primitive TLVs of a BER-TLV string, as {tag: value hex}."""
    b, out = bytes.fromhex(hexstr), {}

    def walk(b):
        i = 0
        while i < len(b):
            j = i + 1
            if b[i] & 0x1F == 0x1F:
                while b[j] & 0x80:
                    j += 1
                j += 1
            tag, constructed = b[i:j].hex().upper(), b[i] & 0x20
            n, j = b[j], j + 1
            if n & 0x80:
                k = n & 0x7F
                n, j = int.from_bytes(b[j:j + k], "big"), j + k
            v = b[j:j + n]
            walk(v) if constructed else out.setdefault(tag, v.hex().upper())
            i = j + n
    walk(b)
    return out


def arqc_request(profile, record):
    """Our host's authorisation request for the ARQC the card really sent: the first
    GENERATE AC of the card's own record, its data split by the profile's CDOL1, its
    answer's CID, ATC, AC and IAD, and the AIP of the GPO answer."""
    p = load_profile(profile)
    exchanges = [(c, r) for c, r in record]
    gen = next((c, r) for c, r in exchanges if c.startswith("80AE"))
    gpo = next(r for c, r in exchanges if c.startswith("80A8"))
    data = bytes.fromhex(gen[0][10:10 + 2 * int(gen[0][8:10], 16)])
    fields, at = {}, 0
    for tag, n in dol(p["data"]["8C"]):
        fields[tag] = data[at:at + n].hex().upper()
        at += n
    answer = tlv_items(gen[1][:-4])
    aip = tlv_items(gpo[:-4]).get("82") or gpo[4:8]
    icc = {**fields, "82": aip, "9F27": answer["9F27"], "9F36": answer["9F36"],
           "9F26": answer["9F26"], "9F10": answer["9F10"]}
    card = p["card"]
    return {
        "pan": card["pan"], "psn": card["psn"], "expiry": card["expiry"],
        "transaction_type": "purchase", "amount": int(fields["9F02"]),
        "currency": int(fields["5F2A"]), "terminal_id": "EMVRSDEM", "stan": 1,
        "icc_data": "".join(tlv(t, v) for t, v in icc.items()),
    }


# ---------------------------------------------------------------- python-emv


def python_emv_on(tmp, profile):
    """python-emv's emvtool: info, listapps, appdata 0, cap with the right and a wrong PIN,
    back to back (a T=0 card: no "protocol mismatch" window to wait out)."""
    emvtool = tool("EMVTOOL")
    readers = subprocess.run([emvtool, "readers"], capture_output=True, text=True, timeout=30).stdout
    idx = re.search(r"(?m)^(\d+): Virtual PCD 00 00", readers)
    check(idx is not None, "emvtool lists vpcd's reader", readers)
    p = load_profile(profile)
    pin = p["card"]["pin"]
    wrong = "".join(str((int(d) + 1) % 10) for d in pin)
    served = Served(tmp, profile)
    try:
        def run(*args):
            r = subprocess.run([emvtool, "-r", idx[1], *args], capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr
            check("protocol mismatch" not in out.lower(), f"emvtool {args} on {profile}: no protocol mismatch", out)
            return r.returncode, out, r.stdout
        rc, out, _ = run("info")
        # a profile whose GET DATA answers 6A81 (a [[fault]]) has no counters to show
        no_get_data = any(f.get("command") == "get-data" for f in p.get("fault", []))
        check(rc == 0 and ("pin_retries" in out) != no_get_data, f"emvtool info on {profile}", out[-2000:])
        rc, out, _ = run("listapps")
        check(rc == 0 and p["application"][0]["label"] in out, f"emvtool listapps on {profile}", out[-2000:])
        rc, out, _ = run("appdata", "0")
        check(rc == 0 and ("Application Interchange Profile" in out or "[82]" in out),
              f"emvtool appdata 0 on {profile}", out[-2000:])
        rc, out, stdout = run("-p", pin, "cap")
        code = stdout.strip()
        check(rc == 0 and code.isdigit(), f"emvtool cap with the right PIN on {profile}", out[-2000:])
        rc, out, _ = run("-p", wrong, "cap")
        check("Invalid PIN" in out, f"emvtool cap with a wrong PIN on {profile}", out[-2000:])
    finally:
        served.stop()


def emv_crate_online(tmp, profile, state, host, card_tags=()):
    """emv-test-transaction goes online (floor limit 0); at its prompt the harness posts
    the ARQC the card really sent (from the card's record) to our host and types the
    host's answer (8A, 91, 71/72) in. Returns the crate's output, the card's record and
    the host's answer."""
    # a floor limit of one minor unit: every amount goes online (EMV 4.4 Book 3 §10.6.1)
    crate = emv_crate_config(tmp, floor_limit=1)
    served = Served(tmp, profile, state, card_tags)
    answer = {}
    try:
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(tmp)
            os.execvp(tool("EMV_TEST_TRANSACTION"), [tool("EMV_TEST_TRANSACTION"),
                      "--terminal", str(crate / "terminal.toml"), "--aids", str(crate / "aids.toml"),
                      "--capk", str(crate / "capk.toml"), "--crl", str(crate / "crl.toml")])
        out, deadline, pin_sent = b"", time.time() + 90, 0
        pin = load_profile(profile)["card"]["pin"]
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if out.count(b"Enter PIN") > pin_sent:
                pin_sent += 1
                os.write(fd, (pin + "\r").encode())
            if b"ARC=00] >" in out and not answer:
                answer.update(host.authorise(arqc_request(profile, served.apdus())))
                reply = tlv("8A", answer["response_code"].encode().hex())
                if answer.get("issuer_authentication_data"):
                    reply += tlv("91", answer["issuer_authentication_data"])
                reply += "".join(answer.get("issuer_scripts", []))
                os.write(fd, (reply + "\r").encode())
        else:
            os.kill(pid, signal.SIGKILL)
            out += b"[TIMEOUT]"
        os.waitpid(pid, 0)
        os.close(fd)
    finally:
        served.stop()
    return out.decode(errors="replace").replace("\r", ""), served.apdus(), answer


def second_gen_ac_answer_per_emv(where, record):
    """The card's answer to the second GENERATE AC the terminal really sent: a TC only
    when P1 asks for one, an AAC otherwise (EMV 4.4 Book 3 §6.5.5.4 and §9.3; emv 0.1.1
    sends ARC 0000 in its CDOL2 data and asks for an AAC)."""
    gens = [(c, r) for c, r in record if c.startswith("80AE")]
    check(len(gens) == 2, f"{where}: two GENERATE ACs", str(record))
    c, r = gens[1]
    check(r.endswith("9000"), f"{where}: the second GENERATE AC answered 9000", r)
    asked = int(c[4:6], 16) & 0xC0
    cid = r[4:6] if r.startswith("80") else tlv_items(r[:-4]).get("9F27", "FF")
    got = int(cid, 16) & 0xC0
    check(got == (0x40 if asked == 0x40 else 0x00),
          f"{where}: asked for {'a TC' if asked == 0x40 else 'an AAC'} (P1 {c[4:6]}), the card answered CID {cid}", r)
    return c, r


def online_flows(tmp):
    host = HostServe(tmp)
    try:
        # an online transaction: our host answers the ARQC the card sent; the crate's
        # EXTERNAL AUTHENTICATE with our ARPC passes
        profile = "visa-cvn18"
        out, record, answer = emv_crate_online(tmp, profile, tmp / "online.json", host)
        where = f"emv-test-transaction online on {profile}"
        check("[TIMEOUT]" not in out and answer.get("response_code") == "00",
              f"{where}: our host approved the card's ARQC", out[-3000:] + str(answer))
        ext = [(c, r) for c, r in record if c.startswith("0082")]
        check(len(ext) == 1 and ext[0][1] == "9000",
              f"{where}: issuer authentication (EXTERNAL AUTHENTICATE with our ARPC) passes", str(ext))
        c, r = second_gen_ac_answer_per_emv(where, record)
        findings.append(f"emv 0.1.1's second GENERATE AC on {profile}: {c[:12]}... (P1 {c[4:6]}), "
                        f"answered CID {r[4:6] if r.startswith('80') else tlv_items(r[:-4]).get('9F27')}")

        # the ATM unblock by the foreign kernel: a chip whose offline PIN is blocked, the
        # host's answer carries PIN UNBLOCK in 72, the crate delivers it
        # (another card: the host has seen visa-cvn18's ATC 1 already)
        profile = "visa-cvn18-ptl5"
        state = tmp / "blocked.json"
        pan = load_profile(profile)["card"]["pan"]
        host.unblock_pin(pan)
        out, record, answer = emv_crate_online(tmp, profile, state, host, card_tags=("9F17=00",))
        where = f"emv-test-transaction ATM unblock on {profile}"
        scripts = "".join(answer.get("issuer_scripts", []))
        check(scripts.startswith("72") and "8424" in scripts,
              f"{where}: our host's answer carries PIN UNBLOCK in a 72 script", str(answer))
        unblock = [(c, r) for c, r in record if c[2:4] == "24"]
        check(len(unblock) == 1 and unblock[0][1] == "9000",
              f"{where}: the crate delivered PIN UNBLOCK and the card took it", str(record[-6:]))
        limit = load_profile(profile)["card"]["pin_try_limit"]
        check(card_ptc(state, profile) == limit, f"{where}: the chip's PIN Try Counter is back to its limit")
        findings.append(f"emv 0.1.1 delivered our host's PIN UNBLOCK to {profile}; the chip's counter is {limit} again")
    finally:
        host.stop()


def main():
    for var in ("EMV_TOOL", "EMV_DECODE", "EMV_TOOL_CONFIG", "EMV_TEST_TRANSACTION", "EMV_CRATE_CONFIG",
                "EMVTOOL"):
        tool(var)
    check(pathlib.Path("/run/pcscd/pcscd.comm").exists(), "pcscd is running")
    profiles = sorted(p.stem for p in (ROOT / "card-profiles").glob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        config = emv_tool_config(tmp)
        total = 0
        for profile in profiles:
            total += emv_tool_on(tmp, profile, config)
        print(f"emv-tool + emv-decode: {len(profiles)} profiles, {total} exchanges checked "
              "(its logs imported as traces and replayed both ways)")
        # a log that is not one: refused with its line (exit 2)
        bad = tmp / "bad.log"
        bad.write_text("[TTL] C-APDU: 00A4040007A0000000031010\n[TTL] R-APDU: 9X00\n")
        r = subprocess.run([EMVBENCH, "trace", "import", "--from", "plain", str(bad), "-o", str(tmp / "bad.trace")],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "line 2:" in r.stderr, "a malformed log is refused with its line", r.stderr)
        for profile in profiles:
            python_emv_on(tmp, profile)
        print(f"python-emv emvtool: info, listapps, appdata, cap (right and wrong PIN) on {len(profiles)} profiles")

        crate = emv_crate_config(tmp)
        for profile in ("visa-cvn18", "visa-cvn18-enciphered-pin"):
            state = tmp / f"{profile}.json"
            pin = load_profile(profile)["card"]["pin"]
            rc, out, _ = emv_crate_on(tmp, profile, crate, [pin], state)
            where = f"emv-test-transaction on {profile}"
            check("Offline Data Authentication → DdaSuccess" in out, f"{where}: DDA with our CA keys", out[-4000:])
            # CVM Results (EMV 4.4 Book 3 Annex C3): the method in bits 6-1 of byte 1
            # (01 plaintext, 04 enciphered offline PIN), byte 3 = 02 successful
            cvm = re.search(r"CVM Results: ([0-9A-F]{6})", out)
            want = 0x04 if "enciphered" in profile else 0x01
            check(cvm is not None and int(cvm[1][:2], 16) & 0x3F == want and cvm[1][4:] == "02",
                  f"{where}: offline PIN verified by the chip (CVM Results)", out[-4000:])
            check("Final outcome: Approved offline" in out, f"{where}: approved offline", out[-3000:])
            check(card_ptc(state, profile) == 3, f"{where}: the right PIN leaves the chip's counter at 3")
            # a wrong PIN, then an empty entry (the crate takes it as PIN entry bypassed)
            wrong = "".join(str((int(d) + 1) % 10) for d in pin)
            rc, out, served = emv_crate_on(tmp, profile, crate, [wrong, ""], state)
            check("63C2" in served.text() or "63C2" in out, f"{where}: a wrong PIN is answered 63C2", served.text()[-2000:])
            check(card_ptc(state, profile) == 2, f"{where}: the wrong PIN is counted on the chip")
        online_flows(tmp)
    print(f"foreign_terminals: {checks} checks passed")
    for f in findings:
        print("finding:", f)


if __name__ == "__main__":
    main()
