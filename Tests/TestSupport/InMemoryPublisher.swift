import Platform
import Synchronization

/// Keeps what is sent in memory, by queue name, for in-process tests of the parts that publish;
/// `failing` makes every send throw it (a broker that is down).
public final class InMemoryPublisher: MessagePublisher {
    public struct Sent: Sendable {
        public let queue: String
        public let type: String
        /// The envelope as the bus would have carried it.
        public let body: [UInt8]
    }

    public let publishTimeout: Duration
    private let state = Mutex<(sent: [Sent], failure: (any Error)?)>(([], nil))

    public init(publishTimeout: Duration = .seconds(10)) {
        self.publishTimeout = publishTimeout
    }

    /// What was sent so far, in order.
    public var sent: [Sent] { state.withLock { $0.sent } }

    /// From now on every send throws `error` (nil: sends succeed again).
    public func fail(with error: (any Error)?) {
        state.withLock { $0.failure = error }
    }

    public func send<Payload>(_ envelope: MessageEnvelope<Payload>, to queue: MessageQueue<Payload>) async throws {
        let body = try EnvelopeCoding.encode(envelope)
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.sent.append(Sent(queue: queue.name, type: envelope.type, body: body))
        }
    }

    public func send<Payload>(_ envelopes: [MessageEnvelope<Payload>], to queue: MessageQueue<Payload>) async throws {
        for envelope in envelopes { try await send(envelope, to: queue) }
    }
}
