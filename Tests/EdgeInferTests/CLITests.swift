import CRuntime
import Foundation
import Testing

@testable import EdgeInfer

/// End to end through the built binaries: stdout, stderr and exit codes.
@Suite(.serialized) struct CLITests {
    let tmp = Paths.tempDir()

    @Test("cnm-convert + edge-infer run reproduce the official logits", arguments: [
        ("condensenet86-cifar10", "cifar10"), ("condensenet-tiny-imagenet", "imagenet"),
    ])
    func convertAndRun(_ name: String, _ preset: String) throws {
        let model = tmp + "/\(name).cnm", out = tmp + "/\(name)-out.npy"
        let c = try runProduct("cnm-convert", [Paths.fixture("\(name)-converted.pth"), "-o", model, "--preset", preset])
        #expect(c.status == 0, "\(c.stderr)")
        let r = try runProduct("edge-infer", ["run", "--model", model, "--input", Paths.fixture("\(name)-inputs.npy"), "--output", out, "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let y = try NpyArray(contentsOf: out), ref = try NpyArray(contentsOf: Paths.fixture("\(name)-logits.npy"))
        #expect(y.shape == ref.shape)
        #expect(maxAbsDiff(y.data, ref.data) < 1e-4)
        #expect(argmaxRows(y.data, cols: ref.shape[1]) == argmaxRows(ref.data, cols: ref.shape[1]))
    }

    /// `--no-fusion` runs every operator as its own kernel; the logits keep every bit, for the
    /// built-in int8 model and the converted fp32 CondenseNet-86, at 1 and 2 threads.
    @Test func noFusionGivesTheSameBits() throws {
        let fp32 = tmp + "/c86-fusion.cnm"
        let c = try runProduct("cnm-convert", [Paths.fixture("condensenet86-cifar10-converted.pth"), "-o", fp32, "--preset", "cifar10"])
        #expect(c.status == 0, "\(c.stderr)")
        let x = Paths.fixture("condensenet86-cifar10-inputs.npy")
        for model in [[], ["--model", fp32]] {
            for threads in ["1", "2"] {
                var outs: [Data] = []
                for flag in [[], ["--no-fusion"]] {
                    let out = tmp + "/fusion-\(outs.count).npy"
                    let r = try runProduct("edge-infer", ["run"] + model + flag + ["--input", x, "--output", out, "--threads", threads])
                    #expect(r.status == 0, "\(r.stderr)")
                    outs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
                }
                #expect(outs[0] == outs[1] && outs[0].count > 128, "\(model) at \(threads) threads: fused and unfused logits differ")
            }
        }
    }

    @Test func classifiesWithTheBuiltInModelFromAnyDirectory() throws {
        let r = try runProduct("edge-infer", [Paths.repo + "/models/samples/dog.ppm", "--top", "3"], cwd: tmp)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let probs = lines.compactMap { Double($0.split(separator: "%").first!.trimmingCharacters(in: .whitespaces)) }
        #expect(probs.count == 3 && probs == probs.sorted(by: >))
        // The built-in model gives the same answer as loading the shipped default model file explicitly.
        let j1 = try runProduct("edge-infer", [Paths.repo + "/models/samples/dog.ppm", "--json"], cwd: tmp)
        let j2 = try runProduct("edge-infer", [Paths.repo + "/models/samples/dog.ppm", "--json", "--model", Paths.repo + "/models/condensenet86-cifar10-int8.cnm"])
        func top(_ s: String) throws -> [String] {
            let o = try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
            return (o["top"] as! [[String: Any]]).map { $0["label"] as! String }
        }
        #expect(try top(j1.stdout) == top(j2.stdout))
        #expect(try top(j1.stdout).count == 5)
    }

    /// `--fp16` (CNM_LOAD_FP16): binary16 convolutions on ARM CPUs with FP16 arithmetic, within
    /// 1e-2 of the largest fp32 logit there (the C tests check that under qemu); on a CPU whose
    /// kernel table has no fp16 kernels (every x86 one) the fp32 logits, bit for bit.
    @Test func fp16FlagKeepsTheLogits() throws {
        let fp32 = Paths.repo + "/models/condensenet86-cifar10.cnm", x = Paths.fixture("condensenet86-cifar10-inputs.npy")
        let two = Array(try NpyArray(contentsOf: x).data.prefix(2 * 3 * 32 * 32))
        let a = try Session(model: Model(path: fp32)).runBatch(two, count: 2)
        let b = try Session(model: Model(path: fp32, fp16: true)).runBatch(two, count: 2)
        let scale = a.map { abs($0) }.max() ?? 1
        #expect(maxAbsDiff(a, b) <= 1e-2 * scale)
        if !String(cString: cnm_kernel_table_selected()).contains("fp16") { #expect(a == b) }
        let r = try runProduct("edge-infer", [Paths.repo + "/models/samples/dog.ppm", "--fp16", "--model", fp32, "--top", "1"], cwd: tmp)
        #expect(r.status == 0 && r.stdout.hasSuffix(" dog\n"), "\(r.stdout)\(r.stderr)")
    }

    /// The shipped (trained, int8) default model names every bundled sample, JPEG and PPM alike.
    @Test func builtInModelClassifiesTheSamples() throws {
        for name in ["airplane", "automobile", "cat", "dog", "ship", "truck"] {
            for ext in ["jpg", "ppm"] {
                let r = try runProduct("edge-infer", [Paths.repo + "/models/samples/\(name).\(ext)", "--top", "1"], cwd: tmp)
                #expect(r.status == 0 && r.stdout.hasSuffix(" \(name)\n"), "\(name).\(ext): \(r.stdout)\(r.stderr)")
            }
        }
    }

    @Test func infoPrintsTheArchitecture() throws {
        let model = tmp + "/c8.cnm"
        _ = try runProduct("cnm-convert", [Paths.fixture("condensenet-c8-cifar10-train.pth"), "-o", model, "--preset", "cifar10"])
        let r = try runProduct("edge-infer", ["info", model, "--operators"])
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdout.split(whereSeparator: { $0 == " " }).joined(separator: " ")  // collapse alignment
        for s in ["version 1", "stages: 4,4,4", "growth: 8,16,32", "condense_factor: 8", "group_1x1: 4",
                  "parameters_checkpoint: 159514", "parameters: 66330", "classifier: condensed 120/240",
                  "channel gather bn+relu", "shuffle(4)", "conv2d 3x3/1 pad 1 g4"] {
            #expect(text.contains(s), "missing '\(s)' in\n\(r.stdout)")
        }
        let v = try runProduct("cnm-convert", [Paths.fixture("condensenet-c8-cifar10-train.pth"), "-o", model, "--preset", "cifar10", "--verbose"])
        #expect(v.stdout.contains("parameters 159514 in the checkpoint -> 66330 in the model"), "\(v.stdout)")
    }

    func expectOneLineError(_ r: Output, contains parts: [String], file: String) {
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(file), "stderr: \(r.stderr)")
        for p in parts { #expect(r.stderr.contains(p), "stderr: \(r.stderr)") }
    }

    @Test func corruptAndTruncatedModels() throws {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Paths.repo + "/models/condensenet86-cifar10-int8.cnm")))
        let truncated = tmp + "/truncated.cnm", corrupt = tmp + "/corrupt.cnm"
        try Data(b.prefix(b.count / 3)).write(to: URL(fileURLWithPath: truncated))
        b[b.count / 2] ^= 0xFF
        try Data(b).write(to: URL(fileURLWithPath: corrupt))
        let img = Paths.repo + "/models/samples/cat.ppm"
        let t = try runProduct("edge-infer", [img, "--model", truncated]), c = try runProduct("edge-infer", [img, "--model", corrupt])
        let n = try runProduct("edge-infer", ["info", img]), m = try runProduct("edge-infer", [img, "--model", tmp + "/missing.cnm"])
        expectOneLineError(t, contains: ["truncated"], file: truncated)
        expectOneLineError(c, contains: ["checksum mismatch"], file: corrupt)
        expectOneLineError(n, contains: ["not a .cnm model"], file: img)
        expectOneLineError(m, contains: ["cannot open"], file: "missing.cnm")
        #expect([t.status, c.status, n.status, m.status] == [8, 9, 4, 3])  // each kind its own exit code
        b[8] = 7  // version 7 (checksum not checked before the version)
        b[b.count / 2] ^= 0xFF
        let v7 = tmp + "/v7.cnm"
        try Data(b).write(to: URL(fileURLWithPath: v7))
        let v = try runProduct("edge-infer", ["info", v7])
        expectOneLineError(v, contains: ["unsupported .cnm version 7 (this runtime reads 1)"], file: v7)
        #expect(v.status == 10)
    }

    @Test func malformedImagesAndTensors() throws {
        let bad = tmp + "/bad.ppm"
        try Data("P6\n32 32\n255\n".utf8 + [1, 2, 3]).write(to: URL(fileURLWithPath: bad))
        expectOneLineError(try runProduct("edge-infer", [bad]), contains: ["malformed PPM/PGM image", "truncated"], file: bad)
        expectOneLineError(try runProduct("edge-infer", [tmp + "/nope.ppm"]), contains: ["no such file"], file: "nope.ppm")
        let x = tmp + "/wrong.npy"
        try NpyArray(shape: [2, 3, 16, 16], data: [Float](repeating: 0, count: 2 * 3 * 16 * 16)).write(to: x)
        expectOneLineError(try runProduct("edge-infer", ["run", "--input", x, "--output", tmp + "/y.npy"]),
                           contains: ["shape (2, 3, 16, 16) does not match the model input (N, 3, 32, 32)"], file: x)
        let notNpy = tmp + "/text.npy"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notNpy))
        expectOneLineError(try runProduct("edge-infer", ["run", "--input", notNpy, "--output", tmp + "/y.npy"]),
                           contains: ["not a valid .npy file"], file: notNpy)
    }

    @Test func converterErrorsExitNonZero() throws {
        let text = tmp + "/notes.pth"
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: text))
        expectOneLineError(try runProduct("cnm-convert", [text, "-o", tmp + "/x.cnm", "--preset", "cifar10"]),
                           contains: ["not a zip archive"], file: text)
        let unrelated = Paths.testsDir.appendingPathComponent("Fixtures/unrelated-resnet.pth").path
        expectOneLineError(try runProduct("cnm-convert", [unrelated, "-o", tmp + "/x.cnm", "--preset", "cifar10"]),
                           contains: ["not a CondenseNet or DenseNet checkpoint"], file: unrelated)
        #expect(!FileManager.default.fileExists(atPath: tmp + "/x.cnm"))  // no partial model
    }

    /// Choice options are parsed by argument-parser: an unknown value is a usage error (64) naming the choices.
    @Test func unknownChoicesAreUsageErrors() throws {
        let ck = Paths.fixture("condensenet-c8-cifar10-train.pth")
        let p = try runProduct("cnm-convert", [ck, "-o", tmp + "/x.cnm", "--preset", "mnist"])
        #expect(p.status == 64 && p.stderr.contains("'mnist' is invalid for '--preset") && p.stderr.contains("'cifar10' and 'imagenet'"), "\(p.stderr)")
        let m = try runProduct("cnm-convert", [ck, "-o", tmp + "/x.cnm", "--preset", "cifar10", "--int8", "--calibration",
                                               Paths.fixture("condensenet-c8-cifar10-inputs.npy"), "--calibration-method", "kl"])
        #expect(m.status == 64 && m.stderr.contains("'minmax', 'percentile' or 'entropy'"), "\(m.stderr)")
        let n = try runProduct("cnm-convert", [ck, "-o", tmp + "/x.cnm", "--preset", "cifar10", "--mean", "0.5,x"])
        #expect(n.status == 64 && n.stderr.contains("--mean '0.5,x' is not a comma-separated list of numbers"), "\(n.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp + "/x.cnm"))
    }
}
