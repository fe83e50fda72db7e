/// The one error type of the AMQP client.
public struct AMQPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Socket, login or protocol failure: the connection is gone and must be redialled.
        case connection
        /// The broker closed the channel or connection (`replyCode` says why, e.g. 404, 406).
        case server
        /// The broker nacked a published message (an internal error of the broker's).
        case rejected
        /// The broker returned a published message: no queue is bound for its routing key. A
        /// defect of the topology (a deleted queue, a wrong key), not a passing outage.
        case unroutable
        /// No confirm arrived before the publish deadline.
        case timeout
        /// The broker is refusing publishes for now (a memory or disk alarm): nothing was sent.
        case blocked
        /// The client was shut down.
        case closed
    }

    public let kind: Kind
    public let message: String
    public let replyCode: Int?

    public init(_ kind: Kind, _ message: String, replyCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.replyCode = replyCode
    }

    /// For a failed publish: whether the broker may hold the message anyway. A timeout (or a
    /// publisher closed with messages in flight) leaves a message that was sent but never
    /// confirmed; the broker may have stored it. Every other failure means it was never sent,
    /// was refused (`.blocked`), or was nacked or returned (`.rejected`).
    public var publishMayHaveReachedBroker: Bool { kind == .timeout || kind == .closed }

    public var description: String {
        "AMQP \(kind): \(message)" + (replyCode.map { " (reply code \($0))" } ?? "")
    }
}
