#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into OUT/<target>/: small valid
files of every format a reader accepts (and a few near misses), so that the
fuzzer starts from the real structure instead of guessing magic numbers.
The ONNX and checkpoint seeds are gathered by scripts/fuzz.sh (real models,
the conformance suite, a checkpoint written by the target itself)."""
import gzip
import json
import os
import struct
import sys
import zlib

out = sys.argv[1]


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


# IDX: the target reads a 16-bit little-endian length, the images file, the labels file.
def idx_pair(images, labels):
    return struct.pack("<H", len(images)) + images + labels


pix = [(i * 37) % 256 for i in range(3 * 4 * 5)]
put("idx", "plain", idx_pair(idx([3, 4, 5], pix), idx([3], [1, 2, 3])))
put("idx", "gzip", idx_pair(gzip.compress(idx([3, 4, 5], pix), mtime=0), gzip.compress(idx([3], [0, 9, 4]), mtime=0)))
put("idx", "mismatch", idx_pair(idx([2, 2, 2], pix[:8]), idx([3], [1, 2, 3])))
put("idx", "truncated", idx_pair(idx([3, 4, 5], pix[:10]), idx([3], [1])))

# Real Fashion-MNIST headers and pixels (Debian's dataset-fashion-mnist), cut
# to two images: the real magic, dimensions and data, with the counts fixed.
fm = "/usr/share/datasets/fashion-mnist"
try:
    with gzip.open(f"{fm}/t10k-images-idx3-ubyte.gz") as f:
        head = f.read(16 + 2 * 28 * 28)
    with gzip.open(f"{fm}/t10k-labels-idx1-ubyte.gz") as f:
        lab = f.read(8 + 2)
    images = head[:4] + struct.pack(">I", 2) + head[8:]
    labels = lab[:4] + struct.pack(">I", 2) + lab[8:]
    put("idx", "fashion_mnist_2", idx_pair(images, labels))
    put("idx", "fashion_mnist_2_gzip", idx_pair(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    put("idx", "fashion_mnist_header_only", idx_pair(head[:16], lab[:8]))
except OSError as e:  # the dataset package is missing: the synthetic seeds still cover the format
    print(f"make_seeds: no Fashion-MNIST seeds ({e})", file=sys.stderr)


def npy(descr, shape, payload, version=1):
    shp = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shp}, }}"
    pre = 10 if version == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


put("npy", "f4", npy("<f4", [2, 3], struct.pack("<6f", *[0.5 * i for i in range(6)])))
put("npy", "f8", npy("<f8", [3], struct.pack("<3d", 1.0, -2.0, 3.5)))
put("npy", "u1", npy("|u1", [2, 2, 2], bytes(range(8))))
put("npy", "i8v2", npy("<i8", [2], struct.pack("<2q", 7, -7), version=2))
put("npy", "scalar", npy("<i4", [], struct.pack("<i", 42)))


def png(w, h, gray):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ch = 1 if gray else 3
    raw = b"".join(b"\x00" + bytes(((x * 31 + y * 7 + c) % 256) for x in range(w) for c in range(ch)) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if gray else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def bmp(w, h):
    row = (w * 3 + 3) // 4 * 4
    data = b"".join(bytes(((x + y) * 40 + c) % 256 for x in range(w) for c in range(3)) + b"\0" * (row - 3 * w)
                    for y in range(h))
    header = b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return header + info + data


# image_folder: the first byte picks the extension (0 png, 1 jpg, 2 bmp; bit 7:
# a second class with the same image).
put("image_folder", "png_gray", b"\x00" + png(6, 5, True))
put("image_folder", "png_rgb_two", b"\x80" + png(4, 4, False))
put("image_folder", "bmp", b"\x02" + bmp(5, 3))
try:  # JPEG through torchvision (python3-torchvision), when present
    import torch
    import torchvision.io

    x = (torch.arange(3 * 8 * 8) * 7 % 255).to(torch.uint8).reshape(3, 8, 8)
    put("image_folder", "jpg", b"\x01" + bytes(torchvision.io.encode_jpeg(x, quality=60).numpy().tobytes()))
    put("image_folder", "jpg_gray", b"\x81" + bytes(torchvision.io.encode_jpeg(x[:1], quality=90).numpy().tobytes()))
except Exception as e:  # the other seeds still cover PNG and BMP
    print(f"make_seeds: no JPEG seed ({e})", file=sys.stderr)


def tensor_stats(scale):
    hist = [max(0, 50 - abs(i - 4) * 10) for i in range(16)]
    return {"count": 1000, "nonfinite": 0, "zeros": 10, "min": -scale, "max": scale, "mean": 0.1, "std": scale / 3,
            "mad": scale / 4, "abs_mean_nonzero": scale / 4, "rms_nonzero": scale / 3, "hist": hist}


stats = {"format": "winq.calibration", "version": 1, "model": "m.onnx", "data": ["fashion-mnist:train"],
         "images": 8, "seed": 0, "bins": 16, "tensors": {"x": tensor_stats(1.0), "conv1": tensor_stats(4.0)},
         "tap_mean": {"conv1": [0.5, 0.25]},
         "winograd": {"conv1": {"F2": [tensor_stats(0.5 + i) for i in range(16)]}}}
put("stats", "valid.json", json.dumps(stats).encode())
bad = dict(stats, version=2)
put("stats", "version.json", json.dumps(bad).encode())
put("stats", "wrong_bins.json", json.dumps(dict(stats, bins=32)).encode())
