import NIOCore

/// Where workloads keep files (SMS media, invoice documents, built exports): a key-value store
/// of immutable byte strings, streamed both ways so that a file of any size passes through a
/// process in pieces of a few hundred KiB, never whole.
///
/// Chosen by `BLOB_STORE` (``BlobStores/open(_:environment:)``): a local folder, an S3 bucket,
/// PostgreSQL, or memory (tests). Every driver keeps the same promises, checked by one shared
/// test suite (`BlobStoreContract` in the tests):
///
/// - **A write is all or nothing.** Until `write` returns, readers see the key's previous
///   content or nothing; a write that fails, is cancelled, or passes its `limit` leaves no
///   trace: no blob under the key, no temporary file, no unfinished S3 upload.
/// - **A returned write is durable**: it survives a crash of the process and of the machine
///   (fsync, a committed transaction, or S3's acknowledgement) before `write` returns. A row
///   that names a blob is written after the blob, so it never points at nothing.
/// - **Hash and size come from the bytes as they passed**, not from the caller: the SHA-256
///   is computed while streaming and returned in ``StoredBlob``.
/// - **Errors** are ``BlobStoreError`` for what the request or the key did (missing, too
///   large, malformed key), and ``DependencyOutage`` (`blobs`) when the store cannot be reached
///   or answers that it is not available: the HTTP layer answers 503 with `Retry-After` and a
///   worker waits the outage out instead of spending the message's attempts.
/// - **Blocking calls** (file system, libpq) run on threads of their own, never on an event
///   loop or the cooperative pool.
public protocol BlobStore: Sendable {
    /// `folder`, `s3`, `postgres` or `memory`: for logs and metrics.
    var kind: String { get }

    /// Streams `chunks` into the blob `key`, replacing what was there, while hashing and
    /// counting. More than `limit` bytes stop the write at once with
    /// ``BlobStoreError/tooLarge(limit:)`` (nothing is kept).
    func write<Chunks: AsyncSequence>(_ key: BlobKey, from chunks: Chunks, limit: Int) async throws -> StoredBlob
        where Chunks.Element == ByteBuffer

    /// The blob's bytes, or only `range` of them (offsets within the blob: the caller checks
    /// them against the size it recorded or asked for with ``size(of:)``). A missing blob is
    /// ``BlobStoreError/notFound(_:)``. The chunks are read as they are consumed.
    func read(_ key: BlobKey, range: ClosedRange<Int>?) async throws -> BlobContent

    /// The blob's size in bytes, or nil when there is none.
    func size(of key: BlobKey) async throws -> Int?

    /// Removes the blob; removing a missing one is not an error.
    func delete(_ key: BlobKey) async throws
}

extension BlobStore {
    public func exists(_ key: BlobKey) async throws -> Bool { try await size(of: key) != nil }

    /// The whole blob, streamed.
    public func read(_ key: BlobKey) async throws -> BlobContent { try await read(key, range: nil) }

    /// Writes bytes already in memory (small files: SMS media, test fixtures).
    public func write(_ key: BlobKey, bytes: [UInt8]) async throws -> StoredBlob {
        try await write(key, from: BlobChunks.of(bytes), limit: bytes.count)
    }
}

/// What a write stored: the key, the number of bytes and their SHA-256 (lowercase hex).
public struct StoredBlob: Sendable, Equatable {
    public let key: BlobKey
    public let size: Int
    public let sha256: String

    public init(key: BlobKey, size: Int, sha256: String) {
        self.key = key
        self.size = size
        self.sha256 = sha256
    }
}

/// A blob being read: which bytes come, and the chunks that carry them.
public struct BlobContent: Sendable {
    /// The bytes the chunks carry: the whole blob or the requested range.
    public let range: Range<Int>
    public let chunks: BlobChunks

    public init(range: Range<Int>, chunks: BlobChunks) {
        self.range = range
        self.chunks = chunks
    }

    /// Every byte, in memory (tests and small blobs only).
    public func collect() async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        for try await chunk in chunks { bytes.append(contentsOf: chunk.readableBytesView) }
        return bytes
    }
}
