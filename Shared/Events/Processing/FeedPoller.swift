import AsyncHTTPClient
import Foundation
import Logging
import NIOPosix
import Platform
import Redis
import ServiceLifecycle
import Synchronization

/// processing's part of the events workload: polls the provider every `PROVIDER_POLL_SECONDS`
/// and hands what it parsed to storage in batches.
///
/// However many processing replicas run, one polls: the one holding a Redis lease (see
/// ``ProviderLease``: taken or extended each round, renewed every third of its TTL while a
/// poll works, expiring after two rounds, at least 5 s, if its holder dies). A poll that finds
/// its lease lost stops publishing, and every batch carries the lease's fencing token, so
/// storage refuses what a replica that lost the lease still got out. A document is parsed twice
/// from its temporary file: once to prove it is whole and well-formed, then again to publish
/// its plans in batches, so a truncated or garbage document never reaches storage and memory
/// stays flat whatever the document's size. A document byte for byte the same as the last one
/// stored (its SHA-256, remembered in Redis next to the ETag once all its batches were
/// confirmed) is not parsed or published again: most providers send no ETag.
public final class FeedPoller: Service, Sendable {
    let configuration: ProviderConfiguration
    let fetcher: FeedFetcher
    let redis: RedisClient
    let bus: MessageBus
    let logger: Logger
    let health = ProviderHealth()
    let lease: ProviderLease
    let failuresInARow = Atomic<Int>(0)
    static let batchSize = 500

    public convenience init(runtime: ServiceRuntime, client: HTTPClient = .shared) throws {
        self.init(configuration: try ProviderConfiguration(environment: runtime.configuration.environment),
                  redis: runtime.redis, bus: runtime.bus, logger: runtime.logger, client: client)
    }

    init(configuration: ProviderConfiguration, redis: RedisClient, bus: MessageBus, logger: Logger, client: HTTPClient = .shared) {
        self.configuration = configuration
        fetcher = FeedFetcher(configuration: configuration, client: client)
        self.redis = redis
        self.bus = bus
        var logger = logger
        logger[metadataKey: "provider"] = "\(configuration.url)"
        self.logger = logger
        provider = "\(SHA256Hex.of(Array(configuration.url.utf8)).prefix(16))"
        lease = ProviderLease(redis: redis, keyPrefix: "events:provider:\(provider)",
                              ttl: max(configuration.pollInterval * 2, .seconds(5)), logger: logger)
    }

    /// The provider's name in Redis keys and in fenced batches: a hash of its URL, so pollers
    /// of different providers never compete (and the URL, which may hold a secret, stays out).
    let provider: String
    var keyPrefix: String { "events:provider:\(provider)" }

    public func run() async throws {
        logger.info("polling every \(configuration.pollInterval)")
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await self.lease.whileHeld { hold in await self.pollOnce(hold) }
                } catch {
                    self.logger.warning("could not take the provider lease", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.configuration.pollInterval)
            }
        }
    }

    /// KEYS: lease, token counter, sha256, etag. ARGV: instance, token, sha256, etag ('' for none).
    /// Remembers what was stored only if the lease is still held with that token: a poller that
    /// lost it must not make the holder skip a document whose batches storage refused.
    static let remember = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
        redis.call('SET', KEYS[3], ARGV[3])
        if ARGV[4] == '' then redis.call('DEL', KEYS[4]) else redis.call('SET', KEYS[4], ARGV[4]) end
        return 1
        """)

    func pollOnce(_ hold: LeaseHold) async {
        do {
            let remembered = try await redis.pipeline([["GET", "\(keyPrefix):etag"], ["GET", "\(keyPrefix):sha256"]])
            let etag = remembered[0].string
            let fetchedAt = Date()
            switch try await fetcher.fetch(etag: etag) {
            case .notModified:
                health.notModified.increment()
            case .document(let file, let newETag, let digest) where digest == remembered[1].string:
                // The same bytes as the last document stored (a provider without ETags, or one
                // whose ETag changes with nothing else): nothing to parse, publish or store.
                await Self.remove(file)
                health.unchanged.increment()
                if let newETag, newETag != etag { try await redis.send("SET", "\(keyPrefix):etag", newETag) }
                logger.debug("feed unchanged", metadata: ["sha256": "\(digest)"])
            case .document(let file, let newETag, let digest):
                let summary: FeedParser.Summary
                do {
                    summary = try await publish(file, fetchedAt: fetchedAt, hold: hold)
                    await Self.remove(file)
                } catch {
                    await Self.remove(file)
                    throw error
                }
                health.parsed.increment(by: summary.parsed)
                health.skipped.increment(by: summary.skipped)
                health.fetches.increment()
                // Only now is every batch of this document confirmed by the broker: remembering
                // its hash (and ETag) earlier could skip a document that was never all handed on.
                _ = try await redis.evaluate(Self.remember, keys: [lease.leaseKey, lease.tokenKey, "\(keyPrefix):sha256", "\(keyPrefix):etag"],
                                             arguments: [lease.instance, hold.token, digest, newETag ?? ""])
                logger.info("feed stored", metadata: ["parsed": "\(summary.parsed)", "skipped": "\(summary.skipped)"])
            }
            failuresInARow.store(0, ordering: .relaxed)
            health.consecutiveFailures.record(0)
            health.lastSuccess.record(Date().timeIntervalSince1970)
        } catch let lost as LeaseHold.Lost {
            // Not the provider's fault: another replica holds the lease now, and storage refuses
            // whatever this poll published after the newer holder's first batch was stored.
            health.leaseLost.increment()
            logger.warning("stopped publishing the feed: lost the provider lease", metadata: ["error": "\(lost)"])
        } catch {
            let failures = failuresInARow.wrappingAdd(1, ordering: .relaxed).newValue
            health.consecutiveFailures.record(failures)
            health.failures.increment()
            if error is FeedParser.Failure { health.rejectedDocuments.increment() }
            logger.warning("feed poll failed; stored events are untouched", metadata: ["error": "\(error)", "failures_in_a_row": "\(failures)"])
        }
    }

    /// Deleting a file is a blocking system call: it goes to the pool too.
    static func remove(_ file: URL) async {
        _ = try? await NIOThreadPool.singleton.runIfActive { try FileManager.default.removeItem(at: file) }
    }

    /// Parses on a pool thread (XMLParser blocks), checking the whole document first, then
    /// publishes its plans in batches of at most 500 plans and at most `batchBytes` (by an upper
    /// bound of their encoded size), so no message nears RabbitMQ's largest. A plan larger
    /// than `maxPlanBytes` on its own is skipped and counted as skipped.
    func publish(_ file: URL, fetchedAt: Date, hold: LeaseHold) async throws -> FeedParser.Summary {
        var summary = try await NIOThreadPool.singleton.runIfActive {
            try FeedParser.parse(contentsOf: file) { _ in }
        }
        guard summary.parsed > 0 || summary.skipped > 0 else { return summary }
        let (provider, token) = (self.provider, hold.token)
        let bus = self.bus
        let logger = self.logger
        let (batchBytes, maxPlanBytes) = (configuration.batchBytes, configuration.maxPlanBytes)
        let oversized = try await NIOThreadPool.singleton.runIfActive {
            var batch: [FeedPlan] = []
            var bytes = FeedBatch.envelopeBytesBound
            var oversized = 0
            func flush() throws {
                guard !batch.isEmpty else { return }
                // No batch leaves once the lease is lost (or could not be renewed in time).
                try hold.check()
                let envelope = EventsQueues.store.envelope(FeedBatch(fetchedAt: fetchedAt, plans: batch, provider: provider, fencingToken: token),
                                                            requestID: nil)
                batch.removeAll(keepingCapacity: true)
                bytes = FeedBatch.envelopeBytesBound
                // This pool thread may block; the confirm itself is awaited on the bus's thread.
                try BlockingBridge.wait { try await bus.send(envelope, to: EventsQueues.store) }
            }
            _ = try FeedParser.parse(contentsOf: file) { plan in
                let size = plan.encodedSizeBound
                guard size <= maxPlanBytes else {
                    oversized += 1
                    logger.warning("skipped a plan too large to publish", metadata: [
                        "base_plan_id": "\(plan.basePlanID.prefix(100))", "plan_id": "\(plan.planID.prefix(100))",
                        "bytes": "\(size)", "zones": "\(plan.zones.count)", "limit": "\(maxPlanBytes)"])
                    return
                }
                if bytes + size > batchBytes { try flush() }
                batch.append(plan)
                bytes += size
                if batch.count >= Self.batchSize { try flush() }
            }
            try flush()
            return oversized
        }
        summary.parsed -= oversized
        summary.skipped += oversized
        return summary
    }
}

/// Runs async work from a thread that is allowed to block (never an event loop or the
/// cooperative pool) and waits for it.
enum BlockingBridge {
    static func wait(_ work: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<(any Error)?>(nil)
        Task {
            do { try await work() } catch { outcome.withLock { $0 = error } }
            done.signal()
        }
        done.wait()
        if let error = outcome.withLock({ $0 }) { throw error }
    }
}
