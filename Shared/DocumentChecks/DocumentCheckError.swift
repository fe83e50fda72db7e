/// The check itself could not run, through no fault of the file: trying again later may work.
/// (A bad file is a ``DocumentRejected`` instead.)
public enum DocumentCheckError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read (missing, not a regular file, no permission, I/O).
    case unreadable(path: String, reason: String)
    /// The parser ran out of memory.
    case outOfMemory(String)
    /// The caller's task was cancelled before the check finished.
    case cancelled

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .outOfMemory(detail): "out of memory while checking the file: \(detail)"
        case .cancelled: "the document check was cancelled"
        }
    }
}
