import Foundation
import Logging
import Platform
import Postgres

/// storage's part of the events workload: upserts every plan by (base plan id, plan id) with
/// the latest values, keeps "was ever online" sticky, never deletes, then invalidates the
/// search cache if a row changed (a batch that changes nothing leaves every cached answer good).
public struct EventsStorageHandler: MessageHandler {
    public typealias Payload = FeedBatch
    public let queue = EventsQueues.store
    public var batchSize: Int { 10 }
    let database: PostgresPool
    let cache: VersionedCache
    let logger: Logger

    public init(runtime: ServiceRuntime) {
        var logger = runtime.logger
        logger[metadataKey: "queue"] = "\(EventsQueues.store.name)"
        self.init(database: runtime.database, cache: SearchCache.make(redis: runtime.redis), logger: logger)
    }

    init(database: PostgresPool, cache: VersionedCache, logger: Logger) {
        self.database = database
        self.cache = cache
        self.logger = logger
    }

    public func handle(_ batch: [MessageEnvelope<FeedBatch>]) async throws {
        // One row per key and statement (PostgreSQL refuses to update a row twice in one
        // INSERT ... ON CONFLICT): the newest document wins, and within it the last occurrence.
        var latest: [String: (plan: FeedPlan, seenAt: Date)] = [:]
        for envelope in batch.sorted(by: { $0.payload.fetchedAt < $1.payload.fetchedAt }) {
            for plan in envelope.payload.plans {
                // The poller skips these when it parses; a batch published before it did (or by
                // something else) must still not fail as a whole for one of them.
                if let reason = plan.unstorableReason {
                    logger.warning("skipped a plan the table would refuse", metadata: [
                        "base_plan_id": "\(plan.basePlanID.prefix(100))", "plan_id": "\(plan.planID.prefix(100))", "reason": "\(reason)"])
                    continue
                }
                latest["\(plan.basePlanID)\u{0}\(plan.planID)"] = (plan, envelope.payload.fetchedAt)
            }
        }
        let rows = Array(latest.values)
        let changed = try await database.withConnection { try EventsRepository.upsert(rows, on: $0) }
        guard changed > 0 else { return }
        // Best effort: the commit is what matters, and retrying the batch would not undo it. If
        // Redis is unreachable now, cached answers stay up to the cache's TTL (300 s) old.
        do {
            try await cache.invalidate()
        } catch {
            logger.warning("stored feed rows but could not invalidate the search cache", metadata: ["error": "\(error)", "changed": "\(changed)"])
        }
    }
}
