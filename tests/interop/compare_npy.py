#!/usr/bin/python3
"""compare_npy.py A.npy B.npy MAX_REL_L2: exits 1 when ||A−B||/||B|| exceeds the bound."""
import sys

import numpy as np

a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
bound = float(sys.argv[3])
if a.shape != b.shape:
    print(f"shape {a.shape} vs {b.shape}")
    sys.exit(1)
rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)
same_top1 = (a.reshape(a.shape[0], -1).argmax(1) == b.reshape(b.shape[0], -1).argmax(1)).all()
print(f"relative L2 {rel:.2e} (bound {bound:.0e}), same argmax: {same_top1}")
sys.exit(0 if rel <= bound else 1)
