import AMQP
import Foundation
import Logging
import Platform
import Postgres
import Synchronization
import TestSupport
import Testing

/// A handler whose dependency is down for its first few calls, then back.
struct OutageHandler: MessageHandler {
    typealias Payload = FlakyHandler.Payload
    let queue: MessageQueue<Payload>
    let outageCalls: Int
    let seen = Seen()

    final class Seen: Sendable {
        /// The attempt number of each envelope the handler was given, call after call.
        let attempts = Mutex<[Int]>([])
    }

    func handle(_ batch: [MessageEnvelope<Payload>]) async throws {
        let call = seen.attempts.withLock { $0 += batch.map(\.attempt); return $0.count }
        if call <= outageCalls { throw PostgresError(.connection, "could not connect to server: Connection refused") }
    }
}

/// A handler that hands each message on to a queue nobody declared: the broker returns it.
struct MisroutingHandler: MessageHandler {
    typealias Payload = FlakyHandler.Payload
    let queue: MessageQueue<Payload>
    let bus: MessageBus
    let calls = FlakyHandler.Calls()

    func handle(_ batch: [MessageEnvelope<Payload>]) async throws {
        for envelope in batch { _ = calls.record(envelope.payload.n) }
        try await bus.send(batch, to: MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.nowhere"), messageType: "test.nowhere"))
    }
}

/// A handler that fails a chosen number of times per message, then succeeds.
struct FlakyHandler: MessageHandler {
    struct Payload: Codable, Sendable { var n: Int }
    let queue: MessageQueue<Payload>
    let failuresBeforeSuccess: Int
    let calls = Calls()
    var batchSize: Int { 10 }

    final class Calls: Sendable {
        let byMessage = Mutex<[Int: Int]>([:])
        func record(_ n: Int) -> Int { byMessage.withLock { $0[n, default: 0] += 1; return $0[n]! } }
        var total: Int { byMessage.withLock { $0.values.reduce(0, +) } }
    }

    struct Boom: Error {}

    func handle(_ batch: [MessageEnvelope<Payload>]) async throws {
        // A batch fails as a whole if any message in it is due to fail; the worker then retries one by one.
        for envelope in batch where calls.record(envelope.payload.n) <= failuresBeforeSuccess { throw Boom() }
    }
}

@Suite("Queue worker: ack after commit, retries with delays, dead letters", .serialized)
struct QueueWorkerTests {
    let url = try! AMQPURL(TestServers.amqpURL)
    let logger = Logger(label: "test.worker")

    func deleteTopology(of queue: WorkQueue) throws {
        let connection = try AMQPConnection(url: url)
        for name in queue.brokerQueues {
            try? connection.deleteQueue(name)
        }
    }

    /// Runs `handler` in a worker for the duration of `body`, then stops it and deletes the
    /// queue's topology, whatever `body` did.
    func withWorker(_ handler: FlakyHandler, _ body: (MessageBus) async throws -> Void) async throws {
        let bus = MessageBus(url: url, queues: [handler.queue.work], logger: logger)
        let worker = QueueWorker(handler: handler, url: url, bus: bus, logger: logger)
        let running = Task { try await worker.run() }
        do { try await body(bus) } catch {
            running.cancel()
            await bus.close()
            try? deleteTopology(of: handler.queue.work)
            throw error
        }
        running.cancel()
        _ = try? await running.value
        await bus.close()
        try deleteTopology(of: handler.queue.work)
    }

    /// A dependency outage longer than the message's whole retry budget (2 attempts here)
    /// spends none of it: the worker waits the outage out and the message is handled, never
    /// retried through the tiers nor dead-lettered.
    @Test func dependencyOutageDoesNotSpendAttempts() async throws {
        let queue = MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.outage"), messageType: "test.outage", retryDelays: [.milliseconds(100)], maxAttempts: 2)
        let handler = OutageHandler(queue: queue, outageCalls: 3)
        let bus = MessageBus(url: url, queues: [queue.work], logger: logger)
        let worker = QueueWorker(handler: handler, url: url, bus: bus, logger: logger)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        try await bus.send(queue.envelope(FlakyHandler.Payload(n: 1), requestID: nil), to: queue)
        let inspector = try AMQPConnection(url: url)
        try await waitUntil { handler.seen.attempts.withLock { $0.count } == 4 }
        try await waitUntil { try inspector.inspect(queue: queue.name).messageCount == 0 }
        #expect(handler.seen.attempts.withLock { $0 } == [1, 1, 1, 1])
        #expect(try inspector.inspect(queue: queue.work.deadLetterQueue).messageCount == 0)
        #expect(try inspector.inspect(queue: queue.work.retryQueue(tier: 1)).messageCount == 0)
        running.cancel()
        _ = try? await running.value
        await bus.close()
        try deleteTopology(of: queue.work)
    }

    /// An unroutable publish is a defect of the topology, not an outage: the message spends its
    /// attempts and is dead-lettered (to be replayed once the topology is mended), where it
    /// used to be waited out forever as if the broker were down.
    @Test func anUnroutablePublishSpendsAttemptsAndDeadLetters() async throws {
        let queue = MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.misrouted"), messageType: "test.misrouted", retryDelays: [.milliseconds(100)], maxAttempts: 2)
        let bus = MessageBus(url: url, queues: [queue.work], logger: logger)
        let handler = MisroutingHandler(queue: queue, bus: bus)
        let worker = QueueWorker(handler: handler, url: url, bus: bus, logger: logger)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        try await bus.send(queue.envelope(FlakyHandler.Payload(n: 1), requestID: nil), to: queue)
        let inspector = try AMQPConnection(url: url)
        try await waitUntil { try inspector.inspect(queue: queue.work.deadLetterQueue).messageCount == 1 }
        #expect(handler.calls.total == 2)
        running.cancel()
        _ = try? await running.value
        await bus.close()
        try deleteTopology(of: queue.work)
    }

    func waitUntil(_ timeout: Duration = .seconds(20), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not met within \(timeout)"); return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func messageThatAlwaysFailsEndsInTheDeadLetterQueueWithItsAttempts() async throws {
        let queue = MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.dlq"), messageType: "test.dlq", retryDelays: [.milliseconds(200), .milliseconds(400)], maxAttempts: 3)
        let handler = FlakyHandler(queue: queue, failuresBeforeSuccess: .max)
        try await withWorker(handler) { bus in
            let started = ContinuousClock.now
            var envelope = queue.envelope(FlakyHandler.Payload(n: 1), requestID: "req-123")
            envelope.id = UUID()
            try await bus.send(envelope, to: queue)

            let inspector = try AMQPConnection(url: url)
            try await waitUntil { try inspector.inspect(queue: queue.work.deadLetterQueue).messageCount == 1 }
            let elapsed = ContinuousClock.now - started
            let dead = try #require(try inspector.get(queue: queue.work.deadLetterQueue))
            let parked = try EnvelopeCoding.decode(MessageEnvelope<FlakyHandler.Payload>.self, from: dead.body)
            #expect(parked.id == envelope.id)
            #expect(parked.attempt == 3)
            #expect(parked.requestID == "req-123")
            #expect(parked.lastError?.contains("Boom") == true)
            #expect(handler.calls.total == 3)
            // It waited in both retry tiers (200 ms, then 400 ms) before giving up.
            #expect(elapsed >= .milliseconds(600))
            #expect(try inspector.inspect(queue: queue.name).messageCount == 0)
            try inspector.ack(dead)
        }
    }

    @Test func transientFailuresAreRetriedAndEveryMessageIsHandledOnce() async throws {
        let queue = MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.retry"), messageType: "test.retry", retryDelays: [.milliseconds(100)], maxAttempts: 5)
        let handler = FlakyHandler(queue: queue, failuresBeforeSuccess: 1)
        try await withWorker(handler) { bus in
            let envelopes = (0..<50).map { queue.envelope(FlakyHandler.Payload(n: $0), requestID: nil) }
            try await bus.send(envelopes, to: queue)

            let inspector = try AMQPConnection(url: url)
            try await waitUntil {
                handler.calls.byMessage.withLock { calls in calls.count == 50 && calls.values.allSatisfy { $0 >= 2 } }
            }
            try await waitUntil { try inspector.inspect(queue: queue.name).messageCount == 0 }
            #expect(try inspector.inspect(queue: queue.work.deadLetterQueue).messageCount == 0)
            #expect(try inspector.inspect(queue: queue.work.retryQueue(tier: 1)).messageCount == 0)
            // Handled once: one failed call and one successful call per message, and no more
            // after a pause (a lost ack would bring a message back for a third call).
            try await Task.sleep(for: .milliseconds(500))
            #expect(handler.calls.byMessage.withLock { calls in calls.values.allSatisfy { $0 == 2 } })
        }
    }

    @Test func undecodableBodyIsDeadLetteredNotRetried() async throws {
        let queue = MessageQueue<FlakyHandler.Payload>(TestServers.unique("test.garbage"), messageType: "test.garbage", retryDelays: [.milliseconds(100)], maxAttempts: 3)
        let handler = FlakyHandler(queue: queue, failuresBeforeSuccess: 0)
        try await withWorker(handler) { _ in
            let publisher = AMQPPublisher(url: url, topology: queue.work.topology, logger: logger)
            try await publisher.publish(AMQPOutgoingMessage(body: Array("not json".utf8)), exchange: WorkQueue.workExchange, routingKey: queue.work.routingKey)

            let inspector = try AMQPConnection(url: url)
            try await waitUntil { try inspector.inspect(queue: queue.work.deadLetterQueue).messageCount == 1 }
            #expect(handler.calls.total == 0)
            await publisher.close()
        }
    }
}
