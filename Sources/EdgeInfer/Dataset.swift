import CImageIO
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

/// A labelled image set: a folder of class sub-folders, or a tar / tar.gz archive of them
/// (`<anything>/<class>/<image>`). The class of an image is the name of its parent folder.
public struct Dataset {
    public struct Sample {
        public let name: String
        public let className: String
        let load: () throws -> [UInt8]
        public func bytes() throws -> [UInt8] { try load() }
    }

    public let path: String
    public let classes: [String]
    /// Round-robin over classes (sorted), so a prefix is balanced.
    public let samples: [Sample]

    public static let imageExtensions: Set<String> = ["ppm", "pgm", "pnm", "jpg", "jpeg", "png"]
    /// Decompressed archives larger than this are refused.
    public static let maxArchiveBytes = 4 << 30

    public init(path: String) throws {
        self.path = path
        guard pathExists(path) else { throw EdgeInferError(.io, "\(path): no such file or folder") }
        var byClass: [String: [Sample]] = [:]
        if isDirectoryPath(path) {
            let fm = FileManager.default
            let subs = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            for c in subs.sorted() {
                let dir = path.appendingPath(c)
                guard isDirectoryPath(dir) else { continue }
                for f in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
                where Self.imageExtensions.contains(f.pathExtension.lowercased()) {
                    let file = dir.appendingPath(f)
                    byClass[c, default: []].append(Sample(name: file, className: c) {
                        guard let d = FileManager.default.contents(atPath: file) else {
                            throw EdgeInferError(.io, "\(file): cannot read the file")
                        }
                        return [UInt8](d)
                    })
                }
            }
        } else {
            guard let d = FileManager.default.contents(atPath: path) else { throw EdgeInferError(.io, "\(path): cannot read the file") }
            var bytes = [UInt8](d)
            if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
                var out: UnsafeMutablePointer<UInt8>?
                var n = 0
                var err = cnm_error()
                let st = bytes.withUnsafeBytes { edge_gunzip($0.baseAddress, $0.count, path, Self.maxArchiveBytes, &out, &n, &err) }
                guard st == CNM_OK, let out else { throw EdgeInferError(status: st, err) }
                bytes = Array(UnsafeBufferPointer(start: out, count: n))
                free(out)
            }
            let all = bytes
            for e in try Self.tarEntries(all, name: path) {
                let parts = e.path.split(separator: "/")
                guard parts.count >= 2, Self.imageExtensions.contains(e.path.pathExtension.lowercased()) else { continue }
                let range = e.range
                byClass[String(parts[parts.count - 2]), default: []].append(Sample(name: e.path, className: String(parts[parts.count - 2])) {
                    Array(all[range])
                })
            }
        }
        guard !byClass.isEmpty else { throw EdgeInferError(.argument, "\(path): no images in class sub-folders found") }
        classes = byClass.keys.sorted()
        var ordered: [Sample] = []
        let lists = classes.map { byClass[$0]!.sorted { $0.name < $1.name } }
        for i in 0..<(lists.map(\.count).max() ?? 0) { for l in lists where i < l.count { ordered.append(l[i]) } }
        samples = ordered
    }

    /// Regular files of a POSIX (ustar / GNU) tar archive: name and byte range of the contents.
    public static func tarEntries(_ b: [UInt8], name: String) throws -> [(path: String, range: Range<Int>)] {
        var out: [(String, Range<Int>)] = []
        var off = 0
        var longName: String?
        func field(_ o: Int, _ n: Int) -> String {
            String(decoding: b[o..<(o + n)].prefix { $0 != 0 }, as: UTF8.self)
        }
        while off + 512 <= b.count {
            if b[off..<(off + 512)].allSatisfy({ $0 == 0 }) { break }
            let sizeText = field(off + 124, 12).trimmed(["\0"])
            guard let size = Int(sizeText, radix: 8), size >= 0 else {
                throw EdgeInferError(.argument, "\(name): not a tar archive (bad header at byte \(off))")
            }
            let type = b[off + 156]
            var path = field(off, 100)
            let prefix = field(off + 345, 155)
            if String(decoding: b[(off + 257)..<(off + 262)], as: UTF8.self) == "ustar" && !prefix.isEmpty { path = prefix + "/" + path }
            let start = off + 512
            guard start + size <= b.count else { throw EdgeInferError(.argument, "\(name): truncated tar archive (entry \(path))") }
            if type == UInt8(ascii: "L") {  // GNU long name for the next entry
                longName = String(decoding: b[start..<(start + size)].prefix { $0 != 0 }, as: UTF8.self)
            } else {
                if let l = longName { path = l; longName = nil }
                if type == 0 || type == UInt8(ascii: "0") { out.append((path, start..<(start + size))) }
            }
            off = start + (size + 511) / 512 * 512
        }
        return out
    }
}
