import ClientSupport
import Logging

/// A pool of PostgreSQL connections, each used by one of the pool's threads at a time.
///
/// Work is expressed as a synchronous closure over a ``PostgresConnection`` that runs on a
/// pool thread, so a whole transaction stays on one connection and no blocking libpq call
/// ever runs on an event loop or on Swift's cooperative threads:
///
///     let rows = try await pool.withConnection { try $0.query("SELECT 1 AS one") }
public final class PostgresPool: Sendable {
    private let pool: BlockingConnectionPool<PostgresConnection>
    public let url: String

    /// `statementTimeout` and `lockTimeout` apply to every statement on the pool's connections
    /// (nil: no limit); a caller waits at most `maxWait` for a free connection.
    public init(url: String, size: Int = 8, applicationName: String = "switchyard",
                statementTimeout: Duration? = nil, lockTimeout: Duration? = nil, maxWait: Duration = .seconds(10)) {
        self.url = url
        self.pool = BlockingConnectionPool(size: size, maxWaiters: max(100, size * 64), maxWait: maxWait,
                                           closedError: { PostgresError(.closed, "the pool is closed") },
                                           busyError: { PostgresError(.busy, $0) }) {
            try PostgresConnection(url: url, applicationName: applicationName,
                                   statementTimeout: statementTimeout, lockTimeout: lockTimeout)
        }
    }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection { try $0.transaction(body) }
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> [PostgresRow] {
        try await pool.withConnection { try $0.query(sql, parameters) }
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresCommandResult {
        try await pool.withConnection { try $0.execute(sql, parameters) }
    }

    public func close() async { await pool.close() }
}
