/// A pickle the unpickler cannot read: the file, the byte offset and the reason.
public struct PickleError: Error, CustomStringConvertible {
    public let description: String
}
