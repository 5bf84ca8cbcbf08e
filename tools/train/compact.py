#!/usr/bin/env python3
"""Compact resume checkpoints: the file a sitting commits so that the next sitting, on a fresh
checkout, goes on where it stopped. Development tool; the product never runs Python.

The training checkpoint (OUT/checkpoint.pth, gitignored) holds every 1x1 weight of the learned
group convolutions, their momentum buffers and their masks in fp32: 17 MB for CondenseNet-86.
Three quarters of those weights are masked off once condensing is done, and a masked entry never
matters again: the forward pass uses weight * mask, so its gradient is zero, and the masks only
ever drop more columns. OUT/resume.pt keeps the kept entries only (weights and momentum, in mask
order) and the masks as bits: 4.7 MB. Unpacking gives masked entries 0 with 0 momentum, which
SGD keeps at 0; every kept entry and every other tensor comes back bit for bit, so a run resumed
from resume.pt follows the same trajectory as one resumed from checkpoint.pth.

  python3 tools/train/compact.py tools/train/run-c86-p8   # OUT/checkpoint.pth -> OUT/resume.pt
train.py writes resume.pt beside checkpoint.pth at each save and resumes from it when
checkpoint.pth is missing.
"""
import argparse
import os
import sys

import numpy as np
import torch

FORMAT = "edge-infer compact resume checkpoint 1"


def _masks(sd):
    """{weight key: bool mask} for every learned group convolution of an official-layout state_dict."""
    return {k.removesuffix("_mask") + "conv.weight": v.bool() for k, v in sd.items() if k.endswith("conv_1._mask")}


def _squeeze(tensors, masks):
    """Values of the kept entries of each masked tensor (by key); other tensors as they are."""
    return {k: (v[masks[k]].clone() if k in masks else v) for k, v in tensors.items()}


def _by_index(masks, param_names):
    """The weight masks keyed by parameter index, as the optimizer state is."""
    return {i: m for i, name in enumerate(param_names) if (m := masks.get("module." + name)) is not None}


def _expand(tensors, masks):
    out = {}
    for k, v in tensors.items():
        if k in masks:
            full = torch.zeros(masks[k].shape, dtype=v.dtype)
            full[masks[k]] = v
            v = full
        out[k] = v
    return out


def pack(ck, param_names):
    """ck: a train.py checkpoint (official layout); param_names: the model's named_parameters() names
    in order (the optimizer state is keyed by their index)."""
    sd = ck["state_dict"]
    masks = _masks(sd)
    bits = {k: {"shape": list(v.shape), "bits": torch.from_numpy(np.packbits(v.bool().numpy().ravel()))}
            for k, v in sd.items() if k.endswith("_mask")}
    by_index = _by_index(masks, param_names)
    state = {i: _squeeze(s, {"momentum_buffer": by_index[i]} if i in by_index else {})
             for i, s in ck["optimizer"]["state"].items()}
    swa = ck.get("swa")
    if swa is not None:
        swa = {"n": swa["n"], "params": _squeeze(swa["params"], {k.removeprefix("module."): m for k, m in masks.items()})}
    rest = {k: v for k, v in ck.items() if k not in ("state_dict", "optimizer", "swa")}
    return {"format": FORMAT, **rest, "swa": swa, "masks": bits,
            "state_dict": _squeeze({k: v for k, v in sd.items() if k not in bits}, masks),
            "optimizer": {"state": state, "param_groups": ck["optimizer"]["param_groups"]}}


def unpack(packed, param_names):
    """The train.py checkpoint that pack() was given, with masked entries (weights, momentum, SWA
    average) set to 0."""
    if packed.get("format") != FORMAT:
        raise ValueError(f"not a compact resume checkpoint (format {packed.get('format')!r})")
    masks = {}
    for k, m in packed["masks"].items():
        n = int(np.prod(m["shape"]))
        masks[k] = torch.from_numpy(np.unpackbits(m["bits"].numpy(), count=n).astype(np.float32)).view(m["shape"])
    weight_masks = _masks(masks)
    sd = _expand(packed["state_dict"], weight_masks)
    sd.update(masks)
    by_index = _by_index(weight_masks, param_names)
    state = {i: _expand(s, {"momentum_buffer": by_index[i]} if i in by_index else {})
             for i, s in packed["optimizer"]["state"].items()}
    swa = packed.get("swa")
    if swa is not None:
        swa = {"n": swa["n"], "params": _expand(swa["params"], {k.removeprefix("module."): m for k, m in weight_masks.items()})}
    rest = {k: v for k, v in packed.items() if k not in ("format", "masks", "state_dict", "optimizer", "swa")}
    return {**rest, "state_dict": sd, "swa": swa,
            "optimizer": {"state": state, "param_groups": packed["optimizer"]["param_groups"]}}


def param_names_for(recipe):
    """Parameter names of the model a train.py recipe (its args) builds."""
    sys.path.insert(0, os.path.dirname(__file__))
    from condensenet import from_recipe
    return [name for name, _ in from_recipe(recipe).named_parameters()]


def save_atomic(obj, path):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="a train.py --out folder: packs OUT/checkpoint.pth into OUT/resume.pt")
    args = p.parse_args()
    src, dst = os.path.join(args.out, "checkpoint.pth"), os.path.join(args.out, "resume.pt")
    if not os.path.exists(src):
        sys.exit(f"{src}: no such checkpoint")
    ck = torch.load(src, map_location="cpu", weights_only=False)
    names = param_names_for(ck["recipe"])
    packed = pack(ck, names)
    save_atomic(packed, dst)
    back = unpack(torch.load(dst, map_location="cpu", weights_only=False), names)  # check the round trip
    sd, masks = ck["state_dict"], _masks(ck["state_dict"])
    for k, v in sd.items():
        want = v * masks[k] if k in masks else v
        if not torch.equal(back["state_dict"][k], want):
            sys.exit(f"{dst}: round trip changed {k}")
    print(f"{dst}: {os.path.getsize(dst):,} bytes ({src}: {os.path.getsize(src):,})")


if __name__ == "__main__":
    main()
