import Foundation
import Platform
import Postgres

/// notification's part: POSTs the processed message object to its `callback_url`, signed by
/// the platform's ``SignedWebhook`` (`X-Switchyard-Timestamp`, `X-Switchyard-Signature`:
/// HMAC-SHA256 with `WEBHOOK_SECRET` over `<timestamp>.<body>`). Receivers deduplicate on
/// `X-Switchyard-Message-Id`.
///
/// The post goes through the platform's ``OutboundPoster``: the URL's name is resolved and
/// every address checked against the outbound policy, redirects are not followed, one deadline
/// (`WEBHOOK_TIMEOUT`) covers the whole exchange, and a per-origin circuit breaker fails
/// deliveries to an endpoint that keeps failing at once. A refused URL is dead-lettered at once
/// with the reason (retrying cannot change the verdict); any other failure throws, so the worker
/// retries it with growing delays and finally dead-letters it. `WEBHOOK_CONCURRENCY` deliveries
/// run at once, each acked on its own.
public struct SMSWebhookHandler: MessageHandler {
    public typealias Payload = SMSNotice
    public let queue = SMSQueues.notify
    let database: PostgresPool
    let webhook: SignedWebhook
    /// How many deliveries run at once (`WEBHOOK_CONCURRENCY`): the worker's concurrency.
    public let concurrency: Int

    public init(runtime: ServiceRuntime) throws {
        let environment = runtime.configuration.environment
        database = runtime.database
        webhook = try SignedWebhook(environment: environment)
        concurrency = try environment.int("WEBHOOK_CONCURRENCY", default: 16, in: 1...256)
    }

    public func handle(_ batch: [MessageEnvelope<SMSNotice>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            let (message, callback) = try await database.withConnection { connection in
                (try SMSRepository.message(id, on: connection), try SMSRepository.callbackURL(of: id, on: connection))
            }
            guard let message, let callback else { throw PermanentFailure("message \(id) or its callback URL is gone") }
            try await webhook.post(message.jsonBytes, to: callback, messageID: id, requestID: envelope.requestID)
        }
    }
}
