import CImageIO
import CRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// An 8-bit image, interleaved (HWC), 1 or 3 channels. Decoding, resizing and normalisation
/// are the C core's (`cnm_image_*`), so Swift and C users feed a model the same floats.
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

    /// `atLeast`: a JPEG may be decoded smaller, through its DCT scaling, down to this size (the
    /// model's input); nil decodes every format at full size.
    public init(contentsOf path: String, atLeast: (width: Int, height: Int)? = nil) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw EdgeInferError(.io, "\(path): \(isDirectoryPath(path) ? "is a directory" : pathExists(path) ? "cannot read the file" : "no such file")")
        }
        self = try d.withUnsafeBytes { try Image.decode($0, name: path, atLeast: atLeast) } /* no copy of a large file */
    }

    /// PPM/PGM, JPEG or PNG, recognised by their first bytes.
    public static func decode(_ b: [UInt8], name: String, atLeast: (width: Int, height: Int)? = nil) throws -> Image {
        try b.withUnsafeBytes { try decode($0, name: name, atLeast: atLeast) }
    }

    static func decode(_ b: UnsafeRawBufferPointer, name: String, atLeast: (width: Int, height: Int)?) throws -> Image {
        let w = UInt32(clamping: atLeast?.width ?? 0), h = UInt32(clamping: atLeast?.height ?? 0)
        return try decodeC(b, name: name) { edge_decode_image($0, $1, $2, w, h, $3, $4) }
    }

    typealias Decoder = (UnsafeRawPointer?, Int, UnsafePointer<CChar>?, UnsafeMutablePointer<cnm_image>?, UnsafeMutablePointer<cnm_error>?) -> cnm_status

    static func decodeC(_ b: UnsafeRawBufferPointer, name: String, _ decoder: Decoder) throws -> Image {
        var img = cnm_image()
        var err = cnm_error()
        let st = decoder(b.baseAddress, b.count, name, &img, &err)
        guard st == CNM_OK else { throw EdgeInferError(status: st, err) }
        return Image(taking: &img)
    }

    init(taking img: inout cnm_image) {
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        self.init(width: Int(img.width), height: Int(img.height), channels: Int(img.channels),
                  pixels: Array(UnsafeBufferPointer(start: img.pixels, count: n)))
        cnm_image_free(&img)
    }

    /// Binary PPM (P6) and PGM (P5), maxval 1..65535 (16-bit samples are big-endian).
    public static func decodePNM(_ b: [UInt8], name: String) throws -> Image {
        try b.withUnsafeBytes { try decodeC($0, name: name, cnm_image_decode_pnm) }
    }

    public func encodePPM() -> [UInt8] {
        let rgb = channels == 3 ? pixels : pixels.flatMap { [$0, $0, $0] }
        return Array("P6\n\(width) \(height)\n255\n".utf8) + rgb
    }

    func withC<R>(_ body: (inout cnm_image) throws -> R) rethrows -> R {
        var copy = pixels
        return try copy.withUnsafeMutableBufferPointer { buf in
            var img = cnm_image(width: UInt32(width), height: UInt32(height), channels: UInt32(channels), pixels: buf.baseAddress)
            return try body(&img)
        }
    }

    /// Bilinear resize (half-pixel centres, as PIL/OpenCV/PyTorch with align_corners=False).
    public func resized(width ow: Int, height oh: Int) throws -> Image {
        try withC { img in
            var out = cnm_image()
            var err = cnm_error()
            let st = cnm_image_resize(&img, UInt32(ow), UInt32(oh), &out, &err)
            guard st == CNM_OK else { throw EdgeInferError(status: st, err) }
            return Image(taking: &out)
        }
    }

    /// The model's input: resized per the model (direct, or shorter side + centre crop),
    /// scaled to [0,1], normalised with mean/std, CHW float32.
    public func modelInput(for model: Model) throws -> [Float] {
        var input = [Float](repeating: 0, count: model.info.inputCount)
        try withC { img in
            var err = cnm_error()
            let st = input.withUnsafeMutableBufferPointer { cnm_image_to_input(model.handle, &img, $0.baseAddress, $0.count, &err) }
            guard st == CNM_OK else { throw EdgeInferError(status: st, err) }
        }
        return input
    }
}
