import Foundation
import Logging
@testable import Platform
import Postgres
import TestSupport
import Testing

/// The blob store contract on the PostgreSQL driver (the test database, migrated), and what
/// only it can get wrong: uploads left behind, chunk rows of the wrong size, the sweeper, and
/// an unreachable database. Serialized: the leftover check counts every upload no key names.
@Suite("Platform: blob store contract, postgres", .serialized)
struct BlobStoreContractPostgresTests {
    /// One pool for the whole suite (each test makes an instance of the suite).
    static let sharedPool = PostgresPool(url: TestServers.databaseURL, size: 4)
    let pool = Self.sharedPool
    let store: PostgresBlobStore

    init() async throws {
        try await Migrator(workloads: []).migrate(pool, logger: Logger(label: "test.blobs"))
        store = PostgresBlobStore(database: pool)
    }

    /// Uploads that no key names: the chunks of a write that did not complete.
    func unnamedUploads() async throws -> Int {
        try await pool.query("""
            SELECT count(*) AS count FROM blob_uploads AS upload WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.upload_id = upload.id)
            """)[0].decode("count")
    }

    @Test(arguments: BlobStoreContract.Check.allCases)
    func contract(_ check: BlobStoreContract.Check) async throws {
        try await check.run(on: store)
        // Failed, cancelled and too large writes included: no upload stays behind.
        #expect(try await unnamedUploads() == 0)
        try await pool.execute("DELETE FROM blobs WHERE key LIKE 'contract/%'")
        try await pool.execute("DELETE FROM blob_uploads AS upload WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.upload_id = upload.id)")
    }

    /// A blob is stored in rows of the chunk size (the last one shorter), whatever the sizes of
    /// the pieces it arrived in, and a replaced blob's rows are gone.
    @Test func aBlobIsStoredInChunkRows() async throws {
        let key = try BlobKey("postgres-tests/\(UUID().uuidString.lowercased())")
        let bytes = BlobStoreContract.bytes(count: 4 * 256 * 1024 + 10, seed: 9)
        _ = try await store.write(key, from: BlobStoreContract.chunks(of: bytes, pieces: BlobStoreContract.unevenPieces), limit: bytes.count)
        let rows = try await pool.query("""
            SELECT seq, octet_length(data) AS length FROM blob_chunks
            WHERE upload_id = (SELECT upload_id FROM blobs WHERE key = $1) ORDER BY seq
            """, [key.value])
        #expect(try rows.map { try $0.decode("length", as: Int.self) } == [262_144, 262_144, 262_144, 262_144, 10])
        let before = try await pool.query("SELECT count(*) AS count FROM blob_chunks")[0].decode("count", as: Int.self)
        _ = try await store.write(key, bytes: [1, 2, 3])
        let after = try await pool.query("SELECT count(*) AS count FROM blob_chunks")[0].decode("count", as: Int.self)
        #expect(before - after == 4)  // five rows out, one in
        try await store.delete(key)
    }

    /// A write whose process died leaves its upload; the sweeper removes it once idle for
    /// `abandonedAfter`, and leaves an upload still being written alone.
    @Test func theSweeperRemovesUploadsOfDeadWrites() async throws {
        let dead = UUID()
        let live = UUID()
        try await pool.execute("INSERT INTO blob_uploads (id, started_at, touched_at) VALUES ($1, now() - interval '3 hours', now() - interval '2 hours')", [dead])
        try await pool.execute("INSERT INTO blob_chunks (upload_id, seq, data) VALUES ($1, 0, $2)", [dead, Data([1, 2, 3])])
        try await pool.execute("INSERT INTO blob_uploads (id) VALUES ($1)", [live])
        #expect(try await store.sweepAbandonedUploads() == 1)
        #expect(try await pool.query("SELECT 1 FROM blob_uploads WHERE id = $1", [dead]).isEmpty)
        #expect(try await pool.query("SELECT 1 FROM blob_chunks WHERE upload_id = $1", [dead]).isEmpty)
        #expect(try await pool.query("SELECT 1 FROM blob_uploads WHERE id = $1", [live]).count == 1)
        try await pool.execute("DELETE FROM blob_uploads WHERE id = $1", [live])
    }

    /// An unreachable database is an outage of `blobs` (503 over HTTP, a wait in a worker).
    @Test func anUnreachableDatabaseIsAnOutage() async throws {
        let unreachable = PostgresBlobStore(database: PostgresPool(url: "postgres://switchyard@127.0.0.1:1/none", size: 1))
        let key = try BlobKey("outage")
        let sizing = await #expect(throws: DependencyOutage.self) { try await unreachable.size(of: key) }
        #expect(sizing?.dependency == "blobs")
        let writing = await #expect(throws: DependencyOutage.self) { try await unreachable.write(key, bytes: [1]) }
        #expect(writing?.dependency == "blobs")
    }

    @Test func blobStoreSettingOpensPostgres() throws {
        let opened = try BlobStores.open(environment: EnvironmentReader(["BLOB_STORE": "postgres"]), defaultFolder: "/unused", database: pool)
        #expect(opened.kind == "postgres")
    }
}
