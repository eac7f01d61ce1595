"""Python onnxruntime baseline for benches/harness_overhead.py: the same model, thread count,
session options and core as benches/overhead.toml. Prints the median latency in ms as JSON."""
import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--cpu", type=int, default=1)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--iterations", type=int, default=15)
a = p.parse_args()

os.sched_setaffinity(0, {a.cpu})  # before the session: ORT's threads inherit the mask
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.add_session_config_entry("session.intra_op.allow_spinning", "0")
so.add_session_config_entry("session.inter_op.allow_spinning", "0")
sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
x = np.random.default_rng(1).uniform(-1, 1, (1, 80, 3000)).astype(np.float32)
feed = {"input_features": x}
for _ in range(a.warmup):
    sess.run(None, feed)
samples = []
for _ in range(a.iterations):
    t = time.perf_counter()
    sess.run(None, feed)
    samples.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"median_ms": statistics.median(samples), "ort": ort.__version__}))
