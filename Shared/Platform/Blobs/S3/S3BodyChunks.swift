import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore

/// The body of a GET as ``BlobChunks``: each chunk is passed on as AsyncHTTPClient receives
/// it, and the next one is read from the socket only when the consumer asks (AsyncHTTPClient
/// stops reading while its small buffer is full), so a slow download holds a few chunks,
/// never the blob. A consumer that stops early drops the body, and AsyncHTTPClient then
/// closes the connection instead of reading the rest.
enum S3BodyChunks {
    static func chunks(of response: HTTPClientResponse, connection: S3Connection, key: String) -> BlobChunks {
        let body = OnceBody(response.body)
        return BlobChunks {
            let iterator = body.take().map(IteratorBox.init)
            return {
                guard let iterator else {
                    throw BlobStoreError.failed(operation: "s3 get", detail: "\(connection.target(key)): the chunks of a read can be iterated once")
                }
                do {
                    return try await iterator.next()
                } catch {
                    // The connection broke mid-body: the store is out of reach, not the blob gone.
                    throw connection.transportFailure(error, operation: "get", key: key)
                }
            }
        }
    }
}

/// The response body, handed to the first iteration only (an HTTP body can be read once).
private final class OnceBody: Sendable {
    private let body: NIOLockedValueBox<HTTPClientResponse.Body?>

    init(_ body: HTTPClientResponse.Body) {
        self.body = NIOLockedValueBox(body)
    }

    func take() -> HTTPClientResponse.Body? {
        body.withLockedValue { body in
            defer { body = nil }
            return body
        }
    }
}

/// The body's iterator, which `BlobChunks` calls through a `@Sendable` function.
private final class IteratorBox: @unchecked Sendable {
    // An iterator is used by one task at a time (BlobChunks' contract), so its state needs no
    // lock; the class only carries it across the Sendable boundary.
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    func next() async throws -> ByteBuffer? {
        try await iterator.next()
    }
}
