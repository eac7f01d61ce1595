#!/usr/bin/env bash
# A deliberate noisy neighbour for the `ab` robustness check in docs/verdict.md: a busy loop on
# CPU 0 (the core the benchmark pins to: every iteration waits for the CPU about half the time)
# and a memory-streaming loop on CPU 1 (evicts the shared cache). `cache` as the first argument
# runs only the memory-streaming loop: a neighbour the run-delay signal cannot see, because it
# never takes the pinned core. `bursty` comes and goes on CPU 0 (busy, then idle, each for a
# random 0.2-2 s), the kind of neighbour whose wait the duet's run-delay adjustment takes out.
# Runs until killed:
#   setsid bash benches/noisy_neighbour.sh [pinned|cache|bursty] & ...; kill -- -$!
set -euo pipefail
PY="${PYTHON:-$(dirname "$0")/../.venv/bin/python}"
case "${1:-pinned}" in
pinned) taskset -c 0 "$PY" -c "while True: pass" & ;;
cache) ;;
bursty) taskset -c 0 "$PY" -c "
import random, time
rng = random.Random(7)
while True:
    end = time.monotonic() + rng.uniform(0.2, 2.0)
    while time.monotonic() < end:
        pass
    time.sleep(rng.uniform(0.2, 2.0))
" & ;;
*) echo "usage: $0 [pinned|cache|bursty]" >&2; exit 2 ;;
esac
taskset -c 1 "$PY" -c "
import numpy as np
a = np.ones(64 * 1024 * 1024 // 8)
b = np.empty_like(a)
while True:
    np.copyto(b, a)
" &
wait
