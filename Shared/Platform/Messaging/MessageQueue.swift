import Foundation

/// A work queue and the one payload type it carries: a handler consumes `MessageQueue<P>` with
/// envelopes of `P`, and ``MessageBus/send(_:to:)`` takes only envelopes of the queue's own
/// payload, so sending a payload to a queue of another payload type does not compile (two
/// queues of the same payload the type cannot tell apart). The envelope's `type` comes from
/// the queue too (``envelope(_:id:requestID:)``), never from a string at the call.
public struct MessageQueue<Payload: Codable & Sendable>: Sendable {
    /// The queue's name, retry tiers and dead-letter queue on the broker.
    public let work: WorkQueue
    /// The envelope `type` of every message on this queue, e.g. `sms.accepted`.
    public let messageType: String

    public init(_ name: String, messageType: String, retryDelays: [Duration] = WorkQueue.defaultRetryDelays,
                maxAttempts: Int = 5, deliveryLimit: Int = 20) {
        work = WorkQueue(name: name, retryDelays: retryDelays, maxAttempts: maxAttempts, deliveryLimit: deliveryLimit)
        self.messageType = messageType
    }

    public var name: String { work.name }

    /// A new message for this queue (attempt 1).
    public func envelope(_ payload: Payload, id: UUID = UUID.random(), requestID: String?) -> MessageEnvelope<Payload> {
        MessageEnvelope(id: id, type: messageType, requestID: requestID, payload: payload)
    }
}
