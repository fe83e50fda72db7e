/// The one error type of the Redis client.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or I/O failed; the lane dials a new connection.
        case connection
        /// The server answered with an error reply (e.g. `WRONGTYPE ...`, `NOSCRIPT ...`).
        case server
        /// A reply did not have the shape the caller asked for.
        case unexpectedReply
        /// The client was shut down.
        case closed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "Redis \(kind): \(message)" }
}
