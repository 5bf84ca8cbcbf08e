import ArgumentParser
import EdgeInfer
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure accuracy on a labelled image set.",
        discussion: """
            DATASET is a folder of class sub-folders, or a tar / tar.gz archive of them \
            (<...>/<class>/<image>; PPM, PGM, JPEG, PNG). Classes map to the model's labels by \
            name, or else by sorted order. Images are taken round-robin over the classes, so \
            --limit gives a balanced subset. Reports top-1, top-5, per-class accuracy and images \
            per second (decoding and preprocessing included). With --reference, a data set whose \
            classes are not the model's (e.g. CIFAR-10 images through an ImageNet model) still gives \
            the top-1 agreement of the two models, and no accuracy.
            """)

    @OptionGroup var modelOption: ModelOption

    @Argument(help: "The data set: a folder of class sub-folders, or a tar(.gz) of them.")
    var dataset: String

    @Option(help: "Evaluate at most this many images.")
    var limit: Int?

    @Option(help: "OpenMP threads (default: all cores).")
    var threads = 0

    @Option(help: "A second model (e.g. the fp32 one) run on the same inputs: adds its top-1 and the top-1 agreement of the two.")
    var reference: String?

    @Flag(help: "Print one JSON object: count, top1, top5 (fractions), per_class, images_per_second (and reference_top1, agreement).")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    mutating func run() throws {
        try reportingErrors {
            let model = try modelOption.load()
            let labels = model.labels
            let data = try Dataset(path: dataset)
            var classIndex: [String: Int] = [:]
            if data.classes.allSatisfy({ labels.contains($0) }) {
                for c in data.classes { classIndex[c] = labels.firstIndex(of: c)! }
            } else if data.classes.count == labels.count {
                for (i, c) in data.classes.enumerated() { classIndex[c] = i }
            } else if reference != nil {
                // agreement only: the images are real, their classes are not the model's
            } else {
                throw EdgeInferError(.argument, "\(dataset): \(data.classes.count) class folders do not match the model's \(labels.count) labels by name or count")
            }
            let samples = Array(data.samples.prefix(limit ?? Int.max))
            let session = try Session(model: model, threads: threads)
            var output = [Float](repeating: 0, count: labels.count)
            var top1 = 0, top5 = 0
            let refModel = try reference.map { try Model(path: $0) }
            if let refModel {
                let a = refModel.info, b = model.info
                guard a.numClasses == b.numClasses, a.inputChannels == b.inputChannels, a.inputHeight == b.inputHeight,
                      a.inputWidth == b.inputWidth, a.mean == b.mean, a.std == b.std, a.resize == b.resize else {
                    throw EdgeInferError(.argument, "\(reference ?? ""): its input, preprocessing or classes differ from \(model.name)'s")
                }
            }
            let refSession = try refModel.map { try Session(model: $0, threads: threads) }
            var refOutput = output
            var refTop1 = 0, agree = 0
            var perClass: [String: (right: Int, total: Int)] = [:]
            let tty = isatty(2) != 0
            let start = DispatchTime.now().uptimeNanoseconds
            for (n, s) in samples.enumerated() {
                let img = try Image.decode(try s.bytes(), name: s.name)
                let input = try img.modelInput(for: model)
                try session.run(input, into: &output)
                let best = topK(output, 5), truth = classIndex[s.className] ?? -1
                if let refSession {
                    try refSession.run(input, into: &refOutput)
                    let r = topK(refOutput, 1).first
                    if r == truth { refTop1 += 1 }
                    if r == best.first { agree += 1 }
                }
                if best.first == truth { top1 += 1 }
                if best.contains(truth) { top5 += 1 }
                perClass[s.className, default: (0, 0)].total += 1
                if best.first == truth { perClass[s.className]!.right += 1 }
                if tty && (n % 50 == 49 || n == samples.count - 1) {
                    let f = Double(n + 1) / Double(samples.count)
                    let bar = String(repeating: "#", count: Int(f * 30)) + String(repeating: " ", count: 30 - Int(f * 30))
                    FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d  top-1 %.2f%%", bar, n + 1, samples.count, 100 * Double(top1) / Double(n + 1)).utf8))
                }
            }
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let count = samples.count
            let ips = Double(count) / max(secs, 1e-9)
            if classIndex.isEmpty {
                let a = Double(agree) / Double(count)
                if json {
                    print("{\"model\": \(jsonString(model.name)), \"dataset\": \(jsonString(dataset)), \"count\": \(count), \"labelled\": false, "
                          + String(format: "\"agreement\": %.6f, \"images_per_second\": %.1f, \"threads\": %d}", a, ips, session.threads))
                } else {
                    print("model:     \(model.name)\ndataset:   \(dataset): \(count) images; its classes are not the model's: no accuracy")
                    print(String(format: "agreement: top-1 of %@ equals that of %@ on %.2f%% (%d/%d)", model.name, refModel?.name ?? "", 100 * a, agree, count))
                }
                return
            }
            if json {
                let pc = data.classes.filter { perClass[$0] != nil }.map { c in
                    "\(jsonString(c)): \(String(format: "%.6f", Double(perClass[c]!.right) / Double(perClass[c]!.total)))"
                }
                print("{\"model\": \(jsonString(model.name)), \"dataset\": \(jsonString(dataset)), \"count\": \(count), "
                      + "\"top1\": \(String(format: "%.6f", Double(top1) / Double(count))), \"top5\": \(String(format: "%.6f", Double(top5) / Double(count))), "
                      + "\"per_class\": {\(pc.joined(separator: ", "))}, \"images_per_second\": \(String(format: "%.1f", ips)), \"threads\": \(session.threads)"
                      + (refModel == nil ? "" : String(format: ", \"reference_top1\": %.6f, \"agreement\": %.6f", Double(refTop1) / Double(count), Double(agree) / Double(count)))
                      + "}")
                return
            }
            print("model:   \(model.name)")
            print("dataset: \(dataset): \(count) images, \(data.classes.count) classes")
            print(String(format: "top-1:   %.2f%% (%d/%d)", 100 * Double(top1) / Double(count), top1, count))
            print(String(format: "top-5:   %.2f%%", 100 * Double(top5) / Double(count)))
            if let refModel {
                print(String(format: "reference %@: top-1 %.2f%%; top-1 agreement %.2f%% (%d/%d)", refModel.name,
                             100 * Double(refTop1) / Double(count), 100 * Double(agree) / Double(count), agree, count))
            }
            print(String(format: "speed:   %.1f images/s (%d threads, decoding and preprocessing included)", ips, session.threads))
            print("per class:")
            let width = (data.classes.map(\.count).max() ?? 0) + 2
            for c in data.classes {
                if let p = perClass[c] {
                    print("  " + c.padding(toLength: width, withPad: " ", startingAt: 0)
                          + String(format: "%6.2f%%  (%d)", 100 * Double(p.right) / Double(p.total), p.total))
                }
            }
        }
    }
}
