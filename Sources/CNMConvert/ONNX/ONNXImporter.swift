import Foundation
import SwiftProtobuf

/// ONNX graphs -> `.cnm`: the classic CNNs (LeNet, AlexNet, VGG, GoogLeNet, ResNet) and DenseNet
/// as PyTorch exports them. Three passes:
///
/// 1. **lower** the nodes into a small IR, with every tensor's shape: BatchNormalization folded
///    into the convolution before it (Conv-BN order), kept as a channel op where it cannot be
///    (DenseNet's pre-activation BN-ReLU); ReLU folded into the op that produces its input;
///    Dropout, Identity and Flatten as aliases; Gemm as a convolution whose kernel covers the
///    whole input map (so fully-connected layers take the int8 path like every conv).
/// 2. **place** concatenations without copies: walking the Concats from the last, each input is
///    written by its producer straight into its channel range of the Concat's buffer (GoogLeNet's
///    branches), and a Concat whose inputs already lie side by side is only a view (DenseNet's
///    growing concatenations). An input that cannot be placed (the graph input, a tensor already
///    placed elsewhere) is copied.
/// 3. **emit** the ops into a `CNMBuilder`.
public struct ONNXImporter {
    public static let supportedOperators = [
        "Conv", "BatchNormalization", "Relu", "Clip", "Sigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean",
        "Add", "Mul", "Concat", "Split", "Slice", "LRN", "Gemm", "Flatten", "Reshape", "Squeeze", "Dropout", "Identity",
        "Pad (of zero width)", "Constant", "Transpose (as a channel shuffle)", "Softmax (at the output)", "Shape, Gather, Unsqueeze, Cast, Sub, Div (on constants)",
    ]

    typealias Shape = (c: Int, h: Int, w: Int)

    struct Const {
        var dims: [Int]
        var values: [Double]
        /// ONNX data type: 1 FLOAT, 10 FLOAT16, 11 DOUBLE are floats
        var type: Int32 = 1
        var isFloat: Bool { [1, 10, 11].contains(type) }
    }

    enum Kind {
        case conv(weight: [Float], dims: [Int], bias: [Float]?, stride: (Int, Int), pad: (Int, Int), groups: Int)
        case channel(scale: [Float]?, shift: [Float]?)
        case pool(max: Bool, kernel: (Int, Int), stride: (Int, Int), pad: (Int, Int), ceil: Bool)
        case add
        case lrn(size: Int, alpha: Float, beta: Float, bias: Float)
        case sigmoid
        case concat
        case clip(min: Float, max: Float)
        case shuffle(groups: Int)
        /// the second input has the first's shape or is C x 1 x 1 (the squeeze-and-excitation gate)
        case mul
        /// no op: the output is channels [off, off + c) of the input (Split, Slice)
        case view(off: Int)

        var isView: Bool { if case .view = self { return true } else { return false } }
    }

    struct IROp {
        var kind: Kind
        var inputs: [String]
        var output: String
        var relu = false
        var name: String
    }

    let path: String
    let opt: ConvertOptions
    /// constants decoded so far, and the initializers and Constant values not decoded yet: a
    /// tensor is decoded when a node reads it, so its errors name the node and the input
    var consts: [String: Const] = [:]
    var pending: [String: (t: Onnx_TensorProto, what: String)] = [:]
    var shapes: [String: Shape] = [:]
    /// tensors that are another tensor under a new name (Dropout, Identity, Flatten, ...)
    var alias: [String: String] = [:]
    var ir: [IROp] = []
    var report = ConversionReport()
    var inputName = ""
    var outputName = ""
    // pass 1 state: the graph's nodes, how many readers each tensor has, nodes already folded
    var nodes: [Onnx_NodeProto] = []
    var graphOutputs: [String] = []
    /// The declared rank of the first graph output (nil where the exporter gave no shape), and the
    /// default ONNX opset's version.
    var outputRank: Int?
    var opset: Int64 = 0
    var consumers: [String: Int] = [:]
    var done = Set<Int>()

    public static func convert(path: String, options: ConvertOptions) throws -> (CNMBuilder, ConversionReport) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConvertError("\(path): cannot read the file")
        }
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ConvertError("\(path): not an ONNX model (the protobuf does not decode: \(error))")
        }
        var imp = ONNXImporter(path: path, opt: options)
        try imp.lower(model)
        let b = try imp.emit(model)
        return (b, imp.report)
    }

    /// `cnm-convert --check`: every node this importer cannot convert, one line each (its operator
    /// type, domain or attributes), where conversion stops at the first; when every node passes
    /// those checks, the conversion's own error if it has one (a shape or value it refuses).
    /// Empty: the model converts.
    public static func check(path: String, options: ConvertOptions) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return ["\(path): cannot read the file"] }
        guard let model = try? Onnx_ModelProto(serializedBytes: data) else { return ["\(path): not an ONNX model (the protobuf does not decode)"] }
        var problems: [String] = []
        for (k, p) in model.graph.node.enumerated() {
            if let why = nodeProblem(p) {
                problems.append("\(nodeLabel(k, p)): \(why)")
            } else if knownAttributes[p.opType] == nil {
                problems.append("\(nodeLabel(k, p)): operator \(p.opType) is not supported")
            }
        }
        if !problems.isEmpty { return problems.map { "\(path): \($0)" } }
        do {
            var imp = ONNXImporter(path: path, opt: options)
            try imp.lower(model)
            _ = try imp.emit(model)
        } catch {
            return ["\(error)"]
        }
        return []
    }

    func fail(_ why: String) -> ConvertError { ConvertError("\(path): \(why)") }

    /// "node K 'NAME' (TYPE)": how every error about a node starts.
    static func nodeLabel(_ k: Int, _ p: Onnx_NodeProto) -> String { "node \(k) '\(p.name.isEmpty ? p.opType : p.name)' (\(p.opType))" }

    /// What refuses node `p` before its operator looks at it: a domain other than ONNX's, or
    /// attributes its operator's spec does not list (every one named). nil: none.
    static func nodeProblem(_ p: Onnx_NodeProto) -> String? {
        guard p.domain.isEmpty || p.domain == "ai.onnx" else { return "operator domain '\(p.domain)' is not supported" }
        guard let known = knownAttributes[p.opType] else { return nil }
        let bad = p.attribute.map(\.name).filter { !known.contains($0) }.map { "'\($0)'" }
        if bad.isEmpty { return nil }
        return bad.count == 1 ? "attribute \(bad[0]) is not supported" : "attributes \(bad.joined(separator: ", ")) are not supported"
    }

    /// Integers given as attribute `attr` (earlier opsets) or as constant input `i` (later ones:
    /// Squeeze's and ReduceMean's axes, Split's sizes); nil when the node gives neither.
    mutating func intsAttributeOrInput(_ n: Node, _ attr: String, input i: Int) throws -> [Int]? {
        if let v = n.a.ints(attr) { return v }
        guard i < n.input.count, !n.input[i].isEmpty else { return nil }
        return try constInput(n, i).values.map { Int($0) }
    }

    func resolve(_ name: String) -> String {
        var n = name
        var hops = 0
        while let a = alias[n], hops < 10_000 { n = a; hops += 1 }
        return n
    }

    // MARK: - tensors and attributes

    func const(_ t: Onnx_TensorProto, _ what: String) throws -> Const {
        if t.dataLocation == .external {
            throw fail("\(what) '\(t.name)' keeps its data in an external file, which is not supported (export with the weights inside the .onnx)")
        }
        var dims: [Int] = []
        var count = 1
        for d in t.dims {
            guard d >= 0, d <= 1 << 31 else { throw fail("\(what) '\(t.name)' has dimension \(d)") }
            dims.append(Int(d))
            let (m, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o, m <= 1 << 31 else { throw fail("\(what) '\(t.name)' is too large (dims \(t.dims))") }
            count = m
        }
        let raw = t.rawData
        func fromRaw<T>(_ size: Int, _ type: T.Type, _ conv: (T) -> Double) throws -> [Double] {
            guard raw.count == count * size else {
                throw fail("\(what) '\(t.name)' has \(raw.count) bytes of data for \(count) elements of \(size) bytes")
            }
            return raw.withUnsafeBytes { p in (0..<count).map { conv(p.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) } }
        }
        var v: [Double]
        switch t.dataType {
        case 1: // FLOAT
            v = raw.isEmpty ? t.floatData.map(Double.init) : try fromRaw(4, UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
        case 11: // DOUBLE
            v = raw.isEmpty ? t.doubleData : try fromRaw(8, UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
        case 10: // FLOAT16
            v = raw.isEmpty ? t.int32Data.map { Double(Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0)))) }
                : try fromRaw(2, UInt16.self) { Double(Float(Float16(bitPattern: UInt16(littleEndian: $0)))) }
        case 7: // INT64
            v = raw.isEmpty ? t.int64Data.map(Double.init) : try fromRaw(8, Int64.self) { Double(Int64(littleEndian: $0)) }
        case 6: // INT32
            v = raw.isEmpty ? t.int32Data.map(Double.init) : try fromRaw(4, Int32.self) { Double(Int32(littleEndian: $0)) }
        case 9, 2: // BOOL, UINT8 (Dropout's training_mode, masks): one byte each, or int32_data
            v = raw.isEmpty ? t.int32Data.map(Double.init) : try fromRaw(1, UInt8.self) { Double($0) }
        case 3: // INT8
            v = raw.isEmpty ? t.int32Data.map(Double.init) : try fromRaw(1, Int8.self) { Double($0) }
        default:
            throw fail("\(what)\(t.name.isEmpty ? "" : " '\(t.name)'") has ONNX data type \(Self.dataTypeName(t.dataType)), which is not supported (float, double, float16, int32, int64, int8, uint8, bool are)")
        }
        guard v.count == count else { throw fail("\(what) '\(t.name)' has \(v.count) values for dims \(dims)") }
        return Const(dims: dims, values: v, type: t.dataType)
    }

    /// ONNX's TensorProto.DataType names.
    static func dataTypeName(_ code: Int32) -> String {
        let names = [1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL",
                     10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16"]
        return names[Int(code)].map { "\($0) (\(code))" } ?? String(code)
    }

    /// The constant named `name` (an initializer or a Constant node's value), decoded on first
    /// use; `what` says who reads it, for the errors. nil when it is not a constant.
    mutating func constant(_ name: String, _ what: @autoclosure () -> String) throws -> Const? {
        if let c = consts[name] { return c }
        guard let p = pending[name] else { return nil }
        let c = try const(p.t, "\(what()): \(p.what)")
        consts[name] = c
        pending[name] = nil
        return c
    }

    func isConstant(_ name: String) -> Bool { consts[name] != nil || pending[name] != nil }

    /// Every attribute of every supported operator in ONNX's operator spec (all opsets), each
    /// honoured, checked, or without effect at inference (BatchNormalization's momentum, MaxPool's
    /// storage_order of the unused indices, Dropout's ratio and seed, the legacy is_test,
    /// consumed_inputs and broadcast). Any other attribute is refused by name.
    static let knownAttributes: [String: Set<String>] = [
        "Conv": ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
        "BatchNormalization": ["epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"],
        "Relu": ["consumed_inputs"],
        "MaxPool": ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
        "AveragePool": ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"],
        "GlobalAveragePool": [],
        "Add": ["axis", "broadcast", "consumed_inputs"],
        "Concat": ["axis"],
        "LRN": ["alpha", "beta", "bias", "size"],
        "Gemm": ["alpha", "beta", "transA", "transB", "broadcast"],
        "Flatten": ["axis"],
        "Reshape": ["allowzero", "shape", "consumed_inputs"],
        "Squeeze": ["axes"],
        "Dropout": ["ratio", "seed", "is_test"],
        "Identity": [],
        "Pad": ["mode", "pads", "value"],
        "Constant": ["value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"],
        "Sigmoid": ["consumed_inputs"],
        "Softmax": ["axis"],
        "LogSoftmax": ["axis"],
        "Clip": ["min", "max"],
        "Mul": ["axis", "broadcast", "consumed_inputs"],
        "Sub": ["axis", "broadcast", "consumed_inputs"],
        "Div": ["axis", "broadcast", "consumed_inputs"],
        "Split": ["axis", "split", "num_outputs"],
        "Slice": ["starts", "ends", "axes"],
        "ReduceMean": ["axes", "keepdims", "noop_with_empty_axes"],
        "Transpose": ["perm"],
        "Shape": ["start", "end"],
        "Gather": ["axis"],
        "Unsqueeze": ["axes"],
        "Cast": ["to", "saturate"],
    ]

    struct Attrs {
        var map: [String: Onnx_AttributeProto] = [:]
        init(_ n: Onnx_NodeProto) { for at in n.attribute { map[at.name] = at } }
        func int(_ k: String, _ d: Int) -> Int { map[k].map { Int(clamping: $0.i) } ?? d }
        func float(_ k: String, _ d: Float) -> Float { map[k]?.f ?? d }
        func ints(_ k: String) -> [Int]? { map[k].map { $0.ints.map { Int(clamping: $0) } } }
        func string(_ k: String) -> String? { map[k].map { String(decoding: $0.s, as: UTF8.self) } }
    }

    /// The node being lowered, with its attributes and the label its errors start with.
    struct Node {
        let index: Int
        let proto: Onnx_NodeProto
        let a: Attrs
        let label: String
        let out0: String
        var input: [String] { proto.input }
        var output: [String] { proto.output }
        var opType: String { proto.opType }
        var name: String { proto.name }
    }

    // MARK: - pass 1: lower

    mutating func lower(_ model: Onnx_ModelProto) throws {
        let g = model.graph
        report.arch = "onnx"
        report.checkpointKind = "onnx" + (model.producerName.isEmpty ? "" : " (\(model.producerName) \(model.producerVersion))")
        try lowerInitializersAndInput(g)
        nodes = g.node
        graphOutputs = g.output.map(\.name)
        if let o = g.output.first, o.type.tensorType.hasShape { outputRank = o.type.tensorType.shape.dim.count }
        opset = model.opsetImport.first { $0.domain.isEmpty }?.version ?? 0
        for n in g.node { for i in n.input where !i.isEmpty { consumers[i, default: 0] += 1 } }
        // Constant nodes' values are known up front: a pattern (the channel shuffle) may read one
        // that a later node defines
        for (k, n) in g.node.enumerated() where n.opType == "Constant" && n.domain.isEmpty && n.output.count == 1 {
            if let t = n.attribute.first(where: { $0.name == "value" }), t.hasT { pending[n.output[0]] = (t.t, "the value of node \(k) (Constant)") }
        }
        for o in g.output { consumers[o.name, default: 0] += 1 }
        for k in g.node.indices where !done.contains(k) { try lowerNode(k) }
        outputName = resolve(g.output[0].name)
        guard let os = shapes[outputName] else { throw fail("the graph output '\(g.output[0].name)' is not computed from the input") }
        guard os.h == 1 && os.w == 1 else { throw fail("the graph output is \(os.c)x\(os.h)x\(os.w); a vector of logits is expected") }
        // ops now name their inputs by the tensors behind the aliases
        for k in ir.indices { ir[k].inputs = ir[k].inputs.map(resolve) }
    }

    /// The constants, and the one image input with its shape.
    mutating func lowerInitializersAndInput(_ g: Onnx_GraphProto) throws {
        for t in g.initializer {
            pending[t.name] = (t, "initializer")
            report.parametersBefore += t.dims.reduce(1) { $0.multipliedReportingOverflow(by: Int(clamping: $1)).partialValue }
        }
        let inputs = g.input.filter { !isConstant($0.name) }
        guard inputs.count == 1, let input = inputs.first else {
            throw fail("the graph has \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))); one image input is supported")
        }
        guard g.output.count == 1 else { throw fail("the graph has \(g.output.count) outputs; one (the logits) is supported") }
        inputName = input.name
        let dims = input.type.tensorType.shape.dim.map { d -> Int? in
            if case .dimValue(let v)? = d.value, v > 0 { return Int(v) }
            return nil
        }
        guard dims.count == 4 else { throw fail("input '\(input.name)' has \(dims.count) dimensions; an N x C x H x W image is expected") }
        guard let c = dims[1], (1...4).contains(c) else {
            let shown = dims.map { $0.map(String.init) ?? "?" }.joined(separator: " x ")
            throw fail("input '\(input.name)' must have 1 to 4 channels, not \(dims[1].map(String.init) ?? "an unknown number") (dims \(shown))")
        }
        if let n = dims[0], n != 1 { report.notes.append("the graph's batch size \(n) is run as 1") }
        let size = opt.inputSizeOverride
        let h = size ?? dims[2] ?? opt.preset.inputSize, w = size ?? dims[3] ?? opt.preset.inputSize
        guard (1...16384).contains(h), (1...16384).contains(w) else { throw fail("input '\(input.name)' is \(h)x\(w); at most 16384x16384 is supported") }
        if dims[2] == nil || dims[3] == nil { report.notes.append("input height/width are symbolic: \(h)x\(w) from the preset or --input-size") }
        shapes[inputName] = (c, h, w)
    }

    mutating func lowerNode(_ k: Int) throws {
        let p = nodes[k]
        let label = Self.nodeLabel(k, p)
        if let why = Self.nodeProblem(p) { throw fail("\(label): \(why)") }
        guard let out0 = p.output.first else { throw fail("\(label): has no output") }
        let n = Node(index: k, proto: p, a: Attrs(p), label: label, out0: out0)
        switch p.opType {
        case "Constant": try lowerConstant(n)
        case "Identity", "Dropout": try lowerIdentity(n)
        case "Pad": try lowerPad(n)
        case "Flatten", "Reshape", "Squeeze": try lowerFlatten(n)
        case "Conv": try lowerConv(n)
        case "Gemm": try lowerGemm(n)
        case "BatchNormalization": try lowerBatchNorm(n)
        case "Relu": try lowerRelu(n)
        case "MaxPool", "AveragePool": try lowerPool(n)
        case "GlobalAveragePool": try lowerGlobalAveragePool(n)
        case "Add", "Sub", "Mul", "Div": try lowerArithmetic(n)
        case "LRN": try lowerLRN(n)
        case "Sigmoid": try lowerSigmoid(n)
        case "Concat": if try !foldConcat(n) { try lowerConcat(n) }
        case "Clip": try lowerClip(n)
        case "Split", "Slice": try lowerChannelRange(n)
        case "ReduceMean": try lowerReduceMean(n)
        case "Transpose":
            throw fail("\(n.label): Transpose is supported only as the channel shuffle Reshape (N, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape (N, C, H, W)")
        case "Shape", "Gather", "Unsqueeze", "Cast": try foldShapeArithmetic(n)
        case "Softmax", "LogSoftmax": try lowerSoftmax(n)
        default:
            throw fail("\(label): operator \(p.opType) is not supported (supported: \(Self.supportedOperators.joined(separator: ", ")))")
        }
    }

    // MARK: node helpers

    /// The shape of input `i`, an image tensor produced earlier.
    func shape(_ n: Node, _ i: Int) throws -> Shape {
        guard i < n.input.count, let s = shapes[resolve(n.input[i])] else {
            let what = i < n.input.count ? "'\(n.input[i])'" : "#\(i)"
            throw fail("\(n.label): input \(what) is not an image tensor produced earlier in the graph")
        }
        return s
    }

    /// Constant input `i`; `role` (weight, bias, scale ...) names a float input, which a tensor of
    /// another type cannot be.
    mutating func constInput(_ n: Node, _ i: Int, _ role: String? = nil) throws -> Const {
        guard i < n.input.count, let c = try constant(n.input[i], "\(n.label), input #\(i)") else {
            throw fail("\(n.label): input #\(i)\(role.map { " (\($0))" } ?? "") must be a constant (an initializer)")
        }
        if let role, !c.isFloat {
            throw fail("\(n.label): input #\(i) (\(role)) '\(n.input[i])' has ONNX data type \(Self.dataTypeName(c.type)); a float tensor is expected")
        }
        return c
    }

    /// The optional bias (input 2) of `outputs` values.
    mutating func biasInput(_ n: Node, outputs: Int, _ detail: String = "") throws -> [Float]? {
        guard n.input.count > 2, !n.input[2].isEmpty else { return nil }
        let bc = try constInput(n, 2, "bias")
        guard bc.values.count == outputs else { throw fail("\(n.label): bias has \(bc.values.count) values for \(outputs) outputs\(detail)") }
        return bc.values.map { Float($0) }
    }

    func pads2(_ n: Node, _ what: String) throws -> (Int, Int) {
        let p = n.a.ints("pads") ?? [0, 0, 0, 0]
        guard p.count == 4, p[0] == p[2], p[1] == p[3], p.allSatisfy({ (0...64).contains($0) }) else {
            throw fail("\(n.label): attribute pads = \(p) are not symmetric (top = bottom, left = right) in 0...64, which \(what) needs")
        }
        return (p[0], p[1])
    }

    /// auto_pad NOTSET (explicit pads) or VALID (no padding); SAME_UPPER / SAME_LOWER are refused.
    func noAutoPad(_ n: Node) throws {
        guard let ap = n.a.string("auto_pad"), ap != "NOTSET" else { return }
        guard ap == "VALID", (n.a.ints("pads") ?? []).allSatisfy({ $0 == 0 }) else {
            throw fail("\(n.label): attribute auto_pad = \(ap) is not supported (export with explicit pads)")
        }
    }

    func dilationsOne(_ n: Node) throws {
        if let d = n.a.ints("dilations"), d.contains(where: { $0 != 1 }) { throw fail("\(n.label): attribute dilations = \(d) is not supported (only 1)") }
    }

    /// An output other than the first (Dropout's mask, MaxPool's indices) must be unused.
    func secondOutputUnused(_ n: Node, _ what: String) throws {
        if n.output.count > 1, consumers[n.output[1], default: 0] > 0 { throw fail("\(n.label): its \(what) output is used") }
    }

    /// The single node that consumes `t`, when it is of type `type` and nothing else reads t.
    func soleConsumer(_ t: String, _ type: String, after k: Int) -> Int? {
        guard consumers[t] == 1, graphOutputs.allSatisfy({ $0 != t }) else { return nil }
        for j in (k + 1)..<nodes.count where nodes[j].input.contains(t) {
            let n = nodes[j]
            return n.opType == type && n.domain.isEmpty && !n.output.isEmpty && !done.contains(j) ? j : nil
        }
        return nil
    }

    /// Append `op` with output shape `s`; a ReLU that alone reads its output is folded into it.
    mutating func record(_ op: IROp, _ s: Shape, at j: Int) {
        var op = op
        if let r = soleConsumer(op.output, "Relu", after: j) {
            done.insert(r)
            op.relu = true
            op.output = nodes[r].output[0]
        }
        shapes[op.output] = s
        ir.append(op)
    }

    // MARK: operators

    mutating func lowerConstant(_ n: Node) throws {
        guard let t = n.a.map["value"], t.hasT else {
            let given = n.proto.attribute.first?.name ?? "none"
            throw fail("\(n.label): attribute \(given) is not supported; only a tensor 'value' is")
        }
        pending[n.out0] = (t.t, "the value of \(n.label)")  // its name is the node's output
    }

    mutating func lowerIdentity(_ n: Node) throws {
        try secondOutputUnused(n, "mask")
        if n.opType == "Dropout", n.input.count > 2, !n.input[2].isEmpty {
            // opset 12: training_mode is input #2; dropping units at inference is not computed
            guard let t = try constant(n.input[2], "\(n.label), input #2 (training_mode)"), t.values.allSatisfy({ $0 == 0 }) else {
                throw fail("\(n.label): input #2 training_mode is not the constant false; only inference (no dropping) is supported")
            }
        }
        if let src = n.input.first, isConstant(src) {  // exporters alias shared weights this way
            if let c = consts[src] { consts[n.out0] = c } else { pending[n.out0] = pending[src] }
            return
        }
        _ = try shape(n, 0)
        alias[n.out0] = resolve(n.input[0])
    }

    /// A Pad that pads nothing (every pad 0: torch 1.13 exports DenseNet's transition pools with
    /// one) is an alias; any other Pad is refused (a conv's or pool's own pads express padding).
    mutating func lowerPad(_ n: Node) throws {
        guard let pads = try intsAttributeOrInput(n, "pads", input: 1) else { throw fail("\(n.label): has no pads") }
        guard pads.allSatisfy({ $0 == 0 }) else {
            throw fail("\(n.label): pads \(pads); only a Pad of zero width is supported (give the padding to the Conv or pool that follows)")
        }
        _ = try shape(n, 0)
        alias[n.out0] = resolve(n.input[0])
    }

    /// Flatten, Reshape and Squeeze to a vector.
    mutating func lowerFlatten(_ n: Node) throws {
        let s = try shape(n, 0)
        let feats = s.c * s.h * s.w
        if n.opType == "Flatten" {
            // the input is an N x C x H x W map: axis -3 is axis 1
            guard [1, -3].contains(n.a.int("axis", 1)) else { throw fail("\(n.label): flatten axis \(n.a.int("axis", 1)); only axis 1 (-3) is supported") }
        } else if n.opType == "Reshape" {
            let shape = try n.a.ints("shape").map { $0.map(Double.init) } ?? constInput(n, 1).values  // opset 1-4: an attribute
            let target = shape.map { Int(exactly: $0.rounded(.towardZero)) ?? Int.min }
            let zeroCopies = n.a.int("allowzero", 0) == 0  // allowzero = 1: a 0 is a zero-length axis, not "copy"
            if zeroCopies, try lowerShuffle(n, target: target, s) { return }
            if target.count == 4, [0, 1, -1].contains(target[0]), target[1] == s.c || target[1] == -1, target[2] == s.h, target[3] == s.w {
                alias[n.out0] = resolve(n.input[0])  // to its own shape
                return
            }
            let ok = target.count == 2 && (target[0] == 1 || target[0] == -1 || (target[0] == 0 && zeroCopies)) && (target[1] == -1 || target[1] == feats)
            guard ok else {
                throw fail("\(n.label): reshape to \(target)\(zeroCopies ? "" : " with allowzero = 1"); only flattening to (1, \(feats)) and the channel shuffle are supported")
            }
        } else {
            guard s.h == 1 && s.w == 1 else { throw fail("\(n.label): squeeze of a \(s.c)x\(s.h)x\(s.w) map; only 1x1 maps are supported") }
            // axes: an attribute up to opset 11, input #1 since 13; only H and W may go
            let axes = try intsAttributeOrInput(n, "axes", input: 1) ?? [2, 3]
            guard axes.allSatisfy({ [2, 3, -1, -2].contains($0) }) else {
                throw fail("\(n.label): squeeze axes \(axes); only the 1x1 height and width (axes 2, 3) may be squeezed")
            }
        }
        // flattening is free: a fully-connected layer reads the C x H x W map as is
        alias[n.out0] = resolve(n.input[0])
    }

    mutating func lowerConv(_ n: Node) throws {
        try noAutoPad(n)
        try dilationsOne(n)
        let s = try shape(n, 0)
        let wc = try constInput(n, 1, "weight")
        guard wc.dims.count == 4, wc.dims.allSatisfy({ $0 >= 1 }) else { throw fail("\(n.label): weight has dims \(wc.dims); a 2-D convolution is expected") }
        let groups = n.a.int("group", 1)
        guard groups >= 1, s.c % groups == 0, wc.dims[0] % groups == 0, wc.dims[1] * groups == s.c else {
            throw fail("\(n.label): weight \(wc.dims) with \(groups) groups does not fit a \(s.c)-channel input")
        }
        let st = n.a.ints("strides") ?? [1, 1]
        guard st.count == 2, st.allSatisfy({ (1...64).contains($0) }) else { throw fail("\(n.label): strides \(st) not supported") }
        let pad = try pads2(n, "a convolution")
        var bias = try biasInput(n, outputs: wc.dims[0])
        let (kh, kw) = (wc.dims[2], wc.dims[3])
        if let ks = n.a.ints("kernel_shape"), ks != [kh, kw] {
            throw fail("\(n.label): attribute kernel_shape = \(ks) disagrees with the weight's \(kh)x\(kw)")
        }
        guard s.h + 2 * pad.0 >= kh, s.w + 2 * pad.1 >= kw else { throw fail("\(n.label): kernel \(kh)x\(kw) larger than the padded \(s.h)x\(s.w) input") }
        var weight = wc.values.map { Float($0) }
        var output = n.out0, last = n.index
        // Conv-BN: fold the BatchNorm into the weights and bias
        if let j = soleConsumer(n.out0, "BatchNormalization", after: n.index) {
            let bn = try foldedBN(j, channels: wc.dims[0])
            Self.fold(bn, into: &weight, bias: &bias, outputs: wc.dims[0])
            done.insert(j)
            output = nodes[j].output[0]
            last = j
            report.batchNormsFolded += 1
        }
        let oh = (s.h + 2 * pad.0 - kh) / st[0] + 1, ow = (s.w + 2 * pad.1 - kw) / st[1] + 1
        record(IROp(kind: .conv(weight: weight, dims: wc.dims, bias: bias, stride: (st[0], st[1]), pad: pad, groups: groups),
                    inputs: [n.input[0]], output: output, name: n.name), (wc.dims[0], oh, ow), at: last)
    }

    /// Scale each output channel's weights by the BatchNorm's scale; the bias becomes bias * scale + shift.
    static func fold(_ bn: (scale: [Double], shift: [Double]), into weight: inout [Float], bias: inout [Float]?, outputs: Int) {
        let per = weight.count / outputs
        var b2 = [Float](repeating: 0, count: outputs)
        for o in 0..<outputs {
            for i in 0..<per { weight[o * per + i] = Float(Double(weight[o * per + i]) * bn.scale[o]) }
            b2[o] = Float(Double(bias?[o] ?? 0) * bn.scale[o] + bn.shift[o])
        }
        bias = b2
    }

    /// A fully-connected layer: a convolution whose kernel is the whole input map.
    mutating func lowerGemm(_ n: Node) throws {
        let s = try shape(n, 0)
        guard n.a.int("transA", 0) == 0 else { throw fail("\(n.label): attribute transA = 1 is not supported (the input is one row)") }
        let alpha = Double(n.a.float("alpha", 1)), beta = Double(n.a.float("beta", 1))
        guard alpha.isFinite, beta.isFinite else { throw fail("\(n.label): attributes alpha = \(alpha), beta = \(beta) must be finite") }
        let wc = try constInput(n, 1, "weight")
        let feats = s.c * s.h * s.w
        guard wc.dims.count == 2, wc.dims.allSatisfy({ $0 >= 1 }) else { throw fail("\(n.label): weight dims \(wc.dims) are not 2-D") }
        let transB = n.a.int("transB", 0) == 1
        let (nOut, kIn) = transB ? (wc.dims[0], wc.dims[1]) : (wc.dims[1], wc.dims[0])
        guard kIn == feats else { throw fail("\(n.label): weight takes \(kIn) features, the input has \(feats) (\(s.c)x\(s.h)x\(s.w))") }
        var weight = [Float](repeating: 0, count: nOut * kIn)
        // y = alpha * A B' + beta * C: alpha folded into the weights, beta into the bias
        for o in 0..<nOut { for i in 0..<kIn { weight[o * kIn + i] = Float(alpha * (transB ? wc.values[o * kIn + i] : wc.values[i * nOut + o])) } }
        let bias = try biasInput(n, outputs: nOut, " (broadcasting is not supported)").map { $0.map { Float(beta * Double($0)) } }
        record(IROp(kind: .conv(weight: weight, dims: [nOut, s.c, s.h, s.w], bias: bias, stride: (1, 1), pad: (0, 0), groups: 1),
                    inputs: [n.input[0]], output: n.out0, name: n.name), (nOut, 1, 1), at: n.index)
    }

    /// A BatchNorm not folded into a conv before it: a channel op.
    mutating func lowerBatchNorm(_ n: Node) throws {
        let s = try shape(n, 0)
        let bn = try foldedBN(n.index, channels: s.c)
        record(IROp(kind: .channel(scale: bn.scale.map { Float($0) }, shift: bn.shift.map { Float($0) }),
                    inputs: [n.input[0]], output: n.out0, name: n.name), s, at: n.index)
    }

    /// A ReLU not folded into the op before it: a channel op without scale or shift.
    mutating func lowerRelu(_ n: Node) throws {
        let s = try shape(n, 0)
        var op = IROp(kind: .channel(scale: nil, shift: nil), inputs: [n.input[0]], output: n.out0, name: n.name)
        op.relu = true
        shapes[n.out0] = s
        ir.append(op)
    }

    mutating func lowerPool(_ n: Node) throws {
        try noAutoPad(n)
        try dilationsOne(n)
        let s = try shape(n, 0)
        let isMax = n.opType == "MaxPool"
        try secondOutputUnused(n, "indices")
        guard let kk = n.a.ints("kernel_shape"), kk.count == 2, kk.allSatisfy({ (1...4096).contains($0) }) else { throw fail("\(n.label): needs a 2-D kernel_shape of 1...4096") }
        let st = n.a.ints("strides") ?? [1, 1]
        guard st.count == 2, st.allSatisfy({ (1...64).contains($0) }) else { throw fail("\(n.label): strides \(st) not supported (1...64)") }
        let pad = try pads2(n, "a pool")
        guard pad.0 < kk[0], pad.1 < kk[1], s.h + 2 * pad.0 >= kk[0], s.w + 2 * pad.1 >= kk[1] else {
            throw fail("\(n.label): window \(kk) with pads \(pad) does not fit a \(s.h)x\(s.w) input")
        }
        if !isMax && n.a.int("count_include_pad", 0) == 0 && (pad.0 > 0 || pad.1 > 0) {
            throw fail("\(n.label): average pool with padding excluded from the divisor (count_include_pad = 0) is not supported")
        }
        var ceil = n.a.int("ceil_mode", 0) == 1
        let fh = Self.poolOut(s.h, kk[0], st[0], pad.0, ceil: false), fw = Self.poolOut(s.w, kk[1], st[1], pad.1, ceil: false)
        let ch = Self.poolOut(s.h, kk[0], st[0], pad.0, ceil: ceil), cw = Self.poolOut(s.w, kk[1], st[1], pad.1, ceil: ceil)
        if ceil && ch == fh && cw == fw { ceil = false }  // rounding up changes nothing here
        if ceil && !isMax { throw fail("\(n.label): average pool with ceil_mode that changes the output size is not supported") }
        record(IROp(kind: .pool(max: isMax, kernel: (kk[0], kk[1]), stride: (st[0], st[1]), pad: pad, ceil: ceil),
                    inputs: [n.input[0]], output: n.out0, name: n.name), (s.c, ch, cw), at: n.index)
    }

    /// A pool's output size along one axis (PyTorch's rule: with ceil, the last window starts inside the input or left padding).
    static func poolOut(_ i: Int, _ k: Int, _ s: Int, _ p: Int, ceil: Bool) -> Int {
        var o = ceil ? (i + 2 * p - k + s - 1) / s + 1 : (i + 2 * p - k) / s + 1
        if ceil && (o - 1) * s >= i + p { o -= 1 }
        return o
    }

    mutating func lowerGlobalAveragePool(_ n: Node) throws {
        let s = try shape(n, 0)
        record(IROp(kind: .pool(max: false, kernel: (s.h, s.w), stride: (1, 1), pad: (0, 0), ceil: false),
                    inputs: [n.input[0]], output: n.out0, name: n.name), (s.c, 1, 1), at: n.index)
    }

    /// Add, Sub, Mul, Div: of two constants, folded (shape arithmetic); of a map and a constant of
    /// one value or one per channel, a channel op (Add, Mul); of two maps, Add of one shape, Mul of
    /// one shape or by a C x 1 x 1 map (the squeeze-and-excitation gate).
    mutating func lowerArithmetic(_ n: Node) throws {
        guard n.input.count == 2 else { throw fail("\(n.label): needs two inputs") }
        if try foldBinary(n) { return }
        let op = n.opType
        let k0 = isConstant(n.input[0]), k1 = isConstant(n.input[1])
        if k0 || k1 {
            let mapIndex = k0 ? 1 : 0
            let s = try shape(n, mapIndex)
            let c = try constInput(n, 1 - mapIndex, "operand")
            // numpy broadcasting aligns the last axes: one value per channel is dims (C, 1, 1) or
            // (1, C, 1, 1); a vector (C) would run along the width
            let r = c.dims.count
            let perChannel = r >= 3 && r <= 4 && c.dims[r - 3] == s.c && c.dims.enumerated().allSatisfy { $0.offset == r - 3 || $0.element == 1 }
            guard op == "Add" || op == "Mul", c.values.count == 1 || perChannel else {
                throw fail("\(n.label): \(op) of a \(s.c)x\(s.h)x\(s.w) map and a constant of dims \(c.dims); only Add or Mul by one value or one per channel (dims C x 1 x 1) is supported")
            }
            let v = (0..<s.c).map { Float(c.values.count == 1 ? c.values[0] : c.values[$0]) }
            let kind = op == "Add" ? Kind.channel(scale: nil, shift: v) : Kind.channel(scale: v, shift: nil)
            record(IROp(kind: kind, inputs: [n.input[mapIndex]], output: n.out0, name: n.name), s, at: n.index)
            return
        }
        let s0 = try shape(n, 0), s1 = try shape(n, 1)
        let shown = "\(s0.c)x\(s0.h)x\(s0.w) and \(s1.c)x\(s1.h)x\(s1.w)"
        switch op {
        case "Add":
            guard s0 == s1 else { throw fail("\(n.label): adds \(shown); broadcasting is not supported") }
            record(IROp(kind: .add, inputs: [n.input[0], n.input[1]], output: n.out0, name: n.name), s0, at: n.index)
        case "Mul":
            // the full map first; the second factor has its shape or is one value per channel
            let gate0 = s0.h == 1 && s0.w == 1 && (s1.h > 1 || s1.w > 1)
            let (a, b, sa, sb) = gate0 ? (n.input[1], n.input[0], s1, s0) : (n.input[0], n.input[1], s0, s1)
            guard sa.c == sb.c, sa == sb || (sb.h == 1 && sb.w == 1) else {
                throw fail("\(n.label): multiplies \(shown); only one shape, or a map by one factor per channel (C x 1 x 1), is supported")
            }
            record(IROp(kind: .mul, inputs: [a, b], output: n.out0, name: n.name), sa, at: n.index)
        default:
            throw fail("\(n.label): \(op) of two maps (\(shown)) is not supported; only of constants (shape arithmetic)")
        }
    }

    /// Clip with constant bounds (attributes up to opset 10, inputs #1 and #2 since 11; either may
    /// be absent: no bound). Clip(0, inf) is a ReLU.
    mutating func lowerClip(_ n: Node) throws {
        let s = try shape(n, 0)
        func bound(_ i: Int, _ attr: String, _ d: Float) throws -> Float {
            if i < n.input.count, !n.input[i].isEmpty {
                let c = try constInput(n, i, attr)
                guard c.values.count == 1 else { throw fail("\(n.label): \(attr) has \(c.values.count) values; one is expected") }
                return Float(c.values[0])
            }
            return n.a.float(attr, d)
        }
        let lo = try bound(1, "min", -.infinity), hi = try bound(2, "max", .infinity)
        guard !lo.isNaN, !hi.isNaN, lo <= hi else { throw fail("\(n.label): bounds min = \(lo), max = \(hi) are not an interval") }
        if lo == 0 && hi == .infinity { return try lowerRelu(n) }
        record(IROp(kind: .clip(min: lo, max: hi), inputs: [n.input[0]], output: n.out0, name: n.name), s, at: n.index)
    }

    /// Split and Slice along the channels: each output a view of a channel range of the input
    /// (no copy, like the inputs of a concatenation).
    mutating func lowerChannelRange(_ n: Node) throws {
        let s = try shape(n, 0)
        func channelAxis(_ a: Int) -> Bool { a == 1 || a == -3 }
        var ranges: [(String, Int, Int)] = []
        if n.opType == "Split" {
            guard channelAxis(n.a.int("axis", 0)) else { throw fail("\(n.label): split along axis \(n.a.int("axis", 0)); only channels (axis 1) are supported") }
            var sizes = try intsAttributeOrInput(n, "split", input: 1) ?? []
            if sizes.isEmpty {
                let k = n.output.count
                guard s.c % k == 0 || n.a.map["num_outputs"] != nil else { throw fail("\(n.label): \(s.c) channels do not split into \(k) equal parts") }
                let part = (s.c + k - 1) / k  // opset 18: the last part may be smaller
                sizes = (0..<k).map { min(part, s.c - $0 * part) }
            }
            guard sizes.count == n.output.count, sizes.allSatisfy({ $0 >= 1 }), sizes.reduce(0, +) == s.c else {
                throw fail("\(n.label): split sizes \(sizes) do not divide \(s.c) channels into \(n.output.count) outputs")
            }
            var off = 0
            for (o, c) in zip(n.output, sizes) { ranges.append((o, off, c)); off += c }
        } else {
            let opsetInputs = n.a.map["starts"] == nil  // opset 10: inputs, opset 1-9: attributes
            func ints(_ i: Int, _ attr: String) throws -> [Int]? {
                if !opsetInputs { return n.a.ints(attr) }
                guard i < n.input.count, !n.input[i].isEmpty else { return nil }
                return try constInput(n, i).values.map { $0 >= 9.2e18 ? Int.max : $0 <= -9.2e18 ? Int.min : Int($0) }
            }
            guard let starts = try ints(1, "starts"), let ends = try ints(2, "ends") else { throw fail("\(n.label): needs constant starts and ends") }
            let axes = try ints(3, "axes") ?? Array(0..<starts.count)
            let steps = try ints(4, "steps") ?? [Int](repeating: 1, count: starts.count)
            guard starts.count == 1, ends.count == 1, axes.count == 1, steps == [1], channelAxis(axes[0]) else {
                throw fail("\(n.label): slice of axes \(axes) with steps \(steps); only a channel range (axis 1, step 1) is supported")
            }
            func clamp(_ v: Int) -> Int { v < 0 ? max(0, v &+ s.c) : min(v, s.c) }
            let b = clamp(starts[0]), e = clamp(ends[0])
            guard e > b else { throw fail("\(n.label): slice [\(starts[0]), \(ends[0])) of \(s.c) channels is empty") }
            ranges.append((n.out0, b, e - b))
        }
        for (o, off, c) in ranges {
            shapes[o] = (c, s.h, s.w)
            ir.append(IROp(kind: .view(off: off), inputs: [n.input[0]], output: o, name: n.name))
        }
    }

    /// ReduceMean over height and width: a global average pool.
    mutating func lowerReduceMean(_ n: Node) throws {
        let s = try shape(n, 0)
        let axes = try intsAttributeOrInput(n, "axes", input: 1) ?? []
        guard Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
            throw fail("\(n.label): mean over axes \(axes); only over height and width (axes 2, 3) is supported")
        }
        record(IROp(kind: .pool(max: false, kernel: (s.h, s.w), stride: (1, 1), pad: (0, 0), ceil: false),
                    inputs: [n.input[0]], output: n.out0, name: n.name), (s.c, 1, 1), at: n.index)
    }

    /// Reshape (N, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape (N, C, H, W), ShuffleNet's
    /// channel shuffle, starting at Reshape node `n` with 5-D target `target`: a channel op with
    /// shuffle groups g. False when the nodes after it are not that pattern.
    mutating func lowerShuffle(_ n: Node, target: [Int], _ s: Shape) throws -> Bool {
        guard target.count == 5, [0, 1, -1].contains(target[0]), target[3] == s.h, target[4] == s.w else { return false }
        let g = target[1] == -1 ? (target[2] > 0 ? s.c / target[2] : 0) : target[1]
        let per = target[2] == -1 ? (g > 0 ? s.c / g : 0) : target[2]
        guard g >= 1, per >= 1, g * per == s.c,
              let t = soleConsumer(n.out0, "Transpose", after: n.index), Attrs(nodes[t]).ints("perm") == [0, 2, 1, 3, 4],
              let r = soleConsumer(nodes[t].output[0], "Reshape", after: t), nodes[r].input.count > 1,
              let back = try constant(nodes[r].input[1], "node \(r) (Reshape), input #1") else { return false }
        let b = back.values.map { Int($0) }
        guard b.count == 4, [0, 1, -1].contains(b[0]), b[1] == s.c || b[1] == -1, b[2] == s.h, b[3] == s.w else { return false }
        done.formUnion([t, r])
        record(IROp(kind: .shuffle(groups: g), inputs: [n.input[0]], output: nodes[r].output[0], name: n.name), s, at: r)
        return true
    }

    mutating func lowerLRN(_ n: Node) throws {
        let s = try shape(n, 0)
        let size = n.a.int("size", 0)
        guard (1...4096).contains(size) else { throw fail("\(n.label): LRN size \(size) is outside 1...4096") }
        record(IROp(kind: .lrn(size: size, alpha: n.a.float("alpha", 1e-4), beta: n.a.float("beta", 0.75), bias: n.a.float("bias", 1)),
                    inputs: [n.input[0]], output: n.out0, name: n.name), s, at: n.index)
    }

    mutating func lowerSigmoid(_ n: Node) throws {
        record(IROp(kind: .sigmoid, inputs: [n.input[0]], output: n.out0, name: n.name), try shape(n, 0), at: n.index)
    }

    mutating func lowerConcat(_ n: Node) throws {
        let axis = n.a.int("axis", 1)
        guard axis == 1 || axis == -3 else { throw fail("\(n.label): concatenation along axis \(axis); only channels (axis 1) are supported") }
        let ss = try n.input.indices.map { try shape(n, $0) }
        guard let f = ss.first, ss.allSatisfy({ $0.h == f.h && $0.w == f.w }) else { throw fail("\(n.label): inputs differ in height or width") }
        record(IROp(kind: .concat, inputs: n.input, output: n.out0, name: n.name), (ss.reduce(0) { $0 + $1.c }, f.h, f.w), at: n.index)
    }

    /// Probabilities are computed by the runtime from the logits: a final softmax is dropped.
    mutating func lowerSoftmax(_ n: Node) throws {
        guard graphOutputs.first == n.out0 else { throw fail("\(n.label): \(n.opType) inside the graph is not supported (only as the last node)") }
        let s = try shape(n, 0)
        // only a softmax over the classes may be dropped: axis 1 of N x C (or N x C x 1 x 1)
        let rank = outputRank ?? (s.h == 1 && s.w == 1 ? 2 : 4)
        let given = n.a.int("axis", opset >= 13 ? -1 : 1), axis = given < 0 ? given + rank : given
        guard axis == 1, rank == 2 || (rank == 4 && s.h == 1 && s.w == 1) else {
            throw fail("\(n.label): attribute axis = \(given) on a rank-\(rank) \(s.c)x\(s.h)x\(s.w) tensor is not the class axis; only a softmax over the classes (axis 1 of N x C) is supported")
        }
        alias[n.out0] = resolve(n.input[0])
        report.notes.append("the final \(n.opType) is dropped: edge-infer reports probabilities from the logits")
    }

    mutating func foldedBN(_ k: Int, channels: Int) throws -> (scale: [Double], shift: [Double]) {
        let n = nodes[k], a = Attrs(n)
        let label = Self.nodeLabel(k, n)
        if let why = Self.nodeProblem(n) { throw fail("\(label): \(why)") }
        if a.int("training_mode", 0) != 0 {
            throw fail("\(label): attribute training_mode = \(a.int("training_mode", 0)) (batch statistics) is not supported; export the model in eval mode")
        }
        if a.int("spatial", 1) == 0 { throw fail("\(label): attribute spatial = 0 (statistics per position) is not supported") }
        if let used = n.output.dropFirst().first(where: { !$0.isEmpty && consumers[$0, default: 0] > 0 }) {
            throw fail("\(label): output '\(used)' (a training statistic) is used; only the normalised output is supported")
        }
        let eps = a.float("epsilon", 1e-5)
        var vals: [Const] = []
        for i in 1..<min(n.input.count, 5) {
            guard let c = try constant(n.input[i], "\(label), input #\(i)") else { continue }
            guard c.isFloat else { throw fail("\(label): input #\(i) '\(n.input[i])' has ONNX data type \(Self.dataTypeName(c.type)); a float tensor is expected") }
            vals.append(c)
        }
        guard n.input.count == 5, vals.count == 4, vals.allSatisfy({ $0.values.count == channels }) else {
            throw fail("\(label): needs constant scale, bias, mean and variance of \(channels) values")
        }
        return FoldedBN.affine(gamma: vals[0].values, beta: vals[1].values, mean: vals[2].values, variance: vals[3].values, eps: Double(eps))
    }

    // MARK: - pass 2: place concatenations

    /// Where the concatenations' inputs are written.
    struct Placement {
        /// buffers that concatenations write into
        var groups: [Shape] = []
        /// where a tensor lies in one
        var loc: [String: (group: Int, off: Int)] = [:]
        /// concat ops that are only a view of their inputs
        var views = Set<Int>()
        /// concat op -> inputs to copy (tensor, channel offset)
        var copies: [Int: [(String, Int)]] = [:]
    }

    /// Walking the concatenations from the last: a view where the inputs already lie side by
    /// side, else each input written in place by its producer where it can be, copied where not.
    func placeConcats() -> Placement {
        var pl = Placement()
        // a view is written by the producer of its input, not by an op of its own: it is copied
        let produced = Set(ir.filter { !$0.kind.isView }.map(\.output))
        for k in ir.indices.reversed() {
            guard case .concat = ir[k].kind else { continue }
            if placeAsView(k, &pl) { continue }
            placeInputs(k, produced: produced, &pl)
        }
        return pl
    }

    /// Concat `k` is a view when its output is not placed yet and its inputs lie side by side.
    func placeAsView(_ k: Int, _ pl: inout Placement) -> Bool {
        let op = ir[k]
        guard pl.loc[op.output] == nil, let l0 = pl.loc[op.inputs[0]] else { return false }
        var off = l0.off
        for x in op.inputs {
            guard let l = pl.loc[x], l.group == l0.group, l.off == off, let s = shapes[x] else { return false }
            off += s.c
        }
        pl.loc[op.output] = l0
        pl.views.insert(k)
        return true
    }

    func placeInputs(_ k: Int, produced: Set<String>, _ pl: inout Placement) {
        let op = ir[k]
        let l: (group: Int, off: Int)
        if let placed = pl.loc[op.output] {
            l = placed
        } else {
            pl.groups.append(shapes[op.output]!)
            l = (pl.groups.count - 1, 0)
            pl.loc[op.output] = l
        }
        var off = l.off
        var seen = Set<String>()
        for x in op.inputs {
            if pl.loc[x] == nil && produced.contains(x) && !seen.contains(x) && x != outputName { pl.loc[x] = (l.group, off) }
            if let lx = pl.loc[x], lx.group == l.group, lx.off == off, !seen.contains(x) {
                // written in place by its producer
            } else {
                pl.copies[k, default: []].append((x, off))
            }
            seen.insert(x)
            off += shapes[x]!.c
        }
    }

    // MARK: - pass 3: emit

    func emit(_ model: Onnx_ModelProto) throws -> CNMBuilder {
        var e = try Emitter(self, placement: placeConcats())
        for k in ir.indices { try e.emit(k) }
        try e.setOutput()
        var b = e.b
        try setLabels(&b, classes: shapes[outputName]!.c)
        let opset = model.opsetImport.first { $0.domain.isEmpty }?.version ?? 0
        b.meta = [("arch", "onnx"), ("source", opt.sourceName), ("converter", "cnm-convert (edge-infer)"),
                  ("preset", opt.preset.name), ("onnx_producer", "\(model.producerName) \(model.producerVersion)"),
                  ("onnx_opset", String(opset)), ("onnx_nodes", String(model.graph.node.count)),
                  ("parameters_checkpoint", String(report.parametersBefore))]
        return b
    }

    /// --labels, else the preset's when they fit, else class_0 ... class_N-1.
    func setLabels(_ b: inout CNMBuilder, classes n: Int) throws {
        if let l = opt.labels {
            guard l.count == n else { throw fail("--labels gives \(l.count) labels for \(n) classes") }
            b.labels = l
        } else if let l = opt.preset.labels, l.count == n {
            b.labels = l
        } else {
            b.labels = (0..<n).map { "class_\($0)" }
        }
    }

    /// The IR ops into a `CNMBuilder`: each tensor a value of its own buffer, or of the
    /// concatenation buffer it was placed in.
    struct Emitter {
        let imp: ONNXImporter
        let pl: Placement
        var b = CNMBuilder()
        var value: [String: Int] = [:]
        var groupValue: [Int: Int] = [:]
        var convIndex = 0

        /// The input buffer and its normalisation.
        init(_ imp: ONNXImporter, placement: Placement) throws {
            self.imp = imp
            pl = placement
            let inShape = imp.shapes[imp.inputName]!
            b.inputShape = inShape
            b.mean = Array(imp.opt.preset.mean.prefix(inShape.c))
            b.std = Array(imp.opt.preset.std.prefix(inShape.c))
            guard b.mean.count == inShape.c, b.std.count == inShape.c else {
                throw imp.fail("the model takes \(inShape.c) input channels, the preset's mean/std give \(b.mean.count); pass --mean and --std")
            }
            b.resize = imp.opt.preset.resize
            let v = b.addBuffer(c: inShape.c, h: inShape.h, w: inShape.w)
            value[imp.inputName] = v
            b.inputValue = v
        }

        /// The value that op output `t` is written to (created on first use).
        mutating func output(_ t: String) -> Int {
            if let v = value[t] { return v }
            let s = imp.shapes[t]!
            let v: Int
            if let l = pl.loc[t] {
                let g = pl.groups[l.group]
                let gv = groupValue[l.group] ?? b.addBuffer(c: g.c, h: g.h, w: g.w)
                groupValue[l.group] = gv
                v = (l.off == 0 && s.c == g.c) ? gv : b.slice(of: gv, cOff: l.off, c: s.c)
            } else {
                v = b.addBuffer(c: s.c, h: s.h, w: s.w)
            }
            value[t] = v
            return v
        }

        func input(_ t: String) throws -> Int {
            guard let v = value[t] else { throw imp.fail("tensor '\(t)' is read before it is computed") }
            return v
        }

        mutating func emit(_ k: Int) throws {
            let op = imp.ir[k]
            switch op.kind {
            case .conv(let weight, let dims, let bias, let stride, let pad, let groups):
                convIndex += 1
                let name = op.name.isEmpty ? "conv\(convIndex)" : op.name
                let wt = b.addTensor(name + ".weight", weight, dims: dims)
                let bt = bias.map { b.addTensor(name + ".bias", $0, dims: [dims[0]]) }
                let x = try input(op.inputs[0])
                b.addConv2d(input: x, output: output(op.output), weight: wt, bias: bt, relu: op.relu,
                            params: Conv2DParams(strideH: stride.0, strideW: stride.1, padH: pad.0, padW: pad.1, groups: groups))
            case .channel(let scale, let shift):
                let name = op.name.isEmpty ? "bn\(k)" : op.name
                let st = scale.map { b.addTensor(name + ".scale", $0, dims: [$0.count]) }
                let sh = shift.map { b.addTensor(name + ".shift", $0, dims: [$0.count]) }
                b.addChannel(input: try input(op.inputs[0]), output: output(op.output), scale: st, shift: sh, relu: op.relu)
            case .pool(let isMax, let kernel, let stride, let pad, let ceil):
                b.addPool(isMax ? .max : .average, input: try input(op.inputs[0]), output: output(op.output), relu: op.relu,
                          params: PoolParams(kernelH: kernel.0, kernelW: kernel.1, strideH: stride.0, strideW: stride.1,
                                             padH: pad.0, padW: pad.1, ceilMode: isMax && ceil))
            case .add:
                b.addAdd(input: try input(op.inputs[0]), input1: try input(op.inputs[1]), output: output(op.output), relu: op.relu)
            case .lrn(let size, let alpha, let beta, let bias):
                b.addLRN(input: try input(op.inputs[0]), output: output(op.output), relu: op.relu,
                         params: LRNParams(size: size, alpha: alpha, beta: beta, bias: bias))
            case .sigmoid:
                b.addSigmoid(input: try input(op.inputs[0]), output: output(op.output), relu: op.relu)
            case .concat:
                try emitConcat(k, op)
            case .clip(let lo, let hi):
                b.addClip(input: try input(op.inputs[0]), output: output(op.output), relu: op.relu, params: ClipParams(min: lo, max: hi))
            case .shuffle(let g):
                b.addChannel(input: try input(op.inputs[0]), output: output(op.output), relu: op.relu, params: ChannelParams(shuffleGroups: g))
            case .mul:
                b.addMul(input: try input(op.inputs[0]), input1: try input(op.inputs[1]), output: output(op.output), relu: op.relu)
            case .view(let off):
                value[op.output] = b.subrange(of: try input(op.inputs[0]), off: off, c: imp.shapes[op.output]!.c)
            }
        }

        /// Copies of the inputs that are not written in place (none for a view).
        mutating func emitConcat(_ k: Int, _ op: IROp) throws {
            let out = output(op.output)
            if pl.views.contains(k) { return }
            for (x, off) in pl.copies[k] ?? [] {
                let s = imp.shapes[x]!
                b.addChannel(input: try input(x), output: b.slice(of: out, cOff: off, c: s.c))
            }
        }

        /// The logits must be a buffer of their own, not a slice and not the input (a graph whose
        /// output is its input through Identity, Dropout or a final Softmax gets a copy).
        mutating func setOutput() throws {
            var out = try input(imp.outputName)
            if !b.isWholeBuffer(out) || out == b.inputValue {
                let whole = b.addBuffer(c: imp.shapes[imp.outputName]!.c, h: 1, w: 1)
                b.addChannel(input: out, output: whole)
                out = whole
            }
            b.outputValue = out
        }
    }
}
