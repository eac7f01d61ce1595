# bench-gate container image.
#
#   docker build -t bench-gate .                            # the runtime image (default target)
#   docker build --target with-fixtures -t bench-gate:fixtures .   # + benchmark.toml, fixtures/
#
# Stages: `builder` compiles bench-gate and fetches the pinned ONNX Runtime library,
# `runtime` is the small image (binary + library, non-root), `with-fixtures` bakes in
# benchmark.toml and fixtures/ (run scripts/setup-fixtures.sh first), `debuginfo` holds the
# binary's debug info, split off so the runtime image does not carry it. Without baked
# fixtures, mount them at /bench (see docs/container.md and k8s/README.md).
#
# No `# syntax=` line: it makes BuildKit pull a frontend image from a registry at build time.
# The cache mounts below need none (Docker 23+ and podman build them as they are; on Docker
# 20.10-22 set DOCKER_BUILDKIT=1). scripts/check-image.sh --full builds this file with podman.
#
# Base images are pinned by tag. For fully reproducible builds also pin the digest, e.g.
#   FROM rust:1.95-bookworm@sha256:<digest>
# (`docker buildx imagetools inspect rust:1.95-bookworm` prints it) and let a bot bump it.

FROM rust:1.95-bookworm AS builder

# python3-pip: scripts/setup-ort.sh downloads the pinned onnxruntime wheel with pip and checks
# its sha256 (the only download source this project uses for ONNX Runtime).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-pip=23.0.1+dfsg-1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# ONNX Runtime first: it changes only when the script's pins change.
COPY scripts/setup-ort.sh scripts/setup-ort.sh
RUN ORT_DIR=/opt/bench-gate scripts/setup-ort.sh

# Only what the build needs (add build.rs or workspace crates here if the repository grows).
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
# The cache mounts keep the registry and target/ between builds; the binary is copied out of
# the cached target/ in the same step. The release profile keeps line tables (file:line in
# backtraces): with the standard library's they are 64 of its 85 MB. The shipped binary is
# stripped of them; they stay in /usr/local/lib/debug/ (the `debuginfo` stage), linked by name.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && mkdir -p /usr/local/lib/debug \
    && objcopy --only-keep-debug target/release/bench-gate /usr/local/lib/debug/bench-gate.debug \
    && objcopy --strip-debug --add-gnu-debuglink=/usr/local/lib/debug/bench-gate.debug \
        target/release/bench-gate /usr/local/bin/bench-gate


FROM debian:bookworm-slim AS runtime

# libonnxruntime.so needs only glibc and libstdc++6; bookworm-slim has both (apt itself needs
# libstdc++6), so nothing is installed. No ca-certificates: the benchmark makes no TLS calls.
# /bench made here, not left to WORKDIR: podman's builder does not create a WORKDIR, and
# `podman kube play` refuses a working directory that does not exist (scripts/check-pod.sh).
RUN groupadd --system --gid 10001 bench \
    && useradd --system --uid 10001 --gid 10001 --home-dir /bench --no-create-home \
        --shell /usr/sbin/nologin bench \
    && mkdir -p /bench

COPY --from=builder /usr/local/bin/bench-gate /usr/local/bin/bench-gate
COPY --from=builder /opt/bench-gate/lib/libonnxruntime.so.1.32.0 /opt/bench-gate/lib/libonnxruntime.so.1.32.0
ENV ORT_DYLIB_PATH=/opt/bench-gate/lib/libonnxruntime.so.1.32.0

# benchmark.toml and fixtures/ live here: mounted (a volume or ConfigMap) or baked below.
WORKDIR /bench
USER 10001:10001
ENTRYPOINT ["bench-gate"]
CMD ["env"]


# Optional: the repository's benchmark.toml and fixtures baked in, owned by root and read-only
# for the benchmark user. Needs the generated models (scripts/setup-fixtures.sh) in the context.
FROM runtime AS with-fixtures
COPY benchmark.toml /bench/benchmark.toml
COPY fixtures/ /bench/fixtures/
CMD ["run", "-c", "/bench/benchmark.toml"]


# The binary's debug info, to symbolise a crash of the runtime image's binary (gdb finds it by
# the debuglink name):  docker build --target debuginfo --output type=local,dest=debuginfo .
FROM scratch AS debuginfo
COPY --from=builder /usr/local/lib/debug/bench-gate.debug /bench-gate.debug


# The default target (`docker build .` without --target) is the runtime image, so a plain build
# never needs the generated fixtures.
FROM runtime
