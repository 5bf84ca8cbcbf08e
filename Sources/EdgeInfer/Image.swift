import Foundation

/// An 8-bit image, interleaved (HWC), 1 or 3 channels.
public struct Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Refuse images larger than this many pixels (before allocating).
    public static let maxPixels = 1 << 28

    public init(contentsOf path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw EdgeInferError(.io, "\(path): \(exists ? "cannot read the file" : "no such file")")
        }
        self = try Image.decodePNM([UInt8](d), name: path)
    }

    /// Binary PPM (P6) and PGM (P5), maxval 1..65535 (16-bit samples are big-endian).
    public static func decodePNM(_ b: [UInt8], name: String) throws -> Image {
        func fail(_ why: String) -> EdgeInferError { EdgeInferError(.image, "\(name): malformed PPM/PGM image: \(why)") }
        guard b.count >= 2, b[0] == UInt8(ascii: "P"), b[1] == UInt8(ascii: "6") || b[1] == UInt8(ascii: "5") else {
            throw fail("expected a binary PPM (P6) or PGM (P5) header")
        }
        let channels = b[1] == UInt8(ascii: "6") ? 3 : 1
        var i = 2
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C }
        func number(_ what: String) throws -> Int {
            while i < b.count {
                if isSpace(b[i]) { i += 1 } else if b[i] == UInt8(ascii: "#") {
                    while i < b.count && b[i] != 0x0A { i += 1 }
                } else { break }
            }
            var v = 0
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                v = v * 10 + Int(b[i] - 0x30)
                digits += 1
                i += 1
                if v > 1 << 30 { throw fail("\(what) is too large") }
            }
            guard digits > 0 else { throw fail("missing \(what)") }
            return v
        }
        let w = try number("width"), h = try number("height"), maxval = try number("maxval")
        guard w > 0, h > 0 else { throw fail("zero width or height") }
        guard maxval > 0, maxval < 65536 else { throw fail("maxval \(maxval) outside 1..65535") }
        guard w * h <= maxPixels else { throw fail("\(w)x\(h) exceeds the \(maxPixels)-pixel limit") }
        guard i < b.count, isSpace(b[i]) else { throw fail("no whitespace after the header") }
        i += 1
        let bps = maxval < 256 ? 1 : 2
        let need = w * h * channels * bps
        guard b.count - i >= need else { throw fail("pixel data is truncated (\(b.count - i) of \(need) bytes)") }
        var px = [UInt8](repeating: 0, count: w * h * channels)
        for k in 0..<(w * h * channels) {
            let v = bps == 1 ? Int(b[i + k]) : Int(b[i + 2 * k]) << 8 | Int(b[i + 2 * k + 1])
            px[k] = UInt8(min(255, (v * 255 + maxval / 2) / maxval))
        }
        return Image(width: w, height: h, channels: channels, pixels: px)
    }

    public func encodePPM() -> [UInt8] {
        let rgb = channels == 3 ? pixels : pixels.flatMap { [$0, $0, $0] }
        return Array("P6\n\(width) \(height)\n255\n".utf8) + rgb
    }

    /// Bilinear resize (half-pixel centres, as PIL/OpenCV/PyTorch with align_corners=False).
    public func resized(width ow: Int, height oh: Int) -> Image {
        if ow == width && oh == height { return self }
        var out = [UInt8](repeating: 0, count: ow * oh * channels)
        let sx = Double(width) / Double(ow), sy = Double(height) / Double(oh)
        for y in 0..<oh {
            let fy = max(0, (Double(y) + 0.5) * sy - 0.5)
            let y0 = min(Int(fy), height - 1), y1 = min(y0 + 1, height - 1)
            let wy = fy - Double(y0)
            for x in 0..<ow {
                let fx = max(0, (Double(x) + 0.5) * sx - 0.5)
                let x0 = min(Int(fx), width - 1), x1 = min(x0 + 1, width - 1)
                let wx = fx - Double(x0)
                for c in 0..<channels {
                    func p(_ yy: Int, _ xx: Int) -> Double { Double(pixels[(yy * width + xx) * channels + c]) }
                    let v = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1))
                    out[(y * ow + x) * channels + c] = UInt8(max(0, min(255, v.rounded())))
                }
            }
        }
        return Image(width: ow, height: oh, channels: channels, pixels: out)
    }

    public func cropped(x: Int, y: Int, width cw: Int, height ch: Int) -> Image {
        var out = [UInt8](repeating: 0, count: cw * ch * channels)
        for r in 0..<ch {
            let src = ((y + r) * width + x) * channels
            out.replaceSubrange((r * cw * channels)..<((r + 1) * cw * channels), with: pixels[src..<(src + cw * channels)])
        }
        return Image(width: cw, height: ch, channels: channels, pixels: out)
    }

    /// The model's input: resized per `resize` (0 direct, 1 shorter side + centre crop),
    /// scaled to [0,1], normalised with mean/std, CHW float32. Grey images are repeated
    /// to 3 channels for a 3-channel model.
    public func modelInput(for info: ModelInfo) throws -> [Float] {
        let c = info.inputChannels, h = info.inputHeight, w = info.inputWidth
        guard channels == c || (channels == 1 && c == 3) || (channels == 3 && c == 1) else {
            throw EdgeInferError(.image, "image has \(channels) channels, the model takes \(c)")
        }
        var img = self
        if info.resize == 1 {
            let scale = max(Double(w) / Double(width), Double(h) / Double(height))
            let rw = max(w, Int((Double(width) * scale).rounded())), rh = max(h, Int((Double(height) * scale).rounded()))
            img = img.resized(width: rw, height: rh)
            img = img.cropped(x: (rw - w) / 2, y: (rh - h) / 2, width: w, height: h)
        } else {
            img = img.resized(width: w, height: h)
        }
        var out = [Float](repeating: 0, count: c * h * w)
        for ch in 0..<c {
            for p in 0..<(h * w) {
                let v: Float
                if img.channels == c { v = Float(img.pixels[p * c + ch]) }
                else if img.channels == 1 { v = Float(img.pixels[p]) }
                else {  // RGB -> grey (ITU-R BT.601)
                    let r = Float(img.pixels[3 * p]), g = Float(img.pixels[3 * p + 1]), b = Float(img.pixels[3 * p + 2])
                    v = 0.299 * r + 0.587 * g + 0.114 * b
                }
                out[ch * h * w + p] = (v / 255 - info.mean[ch]) / info.std[ch]
            }
        }
        return out
    }
}
