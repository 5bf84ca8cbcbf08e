import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// int8 conversion through the runtime: calibration, per-layer report, and the quantised model's
/// logits against the official fp32 references.
struct Int8Tests {
    func convert(_ ck: String, method: CalibrationMethod, count: Int = 8, weightBits: Int = 8) throws -> ([UInt8], QuantizeReport) {
        var q = QuantizeOptions(source: Paths.fixture(ck.replacingOccurrences(of: "-converted.pth", with: "-inputs.npy")))
        q.method = method
        q.count = count
        q.weightBits = weightBits
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

    /// `--weight-bits 7`: every conv's weights in -63...63 with the scale max|w| / 63, recorded in
    /// the file; the logits stay close to the official fp32 ones (a little further than 8 bits).
    @Test func sevenBitWeights() throws {
        let (bytes, report) = try convert("condensenet86-cifar10-converted.pth", method: .minmax, weightBits: 7)
        let (bytes8, report8) = try convert("condensenet86-cifar10-converted.pth", method: .minmax)
        let m = try Model(bytes: bytes, name: "c86-int8w7")
        let convs = m.operators.filter { $0.type == "conv2d" }
        #expect(convs.count == 85 && convs.allSatisfy { $0.weightBits == 7 })
        #expect(try Model(bytes: bytes8, name: "c86-int8").operators.filter { $0.type == "conv2d" }.allSatisfy { $0.weightBits == 8 })
        #expect(m.metadata("quantization")?.contains("7-bit, -63..63") == true)
        // the codes: each output channel's largest |w| maps to 63
        let w = [Float](repeating: 0, count: 6).enumerated().map { Float($0.offset) - 2.5 } + [0.1, -0.2, 0, 0, 0, 0]
        let (codes, scales, _) = Quantizer.quantizedWeights(w, outputs: 2, bits: 7)
        #expect(codes.map { abs(Int($0)) }.max() == 63 && codes[0] == -63 && codes[5] == 63 && codes[7] == -63)
        #expect(abs(scales[0] - 2.5 / 63) < 1e-3 * scales[0] && abs(scales[1] - 0.2 / 63) < 1e-3 * scales[1])
        #expect(report.logitSQNR > 24 && report.logitSQNR < report8.logitSQNR, "7-bit \(report.logitSQNR) dB, 8-bit \(report8.logitSQNR) dB")
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-inputs.npy"))
        let ref = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-logits.npy"))
        let y = try Session(model: m, threads: 2).runBatch(x.data, count: 8)
        #expect(argmaxRows(y, cols: 10) == argmaxRows(ref.data, cols: 10))
        #expect(maxAbsDiff(y, ref.data) < 0.3, "max |int8 w7 - fp32| \(maxAbsDiff(y, ref.data))")
        let ck = Paths.fixture("condensenet-c8-cifar10-converted.pth"), out = Paths.tempDir() + "/q7.cnm"
        let a = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--weight-bits", "7"])
        #expect(a.status == 64 && a.stderr.contains("--weight-bits is only used with --int8"), "\(a.stderr)")
        let b = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--int8", "--calibration",
                                               Paths.fixture("condensenet-c8-cifar10-inputs.npy"), "--weight-bits", "6"])
        #expect(b.status == 64 && b.stderr.contains("weight-bits"), "\(b.stderr)")
        let c = try runProduct("cnm-convert", [ck, "-o", out, "--preset", "cifar10", "--int8", "--calibration",
                                               Paths.fixture("condensenet-c8-cifar10-inputs.npy"), "--weight-bits", "7"])
        #expect(c.status == 0, "\(c.stderr)")
        let info = try runProduct("edge-infer", ["info", out, "--operators"])
        #expect(info.stdout.contains("int8 w7 (in scale") && info.stdout.contains("7-bit, -63..63"), "\(info.stdout)")
    }

    /// An fp32 `.cnm` read back: written again it is the same model, and quantised it gives the
    /// file that quantising the checkpoint gives.
    @Test func quantisesAnFp32CNM() throws {
        let ck = Paths.fixture("condensenet-c8-cifar10-converted.pth"), dir = Paths.tempDir()
        let fp32 = try Converter.convert(checkpoint: ck, options: ConvertOptions(preset: .cifar10)).bytes
        try Data(fp32).write(to: URL(fileURLWithPath: dir + "/c8.cnm"))
        #expect(try CNMBuilder(cnm: fp32, name: "c8.cnm").serialize() == fp32)
        var q = QuantizeOptions(source: Paths.fixture("condensenet-c8-cifar10-inputs.npy"))
        q.count = 8
        q.weightBits = 7
        let direct = try Converter.convert(checkpoint: ck, options: ConvertOptions(preset: .cifar10), int8: q).bytes
        let fromCNM = try Converter.convert(checkpoint: dir + "/c8.cnm", options: ConvertOptions(preset: .cifar10), int8: q).bytes
        #expect(fromCNM == direct, "\(fromCNM.count) bytes from the .cnm, \(direct.count) from the checkpoint")
        let int8 = dir + "/c8-int8.cnm"
        try Data(direct).write(to: URL(fileURLWithPath: int8))
        #expect(throws: ConvertError.self) { try Converter.convert(checkpoint: int8, options: ConvertOptions(preset: .cifar10), int8: q) }
        let r = try runProduct("cnm-convert", [dir + "/c8.cnm", "-o", dir + "/cli.cnm", "--int8", "--calibration",
                                               Paths.fixture("condensenet-c8-cifar10-inputs.npy"), "--calibration-count", "8", "--weight-bits", "7"])
        #expect(r.status == 0 && (try? Data(contentsOf: URL(fileURLWithPath: dir + "/cli.cnm"))) == Data(direct), "\(r.stderr)")
        let bad = try runProduct("cnm-convert", [int8, "-o", dir + "/again.cnm", "--int8", "--calibration", Paths.fixture("condensenet-c8-cifar10-inputs.npy")])
        #expect(bad.status != 0 && bad.stderr.contains("already int8"), "\(bad.stderr)")
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
