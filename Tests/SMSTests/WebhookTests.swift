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
        let signature: String?
        let messageID: String?
    }

    @Test func processedMessageIsPostedToItsCallbackSigned() async throws {
        let received = Mutex<[Received]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            var body = try await request.body.collect(upTo: 1 << 20)
            received.withLock {
                $0.append(Received(body: body.readBytes(length: body.readableBytes) ?? [],
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
        let expected = "sha256=" + SMSWebhookHandler.signature(of: delivery.body, secret: Array(SMSPipeline.webhookSecret.utf8))
        #expect(delivery.signature == expected)
        #expect(delivery.messageID == id)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        #expect(object["id"] as? String == id)
        #expect(object["status"] as? String == "processed")
        #expect(object["encoding"] as? String == "GSM-7")
    }
}
