import Foundation
import Hummingbird
import HTTPTypes
import Postgres
import Synchronization
import TestSupport

/// The four services started once for the invoice suites, as real processes on ports of their
/// own, on a RabbitMQ vhost of their own (so the SMS suites' services, which run every workload
/// too, never take these messages), with a real SMTP sink and a callback receiver on loopback.
actor InvoicesPipeline {
    static let shared = InvoicesPipeline()
    static let webhookSecret = "test-webhook-secret-for-invoices"
    static let virtualHost = "switchyard_invoices"
    /// Room for the 100 MiB upload of the memory test.
    static let maxBytes = 128 << 20
    static let firstPort = TestServers.port(18640)
    static let callbackPort = TestServers.port(18651)
    nonisolated let base = "http://127.0.0.1:\(InvoicesPipeline.firstPort)"
    nonisolated let blobFolder = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-invoice-blobs-\(UUID().uuidString.prefix(8))")
    nonisolated let callbacks = PaidCallbacks()

    private(set) var services: [String: ServiceProcess] = [:]
    /// Set once by ``start()``; read by the tests from any task.
    nonisolated let sink = Mutex<MailSink?>(nil)
    private var receiver: Task<Void, any Error>?

    func start() async throws {
        guard services.isEmpty else { return }
        try await TestServers.rabbitmqctl("add_vhost", Self.virtualHost)
        try await TestServers.rabbitmqctl("set_permissions", "-p", Self.virtualHost, "guest", ".*", ".*", ".*")
        let sink = try await MailSink.start()
        self.sink.withLock { $0 = sink }
        receiver = try await callbacks.start(port: Self.callbackPort)
        let environment = ["AMQP_URL": TestServers.amqpURL(virtualHost: Self.virtualHost), "WEBHOOK_SECRET": Self.webhookSecret,
                           "OUTBOUND_ALLOW_CIDRS": "127.0.0.1/32", "CALLBACK_ALLOWED_PORTS": "80,443,\(Self.callbackPort)",
                           "SMTP_URL": sink.url, "SMTP_FROM": "invoices@switchyard.test",
                           "BLOB_STORE": "file://\(blobFolder.path)", "AUTH_MODE": "dev", "WEBHOOK_TIMEOUT": "3s",
                           "INVOICE_MAX_BYTES": String(Self.maxBytes)]
        for (index, name) in ["ingest", "storage", "processing", "notification"].enumerated() {
            services[name] = try ServiceProcess(name, port: Self.firstPort + index, environment: environment)
        }
        for service in services.values { try await service.waitUntilReady() }
    }

    func service(_ name: String) -> ServiceProcess { services[name]! }

    /// Seed 001's JSON upload.
    nonisolated func upload(sender: Int, receiver: Int, file: [UInt8], fileType: String = "application/pdf",
                            notifyEmail: String? = nil, callback: Bool = false, payable: Bool = true) async throws -> HTTP.Answer {
        var invoice: [String: Any] = ["receiver_id": receiver, "file_type": fileType, "content": Data(file).base64EncodedString(),
                                      "is_payable": payable]
        if let notifyEmail { invoice["notify_email"] = notifyEmail }
        if callback { invoice["callback_url"] = "http://127.0.0.1:\(Self.callbackPort)/paid" }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ["invoice": invoice]), as: UTF8.self)
        return try await HTTP.post("\(base)/api/sender/invoices", json: json, headers: [("Authorization", "sender \(sender)")])
    }

    /// Polls the sender's view of the invoice until it has one of `statuses`.
    nonisolated func waitForStatus(_ statuses: Set<String>, id: String, sender: Int, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let answer = try await HTTP.get("\(base)/api/sender/invoices/\(id)", headers: [("Authorization", "sender \(sender)")])
            if let status = answer.data["status"] as? String, statuses.contains(status) { return answer.data }
            guard ContinuousClock.now < deadline else {
                throw HTTP.Failure(description: "invoice \(id) stayed \(answer.data["status"] ?? "missing"): \(answer.text)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The mails the sink has received whose text contains `needle`.
    nonisolated func mails(containing needle: String) throws -> [String] {
        try (sink.withLock { $0 }?.mailFiles() ?? []).map { try String(contentsOf: $0, encoding: .utf8) }.filter { $0.contains(needle) }
    }

    nonisolated static func freshIDs() -> (sender: Int, consumer: Int) {
        let base = Int.random(in: 1_000_000...900_000_000_000)
        return (base, base + 1)
    }
}

/// A sender's callback endpoint on loopback: records each paid callback with its signature headers.
final class PaidCallbacks: Sendable {
    struct Delivery: Sendable {
        let body: [UInt8]
        let timestamp: String?
        let signature: String?
    }
    let received = Mutex<[Delivery]>([])

    func start(port: Int) async throws -> Task<Void, any Error> {
        let router = Router()
        router.post("/paid") { [self] request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock {
                $0.append(Delivery(body: Array(body.readableBytesView), timestamp: request.headers[HTTPField.Name("X-Switchyard-Timestamp")!],
                                   signature: request.headers[HTTPField.Name("X-Switchyard-Signature")!]))
            }
            return .noContent
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        try await Task.sleep(for: .milliseconds(300))
        return server
    }

    func deliveries(for id: String) -> [Delivery] {
        received.withLock { $0.filter { String(decoding: $0.body, as: UTF8.self).contains(id) } }
    }
}
