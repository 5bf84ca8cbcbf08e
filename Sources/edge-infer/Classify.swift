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

/// `edge-infer IMAGE...`: files, directories (recursive, sorted) and `-` (stdin: one image, or a
/// stream of binary PPM/PGM frames). One input prints the top classes one per line, as always;
/// several print one line per input, `--jsonl` one JSON object per line. Files are spread over
/// the threads (one single-threaded session each); a stream runs frame by frame as it arrives.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images (JPEG, PNG, binary PPM or PGM): files, directories, or - for stdin.",
        discussion: """
            A directory is searched recursively for .jpg, .jpeg, .png, .ppm, .pgm and .pnm files, in sorted order. \
            '-' reads stdin: one image, or a stream of concatenated binary PPM/PGM frames \
            (ffmpeg -i VIDEO -f image2pipe -vcodec ppm - | edge-infer -), each classified as it arrives. \
            With several inputs, images that fail are reported on stderr and the rest go on; the exit status is then 1.
            """)

    @Argument(help: "Image files, directories, or - (stdin).")
    var inputs: [String]

    @OptionGroup var modelOption: ModelOption

    @Option(help: "How many classes to print.")
    var top = 5

    @OptionGroup var threadsOption: ThreadsOption

    @Flag(help: "Print one JSON object (one input).")
    var json = false

    @Flag(help: "Print one JSON object per line: per file or frame, its top classes.")
    var jsonl = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard !(json && jsonl) else { throw ValidationError("--json and --jsonl exclude each other") }
        guard inputs.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("stdin ('-') can be read once") }
    }

    /// One classified input: its name (a path, or the frame number), and its top classes.
    struct Result {
        var name: String
        var frame: Int?
        var top: [(index: Int, probability: Float)] = []
        var error: EdgeInferError?
    }

    mutating func run() throws {
        var failures = 0
        try reportingErrors {
            let model = try modelOption.load()
            let threads = threadsOption.resolved, sessionThreads = threadsOption.session
            let single = inputs.count == 1 && inputs[0] != "-" && !isDirectoryPath(inputs[0])
            if single && !jsonl {
                let r = classify(inputs[0], model: model, session: try Session(model: model, threads: sessionThreads))
                if let e = r.error { throw e }
                printSingle(r, model: model)
                return
            }
            let start = Date()
            var count = 0
            for input in inputs {
                if input == "-" {
                    try classifyStream(model: model, threads: sessionThreads, count: &count, failures: &failures)
                    continue
                }
                let files = try expand(input)
                try classifyFiles(files, model: model, threads: threads, sessionThreads: sessionThreads, count: &count, failures: &failures)
            }
            let secs = Date().timeIntervalSince(start)
            writeStderr(cformat("edge-infer: %d image(s) in %.2f s: %.1f images/s (%d thread(s))", count, secs, Double(count) / max(secs, 1e-9), threads)
                        + (failures > 0 ? ", \(failures) failed" : "") + "\n")
        }
        if failures > 0 { throw ExitCode(1) }
    }

    static let extensions: Set<String> = ["jpg", "jpeg", "png", "ppm", "pgm", "pnm"]

    /// A file as itself; a directory as its image files, recursively, sorted.
    func expand(_ input: String) throws -> [String] {
        guard isDirectoryPath(input) else { return [input] }
        guard let all = try? FileManager.default.subpathsOfDirectory(atPath: input) else {
            throw EdgeInferError(.io, "\(input): cannot list the directory")
        }
        return all.filter { Self.extensions.contains($0.pathExtension.lowercased()) }.map { input.appendingPath($0) }.sorted()
    }

    func classify(_ path: String, model: Model, session: Session) -> Result {
        var r = Result(name: path)
        do {
            let img = try Image(contentsOf: path, atLeast: model.inputSize)
            r.top = try best(img, model: model, session: session)
        } catch let e as EdgeInferError {
            r.error = e
        } catch {
            r.error = EdgeInferError(.io, "\(path): \(error)")
        }
        return r
    }

    func best(_ img: Image, model: Model, session: Session) throws -> [(index: Int, probability: Float)] {
        let probs = softmax(try session.run(try img.modelInput(for: model)))
        return topK(probs, min(top, probs.count)).map { ($0, probs[$0]) }
    }

    /// Files in chunks: each chunk spread over `threads` workers (one single-threaded session
    /// each, all sharing the model), printed in order when the chunk is done.
    func classifyFiles(_ files: [String], model: Model, threads: Int, sessionThreads: Int, count: inout Int, failures: inout Int) throws {
        let workers = max(1, min(threads, files.count))
        let sessions = Sessions(try (0..<workers).map { _ in try Session(model: model, threads: workers == 1 ? sessionThreads : 1) })
        let chunk = 8 * workers
        var at = 0
        while at < files.count {
            let part = Array(files[at..<min(at + chunk, files.count)])
            let results = Results(part.count)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: part.count, by: workers) {
                    results.set(i, classify(part[i], model: model, session: sessions.all[w]))
                }
            }
            for r in results.all() { failures += emit(r, model: model) }
            count += part.count
            at += part.count
        }
    }

    func classifyStream(model: Model, threads: Int, count: inout Int, failures: inout Int) throws {
        var stream = ImageStream(fileDescriptor: 0)
        let session = try Session(model: model, threads: threads)
        while true {
            let img: Image
            do {
                guard let next = try stream.next(atLeast: model.inputSize) else { break }
                img = next
            } catch let e as EdgeInferError {
                // a frame that cannot be read ends the stream: its length is not known
                _ = emit(Result(name: "stdin", frame: stream.frames, error: e), model: model)
                failures += 1
                return
            }
            var r = Result(name: "stdin", frame: stream.frames)
            do { r.top = try best(img, model: model, session: session) } catch let e as EdgeInferError { r.error = e }
            failures += emit(r, model: model)
            count += 1
        }
    }

    /// One line (or JSON object) per input; errors on stderr. Returns 1 for a failed input.
    func emit(_ r: Result, model: Model) -> Int {
        if let e = r.error {
            writeStderr("edge-infer: error: \(e.message)\n")
            return 1
        }
        let labels = model.labels
        if jsonl {
            let which = r.frame.map { "\"frame\": \($0)" } ?? "\"image\": \(jsonString(r.name))"
            let items = r.top.map { "{\"index\": \($0.index), \"label\": \(jsonString(labels[$0.index])), \"probability\": \($0.probability)}" }
            print("{\(which), \"top\": [\(items.joined(separator: ", "))]}")
        } else {
            let which = r.frame.map { "frame \($0)" } ?? r.name
            print(which + ": " + r.top.map { labels[$0.index] + cformat(" %.2f%%", 100 * $0.probability) }.joined(separator: ", "))
        }
        fflush(nil)  // a line per input as it is classified, also into a pipe
        return 0
    }

    func printSingle(_ r: Result, model: Model) {
        let labels = model.labels
        if json {
            let items = r.top.map { "{\"index\": \($0.index), \"label\": \(jsonString(labels[$0.index])), \"probability\": \($0.probability)}" }
            print("{\"image\": \(jsonString(r.name)), \"model\": \(jsonString(model.name)), \"top\": [\(items.joined(separator: ", "))]}")
        } else {
            for t in r.top { print(cformat("%6.2f%%  ", 100 * t.probability) + labels[t.index]) }
        }
    }
}

/// One session per worker, each used by its worker only.
final class Sessions: @unchecked Sendable {
    let all: [Session]
    init(_ s: [Session]) { all = s }
}

/// Results filled by several workers, each at its own index.
final class Results: @unchecked Sendable {
    private var items: [Classify.Result?]
    private let lock = Lock()
    init(_ n: Int) { items = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ r: Classify.Result) { lock.withLock { items[i] = r } }
    func all() -> [Classify.Result] { lock.withLock { items.compactMap { $0 } } }
}

/// One thread rule for every command: 0 = all cores; more threads than cores is allowed (a
/// warning says so).
struct ThreadsOption: ParsableArguments {
    @Option(help: "OpenMP threads; 0 = adaptive over all cores (one thread or all per run, whichever is faster now).")
    var threads = 0

    func validate() throws {
        guard (0...1024).contains(threads) else { throw ValidationError("--threads must be in 0...1024 (0 = all cores)") }
    }

    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// How many threads there are to use: all cores for 0.
    var resolved: Int { threads == 0 ? Self.cores : threads }

    /// What a session is created with: 0 stays 0 (adaptive), with the same warning.
    var session: Int {
        _ = Self.resolve(threads)
        return threads
    }

    static func resolve(_ t: Int) -> Int {
        if t == 0 { return cores }
        if t > cores {
            writeStderr("edge-infer: warning: \(t) threads on \(cores) cores: threads will wait for each other\n")
        }
        return t
    }
}
