import Platform
import Postgres

/// storage's part: writes accepted messages in batches (one INSERT per batch, a redelivered
/// row left as it is), then hands the batch to processing as one message. Handing on
/// repeats after a redelivery, which processing absorbs, so a crash between the commit and
/// the ack never strands a message in `stored`. Once the rows are committed, ingest's
/// `received` copies in Redis have served their purpose and are deleted, and duplicate slots
/// still pending for these messages are confirmed.
public struct SMSStorageHandler: MessageHandler {
    public typealias Payload = AcceptedSMS
    public let queue = SMSQueues.store
    public var batchSize: Int { 500 }
    let stage: SMSStage
    /// The duplicate window (`SMS_DEDUP_WINDOW`, as ingest reads it): a slot this handler
    /// confirms lasts the rest of its message's window.
    let dedupWindow: Duration

    public init(runtime: ServiceRuntime) throws {
        stage = SMSStage(runtime: runtime)
        dedupWindow = try SMSConfiguration(environment: runtime.configuration.environment).dedupWindow
    }

    public func handle(_ batch: [MessageEnvelope<AcceptedSMS>]) async throws {
        let messages = batch.map(\.payload)
        let requestIDs = batch.map(\.requestID)
        _ = try await stage.database.withConnection { try SMSRepository.store(messages, requestIDs: requestIDs, on: $0) }
        await stage.listCache.invalidateAfterCommit(logger: stage.logger)
        // Reads now find the rows; without this each message would hold Redis memory for the
        // copy's whole TTL, and a duplicate slot left pending by a timed-out publish would
        // answer 503 until it expires. Failing here loses nothing: the TTLs still end both.
        try? await SMSAdmission.settleStored(messages, window: dedupWindow, redis: stage.redis)
        try await stage.bus.send(SMSQueues.process.envelope(SMSBatch(messages: messages, requestIDs: requestIDs), requestID: nil),
                                 to: SMSQueues.process)
    }
}
