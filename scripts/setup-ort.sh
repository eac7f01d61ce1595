#!/usr/bin/env bash
# Fetch the pinned ONNX Runtime shared library for bench-gate.
#
# The library is taken from the official `onnxruntime` wheel on PyPI (the only
# place this project's machines can download it from), verified against a
# sha256 recorded below, and unpacked to <repo>/.ort/lib/ (or $ORT_DIR/lib/).
# bench-gate loads it at run time (ort's load-dynamic feature), so nothing is
# needed at build time.
#
# Usage:  scripts/setup-ort.sh            # -> <repo>/.ort/lib/libonnxruntime.so.1.32.0
#         ORT_DIR=/opt/ort scripts/setup-ort.sh
# Idempotent: a second run only re-checks the installed library's hash.
# Prints the absolute path of the library as its last line of stdout.
set -euo pipefail

ORT_VERSION=1.32.0
LIB_NAME="libonnxruntime.so.${ORT_VERSION}"
LIB_IN_WHEEL="onnxruntime/capi/${LIB_NAME}"

# Per architecture: pip platform tag, sha256 of the wheel, sha256 of the
# library inside it. Recorded by downloading both wheels from PyPI.
# The wheels are cp311 builds, but libonnxruntime.so itself does not depend
# on Python: we ask pip for the cp311 wheel explicitly, so the host's Python
# version does not matter.
case_arch() {
    case "$1" in
        x86_64)
            PLATFORM=manylinux_2_28_x86_64
            WHEEL_SHA256=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
            LIB_SHA256=6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f
            ;;
        aarch64 | arm64)
            PLATFORM=manylinux_2_28_aarch64
            WHEEL_SHA256=2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c
            LIB_SHA256=49852228a93995158b2a813d4df487d47a1b76b0eaa894507ef49e91b6d7954a
            ;;
        *)
            return 1
            ;;
    esac
}

die() { echo "setup-ort: error: $*" >&2; exit 1; }
log() { echo "setup-ort: $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="${ORT_DIR:-$REPO/.ort}"
LIB_DIR="$ORT_DIR/lib"
LIB_PATH="$LIB_DIR/$LIB_NAME"

case "$(uname -s)" in
    Linux) ;;
    Darwin)
        die "macOS is not supported by this script; install ONNX Runtime ${ORT_VERSION} yourself" \
            "(e.g. from the onnxruntime wheel or release) and set ORT_DYLIB_PATH=/path/to/libonnxruntime.${ORT_VERSION}.dylib"
        ;;
    *)
        die "$(uname -s) is not supported by this script; set ORT_DYLIB_PATH to an ONNX Runtime ${ORT_VERSION} library"
        ;;
esac

ARCH="$(uname -m)"
case_arch "$ARCH" || die "unsupported architecture '$ARCH' (supported: x86_64, aarch64); set ORT_DYLIB_PATH yourself"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Fast path: already installed and intact.
if [[ -f "$LIB_PATH" && -f "$ORT_DIR/VERSION" && "$(cat "$ORT_DIR/VERSION")" == "$ORT_VERSION" ]]; then
    if [[ "$(sha256_of "$LIB_PATH")" == "$LIB_SHA256" ]]; then
        log "ONNX Runtime ${ORT_VERSION} already installed"
        echo "$LIB_PATH"
        exit 0
    fi
    log "installed library has an unexpected sha256; reinstalling"
fi

# pip is the ordinary client for PyPI. On a fresh Debian image python3/pip may be
# missing: install them when we are root with apt-get, otherwise explain.
if ! python3 -m pip --version >/dev/null 2>&1; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "python3-pip missing; installing it with apt-get"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip >&2
    else
        die "python3 with pip is required (Debian/Ubuntu: sudo apt-get install python3-pip)"
    fi
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

log "downloading onnxruntime==${ORT_VERSION} (${PLATFORM}) from PyPI"
# `pip download` is not blocked by PEP 668 (externally-managed-environment):
# it installs nothing.
python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
    --platform "$PLATFORM" "onnxruntime==${ORT_VERSION}" -d "$TMP" >&2 \
    || die "pip download of onnxruntime==${ORT_VERSION} for ${PLATFORM} failed"

shopt -s nullglob
wheels=("$TMP"/onnxruntime-"${ORT_VERSION}"-*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected one wheel in $TMP, found ${#wheels[@]}"
WHEEL="${wheels[0]}"

got="$(sha256_of "$WHEEL")"
if [[ "$got" != "$WHEEL_SHA256" ]]; then
    die "sha256 mismatch for $(basename "$WHEEL"):
  expected $WHEEL_SHA256
  got      $got
Refusing to install. If PyPI legitimately changed the file, update the table in $0."
fi
log "wheel sha256 OK ($got)"

# Extract with Python's zipfile: unzip is not installed on a fresh Debian.
mkdir -p "$LIB_DIR"
python3 - "$WHEEL" "$LIB_IN_WHEEL" "$TMP/$LIB_NAME" <<'EOF'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
got="$(sha256_of "$TMP/$LIB_NAME")"
[[ "$got" == "$LIB_SHA256" ]] || die "extracted $LIB_NAME has sha256 $got, expected $LIB_SHA256"
chmod 0755 "$TMP/$LIB_NAME"
# Move into place last, so an interrupted run never leaves a partial library.
mv -f "$TMP/$LIB_NAME" "$LIB_PATH"
# Soname and linker-name links, for tools that link or dlopen by those names.
ln -sfn "$LIB_NAME" "$LIB_DIR/libonnxruntime.so.1"
ln -sfn "$LIB_NAME" "$LIB_DIR/libonnxruntime.so"
echo "$ORT_VERSION" > "$ORT_DIR/VERSION"

log "installed ONNX Runtime ${ORT_VERSION} (${ARCH})"
echo "$LIB_PATH"
