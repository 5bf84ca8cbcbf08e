import CRuntime
import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

/// The C loader against a malformed-input corpus made from a real model: each corruption
/// gets its own error kind and a message that names the file and the rule.
struct FormatTests {
    static let good: [UInt8] = {
        let (bytes, _) = try! Converter.convert(checkpoint: Paths.fixture("condensenet-c8-cifar10-converted.pth"),
                                                options: ConvertOptions(preset: .cifar10))
        return bytes
    }()

    static func u32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
    static func put(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for k in 0..<4 { b[at + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }
    static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for k in 0..<8 { b[at + k] = UInt8((v >> (8 * UInt64(k))) & 0xFF) } }
    static func rechecksum(_ b: inout [UInt8]) {
        let crc = b.withUnsafeBytes { cnm_crc32(0, $0.baseAddress! + 16, $0.count - 16) }
        put(&b, 12, crc)
    }
    /// Byte offset of section s's first entry.
    static func section(_ b: [UInt8], _ s: Int) -> Int { u32(b, 32 + 16 * s) }

    func loadError(_ b: [UInt8]) -> EdgeInferError? {
        do {
            _ = try Model(bytes: b, name: "corpus.cnm")
            return nil
        } catch let e as EdgeInferError {
            return e
        } catch {
            return EdgeInferError(.argument, "unexpected \(error)")
        }
    }

    @Test func goodModelLoadsAndDescribesItself() throws {
        let m = try Model(bytes: Self.good, name: "c8.cnm")
        let i = m.info
        #expect(i.version == 1)
        #expect(i.inputChannels == 3 && i.inputHeight == 32 && i.inputWidth == 32)
        #expect(i.numClasses == 10)
        #expect(m.labels.first == "airplane" && m.labels.last == "truck")
        #expect(m.metadata("arch") == "condensenet")
        #expect(m.metadata("condense_factor") == "8")
        #expect(i.arenaBytes >= i.arenaLowerBound)
        #expect(i.arenaLowerBound > 0)
        // the dense-block buffer is planned once: the arena is far below the sum of all buffers
        #expect(i.arenaBytes < 4 * 8 * 1024 * 240)
    }

    @Test func truncationAtEverySection() {
        var cuts = [0, 7, 100, 255]
        for s in 0..<7 { cuts.append(Self.section(Self.good, s) + 3) }
        cuts.append(Self.good.count - 1)
        for cut in cuts {
            var b = Array(Self.good.prefix(cut))
            let e = loadError(b)
            #expect(e != nil, "cut at \(cut)")
            #expect(e?.message.contains("corpus.cnm") == true)
            if cut >= 8 { #expect(e?.kind == .truncated, "cut at \(cut): \(e?.message ?? "")") }
            // a truncated file whose header was patched to its new size is caught by the checksum
            if cut >= 256 {
                Self.put64(&b, 16, UInt64(cut))
                #expect(loadError(b)?.kind == .checksum, "cut at \(cut)")
            }
        }
    }

    @Test func flippedByteIsACorruptFile() {
        for at in [20, 300, Self.good.count / 2, Self.good.count - 1] {
            var b = Self.good
            b[at] ^= 0x40
            let e = loadError(b)
            // byte 20 is inside file_size: the size check fires before the checksum
            #expect(e?.kind == (at == 20 ? .truncated : .checksum), "flip at \(at): \(e?.message ?? "")")
        }
        var b = Self.good
        b[Self.good.count / 2] ^= 1
        #expect(loadError(b)?.message.contains("checksum mismatch") == true)
    }

    @Test func wrongMagicAndVersion() {
        var b = Self.good
        b[1] = UInt8(ascii: "X")
        #expect(loadError(b)?.message.contains("not a .cnm model") == true)
        b = Self.good
        Self.put(&b, 8, 2)
        let e = loadError(b)
        #expect(e?.kind == .version)
        #expect(e?.message.contains("unsupported .cnm version 2") == true)
        #expect(loadError(Array("P6\n1 1\n255\nabc".utf8))?.kind == .format)
    }

    /// Records broken on purpose, with a valid checksum, so the validator (not the CRC) must catch them.
    @Test func brokenRecords() {
        let tensors = Self.section(Self.good, 3), ops = Self.section(Self.good, 6), values = Self.section(Self.good, 5)
        func patched(_ f: (inout [UInt8]) -> Void) -> EdgeInferError? {
            var b = Self.good
            f(&b)
            Self.rechecksum(&b)
            return loadError(b)
        }
        // tensor 0's data past the end of the file
        var e = patched { Self.put64(&$0, tensors + 32, UInt64(Self.good.count + 64 - Self.good.count % 64)) }
        #expect(e?.kind == .truncated && e?.message.contains("runs past the end of the file") == true, "\(e?.message ?? "")")
        // tensor 1 moved onto tensor 0
        e = patched { b in Self.put64(&b, tensors + 48 + 32, UInt64(Self.u32(b, tensors + 32))) }
        #expect(e?.message.contains("overlap") == true, "\(e?.message ?? "")")
        // an offset that is not aligned
        e = patched { b in Self.put64(&b, tensors + 32, UInt64(Self.u32(b, tensors + 32) + 4)) }
        #expect(e?.message.contains("not 64-byte aligned") == true, "\(e?.message ?? "")")
        // a tensor claiming 2^40 elements fails before anything is allocated
        e = patched { b in Self.put(&b, tensors + 16, 1 << 20); Self.put(&b, tensors + 20, 1 << 20) }
        #expect(e?.kind == .limit || e?.kind == .format, "\(e?.message ?? "")")
        // unknown dtype
        e = patched { Self.put(&$0, tensors + 8, 9) }
        #expect(e?.message.contains("unknown dtype 9") == true, "\(e?.message ?? "")")
        // unknown operator
        e = patched { Self.put(&$0, ops, 77) }
        #expect(e?.kind == .graph && e?.message.contains("unknown operator type 77") == true, "\(e?.message ?? "")")
        // op 0 (stem conv) given another 4-D weight (the first 1x1 conv's): the shape does not match
        e = patched { Self.put(&$0, ops + 20, 4) }
        #expect(e?.kind == .graph && e?.message.contains("op 0 (conv2d)") == true, "\(e?.message ?? "")")
        // a conv whose output size disagrees with its stride
        e = patched { Self.put(&$0, ops + 36, 2) }
        #expect(e?.kind == .graph && e?.message.contains("the convolution gives") == true, "\(e?.message ?? "")")
        // reading channels nobody wrote: make op 1 read the output buffer's value
        e = patched { b in Self.put(&b, ops + 64 + 8, UInt32(Self.u32(b, 148))) }
        #expect(e?.kind == .graph, "\(e?.message ?? "")")
        // a value outside its buffer
        e = patched { Self.put(&$0, values + 16 + 8, 100_000) }
        #expect(e?.message.contains("outside buffer") == true, "\(e?.message ?? "")")
        // an index entry outside the input channels
        e = patched { b in
            // tensor 3 is the first layer's index (stem weight, scale, shift, index)
            let off = Self.u32(b, tensors + 3 * 48 + 32)
            Self.put(&b, off, 9999)
        }
        #expect(e?.message.contains("index tensor") == true, "\(e?.message ?? "")")
        // section table pointing past the end
        e = patched { Self.put64(&$0, 32 + 16 * 6, UInt64(Self.good.count)) }
        #expect(e?.kind == .truncated, "\(e?.message ?? "")")
        // non-zero reserved header bytes
        e = patched { $0[220] = 1 }
        #expect(e?.message.contains("reserved") == true, "\(e?.message ?? "")")
    }

    @Test func unreadablePaths() {
        #expect(throws: EdgeInferError.self) { try Model(path: "/nonexistent/model.cnm") }
        do { _ = try Model(path: "/nonexistent/model.cnm") } catch let e as EdgeInferError {
            #expect(e.kind == .io && e.message.hasPrefix("/nonexistent/model.cnm: cannot open"))
        } catch {}
        do { _ = try Model(path: "/tmp") } catch let e as EdgeInferError {
            #expect(e.message.contains("not a regular file"))
        } catch {}
    }

    @Test func inputAndOutputSizesAreChecked() throws {
        let m = try Model(bytes: Self.good, name: "c8.cnm")
        let s = try Session(model: m, threads: 1)
        #expect(throws: EdgeInferError.self) { try s.run([Float](repeating: 0, count: 10)) }
        var small = [Float](repeating: 0, count: 3)
        #expect(throws: EdgeInferError.self) { try s.run([Float](repeating: 0, count: 3 * 32 * 32), into: &small) }
    }

    @Test func resultsDoNotDependOnThreadsOrSessions() throws {
        let m = try Model(bytes: Self.good, name: "c8.cnm")
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet-c8-cifar10-inputs.npy"))
        let one = try Session(model: m, threads: 1).runBatch(x.data, count: 8)
        let two = try Session(model: m, threads: 2).runBatch(x.data, count: 8)
        #expect(one == two)  // every kernel splits work by output channel: same arithmetic order
    }
}
