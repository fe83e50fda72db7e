import Logging
import Redis
import Synchronization

/// A Redis response cache whose entries are filed under a version number. Writers bump the
/// version after every commit, which makes every cached answer unreachable at once, so a
/// reader never sees data older than the last commit plus a round trip; the TTL only reclaims
/// memory. Reading the version and the entry is one Lua call: one round trip per request.
public struct VersionedCache: Sendable {
    let redis: RedisClient
    /// Key prefix, e.g. `sms:list`: entries are `<prefix>:<version>:<query>`.
    let prefix: String
    let ttlSeconds: Int
    /// The most bytes of answers this cache writes to Redis within one TTL (`<prefix>:bytes`
    /// counts them): distinct queries each leave an answer there for the TTL, and nothing
    /// else bounds how many a client asks for. Redis also holds what must never be evicted
    /// (rate limits, duplicate windows, received copies), so it runs without an eviction
    /// policy, and this budget is what keeps a cache from filling it. Past it, answers are
    /// still served and kept in the process's own layer; they are just not shared.
    let sharedBudgetBytes: Int
    let local: LocalLayer?
    /// Whether answers are also kept in Redis, for the other processes (see `init`).
    public let sharesAnswers: Bool

    /// With `localFreshness`, each process also keeps answers in memory and asks Redis for the
    /// version at most that often, so a hot answer costs no round trip at all; new data then
    /// shows within `localFreshness` instead of at once. With a local layer, `sharesAnswers`
    /// false keeps answers in this process only: Redis then holds just the version, and a
    /// local miss costs no Redis round trip and no write.
    public init(redis: RedisClient, prefix: String, ttlSeconds: Int, localFreshness: Duration? = nil, sharesAnswers: Bool = true,
                sharedBudgetBytes: Int = 64 * 1_048_576) {
        self.redis = redis
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
        self.sharedBudgetBytes = sharedBudgetBytes
        self.local = localFreshness.map(LocalLayer.init)
        self.sharesAnswers = sharesAnswers || localFreshness == nil
    }

    /// The key writers bump (`INCR`) after each commit.
    public var versionKey: String { "\(prefix):version" }

    static let lookupScript = RedisScript("""
        local version = redis.call('GET', KEYS[1]) or '0'
        return {version, redis.call('GET', ARGV[1] .. ':' .. version .. ':' .. ARGV[2])}
        """)

    /// The cached body for this query, and the version a fresh answer should be stored under.
    public func lookup(query: String) async throws -> (version: String, body: [UInt8]?) {
        if let local {
            let version = try await local.version { try await redis.send("GET", versionKey).string ?? "0" }
            if let body = local.get(query, version: version) { return (version, body) }
            guard sharesAnswers else { return (version, nil) }
            let body = try await redis.send("GET", "\(prefix):\(version):\(query)").bytes
            if let body { local.put(body, query: query, version: version) }
            return (version, body)
        }
        let parts = try await redis.evaluate(Self.lookupScript, keys: [versionKey], arguments: [prefix, query]).array ?? []
        return (parts.first?.string ?? "0", parts.count > 1 ? parts[1].bytes : nil)
    }

    static let storeScript = RedisScript("""
        -- KEYS: the entry, the byte counter; ARGV: the answer, TTL seconds, budget bytes.
        -- The counter lives one TTL from its first write: it bounds what was written in that
        -- time, which is what can still be in Redis.
        local size = string.len(ARGV[1])
        if tonumber(redis.call('GET', KEYS[2]) or '0') + size > tonumber(ARGV[3]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        if redis.call('INCRBY', KEYS[2], size) == size then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
        return 1
        """)

    /// Keeps the answer in this process's layer and shares it through Redis while the shared
    /// budget allows; returns whether Redis took it.
    @discardableResult
    public func store(_ body: [UInt8], query: String, version: String) async throws -> Bool {
        local?.put(body, query: query, version: version)
        guard sharesAnswers else { return false }
        let stored = try await redis.evaluate(Self.storeScript, keys: ["\(prefix):\(version):\(query)", "\(prefix):bytes"],
                                              arguments: [body, ttlSeconds, sharedBudgetBytes])
        return stored.int == 1
    }

    /// Keeps an answer in this process's layer at once (no-op without one); `store` then
    /// shares it through Redis, which the caller need not wait for.
    public func storeLocally(_ body: [UInt8], query: String, version: String) {
        local?.put(body, query: query, version: version)
    }

    public func invalidate() async throws {
        try await redis.send("INCR", versionKey)
    }

    /// Invalidates after a commit, as best it can: the commit is what matters, so a Redis that
    /// is down must not fail (and so repeat) the work that was just committed. Answers cached
    /// before stay reachable until their TTL at worst.
    public func invalidateAfterCommit(logger: Logger) async {
        do {
            try await invalidate()
        } catch {
            logger.warning("could not invalidate a cache after a commit; its answers may be stale until they expire",
                           metadata: ["cache": "\(prefix)", "ttl_seconds": "\(ttlSeconds)", "error": "\(error)"])
        }
    }
}

/// The in-process layer of a ``VersionedCache``: the version as last read from Redis (re-read
/// once it is older than `freshness`) and the answers cached under it.
final class LocalLayer: Sendable {
    private struct State {
        var version: String?
        var readAt = ContinuousClock.now
        var entries: [String: [UInt8]] = [:]
        var entriesVersion = ""
        var bytes = 0
    }

    private let freshness: Duration
    private let state = Mutex(State())
    /// Bounds memory: past this many answers, or this many bytes of them, the layer starts
    /// over. By bytes too, because answers range from bytes to megabytes: 2,000 of the largest
    /// would have been gigabytes.
    private let capacity = 2_000
    private let capacityBytes = 64 * 1_048_576

    init(freshness: Duration) { self.freshness = freshness }

    func version(read: () async throws -> String) async throws -> String {
        let cached = state.withLock { state -> String? in
            guard let version = state.version, ContinuousClock.now - state.readAt < freshness else { return nil }
            return version
        }
        if let cached { return cached }
        let version = try await read()
        state.withLock { state in
            state.version = version
            state.readAt = ContinuousClock.now
        }
        return version
    }

    func get(_ query: String, version: String) -> [UInt8]? {
        state.withLock { $0.entriesVersion == version ? $0.entries[query] : nil }
    }

    func put(_ body: [UInt8], query: String, version: String) {
        // An answer of more than a quarter of the budget would empty the layer for itself alone.
        guard body.count <= capacityBytes / 4 else { return }
        state.withLock { state in
            if state.entriesVersion != version || state.entries.count >= capacity || state.bytes + body.count > capacityBytes {
                state.entries.removeAll(keepingCapacity: true)
                state.entriesVersion = version
                state.bytes = 0
            }
            state.bytes += body.count - (state.entries.updateValue(body, forKey: query)?.count ?? 0)
        }
    }
}
