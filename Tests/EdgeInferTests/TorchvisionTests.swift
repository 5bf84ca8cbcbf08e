import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// torchvision's DenseNet layout (tools/fixtures/make_torchvision.py: torchvision's own class, random
/// weights, BatchNorm statistics from real forward passes) against PyTorch's logits.
struct TorchvisionTests {
    static let dir = Paths.fixtures + "/../torchvision/"

    func convert(_ file: String, int8: QuantizeOptions? = nil) throws -> (Model, ConversionReport) {
        var opt = ConvertOptions(preset: Preset.imagenet.with(mean: nil, std: nil, inputSize: 64))
        opt.labels = (0..<10).map { "class \($0)" }
        let (bytes, report, _) = try Converter.convert(checkpoint: Self.dir + file, options: opt, int8: int8)
        return (try Model(bytes: bytes, name: file), report)
    }

    @Test("torchvision DenseNet reproduces PyTorch's logits", arguments: ["densenet-small.pth", "densenet-small-old.pth"])
    func densenet(_ file: String) throws {
        let (m, report) = try convert(file)
        #expect(report.arch == "densenet" && report.stages == [2, 3, 2] && report.growth == [8, 8, 8])
        #expect(report.parametersBefore == report.parametersAfter)
        #expect(m.operators.contains { $0.type == "maxpool" && $0.kernel.h == 3 && $0.stride.h == 2 })
        let x = try NpyArray(contentsOf: Self.dir + "densenet-small-inputs.npy")
        let ref = try NpyArray(contentsOf: Self.dir + "densenet-small-logits.npy")
        for threads in [1, 2] {
            let y = try Session(model: m, threads: threads).runBatch(x.data, count: 2)
            #expect(maxAbsDiff(y, ref.data) < 1e-4, "max |diff| \(maxAbsDiff(y, ref.data)) at \(threads) threads")
        }
    }

    @Test func densenetInt8ThroughTheSameCalibration() throws {
        let q = QuantizeOptions(source: Self.dir + "densenet-small-inputs.npy")
        let (m, _) = try convert("densenet-small.pth", int8: q)
        #expect(m.operators.filter { $0.type == "conv2d" }.allSatisfy { $0.inputQuantization != nil })
        let x = try NpyArray(contentsOf: Self.dir + "densenet-small-inputs.npy")
        let ref = try NpyArray(contentsOf: Self.dir + "densenet-small-logits.npy")
        let y = try Session(model: m, threads: 1).runBatch(x.data, count: 2)
        let signal = ref.data.reduce(0) { $0 + Double($1 * $1) }
        let noise = zip(y, ref.data).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        #expect(10 * log10(signal / noise) > 20, "int8 logit SQNR \(10 * log10(signal / noise)) dB")
    }

    @Test func keyMapping() {
        let f = TorchvisionDenseNet.officialName
        #expect(f("features.conv0.weight") == "features.init_conv.weight")
        #expect(f("features.denseblock3.denselayer12.norm2.running_var") == "features.denseblock_3.denselayer_12.conv_2.norm.running_var")
        #expect(f("features.denseblock1.denselayer1.conv.1.weight") == "features.denseblock_1.denselayer_1.conv_1.conv.weight")
        #expect(f("features.transition2.conv.weight") == "features.transition_2.conv.conv.weight")
        #expect(f("features.norm5.bias") == "features.norm_last.bias")
        #expect(f("classifier.weight") == "classifier.weight")
        #expect(f("features.denseblock1.denselayer1.extra.weight") == "features.denseblock1.denselayer1.extra.weight")
    }
}
