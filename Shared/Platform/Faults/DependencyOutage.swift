import AMQP
import Postgres
import Redis

/// Tells an outage of a dependency apart from a failure that belongs to the request or the
/// message itself. The two are answered differently everywhere:
///
/// - over HTTP, an outage is `503` with `Retry-After` (the client should come back), anything
///   else unexpected a `500`;
/// - in a worker, an outage does not spend the message's attempts: the worker waits for the
///   dependency and tries again, so a long outage never dead-letters good messages.
public struct DependencyOutage: Error, CustomStringConvertible, Sendable {
    /// `database`, `redis` or `broker`: all a client is told.
    public let dependency: String
    /// The underlying error, for logs only (it may name hosts and ports).
    public let detail: String

    public var description: String { "\(dependency) unavailable: \(detail)" }

    public init(dependency: String, detail: String) {
        self.dependency = dependency
        self.detail = detail
    }

    /// The outage `error` stands for, or nil when it is not one.
    public static func of(_ error: any Error) -> DependencyOutage? {
        switch error {
        case let outage as DependencyOutage:
            return outage
        case let redis as RedisError where isOutage(redis):
            return DependencyOutage(dependency: "redis", detail: redis.description)
        case let postgres as PostgresError where isOutage(postgres):
            return DependencyOutage(dependency: "database", detail: postgres.description)
        case let amqp as AMQPError where amqp.kind != .server && amqp.kind != .unroutable:
            // Unreachable, blocked by an alarm, no confirm in time, nacked: none of them is the
            // message's fault. A `.server` error (a channel closed over a missing queue, say)
            // or an unroutable publish (no queue bound) is a defect to be seen, not waited out:
            // a worker waiting on it would wait forever; retried and dead-lettered, the message
            // can be replayed once the topology is mended.
            return DependencyOutage(dependency: "broker", detail: amqp.description)
        default:
            return nil
        }
    }

    /// Redis is unreachable, or answers that it cannot serve now: still loading its data after
    /// a restart (`LOADING`, which made every request a 500 for seconds after Redis came back),
    /// busy with a script, unable to persist (`MISCONF`), or without its primary.
    static func isOutage(_ error: RedisError) -> Bool {
        switch error.kind {
        case .connection, .closed:
            return true
        case .server:
            let transient = ["LOADING", "BUSY", "MISCONF", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "READONLY"]
            return transient.contains { error.message.hasPrefix($0) }
        default:
            return false
        }
    }

    /// PostgreSQL is down or cannot serve now: no connection, the server shutting down or
    /// starting (class 57P, except a statement cancelled by its own timeout), out of
    /// connections or resources (class 53), or a broken connection (class 08).
    static func isOutage(_ error: PostgresError) -> Bool {
        switch error.kind {
        case .connection, .closed, .busy:
            return true
        case .server:
            guard let state = error.sqlState else { return false }
            return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
        default:
            return false
        }
    }
}
