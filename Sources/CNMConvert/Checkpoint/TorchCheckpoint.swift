import Foundation
import ZIPFoundation

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

public struct ConvertError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A checkpoint written by `torch.save` (zip format): the unpickled top-level object and
/// the state_dict found in it, with `module.` prefixes removed.
public struct TorchCheckpoint {
    public let path: String
    public let top: PickleValue
    /// Keys in file order.
    public let keys: [String]
    public let tensors: [String: Tensor]
    /// Top-level entries other than state_dict (epoch, arch, ...), as text.
    public let extras: [String: String]

    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.isReadableFile(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConvertError("\(path): \(exists ? "cannot read the file" : "no such file")")
        }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 4)) ?? Data()
        guard head.count == 4, head[0] == 0x50, head[1] == 0x4B else {
            if head.count >= 2 && head[0] == 0x80 {
                throw ConvertError("\(path): legacy (non-zip) torch.save format; re-save it with PyTorch >= 1.6 (the default zip format)")
            }
            throw ConvertError("\(path): not a PyTorch checkpoint (not a zip archive)")
        }
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw ConvertError("\(path): not a readable zip archive (truncated or corrupt): \(error)")
        }
        guard let pkl = archive.first(where: { $0.path.hasSuffix("data.pkl") && $0.path.split(separator: "/").count == 2 }) else {
            throw ConvertError("\(path): zip archive without <name>/data.pkl: not a torch.save checkpoint")
        }
        let prefix = String(pkl.path.dropLast("data.pkl".count))
        func read(_ entry: Entry) throws -> [UInt8] {
            guard entry.uncompressedSize <= 1 << 31 else { throw ConvertError("\(path): \(entry.path) is too large") }
            var out = [UInt8]()
            out.reserveCapacity(Int(entry.uncompressedSize))
            do {
                _ = try archive.extract(entry, skipCRC32: false) { out.append(contentsOf: $0) }
            } catch {
                throw ConvertError("\(path): cannot read \(entry.path) from the archive (truncated or corrupt): \(error)")
            }
            return out
        }
        var up = Unpickler(bytes: try read(pkl), name: "\(path) (\(pkl.path))")
        let top: PickleValue
        do { top = try up.load() } catch let e as PickleError { throw ConvertError(e.description) }
        self.top = top

        // The state_dict: top['state_dict'] (official code), or the top-level dict itself.
        guard case .dict(let topDict) = top else {
            throw ConvertError("\(path): the checkpoint holds \(top), not a dict with a state_dict")
        }
        var sd = topDict
        var extras: [String: String] = [:]
        if case .dict(let inner)? = topDict["state_dict"] {
            sd = inner
            for (k, v) in topDict.items where k.asString != "state_dict" {
                if let ks = k.asString {
                    switch v {
                    case .int, .float, .string, .bool: extras[ks] = v.description.trimmingCharacters(in: CharacterSet(charactersIn: "'"))
                    default: extras[ks] = v.description
                    }
                }
            }
        } else if case .dict(let inner)? = topDict["model"] {
            sd = inner
        }
        self.extras = extras

        var storages: [String: [UInt8]] = [:]
        var keys: [String] = []
        var tensors: [String: Tensor] = [:]
        for (k, v) in sd.items {
            guard let key0 = k.asString else { continue }
            guard case .tensor(let t) = v else { continue }
            let key = key0.hasPrefix("module.") ? String(key0.dropFirst("module.".count)) : key0
            if storages[t.storage.key] == nil {
                guard let e = archive[prefix + "data/" + t.storage.key] else {
                    throw ConvertError("\(path): tensor '\(key0)' refers to storage data/\(t.storage.key), which the archive lacks")
                }
                storages[t.storage.key] = try read(e)
            }
            tensors[key] = try Self.materialise(key, t, storages[t.storage.key]!, path: path)
            keys.append(key)
        }
        guard !keys.isEmpty else { throw ConvertError("\(path): the checkpoint holds no tensors") }
        self.keys = keys
        self.tensors = tensors
    }

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
        func element(_ idx: Int) -> Float {
            let o = idx * size
            switch (t.storage.type, size) {
            case ("FloatStorage", _):
                return Float(bitPattern: UInt32(raw[o]) | UInt32(raw[o + 1]) << 8 | UInt32(raw[o + 2]) << 16 | UInt32(raw[o + 3]) << 24)
            case ("DoubleStorage", _):
                var u: UInt64 = 0
                for k in 0..<8 { u |= UInt64(raw[o + k]) << (8 * UInt64(k)) }
                return Float(Double(bitPattern: u))
            case ("HalfStorage", _):
                return Float(Float16(bitPattern: UInt16(raw[o]) | UInt16(raw[o + 1]) << 8))
            case ("BFloat16Storage", _):
                return Float(bitPattern: (UInt32(raw[o]) | UInt32(raw[o + 1]) << 8) << 16)
            case ("LongStorage", _):
                var u: UInt64 = 0
                for k in 0..<8 { u |= UInt64(raw[o + k]) << (8 * UInt64(k)) }
                return Float(Int64(bitPattern: u))
            case ("IntStorage", _):
                return Float(Int32(bitPattern: UInt32(raw[o]) | UInt32(raw[o + 1]) << 8 | UInt32(raw[o + 2]) << 16 | UInt32(raw[o + 3]) << 24))
            case ("ShortStorage", _):
                return Float(Int16(bitPattern: UInt16(raw[o]) | UInt16(raw[o + 1]) << 8))
            case ("CharStorage", _):
                return Float(Int8(bitPattern: raw[o]))
            default:
                return Float(raw[o])
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
