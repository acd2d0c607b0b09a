#!/usr/bin/env python3
"""Issuer scripts built by pyemv (an independent implementation), run on the software card.

For each card profile: drive `emvbench card send --json -` through a pipe (SELECT, GPO,
three wrong PINs, GENERATE AC for an ARQC), let pyemv build a PIN UNBLOCK and then a PIN
CHANGE command from the card's ARQC and ATC with the profile's TEST issuer keys, send
them, and check the card's answers: 9000 for each, the PIN Try Counter back to the limit,
the old PIN refused and the new one accepted offline. A tampered MAC must get 6988.

Usage: EMVBENCH=target/debug/emvbench python3 card_scripts_vs_pyemv.py
"""
import json, os, subprocess, sys, pathlib, warnings

warnings.filterwarnings("ignore")  # cryptography's TripleDES deprecation notes

from pyemv import cvn as pcvn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from card_profiles import load_profile  # noqa: E402
EMVBENCH = os.environ.get("EMVBENCH", str(ROOT / "target/debug/emvbench"))

CLASSES = {"visa-18": pcvn.VisaCVN18, "visa-22": pcvn.VisaCVN22, "mc-16": pcvn.MasterCardCVN16,
           "mc-20": pcvn.MasterCardCVN20, "visa-10": pcvn.VisaCVN10}


class Card:
    def __init__(self, profile):
        self.p = subprocess.Popen([EMVBENCH, "card", "send", "--profile", profile, "--json", "-"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, apdu_hex):
        self.p.stdin.write(apdu_hex + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def pin_block(pin):
    return "0020008008" + (f"2{len(pin):X}" + pin).ljust(16, "F")


def run(profile):
    prof = load_profile(profile)
    card, keys, aid = prof["card"], prof["keys"], prof["application"][0]["aid"]
    cls = CLASSES[prof["cvn"]]
    kwargs = dict(iss_mk_ac=bytes.fromhex(keys["imk_ac"]), iss_mk_smi=bytes.fromhex(keys["imk_smi"]),
                  iss_mk_smc=bytes.fromhex(keys["imk_smc"]), pan=card["pan"], psn=card.get("psn", "01"))
    issuer = cls(**kwargs)
    c = Card(profile)
    check(c.send(f"00A40400{len(aid)//2:02X}{aid}00")["sw"] == "9000", "SELECT")
    gpo = c.send("80A8000002830000")
    check(gpo["sw"] == "9000", "GPO")
    aip = bytes.fromhex(gpo["data"])[4:6]  # 77 len 82 02 AIP (response format 2)
    for expected in ("63C2", "63C1", "63C0"):
        check(c.send(pin_block("9999"))["sw"] == expected, f"wrong PIN -> {expected}")
    check(c.send(pin_block(card["pin"]))["sw"] == "6983", "blocked PIN")
    cdol1 = "000000002500" + "000000000000" + "0250" + "0000000000" + "0978" + "261122" + "00" + "11223344" + "22" + "3F0000"
    r = c.send("80AE8000" + f"{len(cdol1)//2:02X}" + cdol1 + "00")
    check(r["sw"] == "9000", f"GENERATE AC: {r}")
    tlv = bytes.fromhex(r["data"])
    def tag(t):
        i = tlv.find(bytes.fromhex(t))
        n = tlv[i + len(t)//2]
        return tlv[i + len(t)//2 + 1: i + len(t)//2 + 1 + n]
    arqc, atc = tag("9F26"), tag("9F36")
    if prof["cvn"] in ("visa-18", "visa-22"):
        # the ARQC over the card's whole IAD, recomputed by pyemv; CVN 22 answers Visa's
        # IAD format 2 (32 bytes: 1F, CVN 22, DKI, CVR(5), IDD option ID with high nibble 0)
        iad = tag("9F10")
        if prof["cvn"] == "visa-22":
            check(len(iad) == 32 and iad[:2] == b"\x1F\x22" and iad[8] & 0xF0 == 0,
                  f"{profile}: IAD format 2, got {iad.hex()}")
        d = bytes.fromhex(cdol1)
        want = issuer.generate_ac(tag_9f02=d[0:6], tag_9f03=d[6:12], tag_9f1a=d[12:14],
                                  tag_95=d[14:19], tag_5f2a=d[19:21], tag_9a=d[21:24],
                                  tag_9c=d[24:25], tag_9f37=d[25:29], tag_82=aip,
                                  tag_9f36=atc, tag_9f10=iad)
        check(want == arqc, f"{profile}: pyemv's ARQC {want.hex()} != the card's {arqc.hex()}")
    mc = prof["cvn"].startswith("mc")
    # 1. PIN UNBLOCK (84 24 00 00 08 MAC), MAC by pyemv
    header = bytes.fromhex("8424000008")
    ac1 = arqc
    mac = issuer.generate_command_mac(header, ac1, atc)
    bad = bytearray(mac); bad[0] ^= 1
    r = c.send((header + bytes(bad)).hex().upper())
    check(r["sw"] == "6988", f"{profile}: tampered MAC -> {r['sw']}")
    # the M/Chip AC is incremented per script command (the tampered one counted)
    if mc:
        ac1 = (int.from_bytes(arqc, "big") + 1).to_bytes(8, "big")
        mac = issuer.generate_command_mac(header, ac1, atc)
    r = c.send((header + mac).hex().upper())
    check(r["sw"] == "9000", f"{profile}: pyemv PIN UNBLOCK -> {r['sw']}")
    # 2. PIN CHANGE to 7391
    if mc:
        ac2 = (int.from_bytes(arqc, "big") + 2).to_bytes(8, "big")
        cmd = issuer.generate_pin_change_command("7391", ac2, atc)
    else:
        cmd = issuer.generate_pin_change_command("7391", arqc, atc)
    r = c.send(cmd.hex().upper())
    check(r["sw"] == "9000", f"{profile}: pyemv PIN CHANGE -> {r['sw']}")
    check(c.send("80CA9F1700")["data"] == "9F170103", "PIN Try Counter back to 3")
    c.send(f"00A40400{len(aid)//2:02X}{aid}00"); c.send("80A8000002830000")
    check(c.send(pin_block(card["pin"]))["sw"] == "63C2", f"{profile}: old PIN refused")
    check(c.send(pin_block("7391"))["sw"] == "9000", f"{profile}: new PIN accepted")
    c.close()
    print(f"{profile}: pyemv unblock + PIN change OK")


if __name__ == "__main__":
    for p in ["visa-cvn18", "visa-cvn22", "mc-cvn16", "mc-cvn20"]:
        run(p)
    print("card scripts vs pyemv: all OK")
