import NIOConcurrencyHelpers
import NIOCore

/// Blobs in this process's memory: for in-process tests (`BLOB_STORE=memory://`), never for a
/// deployment (nothing survives the process). Keeps the same promises as the other drivers
/// otherwise: a write becomes visible only when complete, a failed one leaves nothing.
public final class MemoryBlobStore: BlobStore {
    public var kind: String { "memory" }
    private let blobs = NIOLockedValueBox<[BlobKey: [UInt8]]>([:])

    public init() {}

    public func write<Chunks: AsyncSequence>(_ key: BlobKey, from chunks: Chunks, limit: Int) async throws -> StoredBlob
        where Chunks.Element == ByteBuffer {
        var meter = BlobWriteMeter(limit: limit)
        var bytes: [UInt8] = []
        for try await chunk in chunks {
            try meter.add(chunk)
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        blobs.withLockedValue { $0[key] = bytes }
        return meter.finish(key)
    }

    public func read(_ key: BlobKey, range: ClosedRange<Int>?) async throws -> BlobContent {
        guard let bytes = blobs.withLockedValue({ $0[key] }) else { throw BlobStoreError.notFound(key) }
        let lower = min(range?.lowerBound ?? 0, bytes.count)
        let clamped = lower..<max(lower, min((range?.upperBound ?? bytes.count - 1) + 1, bytes.count))
        return BlobContent(range: clamped, chunks: .of(Array(bytes[clamped]), chunkSize: 64 * 1024))
    }

    public func size(of key: BlobKey) async throws -> Int? {
        blobs.withLockedValue { $0[key]?.count }
    }

    /// The keys stored now (tests check that a refused upload left nothing).
    public var keys: [BlobKey] { blobs.withLockedValue { Array($0.keys) } }

    public func delete(_ key: BlobKey) async throws {
        _ = blobs.withLockedValue { $0.removeValue(forKey: key) }
    }
}
