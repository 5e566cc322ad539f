#!/usr/bin/env bash
# The shipped flex-trained model (learned F(4,3) transforms, models/README.md)
# on the integer engine: every block conv planned as int8 Winograd with its own
# learned transforms, calibrated ranges and trained ranges (--trained-ranges);
# top-1 on the first 2,000 test images within 0.3 points of the float network
# with the same learned transforms. (All 10,000: float 94.41%, int8 94.34%
# calibrated with `winq calibrate --images 500`, bench/RESULTS.md; 2,000
# images keep this test short under the sanitizers' and CI's load.)
# Usage: shipped_flex.sh WINQ_BINARY MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
mkdir -p "$work"
"$winq" calibrate "$model" --images 500 --stats "$work/stats.json" 2> /dev/null
"$winq" eval "$model" --images 2000 --json 2> /dev/null > "$work/float.eval.json"
for ranges in calibrated trained; do
  flag=()
  [[ $ranges == trained ]] && flag=(--trained-ranges)
  "$winq" quantize "$model" --stats "$work/stats.json" -o "$work/$ranges.onnx" "${flag[@]}" --json > "$work/$ranges.q.json"
  "$winq" eval "$work/$ranges.onnx" --images 2000 --json 2> /dev/null > "$work/$ranges.eval.json"
  /usr/bin/python3 - "$work/$ranges.q.json" "$work/float.eval.json" "$work/$ranges.eval.json" "$ranges" <<'PY'
import json, sys
q, f, r = (json.load(open(p)) for p in sys.argv[1:4])
ranges = sys.argv[4]
learned = [l["node"] for l in q["layers"] if l.get("winograd_learned") and l["winograd"] == 4 and l["quantized"]]
drop = f["top1"] - r["top1"]
print(f"{ranges} ranges: {len(learned)} learned int8 Winograd layers; float {f['top1']:.2f}%  "
      f"int8 engine {r['top1']:.2f}% ({r['engine']}, {r['isa']})  drop {drop:+.2f}")
sys.exit(0 if len(learned) == 16 and drop <= 0.3 else 1)
PY
done
