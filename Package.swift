// swift-tools-version:6.0
import Foundation
import PackageDescription

// OpenMP: Debian's libomp (libomp-19-dev recommended: clang 21 needs its
// __kmpc_dispatch_deinit for dynamic schedules; libomp-dev 14 also works for static ones).
// omp.h is not on the Swift toolchain clang's include path, so point at it here.
let ompIncludeCandidates = [
    "/usr/lib/llvm-19/lib/clang/19/include",
    "/usr/lib/llvm-14/lib/clang/14.0.6/include",
]
let ompInclude = ompIncludeCandidates.first {
    FileManager.default.fileExists(atPath: $0 + "/omp.h")
} ?? ompIncludeCandidates[0]

// The default model is compiled into edge-infer (see Sources/CEmbeddedModel), so the
// binary works from any directory and after being copied elsewhere.
let defaultModelPath = Context.packageDirectory + "/models/condensenet86-cifar10-int8.cnm"

let package = Package(
    name: "edge-infer",
    products: [
        .executable(name: "edge-infer", targets: ["edge-infer"]),
        .executable(name: "cnm-convert", targets: ["cnm-convert"]),
        .library(name: "EdgeInfer", targets: ["EdgeInfer"]),
        .library(name: "CNMConvert", targets: ["CNMConvert"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        // ONNX import: the generated Sources/CNMConvert/ONNX/Generated/onnx.pb.swift (tools/onnx/generate-swift.sh)
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(
            name: "CRuntime",
            path: "CRuntime",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: [
                .unsafeFlags(["-fopenmp", "-I\(ompInclude)", "-std=c11"]),
                .unsafeFlags(["-O3"], .when(configuration: .release)),
            ],
            linkerSettings: [.linkedLibrary("omp5")]
        ),
        .target(
            name: "CEmbeddedModel",
            path: "Sources/CEmbeddedModel",
            cSettings: [.define("EDGE_DEFAULT_MODEL_PATH", to: "\"\(defaultModelPath)\"")]
        ),
        // JPEG/PNG through Debian's libjpeg-turbo and libpng (libjpeg62-turbo-dev, libpng-dev)
        .target(
            name: "CImageIO",
            dependencies: ["CRuntime"],
            path: "Sources/CImageIO",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png"), .linkedLibrary("z")]
        ),
        .target(name: "EdgeInfer", dependencies: ["CRuntime", "CImageIO"]),
        .target(
            name: "CNMConvert",
            dependencies: [
                "EdgeInfer", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Both tools link the Swift runtime statically: they run on a machine without Swift
        // (edge-infer needs only FoundationEssentials, no ICU: 15.9 MB); release builds are stripped.
        // the git commit for --version, written before every build
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .executableTarget(
            name: "edge-infer",
            dependencies: [
                "EdgeInfer", "CEmbeddedModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: [.unsafeFlags(["-static-stdlib"]), .unsafeFlags(["-Xlinker", "-s"], .when(configuration: .release)), .linkedLibrary("_FoundationCollections"),
                             .linkedLibrary("_FoundationCShims"), .linkedLibrary("swiftSynchronization")],
            plugins: ["BuildInfo"]
        ),
        .executableTarget(
            name: "cnm-convert",
            dependencies: [
                "CNMConvert",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: [.unsafeFlags(["-static-stdlib"]), .unsafeFlags(["-Xlinker", "-s"], .when(configuration: .release)), .linkedLibrary("CoreFoundation"), .linkedLibrary("_FoundationICU"),
                             .linkedLibrary("FoundationInternationalization"), .linkedLibrary("_FoundationCollections"),
                             .linkedLibrary("_FoundationCShims"), .linkedLibrary("swiftSynchronization")],
            plugins: ["BuildInfo"]
        ),
        .testTarget(
            name: "EdgeInferTests",
            // not the executables: their static runtime must not reach the test bundle; `swift build
            // --build-tests` builds them, and the CLI tests run them
            dependencies: ["EdgeInfer", "CNMConvert", "CRuntime"],
            exclude: ["Fixtures"]
        ),
    ]
)
