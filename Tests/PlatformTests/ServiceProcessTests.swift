import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// Starts the real executables (built by `make test` before the tests run) and talks to them
/// over HTTP, as Kubernetes would.
@Suite("Service processes", .serialized)
struct ServiceProcessTests {
    static var binaries: URL {
        ProcessInfo.processInfo.environment["SWITCHYARD_BIN_DIR"].map { URL(fileURLWithPath: $0) }
            ?? TestServers.root.appendingPathComponent(".build/debug")
    }

    struct Running {
        let process: Process
        let port: Int
        let output: Pipe
    }

    func start(_ name: String, port: Int, environment extra: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent(name)
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = TestServers.databaseURL
        environment["HTTP_PORT"] = String(port)
        environment["METRICS_PORT"] = String(port)
        environment["LOG_LEVEL"] = "warning"
        environment.merge(extra) { $1 }
        process.environment = environment
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        try process.run()
        return Running(process: process, port: port, output: output)
    }

    func get(_ path: String, port: Int) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .GET
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    func waitForAnswer(_ path: String, port: Int) async throws -> (status: Int, body: String) {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let answer = try? await get(path, port: port) { return answer }
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func stopWithSIGTERM(_ running: Running) async throws -> (status: Int32, elapsed: Duration) {
        let started = ContinuousClock.now
        kill(running.process.processIdentifier, SIGTERM)
        while running.process.isRunning {
            guard ContinuousClock.now - started < .seconds(15) else {
                running.process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (running.process.terminationStatus, ContinuousClock.now - started)
    }

    @Test(arguments: [("ingest", 18480), ("storage", 18481), ("processing", 18482), ("notification", 18483)])
    func answersReadyServesMetricsAndStopsCleanlyOnSIGTERM(name: String, port: Int) async throws {
        let running = try start(name, port: port)
        let ready = try await waitForAnswer("/health/ready", port: port)
        #expect(ready.status == 200, "\(name): \(ready.body)")
        #expect(try await get("/health/live", port: port).status == 200)
        let metrics = try await get("/metrics", port: port)
        #expect(metrics.status == 200)
        let stopped = try await stopWithSIGTERM(running)
        #expect(running.process.terminationReason == .exit)
        #expect(stopped.status == 0)
        #expect(stopped.elapsed < .seconds(10))
    }

    @Test func readinessNamesTheDependencyThatIsDown() async throws {
        let running = try start("storage", port: 18484, environment: ["REDIS_URL": "redis://127.0.0.1:1/0"])
        let ready = try await waitForAnswer("/health/ready", port: 18484)
        #expect(ready.status == 503)
        #expect(ready.body.contains("redis"))
        #expect(!ready.body.contains("\"database\""))
        #expect(try await get("/health/live", port: 18484).status == 200)
        _ = try await stopWithSIGTERM(running)
    }

    @Test func invalidConfigurationStopsAtStartNamingTheVariable() async throws {
        let running = try start("processing", port: 18485, environment: ["METRICS_PORT": "not-a-port"])
        running.process.waitUntilExit()
        let output = String(decoding: running.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(running.process.terminationStatus != 0)
        #expect(output.contains("METRICS_PORT"))
    }
}
