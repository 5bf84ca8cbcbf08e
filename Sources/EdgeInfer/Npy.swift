import Foundation

/// A NumPy `.npy` array of float32 (read: `<f4` or `<f8`, C order; written: `<f4`).
public struct NpyArray: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Refuse to allocate arrays beyond this (elements).
    public static let maxElements = 1 << 30

    public init(contentsOf path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw EdgeInferError(.io, "\(path): cannot read the file")
        }
        try self.init(bytes: [UInt8](d), name: path)
    }

    public init(bytes b: [UInt8], name: String) throws {
        func fail(_ why: String) -> EdgeInferError { EdgeInferError(.npy, "\(name): not a valid .npy file: \(why)") }
        guard b.count >= 10, Array(b[0..<6]) == Self.magic else { throw fail("bad magic") }
        let major = b[6]
        let headerLen: Int
        let start: Int
        if major == 1 {
            headerLen = Int(b[8]) | Int(b[9]) << 8
            start = 10
        } else if major == 2 || major == 3 {
            guard b.count >= 12 else { throw fail("truncated header") }
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        } else {
            throw fail("unsupported version \(major)")
        }
        guard headerLen <= 1 << 20, start + headerLen <= b.count else { throw fail("truncated header") }
        let header = String(decoding: b[start..<(start + headerLen)], as: UTF8.self)
        guard let descr = Self.field(header, "descr"), let fortran = Self.field(header, "fortran_order"),
            let shapeText = Self.field(header, "shape")
        else { throw fail("header lacks descr, fortran_order or shape") }
        guard fortran == "False" else { throw fail("Fortran-order arrays are not supported") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw fail("bad shape \(shapeText)") }
            shape.append(v)
            let (m, o) = count.multipliedReportingOverflow(by: v)
            guard !o, m <= Self.maxElements else { throw fail("shape \(shapeText) is too large") }
            count = m
        }
        let body = start + headerLen
        let itemSize: Int
        switch descr {
        case "'<f4'", "\"<f4\"": itemSize = 4
        case "'<f8'", "\"<f8\"": itemSize = 8
        default: throw fail("dtype \(descr) (float32 or float64 expected)")
        }
        guard b.count - body == count * itemSize else {
            throw fail("data holds \(b.count - body) bytes, shape \(shape) needs \(count * itemSize)")
        }
        var data = [Float](repeating: 0, count: count)
        b.withUnsafeBytes { raw in
            if itemSize == 4 {
                for i in 0..<count {
                    data[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: body + 4 * i, as: UInt32.self)))
                }
            } else {
                for i in 0..<count {
                    data[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: body + 8 * i, as: UInt64.self))))
                }
            }
        }
        self.shape = shape
        self.data = data
    }

    /// The value of `'key': value` in a NumPy header dict.
    static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var rest = header[r.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<end] }
        return rest.trimmingCharacters(in: .whitespaces)
    }

    public func serialized() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Self.magic + [1, 0]
        let n = header.utf8.count
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + 4 * data.count)
        for v in data {
            let u = v.bitPattern.littleEndian
            out += [UInt8(u & 0xFF), UInt8((u >> 8) & 0xFF), UInt8((u >> 16) & 0xFF), UInt8(u >> 24)]
        }
        return out
    }

    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(serialized())) else {
            throw EdgeInferError(.io, "\(path): cannot write the file")
        }
    }
}
