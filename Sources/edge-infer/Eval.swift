import ArgumentParser
import EdgeInfer
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

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

    @OptionGroup var threadsOption: ThreadsOption

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
            let data = try Dataset(path: dataset)
            let classIndex = try classIndex(data.classes, labels: model.labels)
            let samples = Array(data.samples.prefix(limit ?? Int.max))
            let threads = threadsOption.session
            let session = try Session(model: model, threads: threads)
            let refModel = try referenceModel(like: model)
            let refSession = try refModel.map { try Session(model: $0, threads: threads) }
            let t = try evaluate(samples, model: model, session: session, reference: refSession, classIndex: classIndex)
            if classIndex.isEmpty {
                printAgreement(t, model: model, reference: refModel, threads: session.threads)
            } else if json {
                printJSON(t, model: model, classes: data.classes, hasReference: refModel != nil, threads: session.threads)
            } else {
                printText(t, model: model, classes: data.classes, reference: refModel, threads: session.threads)
            }
        }
    }

    /// Data set class -> model class: by name, else by sorted order; empty when neither fits
    /// and --reference asks for the agreement only.
    func classIndex(_ classes: [String], labels: [String]) throws -> [String: Int] {
        var classIndex: [String: Int] = [:]
        if classes.allSatisfy({ labels.contains($0) }) {
            for c in classes { classIndex[c] = labels.firstIndex(of: c) }
        } else if classes.count == labels.count {
            for (i, c) in classes.enumerated() { classIndex[c] = i }
        } else if reference == nil {
            throw EdgeInferError(.argument, "\(dataset): \(classes.count) class folders do not match the model's \(labels.count) labels by name or count")
        }
        // else agreement only: the images are real, their classes are not the model's
        return classIndex
    }

    /// --reference, which must take the same input with the same preprocessing and classes.
    func referenceModel(like model: Model) throws -> Model? {
        guard let reference else { return nil }
        let refModel = try Model(path: reference)
        let a = refModel.info, b = model.info
        guard a.numClasses == b.numClasses, a.inputChannels == b.inputChannels, a.inputHeight == b.inputHeight,
              a.inputWidth == b.inputWidth, a.mean == b.mean, a.std == b.std, a.resize == b.resize else {
            throw EdgeInferError(.argument, "\(reference): its input, preprocessing or classes differ from \(model.name)'s")
        }
        return refModel
    }

    /// Counts over the evaluated images.
    struct Tally {
        var count = 0, top1 = 0, top5 = 0, refTop1 = 0, agree = 0
        var perClass: [String: (right: Int, total: Int)] = [:]
        var seconds = 0.0
        var imagesPerSecond: Double { Double(count) / max(seconds, 1e-9) }
        func fraction(_ n: Int) -> Double { Double(n) / Double(count) }
    }

    func evaluate(_ samples: [Dataset.Sample], model: Model, session: Session, reference refSession: Session?,
                  classIndex: [String: Int]) throws -> Tally {
        var t = Tally()
        t.count = samples.count
        var output = [Float](repeating: 0, count: model.labels.count), refOutput = output
        var bar = ProgressBar("eval", total: samples.count)
        let start = DispatchTime.now().uptimeNanoseconds
        for (n, s) in samples.enumerated() {
            let img = try Image.decode(try s.bytes(), name: s.name, atLeast: model.inputSize)
            let input = try img.modelInput(for: model)
            try session.run(input, into: &output)
            let best = topK(output, 5), truth = classIndex[s.className] ?? -1
            if let refSession {
                try refSession.run(input, into: &refOutput)
                let r = topK(refOutput, 1).first
                if r == truth { t.refTop1 += 1 }
                if r == best.first { t.agree += 1 }
            }
            if best.first == truth { t.top1 += 1 }
            if best.contains(truth) { t.top5 += 1 }
            t.perClass[s.className, default: (0, 0)].total += 1
            if best.first == truth { t.perClass[s.className, default: (0, 0)].right += 1 }
            bar.update(n + 1, extra: cformat("top-1 %.2f%%", 100 * Double(t.top1) / Double(n + 1)))
        }
        t.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return t
    }

    /// Classes that are not the model's: the agreement with --reference only.
    func printAgreement(_ t: Tally, model: Model, reference refModel: Model?, threads: Int) {
        let a = t.fraction(t.agree)
        if json {
            print("{\"model\": \(jsonString(model.name)), \"dataset\": \(jsonString(dataset)), \"count\": \(t.count), \"labelled\": false, "
                  + cformat("\"agreement\": %.6f, \"images_per_second\": %.1f, \"threads\": %d}", a, t.imagesPerSecond, threads))
        } else {
            print("model:     \(model.name)\ndataset:   \(dataset): \(t.count) images; its classes are not the model's: no accuracy")
            print("agreement: top-1 of \(model.name) equals that of \(refModel?.name ?? "")" + cformat(" on %.2f%% (%d/%d)", 100 * a, t.agree, t.count))
        }
    }

    func printJSON(_ t: Tally, model: Model, classes: [String], hasReference: Bool, threads: Int) {
        let pc = classes.compactMap { c in
            t.perClass[c].map { "\(jsonString(c)): \(cformat("%.6f", Double($0.right) / Double($0.total)))" }
        }
        print("{\"model\": \(jsonString(model.name)), \"dataset\": \(jsonString(dataset)), \"count\": \(t.count), "
              + "\"top1\": \(cformat("%.6f", t.fraction(t.top1))), \"top5\": \(cformat("%.6f", t.fraction(t.top5))), "
              + "\"per_class\": {\(pc.joined(separator: ", "))}, \"images_per_second\": \(cformat("%.1f", t.imagesPerSecond)), \"threads\": \(threads)"
              + (hasReference ? cformat(", \"reference_top1\": %.6f, \"agreement\": %.6f", t.fraction(t.refTop1), t.fraction(t.agree)) : "")
              + "}")
    }

    func printText(_ t: Tally, model: Model, classes: [String], reference refModel: Model?, threads: Int) {
        print("model:   \(model.name)")
        print("dataset: \(dataset): \(t.count) images, \(classes.count) classes")
        print(cformat("top-1:   %.2f%% (%d/%d)", 100 * t.fraction(t.top1), t.top1, t.count))
        print(cformat("top-5:   %.2f%%", 100 * t.fraction(t.top5)))
        if let refModel {
            print("reference \(refModel.name): " + cformat("top-1 %.2f%%; top-1 agreement %.2f%% (%d/%d)",
                         100 * t.fraction(t.refTop1), 100 * t.fraction(t.agree), t.agree, t.count))
        }
        print(cformat("speed:   %.1f images/s (%d threads, decoding and preprocessing included)", t.imagesPerSecond, threads))
        print("per class:")
        let width = (classes.map(\.count).max() ?? 0) + 2
        for c in classes {
            if let p = t.perClass[c] {
                print("  " + c.padded(to: width)
                      + cformat("%6.2f%%  (%d)", 100 * Double(p.right) / Double(p.total), p.total))
            }
        }
    }
}
