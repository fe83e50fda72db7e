import Crypto
import NIOCore

/// Hashes and counts the bytes of a write as they pass, and stops it past its limit: every
/// driver feeds its chunks through one, so a blob's recorded SHA-256 and size always describe
/// the bytes that were stored.
public struct BlobWriteMeter: Sendable {
    public let limit: Int
    public private(set) var size = 0
    private var hasher = SHA256()

    public init(limit: Int) {
        self.limit = limit
    }

    /// Counts and hashes `chunk`; throws ``BlobStoreError/tooLarge(limit:)`` as soon as the
    /// total passes the limit (the caller then abandons the write).
    public mutating func add(_ chunk: ByteBuffer) throws(BlobStoreError) {
        size += chunk.readableBytes
        guard size <= limit else { throw .tooLarge(limit: limit) }
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    public func finish(_ key: BlobKey) -> StoredBlob {
        StoredBlob(key: key, size: size, sha256: SHA256Hex.hex(hasher.finalize()))
    }
}
