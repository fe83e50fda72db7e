import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore
import Platform
import Postgres

/// Media attachments: images only, content-addressed by SHA-256, stored once whatever the
/// number of uploads, and served as immutable.
struct SMSMedia: Sendable {
    let database: PostgresPool
    let blobs: BlobStore
    let cache: VersionedCache
    let maxBytes: Int

    func attach(_ request: Request, to message: UUID) async throws -> Response {
        let tooLarge = APIError(.contentTooLarge, code: "payload_too_large", message: "media is limited to \(maxBytes) bytes")
        let contentType = request.headers[.contentType] ?? ""
        let multipart = contentType.lowercased().hasPrefix("multipart/form-data")
        // Multipart leaves room for the part headers and boundaries around a file of the maximum size.
        let limit = multipart ? maxBytes + 64 * 1024 : maxBytes
        // Refuse from the declared length, before reading any of the body.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let body = try await collect(request, limit: limit, tooLarge: tooLarge)
        let bytes = multipart ? try Self.filePart(of: body, contentType: contentType) : body
        guard bytes.count <= maxBytes else { throw tooLarge }
        guard !bytes.isEmpty else { throw APIError(.unprocessableContent, code: "empty_media", message: "the upload is empty", field: "file") }
        guard let kind = MediaKind.detect(bytes) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "only JPEG, PNG, GIF and WebP images are accepted")
        }
        let sha = SHA256Hex.of(bytes)
        try await blobs.put(bytes, sha256: sha)  // file first: a row never points at a missing file
        let view = MediaView(sha256: sha, contentType: kind.rawValue, size: bytes.count, url: "/media/\(sha)")
        let attached = try await database.withConnection { try SMSRepository.attach(view, to: message, on: $0) }
        try? await cache.invalidate()
        return JSONEnvelope.response(view, status: attached ? .created : .ok)
    }

    func download(_ sha: String, request: Request) async throws -> Response {
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw APIError.notFound("no such media") }
        let etag = "\"\(sha)\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=31536000, immutable"]
        guard let contentType = try await database.withConnection({ try SMSRepository.mediaContentType(sha, on: $0) }) else {
            throw APIError.notFound("no such media")
        }
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) == true {
            return Response(status: .notModified, headers: headers)
        }
        guard let bytes = try await blobs.get(sha256: sha) else { throw APIError.notFound("no such media") }
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func collect(_ request: Request, limit: Int, tooLarge: APIError) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    /// The bytes of the multipart field named `file`.
    static func filePart(of body: [UInt8], contentType: String) throws -> [UInt8] {
        guard let boundary = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\"")), !boundary.isEmpty else {
            throw APIError.badRequest("invalid_multipart", "multipart/form-data needs a boundary")
        }
        let parser = MultipartParser(boundary: boundary)
        var headers: [String: String] = [:]
        var current: [UInt8] = []
        var file: [UInt8]?
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { buffer in current += buffer.readableBytesView }
        parser.onPartComplete = {
            if let disposition = headers["content-disposition"], disposition.contains("name=\"file\"") { file = current }
            headers = [:]
            current = []
        }
        do { try parser.execute(body) } catch {
            throw APIError.badRequest("invalid_multipart", "the multipart body could not be parsed")
        }
        guard let file else { throw APIError.badRequest("missing_file", "the multipart body has no field named file", field: "file") }
        return file
    }
}
