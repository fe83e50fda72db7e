import Foundation
import Logging
import Platform
import Postgres
import TestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    let pool = PostgresPool(url: TestServers.databaseURL, size: 6)
    let logger = Logger(label: "test.migrate")

    @Test func bundledMigrationsAppliedTwiceChangeNothing() async throws {
        let migrator = try Migrator.bundled()
        #expect(!migrator.migrations.isEmpty)
        try await migrator.migrate(pool, logger: logger)
        let before = try await pool.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        let again = try await migrator.migrate(pool, logger: logger)
        #expect(again.isEmpty)
        let after = try await pool.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        #expect(try before.map { try $0.decode("applied_at", as: Date.self) } == after.map { try $0.decode("applied_at", as: Date.self) })
        #expect(after.count == migrator.migrations.count)
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let table = "test_migrations_\(suffix)"
        // CREATE TABLE without IF NOT EXISTS fails if a migration ever runs twice.
        let migrator = Migrator(migrations: (1...5).map {
            .init(version: $0, name: "m\($0)", sql: "CREATE TABLE test_m\($0)_\(suffix) (id int); INSERT INTO test_m\($0)_\(suffix) VALUES (\($0));")
        }, table: table)
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<5 { group.addTask { try await migrator.migrate(pool, logger: logger) } }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(applied.sorted() == ["m1", "m2", "m3", "m4", "m5"])
        #expect(try await pool.query("SELECT count(*) AS c FROM \(table)")[0].decode("c", as: Int.self) == 5)
        for n in 1...5 { try await pool.execute("DROP TABLE test_m\(n)_\(suffix)") }
        try await pool.execute("DROP TABLE \(table)")
    }

    @Test func idempotentConsumerClaimsAMessageOnce() async throws {
        try await Migrator.bundled().migrate(pool, logger: logger)
        let id = UUID()
        let first = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "test", on: $0) }
        let second = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "test", on: $0) }
        let otherConsumer = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "other", on: $0) }
        #expect(first && !second && otherConsumer)
    }
}
