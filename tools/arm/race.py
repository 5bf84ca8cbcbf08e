#!/usr/bin/env python3
"""The ARM tables, from tools/arm/estimate: the estimator's validation against ncnn's published
Raspberry Pi figures, and edge-infer against ncnn on the same cores. Development tool (hours of
qemu for the big networks); each figure is cached as OUT/NAME.json and reused.

  python3 tools/arm/race.py validate --cpu cortex-a72 --root ROOT --site SITE --ncnn-models DIR --out OUT
  python3 tools/arm/race.py race --cpu cortex-a72 --root ROOT --site SITE --ncnn-models DIR --full DIR --out OUT

ROOT: an arm64 Debian root with python3 (mmdebstrap, tools/arm/README.md); SITE: ncnn's aarch64
wheel unzipped; --ncnn-models: tools/arm/ncnn_models.py's output; --full: the .cnm files of
tools/fixtures/make_onnx.py --full (resnet18, resnet50, googlenet, densenet121 and -int8). The
traces stay in OUT/traces; --reprice prices them again without qemu (after a change to estimate). Every
figure is one inference at one thread: the difference of runs with 1 and 2 inferences (ncnn) or
0 and 1 (ours, loading excluded either way).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))

# benchncnn, 1 thread, average ms, from Tencent/ncnn benchmark/README.md (commit a4d2ea1); each
# key is the section's heading as printed there. ncnn's own bundled models (Caffe-era params):
# ours are torchvision's rebuilt with pnnx, which have about the same MACs.
PUBLISHED = {
    "cortex-a72": ("Raspberry Pi 4 Model B Broadcom BCM2711B0, Cortex-A72 (ARMv8) (1.8GHz x 4)", 1.8, {
        "squeezenet1_1": 73.96, "mobilenet_v2": 93.48, "shufflenet_v2_x1_0": 42.12, "googlenet": 235.94,
        "resnet18": 191.10, "alexnet": 139.40, "vgg16": 1071.85, "resnet50": 534.11}),
    "cortex-a76": ("Raspberry Pi 5 Broadcom BCM2712, Cortex-A76 (ARMv8) (2.4GHz x 4)", 2.4, {
        "squeezenet1_1": 11.87, "mobilenet_v2": 16.38, "shufflenet_v2_x1_0": 7.14, "googlenet": 48.71,
        "resnet18": 29.68, "alexnet": 35.62, "vgg16": 189.63, "resnet50": 89.43}),
    "cortex-a53": ("Raspberry Pi 3 Model B+ Broadcom BCM2837B0, Cortex-A53 (ARMv8) (1.4GHz x 4)", 1.4, {
        "squeezenet1_1": 125.58, "mobilenet_v2": 158.80, "shufflenet_v2_x1_0": 74.44, "googlenet": 450.79,
        "resnet18": 379.57, "alexnet": 270.55, "resnet50": 979.75}),
}
# the race: (row, ncnn param names, input size, our .cnm fp32, our .cnm int8)
RACE = [
    ("CondenseNet-86 CIFAR-10", ["condensenet86-select", "condensenet86-free"], 32,
     "models/condensenet86-cifar10.cnm", "models/condensenet86-cifar10-int8.cnm"),
    ("CondenseNet ImageNet G=C=4", ["condensenet-imagenet-select", "condensenet-imagenet-free"], 224,
     "tools/bench/models/cin.cnm", "tools/bench/models/cin-int8.cnm"),
    ("DenseNet-121", ["densenet121"], 224, "{full}/densenet121.cnm", "{full}/densenet121-int8.cnm"),
    ("ResNet-18", ["resnet18"], 224, "{full}/resnet18.cnm", "{full}/resnet18-int8.cnm"),
    ("ResNet-50", ["resnet50"], 224, "{full}/resnet50.cnm", "{full}/resnet50-int8.cnm"),
    ("GoogLeNet", ["googlenet"], 224, "{full}/googlenet.cnm", "{full}/googlenet-int8.cnm"),
]


def run_estimate(a, key, ghz, per_run, argv, env=None):
    path, traces = os.path.join(a.out, key + ".json"), os.path.join(a.out, "traces", key)
    replay = a.reprice and os.path.exists(os.path.join(traces, "meta.json"))
    if os.path.exists(path) and not replay:
        with open(path) as f:
            return json.load(f)
    cmd = [sys.executable, os.path.join(HERE, "estimate"), "--cpu", a.cpu, "--ghz", str(ghz), "--top", "30"]
    cmd += ["--replay", traces] if replay else ["--per-run", per_run, "--keep", traces, "--"] + argv
    print(f"race: {key} ...", file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        print(f"race: {key} failed:\n{r.stderr[-1500:]}", file=sys.stderr)
        return None
    lines = r.stdout.strip().splitlines()
    with open(os.path.join(a.out, key + ".top"), "w") as f:
        f.write("\n".join(lines[:-1]) + "\n")
    d = json.loads(lines[-1])
    with open(path, "w") as f:
        json.dump(d, f)
    return d


def ncnn(a, ghz, param, size, fp16=None):
    env = dict(os.environ, QEMU_LD_PREFIX=a.root,
               QEMU_SET_ENV=f"LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu/blas:/usr/lib/aarch64-linux-gnu/lapack,PYTHONPATH={a.site}")
    argv = [os.path.join(a.root, "usr/bin/python3"), os.path.join(HERE, "ncnn_bench.py"),
            os.path.join(a.ncnn_models, param + ".ncnn.param"), "{runs}", "1", "--size", str(size)]
    key = f"ncnn-{param}-{a.cpu}" + (f"-fp16{fp16}" if fp16 else "")
    if fp16:
        argv += ["--fp16", fp16]
    return run_estimate(a, key, ghz, "1,2", argv, env)


def ours(a, ghz, model):
    model = model.replace("{full}", a.full or "")
    if not os.path.isabs(model):
        model = os.path.join(ROOT, model)
    if not os.path.exists(model):
        print(f"race: {model}: no such model (skipped)", file=sys.stderr)
        return None
    key = "ours-" + os.path.basename(model)[:-4] + "-" + a.cpu
    return run_estimate(a, key, ghz, "0,1", [os.path.join(ROOT, "CRuntime/build-aarch64/bench"), model, "{runs}", "1"])


def validate(a):
    heading, ghz, rows = PUBLISHED[a.cpu]
    print(f"Validation on {a.cpu}: ncnn (PyPI aarch64 wheel, pnnx-converted torchvision nets, fp32 defaults, 1 thread)")
    print(f"against benchncnn's published `{heading}` rows\n")
    print("| network | published ms | estimated ms | error | estimated insns | of which memory cycles |")
    print("| --- | --- | --- | --- | --- | --- |")
    errs = []
    for name, pub in rows.items():
        d = ncnn(a, ghz, name, 224)
        if not d:
            continue
        ms = d["cycles"] / (ghz * 1e6)  # at the published board's clock
        e = ms / pub - 1.0
        errs.append(abs(e))
        print(f"| {name} | {pub:.2f} | {ms:.2f} | {100 * e:+.1f}% | {d['insns'] / 1e6:.0f} M | "
              f"{100 * d['memory_cycles'] / max(d['cycles'], 1):.0f}% |")
    if errs:
        within = sum(e <= 0.30 for e in errs)
        print(f"\n{within} of {len(errs)} within 30%; mean absolute error {100 * sum(errs) / len(errs):.1f}%, "
              f"largest {100 * max(errs):.1f}%")


def race(a):
    ghz = a.ghz or {"cortex-a72": 1.8, "cortex-a76": 2.4, "cortex-a53": 1.4}[a.cpu]
    fp16 = a.cpu == "cortex-a76"
    print(f"Estimated ms per inference on {a.cpu} at {ghz} GHz, 1 thread (tools/arm/estimate)\n")
    head = ("| network | edge-infer fp32 | edge-infer int8 |" + (" ncnn default (fp16) | ncnn fp16 off |" if fp16 else " ncnn fp32 |")
            + " fp32 ratio | int8 ratio |")
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for row, params, size, f32, i8 in RACE:
        o32, o8 = ours(a, ghz, f32), ours(a, ghz, i8)
        nc = [ncnn(a, ghz, p, size) for p in params]
        off = [ncnn(a, ghz, p, size, "off") for p in params] if fp16 else []
        fmt = lambda d: f"{d['ms']:.1f}" if d else "-"
        # with two ncnn graphs (the selection conv and the free gather) the free one is the bound
        best = nc[-1]
        label = " / ".join(fmt(d) for d in nc) + (" (select / free gather)" if len(nc) == 2 else "")
        cells = [row, fmt(o32), fmt(o8), label]
        if fp16:
            cells.append(" / ".join(fmt(d) for d in off))
        cells.append(f"{best['ms'] / o32['ms']:.2f}x" if best and o32 else "-")
        cells.append(f"{best['ms'] / o8['ms']:.2f}x" if best and o8 else "-")
        print("| " + " | ".join(cells) + " |")
    print("\nratio = ncnn (its default; with two graphs the free-gather one) / edge-infer; above 1: we are faster")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["validate", "race"])
    ap.add_argument("--cpu", required=True, choices=sorted(PUBLISHED))
    ap.add_argument("--ghz", type=float)
    ap.add_argument("--root", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--ncnn-models", required=True)
    ap.add_argument("--full")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reprice", action="store_true", help="price the kept traces again (after a change to estimate)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.what == "validate":
        validate(a)
    else:
        race(a)


if __name__ == "__main__":
    main()
