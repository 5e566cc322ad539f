#!/usr/bin/env bash
# A flex run (learned Winograd transforms) exported by winq runs in ONNX
# Runtime: `export-run --target onnxruntime` writes each learned layer as the
# Winograd computation in standard operators (grouped Conv, 1×1 grouped Conv,
# grouped ConvTranspose, Slice); ONNX Runtime's outputs equal winq's within
# 1e-4 relative L2 and give the same classes — both winq on that file and winq
# on the run's own best.onnx (Conv nodes carrying the learned transforms).
# Usage: ort_flex.sh WINQ_BINARY WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
winq="$1"
work="$2"
export NODE_PATH="$root/.deps/ort/node_modules"
if [[ ! -d "$NODE_PATH/onnxruntime-node" ]]; then
  echo "onnxruntime-node is not installed: run scripts/setup.sh" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
fail=0
for m in 2 4 6; do
  "$winq" train --flex --F "$m" --mult 0.125 --epochs 1 --train-images 256 --test-images 64 --batch-size 64 \
    --threads 2 --lr 0.05 --out "$work/runs" > /dev/null 2>&1
  best=$(find "$work/runs" -path "*flex_F$m*" -name best.onnx | head -1)
  [[ -n "$best" ]] || { echo "F$m: the flex run wrote no best.onnx"; exit 1; }
  model="$work/flex$m.onnx"
  "$winq" export-run "$(dirname "$best")" --target onnxruntime -o "$model" 2> /dev/null
  transposes=$("$winq" summary "$model" | grep -c ConvTranspose || true)
  if ((transposes != 16)); then echo "F$m: expected 16 learned Winograd layers, found $transposes"; fail=1; fi
  "$winq" data --model "$model" --images 32 -o "$work/x.npy" 2> /dev/null
  "$winq" run "$model" -i "$work/x.npy" -o "$work/winq$m.npy" 2> /dev/null
  "$winq" run "$best" -i "$work/x.npy" -o "$work/winq_best$m.npy" 2> /dev/null
  node "$here/ort_run.js" "$model" "$work/ort$m.npy" "$work/x.npy"
  printf 'flex F(%s,3), 16 layers, standard operators: ' "$m"
  if ! /usr/bin/python3 "$here/compare_npy.py" "$work/winq$m.npy" "$work/ort$m.npy" 1e-4; then fail=1; fi
  printf 'flex F(%s,3), best.onnx (learned transforms on Conv) vs ONNX Runtime: ' "$m"
  if ! /usr/bin/python3 "$here/compare_npy.py" "$work/winq_best$m.npy" "$work/ort$m.npy" 1e-4; then fail=1; fi
done
exit $fail
