#!/usr/bin/env bash
# winq's float executor against ONNX Runtime on whole torchvision networks
# (random weights): outputs must agree within 1e-4 relative L2.
# Usage: ort_compare.sh WINQ_BINARY WORK_DIR
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
mkdir -p "$work"
/usr/bin/python3 "$here/make_torchvision_models.py" "$work" > /dev/null
fail=0
for m in resnet18 mobilenet_v2 mobilenet_v3_small squeezenet1_1 shufflenet_v2_x1_0; do
  node "$here/ort_run.js" "$work/$m.onnx" "$work/$m.ort.npy" "$work/$m.input.npy"
  "$winq" run "$work/$m.onnx" -i "$work/$m.input.npy" -o "$work/$m.winq.npy" 2> /dev/null
  printf '%-20s ' "$m"
  if ! /usr/bin/python3 "$here/compare_npy.py" "$work/$m.winq.npy" "$work/$m.ort.npy" 1e-4; then fail=1; fi
done
exit $fail
