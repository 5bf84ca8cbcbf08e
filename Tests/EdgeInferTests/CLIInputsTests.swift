import Foundation
import Testing

@testable import EdgeInfer

/// Many inputs, streams and the machine-readable outputs of the CLI, through the built binaries.
@Suite(.serialized) struct CLIInputsTests {
    let tmp = Paths.tempDir()
    static let samples = Paths.repo + "/models/samples"
    static let classes = ["airplane", "automobile", "cat", "dog", "ship", "truck"]

    func ppm(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/\(name).ppm")) }

    @Test func severalFilesAndADirectoryGiveOneLineEach() throws {
        let r = try runProduct("edge-infer", [Self.samples + "/cat.ppm", Self.samples + "/dog.jpg", "--top", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(Self.samples + "/cat.ppm: cat "), "\(lines)")
        #expect(lines[1].hasPrefix(Self.samples + "/dog.jpg: dog "), "\(lines)")
        #expect(r.stderr.contains("2 image(s)") && r.stderr.contains("images/s"), "\(r.stderr)")

        // a directory: recursive, sorted, image files only; each sample named after its class
        let dir = tmp + "/tree"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        for c in Self.classes { try FileManager.default.copyItem(atPath: Self.samples + "/\(c).jpg", toPath: dir + "/sub/\(c).jpg") }
        try FileManager.default.copyItem(atPath: Self.samples + "/cat.ppm", toPath: dir + "/a-cat.ppm")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        for threads in ["1", "2"] {
            let d = try runProduct("edge-infer", [dir, "--top", "1", "--jsonl", "--threads", threads])
            #expect(d.status == 0, "\(d.stderr)")
            let objs = try d.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let names = objs.map { $0["image"] as! String }
            #expect(names == [dir + "/a-cat.ppm"] + Self.classes.map { dir + "/sub/\($0).jpg" })
            let labels = objs.map { (($0["top"] as! [[String: Any]])[0]["label"] as! String) }
            #expect(labels == ["cat"] + Self.classes, "\(labels) at \(threads) threads")
        }
    }

    @Test func aFailingFileIsReportedAndTheRestGoOn() throws {
        let bad = tmp + "/bad.ppm"
        try Data("P6\n4 4\n255\n".utf8).write(to: URL(fileURLWithPath: bad))  // no pixels
        let r = try runProduct("edge-infer", [bad, Self.samples + "/cat.ppm", "--top", "1"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("cat.ppm: cat "))
        #expect(r.stderr.contains("bad.ppm") && r.stderr.contains("1 failed"), "\(r.stderr)")
    }

    @Test func aStreamOfFramesOnStdin() throws {
        let frames = try ppm("cat") + ppm("dog") + ppm("ship")
        let r = try runProduct("edge-infer", ["-", "--top", "1"], stdin: frames)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.map { $0.split(separator: " ").prefix(3).joined(separator: " ") } == ["frame 1: cat", "frame 2: dog", "frame 3: ship"], "\(r.stdout)")
        let j = try runProduct("edge-infer", ["-", "--jsonl", "--top", "1"], stdin: frames)
        let objs = try j.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objs.map { $0["frame"] as! Int } == [1, 2, 3])
        // one JPEG on stdin
        let jpg = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/truck.jpg"))
        let one = try runProduct("edge-infer", ["-", "--top", "1"], stdin: jpg)
        #expect(one.status == 0 && one.stdout.contains("frame 1: truck "), "\(one.stdout) \(one.stderr)")
        // a stream cut inside its second frame: the first is classified, the cut named
        let cut = try ppm("cat") + ppm("dog").prefix(200)
        let c = try runProduct("edge-infer", ["-", "--top", "1"], stdin: cut)
        #expect(c.status == 1)
        #expect(c.stdout.contains("frame 1: cat "))
        #expect(c.stderr.contains("frame 2") && c.stderr.contains("ends inside the frame"), "\(c.stderr)")
    }

    @Test func versionInfoJSONAndThreads() throws {
        let v = try runProduct("edge-infer", ["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("edge-infer \(BuildInfo.version) (commit "), "\(v.stdout)")
        // the commit the binary was built from (the plugin writes it before every build)
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        git.arguments = ["-C", Paths.repo, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = Pipe()
        if (try? git.run()) != nil {
            let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            git.waitUntilExit()
            if git.terminationStatus == 0 { #expect(v.stdout.contains("(commit \(head)"), "\(v.stdout) vs HEAD \(head)") }
        }
        #expect(v.stdout.contains("this CPU takes: \(BuildInfo.selectedTable)") && v.stdout.contains("scalar"))
        #expect(BuildInfo.kernelTables.first?.name == "scalar" && BuildInfo.kernelTables.contains { $0.name == BuildInfo.selectedTable && $0.runs })
        let c = try runProduct("cnm-convert", ["--version"])
        #expect(c.status == 0 && c.stdout.hasPrefix("cnm-convert \(BuildInfo.version)"))

        let i = try runProduct("edge-infer", ["info", "--json", "--operators"])
        #expect(i.status == 0, "\(i.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as! [String: Any]
        #expect(o["classes"] as? Int == 10 && (o["macs"] as? Int ?? 0) > 1_000_000 && (o["load_ms"] as? Double ?? -1) >= 0)
        #expect((o["operators"] as? [Any])?.count == (o["operator_counts"] as? [String: Int])?.values.reduce(0, +))
        #expect((o["labels"] as? [String])?.first == "airplane")

        // one thread rule: 0 = all cores everywhere, a warning past the cores
        let b = try runProduct("edge-infer", ["bench", "--threads", "0", "--runs", "12", "--warmup-ms", "0", "--json", "--profile"])
        #expect(b.status == 0, "\(b.stderr)")
        let bj = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        #expect(bj["adaptive"] as? Bool == true && bj["max_threads"] as? Int == ProcessInfo.processInfo.activeProcessorCount)
        let prof = bj["profile"] as! [String: Any]
        let rows = prof["operators"] as! [[String: Any]]
        let sum = rows.reduce(0.0) { $0 + ($1["median_ms"] as! Double) }
        #expect(rows.count > 80 && abs(sum - (prof["total_ms"] as! Double)) < 1e-3 * max(sum, 1), "\(rows.count) rows, \(sum)")
        #expect((prof["by_kind"] as! [String: Any]).keys.contains("conv2d"))
        #expect(rows.contains { ($0["name"] as! String).count > 52 }, "full operator names")
        let many = ProcessInfo.processInfo.activeProcessorCount + 1
        let w = try runProduct("edge-infer", [Self.samples + "/cat.ppm", "--threads", "\(many)"])
        #expect(w.status == 0 && w.stderr.contains("warning: \(many) threads on"), "\(w.stderr)")
        let bad = try runProduct("edge-infer", [Self.samples + "/cat.ppm", "--threads", "2000"])
        #expect(bad.status != 0 && bad.stderr.contains("0...1024"))
    }

    @Test func cpusPinTheProcess() throws {
        let b = try runProduct("edge-infer", ["bench", "--cpus", "0", "--threads", "0", "--runs", "5", "--warmup-ms", "0", "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        #expect(o["max_threads"] as? Int == 1, "pinned to one CPU, OpenMP sees one: \(o["max_threads"] ?? "?")")
        for bad in ["9-x", "5000", ""] {
            let r = try runProduct("edge-infer", [Self.samples + "/cat.ppm", "--cpus", bad])
            #expect(r.status == 6 && r.stderr.contains("--cpus") && r.stderr.split(separator: "\n").count == 1, "\(bad): \(r.stderr)")
        }
    }

    @Test func progressShowsCountRateAndTimeLeft() {
        let l = ProgressBar.line("eval", 50, 200, seconds: 5, extra: "top-1 90.00%")
        #expect(l.contains("50/200") && l.contains("10.0/s") && l.contains("ETA 0:15") && l.hasSuffix("top-1 90.00%"), "\(l)")
        #expect(l.contains("[######                  ]"), "\(l)")
        #expect(ProgressBar.line("calibrating", 200, 200, seconds: 20).contains("20.0 s"))
        // not on a terminal: nothing (the test's stderr is a pipe)
        var bar = ProgressBar("x", total: 2)
        #expect(!bar.enabled)
        bar.update(2)
    }

    @Test func smallOnes() throws {
        let p3 = tmp + "/plain.ppm"
        try Data("P3\n1 1\n255\n0 0 0\n".utf8).write(to: URL(fileURLWithPath: p3))
        let r = try runProduct("edge-infer", [p3])
        #expect(r.status == 7 && r.stderr.contains("ASCII (plain) PPM (P3)"), "\(r.stderr)")
        #expect(throws: EdgeInferError.self) { try Image(contentsOf: tmp) }
        do { _ = try Image(contentsOf: tmp) } catch let e as EdgeInferError { #expect(e.message.hasSuffix("is a directory")) }
        // a write failure is an i/o error (exit 3), not "checkpoint not understood" (2)
        let onnx = Paths.fixtures + "/../onnx/tiny.onnx"
        let w = try runProduct("cnm-convert", [onnx, "-o", tmp + "/no/such/dir/x.cnm"])
        #expect(w.status == 3 && w.stderr.contains("cannot write"), "\(w.stderr)")
        // an ONNX graph gives its input size: no --preset needed; a .pth needs one
        let ok = try runProduct("cnm-convert", [onnx, "-o", tmp + "/tiny.cnm"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let pth = try runProduct("cnm-convert", [Paths.fixture("condensenet86-cifar10-converted.pth"), "-o", tmp + "/x.cnm"])
        #expect(pth.status != 0 && pth.stderr.contains("--preset"), "\(pth.stderr)")
    }
}

/// A long stream of frames is read with about one frame buffered, not the whole stream.
struct ImageStreamTests {
    @Test func aLongStreamKeepsLittleBuffered() throws {
        let frame = Array("P5\n64 64\n255\n".utf8) + [UInt8](repeating: 7, count: 64 * 64)
        var p: [Int32] = [0, 0]
        #expect(pipe(&p) == 0)
        let frames = 2000  // 8.2 MB through the pipe
        let wfd = p[1]
        let writer = Thread {
            let all = [UInt8]((0..<frames).flatMap { _ in frame })
            var off = 0
            while off < all.count {
                let n = all[off...].withUnsafeBytes { write(wfd, $0.baseAddress, min($0.count, 1 << 16)) }
                if n <= 0 { break }
                off += n
            }
            close(wfd)
        }
        writer.start()
        var s = ImageStream(fileDescriptor: p[0], name: "pipe")
        var n = 0, most = 0
        while let img = try s.next() {
            #expect(img.width == 64 && img.height == 64 && img.channels == 1)
            n += 1
            most = max(most, s.buffered)
        }
        close(p[0])
        #expect(n == frames)
        #expect(most < (1 << 20) + (1 << 17), "at most \(most) bytes buffered")
    }
}
