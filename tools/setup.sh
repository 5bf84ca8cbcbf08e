#!/usr/bin/env bash
# Install the system packages edge-infer builds against (Debian/Ubuntu), if missing.
# Needs a Swift 6 toolchain on PATH for the Swift part (swift.org); the C core needs only a C compiler.
set -euo pipefail
want=(libomp-19-dev)          # OpenMP for the Swift toolchain's clang (19+: dynamic schedules link)
optional=(gcc-aarch64-linux-gnu qemu-user valgrind)  # aarch64 cross checks and memcheck (used if present)
missing=()
for p in "${want[@]}" ${EDGE_SETUP_OPTIONAL:+"${optional[@]}"}; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "setup: libomp-19-dev unavailable, falling back to libomp-dev" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libomp-dev >/dev/null
  fi
fi
command -v swift >/dev/null || { echo "setup: no 'swift' on PATH; install a Swift 6 toolchain (swift.org)" >&2; exit 1; }
