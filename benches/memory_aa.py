#!/usr/bin/env python3
"""Measures the duet memory gate's noise floor (docs/verdict.md, "Memory in the duet").

Starts `bench-gate ab-worker` for one model `--processes` times, as the duet starts its worker
processes, and in each: the warm-up, `--blocks` measured blocks, then `after_run` without the
profiled pass (what the duet asks before anything else after its clock). Prints each process's
peak RSS and ORT arena peak, then the A/A figure the gate needs: the largest |ln(peak_i/peak_j)|
over every two processes, in percent (two processes of the same model: what one pair's B/A can
show with no change at all). Arena peaks are printed to show whether they are deterministic.

Usage: python3 benches/memory_aa.py --bin target/debug/bench-gate \
           -c benches/encoder.toml --model encoder [--processes 8] [--blocks 4] [--cpus 0]
"""
import argparse
import itertools
import json
import math
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def one_process(binary, config, model, cpus, blocks, iterations):
    p = subprocess.Popen(
        [binary, "ab-worker", "-c", config, "--model", model, "--cpus", cpus],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )

    def ask(request):
        p.stdin.write(json.dumps(request) + "\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    hello = json.loads(p.stdout.readline())
    assert "hello" in hello, hello
    ask({"measure": {"warmup": 2, "iterations": 0}})
    for _ in range(blocks):
        ask({"measure": {"warmup": 0, "iterations": iterations}})
    after = ask({"after_run": {"profile": False}})["after_run"]
    p.stdin.close()
    p.wait()
    arena = sum(a["peak_in_use_mb"] for a in after.get("arena", []))
    return after["peak_rss_mb"], arena


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, "target/debug/bench-gate"))
    ap.add_argument("-c", "--config", default="benches/encoder.toml")
    ap.add_argument("--model", default="encoder")
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--cpus", default="0")
    a = ap.parse_args()
    peaks, arenas = [], []
    for i in range(a.processes):
        rss, arena = one_process(a.bin, a.config, a.model, a.cpus, a.blocks, a.iterations)
        peaks.append(rss)
        arenas.append(arena)
        print(f"process {i + 1}: peak RSS {rss:.2f} MiB, arena peak in use {arena:.4f} MiB")
    worst = max(
        abs(math.log(x / y)) * 100 for x, y in itertools.combinations(peaks, 2)
    )
    print(
        f"{a.model}: peak RSS {min(peaks):.2f}..{max(peaks):.2f} MiB over {len(peaks)} processes; "
        f"largest A/A |ln ratio| {worst:.3f}%; arena peaks "
        f"{'identical' if len(set(arenas)) == 1 else 'differ: ' + repr(sorted(set(arenas)))}"
    )


if __name__ == "__main__":
    main()
