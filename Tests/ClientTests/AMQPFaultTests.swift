import AMQP
import Foundation
import Logging
import TestSupport
import Testing

/// The AMQP client when the broker is not there: every path that gives up on a connection must
/// throw a typed error, never crash (a failed connect used to free librabbitmq's state twice).
@Suite("AMQP client: unreachable broker")
struct AMQPFaultTests {
    let logger = Logger(label: "test.amqp.faults")
    /// A loopback port where nothing listens.
    let closedPort = try! AMQPURL("amqp://guest:guest@127.0.0.1:1/%2F")

    @Test func connectingToAClosedPortThrowsWithoutCrashing() throws {
        for _ in 0..<200 {
            #expect { try AMQPConnection(url: closedPort, connectTimeoutSeconds: 1) } throws: {
                ($0 as? AMQPError)?.kind == .connection
            }
        }
    }

    /// A login the broker refuses fails after the socket opened: the other early-exit path.
    @Test func refusedLoginThrowsWithoutCrashing() throws {
        var url = try AMQPURL(TestServers.amqpURL)
        url.password = "not-the-password"
        for _ in 0..<5 {
            #expect(throws: AMQPError.self) { try AMQPConnection(url: url) }
        }
    }

    /// A message that never left this process cannot be in the broker: its caller hears at
    /// once that the broker is unreachable, rather than at its publish deadline.
    @Test func publishingWhileTheBrokerIsUnreachableFailsAtOnce() async throws {
        let publisher = AMQPPublisher(url: closedPort, publishTimeout: .seconds(60), logger: logger)
        await #expect { try await publisher.publish(AMQPOutgoingMessage(body: [1]), exchange: "", routingKey: "nowhere") } throws: {
            ($0 as? AMQPError)?.kind == .connection
        }
        await publisher.close()
    }

    /// Between two dials to an unreachable broker (backoff up to 5 s), every new message fails
    /// at once too: it used to wait for the next dial, so ingest answered 503 seconds late.
    @Test func everyPublishDuringAnOutageFailsAtOnce() async throws {
        let publisher = AMQPPublisher(url: closedPort, publishTimeout: .seconds(60), logger: logger)
        let first = ContinuousClock.now
        for attempt in 1...12 {
            let started = ContinuousClock.now
            await #expect { try await publisher.publish(AMQPOutgoingMessage(body: [1]), exchange: "", routingKey: "nowhere") } throws: {
                ($0 as? AMQPError)?.kind == .connection
            }
            // Waiting for the next dial took 1.6 to 5 s from the 5th publish on; a publish that
            // fails at once takes milliseconds, but a loaded machine (the whole suite in
            // parallel) once took 1.52 s to schedule it. The total below tells the two apart.
            #expect(ContinuousClock.now - started < .seconds(6), "publish \(attempt) waited \(ContinuousClock.now - started)")
            try await Task.sleep(for: .milliseconds(50))
        }
        // Waiting for dials from the 5th publish on would take at least 8 x 1.6 s = 12.8 s.
        #expect(ContinuousClock.now - first < .seconds(12), "twelve refused publishes took \(ContinuousClock.now - first)")
        await publisher.close()
    }
}
