// Shape arithmetic on constants: what exporters emit to compute a Reshape target or Slice bounds
// from a tensor's shape (ShuffleNet v2's channel split: Shape -> Gather -> Add -> Div -> Mul ->
// Slice). Every map's shape is known when it is converted, so these nodes are evaluated here and
// leave only constants behind.

extension ONNXImporter {
    static func isIntegerType(_ t: Int32) -> Bool { [2, 3, 4, 5, 6, 7, 9, 12, 13].contains(t) }

    /// Add, Sub, Mul or Div of two constants (of one shape, or one of them a single value): the
    /// result as a constant. False when an input is not a constant.
    mutating func foldBinary(_ n: Node) throws -> Bool {
        guard isConstant(n.input[0]), isConstant(n.input[1]),
              let a = try constant(n.input[0], "\(n.label), input #0"), let b = try constant(n.input[1], "\(n.label), input #1") else { return false }
        guard a.values.count == b.values.count || a.values.count == 1 || b.values.count == 1 else {
            throw fail("\(n.label): constants of dims \(a.dims) and \(b.dims); broadcasting is supported only of a single value")
        }
        let integer = Self.isIntegerType(a.type) && Self.isIntegerType(b.type)
        let count = max(a.values.count, b.values.count)
        var out: [Double] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let x = a.values[a.values.count == 1 ? 0 : i], y = b.values[b.values.count == 1 ? 0 : i]
            switch n.opType {
            case "Add": out.append(x + y)
            case "Sub": out.append(x - y)
            case "Mul": out.append(x * y)
            default:
                if integer {
                    guard y != 0 else { throw fail("\(n.label): integer division by zero") }
                    out.append((x / y).rounded(.towardZero))  // ONNX Div of integers truncates
                } else {
                    out.append(x / y)
                }
            }
        }
        consts[n.out0] = Const(dims: a.values.count >= b.values.count ? a.dims : b.dims, values: out, type: integer ? a.type : (a.isFloat ? a.type : b.type))
        return true
    }

    /// Concat of constants (1-D, axis 0): folded. False when an input is a map.
    mutating func foldConcat(_ n: Node) throws -> Bool {
        guard !n.input.isEmpty, n.input.allSatisfy({ isConstant($0) }) else { return false }
        var vals: [Double] = []
        var type: Int32 = 7
        for (i, x) in n.input.enumerated() {
            guard let c = try constant(x, "\(n.label), input #\(i)"), c.dims.count <= 1 else {
                throw fail("\(n.label): concatenation of constants is supported only of vectors")
            }
            vals += c.values
            type = c.type
        }
        consts[n.out0] = Const(dims: [vals.count], values: vals, type: type)
        return true
    }

    /// Shape (of a map or a constant), Gather, Unsqueeze and Cast of constants.
    mutating func foldShapeArithmetic(_ n: Node) throws {
        guard let x = n.input.first else { throw fail("\(n.label): has no input") }
        switch n.opType {
        case "Shape":
            var dims: [Int]
            if let s = shapes[resolve(x)] {
                dims = [1, s.c, s.h, s.w]
            } else if let c = try constant(x, "\(n.label), input #0") {
                dims = c.dims
            } else {
                throw fail("\(n.label): input '\(x)' is neither a map nor a constant")
            }
            let r = dims.count
            func axis(_ v: Int) -> Int { v < 0 ? max(0, v + r) : min(v, r) }
            let b = axis(n.a.int("start", 0)), e = axis(n.a.int("end", r))
            dims = b < e ? Array(dims[b..<e]) : []
            consts[n.out0] = Const(dims: [dims.count], values: dims.map(Double.init), type: 7)
        case "Gather":
            guard let data = try constant(x, "\(n.label), input #0") else {
                throw fail("\(n.label): gathering from a map is not supported; only from a constant (shape arithmetic)")
            }
            let idx = try constInput(n, 1)
            guard data.dims.count <= 1, [0, -1].contains(n.a.int("axis", 0)) || data.dims.count == 0 else {
                throw fail("\(n.label): gather along axis \(n.a.int("axis", 0)) of a constant of dims \(data.dims); only of vectors")
            }
            let m = data.values.count
            let vals = try idx.values.map { v -> Double in
                let i = Int(v) < 0 ? Int(v) + m : Int(v)
                guard v.isFinite, i >= 0, i < m else { throw fail("\(n.label): index \(v) is outside the \(m) values") }
                return data.values[i]
            }
            consts[n.out0] = Const(dims: idx.dims, values: vals, type: data.type)
        case "Unsqueeze":
            guard let c = try constant(x, "\(n.label), input #0") else {
                throw fail("\(n.label): unsqueezing a map is not supported; only constants (shape arithmetic)")
            }
            let axes = try intsAttributeOrInput(n, "axes", input: 1) ?? []
            let r = c.dims.count + axes.count
            var dims = c.dims
            for a in axes.map({ $0 < 0 ? $0 + r : $0 }).sorted() {
                guard a >= 0, a <= dims.count else { throw fail("\(n.label): axis \(a) is outside rank \(r)") }
                dims.insert(1, at: a)
            }
            consts[n.out0] = Const(dims: dims, values: c.values, type: c.type)
        default:  // Cast
            guard let c = try constant(x, "\(n.label), input #0") else {
                throw fail("\(n.label): casting a map is not supported; only constants (shape arithmetic)")
            }
            let to = Int32(clamping: n.a.int("to", 1))
            guard [1, 10, 11].contains(to) || Self.isIntegerType(to) else { throw fail("\(n.label): cast to ONNX data type \(Self.dataTypeName(to)) is not supported") }
            let vals = Self.isIntegerType(to) && !Self.isIntegerType(c.type) ? c.values.map { $0.rounded(.towardZero) } : c.values
            consts[n.out0] = Const(dims: c.dims, values: vals, type: to)
        }
    }
}
