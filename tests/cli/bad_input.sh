#!/usr/bin/env bash
# Bad input to the CLI: each case must end with exactly one "winq: error: ..."
# line on stderr (containing the expected words) and a non-zero status, never a
# crash (status >= 128) or an internal error.
# Usage: bad_input.sh WINQ_BINARY MODEL
set -uo pipefail
winq="$1"
model="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
head -c 3000 "$model" > "$tmp/truncated.onnx"
echo "definitely not onnx" > "$tmp/text.onnx"
: > "$tmp/empty.onnx"
/usr/bin/python3 - "$model" "$tmp/unsupported.onnx" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1])
m.graph.node[3].op_type = "Mish"
onnx.save(m, sys.argv[2])
PY

fails=0
expect_error() {  # expect_error WORDS -- command...
  local words="$1"; shift; shift
  local out status
  out="$("$@" 2>&1 >/dev/null)"; status=$?
  local lines; lines="$(printf '%s\n' "$out" | grep -c 'winq: error:')"
  if [[ $status -eq 0 || $status -ge 128 || $lines -ne 1 || "$out" != *"$words"* || "$out" == *"internal error"* ]]; then
    echo "FAIL: $* -> status $status, stderr: $out"
    fails=$((fails + 1))
  else
    echo "ok:   $(printf '%s\n' "$out" | grep 'winq: error:')"
  fi
}

expect_error "cannot open"           -- "$winq" eval "$tmp/missing.onnx"
expect_error "empty"                 -- "$winq" summary "$tmp/empty.onnx"
expect_error "not a valid ONNX"      -- "$winq" summary "$tmp/text.onnx"
expect_error "not a valid ONNX"      -- "$winq" eval "$tmp/truncated.onnx"
expect_error "'Mish'"                -- "$winq" summary "$tmp/unsupported.onnx"
expect_error "no such file"          -- "$winq" eval "$model" --data "$tmp/nowhere"
expect_error "expects shape"         -- "$winq" summary "$model" --input-shape 1x3x28x28
expect_error "takes 28x28"           -- "$winq" eval "$model" --preprocess pad=2 --images 10
expect_error "unknown key"           -- "$winq" eval "$model" --preprocess colour=red --images 10
expect_error "--batch"               -- "$winq" eval "$model" --batch 0
expect_error "--frobnicate"          -- "$winq" eval "$model" --frobnicate
expect_error "WINQ_ISA"              -- env WINQ_ISA=sse9 "$winq" info
# Quantization: statistics files and options.
echo '{"format": "winq.calibration", "version": 1, "tens' > "$tmp/truncated_stats.json"
echo '{"hello": 1}' > "$tmp/other.json"
"$winq" calibrate "$model" --images 20 --stats "$tmp/stats.json" 2> /dev/null
"$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/q.onnx" > /dev/null
expect_error "cannot open"           -- "$winq" quantize "$model" --stats "$tmp/missing.json" -o "$tmp/x.onnx"
expect_error "malformed"             -- "$winq" quantize "$model" --stats "$tmp/truncated_stats.json" -o "$tmp/x.onnx"
expect_error "not a winq calibration" -- "$winq" quantize "$model" --stats "$tmp/other.json" -o "$tmp/x.onnx"
expect_error "unknown calibrator"    -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --clip entropy
expect_error "--wbits"               -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --wbits 9
expect_error "already quantized"     -- "$winq" quantize "$tmp/q.onnx" --stats "$tmp/stats.json" -o "$tmp/x.onnx"
expect_error "no layer or tensor"    -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --keep-float nope
expect_error "has no node 'nope'"    -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --winograd-layers nope=F4
expect_error "expected direct, F2"   -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --winograd-layers nope=F5
expect_error "is not NODE=TILE"      -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --winograd-layers nope
expect_error "one way"               -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --winograd auto --winograd-layers nope=F4
expect_error "--auto-2d-only needs"  -- "$winq" quantize "$model" --stats "$tmp/stats.json" -o "$tmp/x.onnx" --auto-2d-only
expect_error "--reference"           -- "$winq" eval "$model" --reference "$model" --images 10
expect_error "cannot write"          -- "$winq" calibrate "$model" --images 5 --stats "$tmp/no/such/dir/s.json"
expect_error "appears twice"         -- "$winq" transforms --m 2 --points 0,1,1,inf
expect_error "not an integer"        -- "$winq" transforms --m 2 --points 0,one,-1
expect_error "needs 6 interpolation" -- "$winq" transforms --m 4 --points 0,1
commands="$("$winq" --help 2>&1)"
if [[ "$commands" == *$'\n  adapt '* ]]; then  # builds without LibTorch have no training commands
  expect_error "winq.arch"           -- "$winq" adapt --from "$model" --flex --F 4 --out "$tmp/runs"
  expect_error "not a valid ONNX"    -- "$winq" adapt --from "$tmp/truncated.onnx" --flex --F 4 --out "$tmp/runs"
  expect_error "no config.json"      -- "$winq" adapt --from "$tmp" --flex --F 4 --out "$tmp/runs"
  # A learning rate that blows the loss up: a clear stop, not a run of NaN weights.
  expect_error "training diverged"   -- "$winq" train --mult 0.125 --epochs 1 --batch-size 32 --train-images 64 \
    --test-images 32 --lr 1e30 --threads 1 --out "$tmp/runs"
else
  echo "skipped: adapt (this winq is built without LibTorch)"
fi
echo "$((24 - fails)) passed, $fails failed"
[[ $fails -eq 0 ]]
