/// Exchanges, queues and bindings, declared idempotently by every process at start and again
/// after every reconnect (a broker restart can lose nothing durable, but declaring is cheap
/// and makes a fresh broker usable).
public struct AMQPTopology: Sendable {
    public struct Exchange: Sendable {
        public var name: String
        public var type: String
        public init(name: String, type: String = "topic") {
            self.name = name
            self.type = type
        }
    }

    public struct Queue: Sendable {
        public var name: String
        public var arguments: [String: AMQPArgument]
        public init(name: String, arguments: [String: AMQPArgument] = [:]) {
            self.name = name
            self.arguments = arguments
        }
    }

    public struct Binding: Sendable {
        public var queue: String
        public var exchange: String
        public var routingKey: String
        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public static func + (lhs: AMQPTopology, rhs: AMQPTopology) -> AMQPTopology {
        AMQPTopology(exchanges: lhs.exchanges + rhs.exchanges, queues: lhs.queues + rhs.queues,
                     bindings: lhs.bindings + rhs.bindings)
    }
}

/// A value in a queue's `x-arguments` table.
public enum AMQPArgument: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
}
