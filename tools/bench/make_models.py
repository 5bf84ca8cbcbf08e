#!/usr/bin/env python3
"""Benchmark-only CondenseNets with random weights, written as training-time checkpoints in the
official layout (so cnm-convert condenses them exactly like a user's file):

  condensenet-imagenet-g4-train.pth   ImageNet CondenseNet, G = C = 4: stages 4-6-8-10-8,
                                      growth 8-16-32-64-128, 224x224, 1000 classes (paper's model)

The learned group convolutions are condensed by stepping training progress through every
stage; BatchNorm statistics are measured on random inputs. Usage:
  python3 tools/bench/make_models.py OUT_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../train"))
from condensenet import CondenseNet, LearnedGroupConv  # noqa: E402


def make(stages, growth, classes, stride, size, path):
    torch.manual_seed(0)
    m = CondenseNet(stages, growth, num_classes=classes, stem_stride=stride)
    m.train()
    x = torch.randn(4, 3, size, size)
    with torch.no_grad():
        for p in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9]:
            LearnedGroupConv.progress = p
            m(x)  # condenses at each new stage; BN running statistics follow
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    sd = {"module." + k: v for k, v in m.state_dict().items()}
    torch.save({"epoch": 0, "arch": "condensenet", "state_dict": sd, "best_prec1": 0.0,
                "optimizer": {"state": {}, "param_groups": []}}, path)
    print(path)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tools/bench/models"
    os.makedirs(out, exist_ok=True)
    make([4, 6, 8, 10, 8], [8, 16, 32, 64, 128], 1000, 2, 224, os.path.join(out, "condensenet-imagenet-g4-train.pth"))
