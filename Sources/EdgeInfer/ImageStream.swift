#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Images read from a byte stream (stdin): a stream of concatenated binary PPM/PGM frames, as
/// `ffmpeg ... -f image2pipe -vcodec ppm -` writes, read frame by frame as they arrive; or any
/// one image (JPEG, PNG, PPM, PGM) read to the end.
public struct ImageStream {
    let fd: Int32
    let name: String
    var buf: [UInt8] = []
    var pos = 0
    var eof = false
    public private(set) var frames = 0
    /// Bytes held (read but not yet dropped).
    public var buffered: Int { buf.count }

    /// The largest frame or image read (its pixel bytes), like the image decoders' budget.
    public static let maxBytes = 96 << 20

    public init(fileDescriptor fd: Int32, name: String = "stdin") {
        self.fd = fd
        self.name = name
    }

    /// At least `n` unread bytes buffered, unless the stream ends first; false at the end.
    mutating func fill(_ n: Int) throws -> Bool {
        while buf.count - pos < n && !eof {
            // drop what earlier frames consumed, so a long stream keeps about one frame buffered
            if pos > 0 && (pos == buf.count || pos >= 1 << 20) { buf.removeFirst(pos); pos = 0 }
            var chunk = [UInt8](repeating: 0, count: max(1 << 16, min(n - (buf.count - pos), 1 << 24)))
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw EdgeInferError(.io, "\(name): read error: \(String(cString: strerror(errno)))")
            }
            if got == 0 { eof = true } else { buf.append(contentsOf: chunk[0..<got]) }
        }
        return buf.count - pos >= n
    }

    /// The next image, or nil at the end of the stream.
    public mutating func next(atLeast: (width: Int, height: Int)? = nil) throws -> Image? {
        guard try fill(2) else {
            if buf.count > pos { throw EdgeInferError(.image, "\(name): \(buf.count - pos) stray bytes after frame \(frames)") }
            return nil
        }
        let isPNM = buf[pos] == UInt8(ascii: "P") && (buf[pos + 1] == UInt8(ascii: "5") || buf[pos + 1] == UInt8(ascii: "6"))
        frames += 1
        let label = "\(name), frame \(frames)"
        guard isPNM else {
            // one image of another format: the rest of the stream
            guard frames == 1 else { throw EdgeInferError(.image, "\(label): not a binary PPM/PGM frame") }
            while try fill(buf.count - pos + 1) {
                if buf.count - pos > Self.maxBytes { throw EdgeInferError(.limit, "\(name): more than \(Self.maxBytes >> 20) MiB on stdin") }
            }
            let all = Array(buf[pos...])
            pos = buf.count
            return try Image.decode(all, name: name, atLeast: atLeast)
        }
        let size = try frameSize(label)
        guard try fill(size) else { throw EdgeInferError(.truncated, "\(label): the stream ends inside the frame (\(buf.count - pos) of \(size) bytes)") }
        let frame = Array(buf[pos..<(pos + size)])
        pos += size
        return try Image.decodePNM(frame, name: label)
    }

    /// The byte size of the PPM/PGM frame at `pos` (header and samples), read from its header.
    mutating func frameSize(_ label: String) throws -> Int {
        var at = pos + 2
        var fields: [Int] = []
        while fields.count < 3 {
            guard try fill(at - pos + 1) else { throw EdgeInferError(.truncated, "\(label): the stream ends inside the header") }
            let c = buf[at]
            if c == UInt8(ascii: "#") {  // a comment, to the end of the line
                while true {
                    guard try fill(at - pos + 1) else { throw EdgeInferError(.truncated, "\(label): the stream ends inside a comment") }
                    if buf[at] == 0x0A { break }
                    at += 1
                    if at - pos > 4096 { throw EdgeInferError(.image, "\(label): header longer than 4096 bytes") }
                }
            } else if c >= 0x30 && c <= 0x39 {
                var v = 0
                while try fill(at - pos + 1), buf[at] >= 0x30 && buf[at] <= 0x39 {
                    v = v * 10 + Int(buf[at] - 0x30)
                    if v > 1 << 20 { throw EdgeInferError(.image, "\(label): header field too large") }
                    at += 1
                }
                fields.append(v)
                continue
            } else if ![0x20, 0x09, 0x0A, 0x0D].contains(c) {
                throw EdgeInferError(.image, "\(label): malformed PPM/PGM header")
            }
            at += 1
            if at - pos > 4096 { throw EdgeInferError(.image, "\(label): header longer than 4096 bytes") }
        }
        at += 1  // the one whitespace byte after maxval
        let (w, h, maxval) = (fields[0], fields[1], fields[2])
        let channels = buf[pos + 1] == UInt8(ascii: "6") ? 3 : 1
        guard w >= 1, h >= 1, (1...65535).contains(maxval) else { throw EdgeInferError(.image, "\(label): \(w)x\(h), maxval \(maxval) is not a valid PPM/PGM") }
        let samples = w * h * channels * (maxval > 255 ? 2 : 1)
        guard samples <= Self.maxBytes else {
            throw EdgeInferError(.limit, "\(label): \(w)x\(h) frame exceeds the \(Self.maxBytes >> 20) MiB image budget")
        }
        return at - pos + samples
    }
}
