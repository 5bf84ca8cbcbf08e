import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// Every case of the official CondenseNet code's fixtures, through every conversion route,
/// against the logits the official PyTorch models produced.
struct OfficialFixtureTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let preset: String
        let hasConverted: Bool
        let hasTrainLogits: Bool
        var checkpoint: String { hasTrainLogits ? "\(name)-train.pth" : "\(name).pth" }
        var testDescription: String { name }
    }

    static let cases = [
        Case(name: "condensenet86-cifar10", preset: "cifar10", hasConverted: true, hasTrainLogits: true),
        Case(name: "condensenet-c8-cifar10", preset: "cifar10", hasConverted: true, hasTrainLogits: true),
        Case(name: "condensenet-tiny-imagenet", preset: "imagenet", hasConverted: true, hasTrainLogits: true),
        Case(name: "densenet-bc40-cifar10", preset: "cifar10", hasConverted: false, hasTrainLogits: false),
    ]

    func check(_ c: Case, checkpoint: String, keep: Bool, reference: String) throws {
        let ref = try NpyArray(contentsOf: Paths.fixture(reference))
        let (y, _, _) = try convertAndRun(checkpoint, preset: Preset.named(c.preset)!, keepClassifier: keep, inputs: "\(c.name)-inputs.npy")
        let d = maxAbsDiff(y, ref.data)
        #expect(d < 1e-4, "\(checkpoint) keep=\(keep): max |diff| \(d) vs \(reference)")
        let cols = ref.shape[1]
        #expect(argmaxRows(y, cols: cols) == argmaxRows(ref.data, cols: cols))
    }

    @Test("converted checkpoint reproduces -logits.npy", arguments: cases.filter(\.hasConverted))
    func convertedCheckpoint(_ c: Case) throws {
        try check(c, checkpoint: "\(c.name)-converted.pth", keep: false, reference: "\(c.name)-logits.npy")
    }

    @Test("training-time checkpoint, condensed here, reproduces -logits.npy", arguments: cases)
    func trainingCheckpoint(_ c: Case) throws {
        try check(c, checkpoint: c.checkpoint, keep: false, reference: "\(c.name)-logits.npy")
    }

    @Test("--keep-classifier reproduces the training-time model's -train-logits.npy", arguments: cases)
    func keepClassifier(_ c: Case) throws {
        try check(c, checkpoint: c.checkpoint, keep: true,
                  reference: c.hasTrainLogits ? "\(c.name)-train-logits.npy" : "\(c.name)-logits.npy")
    }

    @Test("the official conversion is not lossless: the two references differ, and so do our two routes")
    func classifierCondensationMatters() throws {
        let a = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-logits.npy")).data
        let b = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-train-logits.npy")).data
        #expect(maxAbsDiff(a, b) > 0.1)
    }

    @Test("architecture and parameter counts are inferred from names and shapes")
    func inferredArchitecture() throws {
        let cases: [(String, String, [Int], [Int], Int, Int, Int)] = [
            // checkpoint, preset, stages, growth, G, C, test-time params (cases.json)
            ("condensenet86-cifar10-train.pth", "cifar10", [14, 14, 14], [8, 16, 32], 4, 4, 516_202),
            ("condensenet-c8-cifar10-train.pth", "cifar10", [4, 4, 4], [8, 16, 32], 4, 8, 66_330),
            ("condensenet-tiny-imagenet-train.pth", "imagenet", [1, 1, 2, 2, 1], [8, 16, 32, 64, 128], 4, 4, 479_912),
            ("densenet-bc40-cifar10.pth", "cifar10", [6, 6, 6], [12, 12, 12], 1, 0, 176_122),
        ]
        for (ck, preset, stages, growth, g, cf, params) in cases {
            let (bytes, r) = try Converter.convert(checkpoint: Paths.fixture(ck), options: ConvertOptions(preset: Preset.named(preset)!))
            #expect(r.stages == stages, "\(ck)")
            #expect(r.growth == growth, "\(ck)")
            #expect(r.group1x1 == g && r.group3x3 == g, "\(ck)")
            #expect(r.condenseFactor == cf, "\(ck)")
            #expect(r.bottleneck == 4, "\(ck)")
            #expect(r.parametersAfter == params, "\(ck): \(r.parametersAfter) parameters")
            let m = try Model(bytes: bytes, name: ck)
            #expect(m.metadata("stages") == stages.map(String.init).joined(separator: ","))
            #expect(m.info.parameters == params)
        }
    }

    @Test("MACs of CondenseNet-86 match an independent count")
    func macs() throws {
        let (_, r) = try Converter.convert(checkpoint: Paths.fixture("condensenet86-cifar10-converted.pth"),
                                           options: ConvertOptions(preset: .cifar10))
        // stem 16x3x3x3 on 32x32; per layer 1x1 grouped (in/C*... per group) and 3x3 grouped; classifier
        var macs = 16 * 27 * 32 * 32
        var c = 16
        for (stage, (k, hw)) in zip([14, 14, 14], [(8, 32 * 32), (16, 16 * 16), (32, 8 * 8)]) {
            for _ in 0..<stage {
                let kept = c / 4 * 4  // in*G/C = in (G = C = 4): gathered channels
                macs += (4 * k) * (kept / 4) * hw  // 1x1 conv, 4 groups
                macs += k * (4 * k / 4) * 9 * hw  // 3x3 conv, 4 groups
                c += k
            }
        }
        macs += 10 * 400
        #expect(r.macs == macs)
    }
}
