import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Sends signed requests to one bucket and tells what a failure means: a store that cannot be
/// reached or says it cannot serve now (a refused connection, a timeout, a 5xx, `SlowDown`) is
/// a ``DependencyOutage`` (`blobs`), to be waited out; any other refusal is
/// ``BlobStoreError/failed(operation:detail:)``. Details name the bucket, the key and S3's
/// error code, never a credential or a signature.
struct S3Connection: Sendable {
    let configuration: S3Configuration
    let client: HTTPClient
    let signer: SigV4Signer

    init(configuration: S3Configuration, client: HTTPClient) {
        self.configuration = configuration
        self.client = client
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
    }

    /// The request's path, as signed and sent: `/bucket/key` in path style, `/key` otherwise.
    func path(of key: String?) -> String {
        let object = key.map { "/" + $0 } ?? ""
        return configuration.pathStyle ? "/\(configuration.bucket)\(object)" : (object.isEmpty ? "/" : object)
    }

    /// `bucket/key`, for error details.
    func target(_ key: String?) -> String { key.map { "\(configuration.bucket)/\($0)" } ?? configuration.bucket }

    /// Sends one signed request and returns the answer, whatever its status (the caller reads
    /// or drains its body). A failure to get an answer is an outage.
    func send(_ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
              headers: [(name: String, value: String)] = [], body: ByteBuffer? = nil,
              payloadSHA256: String = SigV4Signer.emptyPayloadSHA256, operation: String) async throws -> HTTPClientResponse {
        let path = path(of: key)
        let signed = signer.sign(method: method.rawValue, path: path, query: query,
                                 headers: [(name: "host", value: configuration.host), (name: "x-amz-content-sha256", value: payloadSHA256)] + headers,
                                 payloadSHA256: payloadSHA256, date: Date())
        let queryText = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: configuration.baseURL + SigV4Signer.encodePath(path) + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for header in signed.headers { request.headers.add(name: header.name, value: header.value) }
        if let body {
            request.body = .bytes(body)
        } else if method == .PUT || method == .POST {
            request.body = .bytes(ByteBuffer())  // an explicit Content-Length: 0
        }
        do {
            return try await client.execute(request, timeout: .nanoseconds(Int64(configuration.requestTimeout.nanoseconds)))
        } catch {
            throw transportFailure(error, operation: operation, key: key)
        }
    }

    /// A request that got no (complete) answer: the caller's cancellation stays a cancellation,
    /// anything else means the store is out of reach.
    func transportFailure(_ error: any Error, operation: String, key: String?) -> any Error {
        if error is CancellationError || error is DependencyOutage || error is BlobStoreError { return error }
        if Task.isCancelled { return CancellationError() }
        return DependencyOutage(dependency: "blobs", detail: "S3 \(operation) \(target(key)) at \(configuration.baseURL): \(error)")
    }

    /// The error an unexpected answer stands for, from its status and S3's error document.
    func answerFailure(_ response: HTTPClientResponse, operation: String, key: String?) async -> any Error {
        let document = (try? await Self.text(of: response, upTo: 16 * 1024)) ?? ""
        return answerFailure(status: Int(response.status.code), document: document, operation: operation, key: key)
    }

    func answerFailure(status: Int, document: String, operation: String, key: String?) -> any Error {
        let code = S3XML.first("Code", in: document) ?? "no error code"
        let message = S3XML.first("Message", in: document).map { ": " + $0.prefix(200) } ?? ""
        let detail = "S3 \(operation) \(target(key)) answered \(status) \(code)\(message)"
        if status >= 500 || status == 429 || code == "SlowDown" {
            return DependencyOutage(dependency: "blobs", detail: detail)
        }
        return BlobStoreError.failed(operation: "s3 \(operation)", detail: detail)
    }

    /// At most `limit` bytes of a body as text; the rest is dropped with the connection.
    static func text(of response: HTTPClientResponse, upTo limit: Int) async throws -> String {
        var bytes: [UInt8] = []
        for try await chunk in response.body {
            bytes.append(contentsOf: chunk.readableBytesView.prefix(limit - bytes.count))
            if bytes.count >= limit { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads an answer's body to its end (so its connection goes back to the pool).
    static func drain(_ response: HTTPClientResponse) async throws {
        for try await _ in response.body {}
    }
}
