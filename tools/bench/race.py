#!/usr/bin/env python3
"""Side-by-side latency race: ONNX Runtime fp32, ONNX Runtime int8 (static QDQ, per-channel),
edge-infer fp32 (and int8 when cnm-convert supports it), from ONE checkpoint, interleaved.

The test-time model is built here with our own PyTorch definition (index_select + BN + ReLU +
grouped 1x1 conv + channel shuffle + BN + ReLU + grouped 3x3 conv, dense concatenation,
average pools, index + linear), condensed from a training-time checkpoint with the official
rules (or loaded from a converted one), checked against the .cnm's logits, exported to ONNX
(opset 17) and quantised with onnxruntime.quantization.quantize_static on the same calibration
images. Each round times every engine at every thread count (batch 1); the reported figure is
the median over all timed runs. Development tool: needs onnx, onnxruntime, and torch for a checkpoint.

  python3 tools/bench/race.py CHECKPOINT.pth --preset cifar10 [--threads 1,2] [--rounds 5] [--runs 100]

With an .onnx file instead (the classic CNNs and torchvision DenseNets, e.g. from
tools/fixtures/make_onnx.py --full), that graph is what ONNX Runtime runs and what cnm-convert
converts; both are quantised on the same calibration images:

  python3 tools/bench/race.py /tmp/edge-infer-full/resnet50.onnx --preset imagenet
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

try:  # only the checkpoint path needs PyTorch; an .onnx race runs without it
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    torch = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tools/train"))


def load_state(path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    sd = ck.get("state_dict", ck)
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def condense(sd, keep_classifier=False):
    """Official convert_model rules on a training-time state_dict -> converted state_dict."""
    out = {}
    for k, v in sd.items():
        if k.endswith("conv_1._mask"):
            pre = k[: -len("._mask")]
            w, mask = sd[pre + ".conv.weight"], sd[pre + "._mask"]
            stage = int(sd[pre + "._stage"].item())
            c = stage + 1
            out_c, in_c = w.shape[0], w.shape[1]
            g3_w = sd[pre.replace("conv_1", "conv_2") + ".conv.weight"]
            g = out_c // g3_w.shape[1]
            per = in_c // c
            m = mask[:, :, 0, 0]
            idx, rows = [], []
            d = out_c // g
            neww = torch.zeros(out_c, per, 1, 1)
            for i in range(g):
                kept = [j for j in range(in_c) if m[i, j] == 1][:per]
                idx += kept
                for kk in range(d):
                    neww[i * d + kk, :, 0, 0] = w[i + kk * g, kept, 0, 0]
            out[pre + ".index"] = torch.tensor(idx)
            out[pre + ".conv.weight"] = neww
            for n in ["weight", "bias", "running_mean", "running_var"]:
                out[pre + ".norm." + n] = sd[pre + ".norm." + n][idx]
        elif any(s in k for s in ["._mask", "._count", "._stage", "conv_1.conv.weight", "conv_1.norm."]) and \
                any(kk.endswith("conv_1._mask") for kk in sd if kk.startswith(k.split(".conv_1")[0])):
            continue
        elif k.startswith("classifier.") and not keep_classifier and "classifier.index" not in sd:
            if k == "classifier.weight":
                w = sd[k]
                keep = int(w.shape[1] * 0.5)
                order = w.abs().sum(0).sort()[1][w.shape[1] - keep:]
                out["classifier.index"] = order
                out["classifier.linear.weight"] = w[:, order]
                out["classifier.linear.bias"] = sd["classifier.bias"]
        else:
            out[k] = v
    return out


class TestTimeCondenseNet(nn.Module if torch is not None else object):
    """The converted CondenseNet as plain PyTorch ops (what ONNX Runtime will run)."""

    def __init__(self, sd, stem_stride):
        super().__init__()
        self.sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
        self.stem_stride = stem_stride
        self.blocks = sorted({int(k.split(".")[1].split("_")[1]) for k in sd if k.startswith("features.denseblock_")})
        self.layers = {b: sorted({int(k.split(".")[2].split("_")[1]) for k in sd if k.startswith(f"features.denseblock_{b}.")})
                       for b in self.blocks}
        for k, v in self.sd.items():
            self.register_buffer(k.replace(".", "__"), v)

    def t(self, k):
        return getattr(self, k.replace(".", "__"))

    def bn(self, x, p):
        return F.batch_norm(x, self.t(p + ".running_mean"), self.t(p + ".running_var"), self.t(p + ".weight"),
                            self.t(p + ".bias"), False, 0.0, 1e-5)

    def gather(self, x, key):
        """the index layer: channels self.t(key) of x (tools/arm/ncnn_models.py replaces it for ncnn)"""
        return torch.index_select(x, 1, self.t(key))

    def forward(self, x):
        x = F.conv2d(x, self.t("features.init_conv.weight"), stride=self.stem_stride, padding=1)
        for b in self.blocks:
            for l in self.layers[b]:
                p = f"features.denseblock_{b}.denselayer_{l}"
                y = self.gather(x, p + ".conv_1.index")
                y = F.relu(self.bn(y, p + ".conv_1.norm"))
                w1 = self.t(p + ".conv_1.conv.weight")
                g = y.shape[1] // w1.shape[1]
                y = F.conv2d(y, w1, groups=g)
                n, c, h, w = y.shape
                y = y.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)
                y = F.relu(self.bn(y, p + ".conv_2.norm"))
                w2 = self.t(p + ".conv_2.conv.weight")
                y = F.conv2d(y, w2, padding=1, groups=y.shape[1] // w2.shape[1])
                x = torch.cat([x, y], 1)
            if b != self.blocks[-1]:
                x = F.avg_pool2d(x, 2)
        x = F.relu(self.bn(x, "features.norm_last"))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = self.gather(x, "classifier.index")
        return F.linear(x, self.t("classifier.linear.weight"), self.t("classifier.linear.bias"))


def calibration_images(preset, n, size):
    import data  # tools/train/data.py

    x, _ = data.load(os.path.join(ROOT, "../shared/data/cifar10/cifar10-test-jpeg.tar.gz"))
    x = x[:n].transpose(0, 3, 1, 2).astype(np.float32) / 255
    if size != x.shape[2]:  # bilinear, PyTorch's align_corners=False
        def axis(n_in):
            src = np.maximum((np.arange(size) + 0.5) * n_in / size - 0.5, 0)
            i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
            return i0, np.minimum(i0 + 1, n_in - 1), (src - i0).astype(np.float32)
        y0, y1, wy = axis(x.shape[2])
        x0, x1, wx = axis(x.shape[3])
        rows = x[:, :, y0] * (1 - wy)[:, None] + x[:, :, y1] * wy[:, None]
        x = rows[..., x0] * (1 - wx) + rows[..., x1] * wx
    mean = np.array(data.MEAN if preset == "cifar10" else [0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = np.array(data.STD if preset == "cifar10" else [0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
    return ((x - mean) / std).astype(np.float32)


def ort_times(path, threads, x, runs, warmup):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    for _ in range(warmup):
        s.run(None, {name: x})
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        s.run(None, {name: x})
        t.append(time.perf_counter() - a)
    return t


def edge_times(binary, model, threads, runs, warmup=None):
    """`edge-infer bench --json` (warmup None: the bench's own default)."""
    r = subprocess.run([binary, "bench", "--model", model, "--threads", str(threads), "--runs", str(runs), "--json"]
                       + ([] if warmup is None else ["--warmup", str(warmup)]), capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--preset", default="cifar10")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--calibration", type=int, default=100)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    size = 32 if args.preset == "cifar10" else 224
    bindir = os.path.join(ROOT, ".build/release")
    work = tempfile.mkdtemp(prefix="race-")

    from_onnx = args.checkpoint.endswith(".onnx")
    if not from_onnx and torch is None:
        sys.exit("race.py: a checkpoint race needs PyTorch (an .onnx race does not)")
    if not from_onnx:
        sd = load_state(args.checkpoint)
        conv = condense(sd) if any(k.endswith("._mask") for k in sd) else sd
        model = TestTimeCondenseNet(conv, 1 if size == 32 else 2).eval()
    calib = calibration_images(args.preset, args.calibration, size)
    x = calib[:1]

    # edge-infer models from the same checkpoint
    cnm = os.path.join(work, "model.cnm")
    subprocess.run([os.path.join(bindir, "cnm-convert"), args.checkpoint, "-o", cnm, "--preset", args.preset], check=True)
    engines = {"edge-infer fp32": ("edge", cnm)}
    cnm8 = os.path.join(work, "model-int8.cnm")
    npy = os.path.join(work, "calib.npy")
    np.save(npy, calib)
    r = subprocess.run([os.path.join(bindir, "cnm-convert"), args.checkpoint, "-o", cnm8, "--preset", args.preset,
                        "--int8", "--calibration", npy], capture_output=True, text=True)
    if r.returncode == 0:
        engines["edge-infer int8"] = ("edge", cnm8)
    else:
        print("edge-infer int8: not available (" + (r.stderr.strip().splitlines() or ["?"])[-1] + ")")

    # same model, same answer: our PyTorch definition (or ONNX Runtime on the .onnx) vs edge-infer
    if from_onnx:
        import onnxruntime as ort
        s = ort.InferenceSession(args.checkpoint, providers=["CPUExecutionProvider"])
        name = s.get_inputs()[0].name
        ref = np.concatenate([s.run(None, {name: calib[i:i + 1]})[0] for i in range(8)])
    else:
        with torch.no_grad():
            ref = model(torch.from_numpy(calib[:8])).numpy()
    np.save(os.path.join(work, "x8.npy"), calib[:8])
    subprocess.run([os.path.join(bindir, "edge-infer"), "run", "--model", cnm, "--input", os.path.join(work, "x8.npy"),
                    "--output", os.path.join(work, "y8.npy")], check=True)
    diff = np.abs(np.load(os.path.join(work, "y8.npy")) - ref).max()
    print(f"{'ONNX Runtime' if from_onnx else 'PyTorch test-time definition'} vs edge-infer fp32: max |logit diff| {diff:.2e}")

    if from_onnx:
        onnx_path = args.checkpoint
    else:
        onnx_path = os.path.join(work, "model.onnx")
        kw = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}  # torch >= 2.5 defaults to dynamo
        torch.onnx.export(model, torch.from_numpy(x), onnx_path, opset_version=17, input_names=["x"],
                          output_names=["logits"], **kw)
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            import onnx
            name = onnx.load(onnx_path, load_external_data=False).graph.input[0].name
            self.it = iter([{name: calib[i:i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.it, None)

    pre = os.path.join(work, "model-pre.onnx")
    quant_pre_process(onnx_path, pre)
    q_path = os.path.join(work, "model-int8.onnx")
    quantize_static(pre, q_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    engines = {"ONNX Runtime fp32": ("ort", onnx_path), "ONNX Runtime int8": ("ort", q_path), **engines}

    times = {(e, t): [] for e in engines for t in threads}
    for rnd in range(args.rounds):
        for e, (kind, path) in engines.items():
            for t in threads:
                if kind == "ort":
                    times[(e, t)] += ort_times(path, t, x, args.runs, 10)
                else:
                    j = edge_times(os.path.join(bindir, "edge-infer"), path, t, args.runs, 10)
                    times[(e, t)].append(j["p50_ms"] / 1e3)  # one median per round
        print(f"round {rnd + 1}/{args.rounds} done", flush=True)

    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    print(f"\n{os.path.basename(args.checkpoint)}, batch 1, median ms, {cpu}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}, {args.rounds} interleaved rounds")
    print("| engine | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |")
    print("| --- | " + " | ".join("---" for _ in threads) + " |")
    base = "ONNX Runtime fp32"
    for e in engines:
        cells = []
        for t in threads:
            ratio = med[(base, t)] / med[(e, t)]
            cells.append(f"{med[(e, t)]:.2f} ms ({ratio:.2f}x)")
        print(f"| {e} | " + " | ".join(cells) + " |")
    print("(x: speed-up over ONNX Runtime fp32 at the same thread count)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"checkpoint": args.checkpoint, "cpu": cpu, "date": time.strftime("%Y-%m-%d"),
                       "platform": platform.platform(), "median_ms": {f"{e}@{t}": med[(e, t)] for e, t in med}}, f, indent=1)


if __name__ == "__main__":
    main()
