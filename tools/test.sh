#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# C core alone (gcc + libgomp): SIMD kernels vs scalar oracles, the fixture model
make -s -C CRuntime -j2 check
# Swift: converter against the official fixtures, runtime, CLI end to end
swift build --build-tests
swift test --skip-build
