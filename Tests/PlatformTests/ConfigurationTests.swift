import Foundation
import Platform
import Testing

@Suite("Configuration and envelope")
struct ConfigurationTests {
    @Test func defaultsWorkForTheLocalRun() throws {
        let configuration = try PlatformConfiguration(service: .storage, environment: EnvironmentReader([:]))
        #expect(configuration.port == 9101)
        #expect(configuration.amqpURL.virtualHost == "/")
        #expect(try PlatformConfiguration(service: .ingest, environment: EnvironmentReader([:])).port == 8080)
    }

    @Test(arguments: [
        ("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("DATABASE_URL", "mysql://x/y"),
        ("AMQP_URL", "amqp://"), ("REDIS_URL", "localhost:6379"), ("LOG_LEVEL", "loud"),
    ])
    func invalidValuesNameTheVariable(variable: String, value: String) throws {
        do {
            _ = try PlatformConfiguration(service: .ingest, environment: EnvironmentReader([variable: value]))
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
            #expect(error.description.contains(variable))
        }
    }

    @Test func durations() {
        #expect(EnvironmentReader.parseDuration("2s") == .seconds(2))
        #expect(EnvironmentReader.parseDuration("500ms") == .milliseconds(500))
        #expect(EnvironmentReader.parseDuration("24h") == .seconds(86_400))
        #expect(EnvironmentReader.parseDuration("-1s") == nil)
        #expect(EnvironmentReader.parseDuration("soon") == nil)
    }

    @Test func envelopeRoundTripsWithSnakeCaseAndRFC3339() throws {
        struct Payload: Codable, Sendable, Equatable { var text: String }
        let envelope = MessageEnvelope(type: "test.thing", requestID: "abc", payload: Payload(text: "héllo"))
        let bytes = try EnvelopeCoding.encode(envelope)
        let json = String(decoding: bytes, as: UTF8.self)
        #expect(json.contains("\"request_id\":\"abc\""))
        #expect(json.contains("\"attempt\":1"))
        #expect(json.contains("Z\""))
        let decoded = try EnvelopeCoding.decode(MessageEnvelope<Payload>.self, from: bytes)
        #expect(decoded.id == envelope.id && decoded.payload == envelope.payload)
        #expect(abs(decoded.createdAt.timeIntervalSince(envelope.createdAt)) < 0.001)
    }

    @Test func retryTiersGrowThenRepeat() {
        let queue = WorkQueue(name: "x", retryDelays: [.seconds(1), .seconds(10)], maxAttempts: 5)
        #expect(queue.retryTier(afterAttempt: 1) == 1)
        #expect(queue.retryTier(afterAttempt: 2) == 2)
        #expect(queue.retryTier(afterAttempt: 4) == 2)
        let names = queue.topology.queues.map(\.name)
        #expect(names == ["x", "x.retry.1", "x.retry.2", "x.dead"])
    }
}
