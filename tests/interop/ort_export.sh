#!/usr/bin/env bash
# winq export --target onnxruntime: int8 Winograd plans (F4 and the 1-D F4×1)
# exported as standard ONNX, run by ONNX Runtime (npm onnxruntime-node) on the
# 10,000 test images and compared with winq's own engine: ONNX Runtime on the
# export = winq on the export (direct QDQ convs) within 0.1 points of top-1,
# and within 1.0 point of the Winograd plan it came from on winq's engine.
# The same for a model whose layers carry learned F(4,3) transforms
# (tests/models/add_learned_transforms.py): its int8 plan exports them as the
# Winograd computation in standard operators, and the float model's export
# gives winq's float outputs in ONNX Runtime within 1e-4 relative L2.
# Usage: ort_export.sh WINQ_BINARY FLOAT_MODEL WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
winq="$1"
model="$2"
work="$3"
export NODE_PATH="$root/.deps/ort/node_modules"
if [[ ! -d "$NODE_PATH/onnxruntime-node" ]]; then
  echo "onnxruntime-node is not installed: run scripts/setup.sh" >&2
  exit 1
fi
mkdir -p "$work"
# ONNX Runtime's u8×s8 kernels on a CPU without VNNI add two products in 16 bits
# (vpmaddubsw) and saturate for 8-bit weights: there the plans take 7-bit
# weights (ONNX Runtime's reduce_range), which both engines compute exactly.
wbits=()
if ! "$winq" info --json | /usr/bin/python3 -c \
    'import json, sys; f = json.load(sys.stdin)["features"]; sys.exit(0 if f["avx512vnni"] or f["avxvnni"] else 1)'; then
  echo "this CPU has no VNNI: ONNX Runtime's 8-bit u8×s8 products saturate here, so the plans use --wbits 7"
  wbits=(--wbits 7)
fi
"$winq" calibrate "$model" --images 300 --stats "$work/stats.json" 2> /dev/null
"$winq" data --model "$model" -o "$work/images.npy" --labels "$work/labels.npy" 2> /dev/null
fail=0
"$winq" transforms --m 4 --json > "$work/f4.json"
/usr/bin/python3 "$here/../models/add_learned_transforms.py" "$model" "$work/f4.json" "$work/learned.onnx" > /dev/null
"$winq" calibrate "$work/learned.onnx" --images 300 --stats "$work/learned_stats.json" 2> /dev/null
"$winq" export "$work/learned.onnx" --target onnxruntime -o "$work/learned_float.ort.onnx" > /dev/null
"$winq" data --model "$model" --images 64 -o "$work/few.npy" 2> /dev/null
node "$here/ort_run.js" "$work/learned_float.ort.onnx" "$work/learned_float.ort.npy" "$work/few.npy"
"$winq" run "$work/learned.onnx" -i "$work/few.npy" -o "$work/learned_float.winq.npy" 2> /dev/null
printf 'learned F(4,3) float model, ONNX Runtime on the export vs winq: '
/usr/bin/python3 "$here/compare_npy.py" "$work/learned_float.winq.npy" "$work/learned_float.ort.npy" 1e-4 || fail=1
for plan in "F4" "F4 --winograd-1d" "learned"; do
  name=$(echo "$plan" | tr -d ' -')
  if [[ $plan == learned ]]; then
    "$winq" quantize "$work/learned.onnx" --stats "$work/learned_stats.json" -o "$work/$name.onnx" "${wbits[@]}" > /dev/null
  else
    # shellcheck disable=SC2086
    "$winq" quantize "$model" --stats "$work/stats.json" -o "$work/$name.onnx" --winograd $plan "${wbits[@]}" > /dev/null
  fi
  "$winq" export "$work/$name.onnx" --target onnxruntime -o "$work/$name.ort.onnx" | tail -n +2
  node "$here/ort_run.js" "$work/$name.ort.onnx" "$work/$name.ort.npy" "$work/images.npy"
  "$winq" run "$work/$name.ort.onnx" -i "$work/images.npy" -o "$work/$name.export.npy" 2> /dev/null
  "$winq" run "$work/$name.onnx" -i "$work/images.npy" -o "$work/$name.wino.npy" 2> /dev/null
  /usr/bin/python3 - "$work" "$name" <<'PY' || fail=1
import sys
import numpy as np
w, name = sys.argv[1], sys.argv[2]
labels = np.load(f"{w}/labels.npy")
acc = {k: 100.0 * (np.load(f"{w}/{name}.{k}.npy").argmax(1) == labels).mean() for k in ("ort", "export", "wino")}
print(f"{name}: onnxruntime on the export {acc['ort']:.2f}%  winq on the export {acc['export']:.2f}%  "
      f"winq Winograd plan {acc['wino']:.2f}%")
sys.exit(0 if abs(acc["ort"] - acc["export"]) <= 0.1 and abs(acc["ort"] - acc["wino"]) <= 1.0 else 1)
PY
done
exit $fail
