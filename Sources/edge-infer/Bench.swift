import ArgumentParser
import EdgeInfer
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure latency (batch 1) per thread count.",
        discussion: """
            Reports min / median / p90 / p99 / mean over --runs inferences after the warm-up, the \
            model's multiply-accumulates and GFLOP/s at the median, load time, the activation arena \
            and kernel scratch, the kernel set chosen for this CPU and the OpenMP wait policy. \
            Between inferences OpenMP threads sleep after 1 ms (KMP_BLOCKTIME=1) unless \
            OMP_WAIT_POLICY or KMP_BLOCKTIME is set.
            """)

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Thread counts, comma-separated; 0 = adaptive over all cores (the default of the other commands).")
    var threads = "1,2"

    @Option(help: "Timed inferences per thread count.")
    var runs = 300

    @Option(help: "Untimed inferences first (at least this many, and for at least --warmup-ms).")
    var warmup = 20

    @Option(help: ArgumentHelp(
        "Untimed warm-up time per thread count, in milliseconds.",
        discussion: "The first tens of milliseconds after threads start (or after the CPUs idled) run slower while the processor wakes up; a time-based warm-up keeps them out of the percentiles."))
    var warmupMs = 250.0

    @Flag(help: "Add a per-operator time table (sorted by time).")
    var profile = false

    @Flag(help: "Print JSON: one object per thread count (an array for several).")
    var json = false

    func validate() throws {
        guard runs >= 1, warmup >= 0, warmupMs >= 0, warmupMs <= 600_000 else {
            throw ValidationError("--runs must be >= 1, --warmup >= 0 and --warmup-ms in 0...600000")
        }
        let given = threads.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmed()) }
        guard !given.isEmpty, given.allSatisfy({ $0 != nil && (0...1024).contains($0!) }) else {
            throw ValidationError("--threads '\(threads)' must be a comma-separated list of numbers in 0...1024 (0 = all cores)")
        }
    }

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmed()) } }

    struct Result {
        var threads: Int     // 0: adaptive
        var maxThreads: Int
        var times: [Double]  // seconds, sorted
        var opSeconds: [Double]  // per operator, the median over the profiled runs
        /// how many runs of the adaptive session used one thread
        var singleThreadRuns = 0
        var label: String { threads == 0 ? "auto" : String(threads) }
        func q(_ p: Double) -> Double { times[min(times.count - 1, Int((p * Double(times.count - 1)).rounded()))] }
        var mean: Double { times.reduce(0, +) / Double(times.count) }
    }

    mutating func run() throws {
        try reportingErrors {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let model = try modelOption.load()
            let loadMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            let input = Self.input(count: model.info.inputCount)
            var results: [Result] = []
            var isa = ""
            for t in threadCounts {
                _ = ThreadsOption.resolve(t)  // the warning past the cores
                let s = try Session(model: model, threads: t)
                isa = s.isa
                results.append(try measure(s, threads: t, input: input))
            }
            let m = Measured(model: model, results: results, loadMs: loadMs, isa: isa, policy: openMPPolicy())
            if json {
                printJSON(m)
                return
            }
            printTable(m)
            if profile { printProfile(m) }
        }
    }

    /// A deterministic, normalised-looking input.
    static func input(count: Int) -> [Float] {
        var input = [Float](repeating: 0, count: count)
        var state: UInt32 = 12345
        for i in input.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            input[i] = Float(Int32(bitPattern: state >> 8) % 2000) / 1000 - 1
        }
        return input
    }

    /// Warm-up, the timed runs and (--profile) the per-operator times of one session.
    func measure(_ s: Session, threads: Int, input: [Float]) throws -> Result {
        let info = s.model.info
        var output = [Float](repeating: 0, count: info.numClasses)
        let w0 = DispatchTime.now().uptimeNanoseconds
        var warm = 0
        while warm < warmup || Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e6 < warmupMs {
            try s.run(input, into: &output)
            warm += 1
        }
        var times = [Double](repeating: 0, count: runs)
        var single = 0
        for r in 0..<runs {
            let a = DispatchTime.now().uptimeNanoseconds
            try s.run(input, into: &output)
            times[r] = Double(DispatchTime.now().uptimeNanoseconds - a) / 1e9
            if s.threadsUsed == 1 { single += 1 }
        }
        var ops = [Double](repeating: 0, count: info.operators)
        if profile {  // the median of each operator's time over the profiled runs (one preempted run does not dominate)
            s.profiling = true
            let n = max(11, runs / 3)
            var samples = [[Double]](repeating: [], count: info.operators)
            for _ in 0..<n {
                try s.run(input, into: &output)
                for (k, v) in s.operatorSeconds.enumerated() { samples[k].append(v) }
            }
            ops = samples.map { $0.isEmpty ? 0 : $0.sorted()[$0.count / 2] }
        }
        return Result(threads: threads, maxThreads: s.threads, times: times.sorted(), opSeconds: ops, singleThreadRuns: single)
    }

    /// What is printed: the model, a result per thread count, and the setting.
    struct Measured {
        let model: Model
        let results: [Result]
        let loadMs: Double
        let isa: String
        let policy: String
        var info: ModelInfo { model.info }
    }

    func printJSON(_ m: Measured) {
        let info = m.info
        let objs = m.results.map { r -> String in
            var o = "{\"threads\": \(r.threads), \"adaptive\": \(r.threads == 0), \"max_threads\": \(r.maxThreads), \"single_thread_runs\": \(r.singleThreadRuns)"
            o += ", \"runs\": \(runs), \"warmup\": \(warmup), \"warmup_ms\": \(warmupMs)"
            for (k, v) in [("min_ms", r.times[0]), ("p50_ms", r.q(0.5)), ("p90_ms", r.q(0.9)), ("p99_ms", r.q(0.99)), ("mean_ms", r.mean)] {
                o += ", \"\(k)\": \(cformat("%.4f", v * 1e3))"
            }
            o += ", \"macs\": \(info.macs), \"gflops\": \(cformat("%.2f", 2 * Double(info.macs) / r.q(0.5) / 1e9))"
            o += ", \"arena_bytes\": \(info.arenaBytes), \"arena_lower_bound\": \(info.arenaLowerBound)"
            o += ", \"scratch_bytes\": \(info.scratchBytes + (r.maxThreads - 1) * info.scratchBytesPerThread), \"plan_bytes\": \(info.planBytes)"
            o += ", \"load_ms\": \(cformat("%.3f", m.loadMs)), \"isa\": \(jsonString(m.isa)), \"openmp\": \(jsonString(m.policy))"
            o += ", \"model\": \(jsonString(m.model.name))"
            if profile {
                let p = profileRows(m, r)
                o += ", \"profile\": {\"total_ms\": \(cformat("%.4f", p.total * 1e3)), \"operators\": ["
                o += p.rows.map { "{\"index\": \($0.index), \"type\": \(jsonString($0.type)), \"name\": \(jsonString($0.name)), \"median_ms\": \(cformat("%.5f", $0.seconds * 1e3)), \"gflops\": \(cformat("%.2f", $0.gflops))}" }.joined(separator: ", ")
                o += "], \"by_kind\": {" + p.kinds.map { "\(jsonString($0.kind)): {\"count\": \($0.count), \"ms\": \(cformat("%.4f", $0.seconds * 1e3))}" }.joined(separator: ", ") + "}}"
            }
            return o + "}"
        }
        print(objs.count == 1 ? objs[0] : "[" + objs.joined(separator: ",\n ") + "]")
    }

    func printTable(_ m: Measured) {
        let info = m.info
        print("model:    \(m.model.name): \(cformat("%.2f", Double(info.macs) / 1e6)) M MACs, \(info.parameters) parameters, loaded in \(cformat("%.2f", m.loadMs)) ms")
        print("memory:   activation arena \(info.arenaBytes) bytes (lower bound \(info.arenaLowerBound)), kernel scratch \(info.scratchBytes) bytes + \(info.scratchBytesPerThread) per extra thread, weights in kernel layouts \(info.planBytes) bytes")
        print("cpu:      \(cpuName()), kernels \(m.isa)" + (ProcessInfo.processInfo.environment["EDGE_INFER_CPUS"].map { ", pinned to CPUs \($0)" } ?? ""))
        print("openmp:   \(m.policy)")
        print("latency:  batch 1, \(runs) runs after at least \(warmup) warm-up runs and \(cformat("%.0f", warmupMs)) ms")
        print("threads      min      p50      p90      p99     mean   GFLOP/s")
        for r in m.results {
            let ms = [r.times[0], r.q(0.5), r.q(0.9), r.q(0.99), r.mean].map { cformat("%8.3f", $0 * 1e3) }
            print(r.label.leftPadded(to: 7) + " " + ms.joined(separator: " ") + cformat("  %8.1f", 2 * Double(info.macs) / r.q(0.5) / 1e9) + "   (ms)")
        }
        for r in m.results where r.threads == 0 && r.maxThreads > 1 {
            print("auto:     adaptive over \(r.maxThreads) threads: \(r.singleThreadRuns) of \(runs) timed runs took one thread, the others all")
        }
    }

    struct ProfileRow { let index: Int; let type: String; let name: String; let seconds: Double; let gflops: Double }

    /// The operators that run (fused ones named inside the op that runs them) by median time,
    /// their total, and a summary by operator kind.
    func profileRows(_ m: Measured, _ r: Result) -> (rows: [ProfileRow], total: Double, kinds: [(kind: String, count: Int, seconds: Double)]) {
        let ops = m.model.operators
        let order = r.opSeconds.indices.filter { ops[$0].fusedInto == nil }.sorted { r.opSeconds[$0] > r.opSeconds[$1] }
        var rows: [ProfileRow] = []
        var kinds: [String: (Int, Double)] = [:]
        for k in order {
            let o = ops[k]
            let fused = ops.indices.filter { ops[$0].fusedInto == k }
            let kind = ([o.type] + fused.map { ops[$0].type }).joined(separator: "+")
            let name = (fused.isEmpty ? "" : "[" + fused.map { ops[$0].type }.joined(separator: "+") + " fused] ") + o.summary
            let gf = r.opSeconds[k] > 0 ? 2 * Double(o.macs) / r.opSeconds[k] / 1e9 : 0
            rows.append(ProfileRow(index: k, type: kind, name: name, seconds: r.opSeconds[k], gflops: gf))
            kinds[kind, default: (0, 0)].0 += 1
            kinds[kind, default: (0, 0)].1 += r.opSeconds[k]
        }
        let total = rows.reduce(0) { $0 + $1.seconds }
        return (rows, total, kinds.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.seconds > $1.seconds })
    }

    /// Per thread count, the operators by median time, then a summary by kind and the total.
    func printProfile(_ m: Measured) {
        for r in m.results {
            let p = profileRows(m, r)
            print("\nper-operator profile, \(r.label) thread(s) (median of the profiled runs; fused ops run inside the op they name)")
            print("   op        ms   share  GFLOP/s  operator")
            for row in p.rows {
                print(cformat("%5d  %8.4f %6.1f%% %8.1f  ", row.index, row.seconds * 1e3, 100 * row.seconds / max(p.total, 1e-12), row.gflops) + row.name)
            }
            print("\nby kind:")
            for k in p.kinds {
                print("  " + k.kind.padded(to: 30) + cformat(" %4d ops %9.4f ms %6.1f%%", k.count, k.seconds * 1e3, 100 * k.seconds / max(p.total, 1e-12)))
            }
            print("  " + "total".padded(to: 30) + cformat(" %4d ops %9.4f ms  (latency p50 %.4f ms)", p.rows.count, p.total * 1e3, r.q(0.5) * 1e3))
        }
    }

    func openMPPolicy() -> String {
        let env = ProcessInfo.processInfo.environment
        let wait = env["OMP_WAIT_POLICY"].map { "OMP_WAIT_POLICY=\($0)" } ?? "OMP_WAIT_POLICY unset"
        let block = env["KMP_BLOCKTIME"].map { "KMP_BLOCKTIME=\($0)ms" } ?? "KMP_BLOCKTIME unset"
        let note = env["EDGE_INFER_SET_BLOCKTIME"] != nil ? " (set by edge-infer: threads sleep 1 ms after each inference instead of spinning)" : ""
        return "\(wait), \(block)\(note)"
    }

    func cpuName() -> String {
        guard let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = s.split(separator: "\n").first(where: { $0.hasPrefix("model name") || $0.hasPrefix("Model") }),
            let colon = line.firstIndex(of: ":")
        else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmed() + ", \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}
