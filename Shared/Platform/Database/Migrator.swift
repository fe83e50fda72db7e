import Foundation
import Logging
import Postgres

/// Applies the versioned SQL files in `Migrations/` (named `NNNN_description.sql`) in order,
/// each once and each in its own transaction, recording them in `schema_migrations`.
///
/// Several processes may start at once (every service migrates at start): a transaction-level
/// advisory lock makes them take turns, and the loser finds the work done.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    /// An arbitrary constant all Switchyard processes agree on.
    static let lockKey = 0x5357_4954_4348  // "SWITCH"

    public let migrations: [Migration]
    /// Where applied versions are recorded (tests use a table of their own).
    public let table: String

    public init(migrations: [Migration], table: String = "schema_migrations") {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.table = table
    }

    /// The migrations shipped with the platform (resources of this module).
    public static func bundled() throws -> Migrator {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw PostgresError(.decoding, "the Migrations resource folder is missing from the build")
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        let migrations = try files.map { file -> Migration in
            let name = file.deletingPathExtension().lastPathComponent
            guard let version = Int(name.prefix { $0.isNumber }) else {
                throw PostgresError(.decoding, "migration file \(file.lastPathComponent) does not start with a version number")
            }
            return Migration(version: version, name: name, sql: try String(contentsOf: file, encoding: .utf8))
        }
        return Migrator(migrations: migrations)
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
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """)
            }
            var applied: [String] = []
            for migration in migrations {
                let done = try connection.transaction { connection -> Bool in
                    // A migration may rebuild a large table, and a service that starts meanwhile
                    // waits for the lock: neither may be cut by the pool's statement or lock timeout.
                    try connection.execute("SET LOCAL statement_timeout = 0")
                    try connection.execute("SET LOCAL lock_timeout = 0")
                    try connection.execute("SELECT pg_advisory_xact_lock($1)", [Migrator.lockKey])
                    let seen = try connection.query("SELECT 1 FROM \(table) WHERE version = $1", [migration.version])
                    guard seen.isEmpty else { return false }
                    try connection.executeScript(migration.sql)
                    try connection.execute("INSERT INTO \(table) (version, name) VALUES ($1, $2)",
                                           [migration.version, migration.name])
                    return true
                }
                if done {
                    logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                    applied.append(migration.name)
                }
            }
            return applied
        }
    }
}
