import AMQP
import ArgumentParser
import Foundation
import Logging
import Redis

struct AMQPPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "amqp-publish",
        abstract: "Persistent messages per second through AMQPPublisher, each awaited until the broker confirmed it.")
    @Option var url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    @Option var queue = "bench.publish"
    @Option var messages = 20_000
    @Option(help: "Publishes in flight at once (callers awaiting their confirm).") var concurrency = 500
    @Option var bodyBytes = 256
    @Flag(help: "Only (re)declare the queue and purge it.") var prepare = false

    func run() async throws {
        let amqpURL = try AMQPURL(url)
        let topology = AMQPTopology(queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])])
        let admin = try AMQPConnection(url: amqpURL)
        try admin.declare(topology)
        try admin.purge(queue: queue)
        if prepare { return }
        let publisher = AMQPPublisher(url: amqpURL, topology: topology, logger: Logger(label: "bench"))
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
        // Warm up the connection so that connecting is not measured.
        try await publisher.publish(AMQPOutgoingMessage(body: body), exchange: "", routingKey: queue)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<messages {
                if n >= concurrency { try await group.next() }
                group.addTask { try await publisher.publish(AMQPOutgoingMessage(body: body), exchange: "", routingKey: queue) }
            }
            try await group.waitForAll()
        }
        print(Int(Double(messages) / (ContinuousClock.now - started).seconds))
        await publisher.close()
        try admin.purge(queue: queue)
    }
}

