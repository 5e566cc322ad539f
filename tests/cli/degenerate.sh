#!/usr/bin/env bash
# Degenerate calibration data and models, end to end through the CLI:
#  - constant images (all 0, all 255): calibrate, quantize (W8A8 and W4A4 int8
#    Winograd F4) and run succeed with finite outputs (documented: a plan
#    calibrated on one constant image is valid but inaccurate);
#  - an all-zero weight channel: quantizes and runs, finite outputs;
#  - NaN/Inf in a weight: calibrate and quantize refuse it with one clear line;
#  - NaN/±Inf in the input of a quantized model: finite outputs (NaN quantizes
#    to the zero point, ±Inf saturates — QuantizeLinear as winq defines it).
# Usage: degenerate.sh WINQ_BINARY FLOAT_MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
mkdir -p "$work"
fail=0
check() {  # check NAME CMD...: must succeed
  if "${@:2}" > "$work/out.txt" 2>&1; then echo "$1: ok"; else echo "$1: FAILED"; cat "$work/out.txt"; fail=1; fi
}
refuse() {  # refuse NAME PATTERN CMD...: must fail with a one-line error matching PATTERN, no crash
  set +e
  "${@:3}" > "$work/out.txt" 2>&1
  local rc=$?
  set -e
  if ((rc == 1)) && grep -q "^winq: error: .*$2" "$work/out.txt"; then
    echo "$1: refused ($(grep '^winq: error' "$work/out.txt" | head -1 | cut -c1-120))"
  else
    echo "$1: expected a clear refusal matching '$2', got status $rc:"; cat "$work/out.txt"; fail=1
  fi
}
finite() {  # finite NAME FILE.npy
  if /usr/bin/python3 -c "import sys, numpy as np; sys.exit(0 if np.isfinite(np.load('$2')).all() else 1)"; then
    echo "$1: finite"
  else
    echo "$1: NON-FINITE outputs"; fail=1
  fi
}

/usr/bin/python3 - "$work" "$model" <<'PY'
import sys
import numpy as np
import onnx
from onnx import numpy_helper
work, model = sys.argv[1], sys.argv[2]
m = onnx.load(model)
inp = m.graph.input[0].type.tensor_type.shape.dim
h, w = inp[2].dim_value, inp[3].dim_value
np.save(f"{work}/zeros.npy", np.zeros((16, h, w), np.uint8))
np.save(f"{work}/full.npy", np.full((16, h, w), 255, np.uint8))
x = np.zeros((4, 1, h, w), np.float32)
x[0, 0, 3, 3] = np.nan
x[1] = np.inf
x[2] = -np.inf
x[3, 0, ::2] = np.nan
np.save(f"{work}/nonfinite_input.npy", x)
def edit(name, fn):
    mm = onnx.load(model)
    for init in mm.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.ndim == 4:
            a = a.copy()
            fn(a)
            init.CopyFrom(numpy_helper.from_array(a, init.name))
            break
    onnx.save(mm, f"{work}/{name}.onnx")
edit("nan_weight", lambda a: a.flat.__setitem__(5, np.nan))
edit("inf_weight", lambda a: a.flat.__setitem__(0, -np.inf))
def zero(a): a[1] = 0
edit("zero_channel", zero)
PY

for d in zeros full; do
  check "calibrate on constant images ($d)" "$winq" calibrate "$model" --data "$work/$d.npy" --stats "$work/$d.json"
  check "quantize W8A8 ($d)" "$winq" quantize "$model" --stats "$work/$d.json" -o "$work/$d.w8.onnx"
  check "quantize W4A4 F4 ($d)" "$winq" quantize "$model" --stats "$work/$d.json" -o "$work/$d.f4.onnx" --wbits 4 \
    --abits 4 --clip aciq-laplace --bias-correction --winograd F4
  for q in w8 f4; do
    check "run $q ($d)" "$winq" run "$work/$d.$q.onnx" -i "$work/nonfinite_input.npy" -o "$work/$d.$q.out.npy"
    finite "outputs of $q ($d) on NaN/Inf input" "$work/$d.$q.out.npy"
  done
done
check "calibrate with an all-zero channel" "$winq" calibrate "$work/zero_channel.onnx" --images 64 --stats "$work/zc.json"
check "quantize with an all-zero channel" "$winq" quantize "$work/zero_channel.onnx" --stats "$work/zc.json" \
  -o "$work/zc.onnx" --bias-correction --bit-alloc --wbits 4
check "run with an all-zero channel" "$winq" run "$work/zc.onnx" -i "$work/nonfinite_input.npy" -o "$work/zc.out.npy"
finite "outputs with an all-zero channel" "$work/zc.out.npy"
refuse "calibrate a NaN weight" "NaN/Inf" "$winq" calibrate "$work/nan_weight.onnx" --images 16 --stats "$work/nan.json"
refuse "quantize a NaN weight" "NaN/Inf" "$winq" quantize "$work/nan_weight.onnx" --stats "$work/zc.json" -o "$work/nan.onnx"
refuse "calibrate an Inf weight" "NaN/Inf" "$winq" calibrate "$work/inf_weight.onnx" --images 16 --stats "$work/inf.json"
[[ ! -e "$work/nan.onnx" && ! -e "$work/nan.json" ]] || { echo "a refused command left an output file"; fail=1; }
exit $fail
