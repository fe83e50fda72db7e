import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix
import Platform
import Postgres
import ServiceLifecycle

/// ingest's part of the events workload: `GET /search`, with an ETag so that an unchanged
/// answer costs a 304. The provider is never on this path: whatever it does, search answers
/// from what was stored.
///
/// Answers come from ``SearchIndex``, every searchable event held in memory and kept current
/// from the database, so that a window no one asked before costs no more than one asked a
/// thousand times (`SEARCH_INDEX=off` turns it off). Until the index has loaded, or when it
/// would outgrow `SEARCH_INDEX_MAX_MB`, answers come from PostgreSQL through the Redis
/// response cache: a miss runs one query on a pool of its own (`SEARCH_POOL_SIZE`
/// connections, each statement cut at `SEARCH_STATEMENT_TIMEOUT`, then 503 with
/// `Retry-After`), once per window per process (``SingleFlight``).
public struct EventsSearch: WorkloadRoutes {
    let database: PostgresPool
    let cache: VersionedCache
    let flights = SingleFlight<[UInt8]>()
    /// Nil when `SEARCH_INDEX=off`.
    public let index: SearchIndex?
    /// The most events one answer carries (`SEARCH_MAX_EVENTS`); a wider window is a 422.
    let maxEvents: Int

    /// Answers of more events than this are written on a thread of NIO's pool: a 200,000-event
    /// answer takes milliseconds to copy, which must not hold a thread of the cooperative pool.
    static let largeAnswer = 2_000

    public init(runtime: ServiceRuntime) throws {
        let environment = runtime.configuration.environment
        let size = try environment.int("SEARCH_POOL_SIZE", default: 4, in: 1...64)
        let timeout = try environment.duration("SEARCH_STATEMENT_TIMEOUT", default: .seconds(2))
        let shared = try environment.oneOf("SEARCH_SHARED_CACHE", default: "on", allowed: ["on", "off"])
        let indexed = try environment.oneOf("SEARCH_INDEX", default: "memory", allowed: ["memory", "off"])
        let indexMegabytes = try environment.int("SEARCH_INDEX_MAX_MB", default: 1_024, in: 1...1_048_576)
        maxEvents = try environment.int("SEARCH_MAX_EVENTS", default: 200_000, in: 1...5_000_000)
        database = PostgresPool(url: runtime.configuration.databaseURL, size: size, applicationName: "switchyard-ingest-search",
                                statementTimeout: timeout, maxWait: runtime.configuration.databasePoolWait)
        cache = SearchCache.make(redis: runtime.redis, sharesAnswers: shared == "on")
        index = indexed == "off" ? nil : SearchIndex(databaseURL: runtime.configuration.databaseURL, redis: runtime.redis,
                                                     versionKey: cache.versionKey, maxBytes: indexMegabytes * 1_048_576,
                                                     logger: runtime.logger)
    }

    /// From its parts (in-process route tests: a schema and a cache prefix of their own).
    init(database: PostgresPool, cache: VersionedCache, index: SearchIndex?, maxEvents: Int = 200_000) {
        self.database = database
        self.cache = cache
        self.index = index
        self.maxEvents = maxEvents
    }

    /// What runs beside the routes: the index's loading and refreshing.
    public var services: [any Service] { index.map { [$0] } ?? [] }

    public func addRoutes(to router: Router<APIRequestContext>) {
        router.get("/search") { request, _ in try await search(request) }
    }

    func search(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let startsAt = try Self.time(parameters.get("starts_at"), field: "starts_at")
        let endsAt = try Self.time(parameters.get("ends_at"), field: "ends_at")
        if let startsAt, let endsAt, startsAt > endsAt {
            throw APIError.badRequest("invalid_range", "starts_at must not be after ends_at", field: "starts_at")
        }
        // Event times are whole seconds (the provider's format has no fraction), so a bound is
        // the same bound rounded inwards: `...00.5Z` and `...01Z` are one window and one
        // cache entry, not two.
        let from = startsAt.map { Int64($0.timeIntervalSince1970.rounded(.up)) }
        let to = endsAt.map { Int64($0.timeIntervalSince1970.rounded(.down)) }
        if let snapshot = index?.snapshot {
            return try await answer(from: snapshot, from: from, to: to, request: request)
        }
        return try await answerFromDatabase(from: from, to: to, request: request)
    }

    /// From the in-memory index: no database, no Redis. A window that spans more than
    /// `largeAnswer` events takes milliseconds to scan, hash and write, so all of that runs on
    /// the thread pool, never on one of the cooperative pool's threads (two on this machine),
    /// which every other request needs; a narrow one (nearly all) is answered in place.
    func answer(from snapshot: SearchIndexSnapshot, from: Int64?, to: Int64?, request: Request) async throws -> Response {
        let startsAt = from.map { $0 * 1_000_000 }
        let endsAt = to.map { $0 * 1_000_000 }
        let wide = snapshot.candidateCount(startsAt: startsAt, endsAt: endsAt) > Self.largeAnswer
        let find: @Sendable () -> (matches: [Int], etag: String)? = { [maxEvents] in
            guard let matches = snapshot.window(startsAt: startsAt, endsAt: endsAt, maxEvents: maxEvents) else { return nil }
            return (matches, snapshot.etag(of: matches))
        }
        guard let (matches, etag) = wide ? try await NIOThreadPool.singleton.runIfActive(find) : find() else {
            throw Self.windowTooLarge(maxEvents)
        }
        if let notModified = Self.notModified(request, etag: etag) { return notModified }
        let body = wide ? try await NIOThreadPool.singleton.runIfActive { snapshot.envelope(of: matches) } : snapshot.envelope(of: matches)
        return Self.ok(body, etag: etag)
    }

    /// From PostgreSQL through the response cache (kept as "<etag>\n<body>", so a hit costs no hashing).
    func answerFromDatabase(from: Int64?, to: Int64?, request: Request) async throws -> Response {
        let startsAt = from.map { Date(timeIntervalSince1970: Double($0)) }
        let endsAt = to.map { Date(timeIntervalSince1970: Double($0)) }
        let key = "\(from.map(String.init) ?? "")|\(to.map(String.init) ?? "")"
        let (version, cached) = try await cache.lookup(query: key)
        let entry: [UInt8]
        if let cached {
            entry = cached
        } else {
            entry = try await flights.run("\(version)|\(key)") { [database, cache, maxEvents] in
                let entry = try await Self.answer(startsAt: startsAt, endsAt: endsAt, maxEvents: maxEvents, database: database)
                cache.storeLocally(entry, query: key, version: version)
                // Shared with the other processes without making this answer wait for Redis.
                if cache.sharesAnswers { Task { _ = try? await cache.store(entry, query: key, version: version) } }
                return entry
            }.value
        }
        guard let newline = entry.firstIndex(of: UInt8(ascii: "\n")) else { throw APIError(.internalServerError, code: "internal_error", message: "a cached answer has no ETag") }
        let etag = String(decoding: entry[..<newline], as: UTF8.self)
        if let notModified = Self.notModified(request, etag: etag) { return notModified }
        // Straight from the cached entry into the response's buffer: one copy of a large answer.
        return Self.ok(ByteBuffer(bytes: entry[(newline + 1)...]), etag: etag)
    }

    static func notModified(_ request: Request, etag: String) -> Response? {
        guard let match = request.headers[.ifNoneMatch],
              match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) else { return nil }
        return Response(status: .notModified, headers: [.eTag: etag])
    }

    static func ok(_ body: ByteBuffer, etag: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .eTag: etag, .cacheControl: "no-cache"],
                 body: .init(byteBuffer: body))
    }

    static func windowTooLarge(_ maxEvents: Int) -> APIError {
        APIError(.unprocessableContent, code: "window_too_large",
                 message: "more than \(maxEvents) events match; narrow the window (starts_at, ends_at)")
    }

    /// "<etag>\n<envelope>" for a window, from the database: query, encoding and hashing all on
    /// the pool's thread. A statement cut by the search timeout is an outage of the database
    /// as far as the client is concerned (503, come back later), not a defect (500).
    static func answer(startsAt: Date?, endsAt: Date?, maxEvents: Int, database: PostgresPool) async throws -> [UInt8] {
        do {
            return try await database.withConnection { connection in
                let answer = try EventsRepository.searchEnvelope(startsAt: startsAt, endsAt: endsAt, maxEvents: maxEvents, on: connection)
                return Array("\(answer.etag)\n".utf8) + answer.body
            }
        } catch let tooBroad as EventsRepository.SearchTooBroad {
            throw windowTooLarge(tooBroad.maxEvents)
        } catch let error as PostgresError where error.sqlState == "57014" {
            throw DependencyOutage(dependency: "database", detail: "a search ran past SEARCH_STATEMENT_TIMEOUT: \(error)")
        }
    }

    /// An RFC 3339 date-time; without an offset it is UTC. Calendar-checked.
    static func time(_ text: String?, field: String) throws(APIError) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        let invalid = APIError.badRequest("invalid_datetime", "\(field) must be a date-time like 2021-06-30T21:00:00Z", field: field)
        // A `+` offset sent unencoded arrives as a space.
        let normalized = text.count > 19 ? String(text.prefix(19)) + text.dropFirst(19).replacingOccurrences(of: " ", with: "+") : text
        guard normalized.count >= 19, let base = ProviderTime.parse(String(normalized.prefix(19))) else { throw invalid }
        var rest = Substring(normalized.dropFirst(19))
        var fraction = 0.0
        if rest.first == "." {
            let digits = rest.dropFirst().prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Double("0." + digits) else { throw invalid }
            fraction = value
            rest = rest.dropFirst(1 + digits.count)
        }
        var offset = 0
        switch rest.first {
        case nil: break
        case "Z" where rest.count == 1, "z" where rest.count == 1: break
        case "+", "-":
            let sign = rest.first == "-" ? -1 : 1
            let parts = rest.dropFirst().split(separator: ":")
            guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), parts[0].count == 2, parts[1].count == 2,
                  hours < 24, minutes < 60 else { throw invalid }
            offset = sign * (hours * 3600 + minutes * 60)
        default:
            throw invalid
        }
        return base.addingTimeInterval(fraction - Double(offset))
    }
}
