import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore
import NIOHTTP1
import Platform
import Postgres

/// Media attachments: images only, content-addressed by SHA-256, stored once whatever the
/// number of uploads, and served as immutable.
///
/// Attaching is public (the contract), so what one client can pile up is capped: uploads per client
/// (`SMS_MEDIA_CLIENT_RATE_LIMIT`), and attachments and bytes per message
/// (`SMS_MEDIA_PER_MESSAGE`, `SMS_MEDIA_BYTES_PER_MESSAGE`; beyond, 409 `media_quota_exceeded`).
struct SMSMedia: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let cache: VersionedCache
    let maxBytes: Int
    let perMessage: Int
    let bytesPerMessage: Int
    let uploads: ClientRateLimiter

    /// Where the bytes of `sha256` live in the blob store: the layout the folder store had
    /// before the store had keys, so media stored then is found under the same name.
    static func blobKey(_ sha256: String) throws -> BlobKey {
        try BlobKey("sha256/\(sha256.prefix(2))/\(sha256)")
    }

    func attach(_ request: Request, to message: UUID, client: String?) async throws -> Response {
        let tooLarge = APIError(.contentTooLarge, code: "payload_too_large", message: "media is limited to \(maxBytes) bytes")
        let contentType = request.headers[.contentType] ?? ""
        let multipart = contentType.lowercased().hasPrefix("multipart/form-data")
        // Multipart leaves room for the part headers and boundaries around a file of the maximum size.
        let limit = multipart ? maxBytes + 64 * 1024 : maxBytes
        // Refuse from the declared length, before reading any of the body.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        if let client {
            let state = try await uploads.take(client: client)
            guard state.allowed else {
                throw APIError(.tooManyRequests, code: "rate_limited",
                               message: "at most \(state.limit) uploads per \(uploads.window) from one client; retry in \(state.resetSeconds) s",
                               headers: [.retryAfter: String(state.resetSeconds), .rateLimitLimit: String(state.limit),
                                         .rateLimitRemaining: String(state.remaining), .rateLimitReset: String(state.resetSeconds)])
            }
        }
        let body = try await collect(request, limit: limit, tooLarge: tooLarge)
        let bytes = multipart ? try Self.filePart(of: body, contentType: contentType) : body
        guard bytes.count <= maxBytes else { throw tooLarge }
        guard !bytes.isEmpty else { throw APIError(.unprocessableContent, code: "empty_media", message: "the upload is empty", field: "file") }
        guard let kind = MediaKind.detect(bytes) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "only JPEG, PNG, GIF and WebP images are accepted")
        }
        let sha = SHA256Hex.of(bytes)
        let view = MediaView(sha256: sha, contentType: kind.rawValue, size: bytes.count, url: "/media/\(sha)")
        // Checked before the file is written, so a refused upload costs no disk; checked again,
        // under the message's lock, when the row is written.
        let usage = try await database.withConnection { try SMSRepository.attachedUsage(of: message, sha256: sha, on: $0) }
        if usage.alreadyAttached { return JSONEnvelope.response(view, status: .ok) }
        try checkQuota(count: usage.count, bytes: usage.bytes, adding: bytes.count)
        // The blob first: a row never points at a missing blob. Content-addressed: bytes
        // already stored are not written again.
        let key = try Self.blobKey(sha)
        if try await !blobs.exists(key) { _ = try await blobs.write(key, bytes: bytes) }
        let outcome = try await database.withConnection { [perMessage, bytesPerMessage] connection in
            try SMSRepository.attach(view, to: message, maxCount: perMessage, maxBytes: bytesPerMessage, on: connection)
        }
        switch outcome {
        case .created:
            try? await cache.invalidate()
            return JSONEnvelope.response(view, status: .created)
        case .existing:
            return JSONEnvelope.response(view, status: .ok)
        case .overQuota(let count, let used):
            try checkQuota(count: count, bytes: used, adding: bytes.count)
            return JSONEnvelope.response(view, status: .ok)  // not reached: the check above throws
        }
    }

    private func checkQuota(count: Int, bytes: Int, adding size: Int) throws(APIError) {
        guard count + 1 <= perMessage, bytes + size <= bytesPerMessage else {
            throw APIError(.conflict, code: "media_quota_exceeded",
                           message: "a message holds at most \(perMessage) attachments and \(bytesPerMessage) bytes of them; this one has \(count) of \(bytes) bytes")
        }
    }

    /// Streams the blob from the store in chunks (never the whole blob in memory), honouring
    /// one `Range` of bytes (206 with `Content-Range`; 416 when it starts past the end).
    func download(_ sha: String, request: Request, context: some RequestContext) async throws -> Response {
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw APIError.notFound("no such media") }
        let etag = "\"\(sha)\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=31536000, immutable", .acceptRanges: "bytes"]
        guard let contentType = try await database.withConnection({ try SMSRepository.mediaContentType(sha, on: $0) }) else {
            throw APIError.notFound("no such media")
        }
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) == true {
            return Response(status: .notModified, headers: headers)
        }
        let key = try Self.blobKey(sha)
        guard let size = try await blobs.size(of: key), size > 0 else { throw APIError.notFound("no such media") }
        headers[.contentType] = contentType
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            headers[.contentLength] = String(size)
            let content = try await blobs.read(key)
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: content.chunks))
        case .part(let range):
            headers[.contentLength] = String(range.count)
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            let content = try await blobs.read(key, range: range)
            return Response(status: .partialContent, headers: headers, body: ResponseBody(asyncSequence: content.chunks))
        case .unsatisfiable:
            throw APIError(.rangeNotSatisfiable, code: "range_not_satisfiable", message: "the media is \(size) bytes long",
                           headers: [.contentRange: "bytes */\(size)"])
        }
    }

    private func collect(_ request: Request, limit: Int, tooLarge: APIError) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    /// The bytes of the first multipart part whose Content-Disposition has the parameter
    /// `name="file"` (read by multipart-kit, so `filename="file"` is not mistaken for it).
    static func filePart(of body: [UInt8], contentType: String) throws -> [UInt8] {
        guard let boundary = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\"")), !boundary.isEmpty else {
            throw APIError.badRequest("invalid_multipart", "multipart/form-data needs a boundary")
        }
        let parser = MultipartParser(boundary: boundary)
        var headers = HTTPHeaders()
        var current = ByteBuffer()
        var file: [UInt8]?
        parser.onHeader = { name, value in headers.add(name: name, value: value) }
        parser.onBody = { buffer in current.writeBuffer(&buffer) }
        parser.onPartComplete = {
            if file == nil, MultipartPart(headers: headers, body: current).name == "file" {
                file = current.readBytes(length: current.readableBytes) ?? []
            }
            headers = HTTPHeaders()
            current = ByteBuffer()
        }
        do { try parser.execute(body) } catch {
            throw APIError.badRequest("invalid_multipart", "the multipart body could not be parsed")
        }
        guard let file else { throw APIError.badRequest("missing_file", "the multipart body has no field named file", field: "file") }
        return file
    }
}
