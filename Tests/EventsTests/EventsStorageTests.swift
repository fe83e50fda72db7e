@testable import Events
import Foundation
import Logging
import Platform
import Postgres
import Redis
import TestSupport
import Testing
import Workloads

/// storage's events handler on its own, against the real PostgreSQL (and a Redis that is not
/// there): what it commits, and what it does after.
@Suite("Events: storage handler")
struct EventsStorageTests {
    static let logger = Logger(label: "test.events.storage")

    func withDatabase<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        let database = PostgresPool(url: TestServers.databaseURL, size: 2)
        do {
            try await Migrator.all().migrate(database, logger: Self.logger)
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    /// A one-connection pool whose session works in a fresh schema, migrated, dropped afterwards.
    func withOwnSchema<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        let schema = "events_storage_\(UUID().uuidString.prefix(8).lowercased())"
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)
        try await database.execute("CREATE SCHEMA \(schema)")
        try await database.execute("SET search_path TO \(schema)")
        do {
            try await Migrator.all().migrate(database, logger: Self.logger)
            let result = try await body(database)
            try await database.execute("DROP SCHEMA \(schema) CASCADE")
            await database.close()
            return result
        } catch {
            _ = try? await database.execute("DROP SCHEMA \(schema) CASCADE")
            await database.close()
            throw error
        }
    }

    static func plan(_ basePlanID: String, _ planID: String, title: String = "Storage test", price: Double = 10) -> FeedPlan {
        FeedPlan(basePlanID: basePlanID, planID: planID, title: title, sellMode: "offline",
                 startsAt: Date(timeIntervalSince1970: 2_000_000_000), endsAt: Date(timeIntervalSince1970: 2_000_003_600),
                 sellFrom: nil, sellTo: nil, soldOut: false,
                 zones: [FeedZone(zoneID: "1", name: "Z", capacity: 1, price: price, numbered: false)])
    }

    /// The rows are committed before the cache is invalidated, so a Redis that cannot be
    /// reached must not fail the batch (a retry would find nothing to change and leave the
    /// cache as stale): the handler logs it and returns.
    @Test func anUnreachableCacheDoesNotFailACommittedBatch() async throws {
        try await withDatabase { database in
            let unreachable = RedisClient(url: "redis://127.0.0.1:1/0")
            let handler = EventsStorageHandler(database: database, cache: SearchCache.make(redis: unreachable), logger: Self.logger)
            let run = TestServers.unique("no-cache")
            let batch = FeedBatch(fetchedAt: Date(), plans: [Self.plan(run, "1"), Self.plan(run, "2")])
            try await handler.handle([EventsQueues.store.envelope(batch, requestID: nil)])
            let stored = try await database.query("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run])
            #expect(try stored[0].decode("n", as: Int.self) == 2)
            await unreachable.close()
        }
    }

    /// The latest values seen win, also over a batch that comes late: document 1 stores a price,
    /// document 3 confirms it (the row is unchanged, so it is not rewritten), then a batch of
    /// document 2, delayed by retries, arrives with another price. Its price must not win (before,
    /// its fetch time was newer than the row's and it overwrote the confirmed value), but a plan
    /// only it names is still stored, and a new lease holder, whose clock may be behind, is
    /// judged by its own documents only.
    @Test func aLateBatchOfAnOlderDocumentCannotOverwriteWhatANewerOneConfirmed() async throws {
        // A schema of its own: the pipeline suite empties the shared `events` table when it sets up.
        try await withOwnSchema { database in
            let unreachable = RedisClient(url: "redis://127.0.0.1:1/0")
            let handler = EventsStorageHandler(database: database, cache: SearchCache.make(redis: unreachable), logger: Self.logger)
            let run = TestServers.unique("late")
            let start = Date()
            func send(_ seconds: TimeInterval, price: Double, also: [FeedPlan] = [], token: Int = 1) async throws {
                let batch = FeedBatch(fetchedAt: start.addingTimeInterval(seconds), plans: [Self.plan(run, "1", price: price)] + also,
                                      provider: run, fencingToken: token)
                try await handler.handle([EventsQueues.store.envelope(batch, requestID: nil)])
            }
            func price() async throws -> Double? {
                try await database.query("SELECT max_price::float8 AS p FROM events WHERE base_plan_id = $1 AND plan_id = '1'", [run]).first?
                    .decodeIfPresent("p", as: Double.self)
            }
            func state() async throws -> String {  // for a failure's message
                let rows = try await database.query("SELECT plan_id, max_price::float8 AS p, seen_at::text AS s FROM events WHERE base_plan_id = $1 ORDER BY plan_id", [run])
                let fence = try await database.query("SELECT token, latest_fetched_at::text AS f, latest_token FROM events_feed_fence WHERE provider = $1", [run])
                return "rows \(try rows.map { "\(try $0.decode("plan_id", as: String.self))=\(try $0.decodeIfPresent("p", as: Double.self) ?? -1)@\(try $0.decode("s", as: String.self))" }), "
                    + "fence \(try fence.map { "\(try $0.decode("token", as: Int.self)) \(try $0.decodeIfPresent("f", as: String.self) ?? "-")" }), start \(start)"
            }
            try await send(0, price: 10)
            try await send(20, price: 10)
            try await send(10, price: 55, also: [Self.plan(run, "late-only")])  // document 2, late
            let afterLate = try await price()
            let snapshot = try await state()
            #expect(afterLate == 10, "\(snapshot)")
            let lateOnly = try await database.query("SELECT 1 FROM events WHERE base_plan_id = $1 AND plan_id = 'late-only'", [run])
            #expect(lateOnly.count == 1, "a plan named only by the late document was lost")
            try await send(30, price: 12)  // a newer document still applies
            #expect(try await price() == 12)
            // Two batches of one document (one fetch time) both apply.
            let both = FeedBatch(fetchedAt: start.addingTimeInterval(40), plans: [Self.plan(run, "2", price: 1)], provider: run, fencingToken: 1)
            try await handler.handle([EventsQueues.store.envelope(both, requestID: nil)])
            let second = FeedBatch(fetchedAt: start.addingTimeInterval(40), plans: [Self.plan(run, "3", price: 1)], provider: run, fencingToken: 1)
            try await handler.handle([EventsQueues.store.envelope(second, requestID: nil)])
            let count = try await database.query("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run])[0].decode("n", as: Int.self)
            let stateNow = try await state()
            #expect(count == 4, "\(stateNow)")
            // A new lease holder with a clock a minute behind: its document still applies.
            try await send(-60, price: 13, token: 2)
            #expect(try await price() == 13)
            await unreachable.close()
        }
    }
}
