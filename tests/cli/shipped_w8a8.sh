#!/usr/bin/env bash
# The shipped model quantized W8A8 (per-channel, max) and run on the integer
# engine over the 10,000 test images: top-1 within 0.2 points of float.
# Usage: shipped_w8a8.sh WINQ_BINARY MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
mkdir -p "$work"
"$winq" calibrate "$model" --images 500 --stats "$work/stats.json" 2> /dev/null
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/w8a8.onnx" > /dev/null
"$winq" eval "$work/w8a8.onnx" --reference "$model" --json 2> /dev/null > "$work/eval.json"
/usr/bin/python3 - "$work/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
drop = r["reference"]["top1"] - r["top1"]
print(f"float {r['reference']['top1']:.2f}%  W8A8 int8 engine {r['top1']:.2f}%  drop {drop:+.2f}  agreement {100 * r['agreement']:.2f}%")
sys.exit(0 if drop <= 0.2 else 1)
PY
