import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Platform
import Postgres
import Redis

/// The invoice routes of ingest (the contract's "Invoices", openapi.yaml): the sender API (upload, list, read) and
/// the consumer API (list, read, pay, download). Every route needs its role; an invoice that
/// is not the caller's is a 404, never a 403, so ids of others' invoices reveal nothing.
public struct InvoicesIngest: WorkloadRoutes {
    let database: PostgresPool
    let redis: RedisClient
    let bus: any MessagePublisher
    let blobs: any BlobStore
    let configuration: InvoicesConfiguration
    let upload: InvoiceUpload
    let logger: Logger

    public init(runtime: ServiceRuntime) throws {
        let environment = runtime.configuration.environment
        self.init(configuration: try InvoicesConfiguration(environment: environment), database: runtime.database,
                      redis: runtime.redis, publisher: runtime.bus, blobs: try runtime.blobStore(),
                      outbound: try OutboundPolicy(environment: environment), logger: runtime.logger)
    }

    /// From its dependencies alone (in-process route tests pass an in-memory publisher and a
    /// ``MemoryBlobStore``).
    public init(configuration: InvoicesConfiguration, database: PostgresPool, redis: RedisClient, publisher: any MessagePublisher,
                blobs: any BlobStore, outbound: OutboundPolicy, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.redis = redis
        bus = publisher
        self.blobs = blobs
        upload = InvoiceUpload(blobs: blobs, maxBytes: configuration.maxBytes, outbound: outbound)
        self.logger = logger
    }

    /// The largest body an invoice route takes: the JSON form of a file of the maximum size.
    public var largestBodyBytes: Int { configuration.largestJSONBodyBytes }

    public func addRoutes(to router: Router<APIRequestContext>) {
        let sender = router.group("/api/sender/invoices").add(middleware: RequireRole<APIRequestContext>(.sender))
        sender.post { request, context in try await submit(request, sender: try context.callerID(), requestID: context.requestID) }
        sender.get { request, context in
            try await list(request, owner: .sender(try context.callerID()), counterpartName: "receiver_id")
        }
        sender.get(":id") { _, context in try await read(try context.invoiceID(), owner: .sender(try context.callerID())) }

        let consumer = router.group("/api/consumer/invoices").add(middleware: RequireRole<APIRequestContext>(.consumer))
        consumer.get { request, context in try await list(request, owner: .receiver(try context.callerID()), counterpartName: nil) }
        consumer.get("sender/:sender_id") { request, context in
            guard let text = context.parameters.get("sender_id"), let senderID = Int64(text), senderID > 0, text.utf8.count <= 18 else {
                throw APIError.badRequest("invalid_parameter", "sender_id must be a positive integer", field: "sender_id")
            }
            return try await list(request, owner: .receiver(try context.callerID()), counterpartName: nil, counterpart: senderID)
        }
        consumer.get(":id") { _, context in try await read(try context.invoiceID(), owner: .receiver(try context.callerID())) }
        consumer.post(":id/pay") { _, context in
            try await pay(try context.invoiceID(), receiver: try context.callerID(), requestID: context.requestID)
        }
        consumer.get(":id/file") { request, context in
            try await download(try context.invoiceID(), receiver: try context.callerID(), request: request)
        }
    }

    // MARK: - Sender

    /// The file first (durable in the blob store), then the confirmed hand-off to storage, then
    /// the 201: whatever crashes after the answer, the invoice reaches the database, and its
    /// row never names a missing file.
    func submit(_ request: Request, sender: Int64, requestID: String?) async throws -> Response {
        let id = UUID.random()
        let key = try Self.blobKey(of: id)
        let received = try await upload.receive(request, key: key)
        let invoice = Invoice(id: id, senderID: sender, receiverID: received.fields.receiverID, fileType: received.fileType,
                              size: received.blob.size, sha256: received.blob.sha256, isPayable: received.fields.isPayable,
                              status: .received, createdAt: Self.now(),
                              paidAt: nil, rejection: nil)
        let message = ReceivedInvoice(invoice: invoice, blobKey: key.value, notifyEmail: received.fields.notifyEmail,
                                      callbackURL: received.fields.callbackURL)
        // Readable at once by id, before storage has written the row (storage deletes it then).
        let copy = [UInt8](try JSONEnvelope.encoder.encode(invoice))
        do {
            try await redis.send("SET", Self.receivedCopyKey(id), copy, "EX", Self.receivedCopySeconds)
        } catch {
            // Nothing was handed on: the file has no row to come and goes now.
            await deleteUnqueued(key)
            throw error
        }
        do {
            try await bus.send(InvoicesQueues.store.envelope(message, id: id, requestID: requestID), to: InvoicesQueues.store)
        } catch {
            // Not queued, or not known to be: the client is told to try again. A publish that
            // may have reached the broker (sent, its confirm never seen) keeps the blob, since
            // its row would need the file; one that surely did not deletes it.
            _ = try? await redis.send("DEL", Self.receivedCopyKey(id))
            if !MessageBus.mayHaveQueued(afterFailure: error) { await deleteUnqueued(key) }
            throw error
        }
        return JSONEnvelope.response(bytes: JSONEnvelope.wrap(encoded: copy), status: .created)
    }

    /// `invoices/<first two hex digits>/<id>`: spread over 256 folders, so that concurrent
    /// uploads to the folder store do not all wait on one folder's lock to create and rename
    /// their files, and no folder grows to millions of entries. (The row keeps the key it was
    /// given: blobs stored under the flat `invoices/<id>` of before stay where they are.)
    static func blobKey(of id: UUID) throws -> BlobKey {
        let text = id.uuidString.lowercased()
        return try BlobKey("invoices/\(text.prefix(2))/\(text)")
    }

    /// Best effort: a blob this request stored but surely handed to no one. One that stays (the
    /// store down as well) is an unreferenced file, never a row without its file.
    func deleteUnqueued(_ key: BlobKey) async {
        do {
            try await blobs.delete(key)
        } catch {
            logger.warning("an uploaded file no invoice will reference could not be deleted",
                           metadata: ["key": "\(key.value)", "error": "\(error)"])
        }
    }

    /// Now, to the millisecond the API shows: the copy and the row then say the same.
    static func now() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    static func receivedCopyKey(_ id: UUID) -> String { "invoices:received:\(id.uuidString.lowercased())" }
    /// Storage writes the row in milliseconds; an hour covers a long broker or database outage.
    static let receivedCopySeconds = 3600

    // MARK: - Reads

    func read(_ id: UUID, owner: InvoicesRepository.Owner) async throws -> Response {
        if let row = try await database.withConnection({ try InvoicesRepository.invoice(id, of: owner, on: $0) }) {
            return try JSONEnvelope.response(row.invoice)
        }
        // Still on its way to storage: the copy ingest kept (the row is checked first, so a
        // copy storage is deleting right now is found as the row on the second read).
        if let bytes = try await redis.send("GET", Self.receivedCopyKey(id)).bytes,
           let invoice = try? JSONEnvelope.decoder.decode(Invoice.self, from: Data(bytes)), invoice.isVisible(to: owner) {
            return JSONEnvelope.response(bytes: JSONEnvelope.wrap(encoded: bytes))
        }
        if let row = try await database.withConnection({ try InvoicesRepository.invoice(id, of: owner, on: $0) }) {
            return try JSONEnvelope.response(row.invoice)
        }
        throw APIError.notFound("no invoice \(id.uuidString.lowercased())")
    }

    func list(_ request: Request, owner: InvoicesRepository.Owner, counterpartName: String?, counterpart: Int64? = nil) async throws -> Response {
        let parameters = request.uri.queryParameters
        func number(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(APIError) -> Int {
            guard let text = parameters.get(name) else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw APIError.badRequest("invalid_parameter", "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)", field: name)
            }
            return value
        }
        var status: InvoiceStatus?
        if let text = parameters.get("status") {
            guard let known = InvoiceStatus(rawValue: text) else {
                throw APIError.badRequest("invalid_parameter", "status must be one of \(InvoiceStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                                          field: "status")
            }
            status = known
        }
        var other = counterpart
        if let counterpartName, let text = parameters.get(counterpartName) {
            guard let value = Int64(text), value > 0, text.utf8.count <= 18 else {
                throw APIError.badRequest("invalid_parameter", "\(counterpartName) must be a positive integer", field: counterpartName)
            }
            other = value
        }
        let query = InvoicesRepository.ListQuery(owner: owner, status: status, counterpart: other,
                                                 limit: try number("limit", default: 10, range: 1...100),
                                                 offset: try number("offset", default: 0, range: 0...configuration.listMaxOffset))
        let countCap = configuration.listMaxOffset + 100
        let page = try await database.withConnection { try InvoicesRepository.list(query, countCap: countCap, on: $0) }
        return try JSONEnvelope.response(InvoicePage(items: page.items, limit: query.limit, offset: query.offset, total: page.total))
    }

    // MARK: - Consumer

    /// Exactly one of any number of concurrent calls wins (a conditional UPDATE). The sender's
    /// callback is queued after the commit; if this process dies in between, the relay in
    /// notification queues it (``InvoicesPaidRelay``).
    func pay(_ id: UUID, receiver: Int64, requestID: String?) async throws -> Response {
        let outcome = try await database.withConnection { try InvoicesRepository.pay(id, receiver: receiver, on: $0) }
        switch outcome {
        case .notFound:
            throw APIError.notFound("no invoice \(id.uuidString.lowercased())")
        case .alreadyPaid:
            throw APIError(.conflict, code: "already_paid", message: "this invoice is already paid")
        case .notPayable(let status):
            let why = status == .available ? "it is not payable" : "it is \(status.rawValue), not available"
            throw APIError(.conflict, code: "not_payable", message: "this invoice cannot be paid: \(why)")
        case .paid(let row):
            if row.callbackURL != nil {
                do {
                    try await bus.send(InvoicesQueues.paid.envelope(InvoiceReference(id: id), requestID: requestID), to: InvoicesQueues.paid)
                    try await database.withConnection { try InvoicesRepository.markCallbackQueued(id, on: $0) }
                } catch {
                    // Paid is paid: the answer stands, and the relay queues the callback later.
                    logger.warning("paid callback not queued now; the relay will", metadata: ["invoice": "\(id)", "error": "\(error)"])
                }
            }
            return try JSONEnvelope.response(row.invoice)
        }
    }

    /// Streams the file from the blob store with `Content-Type`, `Content-Length`, `ETag`,
    /// one `Range` (206, or 416) and `If-None-Match` (304). Only an available or paid invoice
    /// has a readable file (409 otherwise).
    func download(_ id: UUID, receiver: Int64, request: Request) async throws -> Response {
        guard let row = try await database.withConnection({ try InvoicesRepository.invoice(id, of: .receiver(receiver), on: $0) }) else {
            throw APIError.notFound("no invoice \(id.uuidString.lowercased())")
        }
        guard row.invoice.status == .available || row.invoice.status == .paid else {
            throw APIError(.conflict, code: "not_available", message: "the file is not available: the invoice is \(row.invoice.status.rawValue)")
        }
        let etag = "\"\(row.invoice.sha256)\""
        var headers: HTTPFields = [.eTag: etag, .acceptRanges: "bytes", .cacheControl: "private, max-age=0, must-revalidate"]
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == etag || tag == "W/\(etag)" || tag == "*"
        }) == true {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = row.invoice.fileType.rawValue
        let key = try BlobKey(row.blobKey)
        let size = row.invoice.size
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            let content = try await blobs.read(key)
            headers[.contentLength] = String(size)
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: content.chunks))
        case .part(let range):
            let content = try await blobs.read(key, range: range)
            headers[.contentLength] = String(range.count)
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            return Response(status: .partialContent, headers: headers, body: ResponseBody(asyncSequence: content.chunks))
        case .unsatisfiable:
            throw APIError(.rangeNotSatisfiable, code: "range_not_satisfiable", message: "the file is \(size) bytes long",
                           headers: [.contentRange: "bytes */\(size)"])
        }
    }
}

/// `{"items", "limit", "offset", "total"}` of the invoice lists.
struct InvoicePage: Encodable {
    var items: [Invoice]
    var limit: Int
    var offset: Int
    var total: Int
}

extension Invoice {
    func isVisible(to owner: InvoicesRepository.Owner) -> Bool {
        switch owner {
        case .sender(let id): senderID == id
        case .receiver(let id): receiverID == id
        }
    }
}

extension APIRequestContext {
    /// The caller's numeric id (senders and consumers have positive integer ids).
    func callerID() throws(APIError) -> Int64 {
        guard let principal, let id = Int64(principal.id) else { throw APIError.unauthorized("this route needs a sender or consumer") }
        return id
    }

    /// The `:id` of the path; an id that is not a UUID names no invoice (404).
    func invoiceID() throws(APIError) -> UUID {
        guard let text = parameters.get("id"), let id = UUID(uuidString: text) else { throw APIError.notFound("no such invoice") }
        return id
    }
}
