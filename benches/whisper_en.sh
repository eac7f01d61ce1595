#!/usr/bin/env bash
# The figures of docs/accuracy.md: trained Whisper tiny.en fp32 vs int8, decoding to
# <|endoftext|>, and the fp32 files decoded the old way (16 tokens, no EOT), on one pinned core
# (benches/whisper_en.toml). Two rounds in opposite model order, so a drift of the machine's speed
# during a round does not always favour the same model: round 1 is one `run` of the whole config
# (models in name order: fp32, fp32-cap16, int8), round 2 runs them one `run` each in reverse.
# Then prints a markdown table per round, the int8/fp32 and decoder-share figures, and the
# labelled utterances whose int8 transcript differs from fp32's.
#
#   benches/whisper_en.sh                      # after scripts/setup.sh and cargo build --release
#   BENCH_GATE=/path/to/bench-gate ITERATIONS=15 ROUNDS=2 OUT=DIR benches/whisper_en.sh
#   benches/whisper_en.sh --report DIR         # only print the tables of an earlier OUT
#
# About 1.5-2 minutes per round on the 2-vCPU dev machine.
set -euo pipefail
cd "$(dirname "$0")/.."

BG="${BENCH_GATE:-target/release/bench-gate}"
ITERATIONS="${ITERATIONS:-15}"
ROUNDS="${ROUNDS:-2}"
CONFIG=benches/whisper_en.toml
MODELS=(tiny.en-fp32 tiny.en-fp32-cap16 tiny.en-int8)

if [[ "${1:-}" == "--report" ]]; then
    OUT="${2:?usage: $0 --report DIR}"
else
    OUT="${OUT:-$(mktemp -d /tmp/whisper_en.XXXXXX)}"
    mkdir -p "$OUT"
    [[ -x "$BG" ]] || { echo "no bench-gate at $BG: cargo build --release, or set BENCH_GATE" >&2; exit 2; }
    "$BG" env > "$OUT/env.txt" 2>&1 || true
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "round $r of $ROUNDS -> $OUT/round$r*.json" >&2
        if ((r % 2 == 1)); then
            "$BG" run -c "$CONFIG" --iterations "$ITERATIONS" --no-profile -q -o "$OUT/round$r.json"
        else
            for ((i = ${#MODELS[@]} - 1; i >= 0; i--)); do
                m="${MODELS[i]}"
                "$BG" run -c "$CONFIG" -m "$m" --iterations "$ITERATIONS" --no-profile -q \
                    -o "$OUT/round$r-$m.json"
            done
        fi
    done
fi

python3 - "$OUT" <<'EOF'
import glob, json, os, re, statistics, sys

out = sys.argv[1]
rounds = {}  # round number -> {model name -> model result}
for path in sorted(glob.glob(os.path.join(out, "round*.json"))):
    r = int(re.match(r"round(\d+)", os.path.basename(path)).group(1))
    doc = json.load(open(path))
    for m in doc["models"]:
        m["_file_timestamp"] = doc["timestamp"]
        rounds.setdefault(r, {})[m["name"]] = m
if not rounds:
    sys.exit(f"no round*.json in {out}")

def stage(m, name):
    return next(s for s in m["stages"] if s["name"] == name)

def decoder_share(m):
    """Decoder median over the sum of the three stage medians."""
    total = sum(s["median_ms"] for s in m["stages"])
    return stage(m, "decoder")["median_ms"] / total

first = rounds[min(rounds)]
any_m = next(iter(first.values()))
print(f"CPU {any_m['cpu_model']} ({any_m['architecture']}), pinned CPUs {any_m['pinned_cpus']}, "
      f"{any_m['iterations']} iterations per model per round, {len(rounds)} rounds\n")

print("| round | model | median ms | 95% CI of median | RTF | features ms | encoder ms | decoder ms "
      "| decoder ms/token | tokens | decoder share | peak MiB | WER % | others busy (CPUs) |")
print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for r, models in sorted(rounds.items()):
    for name in sorted(models):
        m = models[name]
        lat = m["latency_ms"]
        dec = stage(m, "decoder")
        wer = m.get("accuracy") or {}
        wer = f"{wer['wer_pct']:.2f}" if "wer_pct" in wer else "-"
        busy = (m.get("during") or {}).get("others_busy_cpus")
        busy = f"{busy:.2f}" if busy is not None else "-"
        print(f"| {r} | {name} | {lat['median']:.1f} | {lat['median_ci']['low']:.0f}-"
              f"{lat['median_ci']['high']:.0f} | {m['rtf']:.1f}x | {stage(m, 'features')['median_ms']:.1f} "
              f"| {stage(m, 'encoder')['median_ms']:.1f} | {dec['median_ms']:.1f} "
              f"| {dec['per_token_median_ms']:.2f} | {m['tokens_per_iteration']} "
              f"| {100 * decoder_share(m):.0f}% | {m['memory_mb']:.0f} | {wer} | {busy} |")

print("\n| round | int8/fp32 latency | int8/fp32 encoder | int8/fp32 decoder | decoder share at EOT (fp32) "
      "| decoder share at 16 tokens (fp32) | EOT/cap16 latency (fp32) |")
print("|--:|--:|--:|--:|--:|--:|--:|")
ratios = []
for r, models in sorted(rounds.items()):
    f, i, c = models.get("tiny.en-fp32"), models.get("tiny.en-int8"), models.get("tiny.en-fp32-cap16")
    if not (f and i and c):
        continue
    q = i["latency_ms"]["median"] / f["latency_ms"]["median"]
    ratios.append(q)
    print(f"| {r} | {q:.3f} | {stage(i, 'encoder')['median_ms'] / stage(f, 'encoder')['median_ms']:.3f} "
          f"| {stage(i, 'decoder')['median_ms'] / stage(f, 'decoder')['median_ms']:.3f} "
          f"| {100 * decoder_share(f):.0f}% | {100 * decoder_share(c):.0f}% "
          f"| {f['latency_ms']['median'] / c['latency_ms']['median']:.2f} |")
if ratios:
    print(f"\nint8/fp32 latency ratio, median over rounds: {statistics.median(ratios):.3f} "
          f"(rounds {min(ratios):.3f}-{max(ratios):.3f})")

# Accuracy does not depend on the round: transcripts of the first round.
f, i = first.get("tiny.en-fp32"), first.get("tiny.en-int8")
if f and i and f.get("accuracy") and i.get("accuracy"):
    print(f"\nWER on the labelled set: fp32 {f['accuracy']['wer_pct']:.2f}%, "
          f"int8 {i['accuracy']['wer_pct']:.2f}% ({len(f['accuracy']['utterances'])} utterances, "
          f"normaliser {f['accuracy']['normalizer']})\n")
    print("| utterance | errors fp32 / int8 | fp32 | int8 |")
    print("|---|--:|---|---|")
    by_wav = {u["wav"]: u for u in i["accuracy"]["utterances"]}
    errors = lambda u: u["substitutions"] + u["deletions"] + u["insertions"]
    n = 0
    for u in f["accuracy"]["utterances"]:
        v = by_wav[u["wav"]]
        if u["hypothesis"] != v["hypothesis"]:
            n += 1
            print(f"| {u['wav']} | {errors(u)} / {errors(v)} | {u['hypothesis']} | {v['hypothesis']} |")
    print(f"\n{n} of {len(f['accuracy']['utterances'])} transcripts differ")
EOF
