"""Cross-check `emvbench calc --json` against independent implementations (pyemv 1.5.0 and
psec 1.3.0) on random keys, PANs, data and PINs that are not in the shared vectors.

Run: pip install pyemv==1.5.0 psec==1.3.0 && python3 tests/interop/calc_vs_pyemv.py [ROUNDS]
The binary is $EMVBENCH, default target/debug/emvbench. .ci/run runs it.
"""
import json, os, random, subprocess, sys, warnings
warnings.filterwarnings("ignore")
from pyemv import kd, ac, cvn as pcvn
import psec
E = os.environ.get("EMVBENCH", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "emvbench"))
rnd = random.Random(int(os.environ.get("SEED", "20261122")))
def h(n): return bytes(rnd.getrandbits(8) for _ in range(n))
def calc(*a):
    out = subprocess.run([E, "calc", *a, "--json"], capture_output=True, text=True)
    if out.returncode != 0: raise SystemExit(f"calc {a} failed: {out.stderr}")
    return json.loads(out.stdout)
ok = 0
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 20):
    imk = h(16); pan = "".join(rnd.choice("0123456789") for _ in range(16)); psn = f"{rnd.randrange(100):02d}"
    mk = kd.derive_icc_mk_a(imk, pan, psn)
    r = calc("derive-mk", "--imk", imk.hex().upper(), "--pan", pan, "--psn", psn)
    assert r["mk"] == mk.hex().upper(), (r, mk.hex()); ok += 1
    pan19 = pan + "123"
    mkb = kd.derive_icc_mk_b(imk, pan19, psn)
    r = calc("derive-mk", "--imk", imk.hex().upper(), "--pan", pan19, "--psn", psn, "--option", "b")
    assert r["mk"] == mkb.hex().upper(); ok += 1
    atc = h(2); un = h(4)
    sk = kd.derive_common_sk(mk, atc + b"\0" * 6)
    r = calc("session-key", "--mk", mk.hex().upper(), "--method", "common", "--atc", atc.hex().upper())
    assert r["sk"] == sk.hex().upper(); ok += 1
    skm = kd.derive_common_sk(mk, atc + b"\0\0" + un)
    r = calc("session-key", "--mk", mk.hex().upper(), "--method", "mastercard", "--atc", atc.hex().upper(), "--un", un.hex().upper())
    assert r["sk"] == skm.hex().upper(); ok += 1
    data = h(33); iad = bytes.fromhex("06011203") + h(3)
    # Visa CVN18: AC over data + IAD, pad method 2, CSK
    v18 = pcvn.VisaCVN18(iss_mk_ac=imk, iss_mk_smi=h(16), iss_mk_smc=h(16), pan=pan, psn=psn)
    arqc = v18.generate_ac(tag_9f02=data[0:6], tag_9f03=data[6:12], tag_9f1a=data[12:14], tag_95=data[14:19], tag_5f2a=data[19:21], tag_9a=data[21:24], tag_9c=data[24:25], tag_9f37=data[25:29], tag_82=data[29:31], tag_9f36=atc, tag_9f10=iad)
    r = calc("arqc", "--cvn", "visa-18", "--imk", imk.hex().upper(), "--pan", pan, "--psn", psn, "--atc", atc.hex().upper(), "--data", (data[:31] + atc).hex().upper(), "--iad", iad.hex().upper())
    assert r["arqc"] == arqc.hex().upper(), (r, arqc.hex()); ok += 1
    key = h(16); msg = h(rnd.randrange(1, 40))
    from pyemv import mac as pmac
    m = pmac.mac_iso9797_3(key[:8], key[8:], msg, 2)
    r = calc("mac", "--key", key.hex().upper(), "--data", msg.hex().upper(), "--algorithm", "3", "--padding", "2")
    assert r["mac"] == m.hex().upper(); ok += 1
    pin = "".join(rnd.choice("0123456789") for _ in range(rnd.randrange(4, 13)))
    pek = h(16)
    from psec import des as pdes
    clear = psec.pinblock.encode_pinblock_iso_0(pin, pan)
    enc = pdes.encrypt_tdes_ecb(pek, clear)
    r = calc("pin-block", "--format", "0", "--pin", pin, "--pan", pan, "--key", pek.hex().upper())
    assert r["encrypted"] == enc.hex().upper(); ok += 1
    pvk = h(16); pin4 = pin[:4]; pvki = str(rnd.randrange(10))
    pvv = psec.pin.generate_visa_pvv(pvk, pvki, pin4, pan)
    r = calc("pvv", "--pvk", pvk.hex().upper(), "--pan", pan, "--pvki", pvki, "--pin", pin4)
    assert r["pvv"] == pvv, (r, pvv); ok += 1
print(f"interop: {ok} passed, 0 failed (emvbench calc vs pyemv 1.5.0 / psec 1.3.0)")
