#!/usr/bin/env bash
# winq eval --save-predictions / --paired: the saved predictions are the ones
# the evaluation counted, and the paired comparison counts the images only
# one side gets right (checked against a second predictions file made here
# with known changes), with McNemar's exact p-value; a wrong file is refused
# before the evaluation.
# Usage: paired_eval.sh WINQ_BINARY FLOAT_MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
py=/usr/bin/python3
mkdir -p "$work"
n=2000
"$winq" data --model "$model" --images $n -o "$work/x.npy" --labels "$work/labels.npy" > /dev/null
"$winq" eval "$model" --images $n --threads 2 --save-predictions "$work/a.npy" --json > "$work/a.json"
# b: a copy with the first 40 predictions made wrong and the next 40 made right.
"$py" - "$work" <<'PY'
import json, sys, numpy as np
w = sys.argv[1]
a = np.load(w + "/a.npy"); y = np.load(w + "/labels.npy")
top1 = json.load(open(w + "/a.json"))["top1"]
assert a.dtype == np.int32 and a.shape == y.shape, (a.dtype, a.shape, y.shape)
assert abs(100.0 * np.mean(a == y) - top1) < 1e-9, "saved predictions are not the ones counted"
b = a.copy()
b[:40] = (y[:40] + 1) % 10
b[40:80] = y[40:80]
np.save(w + "/b.npy", b)
a_only = int(np.sum((a == y) & (b != y))); b_only = int(np.sum((b == y) & (a != y)))
json.dump({"a_only": a_only, "b_only": b_only, "differing": int(np.sum(a != b))}, open(w + "/expected.json", "w"))
np.save(w + "/short.npy", b[:100])
PY
"$winq" eval "$model" --images $n --threads 2 --paired "$work/b.npy" --json > "$work/paired.json"
"$winq" eval "$model" --images $n --threads 2 --paired "$work/a.npy" --json > "$work/self.json"
"$py" - "$work" <<'PY'
import json, math, sys
w = sys.argv[1]
e = json.load(open(w + "/expected.json"))
p = json.load(open(w + "/paired.json"))["paired"]
s = json.load(open(w + "/self.json"))["paired"]
assert p["this_only_correct"] == e["a_only"] and p["other_only_correct"] == e["b_only"], (p, e)
assert p["differing"] == e["differing"], (p, e)
assert e["a_only"] + e["b_only"] > 0
n = e["a_only"] + e["b_only"]; k = min(e["a_only"], e["b_only"])
want = 1.0 if 2 * k == n else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
assert abs(p["mcnemar_p"] - want) <= 1e-9 * max(want, 1e-300), (p["mcnemar_p"], want)
assert s["differing"] == 0 and s["mcnemar_p"] == 1.0 and s["difference_points"] == 0, s
print("paired:", p)
PY
# A predictions file of another length: refused before any evaluation, clearly.
if "$winq" eval "$model" --images $n --paired "$work/short.npy" > "$work/short.out" 2>&1; then
  echo "FAIL: --paired with 100 predictions for $n images was accepted"; exit 1
fi
grep -q "expected the integer predictions of $n images" "$work/short.out" || { cat "$work/short.out"; exit 1; }
! grep -q "top-1" "$work/short.out" || { echo "FAIL: evaluated before refusing"; exit 1; }
echo "paired_eval: OK"
