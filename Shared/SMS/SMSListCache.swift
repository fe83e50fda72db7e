import Foundation
import Redis

/// The short-lived response cache of `GET /messages`. Entries are filed under a version
/// number that storage and processing bump after every commit, so a new stored or processed
/// message makes every cached list unreachable at once; the TTL only reclaims memory.
public struct SMSListCache: Sendable {
    let redis: RedisClient
    static let versionKey = "sms:list:version"
    static let ttlSeconds = 30

    public init(redis: RedisClient) { self.redis = redis }

    static let lookup = RedisScript("""
        local version = redis.call('GET', KEYS[1]) or '0'
        return {version, redis.call('GET', 'sms:list:' .. version .. ':' .. ARGV[1])}
        """)

    /// The cached body for this query, or the version to store a fresh one under.
    public func lookup(query: String) async throws -> (version: String, body: [UInt8]?) {
        let reply = try await redis.evaluate(Self.lookup, keys: [Self.versionKey], arguments: [query])
        let parts = reply.array ?? []
        let version = parts.first?.string ?? "0"
        return (version, parts.count > 1 ? parts[1].bytes : nil)
    }

    public func store(_ body: [UInt8], query: String, version: String) async throws {
        try await redis.send("SET", "sms:list:\(version):\(query)", body, "EX", Self.ttlSeconds)
    }

    public func invalidate() async throws {
        try await redis.send("INCR", Self.versionKey)
    }
}
