import Foundation
import Logging
import Metrics
import Platform
import Postgres

/// storage's part of the events workload: upserts every plan by (base plan id, plan id) with
/// the latest values, keeps "was ever online" sticky, never deletes, then invalidates the
/// search cache if a row changed (a batch that changes nothing leaves every cached answer good).
///
/// Batches are fenced: in the upsert's transaction, each provider's fence is raised to the
/// highest lease token in hand, and a batch whose token is lower than its provider's fence is
/// refused (acked, counted and logged, never written): its poller lost the lease to a newer one.
/// A batch of a document older than the newest its lease holder has applied (delayed by
/// retries) only adds plans never stored and marks plans online: the latest values seen win,
/// even where the newer document left a row unchanged.
public struct EventsStorageHandler: MessageHandler {
    public typealias Payload = FeedBatch
    public let queue = EventsQueues.store
    public var batchSize: Int { 10 }
    let database: PostgresPool
    let cache: VersionedCache
    let logger: Logger
    let fenced = Counter(label: "switchyard_feed_batches_fenced_total")

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
        let (changed, refused) = try await database.withConnection { connection in
            try connection.transaction { connection in try self.write(batch, on: connection) }
        }
        if !refused.isEmpty {
            fenced.increment(by: refused.count)
            for envelope in refused {
                logger.warning("refused a feed batch of a poller that lost its lease", metadata: [
                    "message_id": "\(envelope.id)", "provider": "\(envelope.payload.provider ?? "-")",
                    "fencing_token": "\(envelope.payload.fencingToken ?? 0)", "fetched_at": "\(envelope.payload.fetchedAt)",
                    "plans": "\(envelope.payload.plans.count)"])
            }
        }
        guard changed > 0 else { return }
        // Best effort: the commit is what matters, and retrying the batch would not undo it. If
        // Redis is unreachable now, cached answers stay up to the cache's TTL (300 s) old.
        do {
            try await cache.invalidate()
        } catch {
            logger.warning("stored feed rows but could not invalidate the search cache", metadata: ["error": "\(error)", "changed": "\(changed)"])
        }
    }

    /// Fences, then upserts what passed, in the caller's transaction. Returns how many rows
    /// were inserted or changed, and the batches refused.
    func write(_ batch: [MessageEnvelope<FeedBatch>], on connection: PostgresConnection) throws
        -> (changed: Int, refused: [MessageEnvelope<FeedBatch>]) {
        var newest: [String: Int] = [:]
        for envelope in batch {
            guard let provider = envelope.payload.provider, let token = envelope.payload.fencingToken else { continue }
            newest[provider] = max(newest[provider] ?? token, token)
        }
        var fences: [String: Int] = [:]
        for (provider, token) in newest.sorted(by: { $0.key < $1.key }) {  // one lock order in every transaction
            fences[provider] = try EventsRepository.raiseFence(provider: provider, to: token, on: connection)
        }
        var current: [MessageEnvelope<FeedBatch>] = []
        var refused: [MessageEnvelope<FeedBatch>] = []
        for envelope in batch {
            if let provider = envelope.payload.provider, let token = envelope.payload.fencingToken, let fence = fences[provider],
               token < fence {
                refused.append(envelope)
            } else {
                current.append(envelope)  // including batches without a token (pollers from before fencing)
            }
        }
        // Then by document age, per provider: the newest fetch among these batches raises the
        // provider's mark (kept per lease holder), and a batch older than the mark is late.
        var newestDocument: [String: Date] = [:]
        for envelope in current {
            guard let provider = envelope.payload.provider, fences[provider] != nil else { continue }
            newestDocument[provider] = max(newestDocument[provider] ?? envelope.payload.fetchedAt, envelope.payload.fetchedAt)
        }
        var marks: [String: Date] = [:]
        for (provider, fetchedAt) in newestDocument.sorted(by: { $0.key < $1.key }) {
            marks[provider] = try EventsRepository.raiseLatestDocument(provider: provider, to: fetchedAt, token: fences[provider]!, on: connection)
        }
        var accepted: [MessageEnvelope<FeedBatch>] = []
        var unfenced: [MessageEnvelope<FeedBatch>] = []
        var late: [MessageEnvelope<FeedBatch>] = []
        for envelope in current {
            // The mark comes back from PostgreSQL rounded; documents of one holder are fetched
            // at least a poll interval (a second or more) apart, so a quarter second is plenty.
            if let provider = envelope.payload.provider, let mark = marks[provider],
               envelope.payload.fetchedAt.timeIntervalSince(mark) < -0.25 {
                late.append(envelope)
            } else if let provider = envelope.payload.provider, marks[provider] != nil {
                accepted.append(envelope)
            } else {
                unfenced.append(envelope)
            }
        }
        let changed = try EventsRepository.upsert(newestValues(of: accepted), as: .current, on: connection)
            + EventsRepository.upsert(newestValues(of: unfenced), as: .unfenced, on: connection)
            + EventsRepository.upsert(newestValues(of: late), as: .late, on: connection)
        return (changed, refused)
    }

    /// One row per key (PostgreSQL refuses to update a row twice in one INSERT ... ON
    /// CONFLICT): the newest document wins, and within it the last occurrence.
    func newestValues(of batches: [MessageEnvelope<FeedBatch>]) -> [(plan: FeedPlan, seenAt: Date)] {
        var latest: [String: (plan: FeedPlan, seenAt: Date)] = [:]
        for envelope in batches.sorted(by: { $0.payload.fetchedAt < $1.payload.fetchedAt }) {
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
        return Array(latest.values)
    }
}
