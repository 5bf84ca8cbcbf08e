#!/usr/bin/env python3
"""Rebuild a training-time checkpoint (official layout) from an fp32 .cnm that cnm-convert wrote
from one of our CondenseNet checkpoints, so training can go on from a shipped model when the
(gitignored, 6 MB) training checkpoint is gone. Development tool; the product never runs Python.

  python3 tools/train/from_cnm.py models/condensenet86-cifar10.cnm -o tools/train/run-x/init.pth

What the .cnm keeps and what it does not, and how each is recovered:
- Learned group convolutions are stored condensed (index layer, grouped 1x1 conv, channel
  shuffle): undoing the official conversion gives back the full 1x1 weight with its mask
  (the pruned weights were zero in effect; they come back as zero), and the stage/count
  buffers of a finished condensing schedule.
- BatchNorm is stored folded (scale, shift). The running mean and variance are measured again
  on augmented training images (the inputs of every BatchNorm, eval mode), and gamma and beta
  are chosen so that the folded form is unchanged: gamma = scale * sqrt(var + eps),
  beta = shift + mean * scale. The rebuilt model in eval mode computes the .cnm's function.
- The classifier must be whole (cnm-convert --keep-classifier); a condensed one is refused.
The script checks the rebuild on test images: the logits of the folded and of the rebuilt
model must agree, and it reports the test top-1.
"""
import argparse
import copy
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
from condensenet import CondenseNet, LearnedGroupConv  # noqa: E402
from train import augment, evaluate, official_checkpoint, to_tensor  # noqa: E402

STORAGE = {1: np.float32, 2: np.int32, 3: np.int8, 4: np.uint8, 5: np.float16, 6: np.int16}


def read_cnm(path):
    """Returns (meta dict, {tensor name: numpy array}) of a version-1 .cnm (docs/FORMAT.md)."""
    b = open(path, "rb").read()
    if len(b) < 256 or b[:8] != b"\x89CNM\r\n\x1a\n":
        sys.exit(f"{path}: not a .cnm file")
    if struct.unpack_from("<I", b, 8)[0] != 1:
        sys.exit(f"{path}: unsupported .cnm version")
    secs = [struct.unpack_from("<QII", b, 32 + 16 * i) for i in range(7)]
    strings = secs[0][0]

    def text(off, n):
        return b[strings + off:strings + off + n].decode()

    meta = {}
    for i in range(secs[1][1]):
        ko, kl, vo, vl = struct.unpack_from("<4I", b, secs[1][0] + 16 * i)
        meta[text(ko, kl)] = text(vo, vl)
    tensors = {}
    for i in range(secs[3][1]):
        base = secs[3][0] + 48 * i
        no, nl, dtype, ndim = struct.unpack_from("<4I", b, base)
        dims = struct.unpack_from("<4I", b, base + 16)[:ndim]
        off, nbytes = struct.unpack_from("<QQ", b, base + 32)
        if dtype == 3:
            sys.exit(f"{path}: an int8 model; rebuild from the fp32 one")
        a = np.frombuffer(b, dtype=STORAGE[dtype], count=int(np.prod(dims)), offset=off)
        tensors[text(no, nl)] = a.reshape(dims).astype(np.float32 if dtype in (1, 5) else np.int64)
    return meta, tensors


def build(meta, t):
    """The model with BatchNorm in folded form (mean 0, var 1 - eps, gamma = scale, beta = shift)."""
    if meta.get("arch") != "condensenet":
        sys.exit(f"arch {meta.get('arch')!r}: only CondenseNet is supported")
    if not meta.get("classifier", "").startswith("full"):
        sys.exit(f"classifier {meta.get('classifier')!r}: convert with --keep-classifier to keep every weight")
    ints = lambda k: [int(v) for v in meta[k].split(",")]  # noqa: E731
    g1, g3, c = int(meta["group_1x1"]), int(meta["group_3x3"]), int(meta["condense_factor"])
    model = CondenseNet(ints("stages"), ints("growth"), bottleneck=int(meta["bottleneck"]), group_1x1=g1,
                        group_3x3=g3, condense_factor=c, num_classes=t["classifier.bias"].shape[0])
    sd = model.state_dict()
    used = set()

    def take(name):
        used.add(name)
        return torch.from_numpy(t[name].copy())

    def folded_bn(prefix, scale, shift):
        sd[prefix + ".weight"].copy_(scale)
        sd[prefix + ".bias"].copy_(shift)
        sd[prefix + ".running_mean"].zero_()
        sd[prefix + ".running_var"].fill_(1 - 1e-5)

    for name, m in model.named_modules():
        if isinstance(m, LearnedGroupConv):
            p = name
            index, wc = take(p + ".index"), take(p + ".conv.weight")[:, :, 0, 0]
            scale, shift = take(p + ".norm.scale"), take(p + ".norm.shift")
            g, cin, cout = m.groups, m.in_channels, m.out_channels
            per_group, d_out = index.numel() // g, cout // g
            w = torch.zeros(cout, cin)
            mask = torch.zeros(cout, cin)
            bn_scale, bn_shift = torch.ones(cin), torch.zeros(cin)
            # the official conversion: condensed row i*d_out + k is full row i + k*G, condensed input
            # column j of group i is full input index[i*per_group + j]; the shuffle restores row order
            for i in range(g):
                cols = index[i * per_group:(i + 1) * per_group]
                for k in range(d_out):
                    w[i + k * g, cols] = wc[i * d_out + k]
                    mask[i + k * g, cols] = 1
            bn_scale[index], bn_shift[index] = scale, shift
            sd[p + ".conv.weight"].copy_(w.view(cout, cin, 1, 1))
            sd[p + "._mask"].copy_(mask.view(cout, cin, 1, 1))
            sd[p + "._stage"].fill_(c - 1)
            sd[p + "._count"].fill_(cin // c * (c - 1))
            folded_bn(p + ".norm", bn_scale, bn_shift)
        elif isinstance(m, nn.BatchNorm2d) and not name.endswith("conv_1.norm"):
            folded_bn(name, take(name + ".scale"), take(name + ".shift"))
        elif isinstance(m, (nn.Conv2d, nn.Linear)) and not name.endswith("conv_1.conv"):
            sd[name + ".weight"].copy_(take(name + ".weight"))
            if m.bias is not None:
                sd[name + ".bias"].copy_(take(name + ".bias"))
    if used != set(t):
        sys.exit(f"tensors not understood: {sorted(set(t) - used)[:5]}")
    model.load_state_dict(sd)
    return model


@torch.no_grad()
def bn_input_stats(model, x, batch=250):
    """Per-channel mean and (biased) variance of every BatchNorm's input, in eval mode."""
    sums = {}

    def hook(mod, inp):
        v = inp[0].double()
        s = sums.setdefault(mod, [0, 0.0, 0.0])
        s[0] += v.shape[0] * v.shape[2] * v.shape[3]
        s[1] = s[1] + v.sum((0, 2, 3))
        s[2] = s[2] + (v * v).sum((0, 2, 3))

    hooks = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    model.eval()
    for i in range(0, len(x), batch):
        model(to_tensor(x[i:i + batch], "cpu"))
    for h in hooks:
        h.remove()
    return {m: (s[1] / s[0], s[2] / s[0] - (s[1] / s[0]) ** 2) for m, s in sums.items()}


@torch.no_grad()
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cnm")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/cifar10"))
    p.add_argument("--images", type=int, default=10000, help="augmented training images for the BN statistics")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    meta, tensors = read_cnm(args.cnm)
    model = build(meta, tensors)
    xtr, _ = data.load(os.path.join(args.data, "cifar10-train-jpeg.tar.gz"))
    xte, yte = data.load(os.path.join(args.data, "cifar10-test-jpeg.tar.gz"))
    rng = np.random.default_rng(7)
    sample = augment(xtr[rng.permutation(len(xtr))[:args.images]], rng)
    stats = bn_input_stats(model, sample)
    ref = copy.deepcopy(model).eval()  # the folded form, for the check below
    for m, (mean, var) in stats.items():
        mean, var = mean.float(), var.float().clamp(min=0)
        scale, shift = m.weight.clone(), m.bias.clone()
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.weight.copy_(scale * (var + m.eps).sqrt())
        m.bias.copy_(shift + mean * scale)
    model.eval()
    x = to_tensor(xte[:500], "cpu")
    diff = (model(x) - ref(x)).abs().max().item()
    top1 = evaluate(model, xte, yte, "cpu")
    print(f"rebuilt {args.cnm}: logits max |diff| vs the folded model {diff:.2e} (500 test images), "
          f"test top-1 {top1:.4f}")
    if diff > 1e-3:
        sys.exit("rebuild does not reproduce the .cnm")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(official_checkpoint(model, 0, float(top1), {}, {"from_cnm": args.cnm, "meta": meta}), args.out)


if __name__ == "__main__":
    main()
