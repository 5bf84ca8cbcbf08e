#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --build-tests
swift test --skip-build
