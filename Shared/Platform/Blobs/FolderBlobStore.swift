import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files under a folder (`BLOB_STORE=file:///path`, the local default under the run
/// folder): the key is the file's path relative to the root, so SMS media stored before the
/// protocol existed (`<root>/sha256/<ab>/<sha256>`) is the key `sha256/<ab>/<sha256>`.
///
/// A write streams into a temporary file in the blob's own folder (dot-prefixed: no key
/// segment starts with a dot, so it never collides with a blob), is fsynced, renamed over the
/// target, and then the folder is fsynced too (the rename is an entry of the folder: without
/// that, a power loss may forget it while the database row that names the blob survives). A
/// reader never sees half a blob; a write that fails, is cancelled or passes its limit removes
/// its temporary file. Every file system call runs on the NIO thread pool.
public struct FolderBlobStore: BlobStore {
    public var kind: String { "folder" }
    public let root: URL
    /// File I/O blocks: it runs on the shared NIO thread pool, never on an event loop or the
    /// cooperative pool.
    private let threads = NIOThreadPool.singleton
    /// Reads pull the file in pieces of this size as the consumer asks.
    static let readChunkSize = 256 * 1024

    public init(root: URL) {
        self.root = root
    }

    /// Where the blob `key` lives.
    func file(of key: BlobKey) -> URL { root.appendingPathComponent(key.value) }

    public func write<Chunks: AsyncSequence>(_ key: BlobKey, from chunks: Chunks, limit: Int) async throws -> StoredBlob
        where Chunks.Element == ByteBuffer {
        let target = file(of: key)
        var meter = BlobWriteMeter(limit: limit)
        // Chunks are gathered and handed to the pool together, up to `writeBatchBytes` at a
        // time: a body arrives in pieces of a few KiB, and one hop per piece cost an upload of
        // 100 KiB a dozen thread hand-offs. A small blob is one hop: create, write, fsync,
        // rename. Memory stays bounded by the batch.
        var batch: [ByteBuffer] = []
        var batchBytes = 0
        var upload: FolderUpload?
        do {
            for try await chunk in chunks {
                // A cancelled write stops here even when its source does not notice.
                try Task.checkCancellation()
                try meter.add(chunk)
                batch.append(chunk)
                batchBytes += chunk.readableBytes
                if batchBytes >= Self.writeBatchBytes {
                    upload = try await threads.runIfActive { [upload, batch] in try Self.appending(batch, to: upload, target: target) }
                    batch.removeAll(keepingCapacity: true)
                    batchBytes = 0
                }
            }
            try Task.checkCancellation()
            try await threads.runIfActive { [upload, batch] in
                let finished = try Self.appending(batch, to: upload, target: target)
                do { try finished.publish() } catch { finished.abandon(); throw error }
            }
            return meter.finish(key)
        } catch {
            // Runs even for a cancelled task: the pool does not look at cancellation.
            if let upload { try? await threads.runIfActive { upload.abandon() } }
            throw error
        }
    }

    /// How many bytes a write gathers before it hands them to the pool.
    static let writeBatchBytes = 256 * 1024

    /// The upload (created with the first batch) with `batch` written to it; on a failure the
    /// temporary file is gone.
    private static func appending(_ batch: [ByteBuffer], to upload: FolderUpload?, target: URL) throws -> FolderUpload {
        let current = try upload ?? FolderUpload(target: target)
        do {
            for chunk in batch { try current.append(chunk) }
        } catch {
            current.abandon()
            throw error
        }
        return current
    }

    public func read(_ key: BlobKey, range: ClosedRange<Int>?) async throws -> BlobContent {
        let path = file(of: key).path
        let (reader, size) = try await threads.runIfActive { () throws -> (FolderReader, Int) in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT || errno == ENOTDIR { throw BlobStoreError.notFound(key) }
                throw FolderFailure.of(operation: "open", path: path, errno: errno)
            }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                let failure = FolderFailure.of(operation: "fstat", path: path, errno: errno)
                close(descriptor)
                throw failure
            }
            return (FolderReader(descriptor: descriptor, path: path), Int(status.st_size))
        }
        let lower = min(range?.lowerBound ?? 0, size)
        let bytes = lower..<max(lower, min((range?.upperBound ?? size - 1) + 1, size))
        reader.limit(to: bytes)
        let threads = threads
        return BlobContent(range: bytes, chunks: BlobChunks {
            { try await threads.runIfActive { try reader.next(Self.readChunkSize) } }
        })
    }

    public func size(of key: BlobKey) async throws -> Int? {
        let path = file(of: key).path
        return try await threads.runIfActive { () throws -> Int? in
            var status = stat()
            guard stat(path, &status) == 0 else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw FolderFailure.of(operation: "stat", path: path, errno: errno)
            }
            return (Int(status.st_mode) & Int(S_IFMT)) == Int(S_IFREG) ? Int(status.st_size) : nil
        }
    }

    public func delete(_ key: BlobKey) async throws {
        let target = file(of: key)
        try await threads.runIfActive {
            guard unlink(target.path) == 0 else {
                if errno == ENOENT || errno == ENOTDIR { return }
                throw FolderFailure.of(operation: "unlink", path: target.path, errno: errno)
            }
            // The removal is an entry of the folder, like a rename.
            try FolderFiles.syncFolder(target.deletingLastPathComponent())
        }
    }
}
