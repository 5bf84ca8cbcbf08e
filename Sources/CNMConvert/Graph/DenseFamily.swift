import Foundation

/// Options of one conversion.
public struct ConvertOptions: Sendable {
    public var preset: Preset
    /// Lossless w.r.t. a training-time model: keep every classifier input instead of the
    /// official conversion's 50% by L1 column norm, and every input channel the masks keep
    /// (the official rule keeps at most in/C per group, which drops channels when a run
    /// skipped condensing stages).
    public var keepClassifier = false
    /// Overrides of what is inferred from a training-time checkpoint.
    public var group1x1: Int?
    public var condenseFactor: Int?
    public var labels: [String]?
    public var sourceName = ""
    /// --input-size: for ONNX graphs with symbolic height/width, or to override fixed ones
    public var inputSizeOverride: Int?

    public init(preset: Preset) { self.preset = preset }
}

/// What was converted, for `--verbose` and the file's META.
public struct ConversionReport: Sendable {
    public var arch = ""
    public var checkpointKind = ""          // "training-time", "converted", "trained"
    public var stages: [Int] = []
    public var growth: [Int] = []
    public var bottleneck = 0
    public var group1x1 = 1
    public var group3x3 = 1
    public var condenseFactor = 0
    public var compression: Double?
    public var classifier = ""
    public var denseLayers = 0
    public var parametersBefore = 0          // of the checkpoint's model (PyTorch parameters)
    public var parametersAfter = 0           // of the .cnm
    public var macs = 0
    public var fileBytes = 0
    /// ONNX: BatchNormalization nodes folded into the convolution before them
    public var batchNormsFolded = 0
    public var notes: [String] = []
}

/// BatchNorm folded for inference: y = scale * x + shift.
struct FoldedBN {
    var scale: [Float]
    var shift: [Float]
    var count: Int { scale.count }

    func gathered(_ index: [Int]) -> FoldedBN { FoldedBN(scale: index.map { scale[$0] }, shift: index.map { shift[$0] }) }

    /// The fold itself, in double precision (checkpoints and ONNX graphs alike):
    /// scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
    static func affine(gamma: [Double], beta: [Double], mean: [Double], variance: [Double], eps: Double)
        -> (scale: [Double], shift: [Double])
    {
        let scale = gamma.indices.map { gamma[$0] / (variance[$0] + eps).squareRoot() }
        return (scale, scale.indices.map { beta[$0] - mean[$0] * scale[$0] })
    }
}

/// Reads CondenseNet (training-time or converted) and DenseNet-BC checkpoints of the
/// official code, infers the architecture from names and shapes, condenses learned group
/// convolutions, and emits the `.cnm` graph.
public struct DenseFamilyConverter {
    let ck: TorchCheckpoint
    let opt: ConvertOptions
    var used = Set<String>()
    var report = ConversionReport()
    var b = CNMBuilder()

    public static func convert(_ ck: TorchCheckpoint, options: ConvertOptions) throws -> (CNMBuilder, ConversionReport) {
        var ck = ck
        if TorchvisionDenseNet.matches(ck.keys) { ck = try ck.renamingKeys(TorchvisionDenseNet.officialName) }
        var c = DenseFamilyConverter(ck: ck, opt: options)
        try c.run()
        return (c.b, c.report)
    }

    init(ck: TorchCheckpoint, opt: ConvertOptions) {
        self.ck = ck
        self.opt = opt
    }

    func fail(_ why: String) -> ConvertError { ConvertError("\(ck.path): \(why)") }

    func has(_ key: String) -> Bool { ck.tensors[key] != nil }

    mutating func tensor(_ key: String, shape: [Int?]? = nil) throws -> Tensor {
        guard let t = ck.tensors[key] else { throw fail("missing tensor '\(key)'") }
        if let shape {
            let ok = shape.count == t.shape.count && zip(shape, t.shape).allSatisfy { $0 == nil || $0 == $1 }
            if !ok {
                let want = shape.map { $0.map(String.init) ?? "?" }.joined(separator: "x")
                throw fail("tensor '\(key)' has shape \(t.shape.map(String.init).joined(separator: "x")), expected \(want)")
            }
        }
        used.insert(key)
        return t
    }

    mutating func bn(_ prefix: String, channels: Int) throws -> FoldedBN {
        let g = try tensor(prefix + ".weight", shape: [channels]).values
        let be = try tensor(prefix + ".bias", shape: [channels]).values
        let m = try tensor(prefix + ".running_mean", shape: [channels]).values
        let v = try tensor(prefix + ".running_var", shape: [channels]).values
        if has(prefix + ".num_batches_tracked") { used.insert(prefix + ".num_batches_tracked") }
        let f = FoldedBN.affine(gamma: g.map(Double.init), beta: be.map(Double.init), mean: m.map(Double.init),
                                variance: v.map(Double.init), eps: 1e-5)
        return FoldedBN(scale: f.scale.map { Float($0) }, shift: f.shift.map { Float($0) })
    }

    /// Numbers n for which some key starts with `prefix + n + "."`, sorted; must be 1...N.
    func numbered(_ prefix: String, within: String = "") throws -> [Int] {
        var found = Set<Int>()
        for k in ck.keys where k.hasPrefix(prefix) {
            let rest = k.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: "."), let n = Int(rest[..<dot]) { found.insert(n) }
        }
        let sorted = found.sorted()
        if let gap = sorted.enumerated().first(where: { $0.offset + 1 != $0.element }) {
            throw fail("'\(prefix)\(gap.offset + 1)' is missing (found \(prefix)\(gap.element))")
        }
        return sorted
    }

    mutating func run() throws {
        let stemW = try stemWeight()
        let blocks = try numbered("features.denseblock_")
        guard !blocks.isEmpty else { throw fail("no 'features.denseblock_N' keys: not a dense network") }
        let kind = identify()
        let p = opt.preset, inC = stemW.shape[1], k0 = stemW.shape[2]
        b.inputShape = (inC, p.inputSize, p.inputSize)
        b.mean = Array(p.mean.prefix(inC))
        b.std = Array(p.std.prefix(inC))
        b.resize = p.resize
        b.inputValue = b.addBuffer(c: inC, h: p.inputSize, w: p.inputSize)

        // Stem writes the first channels of block 1's buffer.
        var channels = stemW.shape[0]
        let stemH = (p.inputSize + 2 * (k0 / 2) - k0) / (kind.tvStem ? 2 : p.stemStride) + 1
        var h = kind.tvStem ? (stemH + 2 - 3) / 2 + 1 : stemH
        guard h >= 1 else { throw fail("a \(p.inputSize)x\(p.inputSize) input is too small for this stem") }
        report.parametersBefore += stemW.count
        let stem = Stem(weight: stemW, torchvision: kind.tvStem, h: stemH)
        var last: Int?  // the previous block's output, all its channels
        for bi in blocks {
            let out = try emitBlock(bi, from: last.map { .transition(from: $0) } ?? .stem(stem), channels: channels, h: h)
            last = out.value
            channels = out.channels
            if bi != blocks.last {
                // the next block's size depends on the transition
                channels = try transitionChannels(bi, channels: channels, isCondense: kind.isCondense)
                h = (h - 2) / 2 + 1
            }
        }
        guard let last else { throw fail("no blocks") }
        try emitHead(last, channels: channels, h: h)
        try checkAllUsed()

        b.labels = try labels()
        b.meta = metaEntries()
    }

    /// `features.init_conv.weight`: an odd square kernel over 1 or 3 input channels.
    mutating func stemWeight() throws -> Tensor {
        guard has("features.init_conv.weight") else {
            let sample = ck.keys.prefix(3).joined(separator: ", ")
            throw fail("not a CondenseNet or DenseNet checkpoint of the official code or torchvision: no 'features.init_conv.weight' or 'features.conv0.weight' (the state_dict starts with \(sample))")
        }
        let stemW = try tensor("features.init_conv.weight", shape: [nil, nil, nil, nil])
        let inC = stemW.shape[1], k0 = stemW.shape[2]
        guard stemW.shape[2] == stemW.shape[3], k0 % 2 == 1 else {
            throw fail("'features.init_conv.weight' has a \(stemW.shape[2])x\(stemW.shape[3]) kernel; an odd square kernel is expected")
        }
        guard inC == 3 || inC == 1 else { throw fail("'features.init_conv.weight' takes \(inC) input channels (1 or 3 expected)") }
        return stemW
    }

    /// The architecture and the kind of checkpoint, from its keys (into the report).
    mutating func identify() -> (isCondense: Bool, tvStem: Bool) {
        let isCondense = ck.keys.contains { $0.hasSuffix("conv_1._mask") || $0.hasSuffix("conv_1.index") }
        let isTraining = ck.keys.contains { $0.hasSuffix("conv_1._mask") }
        let tvStem = has("features.init_norm.weight")  // torchvision: 7x7/2 conv, BN-ReLU, 3x3/2 max pool
        report.arch = isCondense ? "condensenet" : tvStem ? "densenet" : "densenet-bc"
        report.checkpointKind = isCondense ? (isTraining ? "training-time" : "converted") : "trained"
        if let a = ck.extras["arch"], !a.isEmpty, !(a == "condensenet" || a == "densenet" || a == "condensenet_converted") {
            report.notes.append("checkpoint arch field is '\(a)'")
        }
        return (isCondense, tvStem)
    }

    /// The first convolution (torchvision's: stride 2, then BN-ReLU and a 3x3/2 max pool).
    struct Stem {
        let weight: Tensor
        let torchvision: Bool
        /// output height (and width) of the convolution
        let h: Int
    }

    mutating func emitStem(_ s: Stem, into target: Int) throws {
        let channels = s.weight.shape[0], k0 = s.weight.shape[2]
        let convW = b.addTensor("features.init_conv.weight", s.weight.values, dims: s.weight.shape)
        if s.torchvision {
            let bn0 = try bn("features.init_norm", channels: channels)
            report.parametersBefore += 2 * channels
            let c0 = b.addBuffer(c: channels, h: s.h, w: s.h), c1 = b.addBuffer(c: channels, h: s.h, w: s.h)
            b.addConv2d(input: b.inputValue, output: c0, weight: convW, params: Conv2DParams(stride: 2, pad: k0 / 2))
            b.addChannel(input: c0, output: c1, scale: b.addTensor("features.init_norm.scale", bn0.scale, dims: [channels]),
                         shift: b.addTensor("features.init_norm.shift", bn0.shift, dims: [channels]), relu: true)
            b.addPool(.max, input: c1, output: target, params: PoolParams(kernel: 3, stride: 2, pad: 1))
        } else {
            let stride = opt.preset.stemStride
            b.addConv2d(input: b.inputValue, output: target, weight: convW, params: Conv2DParams(stride: stride, pad: k0 / 2))
        }
    }

    /// What writes a dense block's first channels.
    enum BlockFeed {
        /// the first block: the stem
        case stem(Stem)
        /// the others: the transition from the previous block's output
        case transition(from: Int)
    }

    /// Dense block `bi` in a buffer of its own. Returns the value of all its channels.
    mutating func emitBlock(_ bi: Int, from feed: BlockFeed, channels c0: Int, h: Int) throws -> (value: Int, channels: Int) {
        let layers = try numbered("features.denseblock_\(bi).denselayer_")
        guard !layers.isEmpty else { throw fail("block \(bi) has no layers") }
        // growth: from the first layer's 3x3 conv output channels
        let g0 = try tensor("features.denseblock_\(bi).denselayer_1.conv_2.conv.weight", shape: [nil, nil, 3, 3])
        let growth = g0.shape[0]
        let buf = b.addBuffer(c: c0 + layers.count * growth, h: h, w: h)
        let blockInput = b.slice(of: buf, cOff: 0, c: c0)
        switch feed {
        case .stem(let stem): try emitStem(stem, into: blockInput)
        case .transition(let previous): try emitTransition(bi - 1, from: previous, into: blockInput)
        }
        report.stages.append(layers.count)
        report.growth.append(growth)
        var channels = c0
        for li in layers {
            let input = b.slice(of: buf, cOff: 0, c: channels)
            let output = b.slice(of: buf, cOff: channels, c: growth)
            try emitDenseLayer("features.denseblock_\(bi).denselayer_\(li)", input: input, output: output,
                               inChannels: channels, growth: growth)
            channels += growth
            report.denseLayers += 1
        }
        return (b.slice(of: buf, cOff: 0, c: channels), channels)
    }

    /// The output channels of transition `bi` (its conv's; a CondenseNet's transition is a pool only).
    mutating func transitionChannels(_ bi: Int, channels: Int, isCondense: Bool) throws -> Int {
        let t = "features.transition_\(bi)"
        if let w = ck.tensors[t + ".conv.conv.weight"] {
            guard w.shape.count == 4 else { throw fail("'\(t).conv.conv.weight' is not 4-D") }
            report.compression = Double(w.shape[0]) / Double(channels)
            return w.shape[0]
        } else if !isCondense {
            throw fail("DenseNet block \(bi) is followed by no 'features.transition_\(bi).conv' keys")
        }
        return channels
    }

    /// Final BN-ReLU, global average pool, classifier.
    mutating func emitHead(_ last: Int, channels: Int, h: Int) throws {
        let bnl = try bn("features.norm_last", channels: channels)
        report.parametersBefore += 2 * channels
        let t = b.addBuffer(c: channels, h: h, w: h)
        b.addChannel(input: last, output: t, scale: b.addTensor("features.norm_last.scale", bnl.scale, dims: [channels]),
                     shift: b.addTensor("features.norm_last.shift", bnl.shift, dims: [channels]), relu: true)
        let pooled = b.addBuffer(c: channels, h: 1, w: 1)
        b.addPool(.average, input: t, output: pooled, params: PoolParams(kernel: h, stride: 1))
        try emitClassifier(features: channels, input: pooled)
    }

    mutating func emitDenseLayer(_ pre: String, input: Int, output: Int, inChannels: Int, growth: Int) throws {
        let c1 = pre + ".conv_1", c2 = pre + ".conv_2"
        let shuffle: Int
        let mid: Int  // value after the 1x1 conv
        if has(c1 + ".index") {
            // converted: index layer + BN on the gathered channels + grouped 1x1 conv + shuffle
            let index = try tensor(c1 + ".index", shape: [nil]).ints
            if let bad = index.first(where: { $0 < 0 || $0 >= inChannels }) {
                throw fail("'\(c1).index' holds \(bad), outside the \(inChannels) channels of the block at that point")
            }
            return try emitConverted(pre, index: index, input: input, output: output, growth: growth)
        } else if has(c1 + "._mask") {
            let w = try tensor(c1 + ".conv.weight", shape: [nil, inChannels, 1, 1])
            let mask = try tensor(c1 + "._mask", shape: w.shape.map { $0 })
            for k in [c1 + "._count", c1 + "._stage"] where has(k) { used.insert(k) }
            let w3 = try tensor(c2 + ".conv.weight", shape: [growth, nil, 3, 3])
            let g3 = w.shape[0] / max(1, w3.shape[1])
            report.parametersBefore += w.count + 2 * inChannels
            let cond = try condense(c1, weight: w, mask: mask, inChannels: inChannels, hint: g3)
            let bn1 = try bn(c1 + ".norm", channels: inChannels).gathered(cond.index)
            let t1 = b.addBuffer(c: cond.index.count, h: b.shape(of: input).h, w: b.shape(of: input).w)
            b.addChannel(input: input, output: t1, scale: b.addTensor(c1 + ".norm.scale", bn1.scale, dims: [bn1.count]),
                         shift: b.addTensor(c1 + ".norm.shift", bn1.shift, dims: [bn1.count]),
                         index: b.addIndex(c1 + ".index", cond.index), relu: true)
            mid = b.addBuffer(c: w.shape[0], h: b.shape(of: input).h, w: b.shape(of: input).w)
            b.addConv2d(input: t1, output: mid,
                        weight: b.addTensor(c1 + ".conv.weight", cond.weight, dims: [w.shape[0], cond.index.count / cond.groups, 1, 1]),
                        params: Conv2DParams(groups: cond.groups))
            shuffle = cond.groups
            report.group1x1 = cond.groups
            report.condenseFactor = cond.factor
            report.bottleneck = w.shape[0] / growth
        } else {
            // DenseNet-BC: BN-ReLU-1x1 conv (optionally grouped), no index, no shuffle
            let w = try tensor(c1 + ".conv.weight", shape: [nil, nil, 1, 1])
            guard w.shape[1] > 0, inChannels % w.shape[1] == 0 else {
                throw fail("'\(c1).conv.weight' takes \(w.shape[1]) channels per group, which does not divide the \(inChannels) channels of the block at that point")
            }
            let g = inChannels / w.shape[1]
            let bn1 = try bn(c1 + ".norm", channels: inChannels)
            report.parametersBefore += w.count + 2 * inChannels
            let t1 = b.addBuffer(c: inChannels, h: b.shape(of: input).h, w: b.shape(of: input).w)
            b.addChannel(input: input, output: t1, scale: b.addTensor(c1 + ".norm.scale", bn1.scale, dims: [inChannels]),
                         shift: b.addTensor(c1 + ".norm.shift", bn1.shift, dims: [inChannels]), relu: true)
            mid = b.addBuffer(c: w.shape[0], h: b.shape(of: input).h, w: b.shape(of: input).w)
            b.addConv2d(input: t1, output: mid, weight: b.addTensor(c1 + ".conv.weight", w.values, dims: w.shape),
                        params: Conv2DParams(groups: g))
            report.group1x1 = g
            report.bottleneck = w.shape[0] / growth
            shuffle = 0
        }
        try emitConv2(c2, mid: mid, shuffle: shuffle, output: output, growth: growth)
    }

    mutating func emitConverted(_ pre: String, index: [Int], input: Int, output: Int, growth: Int) throws {
        let c1 = pre + ".conv_1"
        let w = try tensor(c1 + ".conv.weight", shape: [nil, nil, 1, 1])
        guard w.shape[1] > 0, index.count % w.shape[1] == 0 else {
            throw fail("'\(c1).conv.weight' takes \(w.shape[1]) channels per group, which does not divide the \(index.count) indexed channels")
        }
        let g = index.count / w.shape[1]
        guard w.shape[0] % g == 0 else { throw fail("'\(c1).conv.weight' has \(w.shape[0]) outputs, not divisible into \(g) groups") }
        let bn1 = try bn(c1 + ".norm", channels: index.count)
        report.parametersBefore += w.count + 2 * index.count
        let s = b.shape(of: input)
        let t1 = b.addBuffer(c: index.count, h: s.h, w: s.w)
        b.addChannel(input: input, output: t1, scale: b.addTensor(c1 + ".norm.scale", bn1.scale, dims: [bn1.count]),
                     shift: b.addTensor(c1 + ".norm.shift", bn1.shift, dims: [bn1.count]),
                     index: b.addIndex(c1 + ".index", index), relu: true)
        let mid = b.addBuffer(c: w.shape[0], h: s.h, w: s.w)
        b.addConv2d(input: t1, output: mid, weight: b.addTensor(c1 + ".conv.weight", w.values, dims: w.shape),
                    params: Conv2DParams(groups: g))
        report.group1x1 = g
        report.bottleneck = w.shape[0] / growth
        // input channels at this layer / kept per group = condense factor
        if w.shape[1] > 0 { report.condenseFactor = s.c / w.shape[1] }
        try emitConv2(pre + ".conv_2", mid: mid, shuffle: g, output: output, growth: growth)
    }

    mutating func emitConv2(_ c2: String, mid: Int, shuffle: Int, output: Int, growth: Int) throws {
        let s = b.shape(of: mid)
        let w = try tensor(c2 + ".conv.weight", shape: [growth, nil, 3, 3])
        guard w.shape[1] > 0, s.c % w.shape[1] == 0 else {
            throw fail("'\(c2).conv.weight' takes \(w.shape[1]) channels per group, which does not divide the \(s.c) bottleneck channels")
        }
        let g = s.c / w.shape[1]
        let bn2 = try bn(c2 + ".norm", channels: s.c)
        report.parametersBefore += w.count + 2 * s.c
        let t2 = b.addBuffer(c: s.c, h: s.h, w: s.w)
        b.addChannel(input: mid, output: t2, scale: b.addTensor(c2 + ".norm.scale", bn2.scale, dims: [s.c]),
                     shift: b.addTensor(c2 + ".norm.shift", bn2.shift, dims: [s.c]), relu: true,
                     params: ChannelParams(shuffleGroups: shuffle > 1 ? shuffle : 0))
        b.addConv2d(input: t2, output: output, weight: b.addTensor(c2 + ".conv.weight", w.values, dims: w.shape),
                    params: Conv2DParams(stride: 1, pad: 1, groups: g))
        report.group3x3 = g
    }

    mutating func emitTransition(_ bi: Int, from src: Int, into dst: Int) throws {
        let t = "features.transition_\(bi)"
        let s = b.shape(of: src)
        if has(t + ".conv.conv.weight") {
            let w = try tensor(t + ".conv.conv.weight", shape: [nil, nil, 1, 1])
            guard w.shape[1] > 0, s.c % w.shape[1] == 0 else {
                throw fail("'\(t).conv.conv.weight' takes \(w.shape[1]) channels per group; the block has \(s.c)")
            }
            let bnt = try bn(t + ".conv.norm", channels: s.c)
            report.parametersBefore += w.count + 2 * s.c
            let t1 = b.addBuffer(c: s.c, h: s.h, w: s.w)
            b.addChannel(input: src, output: t1, scale: b.addTensor(t + ".conv.norm.scale", bnt.scale, dims: [s.c]),
                         shift: b.addTensor(t + ".conv.norm.shift", bnt.shift, dims: [s.c]), relu: true)
            let t2 = b.addBuffer(c: w.shape[0], h: s.h, w: s.w)
            b.addConv2d(input: t1, output: t2, weight: b.addTensor(t + ".conv.conv.weight", w.values, dims: w.shape),
                        params: Conv2DParams(groups: s.c / w.shape[1]))
            b.addPool(.average, input: t2, output: dst, params: PoolParams(kernel: 2, stride: 2))
        } else {
            b.addPool(.average, input: src, output: dst, params: PoolParams(kernel: 2, stride: 2))
        }
    }

    mutating func emitClassifier(features: Int, input: Int) throws {
        if has("classifier.index") {
            let idx = try tensor("classifier.index", shape: [nil]).ints
            let w = try tensor("classifier.linear.weight", shape: [nil, idx.count])
            let bias = try tensor("classifier.linear.bias", shape: [w.shape[0]])
            if let bad = idx.first(where: { $0 < 0 || $0 >= features }) {
                throw fail("'classifier.index' holds \(bad), outside the \(features) features")
            }
            report.parametersBefore += w.count + bias.count
            emitLinear(w: w.values, n: w.shape[0], k: idx.count, bias: bias.values, index: idx, input: input)
            report.classifier = "condensed \(idx.count)/\(features) (from the checkpoint)"
            return
        }
        let w = try tensor("classifier.weight", shape: [nil, features])
        let bias = try tensor("classifier.bias", shape: [w.shape[0]])
        report.parametersBefore += w.count + bias.count
        let n = w.shape[0]
        if report.checkpointKind == "training-time" && !opt.keepClassifier {
            // The official CondensingLinear: keep the int(0.5 * K) inputs whose weight
            // columns have the largest L1 norm (ascending sort, take the tail).
            let keep = Int(Double(features) * 0.5)
            var norms = [Float](repeating: 0, count: features)
            for r in 0..<n { for c in 0..<features { norms[c] += abs(w.values[r * features + c]) } }
            let order = (0..<features).sorted { norms[$0] != norms[$1] ? norms[$0] < norms[$1] : $0 < $1 }
            let idx = Array(order[(features - keep)...])
            var wk = [Float](repeating: 0, count: n * keep)
            for r in 0..<n { for (j, c) in idx.enumerated() { wk[r * keep + j] = w.values[r * features + c] } }
            emitLinear(w: wk, n: n, k: keep, bias: bias.values, index: idx, input: input)
            report.classifier = "condensed \(keep)/\(features) (largest L1 column norms, as the official conversion)"
        } else {
            emitLinear(w: w.values, n: n, k: features, bias: bias.values, index: nil, input: input)
            report.classifier = "full \(features)"
        }
    }

    mutating func emitLinear(w: [Float], n: Int, k: Int, bias: [Float], index: [Int]?, input: Int) {
        let out = b.addBuffer(c: n, h: 1, w: 1)
        let wt = b.addTensor("classifier.weight", w, dims: [n, k]), bt = b.addTensor("classifier.bias", bias, dims: [n])
        b.addLinear(input: input, output: out, weight: wt, bias: bt, index: index.map { b.addIndex("classifier.index", $0) })
        b.outputValue = out
    }

    struct Condensed { var index: [Int]; var weight: [Float]; var groups: Int; var factor: Int }

    /// The official LearnedGroupConv -> CondensingConv rule. Group i of G owns the output
    /// rows i, i+G, i+2G, ... of the masked weight and keeps the input channels j with
    /// mask[i, j] == 1 (ascending, at most in/C of them). The grouped weight writes group
    /// i's outputs as rows i*d .. i*d+d-1 (d = out/G); a channel shuffle with G groups
    /// restores the original order.
    func condense(_ name: String, weight w: Tensor, mask: Tensor, inChannels: Int, hint g3: Int) throws -> Condensed {
        let out = w.shape[0], inC = inChannels
        func m(_ r: Int, _ c: Int) -> Bool { mask.values[r * inC + c] != 0 }
        func periodic(_ g: Int) -> Bool {
            guard g >= 1, out % g == 0, inC % g == 0 else { return false }
            for r in g..<out { for c in 0..<inC where m(r, c) != m(r - g, c) { return false } }
            return true
        }
        var groups: Int
        if let forced = opt.group1x1 {
            guard periodic(forced) else { throw fail("'\(name)._mask' is not consistent with --group-1x1 \(forced)") }
            groups = forced
        } else if periodic(1) {
            groups = 1  // every output keeps the same inputs (e.g. before the first condensing stage)
        } else if periodic(g3) {
            groups = g3
        } else if let g = (1...out).first(where: { out % $0 == 0 && periodic($0) }) {
            groups = g
        } else {
            throw fail("'\(name)._mask' has no group structure")
        }
        let kept = (0..<groups).map { i in (0..<inC).filter { m(i, $0) } }
        let counts = Set(kept.map(\.count))
        let factor: Int
        if let c = opt.condenseFactor {
            factor = c
        } else if let stage = ck.tensors[name + "._stage"]?.values.first, stage >= 0, stage < 1024,
            inC % (Int(stage) + 1) == 0, kept.allSatisfy({ $0.count >= inC / (Int(stage) + 1) })
        {
            // A finished run ends in the last condensing stage, C - 1 (LearnedGroupConv._check_drop);
            // stepping through stages skips drops, so the masks may keep more than in/C.
            factor = Int(stage) + 1
        } else {
            guard counts.count == 1, let n = counts.first, n > 0, inC % n == 0 else {
                throw fail("'\(name)._mask' keeps \(kept.map(\.count)) channels per group: not a finished condensation; pass --condense-factor")
            }
            factor = inC / n
        }
        guard factor >= 1, inC % factor == 0 else { throw fail("'\(name)': \(inC) input channels not divisible by condense factor \(factor)") }
        var perGroup = inC / factor
        if opt.keepClassifier {
            // lossless: every channel the masks keep, even where the official rule keeps in/C
            guard counts.count == 1, let n = counts.first, n > 0 else {
                throw fail("'\(name)._mask' keeps \(kept.map(\.count)) channels per group; a lossless condensation needs equal counts")
            }
            perGroup = n
        }
        guard kept.allSatisfy({ $0.count >= perGroup }) else {
            throw fail("'\(name)._mask' keeps fewer than \(perGroup) channels in a group (condense factor \(factor))")
        }
        let d = out / groups
        var index: [Int] = []
        var weight = [Float](repeating: 0, count: out * perGroup)
        for i in 0..<groups {
            let sel = Array(kept[i].prefix(perGroup))
            index += sel
            for k in 0..<d {
                for (jj, j) in sel.enumerated() {
                    weight[(i * d + k) * perGroup + jj] = w.values[(i + k * groups) * inC + j]
                }
            }
        }
        return Condensed(index: index, weight: weight, groups: groups, factor: factor)
    }

    func checkAllUsed() throws {
        let ignorable = ["num_batches_tracked", "._count", "._stage"]
        for k in ck.keys where !used.contains(k) && !ignorable.contains(where: { k.hasSuffix($0) }) {
            let t = ck.tensors[k]!
            throw fail("could not place tensor '\(k)' (shape \(t.shape.map(String.init).joined(separator: "x"))) in a CondenseNet/DenseNet graph")
        }
    }

    func labels() throws -> [String] {
        let n = b.shape(of: b.outputValue).c
        if let l = opt.labels {
            guard l.count == n else { throw fail("--labels gives \(l.count) labels for \(n) classes") }
            return l
        }
        if let l = opt.preset.labels {
            guard l.count == n else {
                throw fail("the model has \(n) classes but preset \(opt.preset.name) has \(l.count) labels; pass --labels FILE")
            }
            return l
        }
        return (0..<n).map { "class_\($0)" }
    }

    func metaEntries() -> [(String, String)] {
        var m: [(String, String)] = [
            ("arch", report.arch), ("checkpoint", report.checkpointKind),
            ("source", opt.sourceName), ("converter", "cnm-convert (edge-infer)"), ("preset", opt.preset.name),
            ("stages", report.stages.map(String.init).joined(separator: ",")),
            ("growth", report.growth.map(String.init).joined(separator: ",")),
            ("bottleneck", String(report.bottleneck)),
            ("group_1x1", String(report.group1x1)), ("group_3x3", String(report.group3x3)),
        ]
        if report.arch == "condensenet" { m.append(("condense_factor", String(report.condenseFactor))) }
        if let c = report.compression { m.append(("compression", String(format: "%.3g", c))) }
        if has("features.init_norm.weight") {
            m.append(("stem", "conv stride 2, BN-ReLU, 3x3 stride-2 max pool (torchvision layout)"))
        } else {
            m.append(("stem_stride", String(opt.preset.stemStride)))
        }
        m.append(("classifier", report.classifier))
        m.append(("parameters_checkpoint", String(report.parametersBefore)))
        for (k, v) in ck.extras.sorted(by: { $0.key < $1.key }) where ["epoch", "arch", "best_prec1"].contains(k) {
            m.append(("checkpoint_" + k, v))
        }
        return m
    }
}
