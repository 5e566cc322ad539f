#!/usr/bin/python3
"""Exports torchvision networks (random weights, eval mode) to ONNX plus one
random input each, for the ONNX Runtime comparison. Usage: OUT_DIR [names...]"""
import os
import sys

import numpy as np
import torch
import torchvision.models as tvm

NAMES = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0"]


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or NAMES
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        path = os.path.join(out, name + ".onnx")
        net = getattr(tvm, name)().eval()
        # Random BatchNorm statistics, so that folding them is actually exercised.
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        if not os.path.exists(path):
            torch.onnx.export(net, x, path, opset_version=13, input_names=["input"], output_names=["output"])
        np.save(os.path.join(out, name + ".input.npy"), x.numpy())
        print("exported", path, flush=True)


if __name__ == "__main__":
    main()
