import Platform
import Postgres
import Redis

/// storage's part: records received invoices in batches (one INSERT per batch; a redelivered
/// row is left as it is), deletes ingest's `received` copies, and hands every invoice of the
/// batch to processing. Handing on repeats after a redelivery, which processing absorbs (it
/// checks only a `stored` invoice), so a crash between the commit and the ack strands nothing.
public struct InvoicesStorageHandler: MessageHandler {
    public typealias Payload = ReceivedInvoice
    public let queue = InvoicesQueues.store
    public var batchSize: Int { 200 }
    let database: PostgresPool
    let redis: RedisClient
    let bus: any MessagePublisher

    public init(database: PostgresPool, redis: RedisClient, bus: any MessagePublisher) {
        self.database = database
        self.redis = redis
        self.bus = bus
    }

    public func handle(_ batch: [MessageEnvelope<ReceivedInvoice>]) async throws {
        let invoices = batch.map(\.payload)
        let requestIDs = batch.map(\.requestID)
        try await database.withConnection { try InvoicesRepository.store(invoices, requestIDs: requestIDs, on: $0) }
        // The rows answer reads now; failing here loses nothing (the copies expire).
        let keys: [any RedisArgument] = ["DEL"] + invoices.map { InvoicesIngest.receivedCopyKey($0.invoice.id) }
        _ = try? await redis.send(keys)
        try await bus.send(batch.map { InvoicesQueues.check.envelope(InvoiceReference(id: $0.payload.invoice.id), id: $0.id, requestID: $0.requestID) },
                           to: InvoicesQueues.check)
    }
}
