@testable import Events
import Foundation
import Logging
import Platform
import Postgres
import Redis
import TestSupport
import Testing

/// storage's events handler on its own, against the real PostgreSQL (and a Redis that is not
/// there): what it commits, and what it does after.
@Suite("Events: storage handler")
struct EventsStorageTests {
    static let logger = Logger(label: "test.events.storage")

    func withDatabase<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        let database = PostgresPool(url: TestServers.databaseURL, size: 2)
        do {
            try await Migrator.bundled().migrate(database, logger: Self.logger)
            let result = try await body(database)
            await database.close()
            return result
        } catch {
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
            try await handler.handle([MessageEnvelope(type: "events.batch", requestID: nil, payload: batch)])
            let stored = try await database.query("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run])
            #expect(try stored[0].decode("n", as: Int.self) == 2)
            await unreachable.close()
        }
    }
}
