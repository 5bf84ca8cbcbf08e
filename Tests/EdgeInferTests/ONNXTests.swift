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
          arguments: ["lenet5", "alexnet", "vgg16", "googlenet", "resnet", "densenet", "tiny", "sigmoid",
                      "mobilenetv2", "shufflenetv2", "regnety", "lightops"])
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

        // MobileNet v2: ReLU6 is a clip op after each conv it follows; depthwise convs are convs of
        // one input channel per group; the residual adds stay
        let (mob, _, _) = try Self.convert("mobilenetv2")
        #expect(Self.ops(mob, "clip").count == 11 && Self.ops(mob, "clip").allSatisfy { $0.clip! == (0, 6) })
        #expect(Self.ops(mob, "conv2d").filter { $0.groups > 1 && $0.groups == $0.inputShape[0] }.count == 5)
        #expect(Self.ops(mob, "add").count == 2)

        // ShuffleNet v2: every Reshape-Transpose-Reshape a shuffle of 2 groups, every channel split a
        // view (the half passed through is the one copy into the next concatenation), ReduceMean a pool
        let (shu, _, _) = try Self.convert("shufflenetv2")
        #expect(Self.ops(shu, "channel").filter { $0.shuffle == 2 }.count == 5)
        #expect(Self.ops(shu, "channel").filter { $0.shuffle == 0 }.count == 2)
        #expect(Self.ops(shu, "avgpool").count == 1 && Self.ops(shu, "avgpool")[0].outputShape == [64, 1, 1])

        // RegNetY: each squeeze-and-excitation gate a pool, two 1x1 convs, a sigmoid and a mul by
        // one factor per channel
        let (reg, _, _) = try Self.convert("regnety")
        #expect(Self.ops(reg, "mul").count == 4 && Self.ops(reg, "sigmoid").count == 4)
        #expect(reg.operators.filter { $0.type == "mul" }.allSatisfy { $0.inputShape[1] > 1 })

        // the other spellings: Clip with one bound and with two, Mul and Add by constants as channel ops
        let (light, _, _) = try Self.convert("lightops")
        #expect(Self.ops(light, "clip").map { [$0.clip!.min, $0.clip!.max] } == [[-0.25, .infinity], [-1, 2], [0, 6]])
        #expect(Self.ops(light, "mul").count == 1 && Self.ops(light, "channel").filter { $0.shuffle == 3 }.count == 1)
    }

    /// Logit SQNR against PyTorch, calibrated on the two fixture inputs. Random weights carry no
    /// structure for int8 to preserve, so the error grows with depth: VGG-16's 16 quantised layers
    /// (4 to 32 channels wide) lose about 1.4 dB each and get 15 dB, the small ShuffleNet v2 (23
    /// quantised layers, 4 to 32 channels) 19 dB; the others 20 dB.
    @Test func int8ThroughTheSameCalibration() throws {
        for (name, minDB) in [("resnet", 20.0), ("googlenet", 20), ("vgg16", 15), ("alexnet", 20), ("lenet5", 20),
                              ("mobilenetv2", 20), ("shufflenetv2", 17), ("regnety", 20)] {
            let q = QuantizeOptions(source: Self.dir + name + "-inputs.npy")
            let (m, _, qr) = try Self.convert(name, int8: q)
            // every conv int8 but the depthwise ones, which stay float
            #expect(Self.ops(m, "conv2d").allSatisfy { ($0.inputQuantization != nil) == !($0.groups > 1 && $0.groups == $0.inputShape[0] && $0.groups == $0.outputShape[0]) })
            #expect(name != "mobilenetv2" || Self.ops(m, "conv2d").contains { $0.inputQuantization == nil })
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
        // cnm-convert --check lists every such node at once, and nothing for a model that converts
        model.graph.node[3].domain = "com.microsoft"
        model.graph.node[4].attribute.append(Onnx_AttributeProto.with { $0.name = "foo"; $0.i = 1; $0.type = .int })
        let three = dir.appendingPathComponent("three.onnx").path
        FileManager.default.createFile(atPath: three, contents: try model.serializedData())
        let problems = ONNXImporter.check(path: three, options: opt)
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.count == 3 && problems[0].hasSuffix("(HardSwish): operator HardSwish is not supported")
                && problems[1].contains("node 3") && problems[1].hasSuffix("operator domain 'com.microsoft' is not supported")
                && problems[2].contains("node 4") && problems[2].hasSuffix("attribute 'foo' is not supported"))
        #expect(ONNXImporter.check(path: Self.dir + "shufflenetv2.onnx", options: opt).isEmpty)
        // past the node checks, the conversion's own refusal
        var tiny = opt
        tiny.inputSizeOverride = 8
        let small = ONNXImporter.check(path: Self.dir + "lenet5.onnx", options: tiny)
        #expect(small.count == 1 && small[0].contains("kernel 5x5 larger than the padded 2x2 input"), "\(small)")
    }
}
