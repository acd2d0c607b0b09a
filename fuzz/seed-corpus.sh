#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs taken from the recorded APDU traces
# (apdu-traces/*.trace), the hand-written request bodies in fuzz/seeds/host_json/ and the
# regression inputs in fuzz/seeds/card_handle/.
#
#   capdu_parse     every C-APDU of the traces
#   card_handle     the C-APDUs of each transaction as `len ‖ apdu ‖ len ‖ apdu …`, and
#                   the regression inputs in fuzz/seeds/card_handle/
#   tlv_parse       the data field of every R-APDU
#   dol_build       each DOL the cards return (8C CDOL1, 8D CDOL2, 9F38 PDOL) as `n ‖ DOL`,
#                   and with the values the terminal sent for it (GPO / GENERATE AC data)
#   kernel_vs_card  each transaction's R-APDUs for the scripted card (terminal profile,
#                   PIN entries and issuer answer from the trace), the same transaction
#                   against the software card, and every terminal x card profile unmutated
#   host_json       a copy of fuzz/seeds/host_json/*
#   iso8583         each pyiso8583-encoded message of tests/interop/iso8583_vectors.txt as
#                   `flags ‖ message` (flags bit 0: binary layout), with and without MAC
#                   checks (bit 1)
#   rsa_fixed       each test key of crates/emv-crypto/src/oda/test_keys.rs as a public
#                   operation and as a CRT private operation (p, q, d mod (p − 1),
#                   d mod (q − 1), q⁻¹ mod p) on one input below n, in the target's layout
#
# Files are named after the SHA-1 of their content (as libFuzzer names its own), so running
# the script again adds nothing new and never removes what the fuzzer found.
# Usage: fuzz/seed-corpus.sh [TRACE_DIR]   (default: apdu-traces/ next to fuzz/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
traces="${1:-$here/../apdu-traces}"

python3 - "$here" "$traces" <<'PY'
import glob, hashlib, json, os, re, sys

fuzz, traces = sys.argv[1], sys.argv[2]
added = {}

def put(target, data):
    d = os.path.join(fuzz, "corpus", target)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
        added[target] = added.get(target, 0) + 1

# --- a small BER-TLV reader (EMV 4.4 Book 3 Annex B) for the DOLs inside card answers
def tlvs(b):
    i, out = 0, []
    while i < len(b):
        if b[i] in (0x00, 0xFF):  # padding between objects
            i += 1
            continue
        t0 = i
        first = b[i]; i += 1
        if first & 0x1F == 0x1F:
            while i < len(b) and b[i] & 0x80:
                i += 1
            i += 1
        tag = b[t0:i].hex().upper()
        if i >= len(b):
            break
        l = b[i]; i += 1
        if l & 0x80:
            n = l & 0x7F
            l = int.from_bytes(b[i:i + n], "big"); i += n
        v = b[i:i + l]; i += l
        out.append((tag, first & 0x20 != 0, v))
        if first & 0x20:
            out.extend(tlvs(v))
    return out

def dol_entries(dol):
    i, out = 0, []
    while i < len(dol):
        t0 = i
        first = dol[i]; i += 1
        if first & 0x1F == 0x1F:
            while i < len(dol) and dol[i] & 0x80:
                i += 1
            i += 1
        if i >= len(dol):
            break
        out.append((dol[t0:i], dol[i])); i += 1
    return out

def length_prefixed(chunks):
    out = b""
    for c in chunks:
        out += bytes([len(c)]) + c if len(c) < 0xFF else b"\xff" + len(c).to_bytes(2, "big") + c
    return out

# kernel_vs_card's tables (fuzz_targets/kernel_vs_card.rs): emv_kernel::Profile::builtin_names()
# order and CARD_PROFILES
TERMINALS = ["atm", "pos-attended", "pos-offline-only", "unattended", "unattended-no-pinpad",
             "pos-no-pinpad"]
CARDS = ["visa-cvn18", "mc-cvn16", "visa-cvn10", "visa-cvn22", "mc-cvn20",
         "visa-cvn18-enciphered-pin", "visa-cvn18-online-pin-first", "visa-cvn18-signature"]
PINS = {"pin": 0, "": 0, "pin,pin": 1, "bypass": 2, "pin,pin,pin": 3}

def field(line, key):
    for part in line.split():
        if part.startswith(key + "="):
            return part[len(key) + 1:].strip('"')
    return ""

def kernel_seeds(card, tx):
    term = TERMINALS.index(tx["terminal"]) if tx["terminal"] in TERMINALS else 1
    pins = PINS.get(tx["pins"], 0)
    amount = min(255, int(tx["amount"] or 0) // 137)
    answers = [r for _, r in tx["pairs"]]
    host = tx["host"]
    if host is not None:
        h = json.loads(host)
        iad = bytes.fromhex(h.get("issuer_authentication_data") or "")
        script = bytes.fromhex((h.get("issuer_scripts") or [""])[0])
        mode = 0 | term << 1 | 1 << 4 | pins << 6
        put("kernel_vs_card", bytes([mode, 0, amount]) + length_prefixed([iad, script])
            + length_prefixed(answers))
    else:
        mode = 0 | term << 1 | 0 << 4 | pins << 6
        put("kernel_vs_card", bytes([mode, 0, amount]) + length_prefixed(answers))
    if card in CARDS:
        mode = 1 | term << 1 | 0 << 4 | pins << 6
        cash = 0x80 if tx["type"] == "cash" else 0
        put("kernel_vs_card", bytes([mode, CARDS.index(card) | cash, amount]))

def dol_seeds(tx):
    """DOLs from the card's answers, with the data the terminal sent for them."""
    gen_ac = [c for c, _ in tx["pairs"] if c[1:2] == b"\xae"]
    gpo = [c for c, _ in tx["pairs"] if c[1:2] == b"\xa8"]
    def cmd_data(c):
        return c[5:5 + c[4]] if len(c) > 5 else b""
    for _, r in tx["pairs"]:
        for tag, constructed, v in tlvs(r[:-2]):
            if constructed or tag not in ("8C", "8D", "9F38") or not v or len(v) > 255:
                continue
            put("dol_build", bytes([len(v)]) + v)
            sent = None
            if tag == "9F38" and gpo:
                d = cmd_data(gpo[0])
                sent = d[2:] if d[:1] == b"\x83" else None
            elif tag == "8C" and gen_ac:
                sent = cmd_data(gen_ac[0])
            elif tag == "8D" and len(gen_ac) > 1:
                sent = cmd_data(gen_ac[1])
            if sent is None:
                continue
            entries, records, pos = dol_entries(v), b"", 0
            for i, (_, n) in enumerate(entries):
                value = sent[pos:pos + n]; pos += n
                # alternate formats; one value a byte short so padding is exercised
                value = value[:-1] if i % 3 == 2 and value else value
                records += bytes([i, i % 8, len(value)]) + value
            put("dol_build", bytes([len(v)]) + v + records)

def command(text):
    """A trace's C-APDU; PIN data recorded as `[PIN]` after the header and Lc
    (docs/formats.md §3) becomes Lc bytes of a plaintext-PIN-block shape."""
    if "[PIN]" not in text:
        return bytes.fromhex(text)
    head = bytes.fromhex(text.replace("[PIN]", ""))
    lc = head[4] if len(head) > 4 else 0
    fill = bytes.fromhex("241234") + b"\xff" * max(lc - 3, 0)
    return head + fill[:lc]


for path in sorted(glob.glob(os.path.join(traces, "*.trace"))):
    card, tx = None, None
    for raw in open(path, encoding="utf-8"):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("@card "):
            card = field(line, "profile")
        elif line.startswith("@transaction"):
            tx = {"terminal": field(line, "terminal"), "pins": field(line, "pins"),
                  "amount": field(line, "amount"), "type": field(line, "type"), "pairs": [], "host": None, "cmd": None}
        elif line.startswith("@host ") and tx is not None:
            tx["host"] = line[len("@host "):]
        elif line.startswith(">>") and tx is not None:
            tx["cmd"] = command(line[2:].strip())
        elif line.startswith("<<") and tx is not None and tx["cmd"] is not None:
            r = bytes.fromhex(line[2:].strip())
            tx["pairs"].append((tx["cmd"], r))
            tx["cmd"] = None
        elif line.startswith("@end") and tx is not None:
            cmds = [c for c, _ in tx["pairs"]]
            for c in cmds:
                put("capdu_parse", c)
            put("card_handle", b"".join(bytes([len(c)]) + c for c in cmds if len(c) < 256))
            for _, r in tx["pairs"]:
                if len(r) > 2:
                    put("tlv_parse", r[:-2])
            dol_seeds(tx)
            kernel_seeds(card, tx)
            tx = None

# every terminal x card profile against the unmutated software card and the real issuer,
# with the right PIN, and with a PIN UNBLOCK script queued for a card with a blocked PIN
for t in range(len(TERMINALS)):
    for c in range(len(CARDS)):
        put("kernel_vs_card", bytes([1 | t << 1, c, 100]))
        put("kernel_vs_card", bytes([1 | t << 1 | 3 << 6, c | 0x20, 100]))

for target in ("host_json", "card_handle"):
    for f in sorted(glob.glob(os.path.join(fuzz, "seeds", target, "*"))):
        with open(f, "rb") as fh:
            put(target, fh.read())

# rsa_fixed: the test keys, parsed from the Rust source (`name: &h::<N>(concat!("HEX", …))`)
keys_rs = os.path.join(fuzz, "..", "crates", "emv-crypto", "src", "oda", "test_keys.rs")
source = open(keys_rs, encoding="utf-8").read()
for block in re.findall(r"pub const \w+: TestRsaKey = TestRsaKey \{(.*?)\n\};", source, re.S):
    fields = {}
    field_re = r"(\w+): &h::<\d+>\((.*?)\),?\n    (?=\w+:|$)"
    for name, body in re.findall(field_re, block + "\n    ", re.S):
        fields[name] = int("".join(re.findall(r'"([0-9A-Fa-f]+)"', body)), 16)
    n, e, d = fields["modulus"], fields["exponent"], fields["private_exponent"]
    p, q = fields["prime_p"], fields["prime_q"]
    assert p * q == n, "test_keys.rs: p*q != n"
    n_len, p_len, q_len = ((v.bit_length() + 7) // 8 for v in (n, p, q))
    be = lambda v, l: v.to_bytes(l, "big")
    # a DDA-shaped input below n: header 6A, pad BB, trailer BC
    x = int.from_bytes(b"\x6a" + b"\xbb" * (n_len - 2) + b"\xbc", "big") % n
    # public: flags 0, n_len - 64, e (0: 3, 1: 65537), n form raw, top, x selector shaped, form raw
    put("rsa_fixed", bytes([0, n_len - 64, 0 if e == 3 else 1, 0, 0, 15, 0])
        + be(n, n_len) + be(x, n_len))
    # CRT: flags 1 (bit 1 when q is the longer), longer length - 25, the other length
    # (selector 0: equal, 3: 1 + arg % longer), then every form raw and every selector shaped
    longer, shorter = max(p_len, q_len), min(p_len, q_len)
    flags = 1 | (2 if q_len > p_len else 0)
    other = bytes([0, 0]) if p_len == q_len else bytes([3, shorter - 1])
    header = bytes([0, 0, 0, 0, 15, 0, 15, 0, 15, 0, 15, 0])
    payload = (be(p, p_len) + be(q, q_len) + be(d % (p - 1), p_len) + be(d % (q - 1), q_len)
               + be(pow(q, -1, p), p_len) + be(x, n_len))
    put("rsa_fixed", bytes([flags, longer - 25]) + other + header + payload)

# iso8583: the pyiso8583 vectors (tests/interop/iso8583_vectors.txt)
vectors = os.path.join(fuzz, "..", "tests", "interop", "iso8583_vectors.txt")
for line in open(vectors, encoding="utf-8"):
    parts = line.split(" ", 3)
    if parts[0] in ("plain", "mac"):
        layout = 1 if parts[1] == "binary" else 0
        for insecure in (0, 2):
            put("iso8583", bytes([layout | insecure]) + bytes.fromhex(parts[2]))

for t in ["capdu_parse", "card_handle", "tlv_parse", "dol_build", "kernel_vs_card", "host_json",
          "rsa_fixed", "iso8583"]:
    d = os.path.join(fuzz, "corpus", t)
    os.makedirs(d, exist_ok=True)
    print(f"{t:15} {added.get(t, 0):5} new, {len(os.listdir(d)):6} in corpus/{t}/")
PY
