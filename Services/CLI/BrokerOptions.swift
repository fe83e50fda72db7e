import AMQP
import ArgumentParser
import Platform
import Workloads

/// Every broker command takes the same connection option.
struct BrokerOptions: ParsableArguments {
    @Option(help: "AMQP URL (default: $AMQP_URL).")
    var amqpURL: String?

    func connect() throws -> AMQPConnection {
        let text = amqpURL ?? EnvironmentReader().string("AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/%2F")
        return try AMQPConnection(url: AMQPURL(text))
    }
}

/// Every work queue the installation declares, with its retry tiers and dead-letter queue.
enum QueueCatalog {
    static let workQueues: [WorkQueue] = Workloads.all.flatMap(\.queues)

    static func find(_ name: String) throws -> WorkQueue {
        guard let queue = workQueues.first(where: { $0.name == name }) else {
            throw ValidationError("unknown queue \(name); known: \(workQueues.map(\.name).joined(separator: ", "))")
        }
        return queue
    }
}
