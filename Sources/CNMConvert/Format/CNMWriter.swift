import CRuntime
import Foundation

/// Builds a `.cnm` file (docs/FORMAT.md, version 1): the mirror image of the C loader.
public struct CNMBuilder {
    /// Tensor data types, numbered as cnm.h's `cnm_dtype`. f16, i16 and u8 are storage types:
    /// the loader widens them to f32 / i32 / i32.
    public enum DType: Sendable {
        case f32, i32, i8, u8, f16, i16

        public var code: UInt32 {
            switch self {
            case .f32: CNM_DT_F32.rawValue
            case .i32: CNM_DT_I32.rawValue
            case .i8: CNM_DT_I8.rawValue
            case .u8: CNM_DT_U8.rawValue
            case .f16: CNM_DT_F16.rawValue
            case .i16: CNM_DT_I16.rawValue
            }
        }
    }

    /// Operator types, numbered as cnm.h's `cnm_op_type`.
    public enum OpType: Sendable {
        case conv2d, channel, avgpool, linear, maxpool, add, lrn, sigmoid, clip, mul

        public var code: UInt32 {
            switch self {
            case .conv2d: CNM_OP_CONV2D.rawValue
            case .channel: CNM_OP_CHANNEL.rawValue
            case .avgpool: CNM_OP_AVGPOOL.rawValue
            case .linear: CNM_OP_LINEAR.rawValue
            case .maxpool: CNM_OP_MAXPOOL.rawValue
            case .add: CNM_OP_ADD.rawValue
            case .lrn: CNM_OP_LRN.rawValue
            case .sigmoid: CNM_OP_SIGMOID.rawValue
            case .clip: CNM_OP_CLIP.rawValue
            case .mul: CNM_OP_MUL.rawValue
            }
        }
    }

    public enum PoolKind: Sendable { case max, average }

    struct TensorRec { var name: String; var dtype: DType; var dims: [Int]; var bytes: [UInt8] }
    struct OpRec {
        var type: OpType
        var relu: Bool
        var input: Int, input1: Int, output: Int
        /// tensor slots t0...t3, -1 where unused (their roles per operator: docs/FORMAT.md)
        var t: [Int]
        /// the member of `type` is the one in use
        var params: cnm_op_params
    }

    var tensors: [TensorRec] = []
    var buffers: [(c: Int, h: Int, w: Int)] = []
    var values: [(buffer: Int, cOff: Int, c: Int)] = []
    var ops: [OpRec] = []
    public var meta: [(String, String)] = []
    public var labels: [String] = []
    public var inputValue = 0
    public var outputValue = 0
    public var inputShape = (c: 3, h: 32, w: 32)
    public var mean: [Float] = []
    public var std: [Float] = []
    public var resize = 0

    public init() {}

    public var tensorCount: Int { tensors.count }
    public var opCount: Int { ops.count }

    public mutating func addTensor(_ name: String, _ values: [Float], dims: [Int]) -> Int {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) for \(values.count) values")
        var bytes = [UInt8](repeating: 0, count: 4 * values.count)
        bytes.withUnsafeMutableBytes { raw in
            for (k, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self) }
        }
        tensors.append(TensorRec(name: name, dtype: .f32, dims: dims, bytes: bytes))
        return tensors.count - 1
    }

    /// Channel indices: stored as u8 when every index is below 256, as i16 when every index fits
    /// (any model under 32,768 channels), else as i32.
    public mutating func addIndex(_ name: String, _ values: [Int]) -> Int {
        if values.allSatisfy({ 0...255 ~= $0 }) {
            tensors.append(TensorRec(name: name, dtype: .u8, dims: [values.count], bytes: values.map { UInt8($0) }))
        } else if values.allSatisfy({ Int(Int16.min)...Int(Int16.max) ~= $0 }) {
            var bytes = [UInt8](repeating: 0, count: 2 * values.count)
            bytes.withUnsafeMutableBytes { raw in
                for (k, v) in values.enumerated() { raw.storeBytes(of: Int16(v).littleEndian, toByteOffset: 2 * k, as: Int16.self) }
            }
            tensors.append(TensorRec(name: name, dtype: .i16, dims: [values.count], bytes: bytes))
        } else {
            var bytes = [UInt8](repeating: 0, count: 4 * values.count)
            bytes.withUnsafeMutableBytes { raw in
                for (k, v) in values.enumerated() { raw.storeBytes(of: Int32(v).littleEndian, toByteOffset: 4 * k, as: Int32.self) }
            }
            tensors.append(TensorRec(name: name, dtype: .i32, dims: [values.count], bytes: bytes))
        }
        return tensors.count - 1
    }

    /// The largest magnitude binary16 holds.
    public static let halfMax: Float = 65504

    /// `values` as IEEE binary16, rounded to nearest even, little-endian.
    static func halfBytes(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 2 * values.count)
        bytes.withUnsafeMutableBytes { raw in
            for (k, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * k, as: UInt16.self) }
        }
        return bytes
    }

    /// Store the f32 tensors that `include` selects as binary16 (int8 models: BatchNorm, biases,
    /// the classifier), each only where no value overflows binary16. Returns the bytes saved.
    @discardableResult
    public mutating func halveFloatTensors(where include: (String) -> Bool) -> Int {
        var saved = 0
        for k in tensors.indices where tensors[k].dtype == .f32 && include(tensors[k].name) {
            let v = floats(ofTensor: k)
            guard v.allSatisfy({ abs($0) <= Self.halfMax }) else { continue }
            saved += tensors[k].bytes.count / 2
            tensors[k].bytes = Self.halfBytes(v)
            tensors[k].dtype = .f16
        }
        return saved
    }

    /// A tensor stored as binary16; `values` must already be exactly representable (see `Float16`).
    public mutating func addTensorF16(_ name: String, _ values: [Float], dims: [Int]) -> Int {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) for \(values.count) values")
        tensors.append(TensorRec(name: name, dtype: .f16, dims: dims, bytes: Self.halfBytes(values)))
        return tensors.count - 1
    }

    public mutating func addTensorI8(_ name: String, _ values: [Int8], dims: [Int]) -> Int {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) for \(values.count) values")
        tensors.append(TensorRec(name: name, dtype: .i8, dims: dims, bytes: values.map { UInt8(bitPattern: $0) }))
        return tensors.count - 1
    }

    /// Floats of an f32 tensor (for the quantiser).
    public func floats(ofTensor t: Int) -> [Float] {
        tensors[t].bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    public func tensorDims(_ t: Int) -> [Int] { tensors[t].dims }
    public func tensorName(_ t: Int) -> String { tensors[t].name }

    /// Conv ops: (op index, input value, output value, weight tensor).
    public var convOps: [(op: Int, input: Int, output: Int, weight: Int)] {
        ops.enumerated().filter { $0.element.type == .conv2d }.map { ($0.offset, $0.element.input, $0.element.output, $0.element.t[0]) }
    }

    /// Conv op `op` is depthwise: one input channel and one output per group (groups > 1).
    public func isDepthwise(op: Int) -> Bool {
        let g = Int(ops[op].params.conv2d.groups), dims = tensorDims(ops[op].t[0])
        return g > 1 && dims.count == 4 && dims[0] == g && dims[1] == 1
    }

    /// Make conv op `op` an int8 conv: weight tensor t0 replaced, scales in t2, the input's
    /// scale and zero point in its parameters.
    public mutating func setQuantized(op: Int, weight: Int, weightScales: Int, inputScale: Float, zeroPoint: Int, weightBits: Int = 8) {
        ops[op].t[0] = weight
        ops[op].t[2] = weightScales
        ops[op].t[3] = -1
        ops[op].params.conv2d.input_scale = inputScale
        ops[op].params.conv2d.zero_point = Int32(zeroPoint)
        ops[op].params.conv2d.weight_bits = Int32(weightBits)
    }

    /// A new activation buffer; returns the value covering all of it.
    public mutating func addBuffer(c: Int, h: Int, w: Int) -> Int {
        buffers.append((c, h, w))
        values.append((buffers.count - 1, 0, c))
        return values.count - 1
    }

    /// A channel range of the buffer behind `value`.
    public mutating func slice(of value: Int, cOff: Int, c: Int) -> Int {
        let buf = values[value].buffer
        precondition(cOff >= 0 && c >= 1 && cOff + c <= buffers[buf].c, "slice outside buffer")
        values.append((buf, cOff, c))
        return values.count - 1
    }

    /// Channels [off, off + c) of `value` (itself a range of a buffer).
    public mutating func subrange(of value: Int, off: Int, c: Int) -> Int {
        precondition(off >= 0 && off + c <= values[value].c, "subrange outside the value")
        return slice(of: value, cOff: values[value].cOff + off, c: c)
    }

    public func isWholeBuffer(_ value: Int) -> Bool {
        values[value].cOff == 0 && values[value].c == buffers[values[value].buffer].c
    }

    public func shape(of value: Int) -> (c: Int, h: Int, w: Int) {
        let b = buffers[values[value].buffer]
        return (values[value].c, b.h, b.w)
    }

    // MARK: - operators (tensor and parameter slots: docs/FORMAT.md, CRuntime/src/ops/)

    mutating func append(_ type: OpType, input: Int, input1: Int = -1, output: Int, relu: Bool,
                         tensors: [Int?] = [], params: cnm_op_params = cnm_op_params()) {
        let t = (tensors.map { $0 ?? -1 } + [-1, -1, -1, -1]).prefix(4)
        ops.append(OpRec(type: type, relu: relu, input: input, input1: input1, output: output, t: Array(t), params: params))
    }

    /// A convolution: weight [cout][cin/groups][kh][kw], optional bias [cout].
    public mutating func addConv2d(input: Int, output: Int, weight: Int, bias: Int? = nil, relu: Bool = false, params: Conv2DParams) {
        var p = cnm_op_params()
        p.conv2d = params.c
        append(.conv2d, input: input, output: output, relu: relu, tensors: [weight, bias], params: p)
    }

    /// Gather (`index`) or shuffle, then scale and shift (a folded BatchNorm); with none of them a copy.
    public mutating func addChannel(input: Int, output: Int, scale: Int? = nil, shift: Int? = nil, index: Int? = nil,
                                    relu: Bool = false, params: ChannelParams = ChannelParams()) {
        var p = cnm_op_params()
        p.channel = params.c
        append(.channel, input: input, output: output, relu: relu, tensors: [scale, shift, index], params: p)
    }

    /// A max or average pool (only a max pool has a ceil mode).
    public mutating func addPool(_ kind: PoolKind, input: Int, output: Int, relu: Bool = false, params: PoolParams) {
        precondition(kind == .max || !params.ceilMode, "an average pool has no ceil mode")
        var p = cnm_op_params()
        p.pool = params.c
        append(kind == .max ? .maxpool : .avgpool, input: input, output: output, relu: relu, params: p)
    }

    public mutating func addLRN(input: Int, output: Int, relu: Bool = false, params: LRNParams) {
        var p = cnm_op_params()
        p.lrn = params.c
        append(.lrn, input: input, output: output, relu: relu, params: p)
    }

    /// The fully-connected classifier: weight [out][k], optional bias [out], optional `index`
    /// of the k input features the weight's columns read.
    public mutating func addLinear(input: Int, output: Int, weight: Int, bias: Int? = nil, index: Int? = nil, relu: Bool = false) {
        append(.linear, input: input, output: output, relu: relu, tensors: [weight, bias, index])
    }

    /// The element-wise sum of `input` and `input1`.
    public mutating func addAdd(input: Int, input1: Int, output: Int, relu: Bool = false) {
        append(.add, input: input, input1: input1, output: output, relu: relu)
    }

    /// The logistic function of every element.
    public mutating func addSigmoid(input: Int, output: Int, relu: Bool = false) {
        append(.sigmoid, input: input, output: output, relu: relu)
    }

    /// Every element clamped to [min, max] (ReLU6: 0, 6).
    public mutating func addClip(input: Int, output: Int, relu: Bool = false, params: ClipParams) {
        var p = cnm_op_params()
        p.clip = params.c
        append(.clip, input: input, output: output, relu: relu, params: p)
    }

    /// The element-wise product of `input` and `input1`, which has input's shape or is C x 1 x 1 (a
    /// factor per channel: the squeeze-and-excitation gate).
    public mutating func addMul(input: Int, input1: Int, output: Int, relu: Bool = false) {
        append(.mul, input: input, input1: input1, output: output, relu: relu)
    }

    /// The parameter slots of op `o`, from the C encoder.
    func slots(_ o: OpRec) -> [Int32] {
        var slots = [Int32](repeating: 0, count: Int(CNM_OP_SLOTS))
        var params = o.params
        var err = cnm_error()
        let st = cnm_op_encode(o.type.code, &params, &slots, &err)
        precondition(st == CNM_OK, "cnm_op_encode failed for operator type \(o.type)")
        return slots
    }

    public func serialize() -> [UInt8] {
        // tensors no op refers to any more (replaced by their int8 versions) are dropped
        if let pruned = withoutUnusedTensors() { return pruned.serialize() }
        var strings = StringTable()
        let metaRefs = meta.map { (strings.add($0.0), strings.add($0.1)) }
        let labelRefs = labels.map { strings.add($0) }
        let nameRefs = tensors.map { strings.add($0.name) }
        let layout = Layout(self, stringBytes: strings.bytes.count)
        var out = FileImage(count: layout.fileSize)
        writeHeader(&out, layout)
        out.bytes.replaceSubrange(layout.sections[0].offset..<(layout.sections[0].offset + strings.bytes.count), with: strings.bytes)
        for (k, r) in metaRefs.enumerated() {
            let at = layout.sections[1].offset + 16 * k
            out.put32(r.0.0, at); out.put32(r.0.1, at + 4); out.put32(r.1.0, at + 8); out.put32(r.1.1, at + 12)
        }
        for (k, r) in labelRefs.enumerated() {
            let at = layout.sections[2].offset + 8 * k
            out.put32(r.0, at); out.put32(r.1, at + 4)
        }
        writeTensors(&out, layout, names: nameRefs)
        writeGraph(&out, layout)
        let crc = out.bytes.withUnsafeBytes { raw in cnm_crc32(0, raw.baseAddress! + 16, layout.fileSize - 16) }
        out.put32(crc, 12)
        return out.bytes
    }

    /// A copy without the tensors no op refers to, with the ops' tensor slots renumbered; nil when all are used.
    func withoutUnusedTensors() -> CNMBuilder? {
        var used = Set<Int>()
        for o in ops { for t in o.t where t >= 0 { used.insert(t) } }
        guard used.count < tensors.count else { return nil }
        var copy = self
        let keep = tensors.indices.filter { used.contains($0) }
        var remap = [Int: Int]()
        for (new, old) in keep.enumerated() { remap[old] = new }
        copy.tensors = keep.map { tensors[$0] }
        for k in copy.ops.indices { copy.ops[k].t = copy.ops[k].t.map { $0 >= 0 ? remap[$0]! : -1 } }
        return copy
    }

    /// The STRINGS section: (offset, length) of each string added.
    struct StringTable {
        var bytes: [UInt8] = []
        mutating func add(_ s: String) -> (UInt32, UInt32) {
            let off = bytes.count
            bytes += Array(s.utf8)
            return (UInt32(off), UInt32(s.utf8.count))
        }
    }

    /// Where everything goes: the seven sections after the 256-byte header, then the tensor data.
    struct Layout {
        var sections: [(offset: Int, count: Int, entry: Int)] = []
        var tensorOffsets: [Int]
        var fileSize: Int

        static func align(_ v: Int, _ a: Int) -> Int { (v + a - 1) / a * a }

        init(_ b: CNMBuilder, stringBytes: Int) {
            var cursor = 256
            for (count, entry) in [(stringBytes, 1), (b.meta.count, 16), (b.labels.count, 8), (b.tensors.count, 48),
                                   (b.buffers.count, 16), (b.values.count, 16), (b.ops.count, 64)] {
                cursor = Self.align(cursor, 8)
                sections.append((count == 0 ? 0 : cursor, count, entry))
                cursor += count * entry
            }
            // Tensors used in place (mmap) first, each 64-byte aligned; then the ones widened at load
            // (f16, i16, u8), packed at their size's alignment, so that no padding is spent on them.
            tensorOffsets = [Int](repeating: 0, count: b.tensors.count)
            let widened = { (t: TensorRec) in t.dtype == .f16 || t.dtype == .i16 || t.dtype == .u8 }
            for pass in [false, true] {
                for (k, t) in b.tensors.enumerated() where widened(t) == pass {
                    cursor = Self.align(cursor, pass ? (t.dtype == .u8 ? 1 : 2) : 64)
                    tensorOffsets[k] = cursor
                    cursor += t.bytes.count
                }
            }
            fileSize = cursor
        }
    }

    /// The file's bytes, written little-endian.
    struct FileImage {
        var bytes: [UInt8]
        init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }
        mutating func put32(_ v: UInt32, _ at: Int) { for k in 0..<4 { bytes[at + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }
        mutating func puti(_ v: Int, _ at: Int) { put32(UInt32(bitPattern: Int32(v)), at) }
        mutating func put64(_ v: UInt64, _ at: Int) { for k in 0..<8 { bytes[at + k] = UInt8((v >> (8 * UInt64(k))) & 0xFF) } }
        mutating func putf(_ v: Float, _ at: Int) { put32(v.bitPattern, at) }
    }

    /// Magic, version, size, the section table and the input description (the CRC comes last).
    func writeHeader(_ out: inout FileImage, _ layout: Layout) {
        out.bytes.replaceSubrange(0..<8, with: [0x89, 0x43, 0x4E, 0x4D, 0x0D, 0x0A, 0x1A, 0x0A])
        out.put32(1, 8)
        out.put64(UInt64(layout.fileSize), 16)
        out.put32(256, 24)
        for (s, sec) in layout.sections.enumerated() {
            out.put64(UInt64(sec.offset), 32 + 16 * s)
            out.put32(UInt32(sec.count), 40 + 16 * s)
            out.put32(UInt32(sec.entry), 44 + 16 * s)
        }
        out.put32(UInt32(inputValue), 144)
        out.put32(UInt32(outputValue), 148)
        out.put32(UInt32(inputShape.c), 152)
        out.put32(UInt32(inputShape.h), 156)
        out.put32(UInt32(inputShape.w), 160)
        out.put32(UInt32(labels.count), 164)
        for k in 0..<min(4, mean.count) { out.putf(mean[k], 168 + 4 * k) }
        for k in 0..<min(4, std.count) { out.putf(std[k], 184 + 4 * k) }
        out.put32(UInt32(resize), 200)
    }

    /// The TENSORS records and the tensor data.
    func writeTensors(_ out: inout FileImage, _ layout: Layout, names: [(UInt32, UInt32)]) {
        for (k, t) in tensors.enumerated() {
            let at = layout.sections[3].offset + 48 * k, data = layout.tensorOffsets[k]
            out.put32(names[k].0, at); out.put32(names[k].1, at + 4)
            out.put32(t.dtype.code, at + 8); out.put32(UInt32(t.dims.count), at + 12)
            for (d, v) in t.dims.enumerated() { out.put32(UInt32(v), at + 16 + 4 * d) }
            out.put64(UInt64(data), at + 32)
            out.put64(UInt64(t.bytes.count), at + 40)
            out.bytes.replaceSubrange(data..<(data + t.bytes.count), with: t.bytes)
        }
    }

    /// The BUFFERS, VALUES and OPS records.
    func writeGraph(_ out: inout FileImage, _ layout: Layout) {
        for (k, b) in buffers.enumerated() {
            let at = layout.sections[4].offset + 16 * k
            out.put32(UInt32(b.c), at); out.put32(UInt32(b.h), at + 4); out.put32(UInt32(b.w), at + 8); out.put32(1, at + 12)
        }
        for (k, v) in values.enumerated() {
            let at = layout.sections[5].offset + 16 * k
            out.put32(UInt32(v.buffer), at); out.put32(UInt32(v.cOff), at + 4); out.put32(UInt32(v.c), at + 8)
        }
        for (k, o) in ops.enumerated() {
            let at = layout.sections[6].offset + 64 * k
            out.put32(o.type.code, at); out.put32(o.relu ? CNM_OP_FLAG_RELU : 0, at + 4)
            out.puti(o.input, at + 8); out.puti(o.input1, at + 12); out.puti(o.output, at + 16)
            for j in 0..<4 { out.puti(o.t[j], at + 20 + 4 * j) }
            for (j, v) in slots(o).enumerated() { out.put32(UInt32(bitPattern: v), at + 36 + 4 * j) }
        }
    }
}
