import Platform
import Redis

/// The Redis response cache of `/search`, filed under a version that storage bumps after every
/// write, so new feed data makes every cached answer unreachable at once.
public struct SearchCache: Sendable {
    let redis: RedisClient
    static let versionKey = "events:search:version"
    static let ttlSeconds = 300

    public init(redis: RedisClient) { self.redis = redis }

    static let lookup = RedisScript("""
        local version = redis.call('GET', KEYS[1]) or '0'
        return {version, redis.call('GET', 'events:search:' .. version .. ':' .. ARGV[1])}
        """)

    func lookup(query: String) async throws -> (version: String, body: [UInt8]?) {
        let parts = try await redis.evaluate(Self.lookup, keys: [Self.versionKey], arguments: [query]).array ?? []
        return (parts.first?.string ?? "0", parts.count > 1 ? parts[1].bytes : nil)
    }

    func store(_ body: [UInt8], query: String, version: String) async throws {
        try await redis.send("SET", "events:search:\(version):\(query)", body, "EX", Self.ttlSeconds)
    }

    public func invalidate() async throws {
        try await redis.send("INCR", Self.versionKey)
    }
}
