import Foundation
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Workloads

@Suite("Migrations")
struct MigratorTests {
    let pool = PostgresPool(url: TestServers.databaseURL, size: 6)
    let logger = Logger(label: "test.migrate")

    @Test func bundledMigrationsAppliedTwiceChangeNothing() async throws {
        let migrator = try Migrator.all()
        #expect(!migrator.migrations.isEmpty)
        try await migrator.migrate(pool, logger: logger)
        let before = try await pool.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        let again = try await migrator.migrate(pool, logger: logger)
        #expect(again.isEmpty)
        let after = try await pool.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        #expect(try before.map { try $0.decode("applied_at", as: Date.self) } == after.map { try $0.decode("applied_at", as: Date.self) })
        #expect(after.count == migrator.migrations.count)
    }

    /// Each workload owns its SQL; the order is the platform's first, then by version, and
    /// every migration is recorded under its owner.
    @Test func workloadsOwnTheirMigrationsInAStableOrder() async throws {
        let migrator = try Migrator.all()
        #expect(migrator.migrations.first?.owner == "platform")
        #expect(Set(migrator.migrations.map(\.owner)) == ["platform", "sms", "events", "invoices"])
        let order = migrator.migrations.filter { $0.owner != "platform" }.map(\.version)
        #expect(order == order.sorted())
        #expect(migrator.migrations.first { $0.name == "0002_sms" }?.owner == "sms")
        #expect(migrator.migrations.first { $0.name == "0003_events" }?.owner == "events")
        #expect(migrator.migrations.first { $0.name == "0001_invoices" }?.owner == "invoices")
        // The same list, whichever order the workloads are given in.
        let reversed = try Migrator(workloads: Workloads.all.reversed())
        #expect(reversed.migrations.map(\.name) == migrator.migrations.map(\.name))
    }

    /// A database migrated before migrations had owners (`schema_migrations` keyed by version
    /// alone) keeps working: its rows get their owners, and nothing is applied again (each
    /// migration here fails if it runs twice).
    @Test func aDatabaseMigratedBeforeOwnersAppliesNothingAgain() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let table = "test_old_migrations_\(suffix)"
        let migrations: [Migrator.Migration] = [
            .init(owner: "platform", version: 1, name: "0001_base_\(suffix)", sql: "CREATE TABLE test_base_\(suffix) (id int)"),
            .init(owner: "sms", version: 2, name: "0002_sms_\(suffix)", sql: "CREATE TABLE test_sms_\(suffix) (id int)"),
            .init(owner: "events", version: 3, name: "0003_events_\(suffix)", sql: "CREATE TABLE test_events_\(suffix) (id int)"),
            .init(owner: "events", version: 4, name: "0004_more_\(suffix)", sql: "CREATE TABLE test_more_\(suffix) (id int)"),
        ]
        // As the old migrator left it: versions 1 to 3 applied, recorded without owners.
        try await pool.execute("""
            CREATE TABLE \(table) (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        for migration in migrations.prefix(3) {
            try await pool.execute(migration.sql)
            try await pool.execute("INSERT INTO \(table) (version, name) VALUES ($1, $2)", [migration.version, migration.name])
        }
        let applied = try await Migrator(migrations: migrations, table: table).migrate(pool, logger: logger)
        #expect(applied == ["0004_more_\(suffix)"])
        let owners = try await pool.query("SELECT owner, version FROM \(table) ORDER BY version")
            .map { "\(try $0.decode("owner", as: String.self)):\(try $0.decode("version", as: Int.self))" }
        #expect(owners == ["platform:1", "sms:2", "events:3", "events:4"])
        #expect(try await Migrator(migrations: migrations, table: table).migrate(pool, logger: logger).isEmpty)
        for name in ["base", "sms", "events", "more"] { try await pool.execute("DROP TABLE test_\(name)_\(suffix)") }
        try await pool.execute("DROP TABLE \(table)")
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
        try await Migrator.all().migrate(pool, logger: logger)
        let id = UUID()
        let first = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "test", on: $0) }
        let second = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "test", on: $0) }
        let otherConsumer = try await pool.withTransaction { try ProcessedMessages.claim(id, consumer: "other", on: $0) }
        #expect(first && !second && otherConsumer)
    }
}
