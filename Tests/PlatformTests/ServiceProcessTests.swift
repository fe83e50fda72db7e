import Foundation
import TestSupport
import Testing

/// Starts the real executables (built by `make test` before the tests run) and talks to them
/// over HTTP, as Kubernetes would.
@Suite("Service processes", .serialized)
struct ServiceProcessTests {
    @Test(arguments: [("ingest", 18480), ("storage", 18481), ("processing", 18482), ("notification", 18483)])
    func answersReadyServesMetricsAndStopsCleanlyOnSIGTERM(name: String, port: Int) async throws {
        // Their own vhost: these short-lived workers must not take the SMS suites' messages.
        let service = try ServiceProcess(name, port: port, environment: ["AMQP_URL": TestServers.isolatedAMQPURL])
        try await service.waitUntilReady()
        #expect(try await HTTP.get("http://127.0.0.1:\(port)/health/live").status == 200)
        let metrics = try await HTTP.get("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        let stopped = try await service.stop()
        #expect(service.process.terminationReason == .exit)
        #expect(stopped.status == 0)
        #expect(stopped.elapsed < .seconds(10))
    }

    @Test func readinessNamesTheDependencyThatIsDown() async throws {
        let service = try ServiceProcess("storage", port: 18484, environment: ["REDIS_URL": "redis://127.0.0.1:1/0",
                                                                              "AMQP_URL": TestServers.isolatedAMQPURL])
        let deadline = ContinuousClock.now + .seconds(30)
        var answer = try? await HTTP.get("http://127.0.0.1:18484/health/ready")
        while answer == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            answer = try? await HTTP.get("http://127.0.0.1:18484/health/ready")
        }
        let ready = try #require(answer)
        #expect(ready.status == 503)
        #expect(ready.headers.first(name: "Retry-After") != nil)
        #expect(ready.text.contains("redis"))
        #expect(!ready.text.contains("\"database\""))
        #expect(try await HTTP.get("http://127.0.0.1:18484/health/live").status == 200)
        try await service.stop()
    }

    @Test func invalidConfigurationStopsAtStartNamingTheVariable() async throws {
        let service = try ServiceProcess("processing", port: 18485, environment: ["METRICS_PORT": "not-a-port"])
        service.process.waitUntilExit()
        let output = String(decoding: service.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(service.process.terminationStatus != 0)
        #expect(output.contains("METRICS_PORT"))
    }
}
