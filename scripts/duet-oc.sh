#!/usr/bin/env bash
# The duet's operating characteristic by simulation (examples/duet_oc.rs): P(regressed), P(pass),
# P(inconclusive) against the true change under the noise models of docs/verdict.md, through
# bench-gate's own duet, looks, boundaries and verdict. Writes docs/oc/oc.tsv and docs/oc/oc.svg.
# Deterministic (seeded): the same build gives the same table. ~1 minute on 2 cores (release).
#
# Usage: scripts/duet-oc.sh [--runs N] [--aa-runs N] [--pairs P] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --example duet_oc
exec target/release/examples/duet_oc --runs 1000 --aa-runs 10000 --pairs 6 --out docs/oc "$@"
