import CRuntime
import Foundation
import Testing

@testable import EdgeInfer

/// Images within a memory budget: a header may claim any size, so nothing is allocated for it
/// before the data proves it, and a JPEG is decoded through its DCT scaling no larger than the
/// model needs. (The peak RSS of such files and of a real 6000x4000 photo is measured with
/// /usr/bin/time: see the issue note; a test cannot hold an RSS bound reliably.)
struct ImageBudgetTests {
    static let samples = Paths.repo + "/models/samples/"

    /// dog.jpg with its frame header (SOF0/SOF2) rewritten to claim w x h.
    static func claiming(_ w: Int, _ h: Int) throws -> [UInt8] {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: samples + "dog.jpg")))
        let sof = try #require((0..<(b.count - 9)).first { b[$0] == 0xFF && (b[$0 + 1] == 0xC0 || b[$0 + 1] == 0xC2) })
        b[sof + 5] = UInt8(h >> 8); b[sof + 6] = UInt8(h & 0xFF)
        b[sof + 7] = UInt8(w >> 8); b[sof + 8] = UInt8(w & 0xFF)
        return b
    }

    static func imageError(_ b: [UInt8], atLeast: (width: Int, height: Int)? = nil) -> EdgeInferError? {
        do {
            _ = try Image.decode(b, name: "bomb", atLeast: atLeast)
            return nil
        } catch let e as EdgeInferError {
            return e
        } catch {
            return EdgeInferError(.argument, "unexpected \(error)")
        }
    }

    @Test func jpegDecodesAtTheSmallestScaleThatCovers() throws {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.samples + "dog.jpg")))
        let full = try Image.decode(b, name: "dog.jpg")
        #expect(full.width == 32 && full.height == 32)
        // the DCT scales n/8: 4x4 is 1/8, 9x9 needs 3/8 (12x12), the model's 32x32 the full image
        for (want, got) in [(4, 4), (9, 12), (32, 32), (0, 32)] {
            let img = try Image.decode(b, name: "dog.jpg", atLeast: (want, want))
            #expect(img.width == got && img.height == got, "at least \(want): \(img.width)x\(img.height)")
        }
        #expect(try Image.decode(b, name: "dog.jpg", atLeast: (32, 32)) == full)
    }

    @Test func jpegClaimingAnySizeFailsWhereItsDataEnds() throws {
        // 16384 x 16384 claimed over 32 x 32 of data: an error at the first row the data does not
        // hold (it used to allocate 805 MB first), with and without a scale
        for atLeast in [nil, (32, 32)] as [(width: Int, height: Int)?] {
            let e = Self.imageError(try Self.claiming(16384, 16384), atLeast: atLeast)
            #expect(e?.kind == .image && e?.message.hasPrefix("bomb: ") == true, "\(e?.message ?? "decoded")")
        }
    }

    @Test func pngOverTheBudgetIsRefusedBeforeItsPixels() throws {
        // a header claiming 16384 x 11150 RGB (548 MB decoded), then an empty IDAT: no data needed
        var ihdr = Array("IHDR".utf8)
        for v in [16384, 11150] { ihdr += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        ihdr += [8, 2, 0, 0, 0]
        let crc = ihdr.withUnsafeBytes { cnm_crc32(0, $0.baseAddress, $0.count) }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + ihdr
        png += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        for type in ["IDAT", "IEND"] {
            let t = Array(type.utf8), c = t.withUnsafeBytes { cnm_crc32(0, $0.baseAddress, $0.count) }
            png += [0, 0, 0, 0] + t + [UInt8(c >> 24), UInt8((c >> 16) & 0xFF), UInt8((c >> 8) & 0xFF), UInt8(c & 0xFF)]
        }
        let e = Self.imageError(png)
        #expect(e?.kind == .image && e?.message.contains("16384x11150") == true && e?.message.contains("budget") == true,
                "\(e?.message ?? "decoded")")
    }
}
