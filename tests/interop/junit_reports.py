#!/usr/bin/env python3
"""`emvbench scenario run --junit` and `emvbench trace replay --junit` read by junitparser
(PyPI), an independent JUnit XML reader: the counts, one case per step / exchange, and the
expected and actual values of a failure in its message.

Usage: EMVBENCH=target/debug/emvbench python3 tests/interop/junit_reports.py
"""

import os
import pathlib
import subprocess
import sys
import tempfile

from junitparser import Failure, JUnitXml, Skipped

ROOT = pathlib.Path(__file__).resolve().parents[2]
EMVBENCH = os.environ.get("EMVBENCH", str(ROOT / "target" / "debug" / "emvbench"))
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        sys.exit(f"FAIL: {what}")


def emvbench(*args, expect):
    p = subprocess.run([EMVBENCH, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    check(p.returncode == expect, f"{args}: exit {p.returncode}, expected {expect}\n{p.stdout}{p.stderr}")
    return p


def cases(xml):
    return [c for suite in xml for c in suite]


def outcome(case):
    kinds = {type(r) for r in case.result}
    return "failed" if Failure in kinds else "skipped" if Skipped in kinds else "passed"


with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)

    # every scenario passes: one suite per file, one case per step
    scenarios = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.toml"))
    emvbench("scenario", "run", *scenarios, "--junit", str(tmp / "s.xml"), expect=0)
    xml = JUnitXml.fromfile(str(tmp / "s.xml"))
    check(len(list(xml)) == len(scenarios), "one suite per scenario")
    steps = sum(open(ROOT / s).read().count("[[step]]") for s in scenarios)
    check(len(cases(xml)) == steps, f"one case per step ({steps})")
    check(all(outcome(c) == "passed" for c in cases(xml)), "all steps passed")

    # a scenario with a wrong expectation: that step fails, naming field, expected, actual
    src = (ROOT / scenarios[0]).read_text()
    marker = 'outcome = "'
    check(marker in src, f"{scenarios[0]} has an outcome expectation")
    start = src.index(marker) + len(marker)
    end = src.index('"', start)
    wrong = src[:start] + "aborted" + src[end:]
    bad = tmp / "wrong-expectation.toml"
    bad.write_text(wrong)
    emvbench("scenario", "run", str(bad), "--junit", str(tmp / "bad.xml"), expect=1)
    failed = [c for c in cases(JUnitXml.fromfile(str(tmp / "bad.xml"))) if outcome(c) == "failed"]
    check(len(failed) == 1, f"exactly one failed step, got {len(failed)}")
    msg = failed[0].result[0].message
    check('outcome expected "aborted", got "' + src[start:end] + '"' in msg, f"failure message: {msg}")

    # traces: one case per power-on and exchange, all passed
    traces = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "apdu-traces").glob("*.trace"))
    emvbench("trace", "replay", *traces, "--junit", str(tmp / "t.xml"), expect=0)
    xml = JUnitXml.fromfile(str(tmp / "t.xml"))
    lines = [open(ROOT / t).read().splitlines() for t in traces]
    expected = sum(sum(1 for l in ls if l.startswith(">>") or l.startswith("@power-on")) for ls in lines)
    check(len(cases(xml)) == expected, f"one case per exchange and power-on: {len(cases(xml))} vs {expected}")
    check(all(outcome(c) == "passed" for c in cases(xml)), "all exchanges passed")

    # a trace with one answer changed: passed up to it, that one failed, the rest skipped
    t = (ROOT / traces[0]).read_text().splitlines()
    idx = next(i for i, l in enumerate(t) if l.startswith("<<") and len(l.split()[1]) > 8)
    resp = t[idx].split()[1]
    flipped = resp[:4] + ("0" if resp[4] != "0" else "1") + resp[5:]
    # the case is named by its command line (the `>>` just above the answer)
    t[idx] = t[idx].replace(resp, flipped, 1)
    (tmp / "changed.trace").write_text("\n".join(t) + "\n")
    emvbench("trace", "replay", str(tmp / "changed.trace"), "--junit", str(tmp / "c.xml"), expect=1)
    cs = cases(JUnitXml.fromfile(str(tmp / "c.xml")))
    kinds = [outcome(c) for c in cs]
    check(kinds.count("failed") == 1, f"one failed exchange: {kinds}")
    first_fail = kinds.index("failed")
    check(all(k == "passed" for k in kinds[:first_fail]), "passed before the difference")
    check(all(k == "skipped" for k in kinds[first_fail + 1:]) and first_fail + 1 < len(kinds),
          "skipped after the difference")
    msg = cs[first_fail].result[0].message
    check(flipped in msg and resp in msg, f"both answers in the message: {msg}")
    check(f"line {idx}:" in cs[first_fail].name, f"the case names its line: {cs[first_fail].name}")

print(f"junit_reports: {checks} checks passed")
