#!/usr/bin/env bash
# The project's whole check: set-up, formatting, lints, the container image smoke test, the test
# suite (unit + integration tests that run the real ONNX Runtime on the committed micro
# fixtures), and the external validators.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
scripts/setup.sh
scripts/setup-checkers.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# The image with a real engine: the Dockerfile's runtime stage with the host-built release binary,
# smoke-tested under real cgroup limits, and the two images tests/image.rs compares with `ab`
# (podman; as root, else skipped with the reason). The whole Dockerfile: check-image.sh --full.
scripts/check-image.sh
# The rendered Job's pod, played with `podman kube play` from check-image's image and checked from
# the outside (user, read-only root, limits seen inside, the result k8s run reads from its log).
scripts/check-pod.sh
cargo test --locked
# Validators: Kubernetes schemas for k8s/ and rendered Jobs, hadolint for the Dockerfile.
scripts/check-manifests.sh
scripts/check-workflows.sh
