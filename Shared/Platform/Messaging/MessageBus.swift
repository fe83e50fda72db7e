import AMQP
import Foundation
import Logging

/// Publishes envelopes to work queues with publisher confirms: when `send` returns, the
/// broker has the message on disk. This is the only way services hand work to each other.
public final class MessageBus: Sendable {
    private let publisher: AMQPPublisher
    /// How long `send` waits for the broker's confirm before it fails.
    public let publishTimeout: Duration

    public init(url: AMQPURL, queues: [WorkQueue], publishTimeout: Duration = .seconds(10), logger: Logger) {
        self.publishTimeout = publishTimeout
        publisher = AMQPPublisher(url: url, topology: queues.topology, publishTimeout: publishTimeout, logger: logger)
    }

    public func send<Payload>(_ envelope: MessageEnvelope<Payload>, to queue: MessageQueue<Payload>) async throws {
        try await publish(envelope, exchange: queue.work.publishExchange, routingKey: queue.work.routingKey)
    }

    /// Sends many envelopes at once; their confirms share round trips.
    public func send<Payload>(_ envelopes: [MessageEnvelope<Payload>], to queue: MessageQueue<Payload>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for envelope in envelopes {
                group.addTask { try await self.send(envelope, to: queue) }
            }
            try await group.waitForAll()
        }
    }

    func publish<Payload>(_ envelope: MessageEnvelope<Payload>, exchange: String, routingKey: String) async throws {
        let message = AMQPOutgoingMessage(body: try EnvelopeCoding.encode(envelope),
                                          messageID: envelope.id.uuidString.lowercased(), type: envelope.type)
        try await publisher.publish(message, exchange: exchange, routingKey: routingKey)
    }

    /// Whether a `send` that threw may still have queued its message (sent, confirm never
    /// seen): the caller must then act as if it was, e.g. keep what guards against a resend.
    public static func mayHaveQueued(afterFailure error: any Error) -> Bool {
        (error as? AMQPError)?.publishMayHaveReachedBroker ?? false
    }

    public func close() async { await publisher.close() }
}
