import Foundation
import Platform
import Postgres

/// storage's part of the events workload: upserts every plan by (base plan id, plan id) with
/// the latest values, keeps "was ever online" sticky, never deletes, then invalidates the
/// search cache.
public struct EventsStorageHandler: MessageHandler {
    public typealias Payload = FeedBatch
    public let queue = EventsQueues.store
    public var batchSize: Int { 10 }
    let database: PostgresPool
    let cache: VersionedCache

    public init(runtime: ServiceRuntime) {
        database = runtime.database
        cache = SearchCache.make(redis: runtime.redis)
    }

    public func handle(_ batch: [MessageEnvelope<FeedBatch>]) async throws {
        // One row per key and statement (PostgreSQL refuses to update a row twice in one
        // INSERT ... ON CONFLICT): the newest document wins, and within it the last occurrence.
        var latest: [String: (plan: FeedPlan, seenAt: Date)] = [:]
        for envelope in batch.sorted(by: { $0.payload.fetchedAt < $1.payload.fetchedAt }) {
            for plan in envelope.payload.plans {
                latest["\(plan.basePlanID)\u{0}\(plan.planID)"] = (plan, envelope.payload.fetchedAt)
            }
        }
        let rows = Array(latest.values)
        try await database.withConnection { try EventsRepository.upsert(rows, on: $0) }
        try await cache.invalidate()
    }
}
