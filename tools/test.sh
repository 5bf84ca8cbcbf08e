#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test
step() { echo; echo "== $* (${SECONDS} s so far)"; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/edge-infer-test-sh.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

step "C core (gcc + libgomp): SIMD kernels vs scalar oracles, fixture model, concurrency, C example"
make -s -C CRuntime -j2 check
step "C library installed (make install: libcnm.a, libcnm.so, cnm.h, cnm.pc), the example built with pkg-config"
make -s -C CRuntime check-install
step "the idle policy inside the C library (clang + libomp, whose threads spin 200 ms by default)"
make -s -C CRuntime check-idle
step "C core under AddressSanitizer + UndefinedBehaviorSanitizer"
make -s -C CRuntime check-sanitize
step "one full inference under valgrind memcheck"
make -s -C CRuntime check-valgrind
step "aarch64: cross-compiled, run under qemu (neon+dotprod, neon baseline, Cortex-A53)"
make -s -C CRuntime -j2 check-aarch64 | tee "$scratch/aarch64.out"

step "ARM estimator (tools/arm/estimate): qemu plugin block counts, cache misses and llvm-mca prices on programs with known answers"
python3 tools/arm/test_estimate.py

step "Swift: converter against the official fixtures, runtime, CLI end to end"
swift build --build-tests
step "the C example under qemu agrees with the Swift CLI on x86"
swift run -c debug --skip-build edge-infer models/samples/cat.ppm --model models/condensenet86-cifar10-int8.cnm > "$scratch/x86.out"
tail -5 "$scratch/aarch64.out" | diff - "$scratch/x86.out" && echo "same top-5"
swift test --skip-build

step "the CLI runs without Swift: the built edge-infer and cnm-convert with the toolchain's folder hidden"
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
mkdir -p "$scratch/empty"
if ! unshare --mount true 2>/dev/null; then echo "skipped: unshare --mount is not permitted on this machine"; else
unshare --mount sh -c "mount --bind '$scratch/empty' '$toolchain' && test -z \"\$(ls '$toolchain')\" &&
  ! ldd .build/debug/edge-infer | grep -q swift &&
  .build/debug/edge-infer models/samples/cat.jpg --top 1 | grep -q cat &&
  .build/debug/cnm-convert Tests/EdgeInferTests/Fixtures/onnx/tiny.onnx -o '$scratch/tiny.cnm' &&
  .build/debug/edge-infer info '$scratch/tiny.cnm' >/dev/null" && echo "edge-infer and cnm-convert ran with $toolchain hidden"
fi

step "Python package: pip install ./python (the C core as an extension), pytest"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore numpy pytest 2>/dev/null || true
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore ./python
python3 -m pytest -q -p no:cacheprovider python/tests
echo; echo "== all tests passed in ${SECONDS} s"
