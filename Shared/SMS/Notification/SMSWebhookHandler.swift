import Crypto
import Foundation
import NIOHTTP1
import Platform
import Postgres

/// notification's part: POSTs the processed message object to its `callback_url`, with
/// `X-Switchyard-Timestamp: <unix seconds>` and `X-Switchyard-Signature: sha256=<hex>`, the
/// HMAC-SHA256 with `WEBHOOK_SECRET` over `<timestamp>.<body>` (API.md): the timestamp is
/// signed, so a receiver that refuses old ones cannot be fed a captured callback again.
/// Receivers deduplicate on `X-Switchyard-Message-Id`.
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
    let signer: HMACSigner
    let poster: OutboundPoster
    /// How many deliveries run at once (`WEBHOOK_CONCURRENCY`): the worker's concurrency.
    public let concurrency: Int

    public init(runtime: ServiceRuntime) throws {
        let environment = runtime.configuration.environment
        database = runtime.database
        signer = try HMACSigner.webhooks(environment: environment)
        poster = try OutboundPoster(environment: environment)
        concurrency = try environment.int("WEBHOOK_CONCURRENCY", default: 16, in: 1...256)
    }

    public func handle(_ batch: [MessageEnvelope<SMSNotice>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            let (message, callback) = try await database.withConnection { connection in
                (try SMSRepository.message(id, on: connection), try SMSRepository.callbackURL(of: id, on: connection))
            }
            guard let message, let callback else { throw PermanentFailure("message \(id) or its callback URL is gone") }
            let body = message.jsonBytes
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "User-Agent", value: "switchyard-webhooks/1")
            // Each attempt signs its own time: a retry hours later is not refused as a replay.
            let timestamp = Int(Date().timeIntervalSince1970)
            headers.add(name: "X-Switchyard-Timestamp", value: String(timestamp))
            headers.add(name: "X-Switchyard-Signature", value: "sha256=" + signer.webhook(body: body, timestamp: timestamp))
            headers.add(name: "X-Switchyard-Message-Id", value: id.uuidString.lowercased())
            if let requestID = envelope.requestID { headers.add(name: "X-Request-Id", value: requestID) }
            do {
                try await poster.post(callback, headers: headers, body: body)
            } catch let refusal as OutboundRefusal {
                // Logged and dead-lettered without the URL's query: it may carry the client's token.
                throw PermanentFailure("callback \(OutboundTarget.redact(callback)) refused: \(refusal.reason)")
            }
        }
    }
}
