import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Redis

/// `Idempotency-Key` on POST: the first response for a (principal, key) is kept in Redis for
/// 24 hours and answered again, status and body, to every repeat, with no second effect.
///
/// - A key belongs to a principal (the caller; anonymous callers share one scope) and to one
///   request: its fingerprint (SHA-256 of method, path and body; a JSON body in a canonical
///   form, so that a client that rebuilds the same object with its keys in another order
///   retries the same request). The same key with another request is a 422
///   `idempotency_key_reused`, never the first request's answer.
/// - While the first request runs, its key is claimed for at most ``inFlightSeconds``; a
///   repeat meanwhile gets 409 `idempotency_key_in_use` with `Retry-After`. A claim whose
///   request died with its process frees itself after that minute, not after 24 hours.
/// - Only 2xx and 3xx answers are kept: after a 4xx or 5xx the client may fix the request or
///   retry it under the same key.
/// - Keeping the answer is best effort: once the work is done, a Redis failure while saving it
///   is logged and the client still gets its 2xx (the claim then lapses after the minute).
public struct IdempotencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let redis: RedisClient
    let principal: @Sendable (Request, Context) -> String
    let maxBodyBytes: Int
    let logger: Logger
    static var ttlSeconds: Int { 86_400 }
    static var inFlightSeconds: Int { 60 }

    /// `maxBodyBytes`: the body is read before the handler runs, to fingerprint it; a larger one
    /// sent with a key is a 413 (set it to the largest body any POST route accepts).
    public init(redis: RedisClient, maxBodyBytes: Int, logger: Logger,
                principal: @escaping @Sendable (Request, Context) -> String = { _, _ in "anonymous" }) {
        self.redis = redis
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.principal = principal
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else { return try await next(request, context) }
        guard !key.isEmpty, key.utf8.count <= 255, key.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) else {
            throw APIError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters", field: "Idempotency-Key")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch is HTTPError {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "a request with an Idempotency-Key may carry at most \(maxBodyBytes) bytes")
        }
        let fingerprint = SHA256Hex.of(Array("\(request.method.rawValue)\n\(request.uri.path)\n".utf8)
                                       + Self.canonical(body, contentType: request.headers[.contentType]))
        let storageKey = "idem:\(principal(request, context)):\(key)"

        let claim = Record(state: .pending, fingerprint: fingerprint)
        let claimed = try await redis.send("SET", storageKey, claim.bytes, "NX", "EX", Self.inFlightSeconds)
        if claimed.isNull {
            return try await answerRepeat(of: storageKey, fingerprint: fingerprint)
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Nothing is kept for a failure (an APIError 4xx included): the key is free again.
            _ = try? await redis.send("DEL", storageKey)
            throw error
        }
        guard response.status.code < 400 else {
            _ = try? await redis.send("DEL", storageKey)
            return response
        }
        let bytes = try await response.body.collected()
        let kept = Record(state: .complete, fingerprint: fingerprint, status: response.status.code,
                          contentType: response.headers[.contentType] ?? "application/json", body: Data(bytes))
        do {
            try await redis.send("SET", storageKey, kept.bytes, "EX", Self.ttlSeconds)
        } catch {
            logger.warning("could not keep the response of an Idempotency-Key; answering it anyway", metadata: ["error": "\(error)"])
        }
        return Response(status: response.status, headers: response.headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func answerRepeat(of storageKey: String, fingerprint: String) async throws -> Response {
        let stored = try await redis.send("GET", storageKey)
        // Gone meanwhile (the first failed, or its claim lapsed): the client may simply retry.
        guard let bytes = stored.bytes, let record = Record(bytes) else { throw Self.inUse }
        if let kept = record.fingerprint, kept != fingerprint {
            throw APIError(.unprocessableContent, code: "idempotency_key_reused",
                           message: "this Idempotency-Key was used for a different request (method, path or body)")
        }
        guard record.state == .complete, let status = record.status else { throw Self.inUse }
        var response = Response(status: .init(code: status), headers: [.contentType: record.contentType ?? "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: record.body ?? Data())))
        response.headers[.idempotentReplayed] = "true"
        return response
    }

    /// A JSON body with its object keys sorted (a small, shallow one: the parse is bounded);
    /// any other body as sent.
    static func canonical(_ body: ByteBuffer, contentType: String?) -> [UInt8] {
        let bytes = Array(body.readableBytesView)
        guard contentType?.lowercased().hasPrefix("application/json") == true, bytes.count <= 64 * 1024,
              JSONDepth.of(bytes) <= 32,
              let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
              let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]) else {
            return bytes
        }
        return Array(sorted)
    }

    static var inUse: APIError {
        APIError(.conflict, code: "idempotency_key_in_use", message: "a request with this Idempotency-Key is still being processed",
                 headers: [.retryAfter: "1"])
    }
}

/// How deeply a JSON text nests arrays and objects (strings skipped): checked before a
/// recursive parser sees it, so that `[[[[...` cannot exhaust the stack.
public enum JSONDepth {
    public static func of(_ bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

/// What Redis keeps under an Idempotency-Key: the claim of a request in flight, then its answer.
struct Record: Codable {
    enum State: String, Codable { case pending, complete }
    var state: State
    /// Nil only in records written before fingerprints existed.
    var fingerprint: String?
    var status: Int?
    var contentType: String?
    var body: Data?

    init(state: State, fingerprint: String, status: Int? = nil, contentType: String? = nil, body: Data? = nil) {
        self.state = state
        self.fingerprint = fingerprint
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init?(_ bytes: [UInt8]) {
        guard let value = try? JSONDecoder().decode(Record.self, from: Data(bytes)) else { return nil }
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
