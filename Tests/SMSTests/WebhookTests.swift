import Crypto
import Foundation
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
        #expect(SMSWebhookHandler.signature(of: body, timestamp: 1_700_000_000, secret: Array("test-webhook-secret".utf8))
            == "f88ec740ec66796d97c091e778b72822d2fb6e83440dcc03ee39a9dca5aabc88")
    }

    /// What a receiver does, written here with swift-crypto directly rather than through
    /// `SMSWebhookHandler.signature`: HMAC-SHA256 with the shared secret over `<timestamp>.<body>`.
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
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 18590)))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(300))

        let accepted = try await pipeline.submit(message: "call me back", callbackURL: "http://127.0.0.1:18590/hook")
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
