#!/usr/bin/env bash
# The int8 Winograd accuracy table (post-training, no retraining): int8 direct
# vs int8 Winograd F2/F4/F6, with one input scale per Winograd component and
# input channel (the default), per component, and per tensor, and the 1-D variants F(m×1,3×3), on the Fashion-MNIST test set; Markdown plus JSON lines next to it.
# Usage: scripts/winograd_table.sh MODEL OUT.md [--images N] [--threads T]
# (WINQ=/path/to/winq to use a copy while build/ is being rebuilt)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
winq="${WINQ:-$root/build/winq}"
model="$1"
out="$2"
shift 2
images=0 threads=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "winograd_table: unknown option $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jsonl="${out%.md}.jsonl"
: > "$jsonl"
"$winq" calibrate "$model" --images 500 --seed 0 --stats "$work/stats.json" --threads "$threads" > /dev/null 2>&1
top1() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])'; }
float_top1=$("$winq" eval "$model" --images "$images" --threads "$threads" --json 2> /dev/null | top1)
{
  echo "| plan (W8A8, per-channel weights, max activations) | Winograd scales | component clip | top-1 % | vs int8 direct |"
  echo "|---|---|---|---|---|"
} > "$out"
direct=""
run() {  # run LABEL SCALES CLIP quantize-args...
  local label="$1" scales="$2" clip="$3"
  shift 3
  "$winq" quantize "$model" --stats "$work/stats.json" -o "$work/q.onnx" "$@" > /dev/null
  local t
  t=$("$winq" eval "$work/q.onnx" --images "$images" --threads "$threads" --json 2> /dev/null | top1)
  [[ -z "$direct" ]] && direct="$t"
  local delta
  delta=$(/usr/bin/python3 -c "print(f'{$t - $direct:+.2f}')")
  echo "| $label | $scales | $clip | $t | $delta |" >> "$out"
  echo "{\"plan\": \"$label\", \"scales\": \"$scales\", \"clip\": \"$clip\", \"top1\": $t, \"float_top1\": $float_top1}" >> "$jsonl"
  echo "$label $scales $clip: $t%" >&2
}
run "int8 direct" "-" "-"
for tile in F2 F4 F6; do
  for clip in mse kl; do
    run "int8 Winograd $tile" "per component and channel" "$clip" --winograd "$tile" --winograd-clip "$clip"
    run "int8 Winograd $tile" "per component" "$clip" --winograd "$tile" --winograd-clip "$clip" \
      --winograd-scales component
  done
  run "int8 Winograd $tile" "per tensor" "max" --winograd "$tile" --winograd-scales tensor --winograd-clip max
done
for tile in F2 F4 F6; do  # the 1-D variants F(m×1,3×3)
  run "int8 Winograd ${tile}×1 (1-D)" "per component and channel" "mse" --winograd "$tile" --winograd-1d
  run "int8 Winograd ${tile}×1 (1-D)" "per component" "mse" --winograd "$tile" --winograd-1d --winograd-scales component
done
echo "" >> "$out"
echo "Float model: $float_top1%." >> "$out"
echo "wrote $out and $jsonl" >&2
