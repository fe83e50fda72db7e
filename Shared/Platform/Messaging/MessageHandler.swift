/// One stage's work for one queue: decode, do, commit. The worker acks only after `handle`
/// returns, so `handle` must return only once its effect is committed, and must be idempotent:
/// after a crash the same message can arrive again (``ProcessedMessages`` helps).
public protocol MessageHandler: Sendable {
    associatedtype Payload: Codable & Sendable

    /// The queue it consumes, which carries its payload type.
    var queue: MessageQueue<Payload> { get }

    /// The most messages handed to one `handle` call. Storage takes hundreds so that one
    /// database round trip writes them all; most handlers take one.
    var batchSize: Int { get }

    /// Throw to retry the batch (with growing delays, then the dead-letter queue). When a batch
    /// of several fails, the worker retries its messages one by one, so one bad message does
    /// not hold back the others.
    func handle(_ batch: [MessageEnvelope<Payload>]) async throws
}

extension MessageHandler {
    public var batchSize: Int { 1 }
}

/// A failure that retrying cannot fix (say, a payload that breaks a rule): the message goes
/// straight to the dead-letter queue, where an operator can see it and replay it once fixed.
public struct PermanentFailure: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "permanent failure: \(reason)" }
}
