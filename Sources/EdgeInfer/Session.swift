import CRuntime

/// An inference context: owns the activation arena planned at load. Use one session per
/// thread; several sessions may share one `Model`.
public final class Session {
    public let model: Model
    let handle: OpaquePointer
    private var logits: [Float]

    public init(model: Model, threads: Int = 0) throws {
        handle = try makeHandle { cnm_context_create(model.handle, Int32(threads), $0, $1) }
        self.model = model
        logits = [Float](repeating: 0, count: model.info.numClasses)
    }

    deinit { cnm_context_free(handle) }

    /// The most threads a run may use; with `threads: 0` the session is adaptive (each run takes
    /// one thread or all, whichever recent runs found faster) and `threadsUsed` says which.
    public var threads: Int { Int(cnm_context_threads(handle)) }
    public var adaptive: Bool { cnm_context_adaptive(handle) != 0 }
    public var threadsUsed: Int { Int(cnm_context_threads_used(handle)) }

    /// The kernel set in use ("avx2+fma", "avx2+fma+avx-vnni" for int8 models, "neon+dotprod", "neon", "scalar").
    public var isa: String { String(cString: cnm_context_isa(handle)) }

    /// Run one image (CHW floats, already normalised); returns the logits.
    public func run(_ input: [Float]) throws -> [Float] {
        var out = [Float](repeating: 0, count: logits.count)
        try run(input, into: &out)
        return out
    }

    /// Allocation-free variant for benchmarks.
    public func run(_ input: [Float], into output: inout [Float]) throws {
        var err = cnm_error()
        let st = input.withUnsafeBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                cnm_context_run(handle, inp.baseAddress, inp.count, out.baseAddress, out.count, &err)
            }
        }
        guard st == CNM_OK else { throw EdgeInferError(status: st, err) }
    }

    /// After a run, the floats of a graph value (nil when it lives only inside a fused kernel;
    /// load the model `unfused` to keep every value).
    public func value(_ v: Int) -> UnsafeBufferPointer<Float>? {
        var n = 0
        guard let p = cnm_context_value(handle, UInt32(v), &n) else { return nil }
        return UnsafeBufferPointer(start: p, count: n)
    }

    /// Run a batch stored as N x (C*H*W) floats; returns N x classes logits.
    public func runBatch(_ input: [Float], count n: Int) throws -> [Float] {
        let per = model.info.inputCount
        guard input.count == n * per else {
            throw EdgeInferError(.argument, "input has \(input.count) values, expected \(n) x \(per)")
        }
        var out: [Float] = []
        out.reserveCapacity(n * logits.count)
        for i in 0..<n {
            out += try run(Array(input[(i * per)..<((i + 1) * per)]))
        }
        return out
    }

    /// Record per-operator times in each run (see `operatorSeconds`).
    public var profiling = false {
        didSet { cnm_context_set_profile(handle, profiling ? 1 : 0) }
    }

    /// Seconds each operator took in the last run (after `profiling = true`).
    public var operatorSeconds: [Double] {
        (0..<model.info.operators).map { cnm_context_op_seconds(handle, UInt32($0)) }
    }
}

public func softmax(_ logits: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: logits.count)
    logits.withUnsafeBufferPointer { l in
        out.withUnsafeMutableBufferPointer { o in cnm_softmax(l.baseAddress, o.baseAddress, l.count) }
    }
    return out
}

/// Indices of the k largest values, largest first (ties: lower index first).
public func topK(_ values: [Float], _ k: Int) -> [Int] {
    Array(values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(k))
}
