import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Platform
import Postgres

/// notification's part: POSTs the processed message object to its `callback_url`, with
/// `X-Switchyard-Timestamp: <unix seconds>` and `X-Switchyard-Signature: sha256=<hex>`, the
/// HMAC-SHA256 with `WEBHOOK_SECRET` over `<timestamp>.<body>` (API.md): the timestamp is
/// signed, so a receiver that refuses old ones cannot be fed a captured callback again.
/// A failed or non-2xx delivery throws, so the worker retries it with growing delays and
/// finally dead-letters it. Receivers deduplicate on `X-Switchyard-Message-Id`.
public struct SMSWebhookHandler: MessageHandler {
    public typealias Payload = SMSNotice
    public let queue = SMSQueues.notify
    let database: PostgresPool
    /// Kept as bytes: `SymmetricKey` is not Sendable.
    let secret: [UInt8]
    let client: HTTPClient

    public init(runtime: ServiceRuntime, client: HTTPClient = .shared) throws {
        database = runtime.database
        secret = Array(try SMSConfiguration(environment: runtime.configuration.environment).webhookSecret.utf8)
        self.client = client
    }

    struct DeliveryFailed: Error, CustomStringConvertible {
        let description: String
    }

    public func handle(_ batch: [MessageEnvelope<SMSNotice>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            let (message, callback) = try await database.withConnection { connection in
                (try SMSRepository.message(id, on: connection), try SMSRepository.callbackURL(of: id, on: connection))
            }
            guard let message, let callback else { throw PermanentFailure("message \(id) or its callback URL is gone") }
            let body = message.jsonBytes
            var request = HTTPClientRequest(url: callback)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "switchyard-webhooks/1")
            // Each attempt signs its own time: a retry hours later is not refused as a replay.
            let timestamp = Int(Date().timeIntervalSince1970)
            request.headers.add(name: "X-Switchyard-Timestamp", value: String(timestamp))
            request.headers.add(name: "X-Switchyard-Signature", value: "sha256=" + Self.signature(of: body, timestamp: timestamp, secret: secret))
            request.headers.add(name: "X-Switchyard-Message-Id", value: id.uuidString.lowercased())
            if let requestID = envelope.requestID { request.headers.add(name: "X-Request-Id", value: requestID) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                throw DeliveryFailed(description: "callback \(callback) answered \(response.status.code)")
            }
        }
    }

    /// Lower-case hex of HMAC-SHA256(secret, "<timestamp>.<body>").
    public static func signature(of body: [UInt8], timestamp: Int, secret: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: secret))
            .map { String(format: "%02x", $0) }.joined()
    }
}
