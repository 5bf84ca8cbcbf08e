import CRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A loaded, validated `.cnm` model. Immutable and safe to share between threads;
/// run it through a `Session`.
public final class Model: @unchecked Sendable {
    let handle: OpaquePointer
    public let name: String

    /// The load flags: `unfused` runs every operator as its own kernel (bit-identical results,
    /// slower); `winograd: false` runs 3x3 stride-1 convs on the direct kernel (no transformed
    /// weights: less memory, slower; results within fp32 rounding); `fp16` runs the fp32 convs in
    /// binary16 on aarch64 CPUs with FP16 arithmetic (results within about 1e-2 relative; no
    /// effect elsewhere: `CNM_LOAD_FP16`).
    static func flags(unfused: Bool, winograd: Bool, fp16: Bool = false) -> Int32 {
        (unfused ? CNM_LOAD_NO_FUSION : 0) | (winograd ? 0 : CNM_LOAD_NO_WINOGRAD) | (fp16 ? CNM_LOAD_FP16 : 0)
    }

    /// Map and validate a model file. `unfused`: every operator runs as its own kernel (the
    /// results are bit-identical to the fused run; slower; for checking and debugging).
    public init(path: String, unfused: Bool = false, winograd: Bool = true, fp16: Bool = false) throws {
        handle = try makeHandle { cnm_model_load_file(path, Self.flags(unfused: unfused, winograd: winograd, fp16: fp16), $0, $1) }
        name = path
    }

    /// Validate a model held in memory (copied). `unfused`: every operator runs as its own
    /// kernel and every value stays readable through `Session.value(_:)` (calibration).
    public init(bytes: [UInt8], name: String, unfused: Bool = false, winograd: Bool = true, fp16: Bool = false) throws {
        handle = try makeHandle { ptr, err in
            bytes.withUnsafeBytes { raw in
                cnm_model_load_memory(raw.baseAddress, raw.count, name, Self.flags(unfused: unfused, winograd: winograd, fp16: fp16), ptr, err)
            }
        }
        self.name = name
    }

    /// Use static, 64-byte aligned bytes in place (the model compiled into the binary).
    public init(staticBytes: UnsafeRawPointer, count: Int, name: String, unfused: Bool = false, winograd: Bool = true, fp16: Bool = false) throws {
        handle = try makeHandle {
            cnm_model_load_memory(staticBytes, count, name, CNM_LOAD_BORROW | Self.flags(unfused: unfused, winograd: winograd, fp16: fp16), $0, $1)
        }
        self.name = name
    }

    deinit { cnm_model_free(handle) }

    /// The smallest image size that still resizes to this model's input without loss (what a JPEG
    /// may be decoded down to).
    public var inputSize: (width: Int, height: Int) { (info.inputWidth, info.inputHeight) }

    public var info: ModelInfo {
        var i = cnm_model_info()
        cnm_model_get_info(handle, &i)
        return ModelInfo(i)
    }

    public var labels: [String] {
        (0..<info.numClasses).map { String(cString: cnm_model_label(handle, UInt32($0))) }
    }

    /// Free-form provenance written by the converter (architecture, hyper-parameters).
    public var metadata: [(key: String, value: String)] {
        var out: [(String, String)] = []
        var i: UInt32 = 0
        var k: UnsafePointer<CChar>?
        var v: UnsafePointer<CChar>?
        while cnm_model_meta(handle, i, &k, &v) != 0 {
            if let k, let v { out.append((String(cString: k), String(cString: v))) }
            i += 1
        }
        return out
    }

    public func metadata(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }

    public var operators: [OperatorInfo] {
        var out: [OperatorInfo] = []
        var i: UInt32 = 0
        var oi = cnm_op_info()
        while cnm_model_op(handle, i, &oi) != 0 {
            out.append(OperatorInfo(oi))
            i += 1
        }
        return out
    }
}

public struct ModelInfo: Sendable, Equatable {
    public let version: Int
    public let fileSize: Int
    public let inputChannels: Int, inputHeight: Int, inputWidth: Int
    public let numClasses: Int
    public let mean: [Float], std: [Float]
    /// 0: direct bilinear resize; 1: shorter side to the input size, then centre crop.
    public let resize: Int
    public let tensors: Int, buffers: Int, values: Int, operators: Int
    public let parameters: Int
    public let weightBytes: Int
    public let macs: Int
    /// Element operations of one inference, every operator (MACs, pool and LRN window reads, one
    /// per element of add, channel and sigmoid).
    public let work: Int
    public let arenaBytes: Int
    public let arenaLowerBound: Int
    /// Kernel scratch of a one-thread context; each further thread adds `scratchBytesPerThread`.
    public let scratchBytes: Int
    public let scratchBytesPerThread: Int
    /// Weights in the kernels' layouts, made at load: Winograd's transformed 3x3 weights, the int8
    /// convs' packed layouts.
    public let planBytes: Int

    init(_ i: cnm_model_info) {
        version = Int(i.version)
        fileSize = Int(i.file_size)
        inputChannels = Int(i.input_c)
        inputHeight = Int(i.input_h)
        inputWidth = Int(i.input_w)
        numClasses = Int(i.num_classes)
        let c = Int(i.input_c)
        mean = Array([i.mean.0, i.mean.1, i.mean.2, i.mean.3].prefix(c))
        std = Array([i.std.0, i.std.1, i.std.2, i.std.3].prefix(c))
        resize = Int(i.resize)
        tensors = Int(i.num_tensors)
        buffers = Int(i.num_buffers)
        values = Int(i.num_values)
        operators = Int(i.num_ops)
        parameters = Int(i.num_params)
        weightBytes = Int(i.weight_bytes)
        macs = Int(i.macs)
        work = Int(i.work)
        arenaBytes = Int(i.arena_bytes)
        arenaLowerBound = Int(i.arena_lower_bound)
        scratchBytes = Int(i.scratch_bytes)
        scratchBytesPerThread = Int(i.scratch_bytes_per_thread)
        planBytes = Int(i.plan_bytes)
    }

    public var inputCount: Int { inputChannels * inputHeight * inputWidth }
}

public struct OperatorInfo: Sendable, Equatable {
    public let type: String
    public let relu: Bool
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let padding: (h: Int, w: Int)
    public let groups: Int
    public let shuffle: Int
    /// max pool: output size rounded up (PyTorch's ceil_mode)
    public let ceilMode: Bool
    public let hasIndex: Bool
    /// clip: its bounds (min, max)
    public let clip: (min: Float, max: Float)?
    public let macs: Int
    /// Element operations of one inference: MACs for conv and linear, the window reads of pools
    /// and LRN, one per element for add and channel.
    public let work: Int
    public let weightName: String
    /// The operator whose kernel also runs this one, if fused.
    public let fusedInto: Int?
    /// For an int8 conv: the input's (scale, zero point).
    public let inputQuantization: (scale: Float, zeroPoint: Int)?
    /// For an int8 conv: its weights' bits, 8 (-127...127) or 7 (-63...63); else 0.
    public let weightBits: Int
    public let inputValue: Int
    public let outputValue: Int

    init(_ o: cnm_op_info) {
        type = String(cString: cnm_op_name(o.type))
        relu = o.relu != 0
        inputShape = [Int(o.in_c), Int(o.in_h), Int(o.in_w)]
        outputShape = [Int(o.out_c), Int(o.out_h), Int(o.out_w)]
        kernel = (Int(o.kernel_h), Int(o.kernel_w))  // a conv's from its weight, a pool's window
        // the decoded parameters of the operator's type (zero for the others)
        let conv = o.type == CNM_OP_CONV2D.rawValue ? o.params.conv2d : cnm_conv2d_params()
        let isPool = o.type == CNM_OP_AVGPOOL.rawValue || o.type == CNM_OP_MAXPOOL.rawValue
        let pool = isPool ? o.params.pool : cnm_pool_params()
        stride = isPool ? (Int(pool.stride_h), Int(pool.stride_w)) : (Int(conv.stride_h), Int(conv.stride_w))
        padding = isPool ? (Int(pool.pad_h), Int(pool.pad_w)) : (Int(conv.pad_h), Int(conv.pad_w))
        groups = Int(conv.groups)
        shuffle = o.type == CNM_OP_CHANNEL.rawValue ? Int(o.params.channel.shuffle_groups) : 0
        ceilMode = pool.ceil_mode != 0
        hasIndex = o.has_index != 0
        clip = o.type == CNM_OP_CLIP.rawValue ? (o.params.clip.min, o.params.clip.max) : nil
        macs = Int(o.macs)
        work = Int(o.work)
        weightName = o.weight_name.map { String(cString: $0) } ?? ""
        fusedInto = o.fused_into >= 0 ? Int(o.fused_into) : nil
        inputQuantization = o.quantized != 0 ? (conv.input_scale, Int(conv.zero_point)) : nil
        weightBits = o.quantized != 0 ? Int(conv.weight_bits) : 0
        inputValue = Int(o.in0)
        outputValue = Int(o.out)
    }

    public static func == (a: OperatorInfo, b: OperatorInfo) -> Bool {
        a.type == b.type && a.inputShape == b.inputShape && a.outputShape == b.outputShape
            && a.weightName == b.weightName && a.macs == b.macs
    }

    /// One line, e.g. `conv2d 3x3/1 g4 32x32x32 -> 8x32x32`.
    public var summary: String {
        func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "x") }
        var s = type
        switch type {
        case "conv2d":
            s += " \(kernel.h)x\(kernel.w)/\(stride.h)"
            if padding.h > 0 || padding.w > 0 { s += " pad \(padding.h)" }
            if groups > 1 { s += " g\(groups)" }
        case "channel":
            if hasIndex { s += " gather" }
            if shuffle > 1 { s += " shuffle(\(shuffle))" }
            s += " bn"
        case "avgpool", "maxpool":
            s += " \(kernel.h)x\(kernel.w)/\(stride.h)"
            if padding.h > 0 || padding.w > 0 { s += " pad \(padding.h)" }
        case "linear":
            if hasIndex { s += " gather" }
        case "clip":
            if let c = clip { s += cformat(" [%g, %g]", c.min, c.max) }
        default: break
        }
        if relu { s += "+relu" }
        if let q = inputQuantization {
            s += " int8" + (weightBits == 7 ? " w7" : "") + cformat(" (in scale %.4g, zp %d)", q.scale, q.zeroPoint)
        }
        return "\(s) \(shape(inputShape)) -> \(shape(outputShape))"
    }
}

/// Calls a C constructor (model or context) and turns a failure into an `EdgeInferError`.
func makeHandle(_ create: (UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<cnm_error>) -> cnm_status) throws -> OpaquePointer {
    var err = cnm_error()
    var ptr: OpaquePointer?
    let st = create(&ptr, &err)
    guard st == CNM_OK, let ptr else { throw EdgeInferError(status: st, err) }
    return ptr
}

/// What this build is and what this CPU runs: the C core's version and compiler, its kernel
/// tables (those this CPU can run marked), and the one a new session takes.
public enum BuildInfo {
    public static var version: String { String(cString: cnm_version()) }
    public static var compiler: String { String(cString: cnm_compiler()) }
    public static var kernelTables: [(name: String, runs: Bool)] {
        var out: [(String, Bool)] = []
        var runs: Int32 = 0
        while let n = cnm_kernel_table_name(Int32(out.count), &runs) { out.append((String(cString: n), runs != 0)) }
        return out
    }
    public static var selectedTable: String { String(cString: cnm_kernel_table_selected()) }
    /// The .cnm format version this build reads and writes.
    public static var formatVersion: Int { Int(CNM_FORMAT_VERSION) }

    /// The lines `--version` prints after the tool's name and version.
    public static var summary: String {
        """
        libcnm \(version), built by \(compiler)
        kernel tables built in: \(kernelTables.map { $0.name + ($0.runs ? "" : " (not on this CPU)") }.joined(separator: ", "))
        this CPU takes: \(selectedTable)\(ProcessInfo.processInfo.environment["CNM_ISA"].map { " (CNM_ISA=\($0))" } ?? "")
        """
    }
}
