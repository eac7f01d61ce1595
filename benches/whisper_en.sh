#!/usr/bin/env bash
# The figures of docs/accuracy.md: trained Whisper tiny.en fp32 vs int8, decoding to
# <|endoftext|>, and the fp32 files decoded the old way (16 tokens, no EOT), on one pinned core
# (benches/whisper_en.toml). Four rounds in alternating model order, so a drift of the machine's
# speed during a round does not always favour the same model: odd rounds are one `run` of the whole
# config (models in name order: fp32, fp32-cap16, int8), even rounds one `run` per model in reverse.
# Then prints a markdown table per round, the int8/fp32 and decoder-share figures, and the
# labelled utterances whose int8 transcript differs from fp32's. Last, an interleaved `ab` duet of
# fp32 against int8 gives the same ratio with a confidence interval.
#
#   benches/whisper_en.sh                      # after scripts/setup.sh and cargo build --release
#   BENCH_GATE=/path/to/bench-gate ITERATIONS=15 ROUNDS=4 OUT=DIR benches/whisper_en.sh
#   AB=0 benches/whisper_en.sh                 # without the interleaved duet (AB_BUDGET_S=150)
#   benches/whisper_en.sh --report DIR         # only print the tables of an earlier OUT
#
# About 1.5 minutes per round and 3 for the duet (10 in all) on the 2-vCPU dev machine.
set -euo pipefail
cd "$(dirname "$0")/.."

BG="${BENCH_GATE:-target/release/bench-gate}"
ITERATIONS="${ITERATIONS:-15}"
ROUNDS="${ROUNDS:-4}"
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
    if [[ "${AB:-1}" != 0 ]]; then
        # The int8/fp32 ratio once more, interleaved iteration by iteration (`ab`: ABBA/BAAB blocks
        # on fresh worker pairs), which cancels the drift of the core's speed that sequential
        # runs suffer. `ab` wants one model name in two configs: written from the fp32 and int8
        # tables of the config, with absolute paths.
        echo "interleaved duet fp32 (A) vs int8 (B) -> $OUT/ab.json" >&2
        python3 - "$CONFIG" "$OUT" <<'PY'
import os, sys, tomllib
config, out = sys.argv[1], sys.argv[2]
cfg = tomllib.load(open(config, "rb"))
base = os.path.dirname(os.path.abspath(config))
paths = ("encoder", "decoder", "decoder_with_past", "fixture", "tokenizer", "labelled_set")
def toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    return str(v)
for side, name in (("a", "tiny.en-fp32"), ("b", "tiny.en-int8")):
    m = cfg["models"][name]
    lines = ["[run]"] + [f"{k} = {toml(v)}" for k, v in cfg["run"].items()]
    lines.append('[models."tiny.en"]')
    for k, v in m.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {toml(os.path.normpath(os.path.join(base, v)) if k in paths else v)}")
    for sub in ("session", "whisper"):
        lines.append(f'[models."tiny.en".{sub}]')
        lines += [f"{k} = {toml(v)}" for k, v in m[sub].items()]
    open(os.path.join(out, f"ab-{side}.toml"), "w").write("\n".join(lines) + "\n")
PY
        "$BG" ab -c "$OUT/ab-a.toml" --a-config "$OUT/ab-a.toml" --b-config "$OUT/ab-b.toml" \
            --budget "${AB_BUDGET_S:-150}" --worker-pairs 4 -q -o "$OUT/ab.json" || true
    fi
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
      "| decoder ms/token | tokens | decoder share | peak MiB | WER % | others busy (CPUs) | waited for CPU |")
print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for r, models in sorted(rounds.items()):
    for name in sorted(models):
        m = models[name]
        lat = m["latency_ms"]
        dec = stage(m, "decoder")
        wer = m.get("accuracy") or {}
        wer = f"{wer['wer_pct']:.2f}" if "wer_pct" in wer else "-"
        during = m.get("during") or {}
        busy = during.get("others_busy_cpus")
        busy = f"{busy:.2f}" if busy is not None else "-"
        wait = during.get("run_delay_ratio")
        wait = f"{100 * wait:.0f}%" if wait is not None else "-"
        print(f"| {r} | {name} | {lat['median']:.1f} | {lat['median_ci']['low']:.0f}-"
              f"{lat['median_ci']['high']:.0f} | {m['rtf']:.1f}x | {stage(m, 'features')['median_ms']:.1f} "
              f"| {stage(m, 'encoder')['median_ms']:.1f} | {dec['median_ms']:.1f} "
              f"| {dec['per_token_median_ms']:.2f} | {m['tokens_per_iteration']} "
              f"| {100 * decoder_share(m):.0f}% | {m['memory_mb']:.0f} | {wer} | {busy} | {wait} |")

# One line per model: the median over rounds of each round's figure. Peak memory only from the
# rounds that ran the model in a process of its own: `run` resets the peak mark (VmHWM) to the
# current RSS before each model, and that still holds what the allocator kept of earlier models.
def over_rounds(name, get):
    values = [get(models[name]) for models in rounds.values() if name in models]
    return statistics.median(values), min(values), max(values)

def alone(r, name):
    return not os.path.exists(os.path.join(out, f"round{r}.json")) or name == "tiny.en-fp32"

print("\nMedian over rounds (range over rounds):\n")
print("| model | median ms | RTF | encoder ms | decoder ms | decoder ms/token | tokens | decoder share "
      "| peak MiB (first model in its process) |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for name in sorted({n for models in rounds.values() for n in models}):
    med, lo, hi = over_rounds(name, lambda m: m["latency_ms"]["median"])
    rtf = over_rounds(name, lambda m: m["rtf"])[0]
    enc = over_rounds(name, lambda m: stage(m, "encoder")["median_ms"])[0]
    dec = over_rounds(name, lambda m: stage(m, "decoder")["median_ms"])[0]
    per = over_rounds(name, lambda m: stage(m, "decoder")["per_token_median_ms"])[0]
    share = over_rounds(name, decoder_share)
    tokens = sorted({m["tokens_per_iteration"] for models in rounds.values() for n, m in models.items() if n == name})
    mem = [models[name]["memory_mb"] for r, models in rounds.items() if name in models and alone(r, name)]
    mem = f"{statistics.median(mem):.0f} ({min(mem):.0f}-{max(mem):.0f})" if mem else "-"
    print(f"| {name} | {med:.0f} ({lo:.0f}-{hi:.0f}) | {rtf:.1f}x | {enc:.0f} | {dec:.0f} | {per:.2f} "
          f"| {'/'.join(map(str, tokens))} | {100 * share[0]:.0f}% ({100 * share[1]:.0f}-{100 * share[2]:.0f}%) "
          f"| {mem} |")

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

ab_path = os.path.join(out, "ab.json")
if os.path.exists(ab_path):
    ab = json.load(open(ab_path))["models"][0]
    ci = ab.get("ci_pct") or {}
    change = ab.get("change_pct")
    if change is not None and ci:
        # The interval's confidence depends on the look at which the duet stopped: its reason says.
        print(f"\nInterleaved duet (`ab`, int8 = B against fp32 = A): change {change:+.1f}% "
              f"[{ci['low']:+.1f}, {ci['high']:+.1f}], i.e. int8/fp32 = {1 + change / 100:.3f} "
              f"[{1 + ci['low'] / 100:.3f}, {1 + ci['high'] / 100:.3f}]; {ab['iterations']} iterations, "
              f"{ab['wall_time_s']:.0f} s; verdict {ab['verdict']}: {ab['reasons'][0]}\n{ab['test']}")
    else:
        reason = (ab.get("reasons") or ["no reason given"])[0].splitlines()[0]
        print(f"\nInterleaved duet: no interval ({reason})")
    mem = ab.get("memory") or {}
    if mem.get("change_pct") is not None:
        print(f"Peak memory in the duet: int8 {mem['candidate_mb']:.0f} MiB vs fp32 {mem['baseline_mb']:.0f} MiB "
              f"({mem['change_pct']:+.1f}% [{mem['ci_pct']['low']:+.1f}, {mem['ci_pct']['high']:+.1f}])")

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

# Each round transcribed the set again in another process: the transcripts should not move.
for name in ("tiny.en-fp32", "tiny.en-int8"):
    seen = {json.dumps([u["tokens"] for u in models[name]["accuracy"]["utterances"]])
            for models in rounds.values() if name in models and models[name].get("accuracy")}
    print(f"{name}: {'the same tokens in every round' if len(seen) == 1 else f'{len(seen)} different token sets over the rounds'}")
EOF
