import AMQP
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Platform
import Postgres
import Redis
@testable import SMS
import TestSupport
import Testing
import Workloads

/// SMS's routes in-process (HummingbirdTesting's `.router`: no socket, no service process),
/// with the real Redis and PostgreSQL and an in-memory publisher in place of the broker: the
/// edge cases of the HTTP contract in milliseconds each. The end-to-end suites (PipelineTests,
/// NoLossTests...) keep proving the real path through the broker and the workers.
@Suite("SMS: routes in-process")
struct SMSRoutesTests {
    static let database = PostgresPool(url: TestServers.databaseURL, size: 2)
    static let redis = RedisClient(url: TestServers.redisURL)

    let publisher = InMemoryPublisher()

    func app() async throws -> some ApplicationProtocol { try await Self.app(publisher: publisher) }

    /// SMS's routes behind the platform's request-id and error-envelope middleware, publishing
    /// into `publisher`.
    static func app(publisher: InMemoryPublisher) async throws -> some ApplicationProtocol {
        try await Migrator.all().migrate(database, logger: Logger(label: "test.sms.routes"))
        let environment = EnvironmentReader(["SMS_RATE_LIMIT": "50/60s", "SMS_CLIENT_RATE_LIMIT": "100000/60s"])
        let ingest = SMSIngest(configuration: try SMSConfiguration(environment: environment), database: database,
                               lists: database, databaseURL: TestServers.databaseURL, redis: redis, publisher: publisher,
                               blobs: FolderBlobStore(root: URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("switchyard-route-tests")),
                               queues: QueueInspector(url: try AMQPURL(TestServers.amqpURL)),
                               clients: try ClientIdentity(environment: environment), outbound: try OutboundPolicy(environment: environment))
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorEnvelopeMiddleware())
        ingest.addRoutes(to: router)
        return Application(router: router)
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func submission(from: String = SMSPipeline.freshNumber(), to: String = "+442071838750", message: Any = "Hi") -> ByteBuffer {
        let body: [String: Any] = ["from": from, "to": to, "message": message]
        return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: body))
    }

    @Test(arguments: [
        (#"{"from": "+1234", "to": "+442071838750", "message": "x"}"#, "from"),
        (#"{"from": "+14155550100", "to": "+999123456789", "message": "x"}"#, "to"),
        (#"{"from": "+14155550100", "to": "+442071838750", "message": ""}"#, "message"),
        (#"{"from": "+14155550100", "to": "+442071838750"}"#, "message"),
        (#"{"from": "+14155550100", "to": "+442071838750", "message": 5}"#, "message"),
        ("{\"from\": \"+14155550100\", \"to\": \"+442071838750\", \"message\": \"" + String(repeating: "a", count: 161) + "\"}", "message"),
        (#"{"from": "+14155550100", "to": "+442071838750", "message": "bell\u0007"}"#, "message"),
    ])
    func invalidSubmissionsAre400sAndPublishNothing(body: String, field: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/messages", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest, "\(body)")
                let error = Self.json(response.body)["error"] as? [String: Any]
                #expect(error?["field"] as? String == field, "\(body): \(String(buffer: response.body))")
            }
        }
        #expect(publisher.sent.isEmpty)
    }

    @Test func anAcceptedMessageIsPublishedOnceToStorageWithItsType() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/messages", method: .post, headers: [.contentType: "application/json"],
                                     body: Self.submission()) { response in
                #expect(response.status == .accepted)
                #expect(response.headers[.init("RateLimit-Remaining")!] != nil)
            }
        }
        #expect(publisher.sent.map(\.queue) == ["sms.store"])
        #expect(publisher.sent.first?.type == "sms.accepted")
    }

    /// A broker that cannot take the message: 503 with Retry-After, and the quota given back
    /// (the same request again is refused the same way, not counted twice nor called a duplicate).
    @Test func aPublishThatFailsIs503WithRetryAfter() async throws {
        publisher.fail(with: AMQPError(.connection, "broker down"))
        let body = Self.submission()
        try await app().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/messages", method: .post, headers: [.contentType: "application/json"], body: body) { response in
                    #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
                    #expect(response.headers[.retryAfter] != nil)
                }
            }
        }
        #expect(publisher.sent.isEmpty)
    }

    @Test(arguments: ["status=sent", "limit=0", "limit=101", "limit=ten", "offset=-1", "offset=1.5", "from=%2B1234"])
    func badListParametersAre400s(query: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/messages?\(query)", method: .get) { response in
                #expect(response.status == .badRequest, "\(query)")
                let error = Self.json(response.body)["error"] as? [String: Any]
                #expect(error?["field"] as? String == String(query.prefix { $0 != "=" }))
            }
        }
    }

    @Test func unknownAndMalformedIds() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/messages/\(UUID().uuidString)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/messages/not-a-uuid", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }
}
