#!/usr/bin/env python3
"""How much fake-quantizing the Winograd transform matrices themselves costs.

Quantization-aware training "at every stage" (the original Winograd-aware
work) rounds Aᵀ, G and Bᵀ to B-bit grids. This measures, for the exact
matrices of F(m,3) from `winq transforms --json`, the largest error of one
2-D tile Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A relative to its largest output, with the
three matrices rounded per tensor or per row (median over 20 random tiles
and kernels, seed 0). Usage: transform_quant_error.py WINQ_BINARY [M ...]
"""
import json
import subprocess
import sys
from fractions import Fraction

import numpy as np


def matrices(winq, m):
    out = subprocess.run([winq, "transforms", "--m", str(m), "--json"], capture_output=True, check=True, text=True)
    j = json.loads(out.stdout)
    return {k: np.array([[float(Fraction(x)) for x in row] for row in j[k]["exact"]]) for k in ("AT", "G", "BT")}


def fake_quant(a, bits, per_row):
    top = np.abs(a).max(axis=1, keepdims=True) if per_row else np.abs(a).max()
    scale = np.where(top == 0, 1.0, top) / (2 ** (bits - 1) - 1)
    return np.round(a / scale) * scale


def main():
    winq = sys.argv[1]
    tiles = [int(m) for m in sys.argv[2:]] or [2, 4, 6]
    print("| tile | bits | per tensor | per row |")
    print("|---|---|---|---|")
    for m in tiles:
        t = matrices(winq, m)
        n = t["BT"].shape[0]
        for bits in (8, 6, 4):
            cells = []
            for per_row in (False, True):
                rng = np.random.default_rng(0)
                q = {k: fake_quant(v, bits, per_row) for k, v in t.items()}
                errs = []
                for _ in range(20):
                    d, g = rng.standard_normal((n, n)), rng.standard_normal((3, 3))
                    tile = lambda x: x["AT"] @ ((x["G"] @ g @ x["G"].T) * (x["BT"] @ d @ x["BT"].T)) @ x["AT"].T
                    ref = tile(t)
                    errs.append(np.abs(tile(q) - ref).max() / np.abs(ref).max())
                cells.append(f"{np.median(errs):.3g}")
            print(f"| F({m},3) | {bits} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
