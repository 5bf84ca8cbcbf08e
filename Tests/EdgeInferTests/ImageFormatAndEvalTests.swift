import Foundation
import Testing

@testable import EdgeInfer

struct ImageFormatTests {
    let samples = Paths.repo + "/models/samples/"

    @Test func jpegAndPngDecodeToThePPMPixels() throws {
        // the sample PPMs were decoded from the JPEGs by PIL (libjpeg-turbo too)
        let ppm = try Image(contentsOf: samples + "cat.ppm")
        let jpg = try Image(contentsOf: samples + "cat.jpg")
        #expect(jpg.width == 32 && jpg.height == 32 && jpg.channels == 3)
        let d = zip(ppm.pixels, jpg.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99
        #expect(d <= 1, "max pixel difference \(d)")
        // PNG written from the PPM pixels round-trips exactly
        let png = Paths.tempDir() + "/cat.png"
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["python3", "-c", "import sys\ntry:\n from PIL import Image\nexcept ImportError:\n sys.exit(3)\nImage.open(sys.argv[1]).save(sys.argv[2])", samples + "cat.ppm", png]
        try proc.run()
        proc.waitUntilExit()
        if proc.terminationStatus == 0 {
            #expect(try Image(contentsOf: png) == ppm)
        }
    }

    @Test func malformedJpegAndPng() throws {
        let dir = Paths.tempDir()
        let jpg = try Data(contentsOf: URL(fileURLWithPath: samples + "dog.jpg"))
        try jpg.prefix(300).write(to: URL(fileURLWithPath: dir + "/cut.jpg"))
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        png.append(contentsOf: [0, 0, 0, 13] + Array("IHDR".utf8) + [0, 0, 0, 0])
        try png.write(to: URL(fileURLWithPath: dir + "/bad.png"))
        try Data("GIF89a".utf8).write(to: URL(fileURLWithPath: dir + "/x.gif"))
        for (f, msg) in [("cut.jpg", "malformed JPEG image"), ("bad.png", "malformed PNG image"), ("x.gif", "not a PPM/PGM, JPEG or PNG image")] {
            do {
                _ = try Image(contentsOf: dir + "/" + f)
                Issue.record("\(f): no error")
            } catch let e as EdgeInferError {
                #expect(e.kind == .image && e.message.hasPrefix(dir + "/" + f + ": ") && e.message.contains(msg), "\(e.message)")
            }
        }
    }
}

@Suite(.serialized) struct EvalTests {
    /// A small labelled set from the six samples (class folders), as a folder and as a tar.gz.
    func makeDataset() throws -> (folder: String, tgz: String) {
        let root = Paths.tempDir(), folder = root + "/set"
        for name in ["airplane", "automobile", "cat", "dog", "ship", "truck"] {
            let dir = folder + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for ext in ["jpg", "ppm"] {
                try FileManager.default.copyItem(atPath: Paths.repo + "/models/samples/\(name).\(ext)", toPath: dir + "/\(name).\(ext)")
            }
        }
        let tgz = root + "/set.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", tgz, "-C", root, "set"]
        try tar.run()
        tar.waitUntilExit()
        return (folder, tgz)
    }

    @Test func folderAndTarGiveTheSameIndependentlyCheckedAccuracy() throws {
        let (folder, tgz) = try makeDataset()
        let a = try runProduct("edge-infer", ["eval", folder, "--json"])
        let b = try runProduct("edge-infer", ["eval", tgz, "--json"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        let ja = try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as! [String: Any]
        let jb = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        #expect(ja["count"] as? Int == 12 && jb["count"] as? Int == 12)
        #expect(ja["top1"] as? Double == jb["top1"] as? Double)
        #expect((ja["per_class"] as? [String: Double])?.count == 6)
        // independent re-computation: classify each image with the classify command
        var right = 0
        let m = try Model(path: Paths.repo + "/models/condensenet86-cifar10-int8.cnm")
        for name in ["airplane", "automobile", "cat", "dog", "ship", "truck"] {
            for ext in ["jpg", "ppm"] {
                let r = try runProduct("edge-infer", [folder + "/\(name)/\(name).\(ext)", "--top", "1", "--json"])
                let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
                let label = ((o["top"] as! [[String: Any]])[0]["label"] as! String)
                if label == name { right += 1 }
                #expect(m.labels.contains(label))
            }
        }
        #expect(abs((ja["top1"] as! Double) - Double(right) / 12) < 1e-9)
        let lim = try runProduct("edge-infer", ["eval", tgz, "--json", "--limit", "6"])
        let jl = try JSONSerialization.jsonObject(with: Data(lim.stdout.utf8)) as! [String: Any]
        #expect(jl["count"] as? Int == 6 && (jl["per_class"] as? [String: Double])?.count == 6)  // balanced prefix
    }

    /// --reference: the second model's top-1 and the agreement, against classifying every image
    /// with each model on its own (the shipped int8 model against the shipped fp32 one).
    @Test func referenceModelAgreementIsIndependentlyChecked() throws {
        let (folder, _) = try makeDataset()
        let int8 = Paths.repo + "/models/condensenet86-cifar10-int8.cnm", fp32 = Paths.repo + "/models/condensenet86-cifar10.cnm"
        let r = try runProduct("edge-infer", ["eval", folder, "--model", int8, "--reference", fp32, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        func top1(_ model: String, _ image: String) throws -> String {
            let o = try runProduct("edge-infer", [image, "--model", model, "--top", "1", "--json"])
            let d = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as! [String: Any]
            return (d["top"] as! [[String: Any]])[0]["label"] as! String
        }
        var agree = 0, refRight = 0
        for name in ["airplane", "automobile", "cat", "dog", "ship", "truck"] {
            for ext in ["jpg", "ppm"] {
                let img = folder + "/\(name)/\(name).\(ext)"
                let a = try top1(int8, img), b = try top1(fp32, img)
                if a == b { agree += 1 }
                if b == name { refRight += 1 }
            }
        }
        #expect(abs((j["agreement"] as! Double) - Double(agree) / 12) < 1e-9)
        #expect(abs((j["reference_top1"] as! Double) - Double(refRight) / 12) < 1e-9)
        let bad = try runProduct("edge-infer", ["eval", folder, "--model", int8, "--reference",
                                                Paths.fixture("../torchvision/densenet-small.pth")])
        #expect(bad.status != 0 && bad.stderr.contains("densenet-small.pth"), "\(bad.stderr)")
    }

    /// Real images whose classes are not the model's (6 folders, a 5-class model): with
    /// --reference, eval still gives the agreement of the two models (checked image by image), and
    /// no accuracy; without it, the mismatch is an error.
    @Test func agreementOnlyWhenClassesDiffer() throws {
        let (folder, _) = try makeDataset()
        let dir = Paths.tempDir()
        let onnx = Paths.fixture("../onnx/tiny.onnx"), npy = Paths.fixture("../onnx/tiny-inputs.npy")
        let fp32 = dir + "/tiny.cnm", int8 = dir + "/tiny-int8.cnm"
        #expect(try runProduct("cnm-convert", [onnx, "-o", fp32, "--preset", "imagenet"]).status == 0)
        #expect(try runProduct("cnm-convert", [onnx, "-o", int8, "--preset", "imagenet", "--int8", "--calibration", npy]).status == 0)
        let r = try runProduct("edge-infer", ["eval", folder, "--model", int8, "--reference", fp32, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(j["labelled"] as? Bool == false && j["top1"] == nil && j["count"] as? Int == 12)
        func top1(_ model: String, _ image: String) throws -> String {
            let o = try runProduct("edge-infer", [image, "--model", model, "--top", "1", "--json"])
            let d = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as! [String: Any]
            return (d["top"] as! [[String: Any]])[0]["label"] as! String
        }
        var agree = 0
        for name in ["airplane", "automobile", "cat", "dog", "ship", "truck"] {
            for ext in ["jpg", "ppm"] where try top1(int8, folder + "/\(name)/\(name).\(ext)") == top1(fp32, folder + "/\(name)/\(name).\(ext)") {
                agree += 1
            }
        }
        #expect(abs((j["agreement"] as! Double) - Double(agree) / 12) < 1e-9)
        let bad = try runProduct("edge-infer", ["eval", folder, "--model", int8])
        #expect(bad.status != 0 && bad.stderr.contains("do not match"), "\(bad.stderr)")
    }

    @Test func badDatasets() throws {
        let dir = Paths.tempDir()
        let r = try runProduct("edge-infer", ["eval", dir + "/missing"])
        #expect(r.status != 0 && r.stderr.contains("no such file or folder"))
        let gz = dir + "/bad.tar.gz"
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).write(to: URL(fileURLWithPath: gz))
        let g = try runProduct("edge-infer", ["eval", gz])
        #expect(g.status != 0 && g.stderr.contains("corrupt or truncated gzip data"), "\(g.stderr)")
    }
}
