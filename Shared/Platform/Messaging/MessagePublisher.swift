import Synchronization

/// How a part hands work on: `send` returns once the message is safe with whatever carries it
/// (for ``MessageBus``, once the broker confirmed it to disk). Parts take this, not the bus,
/// so that a route test can run them in-process against ``InMemoryPublisher`` while the
/// end-to-end suites keep proving the real path.
public protocol MessagePublisher: Sendable {
    /// How long `send` may wait before it fails.
    var publishTimeout: Duration { get }

    func send<Payload>(_ envelope: MessageEnvelope<Payload>, to queue: MessageQueue<Payload>) async throws

    /// Sends many at once; fails if any one fails.
    func send<Payload>(_ envelopes: [MessageEnvelope<Payload>], to queue: MessageQueue<Payload>) async throws
}

extension MessageBus: MessagePublisher {}

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
