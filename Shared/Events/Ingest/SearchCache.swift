import Platform
import Redis

/// The response cache of `/search`, invalidated by storage whenever feed data is stored.
/// Each ingest also keeps hot answers in memory, checking the version in Redis every 100 ms:
/// search must stay fast whatever happens, and feed data changes once a poll at most.
enum SearchCache {
    static func make(redis: RedisClient, sharesAnswers: Bool = true) -> VersionedCache {
        VersionedCache(redis: redis, prefix: "events:search", ttlSeconds: 300, localFreshness: .milliseconds(100),
                       sharesAnswers: sharesAnswers)
    }
}
