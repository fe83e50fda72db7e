import AMQP
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Invoices
import Logging
import NIOCore
import Platform
import Postgres
import Redis
import TestSupport
import Testing
import Workloads

/// The invoice routes in-process (HummingbirdTesting's `.router`), with the real PostgreSQL and
/// Redis, an in-memory publisher for the broker and an in-memory blob store: the contract's edge
/// cases in milliseconds. The pipeline through real services is `InvoicesPipelineTests`.
@Suite("Invoices: routes in-process", .serialized)
struct InvoiceRoutesTests {
    static let database = PostgresPool(url: TestServers.databaseURL, size: 8)
    static let redis = RedisClient(url: TestServers.redisURL)

    let publisher = InMemoryPublisher()
    let blobs = MemoryBlobStore()

    func app(maxBytes: Int = 1024 * 1024, authenticator: CallerAuthenticator? = nil) async throws -> some ApplicationProtocol {
        try await Migrator.all().migrate(Self.database, logger: Logger(label: "test.invoices.routes"))
        let environment = EnvironmentReader(["INVOICE_MAX_BYTES": String(maxBytes)])
        let ingest = InvoicesIngest(configuration: try InvoicesConfiguration(environment: environment), database: Self.database,
                                    redis: Self.redis, publisher: publisher, blobs: blobs,
                                    outbound: try OutboundPolicy(environment: environment), logger: Logger(label: "test.invoices"))
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorEnvelopeMiddleware())
        let devAuthenticator = try await CallerAuthenticator(mode: .dev, secret: nil)
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator ?? devAuthenticator))
        ingest.addRoutes(to: router)
        return Application(router: router)
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func error(_ buffer: ByteBuffer) -> (code: String?, field: String?) {
        let error = json(buffer)["error"] as? [String: Any]
        return (error?["code"] as? String, error?["field"] as? String)
    }

    /// A fresh sender/consumer id pair, so tests sharing the database never see each other's rows.
    static func freshIDs() -> (sender: Int, consumer: Int) {
        let base = Int.random(in: 1_000_000...900_000_000_000)
        return (base, base + 1)
    }

    static let jsonType: HTTPFields = [.contentType: "application/json"]

    static func headers(_ authorization: String, _ extra: HTTPFields = jsonType) -> HTTPFields {
        var fields = extra
        fields[.authorization] = authorization
        return fields
    }

    @Test func seed001sJSONUploadIs201ReceivedStoredAsABlobAndPublishedOnce() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender \(ids.sender)"),
                                     body: InvoiceFixtures.json(receiver: ids.consumer)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let data = Self.json(response.body)["data"] as? [String: Any]
                #expect(data?["status"] as? String == "received")
                #expect(data?["sender_id"] as? Int == ids.sender)
                #expect(data?["receiver_id"] as? Int == ids.consumer)
                #expect(data?["size"] as? Int == InvoiceFixtures.pdf.count)
                #expect(data?["sha256"] as? String == SHA256Hex.of(InvoiceFixtures.pdf))
                #expect(data?["is_payable"] as? Bool == true)
                #expect(data?.keys.contains("paid_at") == true)
            }
        }
        #expect(publisher.sent.map(\.queue) == ["invoices.store"])
        #expect(publisher.sent.first?.type == "invoices.received")
        let key = try #require(blobs.keys.first)
        #expect(try await blobs.read(key).collect() == InvoiceFixtures.pdf)
    }

    @Test(arguments: [
        (InvoiceFixtures.json(content: "not base64 !!"), 422, "content"),
        (InvoiceFixtures.json(content: ""), 422, "content"),
        (InvoiceFixtures.json(fileType: "application/zip"), 415, "file_type"),
        (InvoiceFixtures.json(receiver: 0), 400, "receiver_id"),
        (InvoiceFixtures.json(receiver: -3), 400, "receiver_id"),
        (InvoiceFixtures.json(receiver: "2"), 400, "receiver_id"),
        (InvoiceFixtures.json(fileType: "image/png"), 422, "content"),  // a PDF declared as PNG
        (InvoiceFixtures.json(extra: ["is_payable": "yes"]), 400, "is_payable"),
        (InvoiceFixtures.json(extra: ["notify_email": "not an address"]), 400, "notify_email"),
        (InvoiceFixtures.json(extra: ["callback_url": "http://169.254.169.254/latest/meta-data/"]), 400, "callback_url"),
        (ByteBuffer(string: #"{"invoice": [1]}"#), 400, "invoice"),
    ] as [(ByteBuffer, Int, String)])
    func badUploadsAreRefusedAndLeaveNothing(body: ByteBuffer, status: Int, field: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender 7"), body: body) { response in
                #expect(response.status.code == status, "\(String(buffer: response.body))")
                #expect(Self.error(response.body).field == field, "\(String(buffer: response.body))")
            }
        }
        #expect(publisher.sent.isEmpty)
        #expect(blobs.keys.isEmpty)
    }

    /// The broker refuses the hand-off: 503 with Retry-After. A publish that surely queued
    /// nothing (never sent, nacked) leaves no file behind; one that may have reached the broker
    /// (sent, its confirm never seen) keeps it, since a row may yet need it.
    @Test(arguments: [(AMQPError.Kind.connection, false), (.rejected, false), (.timeout, true)])
    func anUploadTheBrokerDidNotTakeIsA503AndKeepsTheFileOnlyIfItMayHaveArrived(failure: AMQPError.Kind, keepsFile: Bool) async throws {
        publisher.fail(with: AMQPError(failure, "the broker, in this test"))
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender 7"),
                                     body: InvoiceFixtures.json()) { response in
                #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
                #expect(response.headers[.retryAfter] != nil)
            }
        }
        #expect(publisher.sent.isEmpty)
        #expect(blobs.keys.isEmpty == !keepsFile, "\(failure): \(blobs.keys)")
    }

    @Test func anUploadOverTheLimitIsA413FromItsDeclaredLengthOrWhileReading() async throws {
        try await app(maxBytes: 100).test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender 7"),
                                     body: InvoiceFixtures.json()) { response in
                #expect(response.status == .contentTooLarge)
            }
            var multipart = Self.headers("sender 7", [.contentType: "multipart/form-data; boundary=\(InvoiceFixtures.boundary)"])
            multipart[.contentLength] = nil
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: multipart,
                                     body: InvoiceFixtures.multipart(fields: [("receiver_id", "2")], file: InvoiceFixtures.pdf)) { response in
                #expect(response.status == .contentTooLarge, "\(String(buffer: response.body))")
            }
        }
        #expect(publisher.sent.isEmpty)
        #expect(blobs.keys.isEmpty)
    }

    @Test(arguments: [false, true])
    func aMultipartUploadIsStreamedWithItsFieldsBeforeOrAfterTheFile(fileFirst: Bool) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post,
                                     headers: Self.headers("sender 7", [.contentType: "multipart/form-data; boundary=\(InvoiceFixtures.boundary)"]),
                                     body: InvoiceFixtures.multipart(fields: [("receiver_id", "9"), ("is_payable", "false"),
                                                                              ("notify_email", "bob@example.com")],
                                                                     file: InvoiceFixtures.png, fileType: "image/png", fileFirst: fileFirst)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let data = Self.json(response.body)["data"] as? [String: Any]
                #expect(data?["file_type"] as? String == "image/png")
                #expect(data?["receiver_id"] as? Int == 9)
                #expect(data?["is_payable"] as? Bool == false)
                #expect(data?["size"] as? Int == InvoiceFixtures.png.count)
            }
        }
        let key = try #require(blobs.keys.first)
        #expect(try await blobs.read(key).collect() == InvoiceFixtures.png)
        #expect(publisher.sent.count == 1)
    }

    @Test(arguments: [
        (InvoiceFixtures.multipart(fields: [("receiver_id", "2")], file: nil), 422, "file"),
        (InvoiceFixtures.multipart(fields: [("receiver_id", "2")], file: Array("PK\u{3}\u{4}zipzipzip".utf8)), 415, "file"),
        (InvoiceFixtures.multipart(fields: [("receiver_id", "2"), ("file_type", "image/png")], file: InvoiceFixtures.pdf), 422, "content"),
        (InvoiceFixtures.multipart(fields: [], file: InvoiceFixtures.pdf), 400, "receiver_id"),
        // Cut off inside the file part: no closing boundary.
        (ByteBuffer(bytes: Array(InvoiceFixtures.multipart(fields: [("receiver_id", "2")], file: InvoiceFixtures.pdf).readableBytesView.dropLast(40))),
         400, nil),
    ] as [(ByteBuffer, Int, String?)])
    func badMultipartUploadsAreRefusedAndLeaveNoBlob(body: ByteBuffer, status: Int, field: String?) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/sender/invoices", method: .post,
                                     headers: Self.headers("sender 7", [.contentType: "multipart/form-data; boundary=\(InvoiceFixtures.boundary)"]),
                                     body: body) { response in
                #expect(response.status.code == status, "\(String(buffer: response.body))")
                #expect(Self.error(response.body).field == field, "\(String(buffer: response.body))")
            }
        }
        #expect(publisher.sent.isEmpty)
        #expect(blobs.keys.isEmpty)
    }

    @Test(arguments: [
        ("/api/sender/invoices", "POST", nil, 401),
        ("/api/sender/invoices", "GET", "consumer 2", 403),
        ("/api/sender/invoices", "GET", "sender x", 401),
        ("/api/sender/invoices", "GET", "operator ops", 403),
        ("/api/consumer/invoices", "GET", "sender 1", 403),
        ("/api/consumer/invoices", "GET", nil, 401),
        ("/api/consumer/invoices/00000000-0000-0000-0000-000000000000/pay", "POST", "sender 1", 403),
        ("/api/consumer/invoices/00000000-0000-0000-0000-000000000000/file", "GET", "Bearer abc", 401),
    ] as [(String, String, String?, Int)])
    func theRoutesKnowTheirRoles(path: String, method: String, authorization: String?, status: Int) async throws {
        try await app().test(.router) { client in
            var headers = Self.jsonType
            if let authorization { headers[.authorization] = authorization }
            try await client.execute(uri: path, method: .init(method)!, headers: headers, body: InvoiceFixtures.json()) { response in
                #expect(response.status.code == status, "\(method) \(path) as \(authorization ?? "nobody"): \(String(buffer: response.body))")
            }
        }
        #expect(publisher.sent.isEmpty)
    }

    /// The same matrix in `AUTH_MODE=jwt` (what the Kubernetes manifests run): each role's
    /// token reaches only its own routes; a token of another secret, an expired one, or the dev
    /// header is a 401.
    @Test func theRoutesKnowTheirRolesUnderJWT() async throws {
        let secret = String(repeating: "s", count: 48)
        let authenticator = try await CallerAuthenticator(mode: .jwt, secret: secret)
        let stranger = try await CallerAuthenticator(mode: .jwt, secret: String(repeating: "t", count: 48))
        func token(_ subject: String, lifetime: TimeInterval = 300, by issuer: CallerAuthenticator? = nil) async throws -> String {
            "Bearer " + (try await (issuer ?? authenticator).mint(for: try #require(Principal(subject: subject)), lifetime: lifetime))
        }
        let (sender, consumer) = Self.freshIDs()
        let unknown = "/api/consumer/invoices/00000000-0000-0000-0000-000000000000"
        let cases: [(path: String, method: String, authorization: String, status: Int)] = [
            ("/api/sender/invoices", "GET", try await token("sender:\(sender)"), 200),
            ("/api/sender/invoices", "GET", try await token("consumer:\(consumer)"), 403),
            ("/api/sender/invoices", "GET", try await token("operator:ops"), 403),
            ("/api/sender/invoices", "GET", try await token("sender:\(sender)", by: stranger), 401),
            ("/api/sender/invoices", "GET", try await token("sender:\(sender)", lifetime: -60), 401),
            ("/api/sender/invoices", "GET", "sender \(sender)", 401),
            ("/api/consumer/invoices", "GET", try await token("consumer:\(consumer)"), 200),
            ("/api/consumer/invoices", "GET", try await token("sender:\(sender)"), 403),
            (unknown, "GET", try await token("consumer:\(consumer)"), 404),
            (unknown + "/pay", "POST", try await token("sender:\(sender)"), 403),
            (unknown + "/file", "GET", try await token("consumer:\(consumer)"), 404),
            ("/api/sender/invoices", "POST", try await token("consumer:\(consumer)"), 403),
        ]
        try await app(authenticator: authenticator).test(.router) { client in
            for check in cases {
                var headers = Self.jsonType
                headers[.authorization] = check.authorization
                try await client.execute(uri: check.path, method: .init(check.method)!, headers: headers,
                                         body: InvoiceFixtures.json(receiver: consumer)) { response in
                    #expect(response.status.code == check.status,
                            "\(check.method) \(check.path) as \(check.authorization.prefix(20)): \(String(buffer: response.body))")
                }
            }
        }
        #expect(publisher.sent.isEmpty)
    }

    /// Uploads through the route, then runs storage's handler on what was published (the real
    /// INSERT), then marks the invoice as processing would: a consumer-side fixture.
    func uploadedAndStored(sender: Int, consumer: Int, payable: Bool = true, status: String = "available",
                           client: some TestClientProtocol) async throws -> String {
        var id = ""
        try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender \(sender)"),
                                 body: InvoiceFixtures.json(receiver: consumer, extra: ["is_payable": payable])) { response in
            id = (Self.json(response.body)["data"] as? [String: Any])?["id"] as? String ?? ""
        }
        let envelopes = try publisher.sent.filter { $0.queue == "invoices.store" }.map {
            try EnvelopeCoding.decode(MessageEnvelope<ReceivedInvoice>.self, from: $0.body)
        }
        try await InvoicesStorageHandler(database: Self.database, redis: Self.redis, bus: InMemoryPublisher())
            .handle(envelopes.filter { $0.payload.invoice.id.uuidString.lowercased() == id })
        _ = try await Self.database.execute("UPDATE invoices SET status = $2 WHERE id = $1", [id, status])
        return id
    }

    @Test func fiftyConcurrentPaysHaveExactlyOneWinner() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            let id = try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, client: client)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await client.execute(uri: "/api/consumer/invoices/\(id)/pay", method: .post,
                                                 headers: Self.headers("consumer \(ids.consumer)")) { Int($0.status.code) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 49)
            try await client.execute(uri: "/api/consumer/invoices/\(id)/pay", method: .post,
                                     headers: Self.headers("consumer \(ids.consumer)")) { response in
                #expect(Self.error(response.body).code == "already_paid")
            }
        }
    }

    @Test func payAndTheFileFollowTheInvoicesStateAndOwnership() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            let unpayable = try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, payable: false, client: client)
            let rejected = try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, status: "rejected", client: client)
            let stored = try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, status: "stored", client: client)
            let consumer = Self.headers("consumer \(ids.consumer)")
            try await client.execute(uri: "/api/consumer/invoices/\(unpayable)/pay", method: .post, headers: consumer) { response in
                #expect(response.status == .conflict)
                #expect(Self.error(response.body).code == "not_payable")
            }
            for id in [rejected, stored] {
                try await client.execute(uri: "/api/consumer/invoices/\(id)/pay", method: .post, headers: consumer) { response in
                    #expect(Self.error(response.body).code == "not_payable")
                }
                try await client.execute(uri: "/api/consumer/invoices/\(id)/file", method: .get, headers: consumer) { response in
                    #expect(response.status == .conflict)
                }
            }
            // Someone else's invoice does not exist, for reading, paying and downloading alike.
            let stranger = Self.headers("consumer \(ids.consumer + 100)")
            for (path, method) in [("", HTTPRequest.Method.get), ("/pay", .post), ("/file", .get)] {
                try await client.execute(uri: "/api/consumer/invoices/\(unpayable)\(path)", method: method, headers: stranger) { response in
                    #expect(response.status == .notFound, "\(path)")
                }
            }
            try await client.execute(uri: "/api/sender/invoices/\(unpayable)", method: .get,
                                     headers: Self.headers("sender \(ids.sender + 100)")) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func theFileStreamsWithRangesAndETags() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            let id = try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, client: client)
            let consumer = Self.headers("consumer \(ids.consumer)")
            let pdf = InvoiceFixtures.pdf
            let etag = "\"\(SHA256Hex.of(pdf))\""
            try await client.execute(uri: "/api/consumer/invoices/\(id)/file", method: .get, headers: consumer) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == pdf)
                #expect(response.headers[.contentType] == "application/pdf")
                #expect(response.headers[.contentLength] == String(pdf.count))
                #expect(response.headers[.eTag] == etag)
            }
            var ranged = consumer
            ranged[.range] = "bytes=5-14"
            try await client.execute(uri: "/api/consumer/invoices/\(id)/file", method: .get, headers: ranged) { response in
                #expect(response.status == .partialContent)
                #expect(Array(response.body.readableBytesView) == Array(pdf[5...14]))
                #expect(response.headers[.contentRange] == "bytes 5-14/\(pdf.count)")
            }
            ranged[.range] = "bytes=\(pdf.count)-"
            try await client.execute(uri: "/api/consumer/invoices/\(id)/file", method: .get, headers: ranged) { response in
                #expect(response.status == .rangeNotSatisfiable)
            }
            var conditional = consumer
            conditional[.ifNoneMatch] = etag
            try await client.execute(uri: "/api/consumer/invoices/\(id)/file", method: .get, headers: conditional) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func listsAreTheCallersOwnNewestFirstWithFiltersAndBounds() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            var made: [String] = []
            for _ in 0..<3 { made.append(try await uploadedAndStored(sender: ids.sender, consumer: ids.consumer, client: client)) }
            let other = try await uploadedAndStored(sender: ids.sender + 50, consumer: ids.consumer, status: "rejected", client: client)
            try await client.execute(uri: "/api/sender/invoices?limit=2", method: .get, headers: Self.headers("sender \(ids.sender)")) { response in
                let data = Self.json(response.body)["data"] as? [String: Any]
                let items = (data?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(items == [made[2], made[1]])
                #expect(data?["total"] as? Int == 3)
            }
            try await client.execute(uri: "/api/consumer/invoices?status=rejected", method: .get,
                                     headers: Self.headers("consumer \(ids.consumer)")) { response in
                let items = ((Self.json(response.body)["data"] as? [String: Any])?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(items == [other])
            }
            try await client.execute(uri: "/api/consumer/invoices/sender/\(ids.sender)", method: .get,
                                     headers: Self.headers("consumer \(ids.consumer)")) { response in
                let total = (Self.json(response.body)["data"] as? [String: Any])?["total"] as? Int
                #expect(total == 3)
            }
            for query in ["limit=0", "limit=101", "offset=-1", "status=lost", "receiver_id=0"] {
                try await client.execute(uri: "/api/sender/invoices?\(query)", method: .get, headers: Self.headers("sender \(ids.sender)")) { response in
                    #expect(response.status == .badRequest, "\(query)")
                }
            }
        }
    }

    @Test func anInvoiceIsReadableByIdAtOnceAfterIts201() async throws {
        let ids = Self.freshIDs()
        try await app().test(.router) { client in
            var id = ""
            try await client.execute(uri: "/api/sender/invoices", method: .post, headers: Self.headers("sender \(ids.sender)"),
                                     body: InvoiceFixtures.json(receiver: ids.consumer)) { response in
                id = (Self.json(response.body)["data"] as? [String: Any])?["id"] as? String ?? ""
            }
            // Storage has not run: the answer comes from ingest's `received` copy.
            try await client.execute(uri: "/api/sender/invoices/\(id)", method: .get, headers: Self.headers("sender \(ids.sender)")) { response in
                #expect(response.status == .ok)
                #expect((Self.json(response.body)["data"] as? [String: Any])?["status"] as? String == "received")
            }
            try await client.execute(uri: "/api/sender/invoices/\(id)", method: .get, headers: Self.headers("sender \(ids.sender + 1)")) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
