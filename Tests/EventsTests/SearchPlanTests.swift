@testable import Events
import Foundation
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Workloads

/// The plan PostgreSQL chooses for `/search`'s own SQL (``EventsRepository/searchQuery``) over a
/// history large enough that a bad plan is chosen when the query or the index allows one:
/// 200,000 events in a schema of the test's own, built by the bundled migrations. Asserts the
/// plan's shape and the pages it touched, never its timing, so a machine's speed cannot make
/// it pass or fail. Without the implied bound `starts_at <= $2` the first window below is a
/// parallel sequential scan of the whole table and a sort (issue 10).
@Suite("Events: /search query plans")
struct SearchPlanTests {
    static let logger = Logger(label: "test.events.plan")

    /// The worst windows: the peer benchmark's first 200-day window, which the old plan scanned
    /// the whole later history for; its last one; 200 days in the dense part of the history;
    /// and an upper bound alone.
    static let windows: [(starts: String?, ends: String, sparse: Bool)] = [
        ("2021-02-01T00:00:00Z", "2021-08-20T00:00:00Z", true),
        ("2022-09-23T00:00:00Z", "2023-04-11T00:00:00Z", true),
        ("2025-01-01T00:00:00Z", "2025-07-20T00:00:00Z", false),
        (nil, "2021-08-20T00:00:00Z", true),
    ]

    @Test func theWorstWindowsAreIndexScansBoundedAtBothEnds() async throws {
        let schema = "search_plan_\(UUID().uuidString.prefix(8).lowercased())"
        // One connection, so that the session's search_path applies to everything below,
        // the migrations included: they build the test's own `events` with its real index.
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)
        do {
            try await database.execute("CREATE SCHEMA \(schema)")
            try await database.execute("SET search_path TO \(schema)")
            try await Migrator.all().migrate(database, logger: Self.logger)
            try await Self.fill(database)
            for window in Self.windows {
                let starts = window.starts.flatMap(RFC3339.parse)
                let ends = RFC3339.parse(window.ends)
                let (sql, parameters) = EventsRepository.searchQuery(startsAt: starts, endsAt: ends)
                let plan = try await database.query("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)
                    .map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
                let label = "\(window.starts ?? "-") .. \(window.ends)\n\(plan)"
                #expect(!plan.contains("Seq Scan"), "\(label)")
                // An index scan of `events_search` in its order, or, when the visibility map is
                // behind (a long transaction elsewhere on the server keeps VACUUM from marking
                // the new rows all-visible), a bitmap scan of it and a sort: either way the
                // scan is bounded by the window at both ends, which is what this checks.
                #expect(["Index Only Scan using events_search on events", "Index Scan using events_search on events",
                         "Bitmap Index Scan on events_search"].contains { plan.contains($0) }, "\(label)")
                let condition = plan.split(separator: "\n").first { $0.contains("Index Cond:") }.map(String.init) ?? ""
                #expect(condition.contains("starts_at <="), "\(label)")
                if window.starts != nil { #expect(condition.contains("starts_at >="), "\(label)") }
                // A sparse stretch of the history costs a few pages whatever lies after it
                // (the sequential scan read all ~3,000 of the table); the dense window, its
                // own answer's (about 14,000 rows: 130 index pages, 270 heap pages).
                let pages = Self.pagesTouched(plan)
                #expect(pages <= (window.sparse ? 50 : 800), "\(pages) pages: \(label)")
            }
        } catch {
            _ = try? await database.execute("DROP SCHEMA \(schema) CASCADE")
            await database.close()
            throw error
        }
        try await database.execute("DROP SCHEMA \(schema) CASCADE")
        await database.close()
    }

    /// The history `make bench` builds, at a fifth of its size: a sparse calendar over the
    /// peer's window period (1,000 events from 2021-02-01 over 818 days), then a feed left to
    /// run for seven years from 2023-05 (199,000 events, 90% of them ever online, most lasting
    /// an hour or two, some days, a few up to two months). Vacuumed, so that index-only scans
    /// are what the planner can choose, as autovacuum keeps them (migration 0005).
    static func fill(_ database: PostgresPool) async throws {
        try await database.execute("""
            INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at,
                                min_price, max_price, zones, seen_at)
            SELECT md5('early' || g)::uuid, 'early' || g / 4, g::text, 'Early event ' || g, 'online', true,
                   s, s + (60 + g % 121) * interval '1 minute', 10 + g % 50, 60 + g % 50, '[]', now()
            FROM (SELECT g, timestamptz '2021-02-01 18:00:00+00' + (g * 818.0 * 86400 / 1000) * interval '1 second' AS s
                  FROM generate_series(0, 999) g) early
            """)
        try await database.execute("""
            INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at,
                                min_price, max_price, zones, seen_at)
            SELECT md5('hist' || g)::uuid, 'hist' || g / 8, g::text, 'Event ' || g,
                   CASE WHEN g % 10 = 0 THEN 'offline' ELSE 'online' END, g % 10 <> 0,
                   s, s + CASE WHEN g % 20 = 0 THEN (1 + g % 60) * interval '1 day'
                               WHEN g % 20 < 4 THEN (1 + g % 3) * interval '1 day'
                               ELSE (60 + g % 121) * interval '1 minute' END,
                   10 + g % 50, 60 + g % 50, '[]', now()
            FROM (SELECT g, timestamptz '2023-05-01 00:00:00+00' + (g * 2557.0 * 86400 / 199000) * interval '1 second' AS s
                  FROM generate_series(1, 199000) g) history
            """)
        try await database.execute("VACUUM ANALYZE events")
    }

    /// Shared buffers hit or read by the plan's top node (it counts its children's).
    static func pagesTouched(_ plan: String) -> Int {
        guard let line = plan.split(separator: "\n").first(where: { $0.contains("Buffers: shared") }) else { return 0 }
        var total = 0
        for part in line.split(separator: " ") where part.hasPrefix("hit=") || part.hasPrefix("read=") {
            total += Int(part.split(separator: "=")[1]) ?? 0
        }
        return total
    }
}
