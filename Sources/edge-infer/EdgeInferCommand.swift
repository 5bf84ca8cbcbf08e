import ArgumentParser
import CEmbeddedModel
import EdgeInfer
import Foundation

@main
struct EdgeInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-infer",
        abstract: "Run CondenseNet / DenseNet image classifiers (.cnm models) on the CPU.",
        discussion: "Without a subcommand, classifies an image: edge-infer IMAGE [--model M.cnm].",
        subcommands: [Classify.self, Run.self, Eval.self, Bench.self, Info.self],
        defaultSubcommand: Classify.self)

    /// OpenMP threads spin for 200 ms after a parallel region by default (libomp's
    /// KMP_BLOCKTIME): an edge device would burn a core between inferences. Unless the user
    /// chose a policy, let them spin 1 ms (covers the gaps inside one inference) and then sleep.
    /// This must happen before the OpenMP runtime starts.
    static func main() {
        let env = ProcessInfo.processInfo.environment
        if env["OMP_WAIT_POLICY"] == nil && env["KMP_BLOCKTIME"] == nil {
            setenv("KMP_BLOCKTIME", "1", 1)
            setenv("EDGE_INFER_SET_BLOCKTIME", "1", 1)
        }
        Self.main(nil)
    }
}

/// Shared: pick the model (a file, or the one compiled into this binary) and report errors.
struct ModelOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "A .cnm model (default: the model built into edge-infer).")
    var model: String?

    @Flag(help: "Run every operator as its own kernel (bit-identical results, slower; for checking fusion).")
    var noFusion = false

    func load() throws -> Model {
        if let model { return try Model(path: model, unfused: noFusion) }
        return try Model(staticBytes: edge_default_model_data(), count: edge_default_model_size(),
                         name: "built-in default model", unfused: noFusion)
    }
}

func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as EdgeInferError {
        FileHandle.standardError.write(Data("edge-infer: error: \(e.message)\n".utf8))
        throw ExitCode(e.exitCode)
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify an image (JPEG, PNG, binary PPM or PGM).")

    @Argument(help: "The image file.")
    var image: String

    @OptionGroup var modelOption: ModelOption

    @Option(help: "How many classes to print.")
    var top = 5

    @Option(help: "OpenMP threads (default: all cores).")
    var threads = 0

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    mutating func run() throws {
        try reportingErrors {
            let model = try modelOption.load()
            let img = try Image(contentsOf: image, atLeast: model.inputSize)
            let input = try img.modelInput(for: model)
            let session = try Session(model: model, threads: threads)
            let probs = softmax(try session.run(input))
            let labels = model.labels
            let best = topK(probs, min(top, probs.count))
            if json {
                let items = best.map { "{\"index\": \($0), \"label\": \(jsonString(labels[$0])), \"probability\": \(probs[$0])}" }
                print("{\"image\": \(jsonString(image)), \"model\": \(jsonString(model.name)), \"top\": [\(items.joined(separator: ", "))]}")
            } else {
                for i in best { print(String(format: "%6.2f%%  %@", 100 * probs[i], labels[i])) }
            }
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run raw tensors: float32 NCHW .npy in, N x classes logits .npy out.")

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Input .npy, float32 (N,C,H,W) or (C,H,W), already normalised.")
    var input: String

    @Option(help: "Output .npy: float32 logits (N, classes).")
    var output: String

    @Option(help: "OpenMP threads (default: all cores).")
    var threads = 0

    mutating func run() throws {
        try reportingErrors {
            let model = try modelOption.load()
            let info = model.info
            let x = try NpyArray(contentsOf: input)
            let want = [info.inputChannels, info.inputHeight, info.inputWidth]
            let n: Int
            if x.shape.count == 4 && Array(x.shape[1...]) == want { n = x.shape[0] }
            else if x.shape == want { n = 1 }
            else {
                throw EdgeInferError(.argument, "\(input): shape (\(x.shape.map(String.init).joined(separator: ", "))) does not match the model input (N, \(want.map(String.init).joined(separator: ", ")))")
            }
            let session = try Session(model: model, threads: threads)
            let logits = try session.runBatch(x.data, count: n)
            try NpyArray(shape: [n, info.numClasses], data: logits).write(to: output)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a .cnm model.")

    @Argument(help: "The model (default: the built-in one).")
    var model: String?

    @Flag(help: "List every operator.")
    var operators = false

    mutating func run() throws {
        try reportingErrors {
            let m = try ModelOption(model: model).load()
            let i = m.info
            print("model:       \(m.name)")
            print("format:      .cnm version \(i.version), \(i.fileSize) bytes")
            print("input:       \(i.inputChannels)x\(i.inputHeight)x\(i.inputWidth), mean \(i.mean), std \(i.std), \(i.resize == 1 ? "resize shorter side + centre crop" : "direct resize")")
            print("classes:     \(i.numClasses) (\(m.labels.prefix(10).joined(separator: ", "))\(i.numClasses > 10 ? ", ..." : ""))")
            let meta = m.metadata
            let width = (meta.map(\.key.count).max() ?? 0) + 2
            if !meta.isEmpty { print("converted from:") }
            for (k, v) in meta { print("  " + (k + ":").padding(toLength: width, withPad: " ", startingAt: 0) + v) }
            print("parameters:  \(i.parameters) (\(i.weightBytes) bytes of tensors in \(i.tensors) tensors)")
            print(String(format: "compute:     %.2f M multiply-accumulates per image, %.2f M element operations in all",
                         Double(i.macs) / 1e6, Double(i.work) / 1e6))
            print("activations: arena \(i.arenaBytes) bytes (lower bound \(i.arenaLowerBound)), \(i.buffers) buffers")
            let ops = m.operators
            var counts: [String: Int] = [:]
            for o in ops { counts[o.type, default: 0] += 1 }
            print("operators:   \(ops.count) (" + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
            if operators {
                for (k, o) in ops.enumerated() { print(String(format: "  %4d  ", k) + o.summary + (o.weightName.isEmpty ? "" : "  [\(o.weightName)]")) }
            }
        }
    }
}

extension ModelOption {
    init(model: String?) {
        self.init()
        self.model = model
    }
}
