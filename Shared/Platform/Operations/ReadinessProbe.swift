import AMQP
import Foundation
import Logging
import NIOPosix
import Postgres
import Redis
import ServiceLifecycle
import Synchronization

/// Answers "can this process do its work right now?" without doing any work per request.
///
/// PostgreSQL, Redis and the broker are each probed in the background, every `interval`, with a
/// real round trip; `/health/ready` answers from the latest results at once. A dependency is
/// unavailable when its latest probe failed, or when a probe has been running for longer than
/// `timeout` (a server that accepted the connection and went quiet). The answer names the
/// dependencies that are down and nothing else; what went wrong goes to the log, once per change.
///
/// An earlier version probed on each request: the answer waited for probes that ignore
/// cancellation (a broker connect held it for up to 10 s past its 2 s timeout), every call on
/// the public port opened a new AMQP connection, and raw errors naming hosts and ports went
/// to the caller.
public final class ReadinessProbe: Service, Sendable {
    public struct Report: Sendable, Equatable {
        /// The dependencies (`database`, `redis`, `broker`) that cannot serve now, sorted.
        public let unavailable: [String]
        public var isReady: Bool { unavailable.isEmpty }
    }

    private struct Probe: Sendable {
        var name: String
        var check: @Sendable () async throws -> Void
    }

    private struct Status {
        /// Nil until the first probe finished.
        var lastSucceeded: Bool?
        /// When the probe now running started (nil between probes).
        var runningSince: ContinuousClock.Instant?
    }

    private let probes: [Probe]
    private let status: Mutex<[String: Status]>
    private let interval: Duration
    private let timeout: Duration
    private let logger: Logger
    private let broker: BrokerPing

    init(database: PostgresPool, redis: RedisClient, amqpURL: AMQPURL, logger: Logger,
         interval: Duration = .seconds(2), timeout: Duration = .seconds(2)) {
        let broker = BrokerPing(url: amqpURL, timeoutSeconds: Int(timeout.components.seconds))
        self.broker = broker
        probes = [
            Probe(name: "database") { try await database.query("SELECT 1") },
            Probe(name: "redis") { _ = try await redis.send("PING") },
            Probe(name: "broker") { try await broker.ping() },
        ]
        status = Mutex(Dictionary(uniqueKeysWithValues: probes.map { ($0.name, Status()) }))
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    /// The latest results; never waits.
    public func report(now: ContinuousClock.Instant = .now) -> Report {
        let unavailable = status.withLock { status in
            status.filter { _, probe in
                probe.lastSucceeded != true || probe.runningSince.map { now - $0 > timeout } == true
            }.keys.sorted()
        }
        return Report(unavailable: unavailable)
    }

    /// Probes every dependency until the service group shuts down.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for probe in self.probes {
                    group.addTask { await self.keepProbing(probe) }
                }
            }
        }
        await broker.close()
    }

    private func keepProbing(_ probe: Probe) async {
        while !Task.isCancelled {
            status.withLock { $0[probe.name]?.runningSince = .now }
            let started = ContinuousClock.now
            var failure: String?
            do { try await probe.check() } catch { failure = String(describing: error) }
            if failure == nil, ContinuousClock.now - started > timeout { failure = "answered only after \(ContinuousClock.now - started)" }
            let previous = status.withLock { status in
                defer { status[probe.name] = Status(lastSucceeded: failure == nil, runningSince: nil) }
                return status[probe.name]?.lastSucceeded
            }
            if let failure, previous != false {
                logger.warning("not ready: \(probe.name) unavailable", metadata: ["error": "\(failure)"])
            } else if failure == nil, previous == false {
                logger.info("ready again: \(probe.name) answers")
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// The broker probe: one connection kept open on a thread of its own (librabbitmq blocks, and
/// a connection belongs to one thread), one round trip per probe, redialled after a failure.
private final class BrokerPing: @unchecked Sendable {
    // @unchecked: `connection` is touched only inside `thread.runIfActive`, on its one thread.
    private let url: AMQPURL
    private let timeoutSeconds: Int
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private var connection: AMQPConnection?

    init(url: AMQPURL, timeoutSeconds: Int) {
        self.url = url
        self.timeoutSeconds = max(1, timeoutSeconds)
        thread.start()
    }

    func ping() async throws {
        try await thread.runIfActive { [self] in
            do {
                if connection == nil {
                    connection = try AMQPConnection(url: url, connectTimeoutSeconds: timeoutSeconds, rpcTimeoutSeconds: timeoutSeconds)
                }
                try connection?.ping()
                connection?.releaseFrameBuffers()  // else librabbitmq keeps every reply's memory
            } catch {
                connection = nil  // frees it on this thread; the next probe dials again
                throw error
            }
        }
    }

    func close() async {
        try? await thread.runIfActive { [self] in
            connection?.close()
            connection = nil
        }
        try? await thread.shutdownGracefully()
    }
}
