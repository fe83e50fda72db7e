import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

/// Each server is stopped for 10 s and started again while clients keep submitting messages.
/// What must hold: clients only ever see 202 or 503 with `Retry-After` (no 500, no refused
/// connection, no timeout), every accepted message is stored exactly once and processed, and
/// every service is ready again within 30 s of the server's return.
///
/// These tests restart the servers every other suite uses, so `make test` runs them in a phase
/// of their own after the rest (scripts/test.sh), one at a time.
@Suite("Faults: a server restart under load loses nothing", .serialized)
struct ServerRestartTests {
    @Test func postgresRestart() async throws { try await restartUnderLoad("postgres") }
    @Test func redisRestart() async throws { try await restartUnderLoad("redis") }
    @Test func rabbitmqRestart() async throws { try await restartUnderLoad("rabbitmq") }

    func restartUnderLoad(_ server: String) async throws {
        let pipeline = try await FaultPipeline.shared.start()
        let load = SubmissionLoad(base: pipeline.base, clients: 6)
        let running = Task { await load.run() }
        defer { load.stop() }  // also when an expectation below throws
        try await Task.sleep(for: .seconds(3))

        try await TestServers.serversScript("stop", server)
        try await Task.sleep(for: .seconds(10))
        try await TestServers.serversScript("start")
        let returned = ContinuousClock.now
        try await pipeline.waitUntilEveryServiceIsReady(within: .seconds(30))
        let readyAfter = ContinuousClock.now - returned

        try await Task.sleep(for: .seconds(3))
        load.stop()
        await running.value
        let outcome = load.outcome
        print("\(server) restart: \(outcome.summary); every service ready \(readyAfter) after the server returned")

        #expect(outcome.accepted.count > 0)
        #expect(outcome.otherStatuses.isEmpty, "answers other than 202/503: \(outcome.otherStatuses)")
        #expect(outcome.unavailableWithoutRetryAfter == 0)
        #expect(outcome.transportErrors.isEmpty, "requests that got no answer: \(outcome.transportErrors.prefix(5))")
        try await pipeline.expectStoredOnceAndProcessed(outcome.accepted)
    }
}

/// The four services on ports of their own, on a vhost of their own.
actor FaultPipeline {
    static let shared = FaultPipeline()
    nonisolated let base = "http://127.0.0.1:18650"
    nonisolated let database = PostgresPool(url: TestServers.databaseURL, size: 2)
    private var services: [ServiceProcess] = []

    func start() async throws -> FaultPipeline {
        guard services.isEmpty else { return self }
        for (index, name) in ["ingest", "storage", "processing", "notification"].enumerated() {
            services.append(try ServiceProcess(name, port: 18650 + index, environment: [
                "AMQP_URL": TestServers.faultsAMQPURL, "PROVIDER_URL": "http://127.0.0.1:1/",
                // A crash must end the process at once (see the README): no backtrace pauses.
                "SWIFT_BACKTRACE": "enable=no",
            ]))
        }
        try await waitUntilEveryServiceIsReady(within: .seconds(60))
        return self
    }

    func waitUntilEveryServiceIsReady(within timeout: Duration) async throws {
        for service in services {
            #expect(service.process.isRunning, "\(service.name) exited with \(service.process.terminationStatus)")
        }
        let deadline = ContinuousClock.now + timeout
        for service in services {
            try await service.waitUntilReady(timeout: max(.milliseconds(1), deadline - ContinuousClock.now))
        }
    }

    /// Every id is in the database once, processed, within two minutes.
    nonisolated func expectStoredOnceAndProcessed(_ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(Set(ids).count == ids.count, "an id was answered twice", sourceLocation: sourceLocation)
        let deadline = ContinuousClock.now + .seconds(120)
        var processed = 0
        while ContinuousClock.now < deadline {
            // The test's own pool meets the restart too: its first query may hit a dead connection.
            if let count = try? await database.query(
                "SELECT count(*) AS n FROM sms_messages WHERE id = ANY($1::uuid[]) AND status = 'processed'", [ids])[0].decode("n", as: Int.self) {
                processed = count
                if processed == ids.count { break }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(processed == ids.count, "\(ids.count - processed) accepted messages never reached processed", sourceLocation: sourceLocation)
        let rows = try await database.query("SELECT count(*) AS n FROM sms_messages WHERE id = ANY($1::uuid[])", [ids])
        #expect(try rows[0].decode("n", as: Int.self) == ids.count, sourceLocation: sourceLocation)
    }
}

/// Closed-loop clients submitting valid messages from fresh senders until stopped, recording
/// every answer.
final class SubmissionLoad: Sendable {
    struct Outcome: Sendable {
        var accepted: [String] = []
        var unavailable = 0
        var unavailableWithoutRetryAfter = 0
        var otherStatuses: [Int: Int] = [:]
        var transportErrors: [String] = []
        var summary: String {
            "\(accepted.count) accepted, \(unavailable) answered 503, other statuses \(otherStatuses), \(transportErrors.count) without an answer"
        }
    }

    let base: String
    let clients: Int
    private let stopped = Atomic<Bool>(false)
    private let state = Mutex(Outcome())

    init(base: String, clients: Int) {
        self.base = base
        self.clients = clients
    }

    var outcome: Outcome { state.withLock { $0 } }
    func stop() { stopped.store(true, ordering: .relaxed) }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask { [self] in
                    var n = 0
                    while !stopped.load(ordering: .relaxed) {
                        n += 1
                        await submit("client \(client) message \(n)")
                    }
                }
            }
        }
    }

    private func submit(_ text: String) async {
        let from = "+1415" + String(Int.random(in: 2...9)) + String(format: "%06d", Int.random(in: 0...999_999))
        let body = #"{"from": "\#(from)", "to": "+442071838750", "message": "\#(text)"}"#
        do {
            let answer = try await HTTP.post("\(base)/messages", json: body)
            state.withLock { outcome in
                switch answer.status {
                case 202:
                    if let id = answer.data["id"] as? String { outcome.accepted.append(id) }
                case 503:
                    outcome.unavailable += 1
                    if answer.headers.first(name: "Retry-After") == nil { outcome.unavailableWithoutRetryAfter += 1 }
                default:
                    outcome.otherStatuses[answer.status, default: 0] += 1
                }
            }
            // A client that is told to come back does not hammer: a short pause, as a real one would.
            if answer.status == 503 { try? await Task.sleep(for: .milliseconds(100)) }
        } catch {
            state.withLock { $0.transportErrors.append("\(error)") }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
