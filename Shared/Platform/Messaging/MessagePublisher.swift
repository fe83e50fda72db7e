/// How a part hands work on: `send` returns once the message is safe with whatever carries it
/// (for ``MessageBus``, once the broker confirmed it to disk). Parts take this, not the bus,
/// so that a route test can run them in-process against an in-memory publisher (TestSupport's
/// `InMemoryPublisher`) while the end-to-end suites keep proving the real path.
public protocol MessagePublisher: Sendable {
    /// How long `send` may wait before it fails.
    var publishTimeout: Duration { get }

    func send<Payload>(_ envelope: MessageEnvelope<Payload>, to queue: MessageQueue<Payload>) async throws

    /// Sends many at once; fails if any one fails.
    func send<Payload>(_ envelopes: [MessageEnvelope<Payload>], to queue: MessageQueue<Payload>) async throws
}

extension MessageBus: MessagePublisher {}
