import Crypto
import Foundation
import Platform
import HTTPTypes
import Hummingbird
import SMS
import Synchronization
import TestSupport
import Testing

@Suite("SMS: signed callbacks", .serialized)
struct WebhookTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    struct Received: Sendable {
        let body: [UInt8]
        let timestamp: String?
        let signature: String?
        let messageID: String?
    }

    /// A known answer computed outside Swift, so the signing function cannot agree with itself:
    /// `printf '%s' '1700000000.{"id":"5b0c3a4e-8f59-4c47-9d6a-2f1c3b7d9e10","status":"processed"}' |
    ///  openssl dgst -sha256 -hmac 'test-webhook-secret'`
    @Test func theSignatureIsHMACSHA256OfTimestampDotBody() {
        let body = Array(#"{"id":"5b0c3a4e-8f59-4c47-9d6a-2f1c3b7d9e10","status":"processed"}"#.utf8)
        #expect(HMACSigner(secret: Array("test-webhook-secret".utf8)).webhook(body: body, timestamp: 1_700_000_000)
            == "f88ec740ec66796d97c091e778b72822d2fb6e83440dcc03ee39a9dca5aabc88")
    }

    /// What a receiver does, written here with swift-crypto directly rather than through
    /// `HMACSigner`: HMAC-SHA256 with the shared secret over `<timestamp>.<body>`.
    static func receiverAccepts(_ delivery: Received, secret: String, now: Date = Date()) -> Bool {
        guard let text = delivery.timestamp, let timestamp = Int(text), abs(Int(now.timeIntervalSince1970) - timestamp) <= 300,
              let signature = delivery.signature, signature.hasPrefix("sha256=") else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(text).".utf8) + delivery.body, using: SymmetricKey(data: Array(secret.utf8)))
        let expected = mac.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        return signature.dropFirst("sha256=".count) == expected
    }

    @Test func processedMessageIsPostedToItsCallbackSigned() async throws {
        let received = Mutex<[Received]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            var body = try await request.body.collect(upTo: 1 << 20)
            received.withLock {
                $0.append(Received(body: body.readBytes(length: body.readableBytes) ?? [],
                                   timestamp: request.headers[HTTPField.Name("X-Switchyard-Timestamp")!],
                                   signature: request.headers[HTTPField.Name("X-Switchyard-Signature")!],
                                   messageID: request.headers[HTTPField.Name("X-Switchyard-Message-Id")!]))
            }
            return .noContent
        }
        let port = TestServers.port(18590)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(300))

        let accepted = try await pipeline.submit(message: "call me back", callbackURL: "http://127.0.0.1:\(port)/hook")
        let id = try #require(accepted.data["id"] as? String)
        // Only this message's callback counts: a retry of a callback from an earlier run (the
        // notify queue keeps retrying with growing delays) may reach the same port first.
        func ours() -> Received? { received.withLock { $0.first { $0.messageID == id } } }
        let deadline = ContinuousClock.now + .seconds(30)
        while ours() == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }

        let delivery = try #require(ours())
        #expect(delivery.timestamp != nil, "no X-Switchyard-Timestamp")
        #expect(Self.receiverAccepts(delivery, secret: SMSPipeline.webhookSecret), "signature \(delivery.signature ?? "none") at \(delivery.timestamp ?? "none")")
        // Checked the same way, a wrong secret, an altered body or a stale timestamp is refused.
        #expect(!Self.receiverAccepts(delivery, secret: "another-secret"))
        #expect(!Self.receiverAccepts(Received(body: delivery.body + Array(" ".utf8), timestamp: delivery.timestamp,
                                               signature: delivery.signature, messageID: id), secret: SMSPipeline.webhookSecret))
        #expect(!Self.receiverAccepts(delivery, secret: SMSPipeline.webhookSecret, now: Date().addingTimeInterval(301)))
        #expect(delivery.messageID == id)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        #expect(object["id"] as? String == id)
        #expect(object["status"] as? String == "processed")
        #expect(object["encoding"] as? String == "GSM-7")
    }
}

@Suite("SMS: webhook delivery under slow endpoints", .serialized)
struct WebhookDeliveryTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    /// Three callbacks to an endpoint that never answers in time, then one to a healthy
    /// endpoint: the healthy one is served at once (deliveries run concurrently, each bounded
    /// by WEBHOOK_TIMEOUT, 2 s here), and once the slow endpoint's circuit is open (2 failures)
    /// its retries fail without dialling it. Before, delivery ran one at a time and waited 10 s
    /// for each answer's head, so the healthy endpoint waited 20 s and more.
    @Test func aSlowEndpointDoesNotHoldBackTheOthers() async throws {
        // Each endpoint an origin of its own (the circuit is per origin), on a port this run
        // picks: retries of an earlier run's slow callbacks keep coming for 45 minutes, and
        // would open the circuit of a port they share with this run.
        let ports = Array((19150...19199).map(TestServers.port).shuffled().prefix(2))
        let receiver = CallbackReceiver(port: ports[0])
        let server = try await receiver.start()
        defer { server.cancel() }
        let healthyReceiver = CallbackReceiver(port: ports[1])
        let healthyServer = try await healthyReceiver.start()
        defer { healthyServer.cancel() }
        var slowIDs: [String] = []
        for index in 0..<3 {
            let answer = try await pipeline.submit(message: "slow \(index)", callbackURL: "http://127.0.0.1:\(receiver.port)/slow")
            slowIDs.append(try #require(answer.data["id"] as? String))
        }
        func slowArrivals() -> Int { receiver.ids("/slow").filter(slowIDs.contains).count }
        // At least two are dialled (each failing at the 2 s deadline) before the healthy one is
        // sent: two failures open the circuit. The third is dialled too when it reaches
        // notification before the circuit opens; when storage and processing are busy with other
        // suites' messages it comes later and is refused undialled, which is the breaker working.
        // (Generous: the suites share the pipeline, and NoLossTests may be queueing 2,000.)
        let deadline = ContinuousClock.now + .seconds(90)
        while slowArrivals() < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .seconds(3))  // a third already on its way lands meanwhile
        let dialled = slowArrivals()
        #expect((2...3).contains(dialled))

        let healthy = try #require(try await pipeline.submit(message: "fast", callbackURL: "http://127.0.0.1:\(healthyReceiver.port)/hook").data["id"] as? String)
        // Timed from the moment it is processed (handed to notification): storage and processing
        // may be busy with other suites' messages.
        _ = try await pipeline.waitForStatus("processed", id: healthy, timeout: .seconds(90))
        let sent = ContinuousClock.now
        while !healthyReceiver.ids("/hook").contains(healthy), ContinuousClock.now - sent < .seconds(30) { try await Task.sleep(for: .milliseconds(50)) }
        let waited = ContinuousClock.now - sent
        #expect(healthyReceiver.ids("/hook").contains(healthy))
        #expect(waited < .seconds(5), "the healthy endpoint waited \(waited)")

        // The first retries come 5 s after the failures: the open circuit refuses them undialled.
        try await Task.sleep(for: .seconds(8))
        #expect(slowArrivals() == dialled, "the slow endpoint was dialled again: \(receiver.ids("/slow"))")
    }
}

/// Services of their own, on a vhost of their own, with nothing allowed on loopback: what the
/// policy refuses at submission, and a name that resolves to loopback refused at delivery.
@Suite("SMS: callbacks refused by the outbound policy", .serialized)
struct CallbackPolicyTests {
    static let virtualHost = TestServers.virtualHost + "_outbound"
    static let receiverPort = TestServers.port(19160)
    static let ingestPort = TestServers.port(19161)

    actor Services {
        static let shared = Services()
        var started: [ServiceProcess] = []

        func start() async throws {
            guard started.isEmpty else { return }
            try await TestServers.rabbitmqctl("add_vhost", CallbackPolicyTests.virtualHost)
            try await TestServers.rabbitmqctl("set_permissions", "-p", CallbackPolicyTests.virtualHost, "guest", ".*", ".*", ".*")
            // Only the receiver's port beside 80 and 443, so that a name reaches the delivery check.
            let environment = ["AMQP_URL": TestServers.amqpURL(virtualHost: CallbackPolicyTests.virtualHost),
                               "OUTBOUND_ALLOW_CIDRS": "", "CALLBACK_ALLOWED_PORTS": "80,443,\(CallbackPolicyTests.receiverPort)"]
            for (index, name) in ["ingest", "storage", "processing", "notification"].enumerated() {
                started.append(try ServiceProcess(name, port: CallbackPolicyTests.ingestPort + index, environment: environment))
            }
            for service in started { try await service.waitUntilReady() }
        }
    }

    init() async throws { try await Services.shared.start() }

    func submit(_ callbackURL: String) async throws -> HTTP.Answer {
        let body = ["from": SMSPipeline.freshNumber(), "to": "+442071838750", "message": "policy", "callback_url": callbackURL]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await HTTP.post("http://127.0.0.1:\(Self.ingestPort)/messages", json: json)
    }

    @Test(arguments: ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9101/health/live", "http://2130706433:6379/",
                      "http://[::ffff:127.0.0.1]/", "http://0x7f.1:\(CallbackPolicyTests.receiverPort)/hook"])
    func insideAddressesAreA400AtSubmission(url: String) async throws {
        let answer = try await submit(url)
        #expect(answer.status == 400, "\(url): \(answer.text)")
        #expect(answer.error["field"] as? String == "callback_url")
        #expect(answer.json["data"] is NSNull)
    }

    /// `localhost` passes submission (a name), resolves to loopback at delivery, and is
    /// dead-lettered at once with the reason: the receiver never sees a request.
    @Test func aNameThatResolvesInsideIsDeadLetteredWithTheReason() async throws {
        let receiver = CallbackReceiver(port: Self.receiverPort)
        let server = try await receiver.start()
        defer { server.cancel() }
        let answer = try await submit("http://localhost:\(Self.receiverPort)/hook?token=secret-token")
        #expect(answer.status == 202, "\(answer.text)")
        let id = try #require(answer.data["id"] as? String)
        let environment = ["AMQP_URL": TestServers.amqpURL(virtualHost: Self.virtualHost)]
        var shown = ""
        let deadline = ContinuousClock.now + .seconds(30)
        // The envelope names the message in upper case (Foundation's UUID).
        while !shown.lowercased().contains(id.lowercased()), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            shown = try await SwitchyardCLI.run(["dead-letters", "show", "sms.notify"], environment: environment).output
        }
        #expect(shown.lowercased().contains(id.lowercased()), "\(shown)")
        #expect(shown.contains("loopback"), "\(shown)")
        #expect(!shown.contains("secret-token"), "the reason carries the URL's query: \(shown)")
        #expect(receiver.ids("/hook").isEmpty)
    }
}
