import Hummingbird
import MultipartKit
import NIOCore
import NIOHTTP1
import Platform

/// Reads a `multipart/form-data` upload as it arrives: small fields into memory, the part named
/// `file` handed on chunk by chunk (``fileChunks``) to the blob store, so a 100 MiB upload
/// passes through ingest a network read at a time.
///
/// multipart-kit's parser pushes (callbacks); the blob store pulls (an async sequence). This
/// joins them: each pull of ``fileChunks`` feeds the parser request-body chunks until the file
/// part has produced bytes, or has ended. The reader is used by one task, in order: first the
/// file's chunks, then ``finish()`` for the fields that follow it.
final class MultipartInvoiceReader: @unchecked Sendable {
    private let parser: MultipartParser
    private var body: RequestBody.AsyncIterator
    /// Bytes of the whole body read so far, and the most it may have.
    private var bodyBytes = 0
    private let maxBodyBytes: Int
    private let maxFileBytes: Int

    private var headers = HTTPHeaders()
    private var fieldValue = ByteBuffer()
    private var inFile = false
    private var fileSeen = false
    private var fileDone = false
    private var pendingFile: [ByteBuffer] = []
    private var bodyEnded = false
    /// The declared type of the file part (its Content-Type), when it is one we know.
    private(set) var filePartType: String?
    private(set) var fields: [String: String] = [:]
    private var partCount = 0
    /// A part has begun (headers seen) and not ended: a body that stops here is truncated.
    private var partOpen = false
    private var fieldBytes = 0

    static let maxParts = 16
    static let maxFieldBytes = 64 * 1024

    init(body: RequestBody, boundary: String, maxFileBytes: Int) {
        parser = MultipartParser(boundary: boundary)
        self.body = body.makeAsyncIterator()
        self.maxFileBytes = maxFileBytes
        maxBodyBytes = maxFileBytes + Self.maxFieldBytes
        parser.onHeader = { [unowned self] name, value in
            headers.add(name: name, value: value)
            partOpen = true
            fieldBytes += name.utf8.count + value.utf8.count
            if !inFile, MultipartPart(headers: headers, body: ByteBuffer()).name == "file", !fileSeen {
                inFile = true
                fileSeen = true
            }
        }
        parser.onBody = { [unowned self] buffer in
            if inFile {
                pendingFile.append(buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer())
            } else {
                fieldBytes += buffer.readableBytes
                fieldValue.writeBuffer(&buffer)
            }
        }
        parser.onPartComplete = { [unowned self] in
            partCount += 1
            partOpen = false
            let part = MultipartPart(headers: headers, body: fieldValue)
            if inFile {
                inFile = false
                fileDone = true
                filePartType = headers.first(name: "Content-Type")?.lowercased()
            } else if let name = part.name, fields[name] == nil {
                fields[name] = String(buffer: fieldValue)
            }
            headers = HTTPHeaders()
            fieldValue = ByteBuffer()
        }
    }

    /// Whether a part named `file` has begun (after ``fileChunks`` ended: whether there was one).
    var hasFile: Bool { fileSeen }

    /// The file part's bytes, pulled from the request body as the consumer asks.
    var fileChunks: BlobChunks {
        BlobChunks { [self] in { try await self.nextFileChunk() } }
    }

    private func nextFileChunk() async throws -> ByteBuffer? {
        while true {
            if !pendingFile.isEmpty { return pendingFile.removeFirst() }
            if fileDone { return nil }
            if bodyEnded {
                if fileSeen { throw Self.truncated }
                return nil
            }
            try await feed()
        }
    }

    /// Reads the rest of the body (fields after the file) and checks it was complete.
    func finish() async throws -> [String: String] {
        while !bodyEnded { try await feed() }
        pendingFile.removeAll()
        if partOpen || partCount == 0 { throw Self.truncated }
        return fields
    }

    private func feed() async throws {
        guard let chunk = try await body.next() else {
            bodyEnded = true
            return
        }
        bodyBytes += chunk.readableBytes
        if bodyBytes > maxBodyBytes { throw BlobStoreError.tooLarge(limit: maxFileBytes) }
        do {
            try parser.execute(chunk)
        } catch {
            throw APIError.badRequest("invalid_multipart", "the multipart body could not be parsed")
        }
        if partCount > Self.maxParts || fieldBytes > Self.maxFieldBytes {
            throw APIError.badRequest("invalid_multipart", "at most \(Self.maxParts) parts and \(Self.maxFieldBytes) bytes of fields besides the file")
        }
    }

    static var truncated: APIError {
        APIError.badRequest("invalid_multipart", "the multipart body ends inside a part (incomplete upload)")
    }

    /// The boundary of a `multipart/form-data` content type, or nil.
    static func boundary(of contentType: String) -> String? {
        contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.lowercased().hasPrefix("boundary=") }
            .map { String($0.dropFirst("boundary=".count)).trimmingCharacters(in: .init(charactersIn: "\"")) }
            .flatMap { $0.isEmpty || $0.utf8.count > 70 ? nil : $0 }
    }
}
