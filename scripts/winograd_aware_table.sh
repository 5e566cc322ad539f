#!/usr/bin/env bash
# The Winograd-aware training table (issue: Winograd-aware QAT): from one
# trained run of the ordinary network, post-training int8 (direct and Winograd
# F2/F4/F6, winq's engine) and `winq adapt` fine-tuning through Winograd-aware
# layers (static and flex, F2/F4/F6 at 8 bits, F4 at 6 and 4 bits, and the
# ordinary convs with the same fake quantization), each with its test top-1
# (LibTorch, fake quantization, all 10,000 test images), epochs, training
# images and minutes. Rows already in OUT.jsonl are kept (the script resumes).
# With --deploy, each fine-tuned network is also exported and run on winq's
# integer engine (`winq export-run --check-int8`: calibrated on 500 training
# images, every layer at the row's bits), the figure a user deploys.
# Usage: scripts/winograd_aware_table.sh RUN_DIR OUT.md [--epochs E] [--train-images N] [--threads T]
#        [--rows "static:4:8 flex:4:8 ..."]   (mode:tile:bits; mode normal takes tile 0)
#        [--q-scheme paper|engine] [--transform-lr X] [--deploy]
# (WINQ=/path/to/winq to use a copy while build/ is being rebuilt)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
winq="${WINQ:-$root/build/winq}"
run="$1"
out="$2"
shift 2
epochs=1 train_images=0 threads=2 scheme=paper transform_lr=1 deploy=0
rows="normal:0:8 static:2:8 flex:2:8 static:4:8 flex:4:8 static:6:8 flex:6:8 static:4:6 flex:4:6 static:4:4 flex:4:4"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --train-images) train_images="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --q-scheme) scheme="$2"; shift 2 ;;
    --transform-lr) transform_lr="$2"; shift 2 ;;
    --deploy) deploy=1; shift ;;
    *) echo "winograd_aware_table: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -f "$run/config.json" ]] || { echo "$run: not a winq run directory" >&2; exit 2; }
jsonl="${out%.md}.jsonl"
touch "$jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
have() { grep -q "\"row\": \"$1\"" "$jsonl"; }
top1() { "$py" -c 'import json,sys; print(json.load(sys.stdin)["top1"])'; }

# Post-training rows: the run's best network through winq's own engine.
if ! have ptq:direct; then
  model="$run/best.onnx"
  "$winq" calibrate "$model" --images 500 --seed 0 --stats "$work/stats.json" --threads "$threads" 2> /dev/null
  f=$("$winq" eval "$model" --threads "$threads" --json 2> /dev/null | top1)
  echo "{\"row\": \"float\", \"kind\": \"float\", \"top1\": $f}" >> "$jsonl"
  for tile in off F2 F4 F6; do
    "$winq" quantize "$model" --stats "$work/stats.json" -o "$work/q.onnx" --winograd "$tile" > /dev/null 2>&1
    t=$("$winq" eval "$work/q.onnx" --threads "$threads" --json 2> /dev/null | top1)
    name=$([[ $tile == off ]] && echo direct || echo "$tile")
    echo "{\"row\": \"ptq:$name\", \"kind\": \"ptq\", \"tile\": \"$name\", \"top1\": $t}" >> "$jsonl"
    echo "PTQ int8 $name: $t%" >&2
  done
fi

# Fine-tuning rows (keyed mode:tile:bits, with @scheme unless it is paper).
for r in $rows; do
  IFS=: read -r mode tile bits <<< "$r"
  key=$([[ $scheme == paper ]] && echo "$r" || echo "$r@$scheme")
  have "$key" && { echo "$key: already in $jsonl" >&2; continue; }
  args=(adapt --from "$run" --epochs "$epochs" --train-images "$train_images" --threads "$threads" --Q --bits "$bits"
        --q-scheme "$scheme" --out "$work/runs" --json)
  if [[ $mode == normal ]]; then args+=(--use-normal-conv); else args+=(--"$mode" --F "$tile"); fi
  [[ $mode == flex ]] && args+=(--transform-lr "$transform_lr")
  start=$(date +%s)
  "$winq" "${args[@]}" > "$work/res.json" 2> "$work/log.txt" || { echo "$key failed:"; tail -3 "$work/log.txt"; exit 1; } >&2
  secs=$(($(date +%s) - start))
  echo '{}' > "$work/deploy.json"
  if [[ $deploy == 1 ]]; then
    rundir=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_dir"])' "$work/res.json")
    "$winq" export-run "$rundir" -o "$work/x.onnx" --check-int8 --json > "$work/deploy.json" 2>> "$work/log.txt" ||
      { echo "$key: deployment check failed:"; tail -3 "$work/log.txt"; exit 1; } >&2
  fi
  "$py" - "$work/res.json" "$work/deploy.json" "$key" "$mode" "$tile" "$bits" "$epochs" "$train_images" "$secs" \
    "$scheme" "$transform_lr" >> "$jsonl" << 'PY'
import json, sys
res, dep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
row, mode, tile, bits, epochs, images, secs, scheme, tlr = sys.argv[3:]
r = {"row": row, "kind": "adapt", "mode": mode, "tile": int(tile), "bits": int(bits), "epochs": int(epochs),
     "train_images": int(images) or 60000, "top1": res["best_top1"], "minutes": round(int(secs) / 60, 1),
     "q_scheme": scheme}
if mode == "flex": r["transform_lr"] = float(tlr)
if "check_int8" in dep: r["engine_top1"] = dep["check_int8"]["engine_top1"]
print(json.dumps(r))
PY
  echo "$key: $(tail -1 "$jsonl")" >&2
done

# The Markdown table, from every row gathered so far.
"$py" - "$jsonl" "$out" "$run" << 'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {r["row"]: r for r in rows}
fl = by.get("float", {}).get("top1")
def drop(t): return f"{t - fl:+.2f}" if fl is not None else ""
out = [f"From `{sys.argv[3]}` (float top-1 {fl}%), all 10,000 test images. Fine-tuned rows: top-1 of LibTorch "
       "with the fake quantizers, and of winq's integer engine on the exported network where measured.", "",
       "| configuration | bits | fake quantization | top-1 % (LibTorch) | winq int8 engine % | vs float (engine) | epochs × training images | minutes |",
       "|---|---|---|---|---|---|---|---|"]
for k in ("float", "ptq:direct", "ptq:F2", "ptq:F4", "ptq:F6"):
    if k in by:
        r = by[k]
        name = "float" if k == "float" else f"post-training int8, {'direct' if r['tile'] == 'direct' else 'Winograd ' + r['tile'] + ' per component'}"
        eng = f"{r['top1']:.2f}" if k != "float" else "–"
        out.append(f"| {name} | {'32' if k == 'float' else '8'} | – | – | {eng} | {drop(r['top1'])} | – | – |")
for r in rows:
    if r["kind"] != "adapt": continue
    name = "ordinary convs, QAT" if r["mode"] == "normal" else f"{r['mode']} F{r['tile']}, Winograd-aware QAT"
    if "transform_lr" in r and r["transform_lr"] != 1: name += f" (transforms at {r['transform_lr']:g}× lr)"
    eng = r.get("engine_top1")
    out.append(f"| {name} | {r['bits']} | {r.get('q_scheme', 'paper')} | {r['top1']:.2f} | "
               f"{'–' if eng is None else f'{eng:.2f}'} | {'–' if eng is None else drop(eng)} | "
               f"{r['epochs']} × {r['train_images']:,} | {r['minutes']} |")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
