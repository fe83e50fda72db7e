import Redis

/// A Redis response cache whose entries are filed under a version number. Writers bump the
/// version after every commit, which makes every cached answer unreachable at once, so a
/// reader never sees data older than the last commit plus a round trip; the TTL only reclaims
/// memory. Reading the version and the entry is one Lua call: one round trip per request.
public struct VersionedCache: Sendable {
    let redis: RedisClient
    /// Key prefix, e.g. `sms:list`: entries are `<prefix>:<version>:<query>`.
    let prefix: String
    let ttlSeconds: Int

    public init(redis: RedisClient, prefix: String, ttlSeconds: Int) {
        self.redis = redis
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
    }

    var versionKey: String { "\(prefix):version" }

    static let lookupScript = RedisScript("""
        local version = redis.call('GET', KEYS[1]) or '0'
        return {version, redis.call('GET', ARGV[1] .. ':' .. version .. ':' .. ARGV[2])}
        """)

    /// The cached body for this query, and the version a fresh answer should be stored under.
    public func lookup(query: String) async throws -> (version: String, body: [UInt8]?) {
        let parts = try await redis.evaluate(Self.lookupScript, keys: [versionKey], arguments: [prefix, query]).array ?? []
        return (parts.first?.string ?? "0", parts.count > 1 ? parts[1].bytes : nil)
    }

    public func store(_ body: [UInt8], query: String, version: String) async throws {
        try await redis.send("SET", "\(prefix):\(version):\(query)", body, "EX", ttlSeconds)
    }

    public func invalidate() async throws {
        try await redis.send("INCR", versionKey)
    }
}
