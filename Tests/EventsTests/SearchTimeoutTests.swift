@testable import Events
import Foundation
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Workloads

/// A search that runs past its statement timeout gives its connection back and is an outage
/// to the client (503 with `Retry-After`, through ``DependencyOutage``), not a 500.
@Suite("Events: /search statement timeout")
struct SearchTimeoutTests {
    static let logger = Logger(label: "test.events.timeout")

    @Test func aSearchPastItsTimeoutIsADatabaseOutage() async throws {
        let schema = "search_timeout_\(UUID().uuidString.prefix(8).lowercased())"
        // One connection each, so that the session's search_path holds for what runs on it.
        let holder = PostgresPool(url: TestServers.databaseURL, size: 1)
        let search = PostgresPool(url: TestServers.databaseURL, size: 1, statementTimeout: .milliseconds(200))
        defer { Task { await holder.close(); await search.close() } }
        try await holder.execute("CREATE SCHEMA \(schema)")
        try await holder.execute("SET search_path TO \(schema)")
        try await search.execute("SET search_path TO \(schema)")
        try await Migrator.all().migrate(holder, logger: Self.logger)
        // A transaction that holds the table for 3 s: the search waits for its lock, as it
        // would behind anything slow, until its own timeout cuts it.
        let holding = Task {
            try await holder.withTransaction { connection in
                try connection.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                try connection.execute("SELECT pg_sleep(3)")
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        var outage: DependencyOutage?
        do {
            _ = try await EventsSearch.answer(startsAt: nil, endsAt: Date(), maxEvents: 10_000, database: search)
        } catch {
            outage = DependencyOutage.of(error)
        }
        let waited = ContinuousClock.now - started
        try await holding.value
        #expect(outage?.dependency == "database")
        #expect(waited < .seconds(2), "given back at its timeout, not when the lock was released: \(waited)")
        try await holder.execute("DROP SCHEMA \(schema) CASCADE")
    }

    /// A window holding more events than one answer may carry is a 422, read with one row more
    /// than the cap: no window makes ingest hold the whole history (an open window over a
    /// million events took 1.3 GB before).
    @Test func aWindowWiderThanTheCapIs422() async throws {
        let schema = "search_cap_\(UUID().uuidString.prefix(8).lowercased())"
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)
        defer { Task { await database.close() } }
        try await database.execute("CREATE SCHEMA \(schema)")
        try await database.execute("SET search_path TO \(schema)")
        try await Migrator.all().migrate(database, logger: Self.logger)
        try await database.execute("""
            INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at, min_price, max_price, zones, seen_at)
            SELECT gen_random_uuid(), 'cap', g::text, 'Event ' || g, 'online', true, timestamptz '2021-01-01' + g * interval '1 hour',
                   timestamptz '2021-01-01 00:30' + g * interval '1 hour', 10, 20, '[]', now()
            FROM generate_series(1, 50) g
            """)
        let fits = try await EventsSearch.answer(startsAt: nil, endsAt: nil, maxEvents: 50, database: database)
        #expect(String(decoding: fits, as: UTF8.self).components(separatedBy: "\"id\"").count - 1 == 50)
        await #expect {
            try await EventsSearch.answer(startsAt: nil, endsAt: nil, maxEvents: 49, database: database)
        } throws: { ($0 as? APIError)?.code == "window_too_large" && ($0 as? APIError)?.status.code == 422 }
        try await database.execute("DROP SCHEMA \(schema) CASCADE")
    }
}
