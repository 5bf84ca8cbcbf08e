#!/usr/bin/env python3
"""Latency under a competing busy process: ONNX Runtime against edge-infer on the same network,
fp32 and int8, at 1 thread, 2 threads and each engine's default, rounds interleaved; medians of
the p50s. Development tool: needs numpy, onnxruntime (its quantizer for the int8 model).

  python3 tools/bench/load_race.py MODEL.onnx MODEL.cnm MODEL-int8.cnm CALIB.npy [--rounds 3] [--busy]

MODEL.onnx and the .cnm files from one checkpoint (tools/bench/race.py writes all of them into its
work folder); CALIB.npy: float32 NCHW normalised inputs (the first 100 calibrate ONNX Runtime's
static QDQ per-channel int8). --busy starts one `while :; do :; done` process for the duration.
"""
import argparse
import os
import subprocess

import numpy as np
import onnxruntime as ort

from race import edge_times, ort_times  # tools/bench/race.py: the same timing for both races

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    ap.add_argument("cnm")
    ap.add_argument("cnm8")
    ap.add_argument("calib")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busy", action="store_true")
    a = ap.parse_args()
    calib = np.load(a.calib).astype(np.float32)
    x = calib[:1]
    name = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    models = {"ort fp32": a.onnx}
    try:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.d = iter([{name: c[None]} for c in calib[:100]])

            def get_next(self):
                return next(self.d, None)

        q = os.path.splitext(a.onnx)[0] + "-ort-int8.onnx"
        quantize_static(a.onnx, q, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        models["ort int8"] = q
    except Exception as e:  # noqa: BLE001 - a missing quantizer only drops a row
        print("ONNX Runtime int8 not available:", e)

    def ort_p50(path, t, runs=200):
        return 1e3 * float(np.median(ort_times(path, t, x, runs, 20)))

    def edge_p50(m, t, runs=200):
        return edge_times(os.path.join(ROOT, ".build/release/edge-infer"), m, t, runs)["p50_ms"]

    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if a.busy else None
    try:
        res = {}
        for _ in range(a.rounds):
            for t in (1, 2, 0):
                for k, p in models.items():
                    res.setdefault((k, t), []).append(ort_p50(p, t))
                res.setdefault(("edge fp32", t), []).append(edge_p50(a.cnm, t))
                res.setdefault(("edge int8", t), []).append(edge_p50(a.cnm8, t))
    finally:
        if busy:
            busy.kill()
    print(f"p50 ms, medians of {a.rounds} rounds{', one busy process' if a.busy else ''}")
    for k in list(models) + ["edge fp32", "edge int8"]:
        print(f"{k:10} " + "  ".join(f"{'default' if t == 0 else str(t) + ' thr'}: {np.median(res[(k, t)]):.3f}" for t in (1, 2, 0)))


if __name__ == "__main__":
    main()
