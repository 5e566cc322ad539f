#!/usr/bin/env bash
# `winq demo --model M --data D` on a user's own model and image folder: the
# small shipped CNN and 300 Fashion-MNIST test images written as an image
# folder (<class>/<image>.bmp, 8-bit grayscale BMP). The demo must read the
# folder, calibrate on it, and print one table whose float row is the same
# accuracy `winq eval` gives on that folder, with every configuration present.
# Usage: demo_own_data.sh WINQ_BINARY MODEL WORK_DIR
set -euo pipefail
winq="$1"
model="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work/images"
/usr/bin/python3 - "$work/images" <<'PY'
import gzip, struct, sys, os
root = sys.argv[1]
base = "/usr/share/datasets/fashion-mnist/"
images = gzip.open(base + "t10k-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(base + "t10k-labels-idx1-ubyte.gz").read()[8:]
names = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
for i in range(300):
    px = images[i * 784:(i + 1) * 784]
    # BMP: bottom-up rows, each padded to 4 bytes (28 already is), 256-entry gray palette.
    rows = b"".join(px[(27 - r) * 28:(28 - r) * 28] for r in range(28))
    palette = b"".join(bytes([g, g, g, 0]) for g in range(256))
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, 28, 28, 1, 8, 0, len(rows), 2835, 2835, 256, 0)
    d = os.path.join(root, f"{labels[i]}_{names[labels[i]]}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"{i:05d}.bmp"), "wb").write(header + info + palette + rows)
PY
"$winq" eval "$model" --data "$work/images" --json 2> /dev/null > "$work/eval.json"
"$winq" demo --model "$model" --data "$work/images" --runs 3 --threads 2 --no-report --json \
  2> "$work/demo.log" > "$work/demo.json" || { cat "$work/demo.log"; exit 1; }
/usr/bin/python3 - "$work/eval.json" "$work/demo.json" <<'PY'
import json, sys
e, d = (json.load(open(p)) for p in sys.argv[1:3])
rows = d["results"]
names = [r["configuration"] for r in rows]
float_row = next(r for r in rows if r["configuration"] == "float32")
print(f"demo on the folder: {len(rows)} configurations; float {float_row['top1']:.2f}% (eval {e['top1']:.2f}%, {e['images']} images)")
ok = e["images"] == 300 and abs(float_row["top1"] - e["top1"]) < 1e-9 and len(rows) >= 10 \
     and any("W8A8 per-channel" in n for n in names) and all(0 <= r["top1"] <= 100 for r in rows)
sys.exit(0 if ok else 1)
PY
