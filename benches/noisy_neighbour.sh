#!/usr/bin/env bash
# A deliberate noisy neighbour for the `ab` robustness check in docs/verdict.md: a busy loop on
# CPU 0 (the core the benchmark pins to: every iteration waits for the CPU about half the time)
# and a memory-streaming loop on CPU 1 (evicts the shared cache). `cache` as the first argument
# runs only the memory-streaming loop: a neighbour the run-delay signal cannot see, because it
# never takes the pinned core. Runs until killed:
#   setsid bash benches/noisy_neighbour.sh [pinned|cache] & ...; kill -- -$!
set -euo pipefail
PY="${PYTHON:-$(dirname "$0")/../.venv/bin/python}"
case "${1:-pinned}" in
pinned) taskset -c 0 "$PY" -c "while True: pass" & ;;
cache) ;;
*) echo "usage: $0 [pinned|cache]" >&2; exit 2 ;;
esac
taskset -c 1 "$PY" -c "
import numpy as np
a = np.ones(64 * 1024 * 1024 // 8)
b = np.empty_like(a)
while True:
    np.copyto(b, a)
" &
wait
