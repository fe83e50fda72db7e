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
        #expect(!ready.text.contains("127.0.0.1") && !ready.text.contains(":1"), "the answer leaks the error: \(ready.text)")
        #expect(try await HTTP.get("http://127.0.0.1:18484/health/live").status == 200)
        try await service.stop()
    }

    /// A broker that accepts connections and never answers (a hung node, a black-holing load
    /// balancer): `/health/ready` answers at once from the background probe's last result,
    /// where it used to wait for a handshake that ignored its 2 s timeout for 10 s.
    @Test func readinessAnswersAtOnceWhenTheBrokerNeverAnswers() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let service = try ServiceProcess("storage", port: 18486, environment: [
            "AMQP_URL": "amqp://guest:guest@127.0.0.1:\(silent.port)/%2F",
        ])
        defer { service.crash() }
        var answer: HTTP.Answer?
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            answer = try? await HTTP.get("http://127.0.0.1:18486/health/ready")
            if let answer, answer.error["dependencies"] as? [String] == ["broker"] { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let first = try #require(answer)
        #expect(first.status == 503)
        #expect(first.error["dependencies"] as? [String] == ["broker"], "\(first.text)")
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let again = try await HTTP.get("http://127.0.0.1:18486/health/ready")
            #expect(ContinuousClock.now - started < .milliseconds(500), "the answer waited \(ContinuousClock.now - started)")
            #expect(again.status == 503)
        }
    }

    @Test func invalidConfigurationStopsAtStartNamingTheVariable() async throws {
        let service = try ServiceProcess("processing", port: 18485, environment: ["METRICS_PORT": "not-a-port"])
        service.process.waitUntilExit()
        let output = String(decoding: service.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(service.process.terminationStatus != 0)
        #expect(output.contains("METRICS_PORT"))
    }
}
