import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// int8 conversion through the runtime: calibration, per-layer report, and the quantised model's
/// logits against the official fp32 references.
struct Int8Tests {
    func convert(_ ck: String, method: CalibrationMethod, count: Int = 8) throws -> ([UInt8], QuantizeReport) {
        var q = QuantizeOptions(source: Paths.fixture(ck.replacingOccurrences(of: "-converted.pth", with: "-inputs.npy")))
        q.method = method
        q.count = count
        let (bytes, _, r) = try Converter.convert(checkpoint: Paths.fixture(ck), options: ConvertOptions(preset: .cifar10), int8: q)
        return (bytes, try #require(r))
    }

    @Test("int8 CondenseNet-86 agrees with the official fp32 logits", arguments: CalibrationMethod.allCases)
    func condensenet86(_ method: CalibrationMethod) throws {
        let (bytes, report) = try convert("condensenet86-cifar10-converted.pth", method: method)
        let m = try Model(bytes: bytes, name: "c86-int8")
        let convs = m.operators.filter { $0.type == "conv2d" }
        #expect(convs.count == 85 && convs.allSatisfy { $0.inputQuantization != nil })
        // the stem sees the normalised image (negative values): a non-zero zero point; all others 0
        #expect(convs[0].inputQuantization!.zeroPoint > 0)
        #expect(convs.dropFirst().allSatisfy { $0.inputQuantization!.zeroPoint == 0 })
        #expect(m.metadata("quantization")?.hasPrefix("int8") == true)
        #expect(m.metadata("calibration")?.hasPrefix(method.rawValue) == true)
        #expect(report.layers.count == 85 && report.layers.allSatisfy { $0.sqnr > 5 })
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-inputs.npy"))
        let ref = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-logits.npy"))
        let y = try Session(model: m, threads: 2).runBatch(x.data, count: 8)
        #expect(argmaxRows(y, cols: 10) == argmaxRows(ref.data, cols: 10))
        #expect(maxAbsDiff(y, ref.data) < 0.3, "max |int8 - fp32| \(maxAbsDiff(y, ref.data)) (logits up to 3.1)")
        let fp32 = try Converter.convert(checkpoint: Paths.fixture("condensenet86-cifar10-converted.pth"), options: ConvertOptions(preset: .cifar10)).bytes
        let ratio = Double(bytes.count) / Double(fp32.count)
        #expect(ratio <= 0.3, "int8 file is \(ratio) of the fp32 file (0.2996 when written)")
    }

    @Test func int8OutputsDoNotDependOnThreads() throws {
        let (bytes, _) = try convert("condensenet-c8-cifar10-converted.pth", method: .minmax)
        let m = try Model(bytes: bytes, name: "c8-int8")
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet-c8-cifar10-inputs.npy"))
        let one = try Session(model: m, threads: 1).runBatch(x.data, count: 8)
        for t in 2...4 { #expect(try Session(model: m, threads: t).runBatch(x.data, count: 8) == one) }
    }

    @Test func cliValidatesTheInt8Options() throws {
        let ck = Paths.fixture("condensenet-c8-cifar10-converted.pth"), out = Paths.tempDir() + "/q.cnm"
        let a = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--int8"])
        #expect(a.status == 64 && a.stderr.contains("--int8 needs --calibration"), "\(a.stderr)")
        let b = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--int8", "--calibration", "/nonexistent"])
        #expect(b.status != 0 && b.stderr.contains("/nonexistent"), "\(b.stderr)")
        let c = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--int8", "--calibration",
                                               Paths.fixture("condensenet-c8-cifar10-inputs.npy"), "--calibration-method", "entropy"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("int8: entropy calibration on 8 inputs") && c.stdout.contains("per-layer output SQNR, worst first"))
        let info = try runProduct("edge-infer", ["info", out, "--operators"])
        #expect(info.stdout.contains("int8 (in scale") && info.stdout.contains("calibration:"), "\(info.stdout)")
    }
}

/// binary16 / int16 storage: the C loader's widening against Swift's own `Float16`, value by value.
struct CompactStorageTests {
    @Test func halfFloatsWidenExactlyAsSwiftFloat16() throws {
        let ck = try TorchCheckpoint(path: Paths.fixture("condensenet86-cifar10-converted.pth"))
        var (b, _) = try DenseFamilyConverter.convert(ck, options: ConvertOptions(preset: .cifar10))
        // the reference: every BatchNorm value rounded through Float16 but stored as f32
        var rounded = b
        let isBN = { (name: String) in name.hasSuffix(".scale") || name.hasSuffix(".shift") }
        for k in 0..<rounded.tensorCount where isBN(rounded.tensorName(k)) {
            rounded.tensors[k].bytes = rounded.floats(ofTensor: k).flatMap { v -> [UInt8] in
                withUnsafeBytes(of: Float(Float16(v)).bitPattern.littleEndian, Array.init)
            }
        }
        // special values the real model does not have: -0, a subnormal half, the largest half
        let t0 = (0..<b.tensorCount).first { b.tensorName($0).hasSuffix(".shift") }!
        var v = b.floats(ofTensor: t0)
        v[0] = -0.0; v[1] = 3.0e-6; v[2] = 65504; v[3] = -1.0e-7
        b.tensors[t0].bytes = v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        rounded.tensors[t0].bytes = v.flatMap { withUnsafeBytes(of: Float(Float16($0)).bitPattern.littleEndian, Array.init) }
        let saved = b.halveFloatTensors(where: isBN)
        #expect(saved > 60_000)
        let half = try Model(bytes: b.serialize(), name: "half"), ref = try Model(bytes: rounded.serialize(), name: "rounded")
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-inputs.npy"))
        let y1 = try Session(model: half, threads: 1).runBatch(x.data, count: 8)
        let y2 = try Session(model: ref, threads: 1).runBatch(x.data, count: 8)
        #expect(y1 == y2, "binary16 widening differs from Float(Float16(v)): \(maxAbsDiff(y1, y2))")
        #expect(try b.serialize().count < rounded.serialize().count - 60_000)
    }

    @Test func indicesAreStoredInTheSmallestTypeThatFits() throws {
        var b = CNMBuilder()
        let tiny = b.addIndex("tiny", [0, 255, 7]), small = b.addIndex("small", [0, 5, 32767]), big = b.addIndex("big", [0, 40000])
        #expect(b.tensors[tiny].dtype == .u8 && b.tensors[tiny].bytes == [0, 255, 7])
        #expect(b.tensors[small].dtype == .i16 && b.tensors[small].bytes.count == 6)
        #expect(b.tensors[big].dtype == .i32 && b.tensors[big].bytes.count == 8)
    }
}
