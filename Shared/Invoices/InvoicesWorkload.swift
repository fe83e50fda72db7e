import Foundation
import Mail
import Platform

/// Invoices (seeds 000 and 001), stage by stage:
///
///     ingest        POST /api/sender/invoices: the file streamed into the blob store (durable),
///                   confirmed publish to invoices.store, 201; the sender's and the consumer's
///                   lists and reads; pay (one conditional UPDATE, then invoices.paid); the file,
///                   streamed from the blob store with ranges and ETag
///     storage       invoices.store -> batched INSERT (`stored`) -> invoices.check
///     processing    invoices.check -> the file checked by qpdf / libspng -> `available` or
///                   `rejected` -> invoices.email (when there is a notify_email)
///     notification  invoices.email -> the receiver's email over SMTP, once;
///                   invoices.paid -> the sender's signed callback, once; and the relay that
///                   queues paid callbacks a crashed ingest left unqueued
public struct InvoicesWorkload: Workload {
    public init() {}

    public var name: String { "invoices" }

    public var queues: [WorkQueue] { InvoicesQueues.all }

    public func migrations() throws -> [Migrator.Migration] {
        try Migrator.Migration.bundled(in: .module, owner: name)
    }

    public func parts(for service: ServiceName, runtime: ServiceRuntime) async throws -> WorkloadParts {
        switch service {
        case .ingest:
            let ingest = try InvoicesIngest(runtime: runtime)
            return WorkloadParts(routes: [ingest], largestBodyBytes: ingest.largestBodyBytes)
        case .storage:
            return WorkloadParts(services: [runtime.worker(InvoicesStorageHandler(database: runtime.database, redis: runtime.redis,
                                                                                  bus: runtime.bus))])
        case .processing:
            let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("switchyard-invoice-checks")
            return WorkloadParts(services: [runtime.worker(InvoiceCheckHandler(database: runtime.database, blobs: try runtime.blobStore(),
                                                                               bus: runtime.bus, scratch: scratch, logger: runtime.logger),
                                                           concurrency: 2)])
        case .notification:
            let environment = runtime.configuration.environment
            let callbacks = InvoicePaidCallbackHandler(database: runtime.database, webhook: try SignedWebhook(environment: environment))
            let smtp = try SMTPConfiguration(environment: environment)
            let emails = InvoiceEmailHandler(database: runtime.database, mail: SMTPClient(configuration: smtp), from: smtp.from,
                                             logger: runtime.logger)
            return WorkloadParts(services: [
                runtime.worker(emails, concurrency: 4),
                runtime.worker(callbacks, concurrency: try environment.int("WEBHOOK_CONCURRENCY", default: 16, in: 1...256)),
                InvoicesPaidRelay(database: runtime.database, bus: runtime.bus, logger: runtime.logger),
            ])
        }
    }
}
