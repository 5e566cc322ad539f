#!/usr/bin/env bash
# Whole models on the integer engine: the logits are byte-identical on every
# ISA path (scalar = the unpacked reference kernels) and thread count, for
# direct W8A8/W4A4 plans and int8 Winograd F(4,3)/F(6,3) plans.
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
"$winq" data --model "$model" --images 300 -o "$work/images.npy" 2> /dev/null
best=$("$winq" info --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["isa"]["best"])')
fail=0
for q in w8a8 w4a4 wino_f4 wino_f6; do
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
