#!/usr/bin/env bash
# The HTML reports in a real browser (Debian's chromium, headless):
#  - `winq demo --report`, and `--report` on eval (with --reference), quantize
#    and bench, each write report.html + report.json;
#  - each page loads without a script error (console and the page's own error
#    record), its script finishes (data-ready), and a screenshot is taken;
#  - the page holds the figures the command promises, report.json parses and
#    holds the same numbers the command printed as --json.
# Screenshots stay in WORK_DIR/*.png for a person to look at.
# Usage: report_browser.sh WINQ_BINARY SHIPPED_MODEL SMALL_MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
small="$3"
work="$4"
rm -rf "$work"
mkdir -p "$work"
browser=""
for b in chromium chromium-browser; do command -v "$b" > /dev/null && browser="$b" && break; done
if [[ -z "$browser" ]]; then
  echo "SKIPPED: chromium is not installed (scripts/setup.sh installs it)"
  exit 77
fi
fail=0
py=/usr/bin/python3

# load NAME DIR: console errors, the page's error record and data-ready, screenshot.
load() {
  local name="$1" dir="$2"
  local flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
               --user-data-dir="$work/profile-$name")
  "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$dir/report.html" \
    > "$work/$name.dom" 2> "$work/$name.console" || true
  if grep -E 'CONSOLE.*(Uncaught|Error)' "$work/$name.console"; then
    echo "$name: script errors in the console"; fail=1
  fi
  if ! grep -q 'data-ready="1"' "$work/$name.dom"; then echo "$name: the page script did not finish"; fail=1; fi
  if grep -q 'data-errors=' "$work/$name.dom"; then echo "$name: the page recorded script errors"; fail=1; fi
  "$browser" "${flags[@]}" --screenshot="$work/$name.png" --window-size=1200,2400 "file://$dir/report.html" \
    > /dev/null 2>&1 || true
  local size
  size=$(stat -c %s "$work/$name.png" 2> /dev/null || echo 0)
  if ((size < 20000)); then echo "$name: screenshot missing or blank ($size bytes)"; fail=1; fi
  echo "$name: loaded, $(grep -o '<svg' "$work/$name.dom" | wc -l) SVG figures, screenshot $size bytes"
}

# figures NAME KEY...: report.json has these figures, each with data.
figures() {
  local name="$1"
  shift
  if ! $py - "$work/$name/report.json" "$@" << 'PY'; then
import json, sys
j = json.load(open(sys.argv[1]))
missing = [k for k in sys.argv[2:] if k not in j["figures"] and k not in j["tables"]]
if missing:
    sys.exit(f"missing in report.json: {missing}")
PY
    echo "$name: report.json incomplete"; fail=1
  fi
}

echo "== winq demo (300 test images) =="
"$winq" demo --images 300 --sweep-images 200 --error-images 40 --runs 3 --threads 2 --json \
  --report "$work/demo" > "$work/demo.json" 2> "$work/demo.log" || { cat "$work/demo.log"; exit 1; }
load demo "$work/demo"
figures demo summary top1_drop accuracy_vs_bits sqnr_per_tensor winograd_top1 winograd_sqnr \
  calibration_histograms latency_per_layer
$py - "$work/demo.json" "$work/demo/report.json" << 'PY' || fail=1
import json, sys
out, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rows = {r[0]: r for r in rep["tables"]["summary"]["rows"]}
for r in out["results"]:
    shown = float(rows[r["configuration"]][1])
    if abs(shown - r["top1"]) > 0.005:
        sys.exit(f'{r["configuration"]}: report says {shown}, --json says {r["top1"]}')
sweep = rep["figures"]["accuracy_vs_bits"]
if len(sweep["series"]) != 7 or any(len(s["y"]) != len(sweep["x"]) for s in sweep["series"]):
    sys.exit("accuracy_vs_bits: expected 7 calibrators × every bit width")
w8 = [s for s in sweep["series"] if s["name"] == "max"][0]["y"][-1]
if not 80 <= w8 <= 100:
    sys.exit(f"accuracy_vs_bits: W8A8 max calibration at {w8}%")
hist = rep["figures"]["calibration_histograms"]["choices"]
if len(hist) < 10 or any(len(h["markers"]) != 7 for h in hist.values()):
    sys.exit("calibration_histograms: expected a histogram with 7 clips per activation")
per_tensor = {s["name"]: s for s in rep["figures"]["winograd_sqnr"]["series"]}
for m in (2, 4, 6):
    for scales in ("per-component", "per-channel"):
        if f"W8A8 Winograd F{m} {scales}" not in per_tensor:
            sys.exit(f"winograd_sqnr: F{m} {scales} missing")
drop = {s["name"] for s in rep["figures"]["winograd_top1"]["series"]}
if drop != {"per-tensor", "per-component", "per-channel"}:
    sys.exit(f"winograd_top1: series {sorted(drop)}")
print(f"demo: report = --json for {len(out['results'])} configurations; sweep, histograms, Winograd lines present")
PY

echo "== eval / quantize / bench --report (small model) =="
"$winq" calibrate "$small" --images 64 -o "$work/stats.json" > /dev/null 2>&1
"$winq" quantize "$small" --stats "$work/stats.json" -o "$work/q.onnx" --report "$work/quantize" > /dev/null 2>&1
load quantize "$work/quantize"
figures quantize layers weight_sqnr calibration_histograms
"$winq" eval "$work/q.onnx" --images 200 --reference "$small" --json --report "$work/eval" \
  > "$work/eval.json" 2> /dev/null
load eval "$work/eval"
figures eval accuracy sqnr_per_tensor tensors
$py - "$work/eval.json" "$work/eval/report.json" << 'PY' || fail=1
import json, sys
out, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rows = rep["tables"]["accuracy"]["rows"]
if abs(float(rows[0][2]) - out["top1"]) > 0.005:
    sys.exit(f"eval: report top-1 {rows[0][2]} vs --json {out['top1']}")
names = rep["figures"]["sqnr_per_tensor"]["categories"]
if names != [t["name"] for t in out["tensors"]]:
    sys.exit("eval: the SQNR figure's tensors differ from --json")
print(f"eval: report = --json (top-1 {out['top1']:.2f}, {len(names)} tensors)")
PY
"$winq" bench "$work/q.onnx" --runs 5 --report "$work/bench" > /dev/null 2>&1
load bench "$work/bench"
figures bench latency_per_layer

echo "== an unwritable report directory is a clear error =="
touch "$work/not_a_dir"
if "$winq" bench "$work/q.onnx" --runs 1 --report "$work/not_a_dir/sub" > "$work/bad.txt" 2>&1; then
  echo "bench --report into a file's path: accepted"; fail=1
elif ! grep -q '^winq: error: .*report' "$work/bad.txt"; then
  echo "bench --report into a file's path: unclear error:"; cat "$work/bad.txt"; fail=1
else
  echo "refused: $(head -1 "$work/bad.txt")"
fi

exit $fail
