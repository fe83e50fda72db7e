import Foundation
import Platform
import Redis
import TestSupport
import Testing

/// A response cache cannot fill Redis (issue 12 item 3): distinct queries each leave an answer
/// there for the TTL, so what one cache writes within a TTL is bounded by bytes. Past the
/// budget answers are still served, only not shared. Against the real Redis.
@Suite("Response cache: the shared budget in Redis")
struct VersionedCacheBudgetTests {
    @Test func answersPastTheBudgetAreNotWrittenToRedis() async throws {
        let redis = RedisClient(url: TestServers.redisURL)
        let prefix = "test:cache-budget:\(UUID().uuidString)"
        let cache = VersionedCache(redis: redis, prefix: prefix, ttlSeconds: 60, sharedBudgetBytes: 1_000)
        let answer = [UInt8](repeating: 7, count: 400)
        #expect(try await cache.store(answer, query: "a", version: "0"))
        #expect(try await cache.store(answer, query: "b", version: "0"))
        // 800 of 1,000 bytes used: a third would pass the budget.
        #expect(try await cache.store(answer, query: "c", version: "0") == false)
        #expect(try await cache.lookup(query: "a").body == answer)
        #expect(try await cache.lookup(query: "c").body == nil)
        // A small one still fits; the counter lives one TTL.
        #expect(try await cache.store([1, 2, 3], query: "d", version: "0"))
        #expect(try await redis.send("GET", "\(prefix):bytes").string == "803")
        let ttl = try #require(try await redis.send("TTL", "\(prefix):bytes").int)
        #expect((1...60).contains(ttl))
        _ = try await redis.send("DEL", "\(prefix):bytes", "\(prefix):0:a", "\(prefix):0:b", "\(prefix):0:d")
    }
}
