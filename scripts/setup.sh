#!/usr/bin/env bash
# Everything bench-gate needs on a fresh Debian/Ubuntu machine with Rust and Python 3:
# the pinned ONNX Runtime library (.ort/lib/) and the generated tiny Whisper fixtures.
# Idempotent and quick when already done.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$REPO/scripts/setup-ort.sh" >/dev/null
"$REPO/scripts/setup-fixtures.sh"

