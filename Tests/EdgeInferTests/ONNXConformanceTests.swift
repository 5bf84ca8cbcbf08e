import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// The small, fast part of `tools/onnx/conformance.py`: ONNX's own node tests, PyTorch's converted
/// operator tests and the importer's attribute audit, as the harness prepared them (weights as
/// initializers, an exact identity read-out after a map). Each case either reproduces the test's
/// expected output or is refused with the message the harness recorded (naming the node and
/// the attribute). Regenerate with `python3 tools/onnx/conformance.py --export
/// Tests/EdgeInferTests/Fixtures/onnx-conformance`.
struct ONNXConformanceTests {
    static let dir = Paths.fixtures + "/../onnx-conformance/"

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func theFixturesAreThere() {
        // passed and refused cases of every operator the importer supports
        let c = Self.cases
        #expect(c.count >= 100, "\(c.count) conformance cases")
        for op in ["conv", "batchnorm", "maxpool", "averagepool", "globalaveragepool", "lrn", "gemm", "softmax", "dropout", "squeeze"] {
            #expect(c.contains { $0.lowercased().contains(op) }, "no case for \(op)")
        }
    }

    @Test("an ONNX conformance case passes or is refused as recorded", arguments: cases)
    func conformance(_ name: String) throws {
        let d = Self.dir + name + "/"
        let verdict = try String(contentsOfFile: d + "verdict.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let x = try NpyArray(contentsOf: d + "input.npy")
        let ch = x.shape.count == 4 ? x.shape[1] : 3
        let opt = ConvertOptions(preset: Preset.cifar10.with(mean: Array(repeating: 0, count: ch), std: Array(repeating: 1, count: ch)))
        if verdict.hasPrefix("refused cnm-convert: ") {
            let why = String(verdict.dropFirst("refused cnm-convert: ".count))
            do {
                _ = try Converter.convert(checkpoint: d + "model.onnx", options: opt, int8: nil)
                Issue.record("\(name): converted, but it is recorded as refused: \(why)")
            } catch {
                #expect("\(error)".contains(why), "\(name): refused with \(error), recorded: \(why)")
            }
            return
        }
        guard verdict.hasPrefix("passed") else {
            Issue.record("\(name): verdict \(verdict) is neither passed nor refused by cnm-convert")
            return
        }
        let (bytes, _, _) = try Converter.convert(checkpoint: d + "model.onnx", options: opt, int8: nil)
        let m = try Model(bytes: bytes, name: name)
        let want = try NpyArray(contentsOf: d + "expected.npy")
        let n = x.shape.count == 4 ? x.shape[0] : 1
        for threads in [1, 2] {
            var y = try Session(model: m, threads: threads).runBatch(x.data, count: n).map(Double.init)
            #expect(y.count == want.data.count, "\(name): \(y.count) outputs, expected \(want.data.count)")
            guard y.count == want.data.count else { return }
            let cols = y.count / n
            for r in 0..<n {  // a final Softmax / LogSoftmax is dropped by the converter: apply it to the logits
                let row = Array(y[r * cols..<(r + 1) * cols]), mx = row.max() ?? 0
                let lse = mx + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - mx) })
                if verdict.hasSuffix("LogSoftmax") {
                    for j in 0..<cols { y[r * cols + j] = row[j] - lse }
                } else if verdict.hasSuffix("Softmax") {
                    for j in 0..<cols { y[r * cols + j] = Foundation.exp(row[j] - lse) }
                }
            }
            var worst = 0.0
            for (a, b) in zip(y, want.data.map(Double.init)) where !(a.isNaN && b.isNaN) {
                worst = max(worst, abs(a - b) - 1e-3 * abs(b))
            }
            #expect(worst <= 1e-5, "\(name): off by \(worst) beyond rtol 1e-3 at \(threads) threads")
        }
    }
}
