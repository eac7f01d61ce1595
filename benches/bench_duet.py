#!/usr/bin/env python3
"""The duet's error rates and speed on this machine (docs/verdict.md, "The duet, measured").

Each case is `bench-gate ab` of the tiny Whisper encoder (benches/encoder.toml) against a variant,
repeated; every verdict JSON is kept in --out with its units, so the figures can be re-judged at
other thresholds without measuring again (--rejudge).

Variants (made by benches/gen_encoder_variants.py and benches/gen_structural_variants.py):
  aa        the same model file on both sides (A/A: any `regressed` is a false alarm)
  p3, p5, p20  3% / 5% / 20% more input frames (a longer input: proportionally more real work)
  ffn1728   feed-forward layers 12.5% wider (a structurally different model)
  ffn1792   feed-forward layers 16.7% wider
  layers5   one more encoder layer
The true slowdown of each variant is estimated from all its units pooled (median of the unit
ratios), not assumed.

With --neighbour pinned|cache, benches/noisy_neighbour.sh runs for the whole measurement (a busy
loop on the pinned CPU 0 and memory streaming on CPU 1, or only the streaming), and the verdicts
go to benches/out-duet-<neighbour> unless --out says otherwise.

Usage: python3 benches/bench_duet.py --bin target/release/bench-gate [--cases aa:20,p5:20]
       [--threshold 2] [--budget 60] [--pairs 2] [--neighbour pinned|cache]
       [--out benches/out-duet] [--summary-only]
"""
import argparse
import glob
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BASE = os.path.join(REPO, "fixtures", "models", "whisper-tiny", "encoder_model.onnx")


def frames(case):
    """Mel frames of a longer-input variant `pX` (gen_encoder_variants.py: 1500 * (1 + X/100)
    positions after the stride-2 conv, fed twice as many frames); None for other cases."""
    if not case.startswith("p"):
        return None
    try:
        return 2 * round(1500 * (1 + float(case[1:]) / 100))
    except ValueError:
        return None


def config(out, name, model, frames, threshold, budget):
    with open(os.path.join(HERE, "encoder.toml")) as f:
        text = f.read()
    text = text.replace('"../fixtures/models/whisper-tiny/encoder_model.onnx"', json.dumps(model))
    text = text.replace("frames = 3000", f"frames = {frames}")
    text = text.replace("max_regression_pct = 5.0", f"max_regression_pct = {threshold}")
    text = text.replace('on_inconclusive = "warn"', f'on_inconclusive = "warn"\nab_time_budget_s = {budget}')
    path = os.path.join(out, f"{name}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def variant_config(out, case, threshold, budget):
    if case == "aa":
        return config(out, "aa", BASE, 3000, threshold, budget)
    if frames(case):
        model = os.path.join(HERE, "models", f"encoder-{case}.onnx")
        return config(out, case, model, frames(case), threshold, budget)
    model = os.path.join(HERE, "models", f"encoder-{case}.onnx")
    return config(out, case, model, 3000, threshold, budget)


def measure(a, cases):
    base = config(a.out, "base", BASE, 3000, a.threshold, a.budget)
    # Interleave the cases so slow drift of the machine hits each alike.
    plan = []
    for i in range(max(n for _, n in cases)):
        plan += [(c, i) for c, n in cases if i < n]
    for case, i in plan:
        dest = os.path.join(a.out, f"{case}-{i:03d}.json")
        if os.path.exists(dest):
            continue
        b = variant_config(a.out, case, a.threshold, a.budget)
        t0 = time.time()
        r = subprocess.run([a.bin, "ab", "-c", base, "--model", "encoder", "--a-config", base,
                            "--b-config", b, "--worker-pairs", str(a.pairs), "--format", "json", "-q",
                            "-o", dest],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1, 3):
            sys.exit(f"ab failed ({r.returncode}) for {case}:\n{r.stderr}")
        v = json.load(open(dest))["models"][0]
        duet = v.get("duet") or {}
        ci = v.get("ci_pct") or {"low": float("nan"), "high": float("nan")}
        print(f"{case:8s} #{i:02d} {v['verdict']:12s} {v.get('change_pct') or float('nan'):+6.1f}% "
              f"[{ci['low']:+.1f}, {ci['high']:+.1f}] units={len(v['rounds'])} "
              f"mde={v.get('mde_pct') or float('nan'):.1f}% measuring={duet.get('measuring_s', float('nan')):.0f}s "
              f"start-up={duet.get('startup_s', float('nan')):.0f}s wall={time.time() - t0:.0f}s "
              f"{wait_line(duet)}", flush=True)


def wait_line(duet):
    """The run-delay adjustment of a duet, one line: how, and the median waits of A and B."""
    w = duet.get("wait") or {}
    return (f"adjust={w.get('adjustment', '-')} wait A/B={w.get('a_wait_pct') or float('nan'):.1f}/"
            f"{w.get('b_wait_pct') or float('nan'):.1f}%")


def unit_sds(vs):
    """Median over duets of the units' robust sd (1.4826 MAD of log ratios), percent: as
    measured, and as judged (adjusted where the duet adjusted)."""
    def mad_sd(x):
        m = statistics.median(x)
        return 1.4826 * statistics.median(abs(v - m) for v in x)
    raw, judged = [], []
    for v in vs:
        rs = v["rounds"]
        if len(rs) < 3:
            continue
        raw.append(mad_sd([math.log(1 + r["change_pct"] / 100) for r in rs]))
        judged.append(mad_sd([math.log(1 + r.get("adjusted_change_pct", r["change_pct"]) / 100) for r in rs]))
    if not raw:
        return None
    return {"raw_pct": statistics.median(raw) * 100, "judged_pct": statistics.median(judged) * 100,
            "duets": len(raw)}


def covariates_r2(vs):
    """How much of the units' spread the environment explains: the pooled within-duet R^2 of
    each unit's log ratio on B's block minus A's block of run delay, steal and neighbours' CPU
    (the verdict's `rounds[].env_diff`). Ordinary least squares on values centred per duet, with
    only the covariates that vary; per covariate, and all together."""
    names = ["run_delay_ratio", "steal_ratio", "others_busy_cpus"]
    ys, xs = [], []
    for v in vs:
        rows = [(math.log(1 + r["change_pct"] / 100), [(r.get("env_diff") or {}).get(k) for k in names])
                for r in v["rounds"]]
        rows = [(y, [0.0 if x is None else x for x in xr]) for y, xr in rows]
        if len(rows) < 3:
            continue
        my = statistics.fmean(y for y, _ in rows)
        mx = [statistics.fmean(xr[j] for _, xr in rows) for j in range(len(names))]
        for y, xr in rows:
            ys.append(y - my)
            xs.append([xr[j] - mx[j] for j in range(len(names))])
    if len(ys) < 10:
        return None
    sst = sum(y * y for y in ys)

    def r2(cols):
        cols = [j for j in cols if sum(x[j] * x[j] for x in xs) > 1e-18]
        if not cols or sst == 0:
            return 0.0
        k = len(cols)
        a = [[sum(x[i] * x[j] for x in xs) for j in cols] + [sum(x[i] * y for x, y in zip(xs, ys))]
             for i in cols]
        for c in range(k):  # Gauss-Jordan
            p = max(range(c, k), key=lambda r: abs(a[r][c]))
            a[c], a[p] = a[p], a[c]
            if abs(a[c][c]) < 1e-18:
                return 0.0
            for r in range(k):
                if r != c:
                    f = a[r][c] / a[c][c]
                    a[r] = [u - f * w for u, w in zip(a[r], a[c])]
        beta = [a[i][k] / a[i][i] for i in range(k)]
        ssr = sum((y - sum(b * x[j] for b, j in zip(beta, cols))) ** 2 for x, y in zip(xs, ys))
        return 1 - ssr / sst

    out = {name: r2([j]) for j, name in enumerate(names)}
    out["all"] = r2(list(range(len(names))))
    out["units"] = len(ys)
    return out


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def summary(a):
    rows = {}
    for path in sorted(glob.glob(os.path.join(a.out, "*-[0-9][0-9][0-9].json"))):
        case = os.path.basename(path).rsplit("-", 1)[0]
        rows.setdefault(case, []).append(json.load(open(path))["models"][0])
    out = {}
    print(f"\nthreshold {a.threshold}%, budget {a.budget} s")
    print(f"{'case':9s} {'n':>3s} {'true':>7s} {'regressed':>10s} {'95% CI':>14s} {'pass':>5s} "
          f"{'incon.':>6s} {'median s':>8s} {'median MDE':>10s}")
    for case, vs in rows.items():
        units = [math.log(1 + r["change_pct"] / 100) for v in vs for r in v["rounds"]]
        true = (math.exp(statistics.median(units)) - 1) * 100 if units else float("nan")
        k = sum(v["verdict"] == "regressed" for v in vs)
        lo, hi = wilson(k, len(vs))
        secs = statistics.median(v["wall_time_s"] for v in vs)
        measuring = [v["duet"]["measuring_s"] for v in vs if v.get("duet")]
        startup = [v["duet"]["startup_s"] for v in vs if v.get("duet")]
        to_regressed = [v["duet"]["measuring_s"] for v in vs
                        if v.get("duet") and v["verdict"] == "regressed"]
        mdes = [v["mde_pct"] for v in vs if v.get("mde_pct") is not None]
        mde = statistics.median(mdes) if mdes else float("nan")
        passed = sum(v["verdict"] == "pass" for v in vs)
        incon = sum(v["verdict"] == "inconclusive" for v in vs)
        print(f"{case:9s} {len(vs):3d} {true:+6.1f}% {k:4d}/{len(vs):<5d} [{lo:.2f}, {hi:.2f}] "
              f"{passed:5d} {incon:6d} {secs:8.1f} {mde:9.1f}%")
        med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
        print(f"          measuring: median {med(measuring):.1f} s (to `regressed`: {med(to_regressed):.1f} s), "
              f"start-up off the clock: median {med(startup):.1f} s")
        adj = {}
        for v in vs:
            k_ = ((v.get("duet") or {}).get("wait") or {}).get("adjustment", "none")
            adj[k_] = adj.get(k_, 0) + 1
        sds = unit_sds(vs)
        print(f"          adjustment: {adj}; unit sd (median over duets) {sds}")
        out[case] = dict(n=len(vs), true_pct=true, adjustment=adj, unit_sd=sds, regressed=k, regressed_ci95=[lo, hi],
                         passed=passed, inconclusive=incon, median_wall_s=secs, median_mde_pct=mde,
                         median_measuring_s=med(measuring), median_measuring_to_regressed_s=med(to_regressed),
                         median_startup_s=med(startup))
    if "aa" in rows:
        out["aa_checks"] = aa_checks(rows["aa"])
    every = [v for vs in rows.values() for v in vs]
    out["covariates_r2"] = covariates_r2(every)
    print(f"R^2 of the units' log ratios on the environment (B block minus A block, centred per duet): "
          f"{out['covariates_r2']}")
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(out, f, indent=2)


def z_two_sided(level):
    """The normal quantile of a two-sided interval of `level` (0..1), by bisection on erf."""
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < level:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def aa_checks(vs):
    """Interval honesty and the warm-up-order effect, from the A/A verdicts.

    Honesty: each printed interval, at its look's level, implies an sd of the estimate
    (half-width / z); the sd of the estimates across repeats should not exceed it. Coverage: the
    printed intervals that exclude zero (all A/A intervals should contain it at their level).
    Warm-up order: pair 1 warms A first, pair 2 B first; the median unit change of each pair over
    all A/A verdicts, and their difference with a bootstrap 95% interval."""
    import random
    import re
    est, implied, excl = [], [], 0
    for v in vs:
        ci = v.get("ci_pct")
        if v.get("change_pct") is None or not ci:
            continue
        m = next((re.search(r"\(([0-9.]+)% interval, look", r) for r in v["reasons"]
                  if "% interval, look" in r), None)
        if not m:
            continue
        z = z_two_sided(float(m.group(1)) / 100)
        est.append(v["change_pct"])
        implied.append((ci["high"] - ci["low"]) / 2 / z)
        excl += ci["low"] > 0 or ci["high"] < 0
    by_pair = {}
    for v in vs:
        for r in v["rounds"]:
            by_pair.setdefault(r["pair"], []).append(math.log(1 + r["change_pct"] / 100))
    out = {"verdicts": len(est), "sd_of_estimates_pct": statistics.stdev(est) if len(est) > 1 else None,
           "median_implied_sd_pct": statistics.median(implied) if implied else None,
           "intervals_excluding_zero": excl}
    if 1 in by_pair and 2 in by_pair:
        p1, p2 = by_pair[1], by_pair[2]
        diff = statistics.median(p2) - statistics.median(p1)
        rng = random.Random(1)
        boots = sorted(statistics.median(rng.choices(p2, k=len(p2)))
                       - statistics.median(rng.choices(p1, k=len(p1))) for _ in range(2000))
        pct = lambda x: (math.exp(x) - 1) * 100
        out["warmup_order"] = {"pair1_A_first_median_pct": pct(statistics.median(p1)),
                               "pair2_B_first_median_pct": pct(statistics.median(p2)),
                               "difference_pct": pct(diff),
                               "difference_ci95_pct": [pct(boots[50]), pct(boots[1949])],
                               "units": [len(p1), len(p2)]}
    # The random part of the pair effect: per duet, the difference of its two pairs' centres is
    # the warm-up-order effect (the same in every duet) plus the pairs' random process offsets
    # plus unit noise; its spread across duets, less the unit-noise part, is 2 tau^2 (tau: the
    # sd of one pair's random offset, what sequential::with_pair_effect estimates within a duet).
    diffs, noise = [], []
    for v in vs:
        g = {}
        for r in v["rounds"]:
            g.setdefault(r["pair"], []).append(math.log(1 + r["change_pct"] / 100))
        if len(g.get(1, [])) >= 2 and len(g.get(2, [])) >= 2:
            hl = lambda x: statistics.median([(x[i] + x[j]) / 2 for i in range(len(x)) for j in range(i, len(x))])
            diffs.append(hl(g[2]) - hl(g[1]))
            sw2 = (statistics.variance(g[1]) * (len(g[1]) - 1) + statistics.variance(g[2]) * (len(g[2]) - 1)) / (len(g[1]) + len(g[2]) - 2)
            noise.append(1.047 * sw2 * (1 / len(g[1]) + 1 / len(g[2])))
    if len(diffs) >= 3:
        tau2 = (statistics.variance(diffs) - statistics.mean(noise)) / 2
        out["pair_difference"] = {"duets": len(diffs), "mean_pct": statistics.mean(diffs) * 100,
                                  "sd_pct": statistics.stdev(diffs) * 100,
                                  "unit_noise_sd_pct": math.sqrt(statistics.mean(noise)) * 100,
                                  "random_pair_sd_pct": math.sqrt(max(tau2, 0.0)) * 100}
    print("A/A checks:", json.dumps(out, indent=1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "bench-gate"))
    ap.add_argument("--cases", default="aa:20,p5:20,ffn1728:10,p20:10")
    ap.add_argument("--threshold", type=float, default=2.0)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--pairs", type=int, default=6, help="--worker-pairs of every duet")
    ap.add_argument("--neighbour", choices=["pinned", "cache", "bursty"],
                    help="run benches/noisy_neighbour.sh with this argument while measuring")
    ap.add_argument("--out")
    ap.add_argument("--summary-only", action="store_true")
    a = ap.parse_args()
    a.out = a.out or os.path.join(HERE, "out-duet" + (f"-{a.neighbour}" if a.neighbour else ""))
    os.makedirs(a.out, exist_ok=True)
    cases = [(c.split(":")[0], int(c.split(":")[1])) for c in a.cases.split(",")]
    if not a.summary_only:
        neighbour = None
        if a.neighbour:
            neighbour = subprocess.Popen(["bash", os.path.join(HERE, "noisy_neighbour.sh"), a.neighbour],
                                         start_new_session=True)
            time.sleep(2)
        try:
            measure(a, cases)
        finally:
            if neighbour:
                os.killpg(neighbour.pid, signal.SIGTERM)
                neighbour.wait()
    summary(a)


if __name__ == "__main__":
    main()
