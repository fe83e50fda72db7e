import Platform
import Redis

/// The short-lived response cache of `GET /messages`, invalidated by storage and processing
/// after every commit.
enum SMSListCache {
    static func make(redis: RedisClient) -> VersionedCache {
        VersionedCache(redis: redis, prefix: "sms:list", ttlSeconds: 30)
    }
}
