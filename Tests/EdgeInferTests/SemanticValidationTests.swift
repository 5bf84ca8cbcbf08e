import CRuntime
import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// Models that pass every structural rule of FORMAT.md but break what the planner and kernels
/// assume, built with the converter's own CNMBuilder: each is refused with the rule it breaks, or
/// (fusion over an alias) runs right.
struct SemanticValidationTests {
    /// A model with input c x h x w whose graph `body` builds from the input value; it returns the
    /// output value (classes x 1 x 1).
    static func build(c: Int, h: Int, w: Int, mean: Float = 0, std: Float = 1,
                      _ body: (inout CNMBuilder, Int) -> Int) -> [UInt8] {
        var b = CNMBuilder()
        b.inputShape = (c, h, w)
        b.inputValue = b.addBuffer(c: c, h: h, w: w)
        b.mean = [Float](repeating: mean, count: c)
        b.std = [Float](repeating: std, count: c)
        b.outputValue = body(&b, b.inputValue)
        b.labels = (0..<b.shape(of: b.outputValue).c).map { "class \($0)" }
        return b.serialize()
    }

    static func loadError(_ bytes: [UInt8], unfused: Bool = false) -> EdgeInferError? {
        do {
            _ = try Model(bytes: bytes, name: "hostile.cnm", unfused: unfused)
            return nil
        } catch let e as EdgeInferError {
            return e
        } catch {
            return EdgeInferError(.argument, "unexpected \(error)")
        }
    }

    static func ramp(_ n: Int, _ scale: Float = 0.1) -> [Float] { (0..<n).map { Float(($0 * 7) % 11 - 5) * scale } }

    /// A global average pool and a classifier after `v` (so that any map ends in logits).
    static func head(_ b: inout CNMBuilder, _ v: Int, classes: Int = 3) -> Int {
        let s = b.shape(of: v)
        let p = b.addBuffer(c: s.c, h: 1, w: 1)
        b.addPool(.average, input: v, output: p, params: PoolParams(kernelH: s.h, kernelW: s.w, strideH: 1, strideW: 1))
        let out = b.addBuffer(c: classes, h: 1, w: 1)
        b.addLinear(input: p, output: out, weight: b.addTensor("fc", ramp(classes * s.c), dims: [classes, s.c]))
        return out
    }

    /// The planner fuses a 1x1 conv with the channel shuffle after it only where the fused kernel
    /// does not write what it still reads: here the shuffle writes back over the conv's input.
    @Test func fusionNeverWritesWhatItReads() throws {
        let bytes = Self.build(c: 3, h: 5, w: 5) { b, x in
            let a = b.addBuffer(c: 8, h: 5, w: 5)
            b.addConv2d(input: x, output: a, weight: b.addTensor("c0", Self.ramp(24, 0.3), dims: [8, 3, 1, 1]), params: Conv2DParams())
            let t = b.addBuffer(c: 8, h: 5, w: 5)
            b.addConv2d(input: a, output: t, weight: b.addTensor("c1", Self.ramp(32, 0.2), dims: [8, 4, 1, 1]),
                        params: Conv2DParams(groups: 2))
            b.addChannel(input: t, output: a, scale: b.addTensor("s", Self.ramp(8), dims: [8]), shift: b.addTensor("b", Self.ramp(8), dims: [8]),
                         relu: true, params: ChannelParams(shuffleGroups: 2))
            return Self.head(&b, a)
        }
        let fused = try Model(bytes: bytes, name: "alias.cnm"), unfused = try Model(bytes: bytes, name: "alias.cnm", unfused: true)
        let x = Self.ramp(75, 0.5)
        for threads in [1, 2] {
            let y = try Session(model: fused, threads: threads).run(x), ref = try Session(model: unfused, threads: threads).run(x)
            #expect(y == ref, "\(threads) threads: fused \(y), op by op \(ref)")
            #expect(ref.contains { abs($0) > 0.1 }, "a meaningful check: \(ref)")
        }
    }

    /// A fused step (gather + BN + ReLU, 1x1 conv, shuffle + BN + ReLU) reads its first op's input
    /// while it writes its last op's output, so both buffers are live for the whole step; they were
    /// planned from op-by-op lifetimes ([0, 1] and [3, 4] here), given the same arena bytes, and the
    /// step overwrote its input as it read it. Found by the .cnm fuzzer's oracle (fused vs unfused).
    @Test func aFusedStepKeepsItsInputAlive() throws {
        let bytes = Self.build(c: 3, h: 6, w: 6) { b, x in
            let a = b.addBuffer(c: 16, h: 6, w: 6)
            b.addConv2d(input: x, output: a, weight: b.addTensor("c0", Self.ramp(48, 0.3), dims: [16, 3, 1, 1]), params: Conv2DParams())
            let p = b.addBuffer(c: 8, h: 6, w: 6)
            b.addChannel(input: a, output: p, scale: b.addTensor("s0", Self.ramp(8).map { $0 + 1 }, dims: [8]), shift: b.addTensor("b0", Self.ramp(8), dims: [8]),
                         index: b.addIndex("idx", [15, 1, 14, 2, 13, 3, 12, 4]), relu: true)
            let t = b.addBuffer(c: 8, h: 6, w: 6)
            b.addConv2d(input: p, output: t, weight: b.addTensor("c1", Self.ramp(32, 0.2), dims: [8, 4, 1, 1]), params: Conv2DParams(groups: 2))
            let y = b.addBuffer(c: 8, h: 6, w: 6)
            b.addChannel(input: t, output: y, scale: b.addTensor("s1", Self.ramp(8), dims: [8]), shift: b.addTensor("b1", Self.ramp(8), dims: [8]),
                         params: ChannelParams(shuffleGroups: 2))
            return Self.head(&b, y)
        }
        let fused = try Model(bytes: bytes, name: "step.cnm"), unfused = try Model(bytes: bytes, name: "step.cnm", unfused: true)
        #expect(fused.operators.filter { $0.fusedInto != nil }.count == 2, "the gather and the shuffle run inside the conv")
        let x = Self.ramp(108, 0.5)
        for threads in [1, 2] {
            let y = try Session(model: fused, threads: threads).run(x), ref = try Session(model: unfused, threads: threads).run(x)
            #expect(y == ref, "\(threads) threads: fused \(y), op by op \(ref)")
        }
    }

    @Test func poolBoundsAndWorkLimit() {
        // padding of 2^30 (overflowed int in the validator's output size) and a 65537-wide window
        for (k, pad) in [(3, 1 << 30), (65537, 0), (3, 65)] {
            let bytes = Self.build(c: 1, h: 8, w: 8) { b, x in
                let p = b.addBuffer(c: 1, h: 1, w: 1)
                b.addPool(.average, input: x, output: p, params: PoolParams(kernelH: k, kernelW: 8, strideH: 1, strideW: 1, padH: pad, padW: 0))
                return p
            }
            let e = Self.loadError(bytes)
            #expect(e?.kind == .graph && e?.message.contains("bad window") == true, "window \(k) pad \(pad): \(e?.message ?? "loaded")")
        }
        // a few hundred bytes asking for 1.8e13 window reads
        let bomb = Self.build(c: 1, h: 4096, w: 4096) { b, x in
            let p = b.addBuffer(c: 1, h: 2049, w: 2049)
            b.addPool(.average, input: x, output: p, params: PoolParams(kernel: 2048, stride: 1))
            return Self.head(&b, p, classes: 2)
        }
        #expect(bomb.count < 1024)
        let e = Self.loadError(bomb)
        #expect(e?.kind == .limit && e?.message.contains("element operations per inference") == true, "\(e?.message ?? "loaded")")
    }

    @Test func weightsMustBeFinite() {
        for bad in [Float.infinity, -.infinity, .nan] {
            let bytes = Self.build(c: 1, h: 4, w: 4) { b, x in
                let y = b.addBuffer(c: 2, h: 4, w: 4)
                b.addConv2d(input: x, output: y, weight: b.addTensor("w", [1, 2, bad, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8], dims: [2, 1, 3, 3]),
                            params: Conv2DParams(stride: 1, pad: 1))
                return Self.head(&b, y)
            }
            let e = Self.loadError(bytes)
            #expect(e?.kind == .graph && e?.message.contains("'w'[2]") == true && e?.message.contains("not finite") == true,
                    "\(bad): \(e?.message ?? "loaded")")
        }
    }

    @Test func normalisationMustBeFinite() {
        for (mean, std) in [(Float.infinity, Float(1)), (0, .infinity), (0, 1e-40), (.nan, 1)] {
            let bytes = Self.build(c: 1, h: 2, w: 2, mean: mean, std: std) { b, x in Self.head(&b, x) }
            let e = Self.loadError(bytes)
            #expect(e?.kind == .format && e?.message.contains("normalisation") == true, "mean \(mean) std \(std): \(e?.message ?? "loaded")")
        }
    }

    /// An int8 conv over `cin` channels with the given scales (and weights: by default a ramp over
    /// -127...127), after an fp32 conv that makes them.
    static func int8Conv(cin: Int, inputScale: Float, weightScale: Float, codes: [Int8]? = nil, weightBits: Int = 8) -> [UInt8] {
        Self.build(c: 1, h: 1, w: 1) { b, x in
            let wide = b.addBuffer(c: cin, h: 1, w: 1)
            b.addConv2d(input: x, output: wide, weight: b.addTensor("expand", Self.ramp(cin), dims: [cin, 1, 1, 1]), params: Conv2DParams())
            let out = b.addBuffer(c: 2, h: 1, w: 1)
            b.addConv2d(input: wide, output: out, weight: b.addTensor("w", Self.ramp(2 * cin), dims: [2, cin, 1, 1]), params: Conv2DParams())
            let q = b.addTensorI8("wq", codes ?? (0..<(2 * cin)).map { Int8($0 % 255 - 127) }, dims: [2, cin, 1, 1])
            b.setQuantized(op: 1, weight: q, weightScales: b.addTensor("ws", [weightScale, weightScale], dims: [2]),
                           inputScale: inputScale, zeroPoint: 3, weightBits: weightBits)
            return out
        }
    }

    /// 7-bit weights (p6 bits 8..15 = 7) are a promise the kernels rely on (`vpmaddubsw` saturates
    /// past it), so the validator checks every weight; p6 holds nothing else.
    @Test func sevenBitWeightsAreChecked() throws {
        let fits = (0..<16).map { Int8($0 * 8 - 63) }  // -63 ... 57, and the extremes below
        var extremes = fits
        extremes[0] = -63; extremes[15] = 63
        let m7 = try Model(bytes: Self.int8Conv(cin: 8, inputScale: 0.01, weightScale: 0.01, codes: extremes, weightBits: 7), name: "w7.cnm")
        let m8 = try Model(bytes: Self.int8Conv(cin: 8, inputScale: 0.01, weightScale: 0.01, codes: extremes), name: "w8.cnm")
        #expect(m7.operators[1].weightBits == 7 && m8.operators[1].weightBits == 8 && m7.operators[0].weightBits == 0)
        #expect(m7.operators[1].summary.contains("int8 w7") && !m8.operators[1].summary.contains("w7"))
        // the same weights give the same bits on the 7-bit kernels as on the 8-bit ones
        let x: [Float] = [0.7]
        #expect(try Session(model: m7).run(x) == Session(model: m8).run(x))
        for bad: Int8 in [64, -64, 127, -127] {
            var codes = fits
            codes[5] = bad
            let e = Self.loadError(Self.int8Conv(cin: 8, inputScale: 0.01, weightScale: 0.01, codes: codes, weightBits: 7))
            #expect(e?.kind == .graph && e?.message.contains("int8 weight 5 is \(bad), outside the 7-bit symmetric range -63..63") == true,
                    "\(bad): \(e?.message ?? "loaded")")
        }
        // p6 = zero point | bits << 8 with bits other than 0 (8) and 7, or anything above bit 15
        let good = Self.int8Conv(cin: 8, inputScale: 0.01, weightScale: 0.01, codes: fits, weightBits: 7)
        let ops = Int(FormatTests.section(good, 6)), p6 = ops + 64 + 36 + 24
        #expect(FormatTests.u32(good, p6) == 3 | 7 << 8)
        for v: UInt32 in [3 | 5 << 8, 3 | 8 << 8, 3 | 7 << 8 | 1 << 16, 0xFFFF_FFFF] {
            var b = good
            FormatTests.put(&b, p6, v)
            FormatTests.rechecksum(&b)
            let e = Self.loadError(b)
            #expect(e?.kind == .graph && e?.message.contains("holds more than the zero point") == true, "p6 \(v): \(e?.message ?? "loaded")")
        }
    }

    @Test func int8SumsStayExact() throws {
        // 66,311 products is the longest reduction whose worst case fits int32; 66,312 is refused
        _ = try Model(bytes: Self.int8Conv(cin: 66311, inputScale: 0.01, weightScale: 0.01), name: "longest.cnm")
        let e = Self.loadError(Self.int8Conv(cin: 66312, inputScale: 0.01, weightScale: 0.01))
        #expect(e?.kind == .graph && e?.message.contains("int8 reduction of 66312 products") == true, "\(e?.message ?? "loaded")")
        // scales each below 1e30 whose product is inf, and a subnormal input scale (1 / s = inf)
        for (si, sw) in [(Float(1e20), Float(1e20)), (1e-40, 1)] {
            let e = Self.loadError(Self.int8Conv(cin: 4, inputScale: si, weightScale: sw))
            #expect(e?.kind == .graph && e?.message.contains("normal") == true, "scales \(si), \(sw): \(e?.message ?? "loaded")")
        }
    }

    /// CLIP's bounds are an interval (NaN or min > max refused); MUL's second factor has the first's
    /// shape or one value per channel; both run as their references compute.
    @Test func clipAndMulRules() throws {
        func clipModel(_ lo: Float, _ hi: Float) -> [UInt8] {
            Self.build(c: 2, h: 3, w: 3) { b, x in
                let y = b.addBuffer(c: 2, h: 3, w: 3)
                b.addClip(input: x, output: y, params: ClipParams(min: lo, max: hi))
                return Self.head(&b, y)
            }
        }
        for (lo, hi) in [(Float(1), Float(0)), (.nan, 1), (0, .nan)] {
            let e = Self.loadError(clipModel(lo, hi))
            #expect(e?.kind == .graph && e?.message.contains("op 0 (clip): min") == true, "\(lo), \(hi): \(e?.message ?? "loaded")")
        }
        #expect(Self.loadError(clipModel(-.infinity, 0.5)) == nil)
        func mulModel(gate: (c: Int, h: Int, w: Int)) -> [UInt8] {
            Self.build(c: 2, h: 3, w: 3) { b, x in
                let g = b.addBuffer(c: gate.c, h: gate.h, w: gate.w)
                b.addPool(.average, input: x, output: g, params: PoolParams(kernelH: 4 - gate.h, kernelW: 4 - gate.w, strideH: 1, strideW: 1))
                let y = b.addBuffer(c: 2, h: 3, w: 3)
                b.addMul(input: x, input1: g, output: y)
                return Self.head(&b, y)
            }
        }
        // a gate of the wrong channel count, and a map of another size, are refused; the gate and a
        // whole map (here 3x3 from a 1x1 window) are accepted
        #expect(Self.loadError(mulModel(gate: (2, 2, 2)))?.message.contains("op 1 (mul): second input 2x2x2 must be 2x3x3 or 2x1x1") == true)
        #expect(Self.loadError(mulModel(gate: (2, 1, 1))) == nil && Self.loadError(mulModel(gate: (2, 3, 3))) == nil)
        // and they compute x * mean(x) per channel, clamped
        let bytes = Self.build(c: 2, h: 2, w: 2) { b, x in
            let g = b.addBuffer(c: 2, h: 1, w: 1)
            b.addPool(.average, input: x, output: g, params: PoolParams(kernelH: 2, kernelW: 2, strideH: 1, strideW: 1))
            let y = b.addBuffer(c: 2, h: 2, w: 2)
            b.addMul(input: x, input1: g, output: y)
            let z = b.addBuffer(c: 2, h: 2, w: 2)
            b.addClip(input: y, output: z, params: ClipParams(min: -1, max: 3))
            let out = b.addBuffer(c: 8, h: 1, w: 1)
            b.addLinear(input: z, output: out, weight: b.addTensor("eye", (0..<64).map { $0 % 9 == 0 ? 1 : 0 }, dims: [8, 8]))
            return out
        }
        let x: [Float] = [1, 2, 3, 4, -8, 2, 0, 1]  // means 2.5 and -1.25
        let want: [Float] = [2.5, 3, 3, 3, 3, -1, 0, -1]
        #expect(try Session(model: Model(bytes: bytes, name: "mul.cnm"), threads: 1).run(x) == want)
    }

    /// Fusion is the runtime's business: every fixture network, fp32 and int8, gives the same bits
    /// fused and op by op, at 1 and 2 threads.
    @Test(arguments: ["lenet5", "alexnet", "vgg16", "googlenet", "resnet", "densenet", "tiny", "sigmoid",
                      "mobilenetv2", "shufflenetv2", "regnety", "lightops"])
    func fusedEqualsUnfused(_ name: String) throws {
        let dir = ONNXTests.dir
        let x = try NpyArray(contentsOf: dir + name + "-inputs.npy")
        var opt = ConvertOptions(preset: Preset.imagenet.with(mean: nil, std: nil, inputSize: x.shape[2]))
        opt.labels = (0..<(try NpyArray(contentsOf: dir + name + "-logits.npy").shape[1])).map { "class \($0)" }
        for int8 in [false, true] {
            let q = int8 ? QuantizeOptions(source: dir + name + "-inputs.npy") : nil
            let (bytes, _, _) = try Converter.convert(checkpoint: dir + name + ".onnx", options: opt, int8: q)
            let fused = try Model(bytes: bytes, name: name), unfused = try Model(bytes: bytes, name: name, unfused: true)
            for threads in [1, 2] {
                let y = try Session(model: fused, threads: threads).runBatch(x.data, count: x.shape[0])
                let ref = try Session(model: unfused, threads: threads).runBatch(x.data, count: x.shape[0])
                #expect(y == ref, "\(name) int8 \(int8), \(threads) threads: fused and unfused differ by \(maxAbsDiff(y, ref))")
            }
        }
    }

    /// Winograd is the runtime's choice too: the fixture networks with 3x3 stride-1 convs on maps of
    /// 13x13 and more (ResNet's and VGG's first stages, GoogLeNet's Inception branches) give the
    /// direct kernel's logits within fp32 rounding when loaded without it, and without its
    /// transformed weights.
    @Test(arguments: ["resnet", "vgg16", "googlenet"])
    func winogradOffMatchesOn(_ name: String) throws {
        let dir = ONNXTests.dir
        let x = try NpyArray(contentsOf: dir + name + "-inputs.npy")
        var opt = ConvertOptions(preset: Preset.imagenet.with(mean: nil, std: nil, inputSize: x.shape[2]))
        opt.labels = (0..<(try NpyArray(contentsOf: dir + name + "-logits.npy").shape[1])).map { "class \($0)" }
        let (bytes, _, _) = try Converter.convert(checkpoint: dir + name + ".onnx", options: opt, int8: nil)
        let on = try Model(bytes: bytes, name: name), off = try Model(bytes: bytes, name: name, winograd: false)
        #expect(on.info.planBytes > off.info.planBytes, "\(name): no Winograd weights to drop (\(on.info.planBytes) bytes)")
        #expect(off.info.planBytes == 0, "\(name): an fp32 model without Winograd has no weights in kernel layouts")
        let y = try Session(model: on, threads: 1).runBatch(x.data, count: x.shape[0])
        let ref = try Session(model: off, threads: 1).runBatch(x.data, count: x.shape[0])
        let top = ref.map { abs($0) }.max() ?? 1
        #expect(maxAbsDiff(y, ref) <= 1e-4 * max(1, top), "\(name): Winograd and direct differ by \(maxAbsDiff(y, ref)) (logits up to \(top))")
        #expect(y != ref, "\(name): the same bits: Winograd did not run")
    }

    /// The ONNX importer refuses attributes it does not compute: BatchNormalization in training
    /// mode, and a final Softmax over anything but the classes.
    @Test func onnxAttributesHonouredOrRefused() throws {
        let dir = URL(fileURLWithPath: Paths.tempDir())
        var opt = ConvertOptions(preset: Preset.imagenet.with(mean: nil, std: nil, inputSize: 64))
        opt.labels = (0..<10).map { "class \($0)" }
        var res = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: ONNXTests.dir + "resnet.onnx")))
        let k = try #require(res.graph.node.firstIndex { $0.opType == "BatchNormalization" })
        var tm = Onnx_AttributeProto()
        tm.name = "training_mode"
        tm.type = .int
        tm.i = 1
        res.graph.node[k].attribute.append(tm)
        let bn = dir.appendingPathComponent("bn-training.onnx").path
        FileManager.default.createFile(atPath: bn, contents: try res.serializedData())
        #expect { try Converter.convert(checkpoint: bn, options: opt) } throws: { e in
            "\(e)".contains("bn-training.onnx") && "\(e)".contains("training_mode")
        }
        // LeNet-5 with a Softmax appended: axis 1 and -1 of N x C are the classes, axis 0 is not
        let lenet = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: ONNXTests.dir + "lenet5.onnx")))
        var lopt = ConvertOptions(preset: Preset.cifar10.with(mean: nil, std: nil, inputSize: 32))
        lopt.labels = opt.labels
        let (plain, _) = try Converter.convert(checkpoint: ONNXTests.dir + "lenet5.onnx", options: lopt)
        for axis in [1, -1, 0] {
            var m = lenet
            var sm = Onnx_NodeProto()
            sm.opType = "Softmax"
            sm.name = "softmax"
            sm.input = [m.graph.output[0].name]
            sm.output = ["probs"]
            var a = Onnx_AttributeProto()
            a.name = "axis"
            a.type = .int
            a.i = Int64(axis)
            sm.attribute = [a]
            m.graph.node.append(sm)
            m.graph.output[0].name = "probs"
            let path = dir.appendingPathComponent("softmax\(axis).onnx").path
            FileManager.default.createFile(atPath: path, contents: try m.serializedData())
            if axis == 0 {
                #expect { try Converter.convert(checkpoint: path, options: lopt) } throws: { e in
                    "\(e)".contains("softmax") && "\(e)".contains("axis = 0") && "\(e)".contains("class axis")
                }
            } else {
                let (bytes, _) = try Converter.convert(checkpoint: path, options: lopt)
                let x = try NpyArray(contentsOf: ONNXTests.dir + "lenet5-inputs.npy")
                let y = try Session(model: try Model(bytes: bytes, name: "softmax"), threads: 1).runBatch(x.data, count: x.shape[0])
                let ref = try Session(model: try Model(bytes: plain, name: "lenet5"), threads: 1).runBatch(x.data, count: x.shape[0])
                #expect(y == ref, "axis \(axis): the dropped softmax leaves the logits")
            }
        }
    }

    /// Refusals that speak plainly, and an axis spelled the other way accepted.
    @Test func onnxRefusalsNameTheProblem() throws {
        let dir = URL(fileURLWithPath: Paths.tempDir())
        var opt = ConvertOptions(preset: Preset.cifar10.with(mean: nil, std: nil, inputSize: 32))
        opt.labels = (0..<10).map { "class \($0)" }
        let lenet = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: ONNXTests.dir + "lenet5.onnx")))
        var five = lenet
        five.graph.input[0].type.tensorType.shape.dim[1].dimValue = 5
        let fivePath = dir.appendingPathComponent("five.onnx").path
        FileManager.default.createFile(atPath: fivePath, contents: try five.serializedData())
        #expect { try Converter.convert(checkpoint: fivePath, options: opt) } throws: { e in
            "\(e)".contains("1 to 4 channels, not 5") && !"\(e)".contains("Optional")
        }
        // Flatten with axis -3 on the 4-D map is axis 1: the same logits
        var neg = lenet
        let k = try #require(neg.graph.node.firstIndex { $0.opType == "Flatten" })
        var a = Onnx_AttributeProto()
        a.name = "axis"
        a.type = .int
        a.i = -3
        neg.graph.node[k].attribute = [a]
        let negPath = dir.appendingPathComponent("flatten-3.onnx").path
        FileManager.default.createFile(atPath: negPath, contents: try neg.serializedData())
        let x = try NpyArray(contentsOf: ONNXTests.dir + "lenet5-inputs.npy")
        let (b0, _) = try Converter.convert(checkpoint: ONNXTests.dir + "lenet5.onnx", options: opt)
        let (b1, _) = try Converter.convert(checkpoint: negPath, options: opt)
        let y0 = try Session(model: try Model(bytes: b0, name: "a"), threads: 1).runBatch(x.data, count: x.shape[0])
        let y1 = try Session(model: try Model(bytes: b1, name: "b"), threads: 1).runBatch(x.data, count: x.shape[0])
        #expect(y0 == y1)
    }
}
