#!/usr/bin/env bash
# Nothing lost on SIGINT/SIGTERM at a random moment:
#  - calibrate and quantize overwrite a good output only by renaming a complete
#    file into place: after an interrupt the output is the old file or a
#    complete new one, never a truncated one;
#  - train, interrupted (it finishes the batch, saves, exits), then --resume,
#    ends with exactly the weights of an uninterrupted run with the same seed
#    (compared through the exported network's outputs, byte for byte).
# Usage: interrupt.sh WINQ_BINARY FLOAT_MODEL WORK_DIR [ROUNDS]
set -euo pipefail
winq="$1"
model="$2"
work="$3"
rounds="${4:-6}"
rm -rf "$work"
mkdir -p "$work"
fail=0
RANDOM=$$  # another moment on every run; printed so that a failure can be replayed
echo "random seed $$"

# interrupt SIGNAL MAX_MS CMD...: start CMD, send SIGNAL after a random delay.
interrupt() {
  local sig="$1" max_ms="$2"
  "${@:3}" > "$work/cmd.log" 2>&1 &
  local pid=$!
  local ms=$((RANDOM % max_ms))
  sleep "$((ms / 1000)).$(printf "%03d" $((ms % 1000)))"
  kill -s "$sig" "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  echo "  $sig after ${ms} ms"
}

# ---- calibrate / quantize: the old output or a complete new one ----
"$winq" calibrate "$model" --images 300 --stats "$work/stats.json" > /dev/null 2>&1
cp "$work/stats.json" "$work/stats.good"
"$winq" quantize "$model" --stats "$work/stats.json" -o "$work/q.onnx" > /dev/null 2>&1
cp "$work/q.onnx" "$work/q.good"
"$winq" data --model "$model" --images 16 -o "$work/x.npy" 2> /dev/null
for ((r = 0; r < rounds; r++)); do
  sig=$([[ $((r % 2)) == 0 ]] && echo INT || echo TERM)
  echo "calibrate, round $r:"
  interrupt "$sig" 900 "$winq" calibrate "$model" --images 300 --seed "$r" --stats "$work/stats.json"
  if cmp -s "$work/stats.json" "$work/stats.good" || "$winq" quantize "$model" --stats "$work/stats.json" \
      -o "$work/check.onnx" > /dev/null 2>&1; then
    echo "  statistics intact"
  else
    echo "  statistics file is damaged"; fail=1
  fi
  echo "quantize, round $r:"
  interrupt "$sig" 400 "$winq" quantize "$model" --stats "$work/stats.good" -o "$work/q.onnx" --bias-correction
  if "$winq" run "$work/q.onnx" -i "$work/x.npy" -o "$work/y.npy" > /dev/null 2>&1; then
    echo "  model intact ($(cmp -s "$work/q.onnx" "$work/q.good" && echo old || echo new))"
  else
    echo "  quantized model is damaged"; fail=1
  fi
done

# ---- train: interrupt, resume, same result as without the interrupt ----
train=("$winq" train --mult 0.125 --epochs 2 --batch-size 32 --train-images 384 --test-images 128 --threads 1
       --seed 5 --lr 0.05)
"${train[@]}" --out "$work/straight" > /dev/null 2>&1
straight=$(dirname "$(find "$work/straight" -name last.pt | head -1)")
"$winq" export-run "$straight" --checkpoint last -o "$work/straight.onnx" > /dev/null 2>&1
"$winq" data --model "$work/straight.onnx" --images 64 -o "$work/x32.npy" 2> /dev/null
"$winq" run "$work/straight.onnx" -i "$work/x32.npy" -o "$work/straight.npy" > /dev/null 2>&1
# cut_and_resume LABEL SIG MAX_MS OUT REFERENCE.npy SUBCOMMAND CMD...: the run cut by
# SIG within MAX_MS (anywhere from start-up to the end of the run) and resumed
# (SUBCOMMAND --resume) ends with REFERENCE's outputs.
cut_and_resume() {
  local label="$1" sig="$2" max_ms="$3" out="$4" ref="$5" sub="$6"
  shift 6
  echo "$label, $sig:"
  rm -rf "$out"
  interrupt "$sig" "$max_ms" "$@" --out "$out"
  local ckpt run
  ckpt=$(find "$out" -name last.pt 2> /dev/null | head -1 || true)
  if [[ -z "$ckpt" ]]; then
    echo "  interrupted before the first checkpoint: starting over"
    "$@" --out "$out" > /dev/null 2>&1
  else
    run=$(dirname "$ckpt")
    for _ in 1 2 3; do  # resume until the run is complete (it may be cut again below)
      "$winq" "$sub" --resume "$run" --threads 1 > "$work/resume.log" 2>&1 && break
    done
  fi
  run=$(dirname "$(find "$out" -name last.pt | head -1)")
  "$winq" export-run "$run" --checkpoint last -o "$work/cut.onnx" > /dev/null 2>&1
  "$winq" run "$work/cut.onnx" -i "$work/x32.npy" -o "$work/cut.npy" > /dev/null 2>&1
  if cmp -s "$ref" "$work/cut.npy"; then
    echo "  resumed run = uninterrupted run (outputs identical)"
  else
    echo "  resumed run DIFFERS from the uninterrupted run"; fail=1
  fi
}
for sig in INT TERM; do
  cut_and_resume train "$sig" 1999 "$work/cut" "$work/straight.npy" train "${train[@]}"
done

# ---- adapt (Winograd-aware QAT with learned transforms, frozen BatchNorm and distillation from the
# trained run; resuming rebuilds the teacher): the same ----
# (lr 0.001: with BatchNorm frozen the default 0.01 diverges on this small network)
adapt=("$winq" adapt --from "$straight" --flex --F 4 --Q --bits 8 --distill 0.5 --freeze-bn --lr 0.001 --epochs 2 --batch-size 32 --train-images 384
       --test-images 128 --threads 1 --seed 5)
start=$(date +%s%N)
"${adapt[@]}" --out "$work/adapt_straight" > /dev/null 2>&1
adapt_ms=$((($(date +%s%N) - start) / 1000000))
adapted=$(dirname "$(find "$work/adapt_straight" -name last.pt | head -1)")
"$winq" export-run "$adapted" --checkpoint last -o "$work/adapt_straight.onnx" > /dev/null 2>&1
"$winq" run "$work/adapt_straight.onnx" -i "$work/x32.npy" -o "$work/adapt_straight.npy" > /dev/null 2>&1
if cmp -s "$work/adapt_straight.npy" "$work/straight.npy"; then
  echo "adapt: the fine-tuned network did not change"; fail=1
fi
cut_and_resume adapt TERM "$adapt_ms" "$work/acut" "$work/adapt_straight.npy" adapt "${adapt[@]}"
exit $fail
