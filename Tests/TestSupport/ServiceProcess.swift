import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A Switchyard executable started by a test as a real process, the way Kubernetes would:
/// environment in, HTTP out, SIGTERM (or SIGKILL) to stop it.
public final class ServiceProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart`, which tests call from one task.
    public private(set) var process: Process
    public let name: String
    public let port: Int
    let environment: [String: String]
    /// Standard output and error of the current run (a new pipe each restart).
    public private(set) var output = Pipe()

    public static var binaries: URL {
        ProcessInfo.processInfo.environment["SWITCHYARD_BIN_DIR"].map { URL(fileURLWithPath: $0) }
            ?? TestServers.root.appendingPathComponent(".build/debug")
    }

    public init(_ name: String, port: Int, environment extra: [String: String] = [:]) throws {
        self.name = name
        self.port = port
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = TestServers.databaseURL
        environment["AMQP_URL"] = TestServers.amqpURL
        environment["REDIS_URL"] = TestServers.redisURL
        environment["HTTP_PORT"] = String(port)
        environment["METRICS_PORT"] = String(port)
        environment["LOG_LEVEL"] = environment["TEST_SERVICE_LOG_LEVEL"] ?? "error"
        // As under supervision: a crash ends the process at once (no backtracer pausing threads).
        environment["SWIFT_BACKTRACE"] = environment["SWIFT_BACKTRACE"] ?? "enable=no"
        // Every test client connects from 127.0.0.1, so the per-client limit would be shared by
        // all the suites running at once; tests of that limit set their own.
        environment["SMS_CLIENT_RATE_LIMIT"] = environment["SMS_CLIENT_RATE_LIMIT"] ?? "1000000/60s"
        environment["SMS_MEDIA_CLIENT_RATE_LIMIT"] = environment["SMS_MEDIA_CLIENT_RATE_LIMIT"] ?? "1000000/60s"
        // The local set-up: development secrets allowed (a test that checks the deployment
        // rules sets it to something else).
        environment["SWITCHYARD_ENV"] = environment["SWITCHYARD_ENV"] ?? "development"
        // Not the local run's feed provider (a `make run` beside the tests, or a PROVIDER_URL in
        // the shell): a suite's processing would poll it and store its plans in the test
        // database. Suites that test the feed name their own provider.
        environment["PROVIDER_URL"] = "http://127.0.0.1:9/no-provider-for-this-suite"
        environment["PROVIDER_POLL_SECONDS"] = "86400"
        environment.merge(extra) { $1 }
        self.environment = environment
        process = Process()
        try launch()
    }

    private func launch() throws {
        process = Process()
        output = Pipe()
        process.executableURL = Self.binaries.appendingPathComponent(name)
        process.environment = environment
        process.standardError = output
        process.standardOutput = output
        try process.run()
        Self.running.register(process.processIdentifier)
    }

    /// Every service a test started, SIGKILLed when the test process exits: suites keep shared
    /// pipelines for the whole run and never stop them, and a service outliving its run (say,
    /// an older build of processing) would go on consuming the next run's queues.
    /// (`scripts/test.sh` also kills them between phases, which covers a test process that crashed.)
    private static let running = RunningServices()

    private final class RunningServices: Sendable {
        private let pids = Mutex<Set<pid_t>>([])

        init() {
            atexit { ServiceProcess.running.killAll() }
        }

        func register(_ pid: pid_t) { pids.withLock { _ = $0.insert(pid) } }
        /// Exited and reaped: its pid may be reused by something else.
        func forget(_ pid: pid_t) { pids.withLock { _ = $0.remove(pid) } }

        func killAll() {
            for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    /// SIGKILL: no chance to finish anything, as in a crash.
    public func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        Self.running.forget(process.processIdentifier)
    }

    public func restart() throws { try launch() }

    /// SIGTERM, then waits (at most 15 s); returns the exit status and how long it took.
    @discardableResult
    public func stop() async throws -> (status: Int32, elapsed: Duration) {
        let started = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning {
            if ContinuousClock.now - started > .seconds(15) { crash(); break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Self.running.forget(process.processIdentifier)
        return (process.terminationStatus, ContinuousClock.now - started)
    }

    /// Waits until `/health/ready` answers 200.
    public func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let answer = try await HTTP.get("http://127.0.0.1:\(port)/health/ready")
                if answer.status == 200 { return }
                last = "\(answer.status) \(answer.text)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HTTP.Failure(description: "\(name) was not ready within \(timeout); last answer: \(last)")
    }
}

/// Small HTTP helpers over AsyncHTTPClient.
public enum HTTP {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as a JSON object.
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        public var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
        public var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    }

    public static func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send("GET", url, headers: headers, body: nil)
    }

    public static func post(_ url: String, json: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send("POST", url, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    public static func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]?) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }
}
