#!/usr/bin/env bash
# Regenerate Sources/CNMConvert/ONNX/Generated/onnx.pb.swift from the ONNX schema that the `onnx`
# Python package ships (1.23.2 for the committed file). Run once per schema update; the product
# builds from the committed file and needs neither protoc nor the plugin.
#   needs: protoc (Debian protobuf-compiler), pip install onnx; the plugin is built here from the
#   swift-protobuf version Package.swift names (about a minute in release).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=1.39.0
WORK=${TMPDIR:-/tmp}/edge-infer-protoc
PROTO=$(python3 -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))')
if [ ! -x "$WORK/swift-protobuf/.build/release/protoc-gen-swift" ]; then
    rm -rf "$WORK" && mkdir -p "$WORK"
    git clone -q -b $VERSION https://github.com/apple/swift-protobuf "$WORK/swift-protobuf"
    (cd "$WORK/swift-protobuf" && swift build -c release --product protoc-gen-swift)
fi
cp "$PROTO" "$WORK/onnx.proto"
(cd "$WORK" && protoc --plugin=protoc-gen-swift="$WORK/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_out=. --swift_opt=Visibility=Internal onnx.proto)
cp "$WORK/onnx.pb.swift" Sources/CNMConvert/ONNX/Generated/onnx.pb.swift
echo "generated from $PROTO (onnx $(python3 -c 'import onnx; print(onnx.__version__)'))"
