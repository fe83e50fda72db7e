import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// One multipart upload in progress: how ``S3BlobStore`` writes a blob larger than a part.
/// S3 shows nothing under the key until ``complete()``; an upload that is neither completed
/// nor aborted keeps its parts (and is billed) forever, so every failure path calls
/// ``abort()``.
struct S3MultipartUpload: Sendable {
    let connection: S3Connection
    let key: String
    let uploadID: String
    /// Each uploaded part's number and ETag, which the completion must list in order.
    private(set) var parts: [(number: Int, etag: String)] = []

    /// CreateMultipartUpload.
    static func begin(_ key: String, on connection: S3Connection) async throws -> S3MultipartUpload {
        let operation = "create multipart upload"
        let response = try await connection.send(.POST, key: key, query: [(name: "uploads", value: "")], operation: operation)
        guard response.status == .ok else { throw await connection.answerFailure(response, operation: operation, key: key) }
        let document = try await body(of: response, connection: connection, operation: operation, key: key)
        guard let uploadID = S3XML.first("UploadId", in: document), !uploadID.isEmpty else {
            throw BlobStoreError.failed(operation: "s3 \(operation)", detail: "\(connection.target(key)): no UploadId in the answer")
        }
        return S3MultipartUpload(connection: connection, key: key, uploadID: uploadID)
    }

    /// UploadPart: the next part, signed with its own SHA-256 (S3 checks it, so a part
    /// damaged on the way is refused rather than stored).
    mutating func upload(_ part: ByteBuffer) async throws {
        let number = parts.count + 1
        let operation = "upload part \(number)"
        let response = try await connection.send(
            .PUT, key: key, query: [(name: "partNumber", value: "\(number)"), (name: "uploadId", value: uploadID)],
            body: part, payloadSHA256: SHA256Hex.hex(SHA256.hash(data: part.readableBytesView)), operation: operation)
        guard response.status == .ok else { throw await connection.answerFailure(response, operation: operation, key: key) }
        guard let etag = response.headers.first(name: "etag") else {
            throw BlobStoreError.failed(operation: "s3 \(operation)", detail: "\(connection.target(key)): no ETag in the answer")
        }
        try await S3Connection.drain(response)
        parts.append((number: number, etag: etag))
    }

    /// CompleteMultipartUpload: the blob appears under the key, all at once. S3 may answer
    /// 200 and then report a failure in the body (it starts answering before it is done, to
    /// keep the connection alive), so the body is read to its end and checked for `<Error>`.
    func complete() async throws {
        let operation = "complete multipart upload"
        var document = "<CompleteMultipartUpload>"
        for part in parts {
            document += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(Self.escape(part.etag))</ETag></Part>"
        }
        document += "</CompleteMultipartUpload>"
        let body = ByteBuffer(string: document)
        let response = try await connection.send(
            .POST, key: key, query: [(name: "uploadId", value: uploadID)], headers: [(name: "content-type", value: "application/xml")],
            body: body, payloadSHA256: SHA256Hex.of(Array(document.utf8)), operation: operation)
        guard response.status == .ok else { throw await connection.answerFailure(response, operation: operation, key: key) }
        let answer = try await Self.body(of: response, connection: connection, operation: operation, key: key)
        if S3XML.isError(answer) {
            throw connection.answerFailure(status: 500, document: answer, operation: operation, key: key)
        }
        // AWS names the answer CompleteMultipartUploadResult, moto ...Response.
        guard answer.contains("<CompleteMultipartUploadResult") || answer.contains("<CompleteMultipartUploadResponse") else {
            throw BlobStoreError.failed(operation: "s3 \(operation)", detail: "\(connection.target(key)): unexpected answer")
        }
    }

    /// AbortMultipartUpload: S3 drops the parts. Run apart from the caller's task, so that a
    /// cancelled write still cleans up, and awaited, so that the write returns only when its
    /// upload is gone. Returns false when S3 could not be told (an outage): the bucket's
    /// lifecycle rule for incomplete uploads is then the last resort.
    @discardableResult
    func abort() async -> Bool {
        let upload = self
        return await Task {
            do {
                let response = try await upload.connection.send(
                    .DELETE, key: upload.key, query: [(name: "uploadId", value: upload.uploadID)], operation: "abort multipart upload")
                try await S3Connection.drain(response)
                // 404 NoSuchUpload: already gone.
                return response.status == .noContent || response.status == .ok || response.status == .notFound
            } catch {
                return false
            }
        }.value
    }

    /// An answer's XML, up to 1 MiB (a completion's answer is a few hundred bytes).
    private static func body(of response: HTTPClientResponse, connection: S3Connection, operation: String, key: String) async throws -> String {
        do {
            return try await S3Connection.text(of: response, upTo: 1024 * 1024)
        } catch {
            throw connection.transportFailure(error, operation: operation, key: key)
        }
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
