#!/usr/bin/env python3
"""Encoder variants that differ in structure, not in input length, for benches/bench_duet.py.

Same generator and input as the tiny Whisper encoder (fixtures/gen_whisper.py), with one thing
changed, the way a pull request changes a model:
  ffn1728   the feed-forward layers 12.5% wider (1536 -> 1728): a few percent more work
  ffn1792   the feed-forward layers 16.7% wider (1536 -> 1792): about 5% more work
  layers5   one more encoder layer (4 -> 5): about a fifth more work
The weights are seeded random (what a performance gate measures is the shapes, not the values);
the true slowdown is measured by the benchmark, not assumed from this arithmetic.

Usage: gen_structural_variants.py OUT_DIR   -> OUT_DIR/encoder-ffn1728.onnx, encoder-ffn1792.onnx,
                                      encoder-layers5.onnx
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import gen_whisper  # noqa: E402

VARIANTS = {
    "ffn1728": dict(ffn=1728),
    "ffn1792": dict(ffn=1792),
    "layers5": dict(enc_layers=5),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    base = gen_whisper.SIZES["tiny"]
    for name, change in VARIANTS.items():
        cfg = dict(base, **change)
        weights = gen_whisper.make_weights(cfg, gen_whisper.SEED["tiny"])
        path = os.path.join(out, f"encoder-{name}.onnx")
        data = gen_whisper.build_encoder(weights, cfg).SerializeToString()
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        print(name, path)


if __name__ == "__main__":
    main()
