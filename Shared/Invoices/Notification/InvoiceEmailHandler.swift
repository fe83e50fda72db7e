import Foundation
import Logging
import Mail
import Platform
import Postgres

/// notification's part: emails the receiver (`notify_email`) that an invoice is available, once.
///
/// Once: the delivery is claimed in the row for a few minutes before sending (a redelivered or
/// duplicated message finds it claimed or sent and sends nothing), and recorded as sent after
/// the mail server accepted it. A crash between the server's acceptance and the record may at
/// worst send it again after the claim lapses (README). A mail server that is down is an
/// outage (waited out); one that refuses the address for good dead-letters the message.
public struct InvoiceEmailHandler: MessageHandler {
    public typealias Payload = InvoiceReference
    public let queue = InvoicesQueues.email
    let database: PostgresPool
    let mail: SMTPClient
    let from: MailAddress
    let logger: Logger
    static let claimLease: Duration = .seconds(300)

    public init(database: PostgresPool, mail: SMTPClient, from: MailAddress, logger: Logger) {
        self.database = database
        self.mail = mail
        self.from = from
        self.logger = logger
    }

    public func handle(_ batch: [MessageEnvelope<InvoiceReference>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            let claim = try await database.withConnection {
                try InvoicesRepository.claim(.email, of: id, lease: Self.claimLease, on: $0)
            }
            switch claim {
            case .alreadySent:
                continue
            case .gone:
                throw PermanentFailure("invoice \(id) is not in the database")
            case .claimedElsewhere:
                // Another delivery is sending it now; if that one dies, this retry finds the claim lapsed.
                throw RetryLater("the email of invoice \(id) is being sent by another delivery")
            case .claimed(let row):
                guard let address = row.notifyEmail else { continue }
                let message = MailMessage(from: from, to: [try MailAddress(address)], subject: Self.subject(row.invoice),
                                          text: Self.text(row.invoice), messageID: "<invoice-\(id.uuidString.lowercased())@switchyard>")
                do {
                    try await mail.send(message)
                } catch {
                    try? await database.withConnection { try InvoicesRepository.releaseClaim(.email, of: id, on: $0) }
                    throw error
                }
                try await database.withConnection { try InvoicesRepository.recordSent(.email, of: id, on: $0) }
                logger.info("invoice email sent", metadata: ["invoice": "\(id)"])
            }
        }
    }

    static func subject(_ invoice: Invoice) -> String {
        "Invoice from sender \(invoice.senderID) is available"
    }

    static func text(_ invoice: Invoice) -> String {
        let id = invoice.id.uuidString.lowercased()
        return """
            A new invoice is available to you.

            Invoice:   \(id)
            From:      sender \(invoice.senderID)
            File:      \(invoice.fileType.rawValue), \(invoice.size) bytes
            SHA-256:   \(invoice.sha256)
            Payable:   \(invoice.isPayable ? "yes" : "no")
            Received:  \(RFC3339.format(invoice.createdAt))

            Read it:      GET /api/consumer/invoices/\(id)
            Download it:  GET /api/consumer/invoices/\(id)/file
            \(invoice.isPayable ? "Pay it:       POST /api/consumer/invoices/\(id)/pay\n" : "")
            """
    }
}

