#!/usr/bin/env bash
# Build the libFuzzer targets and run each for SECONDS (default 60), starting from the committed
# seed corpora in CRuntime/fuzz/corpus/<target>:
#   cnm     the .cnm loader + validator; small models that load run with an oracle   C
#           (fused = unfused bit for bit on every kernel table; SIMD = scalar within 1e-3)
#   cnmfields  the same with a structure-aware mutator (one field of one real record)    C
#   pnm     the PPM/PGM decoder and resizer                                      C
#   npy     the .npy parser                                                      C
#   pickle  the checkpoint reader's unpickler + tensor materialisation           Swift
# New interesting inputs go to CRuntime/build-fuzz/corpus-<target>, crashes to
# CRuntime/build-fuzz/crash-*. Checksums are not enforced in fuzz builds, so mutations reach
# the validator behind them.
#   tools/fuzz.sh [SECONDS] [cnm pnm npy pickle]
set -euo pipefail
cd "$(dirname "$0")/../CRuntime"
secs=${1:-60}
shift || true
targets=${*:-cnm cnmfields pnm npy pickle}
make -s fuzz >/dev/null
if [[ " $targets " == *" pickle "* ]]; then
  swiftc -parse-as-library -sanitize=fuzzer,address -O ../Sources/CNMConvert/Checkpoint/Unpickler.swift \
    ../Sources/CNMConvert/Checkpoint/PickleError.swift ../Sources/CNMConvert/Checkpoint/Tensor.swift \
    ../Sources/CNMConvert/ConvertError.swift ../tools/fuzz/FuzzPickle.swift -o build-fuzz/fuzz_pickle 2>/dev/null
fi
for t in $targets; do
  mkdir -p build-fuzz/corpus-$t
  echo "== fuzz_$t for ${secs}s"
  SWIFT_BACKTRACE=enable=no build-fuzz/fuzz_$t -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build-fuzz/ \
      -rss_limit_mb=2048 -timeout=10 build-fuzz/corpus-$t fuzz/corpus/${t/cnmfields/cnm} 2>&1 |
    grep -E "^#[0-9]+[[:space:]]+(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY" | tail -4
done
