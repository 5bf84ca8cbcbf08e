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
        "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Concat",
        "LRN", "Gemm", "Flatten", "Reshape", "Squeeze", "Dropout", "Identity", "Constant", "Softmax (at the output)",
    ]

    typealias Shape = (c: Int, h: Int, w: Int)

    struct Const {
        var dims: [Int]
        var values: [Double]
    }

    enum Kind {
        case conv(weight: [Float], dims: [Int], bias: [Float]?, stride: (Int, Int), pad: (Int, Int), groups: Int)
        case channel(scale: [Float]?, shift: [Float]?)
        case pool(max: Bool, kernel: (Int, Int), stride: (Int, Int), pad: (Int, Int), ceil: Bool)
        case add
        case lrn(size: Int, alpha: Float, beta: Float, bias: Float)
        case concat
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
    var consts: [String: Const] = [:]
    var shapes: [String: Shape] = [:]
    /// tensors that are another tensor under a new name (Dropout, Identity, Flatten, ...)
    var alias: [String: String] = [:]
    var ir: [IROp] = []
    var report = ConversionReport()
    var inputName = ""
    var outputName = ""

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

    func fail(_ why: String) -> ConvertError { ConvertError("\(path): \(why)") }

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
        default:
            throw fail("\(what) '\(t.name)' has ONNX data type \(t.dataType), which is not supported (float, double, float16, int32, int64 are)")
        }
        guard v.count == count else { throw fail("\(what) '\(t.name)' has \(v.count) values for dims \(dims)") }
        return Const(dims: dims, values: v)
    }

    struct Attrs {
        var map: [String: Onnx_AttributeProto] = [:]
        func int(_ k: String, _ d: Int) -> Int { map[k].map { Int(clamping: $0.i) } ?? d }
        func float(_ k: String, _ d: Float) -> Float { map[k]?.f ?? d }
        func ints(_ k: String) -> [Int]? { map[k].map { $0.ints.map { Int(clamping: $0) } } }
        func string(_ k: String) -> String? { map[k].map { String(decoding: $0.s, as: UTF8.self) } }
    }

    // MARK: - pass 1: lower

    mutating func lower(_ model: Onnx_ModelProto) throws {
        let g = model.graph
        report.arch = "onnx"
        report.checkpointKind = "onnx" + (model.producerName.isEmpty ? "" : " (\(model.producerName) \(model.producerVersion))")
        for t in g.initializer {
            consts[t.name] = try const(t, "initializer")
            report.parametersBefore += consts[t.name]!.values.count
        }
        let inputs = g.input.filter { consts[$0.name] == nil }
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
        guard let c = dims[1], (1...4).contains(c) else { throw fail("input '\(input.name)' must have 1 to 4 channels (dims \(dims))") }
        if let n = dims[0], n != 1 { report.notes.append("the graph's batch size \(n) is run as 1") }
        let size = opt.inputSizeOverride
        let h = size ?? dims[2] ?? opt.preset.inputSize, w = size ?? dims[3] ?? opt.preset.inputSize
        guard (1...16384).contains(h), (1...16384).contains(w) else { throw fail("input '\(input.name)' is \(h)x\(w); at most 16384x16384 is supported") }
        if dims[2] == nil || dims[3] == nil { report.notes.append("input height/width are symbolic: \(h)x\(w) from the preset or --input-size") }
        shapes[inputName] = (c, h, w)

        var consumers: [String: Int] = [:]
        for n in g.node { for i in n.input where !i.isEmpty { consumers[i, default: 0] += 1 } }
        for o in g.output { consumers[o.name, default: 0] += 1 }
        var done = Set<Int>()
        // the single node that consumes `t`, when it is of type `type` and nothing else reads t
        func soleConsumer(_ t: String, _ type: String, after k: Int) -> Int? {
            guard consumers[t] == 1, g.output.allSatisfy({ $0.name != t }) else { return nil }
            for j in (k + 1)..<g.node.count where g.node[j].input.contains(t) {
                let n = g.node[j]
                return n.opType == type && n.domain.isEmpty && !n.output.isEmpty && !done.contains(j) ? j : nil
            }
            return nil
        }

        for (k, n) in g.node.enumerated() where !done.contains(k) {
            var a = Attrs()
            for at in n.attribute { a.map[at.name] = at }
            let label = "node \(k) '\(n.name.isEmpty ? n.opType : n.name)' (\(n.opType))"
            func shape(_ i: Int) throws -> Shape {
                guard i < n.input.count, let s = shapes[resolve(n.input[i])] else {
                    let what = i < n.input.count ? "'\(n.input[i])'" : "#\(i)"
                    throw fail("\(label): input \(what) is not an image tensor produced earlier in the graph")
                }
                return s
            }
            func constInput(_ i: Int) throws -> Const {
                guard i < n.input.count, let c = consts[n.input[i]] else {
                    throw fail("\(label): input #\(i) must be a constant (an initializer)")
                }
                return c
            }
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                throw fail("\(label): operator domain '\(n.domain)' is not supported")
            }
            guard let out0 = n.output.first else { throw fail("\(label): has no output") }
            // ReLU folded into the op that produces its input
            func withRelu(_ op: IROp, at j: Int) -> IROp {
                var op = op
                if let r = soleConsumer(op.output, "Relu", after: j) {
                    done.insert(r)
                    op.relu = true
                    op.output = g.node[r].output[0]
                }
                return op
            }
            func record(_ op: IROp, _ s: Shape, at j: Int) {
                let op = withRelu(op, at: j)
                shapes[op.output] = s
                ir.append(op)
            }
            func pads2(_ what: String) throws -> (Int, Int) {
                let p = a.ints("pads") ?? [0, 0, 0, 0]
                guard p.count == 4, p[0] == p[2], p[1] == p[3], p.allSatisfy({ (0...64).contains($0) }) else {
                    throw fail("\(label): pads \(p) are not symmetric (top = bottom, left = right) in 0...64, which \(what) needs")
                }
                return (p[0], p[1])
            }
            func noAutoPad() throws {
                if let ap = a.string("auto_pad"), ap != "NOTSET" { throw fail("\(label): auto_pad \(ap) is not supported (export with explicit pads)") }
            }
            func dilationsOne() throws {
                if let d = a.ints("dilations"), d.contains(where: { $0 != 1 }) { throw fail("\(label): dilations \(d) are not supported") }
            }

            switch n.opType {
            case "Constant":
                guard let t = a.map["value"], t.hasT else { throw fail("\(label): only a tensor 'value' is supported") }
                consts[out0] = try const(t.t, "constant")
            case "Identity", "Dropout":
                if n.output.count > 1, consumers[n.output[1], default: 0] > 0 { throw fail("\(label): its mask output is used") }
                if let c = n.input.first.flatMap({ consts[$0] }) {  // exporters alias shared weights this way
                    consts[out0] = c
                    continue
                }
                _ = try shape(0)
                alias[out0] = resolve(n.input[0])
            case "Flatten", "Reshape", "Squeeze":
                let s = try shape(0)
                let feats = s.c * s.h * s.w
                if n.opType == "Flatten" {
                    guard a.int("axis", 1) == 1 else { throw fail("\(label): flatten axis \(a.int("axis", 1)); only axis 1 is supported") }
                } else if n.opType == "Reshape" {
                    let target = try constInput(1).values.map { Int(exactly: $0.rounded(.towardZero)) ?? Int.min }
                    let ok = target.count == 2 && (target[0] == 1 || target[0] == -1 || target[0] == 0) && (target[1] == -1 || target[1] == feats)
                    guard ok else { throw fail("\(label): reshape to \(target); only flattening to (1, \(feats)) is supported") }
                } else {
                    guard s.h == 1 && s.w == 1 else { throw fail("\(label): squeeze of a \(s.c)x\(s.h)x\(s.w) map; only 1x1 maps are supported") }
                }
                // flattening is free: a fully-connected layer reads the C x H x W map as is
                alias[out0] = resolve(n.input[0])
            case "Conv":
                try noAutoPad()
                try dilationsOne()
                let s = try shape(0)
                let wc = try constInput(1)
                guard wc.dims.count == 4, wc.dims.allSatisfy({ $0 >= 1 }) else { throw fail("\(label): weight has dims \(wc.dims); a 2-D convolution is expected") }
                let groups = a.int("group", 1)
                guard groups >= 1, s.c % groups == 0, wc.dims[0] % groups == 0, wc.dims[1] * groups == s.c else {
                    throw fail("\(label): weight \(wc.dims) with \(groups) groups does not fit a \(s.c)-channel input")
                }
                let st = a.ints("strides") ?? [1, 1]
                guard st.count == 2, st.allSatisfy({ (1...64).contains($0) }) else { throw fail("\(label): strides \(st) not supported") }
                let pad = try pads2("a convolution")
                var bias: [Float]? = nil
                if n.input.count > 2, !n.input[2].isEmpty {
                    let bc = try constInput(2)
                    guard bc.values.count == wc.dims[0] else { throw fail("\(label): bias has \(bc.values.count) values for \(wc.dims[0]) outputs") }
                    bias = bc.values.map { Float($0) }
                }
                let (kh, kw) = (wc.dims[2], wc.dims[3])
                guard s.h + 2 * pad.0 >= kh, s.w + 2 * pad.1 >= kw else { throw fail("\(label): kernel \(kh)x\(kw) larger than the padded \(s.h)x\(s.w) input") }
                var weight = wc.values.map { Float($0) }
                var output = out0, last = k
                // Conv-BN: fold the BatchNorm into the weights and bias
                if let j = soleConsumer(out0, "BatchNormalization", after: k) {
                    let bn = try foldedBN(g.node[j], channels: wc.dims[0])
                    let per = weight.count / wc.dims[0]
                    var b2 = [Float](repeating: 0, count: wc.dims[0])
                    for o in 0..<wc.dims[0] {
                        for i in 0..<per { weight[o * per + i] = Float(Double(weight[o * per + i]) * bn.scale[o]) }
                        b2[o] = Float(Double(bias?[o] ?? 0) * bn.scale[o] + bn.shift[o])
                    }
                    bias = b2
                    done.insert(j)
                    output = g.node[j].output[0]
                    last = j
                    report.batchNormsFolded += 1
                }
                let oh = (s.h + 2 * pad.0 - kh) / st[0] + 1, ow = (s.w + 2 * pad.1 - kw) / st[1] + 1
                record(IROp(kind: .conv(weight: weight, dims: wc.dims, bias: bias, stride: (st[0], st[1]), pad: pad, groups: groups),
                            inputs: [n.input[0]], output: output, name: n.name), (wc.dims[0], oh, ow), at: last)
            case "Gemm":
                let s = try shape(0)
                guard a.float("alpha", 1) == 1, a.float("beta", 1) == 1, a.int("transA", 0) == 0 else {
                    throw fail("\(label): only alpha = beta = 1 and transA = 0 are supported")
                }
                let wc = try constInput(1)
                let feats = s.c * s.h * s.w
                guard wc.dims.count == 2, wc.dims.allSatisfy({ $0 >= 1 }) else { throw fail("\(label): weight dims \(wc.dims) are not 2-D") }
                let transB = a.int("transB", 0) == 1
                let (nOut, kIn) = transB ? (wc.dims[0], wc.dims[1]) : (wc.dims[1], wc.dims[0])
                guard kIn == feats else { throw fail("\(label): weight takes \(kIn) features, the input has \(feats) (\(s.c)x\(s.h)x\(s.w))") }
                var weight = [Float](repeating: 0, count: nOut * kIn)
                for o in 0..<nOut { for i in 0..<kIn { weight[o * kIn + i] = Float(transB ? wc.values[o * kIn + i] : wc.values[i * nOut + o]) } }
                var bias: [Float]? = nil
                if n.input.count > 2, !n.input[2].isEmpty {
                    let bc = try constInput(2)
                    guard bc.values.count == nOut else { throw fail("\(label): bias has \(bc.values.count) values for \(nOut) outputs (broadcasting is not supported)") }
                    bias = bc.values.map { Float($0) }
                }
                // a fully-connected layer is a convolution whose kernel is the whole input map
                record(IROp(kind: .conv(weight: weight, dims: [nOut, s.c, s.h, s.w], bias: bias, stride: (1, 1), pad: (0, 0), groups: 1),
                            inputs: [n.input[0]], output: out0, name: n.name), (nOut, 1, 1), at: k)
            case "BatchNormalization":
                let s = try shape(0)
                let bn = try foldedBN(n, channels: s.c)
                record(IROp(kind: .channel(scale: bn.scale.map { Float($0) }, shift: bn.shift.map { Float($0) }),
                            inputs: [n.input[0]], output: out0, name: n.name), s, at: k)
            case "Relu":
                let s = try shape(0)
                var op = IROp(kind: .channel(scale: nil, shift: nil), inputs: [n.input[0]], output: out0, name: n.name)
                op.relu = true
                shapes[out0] = s
                ir.append(op)
            case "MaxPool", "AveragePool":
                try noAutoPad()
                try dilationsOne()
                let s = try shape(0)
                let isMax = n.opType == "MaxPool"
                if n.output.count > 1, consumers[n.output[1], default: 0] > 0 { throw fail("\(label): its indices output is used") }
                guard let kk = a.ints("kernel_shape"), kk.count == 2, kk.allSatisfy({ (1...4096).contains($0) }) else { throw fail("\(label): needs a 2-D kernel_shape of 1...4096") }
                let st = a.ints("strides") ?? [1, 1]
                guard st.count == 2, st.allSatisfy({ (1...4096).contains($0) }) else { throw fail("\(label): strides \(st) not supported") }
                let pad = try pads2("a pool")
                guard pad.0 < kk[0], pad.1 < kk[1], s.h + 2 * pad.0 >= kk[0], s.w + 2 * pad.1 >= kk[1] else {
                    throw fail("\(label): window \(kk) with pads \(pad) does not fit a \(s.h)x\(s.w) input")
                }
                if !isMax && a.int("count_include_pad", 0) == 0 && (pad.0 > 0 || pad.1 > 0) {
                    throw fail("\(label): average pool with padding excluded from the divisor (count_include_pad = 0) is not supported")
                }
                func outSize(_ i: Int, _ k: Int, _ s: Int, _ p: Int, ceil: Bool) -> Int {
                    var o = ceil ? (i + 2 * p - k + s - 1) / s + 1 : (i + 2 * p - k) / s + 1
                    if ceil && (o - 1) * s >= i + p { o -= 1 }
                    return o
                }
                var ceil = a.int("ceil_mode", 0) == 1
                let fh = outSize(s.h, kk[0], st[0], pad.0, ceil: false), fw = outSize(s.w, kk[1], st[1], pad.1, ceil: false)
                let ch = outSize(s.h, kk[0], st[0], pad.0, ceil: ceil), cw = outSize(s.w, kk[1], st[1], pad.1, ceil: ceil)
                if ceil && ch == fh && cw == fw { ceil = false }  // rounding up changes nothing here
                if ceil && !isMax { throw fail("\(label): average pool with ceil_mode that changes the output size is not supported") }
                record(IROp(kind: .pool(max: isMax, kernel: (kk[0], kk[1]), stride: (st[0], st[1]), pad: pad, ceil: ceil),
                            inputs: [n.input[0]], output: out0, name: n.name), (s.c, ch, cw), at: k)
            case "GlobalAveragePool":
                let s = try shape(0)
                record(IROp(kind: .pool(max: false, kernel: (s.h, s.w), stride: (1, 1), pad: (0, 0), ceil: false),
                            inputs: [n.input[0]], output: out0, name: n.name), (s.c, 1, 1), at: k)
            case "Add":
                let s0 = try shape(0), s1 = try shape(1)
                guard s0 == s1 else { throw fail("\(label): adds \(s0.c)x\(s0.h)x\(s0.w) and \(s1.c)x\(s1.h)x\(s1.w); broadcasting is not supported") }
                record(IROp(kind: .add, inputs: [n.input[0], n.input[1]], output: out0, name: n.name), s0, at: k)
            case "LRN":
                let s = try shape(0)
                let size = a.int("size", 0)
                guard (1...4096).contains(size) else { throw fail("\(label): LRN size \(size) is outside 1...4096") }
                record(IROp(kind: .lrn(size: size, alpha: a.float("alpha", 1e-4), beta: a.float("beta", 0.75), bias: a.float("bias", 1)),
                            inputs: [n.input[0]], output: out0, name: n.name), s, at: k)
            case "Concat":
                guard a.int("axis", 1) == 1 || a.int("axis", 1) == -3 else { throw fail("\(label): concatenation along axis \(a.int("axis", 1)); only channels (axis 1) are supported") }
                let ss = try n.input.indices.map { try shape($0) }
                guard let f = ss.first, ss.allSatisfy({ $0.h == f.h && $0.w == f.w }) else { throw fail("\(label): inputs differ in height or width") }
                record(IROp(kind: .concat, inputs: n.input, output: out0, name: n.name), (ss.reduce(0) { $0 + $1.c }, f.h, f.w), at: k)
            case "Softmax", "LogSoftmax":
                // probabilities are computed by the runtime from the logits: a final softmax is dropped
                guard g.output.first?.name == out0 else { throw fail("\(label): \(n.opType) inside the graph is not supported (only as the last node)") }
                _ = try shape(0)
                alias[out0] = resolve(n.input[0])
                report.notes.append("the final \(n.opType) is dropped: edge-infer reports probabilities from the logits")
            default:
                throw fail("\(label): operator \(n.opType) is not supported (supported: \(Self.supportedOperators.joined(separator: ", ")))")
            }
        }
        outputName = resolve(g.output[0].name)
        guard let os = shapes[outputName] else { throw fail("the graph output '\(g.output[0].name)' is not computed from the input") }
        guard os.h == 1 && os.w == 1 else { throw fail("the graph output is \(os.c)x\(os.h)x\(os.w); a vector of logits is expected") }
        // ops now name their inputs by the tensors behind the aliases
        for k in ir.indices { ir[k].inputs = ir[k].inputs.map(resolve) }
    }

    func foldedBN(_ n: Onnx_NodeProto, channels: Int) throws -> (scale: [Double], shift: [Double]) {
        var eps: Float = 1e-5
        for at in n.attribute where at.name == "epsilon" { eps = at.f }
        guard n.input.count == 5, let g = consts[n.input[1]], let b = consts[n.input[2]], let m = consts[n.input[3]], let v = consts[n.input[4]],
            [g, b, m, v].allSatisfy({ $0.values.count == channels })
        else { throw fail("node '\(n.name)' (BatchNormalization): needs constant scale, bias, mean and variance of \(channels) values") }
        return FoldedBN.affine(gamma: g.values, beta: b.values, mean: m.values, variance: v.values, eps: Double(eps))
    }

    // MARK: - pass 2 + 3: place concatenations, emit

    func emit(_ model: Onnx_ModelProto) throws -> CNMBuilder {
        // groups: buffers that concatenations write into; loc: where a tensor lies in one
        var groups: [Shape] = []
        var loc: [String: (group: Int, off: Int)] = [:]
        var views = Set<Int>()       // concat ops that are only a view of their inputs
        var copies: [Int: [(String, Int)]] = [:]  // concat op -> inputs to copy (tensor, channel offset)
        let produced = Set(ir.map(\.output))
        for k in ir.indices.reversed() {
            guard case .concat = ir[k].kind else { continue }
            let op = ir[k]
            // already side by side? then the concat is a view
            if loc[op.output] == nil, let l0 = loc[op.inputs[0]] {
                var off = l0.off, ok = true
                for x in op.inputs {
                    guard let l = loc[x], l.group == l0.group, l.off == off, let s = shapes[x] else { ok = false; break }
                    off += s.c
                }
                if ok {
                    loc[op.output] = l0
                    views.insert(k)
                    continue
                }
            }
            if loc[op.output] == nil {
                groups.append(shapes[op.output]!)
                loc[op.output] = (groups.count - 1, 0)
            }
            let l = loc[op.output]!
            var off = l.off
            var seen = Set<String>()
            for x in op.inputs {
                if loc[x] == nil && produced.contains(x) && !seen.contains(x) && x != outputName { loc[x] = (l.group, off) }
                if let lx = loc[x], lx.group == l.group, lx.off == off, !seen.contains(x) {
                    // written in place by its producer
                } else {
                    copies[k, default: []].append((x, off))
                }
                seen.insert(x)
                off += shapes[x]!.c
            }
        }

        var b = CNMBuilder()
        let inShape = shapes[inputName]!
        b.inputShape = inShape
        b.mean = Array(opt.preset.mean.prefix(inShape.c))
        b.std = Array(opt.preset.std.prefix(inShape.c))
        guard b.mean.count == inShape.c, b.std.count == inShape.c else {
            throw fail("the model takes \(inShape.c) input channels, the preset's mean/std give \(b.mean.count); pass --mean and --std")
        }
        b.resize = opt.preset.resize
        var groupValue: [Int: Int] = [:]
        var value: [String: Int] = [inputName: b.addBuffer(c: inShape.c, h: inShape.h, w: inShape.w)]
        b.inputValue = value[inputName]!
        func valueFor(_ t: String) -> Int {
            if let v = value[t] { return v }
            let s = shapes[t]!
            let v: Int
            if let l = loc[t] {
                if groupValue[l.group] == nil {
                    let g = groups[l.group]
                    groupValue[l.group] = b.addBuffer(c: g.c, h: g.h, w: g.w)
                }
                let gv = groupValue[l.group]!
                v = (l.off == 0 && s.c == groups[l.group].c) ? gv : b.slice(of: gv, cOff: l.off, c: s.c)
            } else {
                v = b.addBuffer(c: s.c, h: s.h, w: s.w)
            }
            value[t] = v
            return v
        }
        func input(_ t: String) throws -> Int {
            guard let v = value[t] else { throw fail("tensor '\(t)' is read before it is computed") }
            return v
        }
        var convIndex = 0
        for (k, op) in ir.enumerated() {
            switch op.kind {
            case .conv(let weight, let dims, let bias, let stride, let pad, let groups):
                convIndex += 1
                let name = op.name.isEmpty ? "conv\(convIndex)" : op.name
                let wt = b.addTensor(name + ".weight", weight, dims: dims)
                let bt = bias.map { b.addTensor(name + ".bias", $0, dims: [dims[0]]) } ?? -1
                let x = try input(op.inputs[0])
                b.addOp(.conv2d, input: x, output: valueFor(op.output), relu: op.relu, tensors: [wt, bt],
                        params: [stride.0, stride.1, pad.0, pad.1, groups])
            case .channel(let scale, let shift):
                let name = op.name.isEmpty ? "bn\(k)" : op.name
                let st = scale.map { b.addTensor(name + ".scale", $0, dims: [$0.count]) } ?? -1
                let sh = shift.map { b.addTensor(name + ".shift", $0, dims: [$0.count]) } ?? -1
                b.addOp(.channel, input: try input(op.inputs[0]), output: valueFor(op.output), relu: op.relu, tensors: [st, sh])
            case .pool(let isMax, let kernel, let stride, let pad, let ceil):
                b.addOp(isMax ? .maxpool : .avgpool, input: try input(op.inputs[0]), output: valueFor(op.output), relu: op.relu,
                        params: [kernel.0, kernel.1, stride.0, stride.1, pad.0, pad.1] + (isMax ? [ceil ? 1 : 0] : []))
            case .add:
                b.addOp(.add, input: try input(op.inputs[0]), input1: try input(op.inputs[1]), output: valueFor(op.output), relu: op.relu)
            case .lrn(let size, let alpha, let beta, let bias):
                b.addOp(.lrn, input: try input(op.inputs[0]), output: valueFor(op.output), relu: op.relu,
                        params: [size, CNMBuilder.floatParam(alpha), CNMBuilder.floatParam(beta), CNMBuilder.floatParam(bias)])
            case .concat:
                let out = valueFor(op.output)
                if views.contains(k) { break }
                for (x, off) in copies[k] ?? [] {
                    let s = shapes[x]!
                    b.addOp(.channel, input: try input(x), output: b.slice(of: out, cOff: off, c: s.c))
                }
            }
        }
        var out = try input(outputName)
        let os = shapes[outputName]!
        if !b.isWholeBuffer(out) {  // the logits must be a buffer of their own
            let whole = b.addBuffer(c: os.c, h: 1, w: 1)
            b.addOp(.channel, input: out, output: whole)
            out = whole
        }
        b.outputValue = out
        let n = os.c
        if let l = opt.labels {
            guard l.count == n else { throw fail("--labels gives \(l.count) labels for \(n) classes") }
            b.labels = l
        } else if let l = opt.preset.labels, l.count == n {
            b.labels = l
        } else {
            b.labels = (0..<n).map { "class_\($0)" }
        }
        let opset = model.opsetImport.first { $0.domain.isEmpty }?.version ?? 0
        b.meta = [("arch", "onnx"), ("source", opt.sourceName), ("converter", "cnm-convert (edge-infer)"),
                  ("preset", opt.preset.name), ("onnx_producer", "\(model.producerName) \(model.producerVersion)"),
                  ("onnx_opset", String(opset)), ("onnx_nodes", String(model.graph.node.count)),
                  ("parameters_checkpoint", String(report.parametersBefore))]
        return b
    }
}
