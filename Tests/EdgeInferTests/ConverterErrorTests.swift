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

/// Found by the pickle fuzzer: a pickle can make a container hold itself (a reference cycle).
struct UnpicklerCycleTests {
    @Test func selfReferencingContainersAreReleased() throws {
        // EMPTY_DICT DUP DUP SETITEM STOP: d[d] = d ; EMPTY_LIST BINPUT 0 BINGET 0 APPEND: l.append(l)
        for bytes: [UInt8] in [[0x7D, 0x32, 0x32, 0x73, 0x2E], [0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]] {
            weak var weakRef: AnyObject?
            do {
                var u = Unpickler(bytes: bytes, name: "cycle.pkl")
                let v = try u.load()
                switch v {
                case .dict(let d): weakRef = d; #expect(d.items.count == 1)
                case .list(let l): weakRef = l; #expect(l.items.count == 1)
                default: Issue.record("unexpected \(v)")
                }
                #expect(weakRef != nil)
                u.breakCycles()
            }
            #expect(weakRef == nil, "the self-referencing container leaked")
        }
    }
}

/// Found by the pickle fuzzer: 100,000 nested tuples overflowed the stack when released.
struct UnpicklerDepthTests {
    @Test func deeplyNestedValuesAreRefused() {
        let bytes: [UInt8] = [0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]  // NONE, TUPLE1 x 100k, STOP
        var u = Unpickler(bytes: bytes, name: "deep.pkl")
        defer { u.breakCycles() }
        do {
            _ = try u.load()
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("deep.pkl: cannot unpickle at byte 258: values nested deeper than 256 levels"), "\(error)")
        }
        var ok = Unpickler(bytes: [0x4E] + [UInt8](repeating: 0x85, count: 200) + [0x2E], name: "ok.pkl")
        defer { ok.breakCycles() }
        #expect((try? ok.load()) != nil)
    }
}

/// Found by the pickle fuzzer: values that share sub-values made naive walks exponential.
struct UnpicklerSharingTests {
    @Test func describingASharedTupleDAGIsBounded() throws {
        // NONE, then 200 x (DUP, TUPLE2): a tuple DAG with 2^200 paths
        var u = Unpickler(bytes: [0x4E] + [UInt8](repeating: 0, count: 0) + Array([[UInt8]](repeating: [0x32, 0x86], count: 200).joined()) + [0x2E], name: "dag.pkl")
        defer { u.breakCycles() }
        let v = try u.load()
        let d = v.description
        #expect(d.count < 4000 && d.contains("..."))
    }

    @Test func aViewMayNotClaimFarMoreThanItsStorage() {
        let ref = TorchTensorRef(storage: TorchStorageRef(type: "FloatStorage", key: "0", count: 4), offset: 0,
                                 shape: [1 << 30], stride: [0])
        #expect(throws: ConvertError.self) { try Tensor.materialise("t", ref, [UInt8](repeating: 0, count: 16), path: "x.pth") }
        let small = TorchTensorRef(storage: TorchStorageRef(type: "FloatStorage", key: "0", count: 1), offset: 0, shape: [3, 2], stride: [0, 0])
        #expect((try? Tensor.materialise("t", small, [0, 0, 0x80, 0x3F], path: "x.pth"))?.values == [Float](repeating: 1, count: 6))
    }
}
