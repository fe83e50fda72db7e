import AMQP
import Foundation
import NIOPosix
import Postgres
import Redis

/// Answers "can this process do its work right now?": PostgreSQL, Redis and the broker each
/// get a short, real round trip. `/health/ready` turns the answer into 200 or 503.
public struct ReadinessProbe: Sendable {
    public struct Report: Sendable {
        /// Dependency name -> what went wrong, for each one that did not answer.
        public let failures: [String: String]
        public var isReady: Bool { failures.isEmpty }
    }

    let database: PostgresPool
    let redis: RedisClient
    let amqpURL: AMQPURL
    /// Opening a broker connection blocks, so it gets a thread of its own.
    let brokerThread: NIOThreadPool

    init(database: PostgresPool, redis: RedisClient, amqpURL: AMQPURL) {
        self.database = database
        self.redis = redis
        self.amqpURL = amqpURL
        brokerThread = NIOThreadPool(numberOfThreads: 1)
        brokerThread.start()
    }

    public func check(timeout: Duration = .seconds(2)) async -> Report {
        let url = amqpURL
        let checks: [(String, @Sendable () async throws -> Void)] = [
            ("database", { try await database.query("SELECT 1") }),
            ("redis", { _ = try await redis.send("PING") }),
            ("broker", { try await brokerThread.runIfActive { try AMQPConnection(url: url, connectTimeoutSeconds: 2).close() } }),
        ]
        let failures = await withTaskGroup(of: (String, String?).self) { group in
            for (name, check) in checks {
                group.addTask {
                    await withTaskGroup(of: String?.self) { race in
                        race.addTask {
                            do { try await check(); return nil } catch { return String(describing: error) }
                        }
                        race.addTask {
                            try? await Task.sleep(for: timeout)
                            return "no answer within \(timeout)"
                        }
                        let first = await race.next()!
                        race.cancelAll()
                        return (name, first)
                    }
                }
            }
            var failures: [String: String] = [:]
            for await (name, failure) in group { if let failure { failures[name] = failure } }
            return failures
        }
        return Report(failures: failures)
    }
}
