import ArgumentParser
import CEmbeddedModel
import CRuntime
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

@main
struct EdgeInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-infer",
        abstract: "Run CondenseNet / DenseNet image classifiers (.cnm models) on the CPU.",
        discussion: "Without a subcommand, classifies an image: edge-infer IMAGE [--model M.cnm].",
        version: "edge-infer \(BuildInfo.version) (commit \(buildCommit))\n" + BuildInfo.summary,
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
        pinCores(CommandLine.arguments)
        Self.main(nil)
    }

    /// `--cpus LIST` pins the process before OpenMP starts (it sizes its teams from the
    /// affinity); without it, a big.LITTLE SoC runs on its big cores. The chosen list is left in
    /// EDGE_INFER_CPUS for `bench` to print.
    static func pinCores(_ args: [String]) {
        var list: String?
        for (i, a) in args.enumerated() {
            if a == "--cpus", i + 1 < args.count { list = args[i + 1] }
            if a.hasPrefix("--cpus=") { list = String(a.dropFirst(7)) }
        }
        var err = cnm_error()
        if let list {
            guard cnm_pin_cpus(list, &err) == CNM_OK else {
                writeStderr("edge-infer: error: \(EdgeInferError(status: CNM_ERR_ARGUMENT, err).message)\n")
                Glibc.exit(6)
            }
            setenv("EDGE_INFER_CPUS", list, 1)
            return
        }
        var buf = [CChar](repeating: 0, count: 4096)
        if cnm_big_cores(&buf, buf.count) > 0 {
            let big = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if cnm_pin_cpus(big, &err) == CNM_OK { setenv("EDGE_INFER_CPUS", big + " (the big cores)", 1) }
        }
    }
}

/// Shared: pick the model (a file, or the one compiled into this binary) and report errors.
struct ModelOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "A .cnm model (default: the model built into edge-infer).")
    var model: String?

    @Flag(help: "Run every operator as its own kernel (bit-identical results, slower; for checking fusion).")
    var noFusion = false

    @Flag(help: "Run 3x3 stride-1 convolutions on the direct kernel instead of Winograd (no transformed weights: less memory, slower; results within fp32 rounding).")
    var noWinograd = false

    @Flag(help: "Run the fp32 convolutions in binary16 on ARM CPUs with FP16 arithmetic (Cortex-A55/A75/A76, the Pi 5): about twice the multiplies per instruction, logits within about 1e-2 relative of fp32; no effect elsewhere.")
    var fp16 = false

    @Option(help: "Run on these CPUs, e.g. 0-3 or 4,5,6,7 (default: the big cores of a big.LITTLE SoC, else all).")
    var cpus: String?

    func load() throws -> Model { try Self.load(model, unfused: noFusion, winograd: !noWinograd, fp16: fp16) }

    /// A .cnm file, or the model compiled into this binary.
    static func load(_ path: String?, unfused: Bool = false, winograd: Bool = true, fp16: Bool = false) throws -> Model {
        if let path { return try Model(path: path, unfused: unfused, winograd: winograd, fp16: fp16) }
        return try Model(staticBytes: edge_default_model_data(), count: edge_default_model_size(),
                         name: "built-in default model", unfused: unfused, winograd: winograd, fp16: fp16)
    }
}

func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as EdgeInferError {
        writeStderr("edge-infer: error: \(e.message)\n")
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
            if u.value < 0x20 { out += cformat("\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run raw tensors: float32 NCHW .npy in, N x classes logits .npy out.")

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Input .npy, float32 (N,C,H,W) or (C,H,W), already normalised.")
    var input: String

    @Option(help: "Output .npy: float32 logits (N, classes).")
    var output: String

    @OptionGroup var threadsOption: ThreadsOption

    mutating func run() throws {
        try reportingErrors {
            let model = try modelOption.load()
            let threads = threadsOption.session
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

    @Flag(help: "Print one JSON object (with --operators, every operator too).")
    var json = false

    mutating func run() throws {
        try reportingErrors {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let m = try ModelOption.load(model)
            let loadMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            let i = m.info
            if json {
                printJSON(m, loadMs: loadMs)
                return
            }
            print("model:       \(m.name)")
            print("format:      .cnm version \(i.version), \(i.fileSize) bytes")
            print("input:       \(i.inputChannels)x\(i.inputHeight)x\(i.inputWidth), mean \(i.mean), std \(i.std), \(i.resize == 1 ? "resize shorter side + centre crop" : "direct resize")")
            print("classes:     \(i.numClasses) (\(m.labels.prefix(10).joined(separator: ", "))\(i.numClasses > 10 ? ", ..." : ""))")
            let meta = m.metadata
            let width = (meta.map(\.key.count).max() ?? 0) + 2
            if !meta.isEmpty { print("converted from:") }
            for (k, v) in meta { print("  " + (k + ":").padded(to: width) + v) }
            print("parameters:  \(i.parameters) (\(i.weightBytes) bytes of tensors in \(i.tensors) tensors; \(i.planBytes) bytes of weights in the kernels' layouts, made at load)")
            print(cformat("compute:     %.2f M multiply-accumulates per image, %.2f M element operations in all",
                         Double(i.macs) / 1e6, Double(i.work) / 1e6))
            print("activations: arena \(i.arenaBytes) bytes (lower bound \(i.arenaLowerBound)), \(i.buffers) buffers")
            print(cformat("load:        %.1f ms (map, checksum, validation, planning, weight packing)", loadMs))
            let ops = m.operators
            var counts: [String: Int] = [:]
            for o in ops { counts[o.type, default: 0] += 1 }
            print("operators:   \(ops.count) (" + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
            if operators {
                for (k, o) in ops.enumerated() { print(cformat("  %4d  ", k) + o.summary + (o.weightName.isEmpty ? "" : "  [\(o.weightName)]")) }
            }
        }
    }
}

extension Info {
    func printJSON(_ m: Model, loadMs: Double) {
        let i = m.info
        func arr(_ v: [Float]) -> String { "[" + v.map { "\($0)" }.joined(separator: ", ") + "]" }
        func ints(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
        var counts: [String: Int] = [:]
        let ops = m.operators
        for o in ops { counts[o.type, default: 0] += 1 }
        var f: [String] = [
            "\"model\": \(jsonString(m.name))", "\"format_version\": \(i.version)", "\"file_bytes\": \(i.fileSize)",
            "\"input\": {\"channels\": \(i.inputChannels), \"height\": \(i.inputHeight), \"width\": \(i.inputWidth), \"mean\": \(arr(i.mean)), \"std\": \(arr(i.std)), \"resize\": \(jsonString(i.resize == 1 ? "shorter-side-crop" : "direct"))}",
            "\"classes\": \(i.numClasses)", "\"labels\": [" + m.labels.map(jsonString).joined(separator: ", ") + "]",
            "\"metadata\": {" + m.metadata.map { "\(jsonString($0.key)): \(jsonString($0.value))" }.joined(separator: ", ") + "}",
            "\"parameters\": \(i.parameters)", "\"weight_bytes\": \(i.weightBytes)", "\"plan_bytes\": \(i.planBytes)", "\"tensors\": \(i.tensors)",
            "\"macs\": \(i.macs)", "\"work\": \(i.work)", "\"arena_bytes\": \(i.arenaBytes)", "\"arena_lower_bound\": \(i.arenaLowerBound)",
            "\"buffers\": \(i.buffers)", cformat("\"load_ms\": %.3f", loadMs),
            "\"operator_counts\": {" + counts.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ") + "}",
        ]
        if operators {
            f.append("\"operators\": [" + ops.enumerated().map { k, o in
                "{\"index\": \(k), \"type\": \(jsonString(o.type)), \"summary\": \(jsonString(o.summary)), \"input_shape\": \(ints(o.inputShape)), \"output_shape\": \(ints(o.outputShape)), \"macs\": \(o.macs), \"work\": \(o.work), \"relu\": \(o.relu), \"weight\": \(jsonString(o.weightName))}"
            }.joined(separator: ", ") + "]")
        }
        print("{" + f.joined(separator: ", ") + "}")
    }
}


