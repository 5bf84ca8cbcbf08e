#!/usr/bin/env python3
"""What the fp16 path (CNM_LOAD_FP16, `edge-infer --fp16`) costs in accuracy, measured under
qemu-aarch64 on a CPU model with Armv8.2 FP16 arithmetic, against the fp32 logits of the same
model on this machine. Development tool (numpy and Pillow); the product never runs Python.

  tools/arm/fp16_accuracy.py --model models/condensenet86-cifar10.cnm \\
      --data ../shared/data/cifar10/cifar10-test-jpeg.tar.gz [--per-class 100] [--jobs 2] [--cpu cortex-a76]

1. The first --per-class images of each class folder of the tar (as `edge-infer eval` reads
   them; qemu's binary16 arithmetic is slow, about 0.7 s per CondenseNet-86 image), decoded with Pillow and normalised with the model's own mean and std (its header),
   go to one float32 .npy per job (CIFAR-10's 32x32 images need no resize; other sizes are
   refused: the runtime's resize is not reproduced here).
2. fp32 logits: `edge-infer run` on this machine (built with `swift build -c release`).
3. fp16 logits: CRuntime/build-aarch64/logits (`make -C CRuntime bench-aarch64`) with `fp16`,
   under `qemu-aarch64 -cpu CPU`, one process per job.
4. Printed, and as JSON on the last line: top-1 of each against the labels, their top-1
   agreement, and the largest and mean of max |fp16 - fp32| / max |fp32| per image.
"""
import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def header(path):
    with open(path, "rb") as f:
        h = f.read(256)
    c, hh, ww = struct.unpack_from("<3I", h, 152)
    mean = struct.unpack_from("<4f", h, 168)[:c]
    std = struct.unpack_from("<4f", h, 184)[:c]
    return c, hh, ww, np.array(mean, np.float32), np.array(std, np.float32)


def images(tar_path, per_class, c, h, w, mean, std):
    xs, labels, classes, taken = [], [], {}, {}
    with tarfile.open(tar_path) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith((".jpg", ".jpeg", ".png"))),
                         key=lambda m: m.name)
        for m in members:
            cls = os.path.basename(os.path.dirname(m.name))
            if taken.get(cls, 0) >= per_class:
                continue
            taken[cls] = taken.get(cls, 0) + 1
            classes.setdefault(cls, len(classes))
            img = Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB" if c == 3 else "L")
            if img.size != (w, h):
                sys.exit(f"fp16_accuracy: {m.name} is {img.size[0]}x{img.size[1]}, the model takes {w}x{h}")
            a = np.asarray(img, np.float32).reshape(h, w, c) / 255.0
            xs.append(((a - mean) / std).transpose(2, 0, 1))
            labels.append(classes[cls])
    return np.stack(xs).astype(np.float32), np.array(labels), sorted(classes, key=classes.get)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="a tar(.gz) of images in one folder per class")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cpu", default="cortex-a76", help="qemu's CPU model (one with FP16 arithmetic)")
    a = ap.parse_args()
    c, h, w, mean, std = header(a.model)
    x, labels, names = images(a.data, a.per_class, c, h, w, mean, std)
    tmp = tempfile.mkdtemp(prefix="fp16-acc-")
    np.save(f"{tmp}/x.npy", x)
    subprocess.run([f"{ROOT}/.build/release/edge-infer", "run", "--model", a.model, "--input", f"{tmp}/x.npy",
                    "--output", f"{tmp}/fp32.npy"], check=True, stdout=subprocess.DEVNULL)
    chunks = np.array_split(np.arange(len(x)), a.jobs)
    procs = []
    for j, idx in enumerate(chunks):
        np.save(f"{tmp}/x{j}.npy", x[idx])
        procs.append(subprocess.Popen(["qemu-aarch64", "-cpu", a.cpu, f"{ROOT}/CRuntime/build-aarch64/logits", a.model,
                                       f"{tmp}/x{j}.npy", f"{tmp}/fp16-{j}.npy", "fp16"], stdout=subprocess.PIPE, text=True))
    isa = ""
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            sys.exit(f"fp16_accuracy: the aarch64 run failed ({p.returncode})")
        isa = out.split("kernels ")[-1].split(",")[0]
    y32 = np.load(f"{tmp}/fp32.npy")
    y16 = np.concatenate([np.load(f"{tmp}/fp16-{j}.npy") for j in range(len(chunks))])
    rel = np.abs(y16 - y32).max(axis=1) / np.abs(y32).max(axis=1)
    r = {"model": a.model, "images": int(len(x)), "cpu": a.cpu, "kernels": isa,
         "top1_fp32": float((y32.argmax(1) == labels).mean()), "top1_fp16": float((y16.argmax(1) == labels).mean()),
         "agreement": float((y32.argmax(1) == y16.argmax(1)).mean()),
         "max_rel_logit_diff": float(rel.max()), "mean_rel_logit_diff": float(rel.mean()),
         "images_over_1e-2": int((rel > 1e-2).sum())}
    print(f"{len(x)} images ({a.per_class} of each of {', '.join(names)}), fp16 on {a.cpu} ({isa}) against fp32 here:")
    print(f"  top-1 fp32 {100 * r['top1_fp32']:.2f}%, fp16 {100 * r['top1_fp16']:.2f}%, agreement {100 * r['agreement']:.2f}%")
    print(f"  max |fp16 - fp32| / max |fp32| per image: largest {r['max_rel_logit_diff']:.2e}, mean {r['mean_rel_logit_diff']:.2e}, "
          f"{r['images_over_1e-2']} images above 1e-2")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
