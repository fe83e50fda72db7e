import Foundation
import HTTPTypes
import Hummingbird
import Platform
import Postgres
import Redis

/// The SMS routes of ingest: submit, read, list, attach media, and the JSON metrics.
public struct SMSIngest: WorkloadRoutes {
    let database: PostgresPool
    /// List misses only (see ``list(_:)``).
    let lists: PostgresPool
    let bus: any MessagePublisher
    let configuration: SMSConfiguration
    let admission: SMSAdmission
    let cache: VersionedCache
    let media: SMSMedia
    let queues: QueueInspector
    let clients: ClientIdentity
    /// Judges a `callback_url` at submission (OUTBOUND_ALLOW_CIDRS, CALLBACK_ALLOWED_PORTS).
    let outbound: OutboundPolicy

    public init(runtime: ServiceRuntime) throws {
        self.init(configuration: try SMSConfiguration(environment: runtime.configuration.environment), database: runtime.database,
                  lists: nil, databaseURL: runtime.configuration.databaseURL, databasePoolWait: runtime.configuration.databasePoolWait,
                  redis: runtime.redis, publisher: runtime.bus, blobs: try runtime.blobStore(),
                  queues: QueueInspector(url: runtime.configuration.amqpURL),
                  clients: try ClientIdentity(environment: runtime.configuration.environment),
                  outbound: try OutboundPolicy(environment: runtime.configuration.environment))
    }

    /// From its dependencies alone: in-process route tests pass an in-memory publisher.
    /// List misses run on a pool of their own (`lists`, or one opened on `databaseURL` with the
    /// configured size and statement timeout).
    public init(configuration: SMSConfiguration, database: PostgresPool, lists: PostgresPool? = nil, databaseURL: String,
                databasePoolWait: Duration = .seconds(10), redis: RedisClient, publisher: any MessagePublisher,
                blobs: any BlobStore, queues: QueueInspector, clients: ClientIdentity, outbound: OutboundPolicy) {
        self.configuration = configuration
        self.database = database
        self.lists = lists ?? PostgresPool(url: databaseURL, size: configuration.listPoolSize, applicationName: "switchyard-ingest-lists",
                                           statementTimeout: configuration.listStatementTimeout, maxWait: databasePoolWait)
        bus = publisher
        // A pending duplicate slot must outlive the longest publish (see SMSAdmission).
        admission = SMSAdmission(redis: redis, configuration: configuration, pendingSlotCap: publisher.publishTimeout + .seconds(1))
        cache = SMSListCache.make(redis: redis)
        media = SMSMedia(database: database, blobs: blobs, cache: cache, maxBytes: configuration.mediaMaxBytes,
                         perMessage: configuration.mediaPerMessage, bytesPerMessage: configuration.mediaBytesPerMessage,
                         uploads: ClientRateLimiter(redis: redis, prefix: "sms:media-uploads", limit: configuration.mediaClientRateLimitCount,
                                                    window: configuration.mediaClientRateLimitWindow))
        self.queues = queues
        self.clients = clients
        self.outbound = outbound
    }

    /// The largest body an SMS route accepts: a media upload of the maximum size in its multipart wrapping.
    public var largestBodyBytes: Int { configuration.mediaMaxBytes + 64 * 1024 }

    public func addRoutes(to router: Router<APIRequestContext>) {
        router.post("/messages") { request, context in
            let client = clients.key(principal: context.principal, peer: context.remoteAddress, headers: request.headers)
            return try await submit(request, requestID: context.requestID, client: client)
        }
        router.get("/messages") { request, _ in try await list(request) }
        router.get("/messages/:id") { _, context in try await message(try messageID(context)) }
        router.post("/messages/:id/media") { request, context in
            let id = try messageID(context)
            guard try await find(id) != nil else { throw APIError.notFound("no message \(id.uuidString.lowercased())") }
            let client = clients.key(principal: context.principal, peer: context.remoteAddress, headers: request.headers)
            return try await media.attach(request, to: id, client: client)
        }
        router.get("/messages/:id/media") { _, context in
            let id = try messageID(context)
            guard let message = try await find(id) else { throw APIError.notFound("no message \(id.uuidString.lowercased())") }
            return JSONEnvelope.response(MediaList(items: message.media))
        }
        router.get("/media/:sha256") { request, context in
            try await media.download(context.parameters.get("sha256") ?? "", request: request, context: context)
        }
    }

    // MARK: - POST /messages

    /// `client` (``ClientIdentity``) is held to `SMS_CLIENT_RATE_LIMIT` before the sender is
    /// held to `SMS_RATE_LIMIT`; nil (no socket: an in-process call) only to the sender's.
    func submit(_ request: Request, requestID: String?, client: String?) async throws -> Response {
        var body = try await request.body.collect(upTo: 64 * 1024)
        let submission = try SMSSubmission.validate(body.readBytes(length: body.readableBytes) ?? [], outbound: outbound)
        // A duplicate of a message whose publish is not confirmed yet waits for it, this long at
        // most (a confirm normally takes milliseconds; a broker restart, seconds): then 503.
        let deadline = ContinuousClock.now + .milliseconds(min(admission.pendingSlotMilliseconds, Self.duplicateWaitMilliseconds) + 100)
        // Admitted again (as a new message) when the one it duplicated turns out never to have been queued.
        for _ in 1...3 {
            let accepted = AcceptedSMS(id: UUID.random(), from: submission.from, to: submission.to, message: submission.message,
                                       callbackURL: submission.callbackURL, receivedAt: Self.nowToTheMillisecond())
            // One encoding serves both the `received` copy kept in Redis and the 202's body.
            let received = SMSMessageView(received: accepted).jsonBytes
            switch try await admission.admit(accepted, client: client, view: received) {
            case .duplicate(let slot, let state):
                // Only a confirmed first message may be answered: a pending one may never exist.
                let outcome: SMSAdmission.SlotOutcome
                if slot.confirmed { outcome = .confirmed(slot.id) } else { outcome = try await admission.awaitSlot(of: accepted, until: deadline) }
                switch outcome {
                case .confirmed(let original):
                    let view = try await Self.duplicateView(of: original, find: find)
                    return JSONEnvelope.response(view, status: .ok, headers: rateLimitHeaders(state))
                case .empty: continue
                case .pending: throw Self.duplicatePending
                }
            case .limited(let state):
                var headers = rateLimitHeaders(state)
                headers[.retryAfter] = String(state.resetSeconds)
                let whose = state.scope == .client
                    ? "at most \(state.limit) messages per \(configuration.clientRateLimitWindow) from one client"
                    : "at most \(state.limit) messages per \(configuration.rateLimitWindow) from \(accepted.from)"
                throw APIError(.tooManyRequests, code: "rate_limited", message: "\(whose); retry in \(state.resetSeconds) s", headers: headers)
            case .accepted(let state):
                let envelope = SMSQueues.store.envelope(accepted, id: accepted.id, requestID: requestID)
                do {
                    // The 202 promises durability: it is sent only after the broker confirmed.
                    try await bus.send(envelope, to: SMSQueues.store)
                } catch {
                    // A message the broker may hold anyway (sent, confirm never seen) keeps its
                    // quota and holds its slot: releasing them would admit a resend as a second
                    // copy. Only one that surely is not queued gives them back.
                    if MessageBus.mayHaveQueued(afterFailure: error) {
                        try? await admission.holdInDoubt(accepted)
                    } else {
                        try? await admission.release(accepted, client: client)
                    }
                    throw APIError(.serviceUnavailable, code: "broker_unavailable", message: "the message could not be queued; retry",
                                   headers: [.retryAfter: "5"])
                }
                // The message is durable whether or not this succeeds; without it, duplicates
                // wait on the pending slot until it expires and are then admitted anew.
                try? await admission.confirm(accepted)
                return JSONEnvelope.response(bytes: JSONEnvelope.wrap(encoded: received), status: .accepted, headers: rateLimitHeaders(state))
            }
        }
        throw Self.duplicatePending
    }

    /// How long a duplicate of a pending message waits for its confirm before answering 503.
    static let duplicateWaitMilliseconds = 2_000

    static let duplicatePending = APIError(.serviceUnavailable, code: "duplicate_pending",
                                           message: "an identical message is still being queued; retry to learn its outcome",
                                           headers: [.retryAfter: "1"])

    /// The answer to a duplicate: the first message itself, never anything carrying another
    /// id. Between storage's commit and its deleting the `received` copy, a read can miss both
    /// (row checked first, copy second), so a miss is read once more; still nothing, or a
    /// failed read, is a 503.
    static func duplicateView(of original: UUID, find: (UUID) async throws -> SMSMessageView?) async throws(APIError) -> SMSMessageView {
        let unavailable = APIError(.serviceUnavailable, code: "duplicate_unavailable",
                                   message: "an identical message was accepted within the duplicate window but cannot be read just now; retry",
                                   headers: [.retryAfter: "1"])
        var found: SMSMessageView?
        do {
            found = try await find(original)
            if found == nil { found = try await find(original) }
        } catch {
            throw unavailable
        }
        guard var view = found, view.id == original else { throw unavailable }
        view.duplicate = true
        return view
    }

    /// Responses show milliseconds; PostgreSQL keeps microseconds. Starting from a whole
    /// millisecond keeps the 202's `received_at` and the stored one identical.
    static func nowToTheMillisecond() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    func rateLimitHeaders(_ state: SMSAdmission.RateLimitState) -> HTTPFields {
        [.rateLimitLimit: String(state.limit), .rateLimitRemaining: String(state.remaining), .rateLimitReset: String(state.resetSeconds)]
    }

    // MARK: - Reads

    func message(_ id: UUID) async throws -> Response {
        guard let view = try await find(id) else { throw APIError.notFound("no message \(id.uuidString.lowercased())") }
        return JSONEnvelope.response(view)
    }

    /// The stored row when storage has written it, else the `received` copy ingest left in Redis.
    func find(_ id: UUID) async throws -> SMSMessageView? {
        if let stored = try await database.withConnection({ try SMSRepository.message(id, on: $0) }) { return stored }
        return try await admission.pendingMessage(id)
    }

    /// A miss runs on ingest's list pool (`SMS_LIST_POOL_SIZE` connections, each statement cut
    /// at `SMS_LIST_STATEMENT_TIMEOUT`), so a flood of distinct pages waits for those
    /// connections, never for the ones single reads and media use, and a query cut by the
    /// timeout is a 503 with `Retry-After` (the database cannot serve it now), not a 500.
    func list(_ request: Request) async throws -> Response {
        let query = try Self.listQuery(request.uri.queryParameters, maxOffset: configuration.listMaxOffset)
        let (version, cached) = try await cache.lookup(query: query.cacheKey)
        if let cached { return JSONEnvelope.response(bytes: cached) }
        let countCap = Self.countCap(maxOffset: configuration.listMaxOffset)
        let page: (items: [SMSMessageView], total: Int)
        do {
            page = try await lists.withConnection { try SMSRepository.list(query, countCap: countCap, on: $0) }
        } catch let error as PostgresError where error.sqlState == "57014" {
            throw DependencyOutage(dependency: "database", detail: "a list query ran past SMS_LIST_STATEMENT_TIMEOUT: \(error)")
        }
        let bytes = JSONEnvelope.bytes(SMSPage(items: page.items, limit: query.limit, offset: query.offset, total: page.total))
        _ = try? await cache.store(bytes, query: query.cacheKey, version: version)
        return JSONEnvelope.response(bytes: bytes)
    }

    /// `total` counts at most every row a page can reach: the deepest offset plus the largest page.
    static func countCap(maxOffset: Int) -> Int { maxOffset + maxListLimit }
    static let maxListLimit = 100

    static func listQuery(_ parameters: Hummingbird.Parameters, maxOffset: Int) throws(APIError) -> SMSRepository.ListQuery {
        func number(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(APIError) -> Int {
            guard let text = parameters.get(name) else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw APIError.badRequest("invalid_parameter", "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))", field: name)
            }
            return value
        }
        func phone(_ name: String) throws(APIError) -> String? {
            guard let raw = parameters.get(name), !raw.isEmpty else { return nil }
            // An unencoded `+` arrives as a space.
            let text = raw.hasPrefix(" ") ? "+" + raw.dropFirst() : raw
            guard let number = NumberingPlan.canonicalize(text) else {
                throw APIError.badRequest("invalid_phone_number", "\(name) is not a valid E.164 number", field: name)
            }
            return number
        }
        var status: SMSStatus?
        if let text = parameters.get("status") {
            guard let known = SMSStatus(rawValue: text) else {
                throw APIError.badRequest("invalid_parameter", "status must be one of received, stored, processed", field: "status")
            }
            status = known
        }
        return SMSRepository.ListQuery(from: try phone("from"), to: try phone("to"), status: status,
                                       limit: try number("limit", default: 10, range: 1...maxListLimit),
                                       offset: try number("offset", default: 0, range: 0...maxOffset))
    }

    // MARK: - Metrics

    /// Seed 003's three figures, answered for real: totals kept by processing; the queue size is
    /// every accepted message not yet processed: those on `sms.store` (and its retry queues),
    /// from the broker, plus those stored and waiting for processing, from the rows.
    public func metricsJSON() async throws -> Response {
        let stats = try await database.withConnection { try SMSRepository.stats(on: $0) }
        let toStore = try await queues.depths(of: [SMSQueues.store.name] + SMSQueues.store.work.retryQueues).values.reduce(0, +)
        return try JSONEnvelope.response(SMSMetrics(totalMessagesProcessed: stats.processed, currentQueueSize: toStore + stats.storedWaiting,
                                                    averageProcessingTimeMs: (stats.averageMilliseconds * 10).rounded() / 10))
    }

    func messageID(_ context: some RequestContext) throws(APIError) -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw APIError.badRequest("invalid_id", "the message id must be a UUID", field: "id")
        }
        return id
    }
}

struct SMSPage: JSONWritable {
    let items: [SMSMessageView]
    let limit: Int
    let offset: Int
    let total: Int

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("items"); json.array(items)
            json.key("limit"); json.int(limit)
            json.key("offset"); json.int(offset)
            json.key("total"); json.int(total)
        }
    }
}

struct SMSMetrics: Encodable {
    let totalMessagesProcessed: Int
    let currentQueueSize: Int
    let averageProcessingTimeMs: Double

    enum CodingKeys: String, CodingKey {
        case totalMessagesProcessed = "total_messages_processed"
        case currentQueueSize = "current_queue_size"
        case averageProcessingTimeMs = "average_processing_time_ms"
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
}
