import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Redis

/// `Idempotency-Key` on POST: the first response for a (principal, key) is kept in Redis for
/// 24 hours and answered again, status and body, to every repeat, with no second effect.
///
/// - A key belongs to a principal (the caller; anonymous callers share one scope) and to one
///   request: its fingerprint (SHA-256 of method, path and body; a JSON body in a canonical
///   form, so that a client that rebuilds the same object with its keys in another order
///   retries the same request). The same key with another request is a 422
///   `idempotency_key_reused`, never the first request's answer. Only a small JSON body (its
///   `Content-Length` at most 64 KiB) is read whole for that canonical form; any other body is
///   hashed as the handler streams it (a key on a 100 MiB upload costs no memory), byte for byte.
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
    let logger: Logger
    static var ttlSeconds: Int { 86_400 }
    static var inFlightSeconds: Int { 60 }
    /// A JSON body up to this size is fingerprinted in canonical form (read whole first);
    /// every other body is hashed as it streams to the handler, so that a key on a 100 MiB
    /// upload costs no memory.
    static var canonicalJSONBytes: Int { 64 * 1024 }

    public init(redis: RedisClient, logger: Logger,
                principal: @escaping @Sendable (Request, Context) -> String = { _, _ in "anonymous" }) {
        self.redis = redis
        self.logger = logger
        self.principal = principal
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else { return try await next(request, context) }
        guard !key.isEmpty, key.utf8.count <= 255, key.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) else {
            throw APIError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters", field: "Idempotency-Key")
        }
        var request = request
        let head = Array("\(request.method.rawValue)\n\(request.uri.path)\n".utf8)
        let storageKey = "idem:\(principal(request, context)):\(key)"
        let contentType = request.headers[.contentType]
        // The fingerprint: known before the handler runs for a small JSON body, else computed
        // from the bytes as the handler reads them (``BodyHasher``).
        var known: String?
        var hasher: BodyHasher?
        if contentType?.lowercased().hasPrefix("application/json") == true,
           let declared = request.headers[.contentLength].flatMap(Int.init), declared <= Self.canonicalJSONBytes {
            let body = try await request.collectBody(upTo: Self.canonicalJSONBytes)
            known = SHA256Hex.of(head + Self.canonical(body, contentType: contentType))
        } else {
            let streaming = BodyHasher(prefix: head)
            request.body = RequestBody(asyncSequence: HashingBody(base: request.body, hasher: streaming))
            hasher = streaming
        }

        let claim = Record(state: .pending, fingerprint: known)
        let claimed = try await redis.send("SET", storageKey, claim.bytes, "NX", "EX", Self.inFlightSeconds)
        if claimed.isNull {
            if let hasher {
                // A repeat's body is read (hashed, not kept) to tell the same request from another.
                for try await _ in request.body {}
                return try await answerRepeat(of: storageKey, fingerprint: hasher.fingerprint())
            }
            return try await answerRepeat(of: storageKey, fingerprint: known ?? "")
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
        if let hasher, !hasher.started {
            // A route that never read its body (an empty POST, say): its bytes still count.
            for try await _ in request.body {}
        }
        let fingerprint = known ?? hasher?.fingerprint() ?? ""
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

    init(state: State, fingerprint: String?, status: Int? = nil, contentType: String? = nil, body: Data? = nil) {
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

/// SHA-256 of a request's method, path and body, updated as the body streams through
/// ``HashingBody``. A body the handler stopped reading half-way gets a fingerprint no complete
/// body can have, so a retry of it is refused rather than answered with another request's result.
final class BodyHasher: Sendable {
    private struct State {
        var hasher = SHA256()
        var started = false
        var finished = false
    }
    private let state: NIOLockedValueBox<State>

    init(prefix: [UInt8]) {
        var initial = State()
        initial.hasher.update(data: prefix)
        state = NIOLockedValueBox(initial)
    }

    var started: Bool { state.withLockedValue { $0.started } }

    func update(_ chunk: ByteBuffer?) {
        state.withLockedValue { state in
            state.started = true
            if let chunk {
                chunk.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
            } else {
                state.finished = true
            }
        }
    }

    func fingerprint() -> String {
        state.withLockedValue { ($0.finished ? "" : "partial:") + SHA256Hex.hex($0.hasher.finalize()) }
    }
}

/// A request body that shows each chunk to a ``BodyHasher`` on its way to the handler.
struct HashingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let hasher: BodyHasher

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), hasher: hasher) }

    struct Iterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let hasher: BodyHasher
        mutating func next() async throws -> ByteBuffer? {
            let chunk = try await base.next()
            hasher.update(chunk)
            return chunk
        }
    }
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
