import Foundation
import ZIPFoundation

/// A checkpoint written by `torch.save` (zip format): the unpickled top-level object and
/// the state_dict found in it, with `module.` prefixes removed.
public struct TorchCheckpoint {
    public let path: String
    /// Keys in file order.
    public let keys: [String]
    public let tensors: [String: Tensor]
    /// Top-level entries other than state_dict (epoch, arch, ...), as text.
    public let extras: [String: String]

    init(path: String, keys: [String], tensors: [String: Tensor], extras: [String: String]) {
        self.path = path
        self.keys = keys
        self.tensors = tensors
        self.extras = extras
    }

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
        defer { up.breakCycles() }  // everything needed is copied out below
        let top: PickleValue
        do { top = try up.load() } catch let e as PickleError { throw ConvertError(e.description) }

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
            tensors[key] = try Tensor.materialise(key, t, storages[t.storage.key]!, path: path)
            keys.append(key)
        }
        guard !keys.isEmpty else { throw ConvertError("\(path): the checkpoint holds no tensors") }
        self.keys = keys
        self.tensors = tensors
    }
}
