#!/usr/bin/env python3
"""Measures the verdict's error rates on this machine (docs/verdict.md, "Measured figures").

Phases (each can be run alone; `all` runs them in order):
  variants  generate encoder variants with 2.5/4/5/10 % more frames (gen_encoder_variants.py)
  runs      separate `bench-gate run`s, interleaved in cycles: base, p10, base, p5, base, p2.5
            (`--cycles`), so slow drift of the machine hits every variant alike
  compare   offline: every candidate run compared (`bench-gate compare`) with a baseline built
            (`bench-gate baseline update`) from the base runs before it: history of 1 and of 5 runs.
            A/A = a base run as candidate. Counts verdicts per case.
  curve     offline: A/A candidates with samples x1.1 .. x1.5 (detection vs size, cross-run)
  ab        `bench-gate ab` repeated `--ab-repeats` times for A/A and `--ab-variants` (p5 p4)
  loaded    `compare` on a loaded machine: `--cycles` quiet base runs make the history, then
            for each `--neighbours` kind (noisy_neighbour.sh: `pinned` = busy loop on the pinned
            CPU 0 + memory streaming on CPU 1; `cache` = memory streaming on CPU 1 only)
            `--cycles` of (base, `--variants`) runs under it, each compared with the quiet history
Everything lands in --out (default benches/out/); summary.json and a text table at the end.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BASE_MODEL = os.path.join(REPO, "fixtures", "models", "whisper-tiny", "encoder_model.onnx")
VARIANTS = {"p10": ("10", 3300), "p5": ("5", 3150), "p4": ("4", 3120), "p2.5": ("2.5", 3074)}


def config_text(model, frames, budget):
    with open(os.path.join(HERE, "encoder.toml")) as f:
        text = f.read()
    text = text.replace('"../fixtures/models/whisper-tiny/encoder_model.onnx"', json.dumps(model))
    text = text.replace("frames = 3000", f"frames = {frames}")
    return text.replace("time_budget_s = 30", f"time_budget_s = {budget}")


def write_configs(out, budget):
    paths = {}
    for name, model, frames in [("base", BASE_MODEL, 3000)] + [
        (k, os.path.join(HERE, "models", f"encoder-p{v[0]}.onnx"), v[1]) for k, v in VARIANTS.items()
    ]:
        p = os.path.join(out, f"{name}.toml")
        with open(p, "w") as f:
            f.write(config_text(model, frames, budget))
        paths[name] = p
    return paths


def sh(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode not in (0, 1, 3):
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r


def phase_runs(a, cfg):
    runs = os.path.join(a.out, "runs")
    os.makedirs(runs, exist_ok=True)
    log = open(os.path.join(a.out, "runs.log"), "a")
    order = []
    for c in range(a.cycles):
        for v in a.variants:
            order += ["base", v]
    for i, name in enumerate(order):
        dest = os.path.join(runs, f"{i:03d}-{name}.json")
        if os.path.exists(dest):
            continue
        t0 = time.time()
        sh([a.bin, "run", "-c", cfg[name], "-o", dest, "-q"])
        m = json.load(open(dest))["models"][0]
        print(f"{i:03d} {name:5s} median {m['latency_ms']['median']:.1f} ms n={m['iterations']} "
              f"cv={m['latency_ms']['cv']:.3f} wall={time.time() - t0:.1f}s", file=log, flush=True)


def verdict_of(a, cfg, baseline_runs, candidate, work):
    bdir = os.path.join(work, "baselines")
    shutil.rmtree(bdir, ignore_errors=True)
    os.makedirs(bdir)
    for r in baseline_runs:
        sh([a.bin, "baseline", "update", "--result", r, "--baselines", bdir, "--force"])
    vpath = os.path.join(work, "verdict.json")
    sh([a.bin, "compare", "-c", cfg["base"], "--result", candidate, "--baselines", bdir,
        "-o", vpath, "--format", "json"])
    return json.load(open(vpath))


def phase_compare(a, cfg):
    runs = sorted(os.listdir(os.path.join(a.out, "runs")))
    runs = [os.path.join(a.out, "runs", r) for r in runs]
    work = os.path.join(a.out, "cmp")
    os.makedirs(work, exist_ok=True)
    rows = []
    for hist in a.histories:
        for i, cand in enumerate(runs):
            name = os.path.basename(cand)[4:-5]
            prior = [r for r in runs[:i] if r.endswith("-base.json")]
            if len(prior) < hist:
                continue
            # A/A: the candidate must be a separate run from every baseline run (it is: later index).
            v = verdict_of(a, cfg, prior[-hist:], cand, work)
            m = v["models"][0]
            rows.append({"history": hist, "case": "A/A" if name == "base" else name,
                         "run": os.path.basename(cand), "verdict": m["verdict"],
                         "change_pct": m.get("change_pct"), "noise_pct": m.get("noise_pct")})
    json.dump(rows, open(os.path.join(a.out, "compare.json"), "w"), indent=1)
    return rows


def phase_curve(a, cfg):
    """Detection vs size: real A/A candidates with every sample multiplied by a known factor.
    Not a real slowdown (the noise of the run is kept, not re-measured), but it shows where the
    cross-run gate's sensitivity ends on this machine's run-to-run noise."""
    runs = sorted(os.listdir(os.path.join(a.out, "runs")))
    runs = [os.path.join(a.out, "runs", r) for r in runs]
    work = os.path.join(a.out, "curve")
    os.makedirs(work, exist_ok=True)
    rows = []
    for hist in a.histories:
        for i, cand in enumerate(runs):
            prior = [r for r in runs[:i] if r.endswith("-base.json")]
            if not cand.endswith("-base.json") or len(prior) < hist:
                continue
            for factor in a.factors:
                doctored = os.path.join(work, "cand.json")
                r = json.load(open(cand))
                for m in r["models"]:
                    m["samples_ms"] = [x * factor for x in m["samples_ms"]]
                json.dump(r, open(doctored, "w"))
                v = verdict_of(a, cfg, prior[-hist:], doctored, work)["models"][0]
                rows.append({"history": hist, "case": f"x{factor}", "verdict": v["verdict"],
                             "change_pct": v.get("change_pct")})
    json.dump(rows, open(os.path.join(a.out, "curve.json"), "w"), indent=1)


def phase_ab(a, cfg):
    rows = []
    log = open(os.path.join(a.out, "ab.log"), "a")
    for rep in range(a.ab_repeats):
        for case in ["A/A"] + a.ab_variants:
            b = cfg["base"] if case == "A/A" else cfg[case]
            vpath = os.path.join(a.out, "ab", f"{rep:02d}-{case.replace('/', '')}.json")
            os.makedirs(os.path.dirname(vpath), exist_ok=True)
            t0 = time.time()
            if not os.path.exists(vpath):
                sh([a.bin, "ab", "-c", cfg["base"], "--model", "encoder", "--a-config", cfg["base"],
                    "--b-config", b, "--rounds", str(a.rounds), "--iterations-per-round",
                    str(a.per_round), "--seed", str(1000 + rep), "-o", vpath, "--format", "json"])
            m = json.load(open(vpath))["models"][0]
            rows.append({"case": case, "rep": rep, "verdict": m["verdict"],
                         "change_pct": m.get("change_pct"), "ci_pct": m.get("ci_pct"),
                         "wall_time_s": m.get("wall_time_s")})
            print(rep, case, m["verdict"], m.get("change_pct"), f"{time.time() - t0:.0f}s",
                  file=log, flush=True)
    json.dump(rows, open(os.path.join(a.out, "ab.json"), "w"), indent=1)
    return rows


def phase_loaded(a, cfg):
    d = os.path.join(a.out, "loaded")
    os.makedirs(d, exist_ok=True)
    log = open(os.path.join(a.out, "loaded.log"), "a")

    def run(name, dest):
        if not os.path.exists(dest):
            t0 = time.time()
            sh([a.bin, "run", "-c", cfg[name], "-o", dest, "-q"])
            m = json.load(open(dest))["models"][0]
            print(f"{os.path.basename(dest)} median {m['latency_ms']['median']:.1f} ms "
                  f"n={m['iterations']} wall={time.time() - t0:.1f}s", file=log, flush=True)
        return dest

    history = [run("base", os.path.join(d, f"quiet-{c:02d}-base.json")) for c in range(a.cycles)]
    rows = []
    for kind in a.neighbours:
        runs = []
        nb = subprocess.Popen(["bash", os.path.join(HERE, "noisy_neighbour.sh"), kind],
                              start_new_session=True)
        try:
            time.sleep(2)
            for c in range(a.cycles):
                for name in ["base"] + a.variants:
                    runs.append((name, run(name, os.path.join(d, f"{kind}-{c:02d}-{name}.json"))))
        finally:
            os.killpg(nb.pid, 15)
            nb.wait()
        for name, cand in runs:
            v = verdict_of(a, cfg, history[-5:], cand, os.path.join(d, "cmp"))["models"][0]
            rows.append({"neighbour": kind, "case": "A/A" if name == "base" else name,
                         "run": os.path.basename(cand), "verdict": v["verdict"],
                         "change_pct": v.get("change_pct"), "reasons": v.get("reasons")})
    json.dump(rows, open(os.path.join(a.out, "loaded.json"), "w"), indent=1)
    return rows


def summarize(a):
    out = {}
    lines = []
    for fname, key in [("compare.json", ("history", "case")), ("curve.json", ("history", "case")),
                       ("ab.json", ("case",)), ("loaded.json", ("neighbour", "case"))]:
        p = os.path.join(a.out, fname)
        if not os.path.exists(p):
            continue
        rows = json.load(open(p))
        groups = defaultdict(list)
        for r in rows:
            groups[tuple(r[k] for k in key)].append(r)
        for g, rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
            c = Counter(r["verdict"] for r in rs)
            changes = sorted(r["change_pct"] for r in rs if r.get("change_pct") is not None)
            med = changes[len(changes) // 2] if changes else None
            label = f"{fname[:-5]} {'/'.join(str(x) for x in g)}"
            out[label] = {"n": len(rs), "verdicts": dict(c), "median_change_pct": med}
            lines.append(f"{label:28s} n={len(rs):3d} regressed={c['regressed']:3d} "
                         f"inconclusive={c['inconclusive']:3d} pass={c['pass']:3d} "
                         f"improved={c['improved']:3d} median change={med if med is None else round(med, 2)}%")
    json.dump(out, open(os.path.join(a.out, "summary.json"), "w"), indent=1)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=["variants", "runs", "compare", "curve", "ab", "loaded", "summary",
                                      "all"])
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "bench-gate"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--cycles", type=int, default=20, help="cycles of (base, variant) runs")
    ap.add_argument("--variants", nargs="*", default=["p10", "p5"], choices=list(VARIANTS))
    ap.add_argument("--budget", type=float, default=15, help="time_budget_s of each run (auto iterations)")
    ap.add_argument("--histories", type=int, nargs="*", default=[1, 5])
    ap.add_argument("--factors", type=float, nargs="*", default=[1.1, 1.2, 1.3, 1.5])
    ap.add_argument("--ab-repeats", type=int, default=20)
    ap.add_argument("--ab-variants", nargs="*", default=["p5", "p4"], choices=list(VARIANTS))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--neighbours", nargs="*", default=["pinned", "cache"], choices=["pinned", "cache"])
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.phase in ("variants", "all"):
        sh([a.python, os.path.join(HERE, "gen_encoder_variants.py"), os.path.join(HERE, "models"),
            *[VARIANTS[v][0] for v in VARIANTS]])
    cfg = write_configs(a.out, a.budget)
    if a.phase in ("runs", "all"):
        phase_runs(a, cfg)
    if a.phase in ("compare", "all"):
        phase_compare(a, cfg)
    if a.phase in ("curve", "all"):
        phase_curve(a, cfg)
    if a.phase in ("ab", "all"):
        phase_ab(a, cfg)
    if a.phase == "loaded":
        phase_loaded(a, cfg)
    summarize(a)


if __name__ == "__main__":
    main()
