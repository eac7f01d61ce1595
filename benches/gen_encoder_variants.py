#!/usr/bin/env python3
"""Encoder variants that do proportionally more real work, for scripts/bench-verdict.sh.

The generated tiny Whisper encoder (fixtures/gen_whisper.py) fixes its sinusoidal position table
at `enc_positions` = 1500 frames after the stride-2 conv, so a longer input needs a longer table.
Each variant here is the same weights with `enc_positions` = 1500 * (1 + p) and is fed
2 * enc_positions mel frames: p more audio. Convolutions, projections and the FFN grow linearly
with the frames, attention scores quadratically, so the true slowdown is p or a little more; the
benchmark measures it with interleaved rounds instead of trusting this arithmetic.

Usage: gen_encoder_variants.py OUT_DIR PCT [PCT ...]   (e.g. 2.5 5 10)
Writes OUT_DIR/encoder-pPCT.onnx and prints "PCT FRAMES PATH" per variant.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import gen_whisper  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    base = gen_whisper.SIZES["tiny"]
    weights = gen_whisper.make_weights(base, gen_whisper.SEED["tiny"])
    for arg in sys.argv[2:]:
        pct = float(arg)
        positions = round(base["enc_positions"] * (1 + pct / 100))
        cfg = dict(base, enc_positions=positions)
        path = os.path.join(out, f"encoder-p{arg}.onnx")
        data = gen_whisper.build_encoder(weights, cfg).SerializeToString()
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        print(pct, 2 * positions, path)


if __name__ == "__main__":
    main()
