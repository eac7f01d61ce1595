#!/usr/bin/env bash
# Runs the default benchmark (benchmark.toml: OpenAI's trained whisper tiny.en on 28 s of read
# English, decoded to <|endoftext|>, then its WER on the labelled set; the random-weight
# multilingual tiny on 30 s of Vietnamese; Silero VAD) on CPU 0 and writes result.json. Then
# `target/release/bench-gate compare --result result.json` judges it against baselines/.
# Extra arguments go to `bench-gate run`.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
scripts/setup.sh
cargo build --release --locked --quiet
exec target/release/bench-gate run -c benchmark.toml -o result.json "$@"
