#!/usr/bin/env python3
"""Gives every 3x3 stride-1 Conv of an ONNX model (group 1, at least 8 input
channels) "learned" Winograd F(m,3) transforms: winq's exact matrices from
TRANSFORMS_JSON (`winq transforms --m M --json`) plus a small deterministic
perturbation, as the attributes a flex-trained layer carries
(winq_winograd_at / _g / _bt, row-major floats). The result is no longer the
model's convolution: winq runs each such layer as that Winograd computation.

Usage: add_learned_transforms.py IN.onnx TRANSFORMS_JSON OUT.onnx [--scale S] [--seed N]
"""
import argparse
import json

import numpy as np
import onnx
from onnx import helper, numpy_helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("transforms")
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=0.003, help="perturbation, relative to each matrix's max |entry|")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    t = json.load(open(a.transforms))
    mats = {k: np.array(t[k]["float"], dtype=np.float64) for k in ("AT", "G", "BT")}
    rng = np.random.default_rng(a.seed)
    model = onnx.load(a.model)
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in weights:
            continue
        w = weights[node.input[1]]
        attrs = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        if w.ndim != 4 or w.shape[2:] != (3, 3) or w.shape[1] < 8 or attrs.get("group", 1) != 1:
            continue
        if any(s != 1 for s in attrs.get("strides", [1, 1])) or any(d != 1 for d in attrs.get("dilations", [1, 1])):
            continue
        for key, name in (("AT", "winq_winograd_at"), ("G", "winq_winograd_g"), ("BT", "winq_winograd_bt")):
            m = mats[key]
            p = m + a.scale * np.abs(m).max() * rng.standard_normal(m.shape)
            node.attribute.append(helper.make_attribute(name, [float(v) for v in p.astype(np.float32).ravel()]))
        changed += 1
    if not changed:
        raise SystemExit("no 3x3 stride-1 Conv with at least 8 input channels")
    onnx.save(model, a.out)
    print(f"{changed} layers with learned transforms")


if __name__ == "__main__":
    main()
