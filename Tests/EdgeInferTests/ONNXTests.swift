import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// `cnm-convert model.onnx`: the seed papers' networks, small (tools/fixtures/make_onnx.py:
/// torchvision's own classes where it has them, random weights, BatchNorm statistics from real
/// forward passes), against PyTorch's logits.
struct ONNXTests {
    static let dir = Paths.fixtures + "/../onnx/"

    static func convert(_ name: String, int8: QuantizeOptions? = nil) throws -> (Model, ConversionReport, QuantizeReport?) {
        let x = try NpyArray(contentsOf: dir + name + "-inputs.npy")
        var opt = ConvertOptions(preset: Preset.imagenet.with(mean: nil, std: nil, inputSize: x.shape[2]))
        let classes = try NpyArray(contentsOf: dir + name + "-logits.npy").shape[1]
        opt.labels = (0..<classes).map { "class \($0)" }
        let (bytes, report, q) = try Converter.convert(checkpoint: dir + name + ".onnx", options: opt, int8: int8)
        return (try Model(bytes: bytes, name: name), report, q)
    }

    static func ops(_ m: Model, _ type: String) -> [OperatorInfo] { m.operators.filter { $0.type == type } }

    @Test("ONNX graphs reproduce PyTorch's logits (fp32, 1 and 2 threads)",
          arguments: ["lenet5", "alexnet", "vgg16", "googlenet", "resnet", "densenet", "tiny", "sigmoid"])
    func matchesPyTorch(_ name: String) throws {
        let (m, report, _) = try Self.convert(name)
        let x = try NpyArray(contentsOf: Self.dir + name + "-inputs.npy")
        let ref = try NpyArray(contentsOf: Self.dir + name + "-logits.npy")
        #expect(report.arch == "onnx")
        #expect(m.info.inputChannels == x.shape[1] && m.info.inputHeight == x.shape[2])
        let scale = ref.data.map(abs).max() ?? 0
        #expect(scale > 0.5, "logits too small to be a meaningful check: \(scale)")
        for threads in [1, 2] {
            let y = try Session(model: m, threads: threads).runBatch(x.data, count: x.shape[0])
            #expect(maxAbsDiff(y, ref.data) < 1e-4, "\(name): max |diff| \(maxAbsDiff(y, ref.data)) at \(threads) threads")
        }
    }

    /// What each network must have become: the operators that carry its idea.
    @Test func graphStructure() throws {
        let (alex, _, _) = try Self.convert("alexnet")
        #expect(Self.ops(alex, "lrn").count == 2)
        #expect(Self.ops(alex, "conv2d").contains { $0.kernel.h == 11 && $0.stride.h == 4 })
        // the three fully-connected layers are convolutions over the whole map (int8-capable)
        #expect(Self.ops(alex, "conv2d").filter { $0.outputShape[1] == 1 && $0.outputShape[2] == 1 }.count == 3)

        let (res, resReport, _) = try Self.convert("resnet")
        #expect(Self.ops(res, "add").count == 6)
        #expect(Self.ops(res, "add").allSatisfy { $0.relu })                   // Add-ReLU fused
        #expect(Self.ops(res, "channel").isEmpty)                               // every BN folded into its conv
        #expect(resReport.batchNormsFolded == 17)

        let (goog, _, _) = try Self.convert("googlenet")
        #expect(Self.ops(goog, "channel").isEmpty)                              // no copies: branches write in place
        #expect(Self.ops(goog, "maxpool").contains { $0.ceilMode })
        #expect(Self.ops(goog, "conv2d").allSatisfy { $0.relu || $0.outputShape[1] == 1 })

        let (dense, _, _) = try Self.convert("densenet")
        // pre-activation BN stays a channel op; the growing concatenation is a view, not a copy
        let channels = Self.ops(dense, "channel")
        #expect(channels.count == 10 && channels.allSatisfy { $0.weightName.hasSuffix(".scale") })

        // the graph input cannot be written in place: exactly one copy (an identity channel op)
        let (tiny, _, _) = try Self.convert("tiny")
        #expect(Self.ops(tiny, "channel").count == 1 && Self.ops(tiny, "channel")[0].weightName.isEmpty)
        #expect(Self.ops(tiny, "add").count == 1 && Self.ops(tiny, "lrn").count == 1)
        #expect(Self.ops(tiny, "maxpool").filter(\.ceilMode).map(\.outputShape) == [[4, 6, 6]])

        // Sigmoid is an operator of its own; the ReLU after the second one is folded into it
        let (sig, _, _) = try Self.convert("sigmoid")
        #expect(Self.ops(sig, "sigmoid").map(\.relu) == [false, true])
        #expect(Self.ops(sig, "conv2d").contains { $0.kernel.h == 3 && $0.kernel.w == 1 && $0.stride.h == 2 && $0.stride.w == 1 })
    }

    /// Logit SQNR against PyTorch, calibrated on the two fixture inputs. Random weights carry no
    /// structure for int8 to preserve, so the error grows with depth: VGG-16's 16 quantised layers
    /// (4 to 32 channels wide) lose about 1.4 dB each and get 15 dB; the others 20 dB.
    @Test func int8ThroughTheSameCalibration() throws {
        for (name, minDB) in [("resnet", 20.0), ("googlenet", 20), ("vgg16", 15), ("alexnet", 20), ("lenet5", 20)] {
            let q = QuantizeOptions(source: Self.dir + name + "-inputs.npy")
            let (m, _, qr) = try Self.convert(name, int8: q)
            #expect(Self.ops(m, "conv2d").allSatisfy { $0.inputQuantization != nil })
            let x = try NpyArray(contentsOf: Self.dir + name + "-inputs.npy")
            let ref = try NpyArray(contentsOf: Self.dir + name + "-logits.npy")
            let y = try Session(model: m, threads: 1).runBatch(x.data, count: x.shape[0])
            let signal = ref.data.reduce(0) { $0 + Double($1 * $1) }
            let noise = zip(y, ref.data).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            #expect(10 * log10(signal / noise) > minDB, "\(name): int8 logit SQNR \(10 * log10(signal / noise)) dB")
            #expect((qr?.logitSQNR ?? 0) > minDB)
        }
    }

    @Test func unsupportedInputIsNamed() throws {
        let dir = URL(fileURLWithPath: Paths.tempDir())
        let opt = ConvertOptions(preset: .cifar10)
        // not a protobuf
        let junk = dir.appendingPathComponent("junk.onnx").path
        FileManager.default.createFile(atPath: junk, contents: Data("definitely not onnx".utf8))
        #expect { try Converter.convert(checkpoint: junk, options: opt) } throws: { e in
            "\(e)".contains("junk.onnx") && "\(e)".contains("not an ONNX model")
        }
        // truncated: the first half of a real model
        let real = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "lenet5.onnx"))
        let cut = dir.appendingPathComponent("cut.onnx").path
        FileManager.default.createFile(atPath: cut, contents: real.prefix(real.count / 2))
        #expect { try Converter.convert(checkpoint: cut, options: opt) } throws: { e in "\(e)".contains("cut.onnx") }
        // an operator outside the supported set is named
        var model = try Onnx_ModelProto(serializedBytes: real)
        model.graph.node[1].opType = "HardSwish"
        let hs = dir.appendingPathComponent("hardswish.onnx").path
        FileManager.default.createFile(atPath: hs, contents: try model.serializedData())
        #expect { try Converter.convert(checkpoint: hs, options: opt) } throws: { e in
            "\(e)".contains("hardswish.onnx") && "\(e)".contains("operator HardSwish is not supported")
        }
    }
}
