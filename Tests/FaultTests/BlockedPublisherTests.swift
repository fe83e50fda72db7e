import AMQP
import Foundation
import Logging
import TestSupport
import Testing

/// A broker under a resource alarm stops reading a publisher's socket. A message larger than
/// the kernel's socket buffers then leaves the publisher's thread waiting to write, which
/// librabbitmq does with no deadline: before the send watchdog, every caller behind it and
/// `close()` waited for as long as the alarm lasted. Now each caller hears by its own deadline
/// and the publisher closes within a few seconds.
@Suite("Faults: a publisher writing into a blocked broker", .serialized)
struct BlockedPublisherTests {
    let logger = Logger(label: "test.amqp.blocked")

    @Test func callersHearByTheirDeadlineAndCloseIsPrompt() async throws {
        let url = try AMQPURL(TestServers.faultsAMQPURL)
        let queue = TestServers.unique("blocked")
        let topology = AMQPTopology(queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])])
        let raise = ["set_vm_memory_high_watermark", "0.0001"], clear = ["set_vm_memory_high_watermark", "0.4"]
        let publishTimeout = Duration.seconds(3)
        let publisher = AMQPPublisher(url: url, topology: topology, publishTimeout: publishTimeout, logger: logger)
        try await publisher.publish(AMQPOutgoingMessage(body: [1]), exchange: "", routingKey: queue)

        try await TestServers.serversScript(["rabbitmqctl"] + raise)
        // Without the watchdog the round below never ends while the alarm lasts: clearing the
        // alarm after a while turns that hang into failed expectations instead of a stuck suite.
        let rescue = Task {
            try await Task.sleep(for: .seconds(30))
            try await TestServers.serversScript(["rabbitmqctl"] + clear)
        }
        // 32 MiB: far more than the socket buffers on both ends can hold.
        let large = AMQPOutgoingMessage(body: [UInt8](repeating: 7, count: 32 << 20))
        let started = ContinuousClock.now
        let outcomes = await withTaskGroup(of: (AMQPError.Kind?, Duration).self) { group in
            group.addTask {
                do { try await publisher.publish(large, exchange: "", routingKey: queue) } catch {
                    return ((error as? AMQPError)?.kind, ContinuousClock.now - started)
                }
                return (nil, ContinuousClock.now - started)
            }
            for _ in 0..<5 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(200))  // queued behind the large one
                    do { try await publisher.publish(AMQPOutgoingMessage(body: [2]), exchange: "", routingKey: queue) } catch {
                        return ((error as? AMQPError)?.kind, ContinuousClock.now - started)
                    }
                    return (nil, ContinuousClock.now - started)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (kind, elapsed) in outcomes {
            // The broker cannot have taken any of them while blocked.
            #expect(kind == .timeout || kind == .blocked || kind == .connection, "a publish ended with \(String(describing: kind)) under the alarm")
            #expect(elapsed < publishTimeout + .seconds(2), "a caller waited \(elapsed) past a \(publishTimeout) deadline")
        }
        let closing = ContinuousClock.now
        await publisher.close()
        #expect(ContinuousClock.now - closing < .seconds(4), "close took \(ContinuousClock.now - closing) under the alarm")
        rescue.cancel()
        try await TestServers.serversScript(["rabbitmqctl"] + clear)

        // After the alarm a fresh publisher works again.
        let after = AMQPPublisher(url: url, topology: topology, logger: logger)
        var recovered = false
        let recovery = ContinuousClock.now + .seconds(30)
        while !recovered, ContinuousClock.now < recovery {
            do {
                try await after.publish(AMQPOutgoingMessage(body: [3]), exchange: "", routingKey: queue)
                recovered = true
            } catch {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(recovered, "publishing did not recover within 30 s of the alarm clearing")
        await after.close()
        let cleanup = try AMQPConnection(url: url)
        try cleanup.deleteQueue(queue)
        cleanup.close()
    }
}
