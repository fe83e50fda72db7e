import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Redis

/// `Idempotency-Key` on POST: the first response for a (principal, key) is kept in Redis for
/// 24 hours and answered again, status and body, to every repeat, with no second effect.
/// A repeat that arrives while the first is still running gets a 409; a first attempt that
/// failed with a 5xx is forgotten, so the client can retry it.
public struct IdempotencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let redis: RedisClient
    let principal: @Sendable (Request, Context) -> String
    static var ttlSeconds: Int { 86_400 }

    public init(redis: RedisClient, principal: @escaping @Sendable (Request, Context) -> String = { _, _ in "public" }) {
        self.redis = redis
        self.principal = principal
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else { return try await next(request, context) }
        guard !key.isEmpty, key.utf8.count <= 255, key.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) else {
            throw APIError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters", field: "Idempotency-Key")
        }
        let storageKey = "idem:\(principal(request, context)):\(key)"
        let claimed = try await redis.send("SET", storageKey, "pending", "NX", "EX", Self.ttlSeconds)
        if claimed.isNull {
            let stored = try await redis.send("GET", storageKey)
            guard let bytes = stored.bytes, let replay = StoredResponse(bytes) else {
                throw APIError(.conflict, code: "idempotency_key_in_use", message: "a request with this Idempotency-Key is still being processed",
                               headers: [.retryAfter: "1"])
            }
            var response = Response(status: .init(code: replay.status), headers: [.contentType: replay.contentType],
                                    body: .init(byteBuffer: ByteBuffer(bytes: replay.body)))
            response.headers[.idempotentReplayed] = "true"
            return response
        }
        do {
            let response = try await next(request, context)
            guard response.status.code < 500 else {
                _ = try? await redis.send("DEL", storageKey)
                return response
            }
            let body = try await response.body.collected()
            let stored = StoredResponse(status: response.status.code, contentType: response.headers[.contentType] ?? "application/json", body: body)
            try await redis.send("SET", storageKey, stored.bytes, "EX", Self.ttlSeconds)
            return Response(status: response.status, headers: response.headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        } catch let error as APIError where error.status.code < 500 {
            // A 4xx is a response like any other: the same key keeps answering it.
            let response = try error.response(from: request, context: context)
            let body = try await response.body.collected()
            try await redis.send("SET", storageKey, StoredResponse(status: error.status.code, contentType: "application/json; charset=utf-8", body: body).bytes,
                                 "EX", Self.ttlSeconds)
            throw error
        } catch {
            _ = try? await redis.send("DEL", storageKey)
            throw error
        }
    }
}

/// A kept response: status, content type and body, as one JSON value in Redis.
struct StoredResponse: Codable {
    let status: Int
    let contentType: String
    let body: [UInt8]

    init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init?(_ bytes: [UInt8]) {
        guard let value = try? JSONDecoder().decode(StoredResponse.self, from: Data(bytes)) else { return nil }
        self = value
    }

    var bytes: [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }
}

extension ResponseBody {
    /// The whole body in memory (for responses we just built, which are small).
    func collected() async throws -> [UInt8] {
        let collector = BodyCollector()
        try await write(collector)
        return collector.bytes
    }
}

/// A writer that keeps what is written.
final class BodyCollector: ResponseBodyWriter {
    var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytesView }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

extension HTTPField.Name {
    public static let idempotencyKey = Self("Idempotency-Key")!
    public static let idempotentReplayed = Self("Idempotent-Replayed")!
}
