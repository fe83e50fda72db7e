import Foundation

/// What a publisher sends: a body and the properties consumers and operators rely on.
/// Messages are always persistent (delivery mode 2).
public struct AMQPOutgoingMessage: Sendable {
    public var body: [UInt8]
    public var messageID: String
    public var type: String?
    public var contentType: String
    public var timestamp: Date

    public init(body: [UInt8], messageID: String = UUID().uuidString.lowercased(), type: String? = nil,
                contentType: String = "application/json", timestamp: Date = Date()) {
        self.body = body
        self.messageID = messageID
        self.type = type
        self.contentType = contentType
        self.timestamp = timestamp
    }
}

/// A message handed to a consumer; it stays unacknowledged until the consumer acks or nacks it.
public struct AMQPDelivery: Sendable {
    public let body: [UInt8]
    public let messageID: String?
    public let type: String?
    public let routingKey: String
    public let exchange: String
    /// True when the broker delivered it before and it was not acknowledged (e.g. a crash).
    public let redelivered: Bool
    let deliveryTag: UInt64
    /// Which connection delivered it: an ack for an older connection is meaningless.
    let generation: Int
}

/// Counts the broker reports for a queue.
public struct AMQPQueueState: Sendable, Equatable {
    public let name: String
    public let messageCount: Int
    public let consumerCount: Int
}
