#!/usr/bin/env bash
# The checkers the test suite uses beyond Rust: cmark-gfm (renders the PR comment as GitHub
# would) and shellcheck (actionlint checks workflow scripts with it), from apt when root.
# hadolint, kubernetes-validate and actionlint come from PyPI in their check scripts.
set -euo pipefail

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
