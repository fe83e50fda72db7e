import Foundation
import Hummingbird
import NIOCore
import Platform

/// Reads `POST /api/sender/invoices` into a durable blob and validated fields, in either form
/// the contract takes: seed 001's JSON with the file in base64, or `multipart/form-data`
/// streamed into the blob store. Refusals are 4xx in the envelope and leave no blob behind.
struct InvoiceUpload: Sendable {
    let blobs: any BlobStore
    let maxBytes: Int
    let outbound: OutboundPolicy

    struct Received: Sendable {
        var fields: InvoiceFields
        var fileType: InvoiceFileType
        var blob: StoredBlob
    }

    var tooLarge: APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "an invoice file is limited to \(maxBytes) bytes (INVOICE_MAX_BYTES)")
    }

    func receive(_ request: Request, key: BlobKey) async throws -> Received {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if contentType.hasPrefix("multipart/form-data") {
            return try await multipart(request, contentType: request.headers[.contentType] ?? "", key: key)
        }
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "send application/json (seed 001's form) or multipart/form-data")
        }
        return try await json(request, key: key)
    }

    // MARK: - JSON with base64 content

    private func json(_ request: Request, key: BlobKey) async throws -> Received {
        let limit = (maxBytes + 2) / 3 * 4 + 64 * 1024
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
        guard JSONDepth.of(Array(body.readableBytesView)) <= 8 else {
            throw APIError.badRequest("invalid_json", "the body nests too deeply")
        }
        let invoice: JSONInvoice
        do {
            invoice = try JSONDecoder().decode(JSONInvoice.Body.self, from: Data(buffer: body)).invoice
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.last?.stringValue ?? "invoice"
            throw APIError.badRequest("invalid_\(field)", "\(field) has the wrong type", field: field)
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError.badRequest("missing_field", "the body must have an \"\(key.stringValue)\" object", field: key.stringValue)
        } catch {
            throw APIError.badRequest("invalid_json", "the body must be a JSON object {\"invoice\": {...}}")
        }
        let fields = try InvoiceFields.validate(receiverID: invoice.receiverID.map(String.init), fileType: invoice.fileType,
                                                isPayable: invoice.isPayable.map { $0 ? "true" : "false" },
                                                notifyEmail: invoice.notifyEmail, callbackURL: invoice.callbackURL, outbound: outbound)
        guard let fileType = fields.fileType else {
            throw APIError.badRequest("missing_field", "file_type is required (application/pdf or image/png)", field: "file_type")
        }
        guard let encoded = invoice.content, !encoded.isEmpty else {
            throw APIError(.unprocessableContent, code: "missing_content", message: "content (the file in base64) is required", field: "content")
        }
        // Line breaks are common in base64 written by tools (`base64` wraps at 76).
        guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !bytes.isEmpty,
              encoded.utf8.allSatisfy({ Self.base64Alphabet.contains($0) }) else {
            throw APIError(.unprocessableContent, code: "invalid_content", message: "content is not valid base64", field: "content")
        }
        guard bytes.count <= maxBytes else { throw tooLarge }
        guard fileType.matches(bytes.prefix(InvoiceFileType.signatureLength)) else { throw Self.mismatch(fileType) }
        let blob = try await blobs.write(key, bytes: Array(bytes))
        return Received(fields: fields, fileType: fileType, blob: blob)
    }

    /// Seed 001's body: `{"invoice": {...}}`.
    struct JSONInvoice: Decodable {
        struct Body: Decodable { var invoice: JSONInvoice }
        var receiverID: Int64?
        var fileType: String?
        var content: String?
        var isPayable: Bool?
        var notifyEmail: String?
        var callbackURL: String?

        enum CodingKeys: String, CodingKey {
            case content
            case receiverID = "receiver_id", fileType = "file_type", isPayable = "is_payable"
            case notifyEmail = "notify_email", callbackURL = "callback_url"
        }
    }

    static let base64Alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n".utf8)

    static func mismatch(_ type: InvoiceFileType) -> APIError {
        APIError(.unprocessableContent, code: "content_mismatch",
                 message: "the file does not start as \(type.rawValue) does", field: "content")
    }

    // MARK: - multipart/form-data, streamed

    private func multipart(_ request: Request, contentType: String, key: BlobKey) async throws -> Received {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes + MultipartInvoiceReader.maxFieldBytes {
            throw tooLarge
        }
        guard let boundary = MultipartInvoiceReader.boundary(of: contentType) else {
            throw APIError.badRequest("invalid_multipart", "multipart/form-data needs a boundary")
        }
        let reader = MultipartInvoiceReader(body: request.body, boundary: boundary, maxFileBytes: maxBytes)
        let sniffer = FileTypeSniffer()
        let blob: StoredBlob
        do {
            blob = try await blobs.write(key, from: sniffer.watching(reader.fileChunks), limit: maxBytes)
        } catch BlobStoreError.tooLarge {
            throw tooLarge
        }
        do {
            let raw = try await reader.finish()
            guard reader.hasFile, blob.size > 0 else {
                throw APIError(.unprocessableContent, code: "missing_content", message: "the multipart body has no non-empty part named file",
                               field: "file")
            }
            let fields = try InvoiceFields.validate(receiverID: raw["receiver_id"], fileType: raw["file_type"] ?? reader.filePartType.flatMap {
                InvoiceFileType(rawValue: $0) == nil ? nil : $0
            }, isPayable: raw["is_payable"], notifyEmail: raw["notify_email"], callbackURL: raw["callback_url"], outbound: outbound)
            guard let sniffed = sniffer.detected else { throw FileTypeSniffer.unsupported }
            if let declared = fields.fileType, declared != sniffed { throw Self.mismatch(declared) }
            return Received(fields: fields, fileType: sniffed, blob: blob)
        } catch {
            // Refused after the file was written: leave nothing behind.
            try? await blobs.delete(key)
            throw error
        }
    }
}

/// Notes the type of a streamed file from its first bytes, as they pass, and stops the upload
/// as soon as they show it is neither a PDF nor a PNG.
final class FileTypeSniffer: @unchecked Sendable {
    // Used by the one task that drives the upload, one chunk after another.
    private var head: [UInt8] = []
    private(set) var detected: InvoiceFileType?

    func watching(_ chunks: BlobChunks) -> BlobChunks {
        chunks.inspecting { [self] chunk in try note(chunk) }
    }

    private func note(_ chunk: ByteBuffer) throws {
        guard head.count < InvoiceFileType.signatureLength else { return }
        head += chunk.readableBytesView.prefix(InvoiceFileType.signatureLength - head.count)
        detected = InvoiceFileType.allCases.first { $0.matches(head) }
        if head.count >= InvoiceFileType.signatureLength, detected == nil { throw Self.unsupported }
    }

    static var unsupported: APIError {
        APIError(.unsupportedMediaType, code: "unsupported_file_type", message: "the file is neither a PDF nor a PNG", field: "file")
    }
}
