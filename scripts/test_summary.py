#!/usr/bin/env python3
"""Counts Boost.Test cases from meson's testlog.json and prints `tests: N passed, M failed`.

Each suite runs with --report_level=short, whose report says "X test cases out of Y passed" (and
"Z test cases out of Y failed"). A suite that crashed or printed no report counts as one failure.
Exit status: 1 when anything failed or nothing ran.
"""
import json
import re
import sys

passed = failed = 0
bad = []
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        entries = [json.loads(line) for line in f if line.strip()]
except OSError as e:
    print(f"no test log: {e}", file=sys.stderr)
    entries = []

if not entries:
    print("no test ran", file=sys.stderr)

for e in entries:
    out = (e.get("stdout") or "") + (e.get("stderr") or "")
    p = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ passed", out))
    f = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ failed", out))
    f += sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ aborted", out))
    ok = e.get("result") == "OK"
    if ok and p == 0 and f == 0:
        p = 1  # a passing suite without a Boost report (e.g. a script test)
    if not ok and f == 0:
        f = 1
    if not ok:
        bad.append(e.get("name", "?"))
    passed += p
    failed += f

if bad:
    print("failed suites: " + ", ".join(bad))
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
