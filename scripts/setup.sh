#!/usr/bin/env bash
# Everything bench-gate needs on a fresh Debian/Ubuntu machine with Rust and Python 3:
# the pinned ONNX Runtime library (.ort/lib/) and the generated tiny Whisper fixtures, plus
# the checkers the tests use: cmark-gfm (renders the PR comment as GitHub would) and
# shellcheck (actionlint checks workflow scripts with it), from apt when running as root.
# Idempotent and quick when already done.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$REPO/scripts/setup-ort.sh" >/dev/null
"$REPO/scripts/setup-fixtures.sh"

missing=()
command -v cmark-gfm >/dev/null 2>&1 || missing+=(cmark-gfm)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
        echo "setup: note: ${missing[*]} not installed (apt-get install ${missing[*]}); the tests that need them are skipped" >&2
    fi
fi
