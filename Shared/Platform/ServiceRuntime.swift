import AMQP
import Foundation
import Hummingbird
import Logging
import Metrics
import Postgres
import Prometheus
import Redis
import ServiceLifecycle

/// What a Switchyard process stands on: configuration, logging, metrics, the PostgreSQL pool,
/// the Redis client and the message bus, connected and migrated. Each `main` starts one, lists
/// the parts its stage runs, and hands them to `run`.
public struct ServiceRuntime: Sendable {
    public let configuration: PlatformConfiguration
    public let logger: Logger
    public let database: PostgresPool
    public let redis: RedisClient
    public let bus: MessageBus
    public let metricsRegistry: PrometheusCollectorRegistry
    public let readiness: ReadinessProbe
    /// The workloads this process runs its stage of.
    public let workloads: [any Workload]

    /// Reads the environment (exiting with a message naming the variable when a value is bad),
    /// sets up logging and metrics, connects, declares every queue of `workloads` and applies
    /// the migrations.
    public static func start(_ service: ServiceName, workloads: [any Workload],
                             environment: EnvironmentReader = EnvironmentReader()) async -> ServiceRuntime {
        let configuration: PlatformConfiguration
        do {
            configuration = try PlatformConfiguration(service: service, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("\(service.rawValue): \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var logger = Logger(label: "switchyard.\(service.rawValue)")
        logger.logLevel = configuration.logLevel
        let database = PostgresPool(url: configuration.databaseURL, size: configuration.databasePoolSize,
                                    applicationName: "switchyard-\(service.rawValue)",
                                    statementTimeout: configuration.databaseStatementTimeout,
                                    lockTimeout: configuration.databaseLockTimeout, maxWait: configuration.databasePoolWait)
        let redis = RedisClient(url: configuration.redisURL, connections: configuration.redisConnections)
        let bus = MessageBus(url: configuration.amqpURL, queues: workloads.flatMap(\.queues), logger: logger)
        let runtime = ServiceRuntime(configuration: configuration, logger: logger, database: database, redis: redis,
                                     bus: bus, metricsRegistry: registry,
                                     readiness: ReadinessProbe(database: database, redis: redis, amqpURL: configuration.amqpURL, logger: logger),
                                     workloads: workloads)
        await runtime.migrateWhenDatabaseAnswers()
        return runtime
    }

    /// The database may still be starting (compose, Kubernetes): retry for a minute before giving up.
    private func migrateWhenDatabaseAnswers() async {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await Migrator(workloads: workloads).migrate(database, logger: logger)
                return
            } catch let error as PostgresError where error.kind == .connection && ContinuousClock.now < deadline {
                logger.warning("database not reachable yet; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            } catch {
                logger.critical("migrations failed", metadata: ["error": "\(error)"])
                exit(1)
            }
        }
    }

    /// Builds a part that reads its own settings; a bad value stops the process at start with
    /// a message naming the variable, exactly as the platform's own settings do.
    public func configured<Part>(_ make: () throws -> Part) -> Part {
        do {
            return try make()
        } catch {
            refuseToStart(error)
        }
    }

    /// The same for a part whose making is asynchronous.
    public func configured<Part>(_ make: () async throws -> Part) async -> Part {
        do {
            return try await make()
        } catch {
            refuseToStart(error)
        }
    }

    private func refuseToStart(_ error: any Error) -> Never {
        FileHandle.standardError.write(Data("\(configuration.service.rawValue): \(error)\n".utf8))
        exit(78)  // EX_CONFIG
    }

    /// A consumer service for one handler, retrying and dead-lettering through this bus.
    /// `concurrency` batches are handled at once (say, webhooks to independent endpoints).
    public func worker<Handler: MessageHandler>(_ handler: Handler, concurrency: Int = 1) -> QueueWorker<Handler> {
        QueueWorker(handler: handler, url: configuration.amqpURL, bus: bus, concurrency: concurrency, logger: logger)
    }

    /// The blob store `BLOB_STORE` names (by default the folder `.run/blobs` of the local run;
    /// `postgres` keeps blobs in this service's database).
    public func blobStore() throws -> any BlobStore {
        try BlobStores.open(environment: configuration.environment, defaultFolder: FileManager.default.currentDirectoryPath + "/.run/blobs",
                            database: database)
    }

    public var operationsRoutes: OperationsRoutes {
        OperationsRoutes(readiness: readiness, registry: metricsRegistry, service: configuration.service)
    }

    /// Serves `router` on the configured port next to `services`, until SIGTERM or SIGINT; then
    /// stops the services, drains the bus, and closes every connection.
    public func run<Responder: HTTPResponderBuilder>(router: Responder, services: [any Service]) async throws
    where Responder.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let app = Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: configuration.port),
                                                                   serverName: "switchyard-\(configuration.service.rawValue)"),
                              logger: logger)
        // Shut down in reverse order: the workers stop taking messages first, the HTTP server
        // (health and metrics) next, the readiness probe last. Past 8 s, whatever still runs is
        // cancelled. The closes that follow are quick when the servers answer; a publish still
        // waiting for its confirm can hold the bus for the rest of its 10 s deadline, which may
        // outlast Kubernetes' default 10 s grace period: the SIGKILL then loses nothing (the
        // broker redelivers what was unacked, and the caller of an unconfirmed publish has had
        // no 2xx).
        var group = ServiceGroupConfiguration(services: [readiness, app] + services, gracefulShutdownSignals: [.sigterm, .sigint],
                                              logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(8)
        try await ServiceGroup(configuration: group).run()
        await bus.close()
        await redis.close()
        await database.close()
        logger.info("stopped")
    }

    /// What every workload contributes to this service, built now; a bad setting stops the
    /// process at start with a message naming the variable.
    public func parts() async -> WorkloadParts {
        var parts: [WorkloadParts] = []
        for workload in workloads {
            parts.append(await configured { try await workload.parts(for: configuration.service, runtime: self) })
        }
        return .combining(parts)
    }

    /// A worker service: every workload's part of this stage, and as HTTP surface only health
    /// and metrics.
    public func runWorkers() async throws {
        let router = Router()
        operationsRoutes.add(to: router)
        try await run(router: router, services: await parts().services)
    }
}
