// switchyard-bench: the Swift side of `make bench`. Each subcommand runs one measurement and
// prints one number (operations per second); scripts/bench.sh runs the baselines in the same
// run and prints the table with the ratios.
import AMQP
import ArgumentParser
import Foundation
import Logging
import Redis

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "switchyard-bench",
                                                    subcommands: [AMQPPublish.self, RedisCommands.self])
}

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

struct RedisCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redis",
        abstract: "SET commands per second through RedisClient, from concurrent tasks (optionally pipelined).")
    @Option var url = "redis://127.0.0.1:6379/0"
    @Option var requests = 100_000
    @Option(help: "Concurrent callers (and pool connections).") var concurrency = 50
    @Option(help: "Commands per pipeline (1 = no pipelining).") var pipeline = 1

    func run() async throws {
        let redis = RedisClient(url: url, size: concurrency)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 3)
        _ = try await redis.send("PING")
        let rounds = requests / pipeline
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var round = worker
                    while round < rounds {
                        if pipeline == 1 {
                            try await redis.send("SET", "bench:key:\(round % 1000)", value)
                        } else {
                            let commands: [[any RedisArgument]] = (0..<pipeline).map { ["SET", "bench:key:\($0)", value] }
                            _ = try await redis.pipeline(commands)
                        }
                        round += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        print(Int(Double(rounds * pipeline) / (ContinuousClock.now - started).seconds))
        await redis.close()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
