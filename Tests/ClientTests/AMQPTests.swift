import AMQP
import Foundation
import Logging
import TestSupport
import Testing

@Suite("AMQP client (librabbitmq)", .serialized)
struct AMQPTests {
    let url = try! AMQPURL(TestServers.amqpURL)
    let logger = Logger(label: "test.amqp")

    /// A private exchange and quorum queue, so tests never see each other's messages.
    func topology(_ queue: String) -> AMQPTopology {
        AMQPTopology(exchanges: [.init(name: "test.exchange")],
                     queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])],
                     bindings: [.init(queue: queue, exchange: "test.exchange", routingKey: queue)])
    }

    func cleanUp(_ queue: String) throws {
        try AMQPConnection(url: url).deleteQueue(queue)
    }

    @Test func publishConfirmConsumeAck() async throws {
        let queue = TestServers.unique("test.roundtrip")
        let publisher = AMQPPublisher(url: url, topology: topology(queue), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<500 {
                group.addTask {
                    try await publisher.publish(AMQPOutgoingMessage(body: Array("message \(n)".utf8), type: "test"),
                                                exchange: "test.exchange", routingKey: queue)
                }
            }
            try await group.waitForAll()
        }
        #expect(try AMQPConnection(url: url).inspect(queue: queue).messageCount == 500)

        let consumer = AMQPConsumer(url: url, queue: queue, prefetch: 50, topology: topology(queue), logger: logger)
        var seen = Set<String>()
        for await delivery in consumer.deliveries {
            #expect(delivery.type == "test")
            seen.insert(String(decoding: delivery.body, as: UTF8.self))
            consumer.ack(delivery)
            if seen.count == 500 { break }
        }
        await consumer.close()
        #expect(seen.count == 500)
        // A quorum queue applies acks through its Raft log: the count settles a moment later.
        #expect(try await eventually { try AMQPConnection(url: url).inspect(queue: queue).messageCount == 0 })
        await publisher.close()
        try cleanUp(queue)
    }

    @Test func unroutableMessageIsRejectedNotDropped() async throws {
        let publisher = AMQPPublisher(url: url, topology: topology(TestServers.unique("test.unused")), logger: logger)
        await #expect {
            try await publisher.publish(AMQPOutgoingMessage(body: [1]), exchange: "test.exchange", routingKey: "nobody.listens")
        } throws: { ($0 as? AMQPError)?.kind == .unroutable }
        await publisher.close()
    }

    @Test func redeclaringWithOtherArgumentsIsAServerError() throws {
        let queue = TestServers.unique("test.args")
        let connection = try AMQPConnection(url: url)
        try connection.declare(topology(queue))
        do {
            try connection.declare(AMQPTopology(queues: [.init(name: queue, arguments: ["x-queue-type": .string("classic")])]))
            Issue.record("conflicting declare succeeded")
        } catch let error as AMQPError {
            #expect(error.replyCode == 406)  // PRECONDITION_FAILED
        }
        // The channel was closed by the broker and reopened: the connection still works.
        #expect(try connection.inspect(queue: queue).messageCount == 0)
        try connection.deleteQueue(queue)
    }

    @Test func consumerResumesAfterTheBrokerDropsConnections() async throws {
        // On a vhost of its own: dropping every connection of the shared test vhost would also
        // cut the connections of the suites running in parallel.
        let url = try AMQPURL(TestServers.faultsAMQPURL)
        let queue = TestServers.unique("test.resume")
        let publisher = AMQPPublisher(url: url, topology: topology(queue), logger: logger)
        let consumer = AMQPConsumer(url: url, queue: queue, prefetch: 10, topology: topology(queue), logger: logger)
        try await publisher.publish(AMQPOutgoingMessage(body: Array("before".utf8)), exchange: "test.exchange", routingKey: queue)
        var iterator = consumer.deliveries.makeAsyncIterator()
        let first = try #require(await iterator.next())
        #expect(String(decoding: first.body, as: UTF8.self) == "before")
        consumer.ack(first)
        try await Task.sleep(for: .milliseconds(200))

        try await TestServers.rabbitmqctl("close_all_connections", "-p", TestServers.faultsVirtualHost, "switchyard test")

        // Confirmed after the drop: the publisher reconnects and republishes; the consumer
        // reconnects and receives it. Nothing confirmed is lost.
        try await publisher.publish(AMQPOutgoingMessage(body: Array("after".utf8)), exchange: "test.exchange", routingKey: queue)
        let second = try #require(await iterator.next())
        #expect(String(decoding: second.body, as: UTF8.self) == "after")
        consumer.ack(second)
        #expect(consumer.connectionCount >= 2)
        await consumer.close()
        await publisher.close()
        #expect(try await eventually { try AMQPConnection(url: url).inspect(queue: queue).messageCount == 0 })
        try AMQPConnection(url: url).deleteQueue(queue)
    }

    /// Acks are coalesced into `multiple` acks only below the lowest delivery the application
    /// still holds: acking the first and third of three must not settle the second.
    @Test func coalescedAcksNeverSettleAnUnackedDelivery() async throws {
        let queue = TestServers.unique("test.coalesce")
        let publisher = AMQPPublisher(url: url, topology: topology(queue), logger: logger)
        for n in 1...3 {
            try await publisher.publish(AMQPOutgoingMessage(body: Array("m\(n)".utf8)), exchange: "test.exchange", routingKey: queue)
        }
        let consumer = AMQPConsumer(url: url, queue: queue, prefetch: 10, topology: topology(queue), logger: logger)
        var received: [AMQPDelivery] = []
        for await delivery in consumer.deliveries {
            received.append(delivery)
            if received.count == 3 { break }
        }
        consumer.ack(received[2])
        consumer.ack(received[0])
        await consumer.close()

        let again = AMQPConsumer(url: url, queue: queue, prefetch: 10, topology: topology(queue), logger: logger)
        var iterator = again.deliveries.makeAsyncIterator()
        let redelivered = try #require(await iterator.next())
        #expect(String(decoding: redelivered.body, as: UTF8.self) == "m2")
        #expect(redelivered.redelivered)
        again.ack(redelivered)
        await again.close()
        #expect(try await eventually { try AMQPConnection(url: url).inspect(queue: queue).messageCount == 0 })
        await publisher.close()
        try cleanUp(queue)
    }

    @Test func unackedMessagesAreRedeliveredAfterClose() async throws {
        let queue = TestServers.unique("test.redeliver")
        let publisher = AMQPPublisher(url: url, topology: topology(queue), logger: logger)
        try await publisher.publish(AMQPOutgoingMessage(body: [42]), exchange: "test.exchange", routingKey: queue)
        let first = AMQPConsumer(url: url, queue: queue, topology: topology(queue), logger: logger)
        var iterator = first.deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        #expect(!delivery.redelivered)
        await first.close()  // never acked: the broker must hand it out again

        let second = AMQPConsumer(url: url, queue: queue, topology: topology(queue), logger: logger)
        var again = second.deliveries.makeAsyncIterator()
        let redelivery = try #require(await again.next())
        #expect(redelivery.body == [42])
        #expect(redelivery.redelivered)
        second.ack(redelivery)
        await second.close()
        await publisher.close()
        try cleanUp(queue)
    }

    @Test func urlParsing() throws {
        let parsed = try AMQPURL("amqp://user:secret@broker.local:5673/%2Fprod")
        #expect(parsed.host == "broker.local" && parsed.port == 5673 && parsed.user == "user")
        #expect(parsed.virtualHost == "/prod")
        #expect(try AMQPURL("amqp://localhost").virtualHost == "/")
        #expect(throws: AMQPError.self) { try AMQPURL("http://nope") }
    }
}
