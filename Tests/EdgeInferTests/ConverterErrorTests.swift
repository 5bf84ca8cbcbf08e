import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// A checkpoint the converter cannot take gets an error that names the problem.
struct ConverterErrorTests {
    func convertError(_ path: String, preset: Preset = .cifar10) -> String {
        do {
            _ = try Converter.convert(checkpoint: path, options: ConvertOptions(preset: preset))
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func truncatedCheckpoint() throws {
        let d = Paths.tempDir()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Paths.fixture("condensenet-c8-cifar10-converted.pth")))
        for cut in [bytes.count / 2, bytes.count - 100, 30] {
            let p = d + "/cut-\(cut).pth"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: p))
            let e = convertError(p)
            #expect(e.contains(p), "\(e)")
            #expect(e.contains("truncated") || e.contains("corrupt") || e.contains("zip"), "\(e)")
        }
    }

    @Test func notAZip() throws {
        let p = Paths.tempDir() + "/notes.pth"
        try Data("just some text, not a checkpoint\n".utf8).write(to: URL(fileURLWithPath: p))
        let e = convertError(p)
        #expect(e.contains("not a PyTorch checkpoint (not a zip archive)"), "\(e)")
    }

    @Test func missingFile() {
        let e = convertError("/nonexistent/model.pth")
        #expect(e.contains("/nonexistent/model.pth: no such file"), "\(e)")
    }

    @Test func unrelatedNetwork() throws {
        // A torch.save zip of a small ResNet-style state_dict (made by tools/fixtures/make_fixtures.py).
        let e = convertError(Paths.testsDir.appendingPathComponent("Fixtures/unrelated-resnet.pth").path)
        #expect(e.contains("not a CondenseNet or DenseNet checkpoint"), "\(e)")
        #expect(e.contains("conv1.weight"), "\(e)")
    }

    @Test func extraTensorIsNamed() throws {
        let e = convertError(Paths.testsDir.appendingPathComponent("Fixtures/condensenet-extra-key.pth").path)
        #expect(e.contains("could not place tensor 'features.extra_head.weight'"), "\(e)")
    }

    @Test func wrongPresetLabels() {
        let e = convertError(Paths.fixture("condensenet-tiny-imagenet-converted.pth"), preset: .cifar10)
        #expect(e.contains("1000 classes") && e.contains("--labels"), "\(e)")
    }
}
