import Foundation
import Logging
import Platform
import Postgres
import ServiceLifecycle

/// Queues the paid callbacks a crashed ingest left unqueued: the payment committed, the process
/// died before its publish to `invoices.paid` was confirmed. Every few seconds it looks for
/// paid invoices with a callback URL and no queued mark that were paid more than a grace period
/// ago, publishes them with confirms, and marks them queued. A publish confirmed just before a
/// crash may be queued twice; the callback handler's claim still sends it once.
public struct InvoicesPaidRelay: Service {
    let database: PostgresPool
    let bus: any MessagePublisher
    let logger: Logger
    static let interval: Duration = .seconds(5)
    static let grace: Duration = .seconds(30)

    public init(database: PostgresPool, bus: any MessagePublisher, logger: Logger) {
        self.database = database
        self.bus = bus
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let due = try await database.withConnection {
                    try InvoicesRepository.unqueuedCallbacks(olderThan: Self.grace, limit: 100, on: $0)
                }
                for id in due {
                    try await bus.send(InvoicesQueues.paid.envelope(InvoiceReference(id: id), requestID: nil), to: InvoicesQueues.paid)
                    try await database.withConnection { try InvoicesRepository.markCallbackQueued(id, on: $0) }
                    logger.warning("queued a paid callback that ingest had not", metadata: ["invoice": "\(id)"])
                }
            } catch {
                logger.warning("paid-callback relay: will try again", metadata: ["error": "\(DependencyOutage.of(error)?.description ?? "\(error)")"])
            }
            try? await Task.sleep(for: Self.interval)
        }
    }
}
