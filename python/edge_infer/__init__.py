"""edge-infer's C runtime for .cnm image classifiers.

    m = edge_infer.Model(path=None, threads=0)    # None: the built-in CIFAR-10 CondenseNet-86
    m.run(x)                                      # float32 N x C x H x W (or C x H x W) -> N x classes logits
    m.classify(image, top=5)                      # path | uint8 ndarray | PIL image -> [(label, probability), ...]
    m.info, m.labels, m.input_shape
"""
import os

import numpy as np

from . import _cnm
from ._cnm import Error

__all__ = ["Model", "Error", "__version__", "DEFAULT_MODEL"]
__version__, COMPILER, ISA = _cnm.version()
DEFAULT_MODEL = os.path.join(os.path.dirname(__file__), "default.cnm")


class Model:
    """A .cnm model with one inference context. `threads`: OpenMP threads; 0 = adaptive over all
    cores (each run takes one thread or all, whichever recent runs found faster).
    `unfused`: every operator as its own kernel (the same results, slower). `winograd=False`: 3x3
    stride-1 convolutions on the direct kernel (no transformed weights: less memory, slower;
    results within fp32 rounding; `info["plan_bytes"]` counts them). `fp16=True`: the fp32
    convolutions in binary16 on ARM CPUs with FP16 arithmetic (logits within about 1e-2 relative
    of fp32; no effect elsewhere). Not for concurrent use
    from several Python threads at once (they take turns); make one Model per thread instead."""

    def __init__(self, path=None, threads=0, unfused=False, winograd=True, fp16=False):
        self.path = os.fspath(path) if path is not None else DEFAULT_MODEL
        self._m = _cnm.Model(self.path, threads, unfused, winograd, fp16)
        self.info = self._m.info()
        self.labels = self.info["labels"]
        self.input_shape = tuple(self.info["input_shape"])

    def __repr__(self):
        c, h, w = self.input_shape
        return f"edge_infer.Model({self.path!r}: {c}x{h}x{w} -> {len(self.labels)} classes, {self.info['isa']}, {self.info['threads']} threads)"

    def run(self, x):
        """Logits of float32 N x C x H x W inputs (already normalised); a C x H x W input gives one
        row. A C-contiguous float32 array is read in place."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape == self.input_shape:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != self.input_shape:
            raise ValueError(f"input shape {x.shape} does not match the model input (N, {', '.join(map(str, self.input_shape))})")
        out = np.empty((x.shape[0], len(self.labels)), np.float32)
        self._m.run(x, out, x.shape[0])
        return out

    def preprocess(self, image):
        """The model's input (C x H x W float32) from an image: resized and normalised as the CLI does."""
        px, w, h, c = self._pixels(image)
        out = np.empty(self.input_shape, np.float32)
        self._m.preprocess(px, w, h, c, out)
        return out

    def classify(self, image, top=5):
        """[(label, probability), ...] best first, for a path, a uint8 array (H x W x 3, H x W x 1 or
        H x W) or a PIL image."""
        logits = self.run(self.preprocess(image))[0].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        best = np.argsort(-p, kind="stable")[: max(1, int(top))]
        return [(self.labels[i], float(p[i])) for i in best]

    def _pixels(self, image):
        if isinstance(image, (str, bytes, os.PathLike)) and not isinstance(image, bytes):
            name = os.fspath(image)
            if os.path.isdir(name):
                raise Error(f"{name}: is a directory")
            try:
                with open(name, "rb") as f:
                    data = f.read()
            except OSError as e:
                raise Error(f"{name}: {e.strerror.lower() if e.strerror else e}") from None
            _, h, w = self.input_shape
            return _cnm.decode(data, name, w, h)
        if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
            image = np.asarray(image.convert("RGB"))
        a = np.asarray(image)
        if a.dtype != np.uint8:
            raise ValueError(f"an image array must be uint8 (H x W x 3, H x W x 1 or H x W), not {a.dtype}")
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3 or a.shape[2] not in (1, 3):
            raise ValueError(f"an image array must be H x W x 3, H x W x 1 or H x W, not {a.shape}")
        a = np.ascontiguousarray(a)
        return a, a.shape[1], a.shape[0], a.shape[2]
