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
