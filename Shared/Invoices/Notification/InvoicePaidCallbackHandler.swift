import Foundation
import NIOHTTP1
import Platform
import Postgres

/// notification's part: POSTs the paid invoice to the sender's `callback_url`, signed as SMS
/// callbacks are (`X-Switchyard-Timestamp`, `X-Switchyard-Signature`: HMAC-SHA256 with
/// `WEBHOOK_SECRET` over `<timestamp>.<body>`), through the platform's outbound policy. Once:
/// claimed in the row before the post, recorded after a 2xx (see ``InvoiceEmailHandler``).
public struct InvoicePaidCallbackHandler: MessageHandler {
    public typealias Payload = InvoiceReference
    public let queue = InvoicesQueues.paid
    let database: PostgresPool
    let signer: HMACSigner
    let poster: OutboundPoster
    static let claimLease: Duration = .seconds(120)

    public init(database: PostgresPool, signer: HMACSigner, poster: OutboundPoster) {
        self.database = database
        self.signer = signer
        self.poster = poster
    }

    public func handle(_ batch: [MessageEnvelope<InvoiceReference>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            switch try await database.withConnection({ try InvoicesRepository.claim(.callback, of: id, lease: Self.claimLease, on: $0) }) {
            case .alreadySent:
                continue
            case .gone:
                throw PermanentFailure("invoice \(id) is not in the database")
            case .claimedElsewhere:
                throw RetryLater("the paid callback of invoice \(id) is being sent by another delivery")
            case .claimed(let row):
                guard let callback = row.callbackURL, row.invoice.status == .paid else { continue }
                let body = Array(try JSONEnvelope.encoder.encode(row.invoice))
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "User-Agent", value: "switchyard-webhooks/1")
                let timestamp = Int(Date().timeIntervalSince1970)
                headers.add(name: "X-Switchyard-Timestamp", value: String(timestamp))
                headers.add(name: "X-Switchyard-Signature", value: "sha256=" + signer.webhook(body: body, timestamp: timestamp))
                headers.add(name: "X-Switchyard-Event", value: "invoice.paid")
                headers.add(name: "X-Switchyard-Message-Id", value: id.uuidString.lowercased())
                if let requestID = envelope.requestID { headers.add(name: "X-Request-Id", value: requestID) }
                do {
                    try await poster.post(callback, headers: headers, body: body)
                } catch let refusal as OutboundRefusal {
                    throw PermanentFailure("callback \(OutboundTarget.redact(callback)) refused: \(refusal.reason)")
                } catch {
                    // Free the claim so the retry need not wait for it to lapse.
                    try? await database.withConnection { try InvoicesRepository.releaseClaim(.callback, of: id, on: $0) }
                    throw error
                }
                try await database.withConnection { try InvoicesRepository.recordSent(.callback, of: id, on: $0) }
            }
        }
    }
}
