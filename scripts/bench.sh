#!/usr/bin/env bash
# Runs the default benchmark (benchmark.toml: the tiny Whisper pair on the 30 s Vietnamese
# fixture, and Silero VAD) on CPU 0 and writes result.json. Extra arguments go to `bench-gate run`.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
scripts/setup.sh
cargo build --release --locked --quiet
exec target/release/bench-gate run -c benchmark.toml -o result.json "$@"
