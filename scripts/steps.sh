# Step logging for the check scripts (check-image.sh, check-pod.sh): each step is printed with
# the seconds since the start, and a failure names the step it happened in. Source it after
# setting CHECK_NAME.
# shellcheck shell=bash
STEP=""
T0=$SECONDS
step() {
    STEP="$1"
    echo "$CHECK_NAME: [$((SECONDS - T0))s] $STEP" >&2
}
log() { echo "$CHECK_NAME:   $*" >&2; }
fail() {
    echo "$CHECK_NAME: FAILED at step \"$STEP\": $*" >&2
    STEP=""
    exit 1
}
skip() {
    echo "$CHECK_NAME: SKIPPED: $*" >&2
    exit 0
}
