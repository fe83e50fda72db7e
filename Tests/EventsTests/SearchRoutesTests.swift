@testable import Events
import Foundation
import Hummingbird
import HummingbirdTesting
import Platform
import Postgres
import Redis
import TestSupport
import Testing

/// `GET /search` in-process (HummingbirdTesting's `.router`), on a schema and a cache prefix of
/// its own, through both paths an answer can take: the in-memory index, and PostgreSQL behind
/// the response cache (before the index has loaded, or with `SEARCH_INDEX=off`). The
/// end-to-end suite (EventsPipelineTests) keeps proving the route behind a real ingest.
@Suite("Events: /search in-process")
struct SearchRoutesTests {
    /// One app answering from the index, one from the database; the same events behind both.
    struct Apps {
        let schema = SearchIndexTests.Schema()
        let cachePrefix = "test:search-routes:\(UUID().uuidString)"
        let cache: VersionedCache
        let index: SearchIndex

        init() {
            cache = VersionedCache(redis: RedisClient(url: TestServers.redisURL), prefix: cachePrefix, ttlSeconds: 60,
                                   localFreshness: .milliseconds(100))
            index = SearchIndexTests.index(schema.database)
        }

        func router(indexed: Bool) -> Router<APIRequestContext> {
            let router = Router(context: APIRequestContext.self)
            router.add(middleware: ErrorEnvelopeMiddleware())
            EventsSearch(database: schema.database, cache: cache, index: indexed ? index : nil).addRoutes(to: router)
            return router
        }
    }

    struct Answer {
        let status: HTTPResponse.Status
        let etag: String?
        let body: String
    }

    static func get(_ router: Router<APIRequestContext>, _ query: String, ifNoneMatch: String? = nil) async throws -> Answer {
        var fields: HTTPFields = [:]
        if let ifNoneMatch { fields[.ifNoneMatch] = ifNoneMatch }
        let headers = fields
        return try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/search?" + query, method: .get, headers: headers) { response in
                Answer(status: response.status, etag: response.headers[.eTag], body: String(buffer: response.body))
            }
        }
    }

    /// The same window answers the same bytes and the same ETag whichever path answers it, so
    /// a client's `If-None-Match` from one replica (index loaded) gets its 304 from another
    /// (still loading); and a bound with a fraction is the same window as its whole second
    /// rounded inwards (one cache entry, not one per fraction: issue 12 item 3).
    @Test func bothPathsAnswerTheSameAndFractionsShareAWindow() async throws {
        let apps = Apps()
        try await apps.schema.create()
        do {
            try await SearchIndexTests.insert(400, prefix: "routes", into: apps.schema.database)
            try await apps.index.refresh()
            let indexed = apps.router(indexed: true)
            let fromDatabase = apps.router(indexed: false)
            let windows = ["", "starts_at=2021-01-02T00:00:00Z", "starts_at=2021-01-03T00:00:00Z&ends_at=2021-01-08T00:00:00Z",
                           "ends_at=2021-01-05T12:00:00Z"]
            for window in windows {
                let fromIndex = try await Self.get(indexed, window)
                let fromCache = try await Self.get(fromDatabase, window)
                #expect(fromIndex.status == .ok, "\(window): \(fromIndex.body)")
                #expect(fromIndex.body == fromCache.body, "\(window)")
                #expect(fromIndex.etag != nil)
                #expect(fromIndex.etag == fromCache.etag, "\(window)")
                let notModified = try await Self.get(fromDatabase, window, ifNoneMatch: fromIndex.etag)
                #expect(notModified.status == .notModified, "\(window)")
            }
            // ...00.5Z starts after ...00Z, so it is the window from ...01Z; an end of ...00.5Z
            // is the window up to ...00Z.
            for router in [indexed, fromDatabase] {
                let whole = try await Self.get(router, "starts_at=2021-01-02T00:00:01Z&ends_at=2021-01-06T00:00:00Z")
                let fractional = try await Self.get(router, "starts_at=2021-01-02T00:00:00.5Z&ends_at=2021-01-06T00:00:00.999Z")
                #expect(whole.status == .ok)
                #expect(fractional.etag == whole.etag)
                #expect(fractional.body == whole.body)
            }
            // What the fractions left in the response cache: one entry for that window, however
            // many fractions asked for it.
            for fraction in 1...20 {
                let answer = try await Self.get(fromDatabase, "starts_at=2021-01-02T00:00:00.\(fraction)Z&ends_at=2021-01-06T00:00:00Z")
                #expect(answer.status == .ok)
            }
            // (Answers reach Redis in the background: waited for, up to a few seconds.)
            let redis = RedisClient(url: TestServers.redisURL)
            var answerKeys: [String] = []
            let deadline = ContinuousClock.now + .seconds(5)
            repeat {
                let keys = try await redis.send("KEYS", "\(apps.cachePrefix):*").array?.compactMap(\.string) ?? []
                answerKeys = keys.filter { !$0.hasSuffix(":version") && !$0.hasSuffix(":bytes") }
                if answerKeys.count >= windows.count + 1 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline
            try await Task.sleep(for: .milliseconds(300))  // and nothing more arrives after
            answerKeys = (try await redis.send("KEYS", "\(apps.cachePrefix):*").array?.compactMap(\.string) ?? []).filter { !$0.hasSuffix(":version") && !$0.hasSuffix(":bytes") }
            #expect(answerKeys.count == windows.count + 1, "\(answerKeys.sorted())")
            _ = try await redis.send(["DEL", apps.cache.versionKey, "\(apps.cachePrefix):bytes"] + answerKeys)
        } catch {
            Issue.record(error)
        }
        await apps.schema.drop()
    }

    /// Bounds that are not dates the contract takes, or a window that ends before it starts:
    /// 400 in the envelope, on either path, before any query runs (the schema is never made).
    @Test(arguments: ["starts_at=yesterday", "starts_at=2021-06-30T21:00:00Zjunk", "starts_at=2021-06-31T00:00:00Z",
                      "starts_at=2021-06-30T25:00:00Z", "ends_at=2021-06-30T21:00:00%2B25:00",
                      "starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-01T00:00:00Z", "starts_at=" + String(repeating: "9", count: 5_000)])
    func badBoundsAre400sInTheEnvelope(query: String) async throws {
        let apps = Apps()
        for indexed in [true, false] {
            let answer = try await Self.get(apps.router(indexed: indexed), query)
            #expect(answer.status == .badRequest, "\(query.prefix(80)): \(answer.body.prefix(200))")
            let object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any]
            #expect(object?["data"] is NSNull, "\(query.prefix(80))")
            #expect(((object?["error"] as? [String: Any])?["code"] as? String)?.isEmpty == false)
        }
    }
}
