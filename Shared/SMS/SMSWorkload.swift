import Foundation
import Platform

/// SMS (seed 003), stage by stage:
///
///     ingest        POST /messages: validate, rate limit and duplicate window (Redis), confirmed
///                   publish to sms.store, 202; GET /messages, /messages/:id, media, JSON metrics
///     storage       sms.store -> batched INSERT -> sms.process (one message per batch)
///     processing    sms.process -> encoding and segments -> sms.notify (messages with a callback)
///     notification  sms.notify -> signed webhook POST to the callback URL (outbound policy,
///                   WEBHOOK_CONCURRENCY at once)
public struct SMSWorkload: Workload {
    public init() {}

    public var name: String { "sms" }

    public var queues: [WorkQueue] { SMSQueues.all }

    public func migrations() throws -> [Migrator.Migration] {
        try Migrator.Migration.bundled(in: .module, owner: name)
    }

    public func parts(for service: ServiceName, runtime: ServiceRuntime) async throws -> WorkloadParts {
        switch service {
        case .ingest:
            let ingest = try SMSIngest(runtime: runtime)
            return WorkloadParts(routes: [ingest], largestBodyBytes: ingest.largestBodyBytes, jsonMetrics: ingest.metricsJSON)
        case .storage:
            return WorkloadParts(services: [runtime.worker(try SMSStorageHandler(runtime: runtime))])
        case .processing:
            return WorkloadParts(services: [runtime.worker(SMSProcessingHandler(runtime: runtime))])
        case .notification:
            let webhooks = try SMSWebhookHandler(runtime: runtime)
            return WorkloadParts(services: [runtime.worker(webhooks, concurrency: webhooks.concurrency)])
        }
    }
}
