#!/usr/bin/env bash
# Build the libFuzzer targets and run each for SECONDS (default 60), starting from the committed
# seed corpora in CRuntime/fuzz/corpus/<target>. New interesting inputs are written to
# CRuntime/build-fuzz/corpus-<target>; crashes to CRuntime/build-fuzz/crash-*.
#   tools/fuzz.sh [SECONDS] [cnm|pnm|npy ...]
set -euo pipefail
cd "$(dirname "$0")/../CRuntime"
secs=${1:-60}
shift || true
targets=${*:-cnm pnm npy}
make -s fuzz >/dev/null
for t in $targets; do
  mkdir -p build-fuzz/corpus-$t
  echo "== fuzz_$t for ${secs}s"
  build-fuzz/fuzz_$t -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build-fuzz/ \
      -rss_limit_mb=2048 -timeout=10 build-fuzz/corpus-$t fuzz/corpus/$t 2>&1 |
    grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|cov:|ERROR|SUMMARY" | tail -4
done
