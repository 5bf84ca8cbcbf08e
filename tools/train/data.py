"""CIFAR-10 from the JPEG archives in shared/data/cifar10, decoded once and cached as uint8."""
import io
import os
import tarfile

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MEAN = np.array([0.4914, 0.4824, 0.4467], dtype=np.float32)
STD = np.array([0.2471, 0.2435, 0.2616], dtype=np.float32)


def load(archive, cache_dir=os.path.expanduser("~/.cache/edge-infer")):
    """Returns (images uint8 [N,32,32,3], labels int64 [N]) in archive order."""
    os.makedirs(cache_dir, exist_ok=True)
    cache = os.path.join(cache_dir, os.path.basename(archive) + ".npz")
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(archive):
        z = np.load(cache)
        return z["x"], z["y"]
    from PIL import Image  # only to decode: the cache needs none

    xs, ys = [], []
    with tarfile.open(archive) as t:
        for m in t:
            if not m.isfile() or not m.name.endswith(".jpg"):
                continue
            cls = m.name.split("/")[-2]
            img = Image.open(io.BytesIO(t.extractfile(m).read())).convert("RGB")
            xs.append(np.asarray(img, dtype=np.uint8))
            ys.append(CLASSES.index(cls))
    x, y = np.stack(xs), np.array(ys, dtype=np.int64)
    np.savez(cache, x=x, y=y)
    return x, y
