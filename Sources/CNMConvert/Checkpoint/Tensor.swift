/// Tensors of a checkpoint: the materialised form and the conversion from torch storages.
/// (No zip dependency here, so the fuzz harness can compile it with the unpickler and the error types alone.)
/// One tensor of a state_dict, materialised (contiguous, row-major).
public struct Tensor: Sendable {
    public let name: String
    public let shape: [Int]
    /// Floating-point data as Float; integer data (indices) also converted exactly.
    public let values: [Float]
    public let isInteger: Bool
    public var count: Int { values.count }
    public var ints: [Int] { values.map { Int($0) } }

    public init(name: String, shape: [Int], values: [Float], isInteger: Bool = false) {
        self.name = name
        self.shape = shape
        self.values = values
        self.isInteger = isInteger
    }
}

extension Tensor {
    /// Gather a tensor (any strides) from the raw little-endian bytes of its storage.
    static func materialise(_ name: String, _ t: TorchTensorRef, _ raw: [UInt8], path: String) throws -> Tensor {
        let (size, isInt): (Int, Bool)
        switch t.storage.type {
        case "FloatStorage": (size, isInt) = (4, false)
        case "DoubleStorage": (size, isInt) = (8, false)
        case "HalfStorage": (size, isInt) = (2, false)
        case "BFloat16Storage": (size, isInt) = (2, false)
        case "LongStorage": (size, isInt) = (8, true)
        case "IntStorage": (size, isInt) = (4, true)
        case "ShortStorage": (size, isInt) = (2, true)
        case "CharStorage", "ByteStorage", "BoolStorage": (size, isInt) = (1, true)
        default: throw ConvertError("\(path): tensor '\(name)' has unsupported storage type \(t.storage.type)")
        }
        guard raw.count >= t.storage.count * size else {
            throw ConvertError("\(path): storage data/\(t.storage.key) of '\(name)' is truncated (\(raw.count) bytes, needs \(t.storage.count * size))")
        }
        var count = 1
        for d in t.shape {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o, m <= 1 << 31 else { throw ConvertError("\(path): tensor '\(name)' shape \(t.shape) is too large") }
            count = m
        }
        // a view may repeat elements (stride 0), but not claim far more than its storage holds
        guard count <= max(t.storage.count, 1 << 20) else {
            throw ConvertError("\(path): tensor '\(name)' (shape \(t.shape)) has more elements than its storage of \(t.storage.count)")
        }
        // Largest element offset reachable through the strides must lie inside the storage.
        var maxOff = t.offset
        for (d, s) in zip(t.shape, t.stride) where d > 0 {
            guard s >= 0 else { throw ConvertError("\(path): tensor '\(name)' has a negative stride") }
            maxOff += (d - 1) * s
        }
        if count > 0 && maxOff >= t.storage.count {
            throw ConvertError("\(path): tensor '\(name)' (shape \(t.shape), offset \(t.offset)) reaches past its storage of \(t.storage.count) elements")
        }
        var values = [Float](repeating: 0, count: count)
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(raw[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        func u16(_ o: Int) -> UInt16 { UInt16(raw[o]) | UInt16(raw[o + 1]) << 8 }
        func element(_ idx: Int) -> Float {
            let o = idx * size
            switch t.storage.type {
            case "FloatStorage": return Float(bitPattern: u32(o))
            case "DoubleStorage": return Float(Double(bitPattern: u64(o)))
            case "HalfStorage": return Float(Float16(bitPattern: u16(o)))
            case "BFloat16Storage": return Float(bitPattern: UInt32(u16(o)) << 16)
            case "LongStorage": return Float(Int64(bitPattern: u64(o)))
            case "IntStorage": return Float(Int32(bitPattern: u32(o)))
            case "ShortStorage": return Float(Int16(bitPattern: u16(o)))
            case "CharStorage": return Float(Int8(bitPattern: raw[o]))
            default: return Float(raw[o])  // ByteStorage, BoolStorage
            }
        }
        if count > 0 {
            var idx = [Int](repeating: 0, count: t.shape.count)
            for n in 0..<count {
                var off = t.offset
                for d in 0..<idx.count { off += idx[d] * t.stride[d] }
                values[n] = element(off)
                var d = idx.count - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < t.shape[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(name: name, shape: t.shape, values: values, isInteger: isInt)
    }
}
