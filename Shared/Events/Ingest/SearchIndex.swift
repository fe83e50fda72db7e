import Logging
import Metrics
import Postgres
import Redis
import ServiceLifecycle
import Synchronization

/// ingest's copy of every searchable event, in memory and in answer order, so that `/search`
/// answers any window, asked before or not, without PostgreSQL: a binary search on the start,
/// then the events' JSON, written once when they were loaded, copied into the answer.
///
/// Why: a window no one asked before cost a query (planned each time, rows written out as
/// text and parsed back), about 0.9 ms of CPU between ingest and PostgreSQL; on two cores that
/// capped distinct windows at about 2,000 a second, a fifth of the bare route (issue 10).
///
/// Kept current from the database, never from the feed: at start it reads every searchable
/// event (by pages), then only the rows written since it last looked (each row records the
/// transaction that wrote it, `events.changed_xid`), whenever storage bumps the search cache's
/// version in Redis (polled every 100 ms) and at least every second (a bump lost to a Redis
/// outage). While PostgreSQL is down it keeps answering what was stored, as the response cache
/// did. Until the first load completes, or when the events would take more memory than
/// `maxBytes`, ``snapshot`` is nil and `/search` reads the database as before.
public final class SearchIndex: Service, Sendable {
    private enum State {
        case loading
        case ready(SearchIndexSnapshot)
        /// Too large for its memory budget: `/search` reads the database; the index tries a
        /// full load again every minute (events may have been removed).
        case overBudget
    }

    private let state = Mutex<State>(.loading)
    private let database: PostgresPool
    private let redis: RedisClient
    private let versionKey: String
    private let maxBytes: Int
    private let logger: Logger

    static let pageSize = 10_000
    static let versionPollInterval: Duration = .milliseconds(100)
    static let recheckInterval: Duration = .seconds(1)
    static let overBudgetRetryInterval: Duration = .seconds(60)

    convenience init(databaseURL: String, redis: RedisClient, versionKey: String, maxBytes: Int, logger: Logger) {
        // A connection of its own: a refresh never waits behind searches or the API's reads.
        self.init(database: PostgresPool(url: databaseURL, size: 1, applicationName: "switchyard-ingest-search-index",
                                         statementTimeout: .seconds(30)),
                  redis: redis, versionKey: versionKey, maxBytes: maxBytes, logger: logger)
    }

    /// `database`: one connection (what a refresh reads must come from one session).
    init(database: PostgresPool, redis: RedisClient, versionKey: String, maxBytes: Int, logger: Logger) {
        self.database = database
        self.redis = redis
        self.versionKey = versionKey
        self.maxBytes = maxBytes
        self.logger = logger
    }

    /// The events as of the last refresh, or nil while `/search` must use the database.
    var snapshot: SearchIndexSnapshot? {
        state.withLock { state in
            if case .ready(let snapshot) = state { return snapshot }
            return nil
        }
    }

    public func run() async {
        await cancelWhenGracefulShutdown { await self.keepCurrent() }
        await database.close()
    }

    private func keepCurrent() async {
        var refreshedFor: String?? = .none
        var lastRefresh: ContinuousClock.Instant?
        var failures = 0
        while !Task.isCancelled {
            if case .overBudget = state.withLock({ $0 }) {
                try? await Task.sleep(for: Self.overBudgetRetryInterval)
                if Task.isCancelled { return }
            }
            // The version first: a commit bumping it while this refresh reads makes the next
            // poll see a version not refreshed for, and refresh again.
            let version = try? await redis.send("GET", versionKey).string
            let due = lastRefresh.map { ContinuousClock.now - $0 >= Self.recheckInterval } ?? true
            if due || refreshedFor != .some(version) {
                do {
                    try await refresh()
                    refreshedFor = .some(version)
                    lastRefresh = .now
                    if failures > 0 { logger.info("search index: refreshed again after \(failures) failures") }
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 1 || failures % 60 == 0 {
                        logger.warning("search index: could not refresh; answering from the last refresh",
                                       metadata: ["error": "\(error)", "failures": "\(failures)"])
                    }
                    try? await Task.sleep(for: .milliseconds(min(5_000, 250 * failures)))
                    continue
                }
            }
            try? await Task.sleep(for: Self.versionPollInterval)
        }
    }

    /// Reads what changed since the snapshot's watermark and swaps in the merged snapshot. The
    /// reading, parsing and merging run on the index's own connection thread, never on the
    /// cooperative pool.
    func refresh() async throws {
        let current = snapshot
        let started = ContinuousClock.now
        let next: SearchIndexSnapshot
        let fromScratch: Bool
        do {
            (next, fromScratch) = try await database.withConnection { [maxBytes] connection in
                // In this order: a removal or a write that commits after a step is seen by
                // the next refresh, never lost between two.
                let generation = try EventsRepository.removalGeneration(on: connection)
                let watermark = try EventsRepository.oldestRunningTransaction(on: connection)
                let base = current.flatMap { $0.generation == generation ? $0 : nil } ?? .empty(generation: generation)
                var changed: [IndexedEvent] = []
                var changedBytes = 0
                var after: String?
                while true {
                    let rows = try EventsRepository.searchableEvents(writtenSince: base.watermark, after: after, limit: Self.pageSize,
                                                                     on: connection)
                    for row in rows {
                        let event = try IndexedEvent(row: row)
                        changedBytes += event.footprint
                        changed.append(event)
                    }
                    // Stops a load that cannot fit before it holds it all: the merge keeps every
                    // changed event, so past the budget it is over for sure. The exact check,
                    // with the old values the merge drops, follows the merge.
                    if changedBytes > maxBytes { throw OverBudget(bytes: changedBytes) }
                    guard rows.count == Self.pageSize, let last = rows.last?[0] else { break }
                    after = last
                }
                let merged = base.merging(changed, watermark: watermark)
                if merged.bytes > maxBytes { throw OverBudget(bytes: merged.bytes) }
                return (merged, base.watermark == 0)
            }
        } catch let overBudget as OverBudget {
            let wasOver = state.withLock { state in
                defer { state = .overBudget }
                if case .overBudget = state { return true }
                return false
            }
            if wasOver { return }
            logger.error("search index: the searchable events need more than SEARCH_INDEX_MAX_MB; /search reads the database instead",
                         metadata: ["bytes_at_least": "\(overBudget.bytes)", "max_bytes": "\(maxBytes)"])
            return
        }
        state.withLock { $0 = .ready(next) }
        Self.eventsGauge.record(next.events.count)
        Self.bytesGauge.record(next.bytes)
        if fromScratch {
            logger.info("search index loaded", metadata: [
                "events": "\(next.events.count)", "megabytes": "\(next.bytes / 1_048_576)",
                "seconds": "\((ContinuousClock.now - started).components.seconds)",
            ])
        }
    }

    static let eventsGauge = Gauge(label: "switchyard_search_index_events")
    static let bytesGauge = Gauge(label: "switchyard_search_index_bytes")

    private struct OverBudget: Error {
        let bytes: Int
    }
}
