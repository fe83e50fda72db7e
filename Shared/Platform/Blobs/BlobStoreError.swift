/// What a blob store refuses because of the request or the key. An unreachable store is a
/// ``DependencyOutage`` (`blobs`) instead; an unexpected failure of the store itself
/// (a full disk, a refused S3 request) is ``failed(operation:detail:)``.
public enum BlobStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(BlobKey)
    /// The stream passed `limit` bytes; the write was abandoned and left nothing.
    case tooLarge(limit: Int)
    case invalidKey(String)
    /// The store failed; `detail` is for logs only (it may name paths, hosts or buckets).
    case failed(operation: String, detail: String)

    public var description: String {
        switch self {
        case .notFound(let key): "blob store: no blob \(key)"
        case .tooLarge(let limit): "blob store: more than \(limit) bytes"
        case .invalidKey(let key): "blob store: invalid key \"\(key.prefix(80))\""
        case .failed(let operation, let detail): "blob store: \(operation) failed: \(detail)"
        }
    }
}
