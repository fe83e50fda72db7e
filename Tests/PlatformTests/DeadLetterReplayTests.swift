import AMQP
import Foundation
import Logging
import Platform
import TestSupport
import Testing

/// `switchyard dead-letters replay`: a dead letter leaves its queue only once the broker has
/// confirmed the copy sent back to the work queue.
@Suite("Operator CLI: dead-letter replay", .serialized)
struct DeadLetterReplayTests {
    let url = try! AMQPURL(TestServers.cliAMQPURL)
    /// A queue from the CLI's catalogue, on a vhost where nothing consumes.
    let queue = WorkQueue(name: "sms.store")

    /// Runs the CLI and collects its output on a Dispatch thread, not on the cooperative pool.
    func switchyard(_ arguments: String...) async throws -> (status: Int32, output: String) {
        try await SwitchyardCLI.run(arguments)
    }

    func deadLetter(_ body: String, on connection: AMQPConnection) throws {
        try connection.publishConfirmed(AMQPOutgoingMessage(body: Array(body.utf8)), exchange: WorkQueue.deadExchange,
                                        routingKey: queue.routingKey)
    }

    @Test func replayIsConfirmedBeforeTheDeadLetterIsAcked() async throws {
        let admin = try AMQPConnection(url: url)
        defer { admin.close() }
        try admin.declare(queue.topology)
        try admin.purge(queue: queue.name)
        try admin.purge(queue: queue.deadLetterQueue)
        try admin.enableConfirms()
        try deadLetter(#"{"id":"0b6f3f0e-1c1e-4a3b-9a57-53574954c348","type":"sms.accepted","attempt":5,"last_error":"boom","payload":{}}"#, on: admin)

        let replayed = try await switchyard("dead-letters", "replay", queue.name, "--amqp-url", TestServers.cliAMQPURL)
        #expect(replayed.status == 0, "\(replayed.output)")
        #expect(try await eventually { try admin.inspect(queue: queue.name).messageCount == 1 })
        #expect(try await eventually { try admin.inspect(queue: queue.deadLetterQueue).messageCount == 0 })
        let back = try #require(try admin.get(queue: queue.name))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(back.body)) as? [String: Any])
        #expect(object["attempt"] as? Int == 1)
        #expect(object["last_error"] == nil)
        try admin.ack(back)

        // The work queue is gone, so the copy is unroutable: the broker returns it, and the
        // dead letter must stay where it is (it used to be acked anyway, and lost).
        try admin.deleteQueue(queue.name)
        try deadLetter(#"{"id":"1b6f3f0e-1c1e-4a3b-9a57-53574954c348","type":"sms.accepted","attempt":5,"payload":{}}"#, on: admin)
        let refused = try await switchyard("dead-letters", "replay", queue.name, "--amqp-url", TestServers.cliAMQPURL)
        #expect(refused.status != 0)
        #expect(refused.output.contains("stays a dead letter"), "\(refused.output)")
        #expect(try await eventually { try admin.inspect(queue: queue.deadLetterQueue).messageCount == 1 })
        for name in [queue.name, queue.deadLetterQueue] + queue.retryDelays.indices.map({ queue.retryQueue(tier: $0 + 1) }) {
            try? admin.deleteQueue(name)
        }
    }

    @Test func unknownQueueIsRefusedWithTheKnownOnes() async throws {
        let answer = try await switchyard("dead-letters", "replay", "sms.nope", "--amqp-url", TestServers.cliAMQPURL)
        #expect(answer.status != 0)
        #expect(answer.output.contains("unknown queue sms.nope") && answer.output.contains("sms.store"), "\(answer.output)")
    }
}
