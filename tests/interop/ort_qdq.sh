#!/usr/bin/env bash
# A QDQ plan made by winq, run by ONNX Runtime (npm onnxruntime-node) on the
# Fashion-MNIST test set: its top-1 must be within 0.1 points of winq's.
# Usage: ort_qdq.sh WINQ_BINARY FLOAT_MODEL WORK_DIR [quantize options...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
winq="$1"
model="$2"
work="$3"
shift 3
export NODE_PATH="$root/.deps/ort/node_modules"
if [[ ! -d "$NODE_PATH/onnxruntime-node" ]]; then
  echo "onnxruntime-node is not installed: run scripts/setup.sh" >&2
  exit 1
fi
mkdir -p "$work"
# ONNX Runtime's u8×s8 kernels on a CPU without VNNI (AVX2, AVX-512 without
# VNNI) add two products in 16 bits with vpmaddubsw, which saturates for 8-bit
# weights (255·127·2 > 32767): its results are then not the QDQ model's.
# There the 8-bit plan is compared with 7-bit weights, ONNX Runtime's own
# remedy (reduce_range): 255·63·2 < 32767, so both engines compute exactly.
if [[ " $* " != *" --wbits "* ]] && ! "$winq" info --json | /usr/bin/python3 -c \
    'import json, sys; f = json.load(sys.stdin)["features"]; sys.exit(0 if f["avx512vnni"] or f["avxvnni"] else 1)'; then
  echo "this CPU has no VNNI: ONNX Runtime's 8-bit u8×s8 products saturate here, so the plan uses --wbits 7"
  set -- "$@" --wbits 7
fi
"$winq" calibrate "$model" --images 300 --stats "$work/stats.json" 2> /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/q.onnx" "$@" > /dev/null
"$winq" data --model "$model" -o "$work/images.npy" --labels "$work/labels.npy" 2> /dev/null
node "$here/ort_run.js" "$work/q.onnx" "$work/ort.npy" "$work/images.npy"
"$winq" run "$work/q.onnx" -i "$work/images.npy" -o "$work/int.npy" 2> /dev/null
"$winq" run "$work/q.onnx" --sim qdq -i "$work/images.npy" -o "$work/qdq.npy" 2> /dev/null
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
w = sys.argv[1]
labels = np.load(f"{w}/labels.npy")
top1 = {k: np.load(f"{w}/{k}.npy").argmax(1) for k in ("ort", "int", "qdq")}
acc = {k: 100.0 * (v == labels).mean() for k, v in top1.items()}
same = 100.0 * (top1["ort"] == top1["int"]).mean()
print(f"top-1: onnxruntime {acc['ort']:.2f}%  winq int {acc['int']:.2f}%  winq qdq {acc['qdq']:.2f}%  "
      f"same class ort/int {same:.2f}%")
sys.exit(0 if abs(acc["ort"] - acc["int"]) <= 0.1 else 1)
PY
