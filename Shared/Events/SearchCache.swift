import Platform
import Redis

/// The response cache of `/search`, invalidated by storage whenever feed data is stored.
enum SearchCache {
    static func make(redis: RedisClient) -> VersionedCache {
        VersionedCache(redis: redis, prefix: "events:search", ttlSeconds: 300)
    }
}
