import Foundation
import Platform
import Postgres

/// processing's part: works out each message's encoding and segment count, marks the batch
/// processed (idempotently: a message already processed keeps its first result and is not
/// counted twice), then hands those with a callback URL to notification.
public struct SMSProcessingHandler: MessageHandler {
    public typealias Payload = AcceptedSMS
    public let queue = SMSQueues.process
    public var batchSize: Int { 200 }
    let stage: SMSStage

    public init(runtime: ServiceRuntime) {
        stage = SMSStage(runtime: runtime)
    }

    public func handle(_ batch: [MessageEnvelope<AcceptedSMS>]) async throws {
        let results = batch.map { envelope in
            let analysis = SMSEncoding.analyze(envelope.payload.message)
            return (id: envelope.payload.id, encoding: analysis.encoding, segments: analysis.segments)
        }
        _ = try await stage.database.withConnection { try SMSRepository.markProcessed(results, on: $0) }
        await stage.listCache.invalidateAfterCommit(logger: stage.logger)
        let callbacks = batch.filter { $0.payload.callbackURL != nil }
            .map { SMSQueues.notify.envelope(SMSNotice(id: $0.payload.id), id: $0.id, requestID: $0.requestID) }
        if !callbacks.isEmpty { try await stage.bus.send(callbacks, to: SMSQueues.notify) }
    }
}

/// What notification needs to know: which message to report (it reads the rest fresh).
public struct SMSNotice: Codable, Sendable {
    public var id: UUID
}

