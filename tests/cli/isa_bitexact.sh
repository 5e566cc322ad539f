#!/usr/bin/env bash
# Whole models on the integer engine: the logits are byte-identical on every
# ISA path (scalar = the unpacked reference kernels) and thread count, for
# direct W8A8/W4A4 plans, int8 Winograd F(4,3)/F(6,3)/F(4×1,3×3) plans, and F(4,3)
# with learned (non-Cook–Toom) transforms on every layer that can take them
# (tests/models/add_learned_transforms.py: integer-scaled Bᵀ rows, arbitrary
# Aᵀ — the generic kernel paths, not the constant ones). Besides real
# test images, adversarial ones drive every integer kernel at its limits: the
# whole input at the quantizer's top or bottom (every activation at qmax/qmin),
# a ±max checkerboard and stripes (alternating signs, the worst case of the
# Winograd input transforms), and constants.
# Usage: isa_bitexact.sh WINQ_BINARY FLOAT_MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
mkdir -p "$work"
"$winq" calibrate "$model" --images 200 --stats "$work/stats.json" 2> /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/w8a8.onnx" > /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/w4a4.onnx" --wbits 4 --abits 4 --clip aciq-laplace \
  --bias-correction --bit-alloc > /dev/null
# int8 Winograd plans (the small model's 3×3 stride-1 layers with ≥ 8 input channels).
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/wino_f4.onnx" --winograd F4 > /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/wino_f6.onnx" --winograd F6 --winograd-clip kl > /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/wino_f4x1.onnx" --winograd F4 --winograd-1d > /dev/null
# Learned transforms: the layers run as their own F(4,3) whatever --winograd says.
here="$(cd "$(dirname "$0")" && pwd)"
"$winq" transforms --m 4 --json > "$work/f4.json"
/usr/bin/python3 "$here/../models/add_learned_transforms.py" "$model" "$work/f4.json" "$work/learned.onnx" > /dev/null
"$winq" calibrate "$work/learned.onnx" --images 200 --stats "$work/learned_stats.json" 2> /dev/null
"$winq" quantize "$work/learned.onnx" --stats "$work/learned_stats.json" -o "$work/learned_f4.onnx" > /dev/null
"$winq" data --model "$model" --images 300 -o "$work/real.npy" 2> /dev/null
/usr/bin/python3 - "$work/real.npy" "$work/images.npy" <<'PY'
import sys
import numpy as np
real = np.load(sys.argv[1])
shape = real.shape[1:]
h, w = shape[-2], shape[-1]
yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
checker = np.where((yy + xx) % 2 == 0, 1.0, -1.0)
stripes = np.where(xx % 2 == 0, 1.0, -1.0)
big = 1e3
adv = [np.full(shape, big), np.full(shape, -big), np.zeros(shape), np.full(shape, real.max()),
       np.broadcast_to(checker * big, shape), np.broadcast_to(-checker * big, shape),
       np.broadcast_to(stripes * big, shape), np.broadcast_to(stripes.T[:h, :w] * big if h == w else stripes, shape),
       np.broadcast_to(np.where(checker > 0, real.max(), real.min()), shape)]
np.save(sys.argv[2], np.concatenate([real, np.stack(adv).astype(np.float32)]).astype(np.float32))
PY
best=$("$winq" info --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["isa"]["best"])')
fail=0
for q in w8a8 w4a4 wino_f4 wino_f6 wino_f4x1 learned_f4; do
  WINQ_ISA=scalar "$winq" run "$work/$q.onnx" -i "$work/images.npy" -o "$work/$q.scalar.npy" --threads 1 2> /dev/null
  for isa in scalar avx2 avx512vnni; do
    for t in 1 2; do
      if [[ $isa == avx512vnni && $best != avx512vnni ]] || [[ $isa == avx2 && $best == scalar ]]; then
        echo "$q $isa: skipped (this CPU lacks it)"
        continue
      fi
      WINQ_ISA=$isa "$winq" run "$work/$q.onnx" -i "$work/images.npy" -o "$work/$q.$isa.$t.npy" --threads $t 2> /dev/null
      if cmp -s "$work/$q.scalar.npy" "$work/$q.$isa.$t.npy"; then
        echo "$q $isa threads=$t: identical"
      else
        echo "$q $isa threads=$t: DIFFERS from the scalar reference"
        fail=1
      fi
    done
  done
done
exit $fail
