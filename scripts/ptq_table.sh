#!/usr/bin/env bash
# The post-training quantization accuracy table: every bit width × calibrator ×
# per-tensor/per-channel × bias correction × bit allocation, evaluated on the
# Fashion-MNIST test set, as Markdown (and JSON lines next to it).
# Usage: scripts/ptq_table.sh MODEL OUT.md [--images N] [--sim int|qdq] [--threads T]
# (WINQ=/path/to/winq to use a copy while build/ is being rebuilt)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
winq="${WINQ:-$root/build/winq}"  # WINQ=path runs another build of winq
model="$1"
out="$2"
shift 2
images=0 sim=int threads=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --sim) sim="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "ptq_table: unknown option $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jsonl="${out%.md}.jsonl"
: > "$jsonl"
"$winq" calibrate "$model" --images 500 --seed 0 --stats "$work/stats.json" --threads "$threads" 2> /dev/null
float_top1=$("$winq" eval "$model" --images "$images" --threads "$threads" --json 2> /dev/null |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])')
echo "float top-1 $float_top1%" >&2
for bits in "8 8" "6 6" "4 8" "4 4"; do
  set -- $bits
  for clip in max pow2 percentile mse kl aciq-laplace aciq-gauss; do
    for gran in per-tensor per-channel; do
      for bc in "" --bias-correction; do
        for ba in "" --bit-alloc; do
          [[ "$gran" == per-tensor && -n "$ba" ]] && continue
          "$winq" quantize "$model" --stats "$work/stats.json" -o "$work/q.onnx" --wbits "$1" --abits "$2" \
            --clip "$clip" --"$gran" $bc $ba > /dev/null
          top1=$("$winq" eval "$work/q.onnx" --images "$images" --sim "$sim" --threads "$threads" --json 2> /dev/null |
            /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])')
          printf '{"wbits": %s, "abits": %s, "clip": "%s", "granularity": "%s", "bias_correction": %s, "bit_alloc": %s, "top1": %s, "float_top1": %s}\n' \
            "$1" "$2" "$clip" "$gran" "$([[ -n $bc ]] && echo true || echo false)" \
            "$([[ -n $ba ]] && echo true || echo false)" "$top1" "$float_top1" >> "$jsonl"
          echo "W$1A$2 $clip $gran ${bc:-} ${ba:-}: $top1%" >&2
        done
      done
    done
  done
done
/usr/bin/python3 - "$jsonl" "$out" "$model" "$images" "$sim" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
out, model, images, sim = sys.argv[2:]
fl = rows[0]["float_top1"]
cols = [("per-tensor", False, False), ("per-tensor", True, False), ("per-channel", False, False),
        ("per-channel", True, False), ("per-channel", False, True), ("per-channel", True, True)]
head = ["PT", "PT+BC", "PC", "PC+BC", "PC+BA", "PC+BC+BA"]
with open(out, "w") as f:
    f.write(f"Model `{model}`, float top-1 **{fl:.2f}%**, {'all 10,000' if images == '0' else images} test images, "
            f"evaluation `--sim {sim}`. PT/PC: per-tensor/per-channel weights; BC: bias correction; BA: bit allocation.\n\n")
    for bits in sorted({(r["wbits"], r["abits"]) for r in rows}, reverse=True):
        f.write(f"\n**W{bits[0]}A{bits[1]}** (top-1 %, best in bold)\n\n| calibrator | " + " | ".join(head) + " |\n")
        f.write("|---" * (len(head) + 1) + "|\n")
        sub = [r for r in rows if (r["wbits"], r["abits"]) == bits]
        best = max(r["top1"] for r in sub)
        for clip in dict.fromkeys(r["clip"] for r in sub):
            cells = []
            for g, bc, ba in cols:
                m = [r for r in sub if r["clip"] == clip and r["granularity"] == g and r["bias_correction"] == bc and r["bit_alloc"] == ba]
                v = m[0]["top1"] if m else None
                cells.append("-" if v is None else (f"**{v:.2f}**" if v == best else f"{v:.2f}"))
            f.write(f"| {clip} | " + " | ".join(cells) + " |\n")
PY
echo "wrote $out and $jsonl" >&2
