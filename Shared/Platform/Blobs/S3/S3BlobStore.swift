import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Blobs in an S3 bucket (AWS, or any S3-compatible server: MinIO, Ceph, moto in the tests):
/// `BLOB_STORE=s3://bucket?endpoint=http://host:port&region=us-east-1` (``S3Configuration``).
/// What several replicas of a service share (Kubernetes), where a local folder cannot be.
///
/// Writes stream: up to one part (8 MiB) is gathered in memory and sent as one PUT; a longer
/// blob becomes a multipart upload of 8 MiB parts, sent one at a time, so a write of any size
/// holds about one part. A multipart upload that fails, is cancelled or passes its limit is
/// aborted before `write` returns. S3 acknowledges a PUT or a completion only once the object
/// is stored durably, and shows it all at once, so the store's promises hold without a
/// temporary object.
///
/// Reads are one GET (ranged with `Range: bytes=a-b`) whose body is handed on chunk by chunk
/// as the consumer pulls, never gathered.
///
/// One `HTTPClient` (its own connection pool) per store, with redirects refused (a redirect
/// from S3 means a wrong region or endpoint: following it would sign for the wrong host).
/// ``shutdown()`` closes it; a store dropped without it closes it in the background.
public final class S3BlobStore: BlobStore {
    public var kind: String { "s3" }
    /// S3 wants parts of at least 5 MiB (but the last); 8 MiB is what AWS's own tools use.
    public static let partSize = 8 * 1024 * 1024

    public let configuration: S3Configuration
    let connection: S3Connection
    private let client: HTTPClient
    private let isShutDown = NIOLockedValueBox(false)

    public init(configuration: S3Configuration) {
        self.configuration = configuration
        let timeouts = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(configuration.connectTimeout.nanoseconds), read: .nanoseconds(configuration.requestTimeout.nanoseconds))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: timeouts))
        self.client = client
        self.connection = S3Connection(configuration: configuration, client: client)
    }

    /// Reads `BLOB_STORE` and the AWS variables (``S3Configuration/init(blobStore:environment:)``).
    public convenience init(blobStore text: String, environment: EnvironmentReader) throws {
        self.init(configuration: try S3Configuration(blobStore: text, environment: environment))
    }

    /// Closes the connections. The store must not be used afterwards.
    public func shutdown() async throws {
        guard isShutDown.withLockedValue({ let was = $0; $0 = true; return !was }) else { return }
        try await client.shutdown()
    }

    deinit {
        // HTTPClient insists on being shut down before it goes (it traps in debug builds).
        if !isShutDown.withLockedValue({ $0 }) { client.shutdown { _ in } }
    }

    // MARK: Writes

    public func write<Chunks: AsyncSequence>(_ key: BlobKey, from chunks: Chunks, limit: Int) async throws -> StoredBlob
        where Chunks.Element == ByteBuffer {
        var meter = BlobWriteMeter(limit: limit)
        var pending = ByteBuffer()
        var upload: S3MultipartUpload?
        do {
            for try await var chunk in chunks {
                try meter.add(chunk)
                while chunk.readableBytes > 0 {
                    // A full part goes out only once more bytes come: a blob of exactly one
                    // part stays a single PUT.
                    if pending.readableBytes == Self.partSize {
                        if upload == nil { upload = try await S3MultipartUpload.begin(key.value, on: connection) }
                        try await upload!.upload(pending)
                        pending = ByteBuffer()
                    }
                    if pending.capacity == 0 {
                        pending.reserveCapacity(min(Self.partSize, max(chunk.readableBytes, 64 * 1024)))
                    }
                    var slice = chunk.readSlice(length: min(Self.partSize - pending.readableBytes, chunk.readableBytes))!
                    pending.writeBuffer(&slice)
                }
            }
            try Task.checkCancellation()
            if var upload {
                try await upload.upload(pending)
                try await upload.complete()
            } else {
                try await putObject(key, pending, sha256: meter.finish(key).sha256)
            }
        } catch {
            if let upload { await upload.abort() }
            throw error
        }
        return meter.finish(key)
    }

    /// PutObject of a blob that fits in one part.
    private func putObject(_ key: BlobKey, _ bytes: ByteBuffer, sha256: String) async throws {
        let operation = "put"
        let response = try await connection.send(.PUT, key: key.value, body: bytes, payloadSHA256: sha256, operation: operation)
        guard response.status == .ok else { throw await connection.answerFailure(response, operation: operation, key: key.value) }
        do { try await S3Connection.drain(response) } catch { throw connection.transportFailure(error, operation: operation, key: key.value) }
    }

    // MARK: Reads

    public func read(_ key: BlobKey, range: ClosedRange<Int>?) async throws -> BlobContent {
        let operation = "get"
        var headers: [(name: String, value: String)] = []
        if let range { headers.append((name: "range", value: "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await connection.send(.GET, key: key.value, headers: headers, operation: operation)
        let bytes: Range<Int>
        switch response.status {
        case .ok:
            guard let length = response.headers.first(name: "content-length").flatMap(Int.init) else {
                throw BlobStoreError.failed(operation: "s3 get", detail: "\(connection.target(key.value)): no Content-Length")
            }
            bytes = 0..<length
        case .partialContent:
            guard let parsed = response.headers.first(name: "content-range").flatMap(Self.contentRange) else {
                throw BlobStoreError.failed(operation: "s3 get", detail: "\(connection.target(key.value)): no Content-Range")
            }
            bytes = parsed
        case .rangeNotSatisfiable:
            // The range starts at or past the end (or the blob is empty): no bytes, like the
            // other drivers, which clamp the range to the blob.
            // S3 names the size in its error document (`ActualObjectSize`), some servers in
            // `Content-Range: bytes */size`.
            let document = (try? await S3Connection.text(of: response, upTo: 16 * 1024)) ?? ""
            let size = S3XML.first("ActualObjectSize", in: document).flatMap { Int($0) }
                ?? response.headers.first(name: "content-range").flatMap(Self.completeLength)
            guard let size else { return try await emptyRead(key, at: range?.lowerBound ?? 0) }
            let end = min(range?.lowerBound ?? 0, size)
            return BlobContent(range: end..<end, chunks: .of([]))
        case .notFound:
            let document = (try? await S3Connection.text(of: response, upTo: 16 * 1024)) ?? ""
            if S3XML.first("Code", in: document) == "NoSuchKey" { throw BlobStoreError.notFound(key) }
            throw connection.answerFailure(status: 404, document: document, operation: operation, key: key.value)
        default:
            throw await connection.answerFailure(response, operation: operation, key: key.value)
        }
        return BlobContent(range: bytes, chunks: S3BodyChunks.chunks(of: response, connection: connection, key: key.value))
    }

    /// A range past the end of a blob whose 416 did not say the size: asks it with a HEAD.
    private func emptyRead(_ key: BlobKey, at offset: Int) async throws -> BlobContent {
        guard let size = try await size(of: key) else { throw BlobStoreError.notFound(key) }
        let end = min(offset, size)
        return BlobContent(range: end..<end, chunks: .of([]))
    }

    public func size(of key: BlobKey) async throws -> Int? {
        let operation = "head"
        let response = try await connection.send(.HEAD, key: key.value, operation: operation)
        try? await S3Connection.drain(response)
        switch response.status {
        case .ok:
            guard let length = response.headers.first(name: "content-length").flatMap(Int.init) else {
                throw BlobStoreError.failed(operation: "s3 head", detail: "\(connection.target(key.value)): no Content-Length")
            }
            return length
        case .notFound:
            // A HEAD has no body to tell a missing key from a missing bucket; a missing bucket
            // shows at the first write.
            return nil
        default:
            throw connection.answerFailure(status: Int(response.status.code), document: "", operation: operation, key: key.value)
        }
    }

    public func delete(_ key: BlobKey) async throws {
        let operation = "delete"
        let response = try await connection.send(.DELETE, key: key.value, operation: operation)
        // S3 answers 204 whether or not the key existed.
        guard response.status == .noContent || response.status == .ok else {
            throw await connection.answerFailure(response, operation: operation, key: key.value)
        }
        try? await S3Connection.drain(response)
    }

    // MARK: Maintenance

    /// The multipart uploads begun in the bucket and neither completed nor aborted (key and
    /// upload id): the tests check that failed writes leave none; an operator can abort them.
    public func unfinishedUploads() async throws -> [(key: String, uploadID: String)] {
        let operation = "list multipart uploads"
        let response = try await connection.send(.GET, key: nil, query: [(name: "uploads", value: "")], operation: operation)
        guard response.status == .ok else { throw await connection.answerFailure(response, operation: operation, key: nil) }
        let document = try await S3Connection.text(of: response, upTo: 4 * 1024 * 1024)
        return S3XML.all("Upload", in: document).compactMap { upload in
            guard let key = S3XML.first("Key", in: upload), let id = S3XML.first("UploadId", in: upload) else { return nil }
            return (key: key, uploadID: id)
        }
    }

    /// CreateBucket, for the tests and a fresh local run; a bucket that is already ours is fine.
    public func createBucket() async throws {
        let operation = "create bucket"
        var body: ByteBuffer?
        var sha256 = SigV4Signer.emptyPayloadSHA256
        // us-east-1 is the default location and must not be named.
        if configuration.region != "us-east-1" {
            let document = "<CreateBucketConfiguration><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>"
            body = ByteBuffer(string: document)
            sha256 = SHA256Hex.of(Array(document.utf8))
        }
        let response = try await connection.send(.PUT, key: nil, body: body, payloadSHA256: sha256, operation: operation)
        if response.status == .ok { try? await S3Connection.drain(response); return }
        let document = (try? await S3Connection.text(of: response, upTo: 16 * 1024)) ?? ""
        if S3XML.first("Code", in: document) == "BucketAlreadyOwnedByYou" { return }
        throw connection.answerFailure(status: Int(response.status.code), document: document, operation: operation, key: nil)
    }

    // MARK: Headers

    /// `bytes 0-99/1000` → `0..<100`.
    static func contentRange(_ text: String) -> Range<Int>? {
        guard text.hasPrefix("bytes ") else { return nil }
        let spec = text.dropFirst(6).split(separator: "/", maxSplits: 1)
        let bounds = spec.first?.split(separator: "-", maxSplits: 1) ?? []
        guard bounds.count == 2, let first = Int(bounds[0]), let last = Int(bounds[1]), first <= last else { return nil }
        return first..<(last + 1)
    }

    /// `bytes */1000` (or `bytes 0-99/1000`) → `1000`.
    static func completeLength(_ text: String) -> Int? {
        text.split(separator: "/", maxSplits: 1).last.flatMap { Int($0) }
    }
}
