#!/usr/bin/env bash
# The finished training run -> the shipped models, measured on the 10,000 CIFAR-10 test images.
#
#   tools/train/ship.sh [CHECKPOINT] [CIFAR10_DIR]     (the evaluations go beside the checkpoint)
#
# 1. fp32: cnm-convert CHECKPOINT -> models/condensenet86-cifar10.cnm, with --keep-classifier: the
#    lossless conversion (the official rule's classifier condensing would save 4,000 of 62.4 M MACs
#    and cost about 0.2 points of top-1)
# 2. int8: calibrated on 500 training images (balanced over the classes) with each method
#    (minmax, percentile, entropy); the one with the best logit SQNR on its own calibration
#    images (not the test set) becomes models/condensenet86-cifar10-int8.cnm = the default model.
# 3. edge-infer eval of all four on the test set (int8 with --reference fp32: top-1 agreement);
#    JSON lines in eval-10k.jsonl in the checkpoint's folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
CK=${1:-tools/train/run-c86/condensenet-cifar10-train.pth}
DATA=${2:-../shared/data/cifar10}
OUT=$(dirname "$CK")
swift build -c release --product cnm-convert >/dev/null
swift build -c release --product edge-infer >/dev/null
B=.build/release
FP32=models/condensenet86-cifar10.cnm
CONVERT=(--preset cifar10 --keep-classifier)   # the fp32 and int8 models: the same conversion
$B/cnm-convert "$CK" -o $FP32 "${CONVERT[@]}" -v | tail -4
: > $OUT/eval-10k.jsonl
$B/edge-infer eval --model $FP32 "$DATA/cifar10-test-jpeg.tar.gz" --json | tee -a $OUT/eval-10k.jsonl
best= bestdb=-1000
for m in minmax percentile entropy; do
    $B/cnm-convert "$CK" -o /tmp/ship-int8-$m.cnm "${CONVERT[@]}" --int8 --calibration "$DATA/cifar10-train-jpeg.tar.gz" \
        --calibration-count 500 --calibration-method $m | grep -A1 "^int8:"
    db=$($B/edge-infer info /tmp/ship-int8-$m.cnm | sed -n 's/.*int8_check: *logit SQNR \([-0-9.]*\) dB.*/\1/p')
    $B/edge-infer eval --model /tmp/ship-int8-$m.cnm --reference $FP32 "$DATA/cifar10-test-jpeg.tar.gz" --json \
        | sed "s/^{/{\"method\": \"$m\", \"calibration_logit_sqnr_db\": $db, /" | tee -a $OUT/eval-10k.jsonl
    if awk "BEGIN{exit !($db > $bestdb)}"; then best=$m bestdb=$db; fi
done
cp /tmp/ship-int8-$best.cnm models/condensenet86-cifar10-int8.cnm
# the default model is .incbin'd into edge-infer, a dependency SwiftPM does not see: rebuild it
touch Sources/CEmbeddedModel/embedded_model.c
echo "shipped int8 ($best calibration, logit SQNR $bestdb dB on its calibration images)"
ls -l $FP32 models/condensenet86-cifar10-int8.cnm
