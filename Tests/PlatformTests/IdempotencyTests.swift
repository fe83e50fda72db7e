import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Platform
import Redis
import Synchronization
import TestSupport
import Testing

/// `Idempotency-Key` in-process against the real Redis: one effect per (principal, key,
/// request), another request under the same key refused, failures not kept, and a claim in
/// flight that lapses within a minute.
@Suite("HTTP: Idempotency-Key")
struct IdempotencyTests {
    final class Calls: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    let redis = RedisClient(url: TestServers.redisURL)

    /// POST /work answers 201 with a counter; POST /refuse answers 400 the first time, 201 after.
    func app(calls: Calls) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.add(middleware: IdempotencyMiddleware(redis: redis, logger: Logger(label: "test.idempotency")))
        router.post("/work") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1024)
            let n = calls.count.add(1, ordering: .relaxed).newValue
            return Response(status: .created, body: .init(byteBuffer: ByteBuffer(string: #"{"n":\#(n)}"#)))
        }
        router.post("/upload") { request, _ -> Response in
            var size = 0
            for try await chunk in request.body { size += chunk.readableBytes }
            let n = calls.count.add(1, ordering: .relaxed).newValue
            return Response(status: .created, body: .init(byteBuffer: ByteBuffer(string: #"{"n":\#(n),"size":\#(size)}"#)))
        }
        router.post("/refuse") { _, _ -> Response in
            let n = calls.count.add(1, ordering: .relaxed).newValue
            if n == 1 { throw APIError.badRequest("invalid", "not this time") }
            return Response(status: .created)
        }
        return Application(router: router)
    }

    func post(_ client: some TestClientProtocol, _ path: String, key: String, body: String = "{}") async throws -> (Int, String, String?) {
        try await client.execute(uri: path, method: .post, headers: [.idempotencyKey: key], body: ByteBuffer(string: body)) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.idempotentReplayed])
        }
    }

    @Test func theSameRequestAgainIsAnsweredOnceAndReplayed() async throws {
        let calls = Calls()
        let key = "same-\(UUID())"
        try await app(calls: calls).test(.router) { client in
            let first = try await post(client, "/work", key: key, body: #"{"a":1}"#)
            let again = try await post(client, "/work", key: key, body: #"{"a":1}"#)
            #expect(first.0 == 201 && again.0 == 201)
            #expect(again.1 == first.1)
            #expect(again.2 == "true")
            #expect(calls.value == 1)
        }
    }

    /// A client that rebuilds the same JSON object (keys in another order) sends the same request.
    @Test func theSameJSONWithKeysReorderedIsTheSameRequest() async throws {
        let calls = Calls()
        let key = "reordered-\(UUID())"
        try await app(calls: calls).test(.router) { client in
            let first = try await client.execute(uri: "/work", method: .post, headers: [.idempotencyKey: key, .contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"a":1,"b":[2,{"c":3,"d":4}]}"#)) { Int($0.status.code) }
            let again = try await client.execute(uri: "/work", method: .post, headers: [.idempotencyKey: key, .contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"b":[2,{"d":4,"c":3}], "a":1}"#)) { ($0.status.code, $0.headers[.idempotentReplayed]) }
            #expect(first == 201 && again.0 == 201 && again.1 == "true")
            #expect(calls.value == 1)
        }
    }

    @Test func anotherRequestUnderTheSameKeyIs422() async throws {
        let calls = Calls()
        let key = "reused-\(UUID())"
        try await app(calls: calls).test(.router) { client in
            #expect(try await post(client, "/work", key: key, body: #"{"a":1}"#).0 == 201)
            let other = try await post(client, "/work", key: key, body: #"{"a":2}"#)
            #expect(other.0 == 422)
            #expect(other.1.contains("idempotency_key_reused"), "\(other.1)")
            #expect(calls.value == 1)
        }
    }

    @Test func aRefusedRequestIsNotKept() async throws {
        let calls = Calls()
        let key = "refused-\(UUID())"
        try await app(calls: calls).test(.router) { client in
            #expect(try await post(client, "/refuse", key: key).0 == 400)
            let retried = try await post(client, "/refuse", key: key)
            #expect(retried.0 == 201, "the 400 was kept: \(retried)")
            #expect(calls.value == 2)
        }
    }

    /// A claim is written with a minute to live and kept answers with 24 hours: a request whose
    /// process died mid-way frees its key within the minute.
    @Test func aClaimInFlightLapsesWithinAMinute() async throws {
        let key = "claim-\(UUID())"
        let storageKey = "idem:anonymous:\(key)"
        let router = Router()
        router.add(middleware: IdempotencyMiddleware(redis: redis, logger: Logger(label: "test.idempotency")))
        let seen = Calls()
        router.post("/look") { _, _ -> Response in
            let ttl = try await redis.send("TTL", storageKey).int ?? -1
            seen.count.store(ttl, ordering: .relaxed)
            return Response(status: .created)
        }
        let status = try await Application(router: router).test(.router) { client in
            try await post(client, "/look", key: key).0
        }
        #expect(status == 201)
        let inFlight = seen.value
        #expect((1...60).contains(inFlight), "a claim in flight lives \(inFlight) s")
        let kept = try #require(try await redis.send("TTL", storageKey).int)
        #expect(kept > 86_000)
    }

    /// A large body (an upload) is fingerprinted as it streams, not held: the same bytes again
    /// are replayed, other bytes under the same key are a 422.
    @Test func aLargeBodyIsFingerprintedAsItStreams() async throws {
        let calls = Calls()
        let key = "large-\(UUID())"
        let big = String(repeating: "x", count: 3 << 20)
        try await app(calls: calls).test(.router) { client in
            let first = try await post(client, "/upload", key: key, body: big)
            let again = try await post(client, "/upload", key: key, body: big)
            let other = try await post(client, "/upload", key: key, body: big + "y")
            #expect(first.0 == 201 && first.1.contains("\(3 << 20)"))
            #expect(again.0 == 201 && again.1 == first.1 && again.2 == "true")
            #expect(other.0 == 422)
            #expect(calls.value == 1)
        }
    }
}
