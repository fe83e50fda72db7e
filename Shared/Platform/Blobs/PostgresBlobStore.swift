import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Postgres

/// Blobs in PostgreSQL (`BLOB_STORE=postgres`, on the service's `DATABASE_URL`): for a
/// deployment that wants one stateful dependency fewer than a volume or a bucket. Tables of
/// `Migrations/0002_blobs.sql`: `blobs` names, for each key, the upload whose chunks
/// (`blob_chunks`, ``chunkSize`` bytes each but the last) hold the bytes.
///
/// - A write inserts its chunks as they arrive under a fresh upload (never holding more than a
///   chunk and the piece that arrived), then one short transaction points the key at it and
///   drops the upload it replaced. A write that fails, is cancelled or passes its limit
///   deletes its upload; one whose process died is left to the **sweeper**: every write, at
///   most once per ``sweepInterval``, first deletes uploads that no key names and that no chunk
///   moved for ``abandonedAfter``.
/// - A read finds the key's upload once, then fetches only the chunks its range touches, one
///   query per chunk as the consumer asks, sliced by the server. A blob replaced or deleted
///   while being read fails that read part-way (`failed`): keys that are rewritten should be
///   read knowing it (SMS media keys are content-addressed and never are).
///
/// Every statement runs on the pool's own threads. An unreachable database is an outage of
/// `blobs`.
public final class PostgresBlobStore: BlobStore {
    public var kind: String { "postgres" }
    let database: PostgresPool
    /// The size of the rows a write makes (reads use the size each blob was written with).
    public let chunkSize: Int
    public let abandonedAfter: Duration
    public let sweepInterval: Duration
    private let lastSweep = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(database: PostgresPool, chunkSize: Int = 256 * 1024, abandonedAfter: Duration = .seconds(3600),
                sweepInterval: Duration = .seconds(600)) {
        precondition(chunkSize > 0)
        self.database = database
        self.chunkSize = chunkSize
        self.abandonedAfter = abandonedAfter
        self.sweepInterval = sweepInterval
    }

    public func write<Chunks: AsyncSequence>(_ key: BlobKey, from chunks: Chunks, limit: Int) async throws -> StoredBlob
        where Chunks.Element == ByteBuffer {
        try await sweepIfDue()
        let upload = UUID()
        try await run("start upload") { try $0.execute("INSERT INTO blob_uploads (id) VALUES ($1)", [upload]) }
        do {
            var meter = BlobWriteMeter(limit: limit)
            var pending = ByteBuffer()
            var seq = 0
            for try await chunk in chunks {
                try Task.checkCancellation()
                try meter.add(chunk)
                var chunk = chunk
                pending.writeBuffer(&chunk)
                while pending.readableBytes >= chunkSize, let piece = pending.readSlice(length: chunkSize) {
                    try await insert(piece, seq: seq, of: upload)
                    seq += 1
                }
                pending.discardReadBytes()
            }
            try Task.checkCancellation()
            if pending.readableBytes > 0 { try await insert(pending, seq: seq, of: upload) }
            let stored = meter.finish(key)
            try await publish(stored, upload: upload)
            return stored
        } catch {
            // In a task of its own: a cancelled caller could not lease a connection.
            let database = database
            await Task { _ = try? await database.execute("DELETE FROM blob_uploads WHERE id = $1", [upload]) }.value
            throw error
        }
    }

    private func insert(_ piece: ByteBuffer, seq: Int, of upload: UUID) async throws {
        let data = Data(piece.readableBytesView)
        try await run("write chunk") { connection in
            try connection.execute("""
                WITH touched AS (UPDATE blob_uploads SET touched_at = now() WHERE id = $1)
                INSERT INTO blob_chunks (upload_id, seq, data) VALUES ($1, $2, $3)
                """, [upload, seq, data])
        }
    }

    /// Points the key at the complete upload and drops the one it replaces, in one transaction
    /// (committed, so durable, before the write returns).
    private func publish(_ stored: StoredBlob, upload: UUID) async throws {
        let chunkSize = chunkSize
        try await run("publish") { connection in
            try connection.transaction { connection in
                // Two writes of one key take turns, so neither loses track of the other's upload.
                try Self.lock(stored.key, on: connection)
                let previous: UUID? = try connection.query("SELECT upload_id FROM blobs WHERE key = $1", [stored.key.value])
                    .first?.decode("upload_id")
                try connection.execute("""
                    INSERT INTO blobs (key, upload_id, size, sha256, chunk_size) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (key) DO UPDATE SET upload_id = EXCLUDED.upload_id, size = EXCLUDED.size,
                        sha256 = EXCLUDED.sha256, chunk_size = EXCLUDED.chunk_size, created_at = now()
                    """, [stored.key.value, upload, stored.size, stored.sha256, chunkSize])
                if let previous { try connection.execute("DELETE FROM blob_uploads WHERE id = $1", [previous]) }
            }
        }
    }

    public func read(_ key: BlobKey, range: ClosedRange<Int>?) async throws -> BlobContent {
        guard let row = try await run("read", { try $0.query("SELECT upload_id, size, chunk_size FROM blobs WHERE key = $1", [key.value]).first })
        else { throw BlobStoreError.notFound(key) }
        let upload: UUID = try row.decode("upload_id")
        let size: Int = try row.decode("size")
        let chunkSize: Int = try row.decode("chunk_size")
        let lower = min(range?.lowerBound ?? 0, size)
        let bytes = lower..<max(lower, min((range?.upperBound ?? size - 1) + 1, size))
        return BlobContent(range: bytes, chunks: BlobChunks { [self] in
            let position = NIOLockedValueBox(bytes.lowerBound)
            return { [self] in
                let start = position.withLockedValue { $0 }
                guard start < bytes.upperBound else { return nil }
                let seq = start / chunkSize
                // Up to the end of this chunk or of the range, whichever comes first.
                let end = min((seq + 1) * chunkSize, bytes.upperBound)
                let data = try await fetch(key, upload: upload, seq: seq, from: start - seq * chunkSize, count: end - start)
                position.withLockedValue { $0 = end }
                return ByteBuffer(bytes: data)
            }
        })
    }

    private func fetch(_ key: BlobKey, upload: UUID, seq: Int, from offset: Int, count: Int) async throws -> Data {
        let data: Data? = try await run("read chunk") { connection in
            try connection.query("SELECT substring(data FROM $3 FOR $4) AS data FROM blob_chunks WHERE upload_id = $1 AND seq = $2",
                                 [upload, seq, offset + 1, count]).first?.decode("data")
        }
        guard let data, data.count == count else {
            throw BlobStoreError.failed(operation: "read", detail: "\(key) was replaced or deleted while being read (chunk \(seq))")
        }
        return data
    }

    public func size(of key: BlobKey) async throws -> Int? {
        try await run("size") { try $0.query("SELECT size FROM blobs WHERE key = $1", [key.value]).first?.decode("size") }
    }

    public func delete(_ key: BlobKey) async throws {
        try await run("delete") { connection in
            try connection.transaction { connection in
                try Self.lock(key, on: connection)
                let removed = try connection.query("DELETE FROM blobs WHERE key = $1 RETURNING upload_id", [key.value])
                if let upload: UUID = try removed.first?.decode("upload_id") {
                    try connection.execute("DELETE FROM blob_uploads WHERE id = $1", [upload])
                }
            }
        }
    }

    /// Deletes the uploads of writes whose process died: named by no key and idle for
    /// ``abandonedAfter`` (a live write touches its upload with every chunk). Returns how many.
    @discardableResult
    public func sweepAbandonedUploads() async throws -> Int {
        let seconds = Double(abandonedAfter.components.seconds) + Double(abandonedAfter.components.attoseconds) / 1e18
        return try await run("sweep") { connection in
            try connection.execute("""
                DELETE FROM blob_uploads AS upload
                WHERE touched_at < now() - make_interval(secs => $1)
                  AND NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.upload_id = upload.id)
                """, [seconds]).affectedRows
        }
    }

    private func sweepIfDue() async throws {
        let now = ContinuousClock.now
        let due = lastSweep.withLockedValue { last in
            guard last.map({ now - $0 >= sweepInterval }) ?? true else { return false }
            last = now
            return true
        }
        if due { try await sweepAbandonedUploads() }
    }

    private static func lock(_ key: BlobKey, on connection: PostgresConnection) throws {
        try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 2662))", [key.value])
    }

    /// Runs `body` on a pooled connection; an unreachable database is an outage of `blobs`,
    /// another database error a failure of the store.
    @discardableResult
    private func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await database.withConnection(body)
        } catch let error as PostgresError {
            if let outage = DependencyOutage.of(error) { throw DependencyOutage(dependency: "blobs", detail: outage.detail) }
            throw BlobStoreError.failed(operation: operation, detail: error.description)
        }
    }
}
