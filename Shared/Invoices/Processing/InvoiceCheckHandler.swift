import DocumentChecks
import Foundation
import Logging
import Platform
import Postgres

/// processing's part: checks each stored invoice's file with a real parser (qpdf for PDF,
/// libspng for PNG, through ``DocumentCheck``), records `available` or `rejected` with the
/// reason, and queues the receiver's email when there is a `notify_email`.
///
/// The file is copied from the blob store into a temporary file first (the parsers read files;
/// a blob may be in S3), streamed, and removed afterwards whatever happens. A redelivered check
/// finds the invoice no longer `stored`, changes nothing, and queues the email again if it was
/// not sent: notification sends it once.
public struct InvoiceCheckHandler: MessageHandler {
    public typealias Payload = InvoiceReference
    public let queue = InvoicesQueues.check
    let database: PostgresPool
    let blobs: any BlobStore
    let bus: any MessagePublisher
    let scratch: URL
    let logger: Logger

    public init(database: PostgresPool, blobs: any BlobStore, bus: any MessagePublisher, scratch: URL, logger: Logger) {
        self.database = database
        self.blobs = blobs
        self.bus = bus
        self.scratch = scratch
        self.logger = logger
    }

    public func handle(_ batch: [MessageEnvelope<InvoiceReference>]) async throws {
        for envelope in batch {
            let id = envelope.payload.id
            guard var row = try await database.withConnection({ try InvoicesRepository.row(id, on: $0) }) else {
                throw PermanentFailure("invoice \(id) is not in the database")
            }
            if row.invoice.status == .stored {
                let kind: DocumentKind = row.invoice.fileType == .pdf ? .pdf : .png
                var rejection: String?
                var report: DocumentReport?
                do {
                    report = try await inspect(try BlobKey(row.blobKey), as: kind)
                } catch let rejected as DocumentRejected {
                    rejection = rejected.reason
                }
                let (pages, width, height) = (report?.pages, report?.width, report?.height)
                guard let updated = try await database.withConnection({ [rejection] connection in
                    try InvoicesRepository.recordCheck(id, rejection: rejection, pages: pages, width: width, height: height, on: connection)
                }) else { throw PermanentFailure("invoice \(id) disappeared during its check") }
                row = updated
                logger.info("invoice checked", metadata: ["invoice": "\(id)", "status": "\(row.invoice.status.rawValue)"])
            }
            if row.invoice.status != .stored, row.invoice.status != .rejected, row.notifyEmail != nil {
                try await bus.send(InvoicesQueues.email.envelope(InvoiceReference(id: id), id: envelope.id, requestID: envelope.requestID),
                                   to: InvoicesQueues.email)
            }
        }
    }

    /// Copies the blob into a private temporary file and runs the parser on it.
    private func inspect(_ key: BlobKey, as kind: DocumentKind) async throws -> DocumentReport {
        let file = scratch.appendingPathComponent("check-\(UUID.random().uuidString.lowercased()).\(kind.rawValue)")
        try await ScratchFile.write(try await blobs.read(key).chunks, to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await DocumentCheck.inspect(file: file.path, as: kind)
    }
}
