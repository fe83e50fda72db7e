import Foundation
import Postgres
import TestSupport

/// The four services started once for the SMS suites, on ports of their own, against the test
/// database. `make test` stops any left running when the suite ends.
actor SMSPipeline {
    static let shared = SMSPipeline()
    static let webhookSecret = "test-webhook-secret"
    static let mediaMaxBytes = 1 << 20
    /// Two uploads of the largest size fit on one message, a third does not (MediaLimitsTests).
    static let mediaBytesPerMessage = 2 << 20
    /// Short, so that the tests of slow endpoints do not wait long.
    static let webhookTimeout = "2s"

    private(set) var services: [String: ServiceProcess] = [:]
    /// `TEST_PORT_OFFSET` moves them, so that another checkout's SMS suites can run beside these.
    static let firstPort = TestServers.port(18580)
    nonisolated let base = "http://127.0.0.1:\(SMSPipeline.firstPort)"
    nonisolated let database = PostgresPool(url: TestServers.databaseURL, size: 2)

    /// The tests' receivers listen on loopback, which the outbound policy refuses unless allowed.
    static let environment = ["WEBHOOK_SECRET": webhookSecret, "MEDIA_MAX_BYTES": String(mediaMaxBytes),
                              "SMS_MEDIA_BYTES_PER_MESSAGE": String(mediaBytesPerMessage),
                              "OUTBOUND_ALLOW_CIDRS": "127.0.0.1/32", "WEBHOOK_TIMEOUT": webhookTimeout,
                              "WEBHOOK_CIRCUIT_FAILURES": "2", "WEBHOOK_CIRCUIT_COOLDOWN": "60s"]

    func start() async throws {
        guard services.isEmpty else { return }
        for (index, name) in ["ingest", "storage", "processing", "notification"].enumerated() {
            services[name] = try ServiceProcess(name, port: Self.firstPort + index, environment: Self.environment)
        }
        for service in services.values { try await service.waitUntilReady() }
    }

    /// Another replica of a worker, as Kubernetes scales one out: same settings, its own port
    /// (`firstPort + 4` and up), a competing consumer of the same queues. The caller stops it.
    func startReplica(of name: String, portOffset: Int) async throws -> ServiceProcess {
        let replica = try ServiceProcess(name, port: Self.firstPort + 4 + portOffset, environment: Self.environment)
        try await replica.waitUntilReady()
        return replica
    }

    func service(_ name: String) -> ServiceProcess { services[name]! }

    /// A US number nobody else in the run uses, so rate limits never cross tests.
    nonisolated static func freshNumber() -> String {
        "+1415" + String(Int.random(in: 2...9)) + String(format: "%06d", Int.random(in: 0...999_999))
    }

    nonisolated func submit(from: String = freshNumber(), to: String = "+442071838750", message: String = "Hello",
                            callbackURL: String? = nil, headers: [(String, String)] = []) async throws -> HTTP.Answer {
        var body: [String: Any] = ["from": from, "to": to, "message": message]
        if let callbackURL { body["callback_url"] = callbackURL }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await HTTP.post("\(base)/messages", json: json, headers: headers)
    }

    /// Polls `GET /messages/:id` until the status is reached.
    nonisolated func waitForStatus(_ status: String, id: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let answer = try await HTTP.get("\(base)/messages/\(id)")
            if answer.data["status"] as? String == status { return answer.data }
            guard ContinuousClock.now < deadline else {
                throw HTTP.Failure(description: "message \(id) stayed \(answer.data["status"] ?? "missing")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
