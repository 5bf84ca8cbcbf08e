#!/usr/bin/env python3
"""benchncnn-style runner for one ncnn .param (weights from DataReaderFromEmpty), for
tools/arm/estimate: runs under an arm64 Python with ncnn's aarch64 wheel (tools/arm/README.md).

usage: python3 ncnn_bench.py PARAM RUNS [THREADS] [--fp16 on|off] [--size N] [--input NAME] [--output NAME] [--rand]

 - loads PARAM with net.load_param(), then net.load_model(ncnn.DataReaderFromEmpty())
 - opt.num_threads = THREADS (default: ncnn's default, untouched)
 - --fp16 on|off sets opt.use_fp16_packed/storage/arithmetic (default: untouched)
 - RUNS inferences, one new extractor each, input 3xNxN (--size, default 224) zeros (--rand: random)
 - RUNS=0: load only
Input/output blob names default to the first Input layer's top blob and the last
layer's top blob of the param (pnnx names them in0 / out0).
"""
import sys
import time

import ncnn


def blob_names(param_path):
    with open(param_path) as f:
        lines = [l.split() for l in f.read().splitlines()[2:] if l.strip()]
    inp = out = None
    for t in lines:
        typ, nb, nt = t[0], int(t[2]), int(t[3])
        tops = t[4 + nb:4 + nb + nt]
        if typ == "Input" and inp is None:
            inp = tops[0]
        if tops:
            out = tops[0]
    return inp, out


def main(argv):
    args = list(argv)
    fp16 = None
    inp = out = None
    rand = False
    size = 224
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--fp16":
            fp16 = args[i + 1]
            if fp16 not in ("on", "off"):
                sys.exit("--fp16 takes on|off")
            i += 2
        elif a == "--input":
            inp = args[i + 1]; i += 2
        elif a == "--output":
            out = args[i + 1]; i += 2
        elif a == "--size":
            size = int(args[i + 1]); i += 2
        elif a == "--rand":
            rand = True; i += 1
        else:
            pos.append(a); i += 1
    if len(pos) < 2:
        sys.exit(__doc__)
    param = pos[0]
    runs = int(pos[1])
    threads = int(pos[2]) if len(pos) > 2 else None

    d_in, d_out = blob_names(param)
    inp = inp or d_in
    out = out or d_out

    t0 = time.perf_counter()
    net = ncnn.Net()
    if threads is not None:
        net.opt.num_threads = threads
    if fp16 is not None:
        v = fp16 == "on"
        net.opt.use_fp16_packed = v
        net.opt.use_fp16_storage = v
        net.opt.use_fp16_arithmetic = v
    if net.load_param(param) != 0:
        sys.exit("load_param failed: " + param)
    net.load_model(ncnn.DataReaderFromEmpty())
    t_load = time.perf_counter() - t0

    if rand:
        import numpy as np
        a = np.random.rand(3, size, size).astype(np.float32)
        mat_in = ncnn.Mat(a)
    else:
        mat_in = ncnn.Mat(size, size, 3)  # w, h, c
        mat_in.fill(0.0)

    o = net.opt
    print("param=%s in=%s out=%s threads=%d fp16 packed/storage/arith=%d/%d/%d"
          % (param, inp, out, o.num_threads, o.use_fp16_packed,
             o.use_fp16_storage, o.use_fp16_arithmetic))
    print("load %.3f s" % t_load)

    shape = None
    for r in range(runs):
        t1 = time.perf_counter()
        ex = net.create_extractor()
        ex.input(inp, mat_in)
        ret, mat_out = ex.extract(out)
        if ret != 0:
            sys.exit("extract failed ret=%d" % ret)
        t2 = time.perf_counter()
        shape = (mat_out.dims, mat_out.c, mat_out.h, mat_out.w)
        print("run %d %.3f s" % (r, t2 - t1))
        del ex
    if shape is not None:
        print("output dims=%d c=%d h=%d w=%d" % shape)
    else:
        print("output: none (RUNS=0)")


if __name__ == "__main__":
    main(sys.argv[1:])
