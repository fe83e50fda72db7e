import Foundation
import Logging
import Postgres

/// Applies versioned SQL files (`NNNN_description.sql`), each once and each in its own
/// transaction, recording them per owner (the platform or a workload) and version in
/// `schema_migrations`. The platform's own come first, then every workload's in version order
/// (ties by workload name): a stable global order however the workloads are listed.
///
/// Several processes may start at once (every service migrates at start): a transaction-level
/// advisory lock makes them take turns, and the loser finds the work done.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        /// `platform`, or the workload's name.
        public let owner: String
        public let version: Int
        public let name: String
        public let sql: String
        public init(owner: String = "platform", version: Int, name: String, sql: String) {
            self.owner = owner
            self.version = version
            self.name = name
            self.sql = sql
        }

        /// The `NNNN_description.sql` files of a module's `Migrations` resource folder.
        public static func bundled(in bundle: Bundle, owner: String) throws -> [Migration] {
            guard let folder = bundle.url(forResource: "Migrations", withExtension: nil) else {
                throw PostgresError(.decoding, "the Migrations resource folder of \(owner) is missing from the build")
            }
            let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
            return try files.map { file in
                let name = file.deletingPathExtension().lastPathComponent
                guard let version = Int(name.prefix { $0.isNumber }) else {
                    throw PostgresError(.decoding, "migration file \(file.lastPathComponent) does not start with a version number")
                }
                return Migration(owner: owner, version: version, name: name, sql: try String(contentsOf: file, encoding: .utf8))
            }
        }
    }

    /// An arbitrary constant all Switchyard processes agree on.
    static let lockKey = 0x5357_4954_4348  // "SWITCH"

    public let migrations: [Migration]
    /// Where applied versions are recorded (tests use a table of their own).
    public let table: String

    public init(migrations: [Migration], table: String = "schema_migrations") {
        self.migrations = migrations.sorted {
            ($0.owner == "platform" ? 0 : 1, $0.version, $0.owner) < ($1.owner == "platform" ? 0 : 1, $1.version, $1.owner)
        }
        self.table = table
    }

    /// The platform's migrations and those of `workloads`.
    public init(workloads: [any Workload], table: String = "schema_migrations") throws {
        let platform = try Migration.bundled(in: .module, owner: "platform")
        self.init(migrations: platform + (try workloads.flatMap { try $0.migrations() }), table: table)
    }

    /// Applies what is missing; returns the names applied by this call.
    @discardableResult
    public func migrate(_ pool: PostgresPool, logger: Logger) async throws -> [String] {
        try await pool.withConnection { [migrations, table] connection in
            // Even CREATE TABLE IF NOT EXISTS races with itself, so it takes the lock too.
            try connection.transaction { connection in
                // Waiting here for another replica's long migration is expected, not a hang.
                try connection.execute("SET LOCAL statement_timeout = 0")
                try connection.execute("SET LOCAL lock_timeout = 0")
                try connection.execute("SELECT pg_advisory_xact_lock($1)", [Migrator.lockKey])
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS \(table) (
                        owner text NOT NULL,
                        version integer NOT NULL,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (owner, version))
                    """)
                try Self.recordOwners(in: table, of: migrations, on: connection)
            }
            var applied: [String] = []
            for migration in migrations {
                let done = try connection.transaction { connection -> Bool in
                    // A migration may rebuild a large table, and a service that starts meanwhile
                    // waits for the lock: neither may be cut by the pool's statement or lock timeout.
                    try connection.execute("SET LOCAL statement_timeout = 0")
                    try connection.execute("SET LOCAL lock_timeout = 0")
                    try connection.execute("SELECT pg_advisory_xact_lock($1)", [Migrator.lockKey])
                    let seen = try connection.query("SELECT 1 FROM \(table) WHERE owner = $1 AND version = $2",
                                                    [migration.owner, migration.version])
                    guard seen.isEmpty else { return false }
                    try connection.executeScript(migration.sql)
                    try connection.execute("INSERT INTO \(table) (owner, version, name) VALUES ($1, $2, $3)",
                                           [migration.owner, migration.version, migration.name])
                    return true
                }
                if done {
                    logger.info("applied migration", metadata: ["owner": "\(migration.owner)", "migration": "\(migration.name)"])
                    applied.append(migration.name)
                }
            }
            return applied
        }
    }

    /// A database migrated before migrations had owners recorded versions only (`version` the
    /// primary key): each applied one gets the owner of the migration with its name, so that
    /// none is applied again, and the key becomes (owner, version). Runs once, under the lock.
    static func recordOwners(in table: String, of migrations: [Migration], on connection: PostgresConnection) throws {
        let columns = try connection.query("""
            SELECT 1 FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'owner'
            """, [table])
        guard columns.isEmpty else { return }
        try connection.execute("ALTER TABLE \(table) ADD COLUMN owner text")
        try connection.execute("""
            UPDATE \(table) SET owner = known.owner
            FROM unnest($1::text[], $2::text[]) AS known(owner, name) WHERE \(table).name = known.name
            """, [migrations.map(\.owner), migrations.map(\.name)])
        // A version this build does not know (applied by a newer one) stays recorded, as its own.
        try connection.execute("UPDATE \(table) SET owner = 'unknown' WHERE owner IS NULL")
        try connection.execute("ALTER TABLE \(table) ALTER COLUMN owner SET NOT NULL")
        try connection.execute("ALTER TABLE \(table) DROP CONSTRAINT \(table)_pkey, ADD PRIMARY KEY (owner, version)")
    }
}
