"""Harness overhead: bench-gate's median latency against Python onnxruntime's on the same model
(the tiny Whisper encoder), same thread count, same pinned core, alternating round by round in
one run so machine drift hits both equally. Reports per-round ratios and their median.

Usage: python3 benches/harness_overhead.py [--rounds 8]   (after scripts/setup.sh and a
release build; installs onnxruntime==1.32.0 into .venv if missing)."""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument("--rounds", type=int, default=8)
p.add_argument("--cpu", type=int, default=1)
p.add_argument("--iterations", type=int, default=15)
a = p.parse_args()

model = REPO / "fixtures/models/whisper-tiny/encoder_model.onnx"
binary = REPO / "target/release/bench-gate"
py = REPO / ".venv/bin/python"
if not py.exists():
    py = Path(sys.executable)
if subprocess.run([str(py), "-c", "import onnxruntime"], capture_output=True).returncode != 0:
    subprocess.run([str(py), "-m", "pip", "install", "-q", "onnxruntime==1.32.0"], check=True)


def bench_gate():
    out = subprocess.run(
        [str(binary), "run", "-q", "--format", "json", "-c", str(REPO / "benches/overhead.toml"),
         "--cpus", str(a.cpu), "--iterations", str(a.iterations)],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["models"][0]["latency_ms"]["median"]


def python():
    out = subprocess.run(
        [str(py), str(REPO / "benches/ort_python.py"), "--model", str(model), "--cpu", str(a.cpu),
         "--iterations", str(a.iterations)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


ratios = []
for r in range(a.rounds):
    order = [bench_gate, python] if r % 2 == 0 else [python, bench_gate]
    got = {f.__name__: f() for f in order}
    ratio = got["bench_gate"] / got["python"]
    ratios.append(ratio)
    print(f"round {r + 1}: bench-gate {got['bench_gate']:.1f} ms, python {got['python']:.1f} ms, ratio {ratio:.3f}", flush=True)
print(json.dumps({"rounds": a.rounds, "median_ratio": statistics.median(ratios),
                  "min_ratio": min(ratios), "max_ratio": max(ratios)}))
