@testable import Events
import Foundation
import Logging
import Platform
import Postgres
import Redis
import TestSupport
import Testing
import Workloads

/// ingest's in-memory search index against the database it copies: every answer byte for byte
/// the one the database query gives, changes picked up whatever order their transactions commit
/// in, and the memory budget kept. Each test works in a schema of its own (the pipeline suite
/// empties the shared events table when it sets up).
@Suite("Events: in-memory search index")
struct SearchIndexTests {
    static let logger = Logger(label: "test.events.index")

    /// A schema of the test's own, migrated, on one connection (its search_path holds for all).
    struct Schema {
        let name = "search_index_\(UUID().uuidString.prefix(8).lowercased())"
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)

        func create() async throws {
            try await database.execute("CREATE SCHEMA \(name)")
            try await database.execute("SET search_path TO \(name)")
            try await Migrator.all().migrate(database, logger: SearchIndexTests.logger)
        }

        /// Another connection on the same schema (a second writer).
        func connect() async throws -> PostgresPool {
            let other = PostgresPool(url: TestServers.databaseURL, size: 1)
            try await other.execute("SET search_path TO \(name)")
            return other
        }

        func drop() async {
            _ = try? await database.execute("DROP SCHEMA \(name) CASCADE")
            await database.close()
        }
    }

    static func index(_ database: PostgresPool, maxBytes: Int = 1 << 30) -> SearchIndex {
        SearchIndex(database: database, redis: RedisClient(url: TestServers.redisURL), versionKey: "test:unused:version",
                    maxBytes: maxBytes, logger: logger)
    }

    static func insert(_ count: Int, prefix: String, into database: PostgresPool) async throws {
        // Starts on whole hours, so that many events share a start (ties broken by id); some
        // never online, some without prices, titles that need escaping.
        try await database.execute("""
            INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at, min_price, max_price, seen_at)
            SELECT gen_random_uuid(), $1, g::text,
                   CASE WHEN g % 7 = 0 THEN 'Quote " and \\ back' || chr(10) || 'line ' || g ELSE 'Event ' || g END,
                   'online', g % 5 <> 0,
                   timestamptz '2021-01-01' + (g % 500) * interval '1 hour',
                   timestamptz '2021-01-01' + (g % 500) * interval '1 hour' + (g % 97) * interval '1 hour',
                   CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 50) + 0.5 END,
                   CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 50) + 75.25 END, now()
            FROM generate_series(1, $2::int) g
            """, [prefix, count])
    }

    /// The index's answer for a window, as bytes.
    /// An answer's bytes and its ETag: both paths must give the same of each.
    struct Answer: Equatable {
        let body: [UInt8]
        let etag: String
    }

    static func fromIndex(_ index: SearchIndex, _ starts: Date?, _ ends: Date?, maxEvents: Int = 100_000) throws -> Answer? {
        let snapshot = try #require(index.snapshot)
        guard let matches = snapshot.window(startsAt: starts.map { Int64($0.timeIntervalSince1970) * 1_000_000 },
                                            endsAt: ends.map { Int64($0.timeIntervalSince1970) * 1_000_000 }, maxEvents: maxEvents) else { return nil }
        // What decides whether the window is answered off the cooperative pool counts at least
        // every event the window holds.
        #expect(snapshot.candidateCount(startsAt: starts.map { Int64($0.timeIntervalSince1970) * 1_000_000 },
                                        endsAt: ends.map { Int64($0.timeIntervalSince1970) * 1_000_000 }) >= matches.count)
        var body = snapshot.envelope(of: matches)
        return Answer(body: body.readBytes(length: body.readableBytes) ?? [], etag: snapshot.etag(of: matches))
    }

    @Test func answersExactlyWhatTheDatabaseAnswers() async throws {
        let schema = Schema()
        try await schema.create()
        let index = Self.index(schema.database)
        do {
            try await Self.insert(3_000, prefix: "same", into: schema.database)
            try await index.refresh()
            let base = Date(timeIntervalSince1970: 1_609_459_200)  // 2021-01-01T00:00:00Z
            var windows: [(Date?, Date?)] = [(nil, nil), (nil, base.addingTimeInterval(50 * 3600)), (base.addingTimeInterval(480 * 3600), nil)]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<150 {
                let start = Int.random(in: -10...600, using: &generator)
                let length = Int.random(in: 0...200, using: &generator)
                windows.append((base.addingTimeInterval(Double(start) * 3600), base.addingTimeInterval(Double(start + length) * 3600)))
            }
            for (starts, ends) in windows {
                let expected = try await schema.database.withConnection { connection in
                    let answer = try EventsRepository.searchEnvelope(startsAt: starts, endsAt: ends, maxEvents: 100_000, on: connection)
                    return Answer(body: answer.body, etag: answer.etag)
                }
                let actual = try Self.fromIndex(index, starts, ends)
                #expect(actual == expected, "window \(String(describing: starts)) .. \(String(describing: ends))")
            }
            // The cap: one event more than the answer may carry is refused, as by the database.
            let all = try #require(try Self.fromIndex(index, nil, nil)).body
            let count = String(decoding: all, as: UTF8.self).components(separatedBy: "\"id\"").count - 1
            #expect(count == 2_400)
            #expect(try Self.fromIndex(index, nil, nil, maxEvents: count) != nil)
            #expect(try Self.fromIndex(index, nil, nil, maxEvents: count - 1) == nil)
        } catch {
            Issue.record(error)
        }
        await schema.drop()
    }

    /// The watermark is the oldest transaction still running, not the newest change seen: a
    /// batch that wrote first and commits last is picked up by the refresh after its commit.
    @Test func aTransactionThatCommitsLateIsNotMissed() async throws {
        let schema = Schema()
        try await schema.create()
        let index = Self.index(schema.database)
        let late = try await schema.connect()
        let early = try await schema.connect()
        do {
            try await Self.insert(10, prefix: "base", into: schema.database)
            try await index.refresh()
            #expect(index.snapshot?.events.count == 8)
            // The late writer takes its transaction id first and commits last.
            let lateCommitted = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let lateWriter = Task {
                try await late.withTransaction { connection in
                    _ = try connection.execute("UPDATE events SET title = 'written first, committed last' WHERE plan_id = '1'")
                    lateCommitted.continuation.yield()
                    // Held open until the refresh below has run.
                    let semaphore = DispatchSemaphore(value: 0)
                    Task { for await _ in release.stream { semaphore.signal(); return } }
                    semaphore.wait()
                }
            }
            for await _ in lateCommitted.stream { break }
            _ = try await early.execute("UPDATE events SET title = 'written second, committed first' WHERE plan_id = '2'")
            try await index.refresh()
            var titles = try Self.titles(index)
            #expect(titles.contains("written second, committed first"))
            #expect(!titles.contains("written first, committed last"))
            release.continuation.yield()
            try await lateWriter.value
            try await index.refresh()
            titles = try Self.titles(index)
            #expect(titles.contains("written first, committed last"), "the late commit was missed: \(titles)")
            #expect(index.snapshot?.events.count == 8)
            // A plan that goes online for the first time appears; nothing is duplicated.
            _ = try await early.execute("UPDATE events SET ever_online = true WHERE plan_id = '5'")
            try await index.refresh()
            #expect(index.snapshot?.events.count == 9)
        } catch {
            Issue.record(error)
        }
        await late.close()
        await early.close()
        await schema.drop()
    }

    static func titles(_ index: SearchIndex) throws -> String {
        String(decoding: try #require(try fromIndex(index, nil, nil)).body, as: UTF8.self)
    }

    /// The workload never deletes events, but an operator (or the benchmark) may: the index then
    /// reloads rather than keep answering removed rows.
    @Test func removedEventsLeaveTheIndex() async throws {
        let schema = Schema()
        try await schema.create()
        let index = Self.index(schema.database)
        do {
            try await Self.insert(20, prefix: "gone", into: schema.database)
            try await index.refresh()
            #expect(index.snapshot?.events.count == 16)
            try await schema.database.execute("DELETE FROM events WHERE plan_id IN ('1', '2', '3')")
            try await index.refresh()
            #expect(index.snapshot?.events.count == 13)
            try await schema.database.execute("TRUNCATE events")
            try await Self.insert(5, prefix: "new", into: schema.database)
            try await index.refresh()
            #expect(index.snapshot?.events.count == 4)
        } catch {
            Issue.record(error)
        }
        await schema.drop()
    }

    /// What only a statement written by hand can do is seen too: a row inserted with an old
    /// `changed_xid` of its own (a restore), and a searchable row made unsearchable or given
    /// another id (migration 0009).
    @Test func handWrittenChangesReachTheIndex() async throws {
        let schema = Schema()
        try await schema.create()
        let index = Self.index(schema.database)
        do {
            try await Self.insert(10, prefix: "hand", into: schema.database)
            try await index.refresh()
            #expect(index.snapshot?.events.count == 8)
            try await schema.database.execute("""
                INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at, seen_at, changed_xid)
                VALUES (gen_random_uuid(), 'hand', 'restored', 'Restored by hand', 'online', true,
                        timestamptz '2021-01-01', timestamptz '2021-01-02', now(), '1'::xid8)
                """)
            try await index.refresh()
            #expect(index.snapshot?.events.count == 9)
            #expect(try Self.titles(index).contains("Restored by hand"))
            try await schema.database.execute("UPDATE events SET ever_online = false WHERE plan_id = '1'")
            try await schema.database.execute("UPDATE events SET id = gen_random_uuid() WHERE plan_id = '2'")
            try await index.refresh()
            #expect(index.snapshot?.events.count == 8)
            #expect(!(try Self.titles(index)).contains("Event 1\""))
            // The index and the database agree, byte for byte and on the ETag.
            let expected = try await schema.database.withConnection { connection in
                let answer = try EventsRepository.searchEnvelope(startsAt: nil, endsAt: nil, maxEvents: 100_000, on: connection)
                return Answer(body: answer.body, etag: answer.etag)
            }
            #expect(try Self.fromIndex(index, nil, nil) == expected)
        } catch {
            Issue.record(error)
        }
        await schema.drop()
    }

    /// Events that would need more memory than the budget leave the index off: `/search` then
    /// reads the database (``SearchIndex/snapshot`` is nil), rather than ingest growing.
    @Test func overItsBudgetTheIndexStandsAside() async throws {
        let schema = Schema()
        try await schema.create()
        let index = Self.index(schema.database, maxBytes: 100 * 1024)
        do {
            try await Self.insert(2_000, prefix: "big", into: schema.database)
            try await index.refresh()
            #expect(index.snapshot == nil)
        } catch {
            Issue.record(error)
        }
        await schema.drop()
    }
}
