"""Peer implementations of the operations in `emvbench bench`'s `crypto` group, timed on this
machine, one thread. `emvbench bench --peers` runs this file with `--peers-python` (it is
compiled into the binary) and reads the one JSON object it prints on stdout.

The peers: pyemv 1.5.0 and psec 1.3.0 (the EMV/PIN libraries .ci/run cross-checks our
results against), both Python over the `cryptography` package (OpenSSL 3), and
`cryptography` itself for RSA. Each operation takes the same kind of inputs as ours (a
double-length TDES key, a 16-digit PAN, a 4-digit PIN, 33 + 7 bytes of AC data, a 1024-bit
RSA key); tests/interop/calc_vs_pyemv.py checks the results agree.

Standalone: pip install pyemv==1.5.0 psec==1.3.0 && python3 peers.py [SECONDS_PER_OP]
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")
budget_ns = float(sys.argv[1] if len(sys.argv) > 1 else "0.4") * 1e9

try:
    import cryptography
    import psec
    import pyemv
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from psec import des, pin, pinblock
    from pyemv import ac, kd
except ImportError as exc:
    print(json.dumps({"error": f"{exc} (pip install pyemv==1.5.0 psec==1.3.0)"}))
    sys.exit(0)


def timed(op):
    """Mean nanoseconds per call: the loop count is doubled until a loop takes a fifth of
    the budget, then the best of five such loops is kept (as `emvbench bench`, which is a
    plain loop too)."""
    op()
    n = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(n):
            op()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= budget_ns / 5 or n >= 1 << 24:
            break
        n *= 2
    best = elapsed / n
    for _ in range(4):
        start = time.perf_counter_ns()
        for _ in range(n):
            op()
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PAN = "4761739001010119"
PSN = "01"
MK = kd.derive_icc_mk_a(IMK, PAN, PSN)
ATC = bytes.fromhex("0001")
# CDOL1 data (33 bytes) + IAD (7 bytes), as in a CVN 18 ARQC
AC_DATA = bytes(range(33)) + bytes.fromhex("06011203A00000")
PVK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
BLOCK = bytes.fromhex("0412AC89ABCDEF67")
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
DIGEST = bytes(20)


def arqc():
    sk = kd.derive_common_sk(MK, ATC + bytes(6))
    return ac.generate_ac(sk, AC_DATA, ac.PaddingType.EMV)


peers = {
    "icc-mk-derivation": ("pyemv kd.derive_icc_mk_a", lambda: kd.derive_icc_mk_a(IMK, PAN, PSN)),
    "arqc-cvn18": ("pyemv kd.derive_common_sk + ac.generate_ac", arqc),
    "pin-block-iso0-tdes": (
        "psec encode_pinblock_iso_0 + encrypt_tdes_ecb",
        lambda: des.encrypt_tdes_ecb(PVK, pinblock.encode_pinblock_iso_0("4821", PAN)),
    ),
    "visa-pvv": ("psec pin.generate_visa_pvv", lambda: pin.generate_visa_pvv(PVK, "1", "4821", PAN)),
    "tdes-block": ("psec des.encrypt_tdes_ecb (8 bytes)", lambda: des.encrypt_tdes_ecb(PVK, BLOCK)),
    "rsa1024-private": (
        "cryptography RSA-1024 sign, PKCS#1 v1.5 (OpenSSL CRT, blinded)",
        lambda: RSA_KEY.sign(DIGEST, padding.PKCS1v15(), Prehashed(hashes.SHA1())),
    ),
}

print(
    json.dumps(
        {
            "python": sys.version.split()[0],
            "versions": {
                "pyemv": getattr(pyemv, "__version__", "?"),
                "psec": getattr(psec, "__version__", "?"),
                "cryptography": cryptography.__version__,
            },
            "peers": {op: {"peer": name, "ns": timed(f)} for op, (name, f) in peers.items()},
        }
    )
)
