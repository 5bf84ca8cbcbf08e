import Foundation
import Testing

@testable import CNMConvert
@testable import EdgeInfer

struct ImageTests {
    @Test func decodesPPMAndPGM() throws {
        let ppm = Array("P6\n# comment\n2 1\n255\n".utf8) + [255, 0, 0, 0, 0, 255]
        let img = try Image.decodePNM(ppm, name: "t.ppm")
        #expect(img.width == 2 && img.height == 1 && img.channels == 3)
        #expect(img.pixels == [255, 0, 0, 0, 0, 255])
        let pgm = Array("P5 2 2 15\n".utf8) + [0, 15, 5, 10]
        let g = try Image.decodePNM(pgm, name: "t.pgm")
        #expect(g.channels == 1 && g.pixels == [0, 255, 85, 170])
        let p16 = Array("P5 1 1 65535\n".utf8) + [0xFF, 0xFF]
        #expect(try Image.decodePNM(p16, name: "t16.pgm").pixels == [255])
    }

    @Test func rejectsMalformedImages() {
        let bad: [(String, [UInt8], String)] = [
            ("text", Array("hello".utf8), "expected a binary PPM (P6) or PGM (P5) header"),
            ("ascii ppm", Array("P3\n1 1\n255\n0 0 0\n".utf8), "expected a binary PPM"),
            ("no size", Array("P6\n".utf8), "missing width"),
            ("zero", Array("P6 0 4 255\n".utf8), "zero width or height"),
            ("maxval", Array("P6 1 1 70000\n".utf8) + [0, 0, 0], "maxval 70000"),
            ("truncated", Array("P6 4 4 255\n".utf8) + [1, 2, 3], "pixel data is truncated"),
            ("huge", Array("P6 100000 100000 255\n".utf8), "pixel limit"),
        ]
        for (what, bytes, msg) in bad {
            do {
                _ = try Image.decodePNM(bytes, name: "bad.ppm")
                Issue.record("\(what): no error")
            } catch let e as EdgeInferError {
                #expect(e.kind == .image, "\(what)")
                #expect(e.message.hasPrefix("bad.ppm: malformed PPM/PGM image: "), "\(what): \(e.message)")
                #expect(e.message.contains(msg), "\(what): \(e.message)")
            } catch { Issue.record("\(what): \(error)") }
        }
    }

    @Test func bilinearResizeMatchesHandComputation() throws {
        // 2x2 -> 4x4 with half-pixel centres: corners stay, the inner samples interpolate.
        let img = Image(width: 2, height: 2, channels: 1, pixels: [0, 100, 200, 40])
        let r = try img.resized(width: 4, height: 4)
        #expect(r.pixels[0] == 0 && r.pixels[3] == 100 && r.pixels[12] == 200 && r.pixels[15] == 40)
        // (1,1): source (0.25, 0.25): 0.75*0.75*0 + 0.75*0.25*100 + 0.25*0.75*200 + 0.25*0.25*40 = 58.75
        #expect(r.pixels[5] == 59)
        // downscale 4x4 -> 2x2 averages 2x2 neighbourhoods (source centre at 0.5)
        let big = Image(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 10) })
        #expect(try big.resized(width: 2, height: 2).pixels == [25, 45, 105, 125])
    }

    @Test func normalisesWithTheModelStatistics() throws {
        // The sample image equals CIFAR-10 test image airplane/0926, the fixture's first input.
        let (bytes, _) = try Converter.convert(checkpoint: Paths.fixture("condensenet86-cifar10-converted.pth"),
                                                           options: ConvertOptions(preset: .cifar10))
        let m = try Model(bytes: bytes, name: "c86")
        let img = try Image(contentsOf: Paths.repo + "/models/samples/airplane.ppm")
        let x = try img.modelInput(for: m)
        let ref = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-inputs.npy"))
        let d = maxAbsDiff(x, Array(ref.data[0..<(3 * 32 * 32)]))
        #expect(d < 1e-5, "max diff \(d)")
    }
}

struct NpyTests {
    @Test func roundTrip() throws {
        let a = NpyArray(shape: [2, 3], data: [1, -2, 3.5, 0, .infinity, -0])
        let b = try NpyArray(bytes: a.serialized(), name: "x.npy")
        #expect(a == b)
        let one = NpyArray(shape: [4], data: [1, 2, 3, 4])
        #expect(try NpyArray(bytes: one.serialized(), name: "y.npy") == one)
        #expect((a.serialized().count - 4 * 6) % 64 == 0)  // header padded to 64 bytes
    }

    @Test func readsTheFixtures() throws {
        let x = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-inputs.npy"))
        #expect(x.shape == [8, 3, 32, 32])
        let l = try NpyArray(contentsOf: Paths.fixture("condensenet86-cifar10-logits.npy"))
        #expect(l.shape == [8, 10])
    }

    func npy(header: String, body: Int) -> [UInt8] {
        let h = Array(header.utf8)
        return NpyArray.magic + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + [UInt8](repeating: 0, count: body)
    }

    @Test func rejectsMalformed() {
        let good = NpyArray(shape: [2, 2], data: [1, 2, 3, 4]).serialized()
        let cases: [([UInt8], String)] = [
            (Array("not numpy".utf8), "bad magic"),
            (Array(good.prefix(good.count - 1)), "data holds"),
            (npy(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", body: 32), "dtype"),
            (npy(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", body: 16), "Fortran"),
            (npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", body: 0), "too large"),
            (Array(good.prefix(12)), "truncated header"),
        ]
        for (b, msg) in cases {
            do {
                _ = try NpyArray(bytes: b, name: "bad.npy")
                Issue.record("no error for \(msg)")
            } catch let e as EdgeInferError {
                #expect(e.message.hasPrefix("bad.npy: not a valid .npy file"), "\(e.message)")
                #expect(e.message.contains(msg), "\(e.message)")
            } catch { Issue.record("\(error)") }
        }
    }
}
