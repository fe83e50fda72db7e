import NIOCore
import NIOConcurrencyHelpers

/// The chunks of a blob being read, pulled one at a time as the consumer asks (so a slow HTTP
/// client slows the read instead of filling memory). One concrete type for every driver, so
/// that a route can hand it to a response body without knowing which store it came from.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    private let makeNext: @Sendable () -> @Sendable () async throws -> ByteBuffer?

    /// `makeNext` is called once per iteration and returns the function that yields the next
    /// chunk (nil at the end). Drivers that hold a resource (a file descriptor, a connection)
    /// release it when that function returns nil or throws, and in a deinit of what it
    /// captures, for a consumer that stops early.
    public init(_ makeNext: @escaping @Sendable () -> @Sendable () async throws -> ByteBuffer?) {
        self.makeNext = makeNext
    }

    public func makeAsyncIterator() -> Iterator { Iterator(next: makeNext()) }

    public struct Iterator: AsyncIteratorProtocol {
        let next: @Sendable () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await next() }
    }

    /// The same chunks, each shown to `inspect` as it passes (it may throw to stop the read):
    /// a route can judge an upload's first bytes while the blob store is writing it.
    public func inspecting(_ inspect: @escaping @Sendable (ByteBuffer) throws -> Void) -> BlobChunks {
        BlobChunks { [self] in
            let iterator = IteratorBox(makeAsyncIterator())
            return {
                guard let chunk = try await iterator.next() else { return nil }
                try inspect(chunk)
                return chunk
            }
        }
    }

    /// Bytes in memory, in chunks of at most `chunkSize`.
    public static func of(_ bytes: [UInt8], chunkSize: Int = 256 * 1024) -> BlobChunks {
        BlobChunks {
            let offset = OffsetBox()
            return {
                let start = offset.take(upTo: chunkSize, of: bytes.count)
                guard let start else { return nil }
                return ByteBuffer(bytes: bytes[start..<Swift.min(start + chunkSize, bytes.count)])
            }
        }
    }
}

/// The position of ``BlobChunks/of(_:chunkSize:)`` in its bytes.
private final class OffsetBox: @unchecked Sendable {
    // An iterator is used by one task at a time; the lock only satisfies the checker.
    private var offset = 0
    private let lock = NIOLock()

    func take(upTo count: Int, of total: Int) -> Int? {
        lock.withLock {
            guard offset < total else { return nil }
            defer { offset += count }
            return offset
        }
    }
}

/// An iterator held by the closure that pulls from it.
private final class IteratorBox: @unchecked Sendable {
    // Pulled by one task at a time, in order: the sequence's consumer.
    private var iterator: BlobChunks.Iterator
    init(_ iterator: BlobChunks.Iterator) { self.iterator = iterator }
    func next() async throws -> ByteBuffer? { try await iterator.next() }
}
