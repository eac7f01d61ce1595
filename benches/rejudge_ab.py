#!/usr/bin/env python3
"""Re-judges saved `bench-gate ab` verdicts at other thresholds (docs/verdict.md).

Every ab verdict stores its per-round changes (`rounds`), so the rule of src/compare/verdict.rs
(`estimate_ab` + `decide`: mean log-ratio, t(R-1) 99% interval, beyond the threshold and the
noise) can be re-applied offline. Checked against the real verdicts at the threshold they were
run with (the first two lines printed must agree). The 1 ms absolute floor is not applied:
at ~320 ms every change beyond 1% clears it.

Usage: rejudge_ab.py OUT_DIR [THRESHOLD_PCT ...]   (OUT_DIR as given to bench_verdict.py --out)
"""
import glob
import json
import math
import os
import statistics
import sys
from collections import Counter, defaultdict

# Student t 0.995 quantiles, df 1..30 (the table of src/compare/verdict.rs).
T995 = [63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055,
        3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
        2.787, 2.779, 2.771, 2.763, 2.756, 2.750]


def verdict(changes_pct, threshold_pct):
    r = [math.log(1 + c / 100) for c in changes_pct]
    n = len(r)
    mean = sum(r) / n
    margin = T995[n - 2] * statistics.stdev(r) / math.sqrt(n)
    t = math.log(1 + threshold_pct / 100)
    if mean > t:
        return "regressed" if mean - margin > 0 else "inconclusive"
    if mean < -t and mean + margin < 0:
        return "improved"
    return "pass"


def main():
    out = sys.argv[1]
    thresholds = [float(x) for x in sys.argv[2:]] or [5, 4, 3]
    cases = defaultdict(list)
    for f in sorted(glob.glob(os.path.join(out, "ab", "*.json"))):
        case = os.path.basename(f)[:-5].split("-", 1)[1]
        m = json.load(open(f))["models"][0]
        cases[case].append(([x["change_pct"] for x in m["rounds"]], m["verdict"], m["threshold_pct"]))
    recorded = {c: dict(Counter(v for _, v, _ in rows)) for c, rows in cases.items()}
    print("recorded verdicts:", recorded)
    for thr in thresholds:
        got = {c: dict(Counter(verdict(r, thr) for r, _, _ in rows)) for c, rows in cases.items()}
        print(f"threshold {thr:g}%:", got)


if __name__ == "__main__":
    main()
