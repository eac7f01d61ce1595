#!/usr/bin/env python3
"""Measures what docs/explain.md reports about the profiled pass and peak memory.

Runs `bench-gate run` on benchmark.toml (whisper-tiny, silero-vad) `--pairs` times, each pair a
profiled run and a `--no-profile` run in alternating order, all pinned to the same CPU, and
prints per model:

  * profiled pass / median of the timed iterations, per profiled run (the same process, right
    after its timed iterations: the profiler's overhead plus one sample of noise);
  * kernel time of the pass / its wall time (what the profiler saw of the iteration);
  * whole-process wall time, profiled runs / unprofiled runs (median over pairs);
  * peak RSS per model over all runs: median, min..max, and the spread of ln(peak) (one sd, %):
    the run-to-run memory noise the memory gate's prior stands for.

Usage: python3 benches/bench_explain.py [--bin target/release/bench-gate] [--pairs 6]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run(binary, config, out, iterations, profile):
    cmd = [binary, "run", "-c", config, "-q", "-o", out, "--iterations", str(iterations)]
    if not profile:
        cmd.append("--no-profile")
    t = time.monotonic()
    subprocess.run(cmd, check=True, cwd=REPO)
    wall = time.monotonic() - t
    with open(out) as f:
        return json.load(f), wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "bench-gate"))
    ap.add_argument("--config", default=os.path.join(REPO, "benchmark.toml"))
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--iterations", type=int, default=10)
    args = ap.parse_args()
    pass_ratio, kernel_share, walls, peaks = {}, {}, {True: [], False: []}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            order = [True, False] if i % 2 == 0 else [False, True]
            for profile in order:
                out = os.path.join(tmp, f"r{i}-{profile}.json")
                r, wall = run(args.bin, args.config, out, args.iterations, profile)
                walls[profile].append(wall)
                for m in r["models"]:
                    peaks.setdefault(m["name"], []).append(m["memory_mb"])
                    o = m.get("operators")
                    if profile and o:
                        pass_ratio.setdefault(m["name"], []).append(
                            o["wall_ms"] / m["latency_ms"]["median"]
                        )
                        kernel_share.setdefault(m["name"], []).append(o["total_ms"] / o["wall_ms"])
    print(f"{args.pairs} pairs of runs, {args.iterations} iterations each")
    for name in sorted(peaks):
        pr = pass_ratio.get(name, [])
        ks = kernel_share.get(name, [])
        p = peaks[name]
        logs = [math.log(x) for x in p]
        sd = statistics.stdev(logs) * 100 if len(logs) > 1 else 0.0
        print(f"{name}:")
        if pr:
            print(
                f"  profiled pass / timed median: median {statistics.median(pr):.3f} "
                f"(min {min(pr):.3f}, max {max(pr):.3f}, n={len(pr)})"
            )
            print(f"  kernel time / profiled pass wall: median {statistics.median(ks):.3f}")
        print(
            f"  peak RSS: median {statistics.median(p):.1f} MiB, {min(p):.1f}..{max(p):.1f}, "
            f"sd of ln = {sd:.2f}% (n={len(p)})"
        )
    ratio = [a / b for a, b in zip(walls[True], walls[False])]
    print(
        f"process wall, profiled / --no-profile: median {statistics.median(ratio):.3f} "
        f"(per pair: {', '.join(f'{x:.3f}' for x in ratio)})"
    )


if __name__ == "__main__":
    main()
