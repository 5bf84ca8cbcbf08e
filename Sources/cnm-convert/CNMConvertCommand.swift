import ArgumentParser
import CNMConvert
import EdgeInfer
import Foundation

@main
struct CNMConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnm-convert",
        abstract: "Convert a PyTorch CondenseNet / DenseNet checkpoint, or an ONNX CNN, into a .cnm model.",
        discussion: """
            Reads the zip checkpoints that torch.save writes (no Python needed): training-time \
            CondenseNet checkpoints (learned group convolutions are condensed here), converted \
            CondenseNet checkpoints, DenseNet-BC checkpoints of the official code and torchvision \
            DenseNet state_dicts. ONNX graphs (.onnx) built from Conv, BatchNormalization, Relu, \
            MaxPool, AveragePool, GlobalAveragePool, Add, Concat, LRN, Gemm, Flatten, Dropout \
            (LeNet, AlexNet, VGG, GoogLeNet, ResNet, DenseNet): BatchNorm is folded into the conv \
            before it where the graph allows. An fp32 .cnm is read back as it is, to be             quantised: cnm-convert model.cnm -o model-int8.cnm --int8 --calibration SOURCE.
            """,
        version: "cnm-convert \(BuildInfo.version) (commit \(buildCommit); writes .cnm format version \(BuildInfo.formatVersion))\n" + BuildInfo.summary)

    @Argument(help: "The checkpoint (.pth), ONNX model (.onnx), or an fp32 .cnm to quantise.")
    var checkpoint: String

    @Option(name: [.short, .customLong("output")], help: "The .cnm file to write.")
    var output: String?

    @Flag(help: "ONNX: list every node that cannot be converted (not only the first) and write nothing; exit status 0 when the model converts.")
    var check = false

    @Option(help: "What the checkpoint cannot say: input size, stem stride, mean/std, labels. Needed for .pth checkpoints; an ONNX graph gives its input size, and imagenet's mean/std are its default.")
    var preset: PresetChoice?

    @Flag(help: "Lossless conversion of a training-time checkpoint: keep every classifier input (the official conversion keeps 50%) and every channel the masks keep.")
    var keepClassifier = false

    @Option(help: "A text file with one class label per line (overrides the preset's labels).")
    var labels: String?

    @Option(help: "Normalisation mean per channel, comma-separated (overrides the preset).")
    var mean: String?

    @Option(help: "Normalisation std per channel, comma-separated (overrides the preset).")
    var std: String?

    @Option(help: "Input height and width in pixels (overrides the preset's; the network must accept it).")
    var inputSize: Int?

    @Option(name: .customLong("group-1x1"), help: "Groups of the learned 1x1 convolutions (inferred by default).")
    var group1x1: Int?

    @Option(help: "Condense factor C (inferred from the masks by default).")
    var condenseFactor: Int?

    @Flag(help: "Quantise to int8 (needs --calibration).")
    var int8 = false

    @Option(help: "Calibration inputs: a folder of images, a tar(.gz) of images, or a float32 NCHW .npy of normalised inputs.")
    var calibration: String?

    @Option(help: "How many calibration inputs to use.")
    var calibrationCount = 100

    @Option(help: "Activation ranges: the observed min/max, the 99.99th percentile, or the KL-optimal clip (entropy).")
    var calibrationMethod = CalibrationMethod.minmax

    @Option(help: "int8 weight bits: 8 (-127..127), or 7 (-63..63: exact vpmaddubsw kernels, faster on x86 CPUs without VNNI).")
    var weightBits = WeightBits.eight

    @Flag(name: .shortAndLong, help: "Print what was converted.")
    var verbose = false

    /// `--mean` / `--std` as numbers; nil when not given.
    static func floats(_ s: String?, _ what: String) throws -> [Float]? {
        guard let s else { return nil }
        let parts = s.split(separator: ",")
        let v = parts.compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.count == parts.count else {
            throw ValidationError("--\(what) '\(s)' is not a comma-separated list of numbers")
        }
        return v
    }

    func validate() throws {
        if check {
            guard Converter.isONNX(checkpoint) else { throw ValidationError("--check reads ONNX models (.onnx)") }
            if output != nil || int8 { throw ValidationError("--check writes nothing: drop --output and --int8") }
            return
        }
        if output == nil { throw ValidationError("Missing expected argument '--output <output>'") }
        if preset == nil && !checkpoint.lowercased().hasSuffix(".onnx") && !Converter.isCNM(checkpoint) {
            throw ValidationError("--preset cifar10|imagenet is needed for a .pth checkpoint (its input size, stem and mean/std are not in the file)")
        }
        if int8 && calibration == nil { throw ValidationError("--int8 needs --calibration SOURCE") }
        if !int8 && calibration != nil { throw ValidationError("--calibration is only used with --int8") }
        if calibrationCount < 1 { throw ValidationError("--calibration-count must be at least 1") }
        if !int8 && weightBits != .eight { throw ValidationError("--weight-bits is only used with --int8") }
        if let n = inputSize, !(8...4096).contains(n) { throw ValidationError("--input-size must be in 8...4096") }
        _ = try Self.floats(mean, "mean")
        _ = try Self.floats(std, "std")
    }

    mutating func run() throws {
        if check {
            let problems = ONNXImporter.check(path: checkpoint, options: try convertOptions())
            for p in problems { FileHandle.standardError.write(Data("cnm-convert: \(p)\n".utf8)) }
            guard problems.isEmpty else {
                FileHandle.standardError.write(Data("cnm-convert: \(checkpoint): \(problems.count) problem\(problems.count == 1 ? "" : "s")\n".utf8))
                throw ExitCode(2)
            }
            print("\(checkpoint): every node converts")
            return
        }
        guard let output else { throw ValidationError("Missing expected argument '--output <output>'") }
        do {
            let (bytes, r, qr) = try Converter.convert(checkpoint: checkpoint, options: try convertOptions(), int8: quantizeOptions)
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: output))
            } catch {
                let why = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
                throw EdgeInferError(.io, "\(output): cannot write the file (\(why))")
            }
            if verbose { printReport(r) }
            if let qr { printQuantization(qr) }
        } catch let e as ConvertError {
            FileHandle.standardError.write(Data("cnm-convert: error: \(e.description)\n".utf8))
            throw ExitCode(2)
        } catch let e as EdgeInferError {
            FileHandle.standardError.write(Data("cnm-convert: error: \(e.message)\n".utf8))
            throw ExitCode(e.exitCode)
        }
    }

    /// The preset with the command line's overrides; reads the --labels file.
    func convertOptions() throws -> ConvertOptions {
        let p = (preset ?? .imagenet).preset.with(mean: try Self.floats(mean, "mean"), std: try Self.floats(std, "std"), inputSize: inputSize)
        var opt = ConvertOptions(preset: p)
        opt.keepClassifier = keepClassifier
        opt.inputSizeOverride = inputSize
        opt.group1x1 = group1x1
        opt.condenseFactor = condenseFactor
        if let labels {
            guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else {
                throw ConvertError("\(labels): cannot read the labels file")
            }
            opt.labels = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        }
        return opt
    }

    /// With --int8: the calibration settings.
    var quantizeOptions: QuantizeOptions? {
        guard int8, let calibration else { return nil }
        var o = QuantizeOptions(source: calibration)
        o.count = calibrationCount
        o.method = calibrationMethod
        o.weightBits = weightBits.bits
        o.progress = true
        return o
    }

    func printReport(_ r: ConversionReport) {
        print("converted \(checkpoint) (\(r.checkpointKind) \(r.arch)) -> \(output ?? "")")
        if r.arch == "onnx" {
            print("  \(r.batchNormsFolded) BatchNorms folded into convolutions")
        } else {
            let stages = r.stages.map(String.init).joined(separator: "-"), growth = r.growth.map(String.init).joined(separator: "-")
            print("  stages \(stages), growth \(growth), bottleneck \(r.bottleneck), groups 1x1 \(r.group1x1) / 3x3 \(r.group3x3)"
                  + (r.arch == "condensenet" ? ", condense factor \(r.condenseFactor)" : "")
                  + (r.compression.map { String(format: ", compression %.3g", $0) } ?? ""))
            print("  dense layers \(r.denseLayers), classifier \(r.classifier)")
        }
        print("  parameters \(r.parametersBefore) in the checkpoint -> \(r.parametersAfter) in the model")
        print(String(format: "  %.1f M multiply-accumulates per image, file %d bytes (%.2f MiB)", Double(r.macs) / 1e6, r.fileBytes, Double(r.fileBytes) / 1048576))
        for n in r.notes { print("  note: \(n)") }
    }

    func printQuantization(_ qr: QuantizeReport) {
        print("int8: \(qr.method.rawValue) calibration on \(qr.images) inputs; int8 vs fp32 on the calibration inputs:")
        print(String(format: "  logits SQNR %.1f dB, top-1 agreement %.1f%%", qr.logitSQNR, 100 * qr.top1Agreement))
        print("  per-layer output SQNR, worst first:")
        let worst = qr.layers.sorted { $0.sqnr < $1.sqnr }
        for l in worst.prefix(verbose ? worst.count : 8) {
            print(String(format: "    %6.1f dB  ", l.sqnr) + l.name + String(format: "  (input scale %.4g, zero point %d)", l.scale, l.zeroPoint))
        }
        if !verbose && worst.count > 8 { print("    ... \(worst.count - 8) more (--verbose lists all)") }
    }
}
