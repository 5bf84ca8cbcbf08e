/// A conversion failure, with the file and what is wrong with it (cnm-convert exits with 2).
public struct ConvertError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
