import AMQP
import Foundation
import Logging

/// The four stages. Each is its own executable and scales on its own.
public enum ServiceName: String, Sendable, CaseIterable {
    case ingest, storage, processing, notification

    /// Where the workers serve health and metrics when `METRICS_PORT` is not set.
    var defaultMetricsPort: Int {
        switch self {
        case .ingest: 8080
        case .storage: 9101
        case .processing: 9102
        case .notification: 9103
        }
    }
}

/// What every service reads from its environment (names as in the README's configuration table).
public struct PlatformConfiguration: Sendable {
    public var service: ServiceName
    public var databaseURL: String
    public var redisURL: String
    public var amqpURL: AMQPURL
    /// The port for HTTP: the API port for ingest (`HTTP_PORT`), else `METRICS_PORT`.
    public var port: Int
    public var logLevel: Logger.Level
    /// How many connections each process keeps to PostgreSQL (one caller at a time each).
    public var databasePoolSize: Int
    /// How many Redis connections each process keeps (each pipelines all its callers' commands).
    public var redisConnections: Int
    /// The longest a statement may run (`DATABASE_STATEMENT_TIMEOUT`) and wait for a lock
    /// (`DATABASE_LOCK_TIMEOUT`), and the longest a caller waits for a free connection
    /// (`DATABASE_POOL_WAIT`): a hung or overloaded database then means a quick 503, not a hang.
    public var databaseStatementTimeout: Duration
    public var databaseLockTimeout: Duration
    public var databasePoolWait: Duration
    public var environment: EnvironmentReader

    public init(service: ServiceName, environment: EnvironmentReader = EnvironmentReader()) throws {
        self.service = service
        self.environment = environment
        databaseURL = try environment.url("DATABASE_URL", default: "postgres://switchyard@127.0.0.1:5432/switchyard",
                                          schemes: ["postgres", "postgresql"])
        redisURL = try environment.url("REDIS_URL", default: "redis://127.0.0.1:6379/0", schemes: ["redis"])
        let amqp = try environment.url("AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/%2F", schemes: ["amqp"])
        do { amqpURL = try AMQPURL(amqp) } catch { throw ConfigurationError(variable: "AMQP_URL", problem: "\(error)") }
        port = service == .ingest
            ? try environment.int("HTTP_PORT", default: 8080, in: 1...65535)
            : try environment.int("METRICS_PORT", default: service.defaultMetricsPort, in: 1...65535)
        let level = try environment.oneOf("LOG_LEVEL", default: "info",
                                          allowed: Logger.Level.allCases.map(\.rawValue))
        logLevel = Logger.Level(rawValue: level)!
        databasePoolSize = try environment.int("DATABASE_POOL_SIZE", default: 8, in: 1...200)
        redisConnections = try environment.int("REDIS_CONNECTIONS", default: 1, in: 1...64)
        databaseStatementTimeout = try environment.duration("DATABASE_STATEMENT_TIMEOUT", default: .seconds(30))
        databaseLockTimeout = try environment.duration("DATABASE_LOCK_TIMEOUT", default: .seconds(10))
        databasePoolWait = try environment.duration("DATABASE_POOL_WAIT", default: .seconds(5))
    }
}
