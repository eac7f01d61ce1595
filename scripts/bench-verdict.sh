#!/usr/bin/env bash
# Measures the gate's error rates on this machine (docs/verdict.md, "Measured figures"): A/A
# false alarms and detection of real slowdowns, for `compare` (separate runs against a baseline
# history) and `ab` (interleaved rounds), with the tiny Whisper encoder on CPU 0.
# Takes 30-45 minutes; keep the machine otherwise idle (anything else on CPU 0 is measured too).
# Extra arguments go to benches/bench_verdict.py (e.g. --cycles 12 --ab-repeats 20).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
scripts/setup.sh
cargo build --release --locked --quiet
PY="${PYTHON:-.venv/bin/python}"
BIN="${BENCH_GATE_BIN:-${CARGO_TARGET_DIR:-target}/release/bench-gate}"
"$PY" benches/bench_verdict.py variants --python "$PY" --bin "$BIN"
python3 benches/bench_verdict.py runs --bin "$BIN" --variants p10 p5 "$@"
python3 benches/bench_verdict.py compare --bin "$BIN" --variants p10 p5 "$@"
python3 benches/bench_verdict.py curve --bin "$BIN" "$@"
python3 benches/bench_verdict.py ab --bin "$BIN" --ab-variants p5 p4 "$@"
python3 benches/bench_verdict.py summary --bin "$BIN" "$@"
