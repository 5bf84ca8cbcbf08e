import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

enum Paths {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsDir.appendingPathComponent("Fixtures/official").path
    static let repo = testsDir.deletingLastPathComponent().deletingLastPathComponent().path
    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// The folder holding the built products (edge-infer, cnm-convert) of this test run.
    static let products: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("edge-infer").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }()

    /// One folder per test process for the files the tests write, removed when the process exits.
    static let scratch: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("edge-infer-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: d)  // a stale one from an earlier process with this pid
        atexit { try? FileManager.default.removeItem(atPath: Paths.scratch) }
        return d
    }()

    /// A new empty folder inside `scratch`.
    static func tempDir() -> String {
        let d = scratch + "/" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Run a built product and capture its output (like swift-argument-parser's test helpers).
func runProduct(_ name: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:], stdin: Data? = nil) throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Paths.products + "/" + name)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    if stdin != nil { p.standardInput = input }
    try p.run()
    if let stdin {
        let w = input.fileHandleForWriting
        Thread.detachNewThread {  // written beside the reads, so a large input cannot deadlock
            w.write(stdin)
            try? w.close()
        }
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let r = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self))
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func argmaxRows(_ v: [Float], cols: Int) -> [Int] {
    stride(from: 0, to: v.count, by: cols).map { r in (0..<cols).max { v[r + $0] < v[r + $1] }! }
}

/// Convert a fixture checkpoint in memory and run its inputs; returns logits (N x classes).
func convertAndRun(_ checkpoint: String, preset: Preset, keepClassifier: Bool = false, inputs: String) throws -> (logits: [Float], report: ConversionReport, model: Model) {
    var opt = ConvertOptions(preset: preset)
    opt.keepClassifier = keepClassifier
    let (bytes, report) = try Converter.convert(checkpoint: Paths.fixture(checkpoint), options: opt)
    let model = try Model(bytes: bytes, name: checkpoint)
    let x = try NpyArray(contentsOf: Paths.fixture(inputs))
    let session = try Session(model: model, threads: 2)
    return (try session.runBatch(x.data, count: x.shape[0]), report, model)
}
