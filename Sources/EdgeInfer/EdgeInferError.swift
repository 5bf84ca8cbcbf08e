import CRuntime

/// An error with the context a user needs: which file, and what is wrong with it.
public struct EdgeInferError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case io, format, checksum, version, truncated, graph, limit, memory, argument, image, npy
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Process exit code for this error (stable; documented in the README).
    public var exitCode: Int32 {
        switch kind {
        case .io: return 3
        case .format: return 4
        case .limit, .memory: return 5
        case .argument: return 6
        case .image, .npy: return 7
        case .truncated: return 8
        case .checksum: return 9
        case .version: return 10
        case .graph: return 11
        }
    }
}

extension EdgeInferError {
    /// The error a C call reported: its status picks the kind, its message is kept.
    public init(status: cnm_status, _ err: cnm_error) {
        var e = err
        let msg = withUnsafeBytes(of: &e.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let kind: Kind
        switch status {
        case CNM_ERR_IO: kind = .io
        case CNM_ERR_MAGIC, CNM_ERR_FORMAT: kind = .format
        case CNM_ERR_VERSION: kind = .version
        case CNM_ERR_CHECKSUM: kind = .checksum
        case CNM_ERR_TRUNCATED: kind = .truncated
        case CNM_ERR_GRAPH: kind = .graph
        case CNM_ERR_LIMIT: kind = .limit
        case CNM_ERR_IMAGE: kind = .image
        case CNM_ERR_NPY: kind = .npy
        case CNM_ERR_NOMEM: kind = .memory
        default: kind = .argument
        }
        self.init(kind, msg.isEmpty ? String(cString: cnm_status_string(status)) : msg)
    }
}
