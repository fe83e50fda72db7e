/// The file is bad: its own fault, so checking it again cannot help and the upload is refused.
///
/// `reason` is short and safe to show to the client who uploaded the file: it names what is
/// wrong ("PDF has no pages", "PNG chunk CRC mismatch (the file is corrupted)") and never a
/// path on this machine.
public struct DocumentRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "document rejected: \(reason)" }
}
