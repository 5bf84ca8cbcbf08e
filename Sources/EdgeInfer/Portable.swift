#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// What the runtime and `edge-infer` need beyond FoundationEssentials (which has no ICU, so a
// statically linked edge-infer stays small): printf-style numbers, path pieces, stderr, a lock.

/// printf-style formatting of numbers (no %@: interpolate strings instead).
public func cformat(_ format: String, _ args: CVarArg...) -> String {
    withVaList(args) { va in
        var buf = [CChar](repeating: 0, count: 256)
        let n = Int(vsnprintf(&buf, buf.count, format, va))
        if n < buf.count { return String(decoding: buf.prefix(max(n, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return withVaList(args) { va2 in
            var big = [CChar](repeating: 0, count: n + 1)
            _ = vsnprintf(&big, big.count, format, va2)
            return String(decoding: big.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// A line to stderr, unbuffered.
public func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
        bytes = bytes.dropFirst(n)
    }
}

/// Whether `path` names a directory (following links).
public func isDirectoryPath(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Whether `path` exists at all.
public func pathExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

extension String {
    /// Padded with spaces (or cut) to `n` characters.
    public func padded(to n: Int) -> String {
        count >= n ? String(prefix(n)) : self + String(repeating: " ", count: n - count)
    }


    /// The extension of the last path component ("" when none), as NSString's pathExtension.
    public var pathExtension: String {
        let last = split(separator: "/").last.map(String.init) ?? ""
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return "" }
        return String(last[last.index(after: dot)...])
    }

    /// Padded with spaces on the left to `n` characters.
    public func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }

    /// `self + "/" + component`, without a doubled slash.
    public func appendingPath(_ component: String) -> String {
        hasSuffix("/") ? self + component : self + "/" + component
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, newlines (and the given extra characters).
    public func trimmed(_ extra: Set<Character> = []) -> String {
        let drop: (Character) -> Bool = { $0.isWhitespace || extra.contains($0) }
        guard let a = firstIndex(where: { !drop($0) }), let b = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[a...b])
    }
}

/// A mutual-exclusion lock (pthread), for results that several workers fill.
public final class Lock: @unchecked Sendable {
    private var m = pthread_mutex_t()
    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}
