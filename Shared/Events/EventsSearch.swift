import Foundation
import HTTPTypes
import Hummingbird
import Platform
import Postgres

/// ingest's part of the events workload: `GET /search`, from PostgreSQL through the Redis
/// response cache, with an ETag so that an unchanged answer costs a 304. The provider is
/// never on this path: whatever it does, search answers from what was stored.
public struct EventsSearch: Sendable {
    let database: PostgresPool
    let cache: VersionedCache

    public init(runtime: ServiceRuntime) {
        database = runtime.database
        cache = SearchCache.make(redis: runtime.redis)
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/search") { request, _ in try await search(request) }
    }

    func search(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let startsAt = try Self.time(parameters.get("starts_at"), field: "starts_at")
        let endsAt = try Self.time(parameters.get("ends_at"), field: "ends_at")
        if let startsAt, let endsAt, startsAt > endsAt {
            throw APIError.badRequest("invalid_range", "starts_at must not be after ends_at", field: "starts_at")
        }
        let key = "\(startsAt.map { String($0.timeIntervalSince1970) } ?? "")|\(endsAt.map { String($0.timeIntervalSince1970) } ?? "")"
        let (version, cached) = try await cache.lookup(query: key)
        // The cache keeps "<etag>\n<body>", so a hit costs no hashing.
        let etag: String
        let body: [UInt8]
        if let cached, let newline = cached.firstIndex(of: UInt8(ascii: "\n")) {
            etag = String(decoding: cached[..<newline], as: UTF8.self)
            body = Array(cached[(newline + 1)...])
        } else {
            let events = try await database.withConnection { try EventsRepository.search(startsAt: startsAt, endsAt: endsAt, on: $0) }
            body = try JSONEnvelope.bytes(["events": events])
            etag = "\"\(SHA256Hex.of(body).prefix(32))\""
            try? await cache.store(Array(etag.utf8) + [UInt8(ascii: "\n")] + body, query: key, version: version)
        }
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return JSONEnvelope.response(bytes: body, headers: [.eTag: etag, .cacheControl: "no-cache"])
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
