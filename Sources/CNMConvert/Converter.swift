import EdgeInfer
import Foundation

/// Checkpoint in, validated `.cnm` bytes out.
public enum Converter {
    public static func convert(checkpoint path: String, options: ConvertOptions) throws -> (bytes: [UInt8], report: ConversionReport) {
        let (bytes, report, _) = try convert(checkpoint: path, options: options, int8: nil)
        return (bytes, report)
    }

    /// `.onnx` files, or anything that is not a zip archive (torch.save's format) but starts like a
    /// protobuf ModelProto (field 1, ir_version, a varint: byte 0x08).
    public static func isONNX(_ path: String) -> Bool {
        if path.lowercased().hasSuffix(".onnx") { return true }
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = h.readData(ofLength: 2)
        return head.first == 0x08
    }

    /// A `.cnm` model: its first 8 bytes are the format's magic.
    public static func isCNM(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return [UInt8](h.readData(ofLength: 8)) == [0x89, 0x43, 0x4E, 0x4D, 0x0D, 0x0A, 0x1A, 0x0A]
    }

    /// An fp32 `.cnm` read back (to be quantised): its graph, input description, labels and META as they are.
    static func fromCNM(_ path: String) throws -> (CNMBuilder, ConversionReport) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConvertError("\(path): cannot read the file") }
        var report = ConversionReport()
        report.arch = "cnm"
        report.checkpointKind = "fp32 .cnm"
        let b = try CNMBuilder(cnm: [UInt8](data), name: path)
        report.parametersBefore = (0..<b.tensorCount).reduce(0) { $0 + b.tensorDims($1).reduce(1, *) }
        return (b, report)
    }

    /// With `int8`, the converted model is calibrated and quantised (see `Quantizer`).
    public static func convert(checkpoint path: String, options: ConvertOptions, int8: QuantizeOptions?) throws
        -> (bytes: [UInt8], report: ConversionReport, quantization: QuantizeReport?)
    {
        var opt = options
        if opt.sourceName.isEmpty { opt.sourceName = URL(fileURLWithPath: path).lastPathComponent }
        var (builder, report0) = isCNM(path)
            ? try fromCNM(path)
            : isONNX(path)
            ? try ONNXImporter.convert(path: path, options: opt)
            : try DenseFamilyConverter.convert(try TorchCheckpoint(path: path), options: opt)
        var qreport: QuantizeReport?
        if let int8 {
            (builder, qreport) = try Quantizer.quantize(builder, options: int8)
        }
        let bytes = builder.serialize()
        // Validate what we wrote with the runtime's own loader, and read back its figures.
        let model: Model
        do {
            model = try Model(bytes: bytes, name: "converted model")
        } catch {
            throw ConvertError("\(path): the converted graph does not validate (converter bug): \(error)")
        }
        var report = report0
        let info = model.info
        report.parametersAfter = info.parameters
        report.macs = info.macs
        report.fileBytes = bytes.count
        return (bytes, report, qreport)
    }
}
