import Foundation
import NIOHTTP1

/// A webhook as every workload sends one: the JSON body POSTed through ``OutboundPoster`` (the
/// outbound policy, one deadline, no redirects, the per-origin circuit breaker) with
/// `X-Switchyard-Timestamp: <unix seconds>` and `X-Switchyard-Signature: sha256=<hex>`, the
/// HMAC-SHA256 with `WEBHOOK_SECRET` over `<timestamp>.<body>` (the contract), so that a receiver
/// that refuses old timestamps cannot be fed a captured callback again, and
/// `X-Switchyard-Message-Id` to deduplicate on.
public struct SignedWebhook: Sendable {
    let signer: HMACSigner
    let poster: OutboundPoster

    public init(signer: HMACSigner, poster: OutboundPoster) {
        self.signer = signer
        self.poster = poster
    }

    /// `WEBHOOK_SECRET` and the outbound policy's settings.
    public init(environment: EnvironmentReader) throws {
        self.init(signer: try HMACSigner.webhooks(environment: environment), poster: try OutboundPoster(environment: environment))
    }

    /// Posts `body` to `url`. A URL the policy refuses is a ``PermanentFailure`` (dead-lettered
    /// with the reason, never retried: retrying cannot change the verdict), named without its
    /// query, which may carry the receiver's token; any other failure throws as it came.
    public func post(_ body: [UInt8], to url: String, messageID: UUID, event: String? = nil, requestID: String?) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "switchyard-webhooks/1")
        // Each attempt signs its own time: a retry hours later is not refused as a replay.
        let timestamp = Int(Date().timeIntervalSince1970)
        headers.add(name: "X-Switchyard-Timestamp", value: String(timestamp))
        headers.add(name: "X-Switchyard-Signature", value: "sha256=" + signer.webhook(body: body, timestamp: timestamp))
        if let event { headers.add(name: "X-Switchyard-Event", value: event) }
        headers.add(name: "X-Switchyard-Message-Id", value: messageID.uuidString.lowercased())
        if let requestID { headers.add(name: "X-Request-Id", value: requestID) }
        do {
            _ = try await poster.post(url, headers: headers, body: body)
        } catch let refusal as OutboundRefusal {
            throw PermanentFailure("callback \(OutboundTarget.redact(url)) refused: \(refusal.reason)")
        }
    }
}
