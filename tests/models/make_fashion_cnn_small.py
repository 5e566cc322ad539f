#!/usr/bin/python3
"""Trains the small stand-in Fashion-MNIST CNN shipped as models/fashion_cnn_small.onnx.

It exists so that `winq demo` and the tests have a real trained model before
`winq train` (LibTorch, C++) ships the ResNet-18-like one. Uses Debian's
python3-torch; data from Debian's dataset-fashion-mnist.

    /usr/bin/python3 tests/models/make_fashion_cnn_small.py models/fashion_cnn_small.onnx
"""
import gzip
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def load(split):
    with gzip.open(f"{DATA}/{split}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{split}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    x = (torch.from_numpy(x.astype(np.float32)) / 255.0 - MEAN) / STD
    return x, torch.from_numpy(y.astype(np.int64))


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/fashion_cnn_small.onnx"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = nn.Sequential(*block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                        *block(64, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=epochs * (len(xtr) // 128))
    for ep in range(epochs):
        net.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - 127, 128):
            idx = perm[i:i + 128]
            xb = xtr[idx]
            flip = torch.rand(len(idx)) < 0.5  # horizontal flip augmentation
            xb[flip] = xb[flip].flip(3)
            loss = nn.functional.cross_entropy(net(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            acc = sum((net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, 10000, 1000))
        print(f"epoch {ep + 1}: loss {loss.item():.3f} test top-1 {acc / 100:.2f}% ({time.time() - t0:.0f} s)", flush=True)
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(out)
    kv = m.metadata_props.add()
    kv.key, kv.value = "winq.preprocess", f"scale=0.00392157,mean={MEAN},std={STD}"
    kv = m.metadata_props.add()
    kv.key, kv.value = "winq.model_card", f"small CNN, {epochs} epochs Adam, python3-torch; test top-1 {acc / 100:.2f}%"
    onnx.save(m, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
