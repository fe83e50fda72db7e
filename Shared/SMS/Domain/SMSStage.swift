import Logging
import Platform
import Postgres
import Redis

/// What the SMS workers of storage and processing both need: the database they commit to,
/// the bus they hand messages on with, and Redis, where the list cache they invalidate after
/// each commit and ingest's `received` copies live.
struct SMSStage: Sendable {
    let database: PostgresPool
    let bus: any MessagePublisher
    let redis: RedisClient
    let listCache: VersionedCache
    let logger: Logger

    init(runtime: ServiceRuntime) {
        database = runtime.database
        bus = runtime.bus
        redis = runtime.redis
        listCache = SMSListCache.make(redis: runtime.redis)
        logger = runtime.logger
    }
}
