import CImageIO
import CRuntime
import EdgeInfer
import Foundation

/// How activation ranges are chosen from the calibration statistics.
public enum CalibrationMethod: String, CaseIterable, Sendable {
    /// the observed minimum and maximum
    case minmax
    /// the 99.99th percentile of the values (clips rare outliers)
    case percentile
    /// the clipping threshold that minimises the KL divergence between the value histogram and
    /// its 8-bit quantisation (TensorRT's entropy calibration)
    case entropy
}

public struct QuantizeOptions: Sendable {
    public var source: String
    public var count = 100
    public var method = CalibrationMethod.minmax
    /// The weights' bits: 8 (-127...127) or 7 (-63...63: exact `vpmaddubsw` kernels on x86 CPUs
    /// without VNNI, about twice the multiplies per instruction of the 8-bit ones there).
    public var weightBits = 8
    public var progress = false
    public init(source: String) { self.source = source }
}

public struct QuantizeReport: Sendable {
    public struct Layer: Sendable {
        public let name: String
        public let sqnr: Double   // dB, int8 vs fp32 conv output over the calibration set
        public let scale: Float
        public let zeroPoint: Int
    }
    public var method = CalibrationMethod.minmax
    public var images = 0
    public var layers: [Layer] = []
    public var logitSQNR = 0.0
    public var top1Agreement = 0.0
}

/// Post-training int8 quantisation through the runtime itself: the fp32 model is loaded
/// unfused, run over the calibration images, and every convolution's input range is measured;
/// weights are quantised per output channel (symmetric, -127..127), inputs per tensor (uint8
/// with a zero point, 0 for the post-ReLU inputs of every conv but the stem). Depthwise convs
/// (MobileNet, ShuffleNet) stay float: a few percent of those networks' MACs, the layers int8
/// hurts most, and the runtime's fp32 depthwise kernel is faster than its int8 direct one.
public enum Quantizer {
    public static func quantize(_ builder: CNMBuilder, options o: QuantizeOptions) throws -> (CNMBuilder, QuantizeReport) {
        guard o.weightBits == 8 || o.weightBits == 7 else { throw ConvertError("int8 weights have 8 or 7 bits, not \(o.weightBits)") }
        let model = try Model(bytes: builder.serialize(), name: "fp32 model", unfused: true)
        let inputs = try calibrationInputs(o.source, count: o.count, model: model)
        guard !inputs.isEmpty else { throw ConvertError("\(o.source): no calibration inputs found") }
        let session = try Session(model: model)
        let convs = builder.convOps.filter { !builder.isDepthwise(op: $0.op) }
        let ranges = try calibrate(session, convs: convs, inputs: inputs, options: o)
        var q = builder
        // Everything that stays float in an int8 model (BatchNorm, biases, the classifier) is
        // stored as binary16; the fp32 conv weights being replaced are dropped by the writer.
        let quantised = Set(convs.map { builder.tensorName($0.weight) })
        q.halveFloatTensors(where: { !quantised.contains($0) })
        var report = QuantizeReport()
        report.method = o.method
        report.images = inputs.count
        var params: [(scale: Float, zp: Int)] = []
        for (k, c) in convs.enumerated() {
            let (scale, zp) = inputQuantization(min: min(ranges.lo[k], 0), max: max(ranges.top(k, o.method), 0))
            params.append((scale, zp))
            let name = builder.tensorName(c.weight), dims = builder.tensorDims(c.weight)
            let w = quantizedWeights(builder.floats(ofTensor: c.weight), outputs: dims[0], bits: o.weightBits)
            q.setQuantized(op: c.op, weight: q.addTensorI8(name + ".int8", w.codes, dims: dims),
                           weightScales: w.half ? q.addTensorF16(name + ".scale", w.scales, dims: [dims[0]])
                                                : q.addTensor(name + ".scale", w.scales, dims: [dims[0]]),
                           inputScale: scale, zeroPoint: zp, weightBits: o.weightBits)
        }
        let qModel = try Model(bytes: q.serialize(), name: "int8 model", unfused: true)
        let checked = Array(inputs.prefix(50))
        let err = try measureError(fp32: session, int8: try Session(model: qModel), convs: convs, inputs: checked, progress: o.progress)
        report.layers = convs.indices.map {
            QuantizeReport.Layer(name: builder.tensorName(convs[$0].weight), sqnr: err.layerSQNR[$0],
                                 scale: params[$0].scale, zeroPoint: params[$0].zp)
        }
        report.logitSQNR = err.logitSQNR
        report.top1Agreement = err.top1Agreement
        let range = o.weightBits == 7 ? "7-bit, -63..63" : "-127..127"
        q.meta.append(("quantization", "int8: weights per output channel (symmetric, \(range)), conv inputs per tensor (uint8, zero point); exact int32 accumulation, float epilogue"))
        q.meta.append(("calibration", "\(o.method.rawValue), \(inputs.count) inputs from \(URL(fileURLWithPath: o.source).lastPathComponent)"))
        q.meta.append(("int8_check", String(format: "logit SQNR %.1f dB, top-1 agreement %.1f%% on %d calibration inputs", report.logitSQNR, 100 * report.top1Agreement, checked.count)))
        return (q, report)
    }

    typealias Conv = (op: Int, input: Int, output: Int, weight: Int)

    /// What calibration saw at each conv's input: the range, and (percentile, entropy) a
    /// histogram of the positive values over 0...hi.
    struct Ranges {
        static let bins = 2048
        var lo: [Float], hi: [Float]
        var hist: [[Double]]

        init(count: Int) {
            lo = [Float](repeating: .infinity, count: count)
            hi = [Float](repeating: -.infinity, count: count)
            hist = [[Double]](repeating: [Double](repeating: 0, count: Self.bins), count: count)
        }

        /// The top of conv k's input range under `method`.
        func top(_ k: Int, _ method: CalibrationMethod) -> Float {
            guard lo[k] >= 0 && method != .minmax && hi[k] > 0 else { return hi[k] }
            return method == .percentile ? Quantizer.percentile(hist[k], 0.9999, hi[k]) : Quantizer.entropyThreshold(hist[k], hi[k])
        }
    }

    /// Runs the calibration inputs: pass 1 the ranges, pass 2 (not minmax) the histograms.
    static func calibrate(_ session: Session, convs: [Conv], inputs: [[Float]], options o: QuantizeOptions) throws -> Ranges {
        var r = Ranges(count: convs.count)
        let bins = Ranges.bins
        let passes = o.method == .minmax ? 1 : 2
        var out = [Float](repeating: 0, count: session.model.info.numClasses)
        for pass in 0..<passes {
            var bar = ProgressBar("calibrating (\(o.method.rawValue)\(passes > 1 ? ", pass \(pass + 1)/2" : ""))", total: inputs.count, enabled: o.progress && isatty(2) != 0)
            for (n, x) in inputs.enumerated() {
                try session.run(x, into: &out)
                for (k, c) in convs.enumerated() {
                    guard let v = session.value(c.input) else { continue }
                    if pass == 0 {
                        for f in v { r.lo[k] = min(r.lo[k], f); r.hi[k] = max(r.hi[k], f) }
                    } else if r.hi[k] > 0 {
                        let w = Float(bins) / r.hi[k]
                        for f in v where f > 0 { r.hist[k][min(bins - 1, Int(f * w))] += 1 }
                    }
                }
                bar.update(n + 1)
            }
        }
        return r
    }

    /// Weights per output channel, symmetric: codes -top...top (top = 127 for 8 bits, 63 for 7)
    /// and one scale per channel. Scales are stored as binary16 (`half`) when all are normal halves:
    /// each rounded up to a half (so no code passes top) before the codes are computed with exactly
    /// the stored value.
    static func quantizedWeights(_ w: [Float], outputs: Int, bits: Int = 8) -> (codes: [Int8], scales: [Float], half: Bool) {
        let top: Float = bits == 7 ? 63 : 127
        let per = w.count / outputs
        var scales = [Float](repeating: 1, count: outputs), codes = [Int8](repeating: 0, count: w.count)
        for oc in 0..<outputs {
            let amax = w[(oc * per)..<((oc + 1) * per)].map { abs($0) }.max() ?? 0
            scales[oc] = amax > 0 ? amax / top : 1
        }
        let half = scales.allSatisfy { $0 >= Float(Float16.leastNormalMagnitude) && $0 <= CNMBuilder.halfMax / 2 }
        if half {
            scales = scales.map { s in
                var h = Float16(s)
                if Float(h) < s { h = h.nextUp }
                return Float(h)
            }
        }
        for oc in 0..<outputs {
            let s = scales[oc]
            for j in 0..<per { codes[oc * per + j] = Int8(max(-top, min(top, (w[oc * per + j] / s).rounded()))) }
        }
        return (codes, scales, half)
    }

    /// int8 vs fp32 on `inputs`: each conv's output SQNR, the logits' SQNR and the top-1 agreement.
    static func measureError(fp32 session: Session, int8 qs: Session, convs: [Conv], inputs: [[Float]], progress show: Bool) throws
        -> (layerSQNR: [Double], logitSQNR: Double, top1Agreement: Double)
    {
        var sig = [Double](repeating: 0, count: convs.count), noise = sig
        var lsig = 0.0, lnoise = 0.0, agree = 0
        var out = [Float](repeating: 0, count: session.model.info.numClasses), qout = out
        var bar = ProgressBar("measuring int8 error", total: inputs.count, enabled: show && isatty(2) != 0)
        for (n, x) in inputs.enumerated() {
            try session.run(x, into: &out)
            var ref: [[Float]] = convs.map { c in session.value(c.output).map(Array.init) ?? [] }
            try qs.run(x, into: &qout)
            for (k, c) in convs.enumerated() {
                guard let v = qs.value(c.output), v.count == ref[k].count else { continue }
                for i in 0..<v.count {
                    let d = Double(ref[k][i]) - Double(v[i])
                    sig[k] += Double(ref[k][i]) * Double(ref[k][i])
                    noise[k] += d * d
                }
            }
            ref = []
            for i in 0..<out.count { lsig += Double(out[i] * out[i]); lnoise += Double((out[i] - qout[i]) * (out[i] - qout[i])) }
            if topK(out, 1) == topK(qout, 1) { agree += 1 }
            bar.update(n + 1)
        }
        func db(_ s: Double, _ n: Double) -> Double { n > 0 ? 10 * log10(max(s, 1e-30) / n) : 200 }
        return (convs.indices.map { db(sig[$0], noise[$0]) }, db(lsig, lnoise), Double(agree) / Double(inputs.count))
    }

    /// uint8 with a zero point covering [min, max] (min <= 0 <= max).
    static func inputQuantization(min lo: Float, max hi: Float) -> (Float, Int) {
        let range = hi - lo
        guard range > 0, range.isFinite else { return (1.0 / 255, 0) }
        let scale = range / 255
        let zp = Int(max(0, min(255, (-lo / scale).rounded())))
        return (scale, zp)
    }

    static func percentile(_ h: [Double], _ p: Double, _ top: Float) -> Float {
        let total = h.reduce(0, +)
        guard total > 0 else { return top }
        var acc = 0.0
        for (i, c) in h.enumerated() {
            acc += c
            if acc >= p * total { return top * Float(i + 1) / Float(h.count) }
        }
        return top
    }

    /// TensorRT-style: for each candidate threshold (255 bins and up), P = the histogram clipped
    /// there with the outliers added to its last bin, Q = the unclipped bins squeezed into 255
    /// levels and expanded back over their non-empty bins; keep the threshold of least KL(P||Q).
    static func entropyThreshold(_ h: [Double], _ top: Float) -> Float {
        let levels = 255, n = h.count
        var best = n, bestKL = Double.infinity
        for i in stride(from: levels, through: n, by: 16) {
            var p = Array(h[0..<i])
            p[i - 1] += h[i...].reduce(0, +)
            let total = p.reduce(0, +)
            guard total > 0 else { continue }
            var qv = [Double](repeating: 0, count: i)
            for l in 0..<levels {
                let a = l * i / levels, b = max(a + 1, (l + 1) * i / levels)
                let nz = (a..<b).filter { h[$0] > 0 }.count
                let sum = (a..<b).reduce(0.0) { $0 + h[$1] }  // Q from the unclipped bins: clipping costs
                if nz > 0 { for j in a..<b where h[j] > 0 { qv[j] = sum / Double(nz) } }
            }
            let qt = qv.reduce(0, +)
            var kl = 0.0
            for j in 0..<i where p[j] > 0 {
                let pj = p[j] / total, qj = qt > 0 ? qv[j] / qt : 0
                kl += qj > 0 ? pj * log(pj / qj) : pj * 30
            }
            if kl < bestKL { bestKL = kl; best = i }
        }
        return top * (Float(best) + 0.5) / Float(n)
    }

    /// Normalised model inputs from a float32 NCHW .npy, a folder of images, or a tar(.gz) of images.
    static func calibrationInputs(_ source: String, count: Int, model: Model) throws -> [[Float]] {
        let info = model.info
        if source.hasSuffix(".npy") {
            let a = try NpyArray(contentsOf: source)
            let per = info.inputCount
            guard a.shape.count == 4, a.shape[1] * a.shape[2] * a.shape[3] == per else {
                throw ConvertError("\(source): shape \(a.shape) does not match the model input (N, \(info.inputChannels), \(info.inputHeight), \(info.inputWidth))")
            }
            return (0..<min(count, a.shape[0])).map { Array(a.data[($0 * per)..<(($0 + 1) * per)]) }
        }
        var blobs: [(String, () throws -> [UInt8])] = []
        if let d = try? Dataset(path: source) {
            blobs = d.samples.map { s in (s.name, { try s.bytes() }) }
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue,
                let e = FileManager.default.enumerator(atPath: source)
            else { throw ConvertError("\(source): not a .npy file, an image folder or an archive of images") }
            let files = (e.allObjects as? [String] ?? []).filter { Dataset.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            blobs = files.map { f in
                let p = (source as NSString).appendingPathComponent(f)
                return (p, { guard let d = FileManager.default.contents(atPath: p) else { throw ConvertError("\(p): cannot read") }; return [UInt8](d) })
            }
        }
        return try blobs.prefix(count).map { name, load in try Image.decode(try load(), name: name, atLeast: model.inputSize).modelInput(for: model) }
    }
}
