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

/// A NumPy `.npy` array of float32 (read: `<f4` or `<f8`, C order; written: `<f4`).
public struct NpyArray: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    public init(contentsOf path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw EdgeInferError(.io, "\(path): cannot read the file")
        }
        try self.init(bytes: [UInt8](d), name: path)
    }

    public init(bytes b: [UInt8], name: String) throws {
        var a = cnm_npy()
        var err = cnm_error()
        let st = b.withUnsafeBytes { cnm_npy_parse($0.baseAddress, $0.count, name, &a, &err) }
        guard st == CNM_OK else { throw EdgeInferError(status: st, err) }
        defer { cnm_npy_free(&a) }
        shape = withUnsafeBytes(of: a.shape) { raw in Array(raw.bindMemory(to: UInt64.self).prefix(Int(a.ndim))).map { Int($0) } }
        data = Array(UnsafeBufferPointer(start: a.data, count: Int(a.count)))
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
