#!/usr/bin/env bash
# Builds bench-gate's container image with a real engine (podman) and smoke-tests it under real
# cgroup limits. Runs as root on a Debian/Ubuntu machine with apt; nothing under /etc changes.
#
#   scripts/check-image.sh          # runtime image: the Dockerfile's `runtime` stage with the
#                                   # host-built release binary (seconds once base images exist)
#   scripts/check-image.sh --full   # the whole Dockerfile, unchanged, `podman build --pull=never`
#                                   # (~11 min cold on one core, ~1.5 min with a warm cargo cache)
#
# Steps (each is printed; a failure names its step and exits 1):
#   1. podman, runc, debootstrap from apt when missing; a containers.conf of its own, passed as
#      CONTAINERS_CONF (runc, cgroupfs, file events, ulimits root may set here).
#   2. Local base images when missing (no image registry is needed): `debootstrap --variant=minbase`
#      of the Dockerfile's Debian release, `podman import`ed under the exact name of the runtime
#      stage's FROM; with --full also the builder stage's FROM: that image + gcc + the host's Rust
#      toolchain + the host's extra CA certificates (an HTTPS proxy's, for pip and cargo).
#   3. The image under test: localhost/bench-gate-check:runtime (or :full).
#   4. Smoke tests, asserting only what holds at any machine speed:
#      - `bench-gate env` under --cpus 1 --cpuset-cpus N reports a 1.00-CPU quota and cpuset [N];
#      - the micro benchmark runs as uid 65532 on a read-only root filesystem with the fixtures
#        mounted read-only, and its result file is there, valid, and readable by another host user;
#      - `--cpus 0.5 --memory 512m` is reported as 0.5 CPU and 536870912 bytes;
#      - the binary in the image carries no debug sections; with --full, the `debuginfo` stage
#        holds them and the binary's .gnu_debuglink names that file.
#   5. Two images for the real two-image `ab` (tests/image.rs): localhost/bench-gate-check:ab-a
#      and :ab-b, the image under test with a different model file baked in (like a PR's image).
#
# Skips (exit 0, saying why) where podman cannot work this way: not root, or podman missing and
# no apt-get to install it. Idempotent: a second run reuses the base images and podman's layer
# cache. The engine's state lives in podman's usual place (/var/lib/containers); the config and
# scratch files under target/check-image/.
#
# Environment: DEBIAN_MIRROR (default: the mirror apt uses), CARGO_TARGET_DIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
STATE="$TARGET_DIR/check-image"
# Images this script makes (tests/image.rs uses the ab-* names).
IMAGE_PREFIX=localhost/bench-gate-check
# The user the micro benchmark runs as: not the image's own 10001, to show any uid works.
RUN_UID=65532

FULL=0
for arg in "$@"; do
    case "$arg" in
        --full) FULL=1 ;;
        -h | --help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "check-image: error: unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

CHECK_NAME=check-image
# shellcheck source=scripts/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps.sh"
# Scratch paths to remove on exit (a failed step leaves nothing behind but its log).
SCRATCH=()
on_exit() {
    local rc=$?
    if [[ $rc -ne 0 && -n "$STEP" ]]; then
        echo "check-image: FAILED at step \"$STEP\" (exit $rc, see the output above)" >&2
    fi
    if [[ ${#SCRATCH[@]} -gt 0 ]]; then rm -rf "${SCRATCH[@]}"; fi
}
trap on_exit EXIT

# ---------------------------------------------------------------- 1. the engine
step "engine: podman, runc, debootstrap"
if [[ $EUID -ne 0 ]]; then
    skip "not root: this check runs rootful podman (rootless podman cannot apply --cpus/--cpuset-cpus on a cgroup v1 host); run it as root"
fi
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
    command -v apt-get >/dev/null 2>&1 \
        || skip "${missing[*]} not installed and no apt-get to install them (apt-get install podman runc debootstrap)"
    log "installing ${missing[*]} (and podman's dependencies) with apt-get"
    apt-get update -qq >&2 || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc debootstrap >&2 \
        || fail "apt-get install podman runc debootstrap failed"
fi
log "$(podman --version), $(runc --version | head -n1)"

step "engine: containers.conf"
mkdir -p "$STATE"
# crun (podman's default on Debian) refuses this kernel's cgroup v1/v2 hybrid: runc. No systemd
# to talk to: cgroupfs, and events to a file. Root cannot raise rlimits here, so podman's
# default ulimits (above the hard limit) would fail every container: ask for what we have.
nofile="$(ulimit -Hn)"
[[ "$nofile" == unlimited ]] && nofile=1048576
conf="$STATE/containers.conf"
cat >"$conf.tmp" <<EOF
# Written by scripts/check-image.sh: podman's settings for this check (CONTAINERS_CONF).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
mv -f "$conf.tmp" "$conf"
export CONTAINERS_CONF="$conf"
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupsVersion}} {{.Store.GraphDriverName}}' >"$STATE/info" 2>"$STATE/info.err" \
    || fail "podman info failed: $(cat "$STATE/info.err")"
log "CONTAINERS_CONF=$conf ($(cat "$STATE/info"))"

# podman build TAG ARGS...: builds and tags; the image the tag named before, if it changed and
# nothing else uses it, is removed (rebuilds would otherwise pile up untagged images).
build_tagged() {
    local tag="$1" old new
    shift
    old="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
    podman build --pull=never -t "$tag" "$@" || return 1
    new="$(podman image inspect --format '{{.Id}}' "$tag")"
    if [[ -n "$old" && "$old" != "$new" ]]; then
        podman rmi "$old" >/dev/null 2>&1 || true
    fi
}
# build_logged TAG LOG ARGS...: build_tagged with its output in $STATE/LOG.log; a failure fails
# the step with the end of that log.
build_logged() {
    local tag="$1" log="$STATE/$2.log"
    shift 2
    build_tagged "$tag" "$@" >"$log" 2>&1 || fail "podman build of $tag failed; the end of $log:
$(tail -n 30 "$log")"
}

# ---------------------------------------------------------------- 2. base images
# The FROM of a named stage in the Dockerfile, e.g. `rust:1.95-bookworm` for `builder`.
stage_from() {
    awk -v stage="$1" 'toupper($1) == "FROM" && tolower($3) == "as" && $4 == stage { print $2; exit }' "$REPO/Dockerfile"
}
# podman's full name for an image reference: docker.io/library/ for Docker Hub short names.
full_name() {
    local ref="$1" first="${1%%/*}"
    if [[ "$ref" != */* ]]; then
        echo "docker.io/library/$ref"
    elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
        echo "$ref"
    else
        echo "docker.io/$ref"
    fi
}
# The mirror apt uses (deb822 sources first, then sources.list), unless DEBIAN_MIRROR is set.
debian_mirror() {
    local m="${DEBIAN_MIRROR:-}"
    if [[ -z "$m" ]]; then
        m="$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
    fi
    if [[ -z "$m" ]]; then
        m="$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)"
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

RUNTIME_FROM="$(stage_from runtime)"
BUILDER_FROM="$(stage_from builder)"
[[ -n "$RUNTIME_FROM" ]] || { STEP="base images"; fail "no \`FROM ... AS runtime\` in $REPO/Dockerfile"; }
[[ -n "$BUILDER_FROM" ]] || { STEP="base images"; fail "no \`FROM ... AS builder\` in $REPO/Dockerfile"; }
RUNTIME_BASE="$(full_name "$RUNTIME_FROM")"
BUILDER_BASE="$(full_name "$BUILDER_FROM")"

step "base image $RUNTIME_BASE"
if podman image exists "$RUNTIME_BASE"; then
    log "present"
else
    # debian:bookworm-slim -> bookworm
    tag="${RUNTIME_FROM##*:}"
    suite="${tag%%-*}"
    case "$RUNTIME_FROM" in
        debian:* | docker.io/library/debian:*) ;;
        *) fail "the runtime stage's base $RUNTIME_FROM is not a Debian image; this script can only make debian:<release>[-slim] locally" ;;
    esac
    mirror="$(debian_mirror)"
    rootfs="$STATE/rootfs-$suite"
    rm -rf "$rootfs"
    SCRATCH+=("$rootfs")
    log "debootstrap --variant=minbase $suite from $mirror (about a minute)"
    debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
        || fail "debootstrap failed; the end of $STATE/debootstrap.log:
$(tail -n 20 "$STATE/debootstrap.log")"
    # Slim like the published -slim images: no package caches, lists, docs, man pages or
    # translations, and later installs leave them out too.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
    tar -C "$rootfs" --numeric-owner -c . | podman import --quiet --change 'CMD ["bash"]' - "$RUNTIME_BASE" >/dev/null \
        || fail "podman import of the debootstrap tree failed"
    rm -rf "$rootfs"
    log "imported as $RUNTIME_BASE"
fi

if [[ $FULL -eq 1 ]]; then
    step "base image $BUILDER_BASE"
    if podman image exists "$BUILDER_BASE"; then
        log "present"
    else
        command -v rustc >/dev/null 2>&1 || fail "no rustc on PATH: the builder image takes the host's Rust toolchain"
        sysroot="$(rustc --print sysroot)"
        have="$(rustc --version | awk '{print $2}')"
        want="${BUILDER_FROM##*:}"
        want="${want%%-*}"
        if [[ "$have" != "$want" && "$have" != "$want".* ]]; then
            log "note: the host's rustc $have stands in for $BUILDER_FROM (the image is labelled with it)"
        fi
        ctx="$STATE/builder-context"
        rm -rf "$ctx"
        SCRATCH+=("$ctx")
        mkdir -p "$ctx/ca"
        # The host's own CA certificates (e.g. an HTTPS proxy's): pip and cargo in the build
        # must trust what the host trusts. Empty on an ordinary machine.
        shopt -s nullglob
        for crt in /usr/local/share/ca-certificates/*.crt; do cp "$crt" "$ctx/ca/"; done
        shopt -u nullglob
        toolchain="$(basename "$sysroot")"
        log "packing the host's toolchain $toolchain (bin, lib, libexec; no docs)"
        tar -C "$sysroot/.." --numeric-owner -cf "$ctx/toolchain.tar" \
            "$toolchain/bin" "$toolchain/lib" "$toolchain/libexec" \
            || fail "cannot pack $sysroot"
        cat >"$ctx/Containerfile" <<EOF
FROM $RUNTIME_BASE
LABEL org.opencontainers.image.description="local stand-in for $BUILDER_FROM, made by scripts/check-image.sh from rustc $have"
ENV RUSTUP_HOME=/usr/local/rustup \\
    CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \\
    && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
ADD toolchain.tar /usr/local/rustup/toolchains/
RUN mkdir -p /usr/local/cargo/bin \\
    && for t in cargo rustc rustdoc; do ln -s /usr/local/rustup/toolchains/$toolchain/bin/\$t /usr/local/cargo/bin/\$t; done \\
    && cargo --version && rustc --version
EOF
        log "podman build $BUILDER_BASE"
        build_logged "$BUILDER_BASE" builder-build -f "$ctx/Containerfile" "$ctx"
        rm -rf "$ctx"
        log "built"
    fi
fi

# ---------------------------------------------------------------- 3. the image under test
if [[ $FULL -eq 1 ]]; then
    IMAGE="$IMAGE_PREFIX:full"
    step "image $IMAGE: podman build --pull=never of the Dockerfile, unchanged"
    build_tagged "$IMAGE" "$REPO" 2>&1 | tee "$STATE/full-build.log" | sed -u 's/^/    /' >&2
    [[ ${PIPESTATUS[0]} -eq 0 ]] || fail "podman build failed (log: $STATE/full-build.log)"
else
    IMAGE="$IMAGE_PREFIX:runtime"
    step "release binary (cargo build --release --locked)"
    (cd "$REPO" && cargo build --release --locked --quiet) || fail "cargo build --release failed"
    BIN="$TARGET_DIR/release/bench-gate"
    [[ -x "$BIN" ]] || fail "no binary at $BIN after the build"
    "$REPO/scripts/setup-ort.sh" >/dev/null || fail "scripts/setup-ort.sh failed"

    step "image $IMAGE: the Dockerfile's runtime stage with the host-built binary"
    ctx="$STATE/runtime-context"
    rm -rf "$ctx"
    SCRATCH+=("$ctx")
    mkdir -p "$ctx"
    # The runtime stage as written, with every `COPY --from=builder SRC DST` served from a build
    # context that holds the host's files at the same SRC paths.
    awk 'toupper($1) == "FROM" { on = (tolower($3) == "as" && $4 == "runtime") } on' "$REPO/Dockerfile" \
        | sed 's/^COPY --from=builder /COPY /' >"$ctx/Containerfile"
    while read -r src; do
        case "$(basename "$src")" in
            bench-gate)
                mkdir -p "$ctx$(dirname "$src")"
                # As the Dockerfile's builder does: debug info out of the shipped binary.
                objcopy --strip-debug "$BIN" "$ctx$src" || fail "objcopy --strip-debug $BIN failed (binutils installed?)"
                ;;
            libonnxruntime.so.*)
                mkdir -p "$ctx$(dirname "$src")"
                cp "$REPO/.ort/lib/$(basename "$src")" "$ctx$src" \
                    || fail "the runtime stage wants $(basename "$src"); scripts/setup-ort.sh installs a different version"
                ;;
            *)
                fail "the runtime stage copies $src from the builder; this script does not know its host counterpart (teach the case above)"
                ;;
        esac
    done < <(awk 'toupper($1) == "FROM" { on = (tolower($3) == "as" && $4 == "runtime") } on && $1 == "COPY" && $2 == "--from=builder" { print $3 }' "$REPO/Dockerfile")
    build_logged "$IMAGE" runtime-build --network none -f "$ctx/Containerfile" "$ctx"
    rm -rf "$ctx"
fi
log "$IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1 / 1e6}')"

# ---------------------------------------------------------------- 4. smoke tests
# Reads JSON on stdin and evaluates a Python expression over it as `j`; fails the step with
# the message and the JSON when the expression is false.
check_json() {
    local expr="$1" what="$2" json
    json="$(cat)"
    python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" <<<"$json" || fail "$what (expected: $expr); bench-gate printed:
$json"
}
# The highest online CPU: a cpuset that is not the default CPU 0 shows the pinning is real.
CPU="$(awk -F'[-,]' '{ print $NF }' /sys/devices/system/cpu/online 2>/dev/null || echo 0)"
RUN=(podman run --rm --network none)

step "smoke: bench-gate env under --cpus 1 --cpuset-cpus $CPU"
out="$("${RUN[@]}" --cpus 1 --cpuset-cpus "$CPU" "$IMAGE" env --format json)" \
    || fail "podman run $IMAGE env failed"
check_json "j['environment']['cpu_limit']['cpus'] == 1.0 and j['environment']['cpu_limit']['quota_us'] == j['environment']['cpu_limit']['period_us']" \
    "the 1-CPU quota is not reported" <<<"$out"
check_json "j['environment']['cgroup_cpuset'] == [$CPU] and j['environment']['affinity'] == [$CPU]" \
    "the cpuset $CPU is not reported" <<<"$out"
check_json "j['environment']['in_container'] and j['ort'].get('version') == '1.32.0'" \
    "not seen as a container, or ONNX Runtime 1.32.0 did not load" <<<"$out"
log "quota 1.00 CPU, cpuset [$CPU], ONNX Runtime 1.32.0 loaded"

step "smoke: micro benchmark as uid $RUN_UID, read-only root, fixtures read-only"
outdir="$(mktemp -d "${TMPDIR:-/tmp}/bench-gate-check.XXXXXX")"
SCRATCH+=("$outdir")
chown "$RUN_UID:$RUN_UID" "$outdir"
chmod 0755 "$outdir"
# --read-only-tmpfs=false: not even /tmp is writable (docker's --read-only is the same).
"${RUN[@]}" --read-only --read-only-tmpfs=false --user "$RUN_UID:$RUN_UID" --cpus 1 --cpuset-cpus "$CPU" \
    -v "$REPO/fixtures:/bench/fixtures:ro" -v "$REPO/tests/data:/bench/tests/data:ro" -v "$outdir:/out" \
    "$IMAGE" run -c /bench/tests/data/micro.toml --cpus all --iterations 3 --quiet -o /out/result.json >&2 \
    || fail "podman run $IMAGE run (micro benchmark) failed"
[[ -f "$outdir/result.json" ]] || fail "no result file $outdir/result.json"
# Another host user (nobody) must be able to read what the container wrote.
setpriv --reuid=65534 --regid=65534 --clear-groups cat "$outdir/result.json" >/dev/null 2>"$STATE/read.err" \
    || fail "the result file is not readable by another host user: $(ls -ln "$outdir/result.json") ($(cat "$STATE/read.err"))"
check_json "j['models'][0]['iterations'] == 3 and len(j['models'][0]['samples_ms']) == 3 and j['environment']['cgroup_cpuset'] == [$CPU]" \
    "the result does not hold the 3 iterations on CPU $CPU" <"$outdir/result.json"
log "result.json: 3 iterations, $(stat -c '%A uid %u' "$outdir/result.json")"
rm -rf "$outdir"

step "smoke: --cpus 0.5 --memory 512m reported as such"
out="$("${RUN[@]}" --cpus 0.5 --memory 512m "$IMAGE" env --format json)" \
    || fail "podman run $IMAGE env failed"
check_json "j['environment']['cpu_limit']['cpus'] == 0.5 and j['environment']['memory_limit']['limit_bytes'] == 512 * 1024 * 1024" \
    "the 0.5-CPU quota or the 512 MiB memory limit is not reported" <<<"$out"
log "quota 0.50 CPU, memory limit 536870912 bytes"

step "smoke: the image's binary has no debug info"
cid="$(podman create "$IMAGE")"
podman cp "$cid:/usr/local/bin/bench-gate" "$STATE/image-bench-gate" >/dev/null
podman rm "$cid" >/dev/null
# DWARF sections (.debug_gdb_scripts is not debug info: a 34-byte pointer to gdb's pretty
# printers, loaded with the program, which strip keeps).
if readelf -S --wide "$STATE/image-bench-gate" | grep -Eq '\.debug_(info|line|str|abbrev|ranges|rnglists|loclists|aranges)'; then
    fail "/usr/local/bin/bench-gate in $IMAGE has DWARF debug sections ($(du -m "$STATE/image-bench-gate" | cut -f1) MB)"
fi
log "/usr/local/bin/bench-gate: $(du -m "$STATE/image-bench-gate" | cut -f1) MB, no DWARF sections"

if [[ $FULL -eq 1 ]]; then
    step "the debuginfo stage holds the binary's debug info"
    build_logged "$IMAGE_PREFIX:debuginfo" debuginfo-build --target debuginfo "$REPO"
    cid="$(podman create "$IMAGE_PREFIX:debuginfo" none)"
    podman cp "$cid:/bench-gate.debug" "$STATE/bench-gate.debug" >/dev/null
    podman rm "$cid" >/dev/null
    readelf -S --wide "$STATE/bench-gate.debug" 2>/dev/null | grep -q '\.debug_line' \
        || fail "/bench-gate.debug of the debuginfo stage has no .debug_line section"
    readelf --string-dump=.gnu_debuglink "$STATE/image-bench-gate" 2>/dev/null | grep -q 'bench-gate\.debug' \
        || fail "the image's binary has no .gnu_debuglink naming bench-gate.debug"
    log "/bench-gate.debug: $(du -m "$STATE/bench-gate.debug" | cut -f1) MB with line tables; the image's binary links to it"
    rm -f "$STATE/bench-gate.debug"
fi
rm -f "$STATE/image-bench-gate"

# ---------------------------------------------------------------- 5. images for the two-image ab
step "ab images $IMAGE_PREFIX:ab-a and :ab-b (the image under test + a baked-in model)"
for variant in a b; do
    case "$variant" in
        a) model="$REPO/fixtures/models/whisper-micro/encoder_model.onnx" ;;
        b) model="$REPO/fixtures/models/whisper-tiny/encoder_model.onnx" ;;
    esac
    [[ -f "$model" ]] || fail "$model is missing (scripts/setup.sh makes it)"
    ctx="$STATE/ab-$variant-context"
    rm -rf "$ctx"
    SCRATCH+=("$ctx")
    mkdir -p "$ctx"
    cp "$model" "$ctx/model.onnx"
    cp "$REPO/tests/data/image-ab.toml" "$ctx/benchmark.toml"
    cat >"$ctx/Containerfile" <<EOF
FROM $IMAGE
COPY benchmark.toml model.onnx /w/
EOF
    build_logged "$IMAGE_PREFIX:ab-$variant" "ab-$variant-build" --network none -f "$ctx/Containerfile" "$ctx"
    rm -rf "$ctx"
done
log "built; tests/image.rs compares them with bench-gate ab --a-cmd/--b-cmd"

STEP=""
echo "check-image: all checks passed for $IMAGE in $((SECONDS - T0)) s" >&2
