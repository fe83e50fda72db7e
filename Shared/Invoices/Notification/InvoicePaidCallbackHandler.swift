import Foundation
import Platform
import Postgres

/// notification's part: POSTs the paid invoice to the sender's `callback_url`, signed as SMS
/// callbacks are (the platform's ``SignedWebhook``, event `invoice.paid`), through the outbound
/// policy. Once:
/// claimed in the row before the post, recorded after a 2xx (see ``InvoiceEmailHandler``).
public struct InvoicePaidCallbackHandler: MessageHandler {
    public typealias Payload = InvoiceReference
    public let queue = InvoicesQueues.paid
    let database: PostgresPool
    let webhook: SignedWebhook
    static let claimLease: Duration = .seconds(120)

    public init(database: PostgresPool, webhook: SignedWebhook) {
        self.database = database
        self.webhook = webhook
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
                do {
                    try await webhook.post(body, to: callback, messageID: id, event: "invoice.paid", requestID: envelope.requestID)
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
