#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A progress bar on stderr for long work (eval, calibration): count, rate and time left,
/// redrawn at most 10 times a second, only when stderr is a terminal (logs and pipes stay clean).
public struct ProgressBar {
    let what: String
    let total: Int
    let start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0
    public let enabled: Bool

    public init(_ what: String, total: Int, enabled: Bool = isatty(2) != 0) {
        self.what = what
        self.total = max(total, 1)
        self.enabled = enabled
    }

    /// The line for `n` of `total` done after `seconds`: "what [####    ] n/total  r/s  ETA m:ss".
    public static func line(_ what: String, _ n: Int, _ total: Int, seconds: Double, extra: String = "") -> String {
        let f = min(1, Double(n) / Double(max(total, 1))), w = 24
        let bar = String(repeating: "#", count: Int(f * Double(w))) + String(repeating: " ", count: w - Int(f * Double(w)))
        let rate = seconds > 0 ? Double(n) / seconds : 0
        let left = rate > 0 ? Double(total - n) / rate : 0
        let eta = n >= total ? cformat("%.1f s", seconds) : cformat("ETA %d:%02d", Int(left) / 60, Int(left) % 60)
        return "\(what) [\(bar)] " + cformat("%d/%d  %.1f/s  ", n, total, rate) + eta + (extra.isEmpty ? "" : "  " + extra)
    }

    /// `n` items done; `extra` is appended (e.g. the running top-1).
    public mutating func update(_ n: Int, extra: @autoclosure () -> String = "") {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard n >= total || now - lastDraw >= 100_000_000 else { return }
        lastDraw = now
        let s = Self.line(what, n, total, seconds: Double(now - start) / 1e9, extra: extra())
        writeStderr("\r" + s + "\u{1B}[K" + (n >= total ? "\n" : ""))
    }
}
