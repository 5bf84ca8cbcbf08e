#!/usr/bin/env bash
# Install the system packages edge-infer builds against (Debian/Ubuntu), if missing.
#   tools/setup.sh          what building and running needs
#   tools/setup.sh --test   plus what the whole test suite needs (aarch64 cross compiler,
#                           qemu-user, valgrind, pkg-config, llvm-19 for the ARM estimator's llvm-mca)
# Needs a Swift 6 toolchain on PATH for the Swift part (swift.org); the C core needs only a C compiler.
set -euo pipefail
want=(libomp-19-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev)  # OpenMP for the toolchain clang (19+: dynamic schedules link); JPEG, PNG, gzip
if [ "${1:-}" = "--test" ]; then
  want+=(gcc-aarch64-linux-gnu qemu-user valgrind pkg-config llvm-19)
fi
missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "setup: retrying with libomp-dev instead of libomp-19-dev" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]/libomp-19-dev/libomp-dev}" >/dev/null
  fi
fi
command -v swift >/dev/null || { echo "setup: no 'swift' on PATH; install a Swift 6 toolchain (swift.org)" >&2; exit 1; }
