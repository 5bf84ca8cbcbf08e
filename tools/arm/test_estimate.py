#!/usr/bin/env python3
"""Tests of tools/arm/estimate on programs whose answers are known in advance (tests/known.c):
exact block counts, exact cache misses of streams and pointer chases sized against each core's
caches, llvm-mca's own figure for a loop recomputed independently, the miss costs as the table
says, and clear errors. About 15 s. Needs aarch64-linux-gnu-gcc, qemu-aarch64 and llvm-19.

  python3 tools/arm/test_estimate.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EST = os.path.join(HERE, "estimate")
sys.path.insert(0, HERE)
failures = []


def load_estimate_module():
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("estimate", EST)
    spec = importlib.util.spec_from_loader("estimate", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def estimate(cpu, *args, per_run="10,30"):
    cmd = [sys.executable, EST, "--cpu", cpu]
    if per_run:
        cmd += ["--per-run", per_run]
    r = subprocess.run(cmd + ["--"] + list(args), capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"estimate failed: {' '.join(cmd + list(args))}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def mca_cycles(cpu_model, asm):
    est = load_estimate_module()
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write(asm)
    try:
        out = subprocess.run([est.tool("llvm-mca"), "-mtriple=aarch64", f"-mcpu={cpu_model}", "-iterations=1000", f.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    total = int(out.split("Total Cycles:")[1].split()[0])
    return total / 1000


def main():
    est = load_estimate_module()
    tmp = tempfile.mkdtemp(prefix="cnm-estimate-test.")
    known = os.path.join(tmp, "known")
    subprocess.run([os.environ.get("AARCH64_CC", "aarch64-linux-gnu-gcc"), "-O2", "-static",
                    os.path.join(HERE, "tests", "known.c"), "-o", known], check=True)

    # block counts: the 6-instruction loops, 20 more iterations between the two runs
    chain = estimate("cortex-a72", known, "chain", "{runs}")
    par = estimate("cortex-a72", known, "parallel", "{runs}")
    check(chain["insns"] == 6 and par["insns"] == 6, f"a loop iteration is 6 instructions (got {chain['insns']}, {par['insns']})")
    body = "fmla v0.4s, v1.4s, v2.4s\n" * 4 + "subs x0, x0, #1\nb.ne #-20\n"
    ref = mca_cycles("cortex-a72", body)
    check(abs(chain["cycles"] - ref) <= 1, f"dependent fmla loop: {chain['cycles']} cycles, llvm-mca alone {ref:.2f}")
    check(chain["cycles"] >= 3 * par["cycles"], f"4 dependent fmla ({chain['cycles']} cycles) cost at least 3x 4 independent ones ({par['cycles']})")
    split = estimate("cortex-a72", known, "split", "{runs}")
    check(split["insns"] == 6 and abs(split["cycles"] - chain["cycles"]) <= 1,
          f"the same loop across a page boundary (two qemu blocks) is priced as one: {split['cycles']} cycles, {chain['cycles']} in one page")
    a53 = estimate("cortex-a53", known, "parallel", "{runs}")
    check(a53["cycles"] > par["cycles"], f"Cortex-A53 (in order, one 64-bit FP pipe) is slower per iteration: {a53['cycles']} > {par['cycles']} cycles")

    # cache misses per pass, from the caches' sizes (Cortex-A72: 32 KiB L1d, 1 MiB L2)
    a72 = est.CORES["cortex-a72"]
    s16k = estimate("cortex-a72", known, "stream", "16384", "{runs}")
    check(s16k["misses"]["l1"] == 0, f"a 16 KiB stream fits the 32 KiB L1: {s16k['misses']['l1']} misses per pass")
    s256k = estimate("cortex-a72", known, "stream", "262144", "{runs}")
    check(s256k["misses"] == {"l1": 4096, "l2": 0, "l3": 0},
          f"a 256 KiB stream misses L1 once per line (4096) and hits L2: {s256k['misses']}")
    check(s256k["streamed"]["l1"] >= 4090, f"and the stream detector predicts them: {s256k['streamed']['l1']} of 4096")
    s4m = estimate("cortex-a72", known, "stream", "4194304", "{runs}")
    check(s4m["misses"]["l1"] == 65536 and s4m["misses"]["l2"] == 65536, f"a 4 MiB stream misses both levels on every line: {s4m['misses']}")
    want = 65536 * (a72["stream_l2"] + a72["stream_mem"]) * (1 - a72["overlap"])
    check(abs(s4m["memory_cycles"] - want) <= 0.01 * want, f"its memory cycles {s4m['memory_cycles']} = lines x streaming costs {want:.0f}")
    chase = estimate("cortex-a72", known, "chase", "4194304", "{runs}")
    check(chase["misses"]["l2"] == 65536 and chase["streamed"]["l1"] < 655,
          f"a 4 MiB pointer chase misses every line, unpredicted: {chase['misses']}, streamed {chase['streamed']}")
    want = 65536 * a72["lat_mem"] * (1 - a72["overlap"])
    check(abs(chase["memory_cycles"] - want) <= 0.02 * want, f"its memory cycles {chase['memory_cycles']} = lines x DRAM latency {want:.0f}")
    st4 = estimate("cortex-a72", known, "stride4", "4194304", "{runs}")
    check(st4["misses"]["l1"] == 16384 and st4["streamed"]["l1"] >= 16380,
          f"every 4th line of 4 MiB: 16384 misses, all predicted (a stride prefetcher): {st4['misses']}, streamed {st4['streamed']}")
    st256 = estimate("cortex-a72", known, "stride256", "16777216", "{runs}")
    check(st256["misses"]["l1"] == 1024 and st256["streamed"]["l1"] == 0,
          f"every 256th line (16 KiB apart): 1024 misses, none predicted: {st256['misses']}, streamed {st256['streamed']}")
    check(chase["cycles"] > 4 * s4m["cycles"], f"a chase costs more than a stream of the same lines ({chase['cycles']} > 4 x {s4m['cycles']})")

    # Cortex-A76 (Pi 5): 64 KiB L1d, 512 KiB L2, 2 MiB L3
    s1m = estimate("cortex-a76", known, "stream", "1048576", "{runs}")
    check(s1m["misses"] == {"l1": 16384, "l2": 16384, "l3": 0}, f"Cortex-A76: a 1 MiB stream misses L1 and L2, hits L3: {s1m['misses']}")
    s48k = estimate("cortex-a76", known, "stream", "49152", "{runs}")
    check(s48k["misses"]["l1"] == 0, f"Cortex-A76: a 48 KiB stream fits its 64 KiB L1: {s48k['misses']}")

    # the whole program without --per-run, and without the cache model
    whole = estimate("cortex-a72", known, "stream", "262144", "3", per_run=None)
    check(whole["per"] == "program" and whole["insns"] > 3 * 20480, f"a whole run counts start-up too: {whole['insns']} instructions")
    r = subprocess.run([sys.executable, EST, "--cpu", "cortex-a72", "--no-cache", "--", known, "stream", "262144", "3"],
                       capture_output=True, text=True)
    nc = json.loads(r.stdout.strip().splitlines()[-1])
    check(nc["memory_cycles"] == 0 and nc["insns"] == whole["insns"], f"--no-cache: no memory cycles, the same instructions ({nc['insns']})")

    # errors: one line naming the problem, exit status 2
    for args, needle in ((["--per-run", "3,1", "--", known, "chain", "{runs}"], "K1 < K2"),
                         (["--per-run", "1,3", "--", known, "chain", "5"], "{runs}"),
                         (["--", os.path.join(tmp, "missing")], "no such program"),
                         (["--", known, "nothing", "1"], "exited with status")):
        r = subprocess.run([sys.executable, EST, "--cpu", "cortex-a72"] + args, capture_output=True, text=True)
        check(r.returncode == 2 and needle in r.stderr, f"{' '.join(args[:2])}...: exit 2, '{needle}' ({r.stderr.strip()[:90]})")

    if failures:
        print(f"{len(failures)} estimator test(s) failed")
        sys.exit(1)
    print("estimator: all tests passed")


if __name__ == "__main__":
    main()
