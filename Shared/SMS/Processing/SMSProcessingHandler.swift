import Foundation
import Platform
import Postgres

/// processing's part: takes a few of storage's batches at once, works out each message's
/// encoding and segment count, marks them processed (idempotently: a message already
/// processed keeps its first result and is not counted twice), then hands those with a
/// callback URL to notification.
public struct SMSProcessingHandler: MessageHandler {
    public typealias Payload = SMSBatch
    public let queue = SMSQueues.process
    /// Broker messages per `handle`, each a storage batch of up to 500 SMS.
    public var batchSize: Int { 8 }
    let stage: SMSStage

    public init(runtime: ServiceRuntime) {
        stage = SMSStage(runtime: runtime)
    }

    public func handle(_ batch: [MessageEnvelope<SMSBatch>]) async throws {
        let messages = batch.flatMap { envelope in
            zip(envelope.payload.messages, envelope.payload.requestIDs).map { (message: $0, requestID: $1 ?? envelope.requestID) }
        }
        let results = messages.map { item in
            let analysis = SMSEncoding.analyze(item.message.message)
            return (id: item.message.id, encoding: analysis.encoding, segments: analysis.segments)
        }
        _ = try await stage.database.withConnection { try SMSRepository.markProcessed(results, on: $0) }
        await stage.listCache.invalidateAfterCommit(logger: stage.logger)
        // The notice's id is the message's: notification records each webhook once by it.
        let callbacks = messages.filter { $0.message.callbackURL != nil }
            .map { SMSQueues.notify.envelope(SMSNotice(id: $0.message.id), id: $0.message.id, requestID: $0.requestID) }
        if !callbacks.isEmpty { try await stage.bus.send(callbacks, to: SMSQueues.notify) }
    }
}

/// What notification needs to know: which message to report (it reads the rest fresh).
public struct SMSNotice: Codable, Sendable {
    public var id: UUID
}

