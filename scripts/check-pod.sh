#!/usr/bin/env bash
# Runs the pod that `bench-gate k8s render`'s Job describes, for real, with `podman kube play`,
# and checks it from the outside. Runs as root after scripts/check-image.sh (its image, its
# containers.conf, its release binary); nothing is fetched (--network none, local images only).
#
#   scripts/check-pod.sh
#   CHECK_POD_BREAK=result-on-root scripts/check-pod.sh   # damage the main pod: the check must fail
#
# Steps (each is printed; a failure names its step and exits 1):
#   1. catatonit (podman's pod infra process) and python3-yaml from apt when missing.
#   2. Two images, each the Dockerfile's `with-fixtures` stage on top of check-image's runtime
#      image, with a small config baked in as /bench/benchmark.toml (the micro Whisper, 5
#      iterations): :pod with intra_op_threads = 1, :pod-trap with 2.
#   3. The benchmark pod: `k8s render --image localhost/bench-gate-check:pod --pod-cpus 1
#      --memory-mib 512`, its pod template turned into a Pod by scripts/job-to-pod.py (which
#      lists the only replacements), played, waited for (at most CHECK_POD_WAIT_S, 120 s), then
#      asserted from the outside: the OCI spec podman gave runc (non-root uid and gid as
#      rendered, read-only root, no-new-privileges, no capabilities, the CPU quota and memory
#      limit as rendered); exit code 0; the log read by `bench-gate k8s read-log`, which is
#      `k8s run`'s own reader and result file; in that result, the environment bench-gate
#      detected inside (the same detector as `bench-gate env`) shows the rendered CPU limit and
#      memory limit, and every configured iteration ran.
#   4. The thread trap: the same with :pod-trap (2 threads, 1 CPU): render warns, and the pod's
#      log carries the thread-trap warning in its result.
#   5. Negative self-test: pods damaged by scripts/job-to-pod.py --break (result written to the
#      read-only root; root user) must fail step 3's assertions, each with its reason.
#
# Skips (exit 0, saying why) when not root or podman is missing, as check-image.sh does. Pods,
# their volumes and the scratch files are removed on every exit (trap), failures included.
#
# Environment: CARGO_TARGET_DIR, CHECK_POD_WAIT_S, CHECK_POD_BREAK (a --break of job-to-pod.py),
# BENCH_GATE (the binary that renders and reads the log; default: the release build).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
STATE="$TARGET_DIR/check-pod"
# What scripts/check-image.sh leaves behind.
IMAGE=localhost/bench-gate-check:runtime
CONF="$TARGET_DIR/check-image/containers.conf"
# The host side (render, read-log): the release binary the image holds, unless BENCH_GATE names another.
BIN="${BENCH_GATE:-$TARGET_DIR/release/bench-gate}"
POD_IMAGE=localhost/bench-gate-check:pod
WAIT_S="${CHECK_POD_WAIT_S:-120}"
PY=/usr/bin/python3
# What the pods are rendered with, and what must be seen inside.
POD_CPUS=1
POD_MEMORY_MIB=512
ITERATIONS=5
COMMIT=0123456789abcdef0123456789abcdef01234567

CHECK_NAME=check-pod
# shellcheck source=scripts/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps.sh"
PODS=()
SCRATCH=()
WHY=""
EXIT_CODE=""
on_exit() {
    local rc=$? pod
    if [[ $rc -ne 0 && -n "$STEP" ]]; then
        echo "check-pod: FAILED at step \"$STEP\" (exit $rc, see the output above)" >&2
    fi
    for pod in "${PODS[@]}"; do remove_pod "$pod"; done
    if [[ ${#SCRATCH[@]} -gt 0 ]]; then rm -rf "${SCRATCH[@]}"; fi
}
trap on_exit EXIT

# The pod and the private emptyDir volume job-to-pod.py gave it.
remove_pod() {
    podman pod rm -f "$1" >/dev/null 2>&1 || true
    podman volume rm -f "$1-tmp" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- 1. the engine
step "engine"
[[ $EUID -eq 0 ]] || skip "not root: this check runs rootful podman, as scripts/check-image.sh does; run it as root"
command -v podman >/dev/null 2>&1 || skip "podman is not installed (scripts/check-image.sh installs it as root with apt)"
[[ -f "$CONF" ]] || fail "no $CONF: run scripts/check-image.sh first (it writes podman's settings and builds $IMAGE)"
export CONTAINERS_CONF="$CONF"
podman image exists "$IMAGE" || fail "no image $IMAGE: run scripts/check-image.sh first"
[[ -x "$BIN" ]] || fail "no $BIN: run scripts/check-image.sh first (it builds the release binary the image holds)"
missing=()
# A pod's infra container runs catatonit; without it podman wants a pause image from a registry.
command -v catatonit >/dev/null 2>&1 || [[ -x /usr/libexec/podman/catatonit ]] || missing+=(catatonit)
"$PY" -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if [[ ${#missing[@]} -gt 0 ]]; then
    command -v apt-get >/dev/null 2>&1 || skip "${missing[*]} not installed and no apt-get to install them"
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2 || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || fail "apt-get install ${missing[*]} failed"
fi
mkdir -p "$STATE"
log "$(podman --version), image $IMAGE, CONTAINERS_CONF=$CONF"

# ---------------------------------------------------------------- 2. images with a config
# The Dockerfile's with-fixtures stage, its `FROM runtime` pointed at check-image's image.
with_fixtures_stage() {
    awk 'toupper($1) == "FROM" { on = (tolower($3) == "as" && $4 == "with-fixtures") } on && toupper($1) != "FROM"' "$REPO/Dockerfile" \
        | grep -v '^#' | sed "1i FROM $IMAGE"
}
# make_context DIR THREADS: benchmark.toml + the micro Whisper and its audio, laid out as the
# with-fixtures stage copies them (the config's paths are relative to /bench).
make_context() {
    local dir="$1" threads="$2"
    rm -rf "$dir"
    mkdir -p "$dir/fixtures/models" "$dir/fixtures/audio"
    cp -rL "$REPO/fixtures/models/whisper-micro" "$dir/fixtures/models/"
    cp -L "$REPO/fixtures/audio/vi_speech_30s.wav" "$dir/fixtures/audio/"
    cat >"$dir/benchmark.toml" <<EOF
# Written by scripts/check-pod.sh: the micro Whisper (~25 ms a pass), few iterations.
[run]
warmup = 1
iterations = $ITERATIONS

[models.whisper-micro]
kind = "whisper"
size = "micro"
encoder = "fixtures/models/whisper-micro/encoder_model.onnx"
decoder = "fixtures/models/whisper-micro/decoder_model.onnx"
decoder_with_past = "fixtures/models/whisper-micro/decoder_with_past_model.onnx"
fixture = "fixtures/audio/vi_speech_30s.wav"

[models.whisper-micro.session]
intra_op_threads = $threads

[models.whisper-micro.whisper]
max_new_tokens = 4
prompt_tokens = [1, 2, 3, 4]
eot_token = 0
EOF
    with_fixtures_stage >"$dir/Containerfile"
    grep -q '^COPY benchmark.toml /bench/benchmark.toml' "$dir/Containerfile" \
        || fail "the Dockerfile's with-fixtures stage no longer copies benchmark.toml to /bench/benchmark.toml (teach make_context)"
}
for variant in pod pod-trap; do
    step "image $POD_IMAGE${variant#pod}: the with-fixtures stage on $IMAGE"
    ctx="$STATE/$variant-context"
    SCRATCH+=("$ctx")
    make_context "$ctx" "$([[ $variant == pod ]] && echo 1 || echo 2)"
    podman build --pull=never --network none -q -t "localhost/bench-gate-check:$variant" -f "$ctx/Containerfile" "$ctx" \
        >"$STATE/$variant-build.log" 2>&1 || fail "podman build failed: $(tail -n 20 "$STATE/$variant-build.log")"
done

# ---------------------------------------------------------------- the pod and its checks
# render VARIANT: the Job for localhost/bench-gate-check:VARIANT into $STATE/VARIANT.job.yaml,
# render's stderr into $STATE/VARIANT.render.err.
render() {
    "$BIN" k8s render -c "$STATE/$1-context/benchmark.toml" --image "localhost/bench-gate-check:$1" \
        --pod-cpus "$POD_CPUS" --memory-mib "$POD_MEMORY_MIB" --pool podman --commit "$COMMIT" \
        >"$STATE/$1.job.yaml" 2>"$STATE/$1.render.err" \
        || fail "bench-gate k8s render failed: $(cat "$STATE/$1.render.err")"
}

# play NAME JOB [BREAK]: the Job's pod as pod NAME, run to its end; its log in $STATE/NAME.log.
# Sets EXIT_CODE; returns 1 with the reason in WHY when it did not start or did not finish.
play() {
    local name="$1" job="$2" damage="${3:-}" ctr="$1-bench-gate"
    "$PY" "$REPO/scripts/job-to-pod.py" "$job" --name "$name" ${damage:+--break "$damage"} >"$STATE/$name.pod.yaml" \
        || fail "scripts/job-to-pod.py $job failed"
    remove_pod "$name"
    PODS+=("$name")
    EXIT_CODE=""
    if ! podman kube play --network none "$STATE/$name.pod.yaml" >"$STATE/$name.play.log" 2>&1; then
        WHY="podman kube play refused or could not start the pod: $(tail -n 5 "$STATE/$name.play.log")"
        return 1
    fi
    if ! EXIT_CODE="$(timeout "$WAIT_S" podman wait "$ctr" 2>&1)"; then
        WHY="the pod did not finish within $WAIT_S s (podman wait: $EXIT_CODE)"
        return 1
    fi
    podman logs "$ctr" >"$STATE/$name.log" 2>&1 || true
    podman inspect --format '{{.OCIConfigPath}}' "$ctr" >"$STATE/$name.oci-path"
    cp "$(cat "$STATE/$name.oci-path")" "$STATE/$name.oci.json"
}

# verify NAME: step 3's assertions on a played pod; returns 1 if any failed, with one problem a
# line in WHY.
verify() {
    local name="$1" out="$STATE/$1.out" problems=()
    [[ "$EXIT_CODE" == 0 ]] || problems+=("the container exited with $EXIT_CODE, not 0; its log ends: $(tail -n 3 "$STATE/$name.log" | tr '\n' ' ')")
    # The OCI spec podman handed to runc: what the process really ran as and under.
    while IFS= read -r p; do problems+=("$p"); done < <("$PY" - "$STATE/$name.oci.json" "$STATE/$name.pod.yaml" <<'EOF'
import json, sys, yaml
spec = json.load(open(sys.argv[1]))
pod = yaml.safe_load(open(sys.argv[2]))
sc = pod["spec"]["containers"][0]["securityContext"]
user = spec["process"]["user"]
if user["uid"] == 0 or user["gid"] == 0:
    print(f"the container ran as root (uid {user['uid']}, gid {user['gid']}; the pod asked for runAsUser {sc.get('runAsUser')}); podman 4.3 does not enforce runAsNonRoot, so this check does")
elif (user["uid"], user["gid"]) != (sc.get("runAsUser"), sc.get("runAsGroup")):
    print(f"the container ran as {user['uid']}:{user['gid']}, not the rendered {sc.get('runAsUser')}:{sc.get('runAsGroup')}")
if not spec["root"].get("readonly"):
    print("the root filesystem was writable (readOnlyRootFilesystem not applied)")
if not spec["process"].get("noNewPrivileges"):
    print("no-new-privileges was off (allowPrivilegeEscalation: false not applied)")
caps = {k: v for k, v in spec["process"].get("capabilities", {}).items() if v}
if caps:
    print(f"the process kept capabilities {caps} (drop: [ALL] not applied)")
EOF
)
    rm -rf "$out"
    mkdir -p "$out"
    # k8s run's own reader and result file, on the saved log.
    if ! "$BIN" k8s read-log --log "$STATE/$name.log" --pool "$name" --out-dir "$out" >"$STATE/$name.read.out" 2>"$STATE/$name.read.err"; then
        problems+=("k8s run's reader found no result in the pod log: $(head -c 600 "$STATE/$name.read.err")")
    else
        while IFS= read -r p; do problems+=("$p"); done < <("$PY" - "$out/$name.json" "$POD_CPUS" "$POD_MEMORY_MIB" "$ITERATIONS" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
cpus, mib, iterations = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
env = r["environment"]
seen_cpus = (env.get("cpu_limit") or {}).get("cpus")
if seen_cpus != cpus:
    print(f"bench-gate saw a CPU limit of {seen_cpus} inside, not the rendered {cpus:g}")
seen_bytes = (env.get("memory_limit") or {}).get("limit_bytes")
if seen_bytes != mib * 1024 * 1024:
    print(f"bench-gate saw a memory limit of {seen_bytes} bytes inside, not the rendered {mib} MiB")
if not env.get("in_container"):
    print("bench-gate did not see a container")
done = [m["iterations"] for m in r["models"]]
if done != [iterations]:
    print(f"the benchmark ran {done} iterations, not [{iterations}]")
EOF
)
    fi
    if [[ ${#problems[@]} -gt 0 ]]; then
        WHY="$(printf '%s\n' "${problems[@]}")"
        return 1
    fi
}

# ---------------------------------------------------------------- 3. the benchmark pod
step "pod: the rendered Job's pod, played and checked"
render pod
if grep -q 'thread trap' "$STATE/pod.render.err"; then
    fail "render warned of the thread trap for 1 thread on $POD_CPUS CPU: $(cat "$STATE/pod.render.err")"
fi
play bench-gate-pod "$STATE/pod.job.yaml" "${CHECK_POD_BREAK:-}" || fail "$WHY"
verify bench-gate-pod || fail "the pod broke the Job's promises:
$WHY"
grep -qF "thread trap" "$STATE/bench-gate-pod.log" \
    && fail "the pod with 1 thread on $POD_CPUS CPU warned of the thread trap: $(grep -F "thread trap" "$STATE/bench-gate-pod.log")"
log "ran as $("$PY" -c 'import json, sys; u = json.load(open(sys.argv[1]))["process"]["user"]; print(u["uid"], u["gid"], sep=":")' "$STATE/bench-gate-pod.oci.json"), read-only root, no-new-privileges, no capabilities"
log "inside: CPU limit $POD_CPUS, memory limit $POD_MEMORY_MIB MiB, $ITERATIONS iterations; k8s run's reader took the result from the log"
remove_pod bench-gate-pod

# ---------------------------------------------------------------- 4. the thread trap
step "pod: 2 intra-op threads under a 1-CPU limit (the thread trap)"
render pod-trap
grep -q "warning: model whisper-micro: intra_op_threads = 2 but the pod gets 1 CPU" "$STATE/pod-trap.render.err" \
    || fail "k8s render did not warn of 2 threads on a 1-CPU pod; it printed: $(cat "$STATE/pod-trap.render.err")"
play bench-gate-pod-trap "$STATE/pod-trap.job.yaml" || fail "$WHY"
verify bench-gate-pod-trap || fail "the pod broke the Job's promises:
$WHY"
trap_text="thread trap: intra_op_threads = 2 but the CPU limit is 1 CPU"
grep -qF "$trap_text" "$STATE/bench-gate-pod-trap.log" \
    || fail "the pod's log has no \"$trap_text\""
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if any(w.startswith(sys.argv[2]) for w in r["models"][0]["warnings"]) else 1)' \
    "$STATE/bench-gate-pod-trap.out/bench-gate-pod-trap.json" "$trap_text" \
    || fail "the result k8s run would take has no thread-trap warning"
log "render warned; the pod's log and its result say \"$trap_text ...\""
remove_pod bench-gate-pod-trap

# ---------------------------------------------------------------- 5. the check catches broken pods
for damage in result-on-root root-user; do
    step "self-test: a pod damaged with --break $damage must fail the checks"
    name="bench-gate-broken-$damage"
    if ! play "$name" "$STATE/pod.job.yaml" "$damage"; then
        log "caught (did not run): $WHY"
        remove_pod "$name"
        continue
    fi
    if verify "$name"; then
        fail "the checks passed a pod damaged with --break $damage (see $STATE/$name.pod.yaml)"
    fi
    log "caught: ${WHY//$'\n'/; }"
    remove_pod "$name"
done

STEP=""
echo "check-pod: all checks passed in $((SECONDS - T0)) s" >&2
