import Platform
import Postgres

/// What the SMS workers of storage and processing both need: the database they commit to,
/// the bus they hand messages on with, and the list cache they invalidate after each commit.
struct SMSStage: Sendable {
    let database: PostgresPool
    let bus: MessageBus
    let listCache: VersionedCache

    init(runtime: ServiceRuntime) {
        database = runtime.database
        bus = runtime.bus
        listCache = SMSListCache.make(redis: runtime.redis)
    }
}
