#!/usr/bin/env python3
"""Build ncnn .param/.bin files of the networks in the ARM race, with pnnx (PyPI `pnnx`, its
binary: pass --pnnx PATH), from the same PyTorch definitions as our own tools. Development tool:
needs torch + torchvision (Debian's /usr/bin/python3 has them) and a pnnx binary.

  python3 tools/arm/ncnn_models.py --pnnx PNNX -o DIR resnet18 googlenet ... condensenet86 condensenet-imagenet

torchvision networks (random weights, eval mode, 1x3x224x224): resnet18, resnet50, squeezenet1_1,
mobilenet_v2, shufflenet_v2_x1_0, googlenet, alexnet, vgg16, densenet121.

CondenseNets: ncnn has no gather (our index layer), so each is written twice:
  NAME-select.ncnn.param  the index layer as a 1x1 convolution with a 0/1 selection matrix (the
                          same graph and results; ncnn pays selected x input channels MACs for it)
  NAME-free.ncnn.param    the index layer replaced by the first `selected` channels (a slice):
                          the same shapes and convolutions, the gather for free (a lower bound
                          on any ncnn gather)
condensenet86: the official CondenseNet-86 CIFAR-10 (32x32) from the converted fixture checkpoint;
condensenet-imagenet: the ImageNet CondenseNet G=C=4 (224x224) from tools/bench/models'
training checkpoint, condensed by the official rules (tools/bench/race.py).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tools/bench"))
sys.path.insert(0, os.path.join(ROOT, "tools/fixtures"))
import make_onnx  # noqa: E402  (FULL: the torchvision networks)
import race  # noqa: E402  (TestTimeCondenseNet, condense, load_state)

# the full-size networks of tools/fixtures/make_onnx.py (one definition), under ncnn's names
TORCHVISION = {("shufflenet_v2_x1_0" if k == "shufflenet_v2" else k): f for k, f in make_onnx.FULL.items()
               if k not in ("regnet_y_400mf", "resnext50")}
CONDENSENETS = {
    "condensenet86": ("Tests/EdgeInferTests/Fixtures/official/condensenet86-cifar10-converted.pth", 32),
    "condensenet-imagenet": ("tools/bench/models/condensenet-imagenet-g4-train.pth", 224),
}


class SelectGather(race.TestTimeCondenseNet):
    """the index layer as a 1x1 convolution (or, after the pool, a linear map) with one-hot rows"""

    def gather(self, x, key):
        idx = self.t(key)
        onehot = torch.zeros(len(idx), x.shape[1])
        onehot[torch.arange(len(idx)), idx] = 1.0
        return F.linear(x, onehot) if x.dim() == 2 else F.conv2d(x, onehot[:, :, None, None])


class FreeGather(race.TestTimeCondenseNet):
    """the index layer as the first `selected` channels: the same shapes, no gather"""

    def gather(self, x, key):
        return x[:, : len(self.t(key))]


def pnnx_export(model, size, name, out, pnnx):
    model.eval()
    x = torch.rand(1, 3, size, size)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        pt = os.path.join(tmp, name + ".pt")
        torch.jit.trace(model, x).save(pt)
        r = subprocess.run([pnnx, pt, f"inputshape=[1,3,{size},{size}]",
                            f"ncnnparam={os.path.join(out, name + '.ncnn.param')}",
                            f"ncnnbin={os.path.join(out, name + '.ncnn.bin')}"],
                           cwd=tmp, capture_output=True, text=True)
        if r.returncode or not os.path.exists(os.path.join(out, name + ".ncnn.param")):
            sys.exit(f"pnnx failed on {name}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    print(f"{name}: {os.path.join(out, name + '.ncnn.param')} (input {size}x{size})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pnnx", required=True, help="the pnnx binary (e.g. unzipped from the PyPI pnnx wheel)")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("names", nargs="+", choices=sorted(TORCHVISION) + sorted(CONDENSENETS))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in a.names:
        torch.manual_seed(0)
        if name in TORCHVISION:
            pnnx_export(TORCHVISION[name](), 224, name, a.out, a.pnnx)
            continue
        ckpt, size = CONDENSENETS[name]
        sd = race.load_state(os.path.join(ROOT, ckpt))
        conv = race.condense(sd) if any(k.endswith("._mask") for k in sd) else sd
        for cls, suffix in ((SelectGather, "select"), (FreeGather, "free")):
            pnnx_export(cls(conv, 1 if size == 32 else 2), size, f"{name}-{suffix}", a.out, a.pnnx)


if __name__ == "__main__":
    main()
