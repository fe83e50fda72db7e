import Foundation
import NIOCore
import Platform
import Testing

/// The promises of ``BlobStore`` (see its doc comment), as checks any driver must pass. Each
/// driver's suite runs every check on a store of its own:
///
///     @Test(arguments: BlobStoreContract.Check.allCases)
///     func contract(_ check: BlobStoreContract.Check) async throws {
///         try await check.run(on: store)
///     }
///
/// or all at once with `try await BlobStoreContract.run(on: store)`. Every check writes under
/// keys of its own (a fresh random prefix), so checks may run in parallel on one store, and
/// the suite can look for leftovers (temporary files, uploads) after each.
enum BlobStoreContract {
    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case roundTripOfNothing, roundTripOfOneByte, roundTripOfSeveralMiBInUnevenChunks, ranges, replaceKeepsTheNewContent
        case pastTheLimitLeavesNothing, pastTheLimitKeepsTheOldContent, aThrowingSourceLeavesNothing, aCancelledWriteLeavesNothing
        case concurrentWritesToDifferentKeys, delete, missingBlobs, invalidKeysAreRefused

        var testDescription: String { rawValue }

        func run(on store: any BlobStore) async throws {
            let prefix = "contract/\(UUID().uuidString.lowercased())"
            func key(_ name: String) throws -> BlobKey { try BlobKey("\(prefix)/\(name)") }
            switch self {
            case .roundTripOfNothing: try await BlobStoreContract.roundTrip([], under: key("empty"), on: store)
            case .roundTripOfOneByte: try await BlobStoreContract.roundTrip([0x5A], under: key("one"), on: store)
            case .roundTripOfSeveralMiBInUnevenChunks:
                let bytes = BlobStoreContract.bytes(count: 3 * 1024 * 1024 + 12_345, seed: 1)
                try await BlobStoreContract.roundTrip(bytes, under: key("large.bin"), on: store, pieces: BlobStoreContract.unevenPieces)
            case .ranges: try await BlobStoreContract.ranges(under: key("ranged"), on: store)
            case .replaceKeepsTheNewContent: try await BlobStoreContract.replace(under: key("replaced"), on: store)
            case .pastTheLimitLeavesNothing: try await BlobStoreContract.pastTheLimit(under: key("too-large"), previous: nil, on: store)
            case .pastTheLimitKeepsTheOldContent:
                try await BlobStoreContract.pastTheLimit(under: key("kept"), previous: [1, 2, 3], on: store)
            case .aThrowingSourceLeavesNothing: try await BlobStoreContract.throwingSource(under: key("broken"), on: store)
            case .aCancelledWriteLeavesNothing: try await BlobStoreContract.cancelledWrite(under: key("cancelled"), on: store)
            case .concurrentWritesToDifferentKeys: try await BlobStoreContract.concurrentWrites(prefix: prefix, on: store)
            case .delete: try await BlobStoreContract.delete(under: key("deleted"), on: store)
            case .missingBlobs: try await BlobStoreContract.missing(under: key("never-written"), on: store)
            case .invalidKeysAreRefused: BlobStoreContract.invalidKeys()
            }
        }
    }

    /// Every check, one after another.
    static func run(on store: any BlobStore) async throws {
        for check in Check.allCases { try await check.run(on: store) }
    }

    // MARK: - The checks

    static func roundTrip(_ bytes: [UInt8], under key: BlobKey, on store: any BlobStore, pieces: [Int] = [1]) async throws {
        let stored = try await store.write(key, from: chunks(of: bytes, pieces: pieces), limit: bytes.count)
        #expect(stored == StoredBlob(key: key, size: bytes.count, sha256: sha256(bytes)))
        #expect(try await store.size(of: key) == bytes.count)
        #expect(try await store.exists(key))
        let content = try await store.read(key)
        #expect(content.range == 0..<bytes.count)
        var read: [UInt8] = []
        for try await chunk in content.chunks {
            // Streamed: no chunk is the whole of a large blob.
            #expect(chunk.readableBytes <= 1024 * 1024, "a read chunk of \(chunk.readableBytes) bytes")
            read.append(contentsOf: chunk.readableBytesView)
        }
        #expect(read.count == bytes.count)
        #expect(read == bytes)
    }

    static func ranges(under key: BlobKey, on store: any BlobStore) async throws {
        let bytes = Self.bytes(count: 1024 * 1024 + 777, seed: 2)
        _ = try await store.write(key, from: chunks(of: bytes, pieces: unevenPieces), limit: bytes.count)
        let last = bytes.count - 1
        let cases: [ClosedRange<Int>] = [
            0...0, last...last, 0...last, 10...19,
            // Across the borders of 256 KiB chunks (and of 64 KiB ones).
            262_000...262_300, 65_530...65_540, 100_000...900_000, 524_287...524_288, 300_000...last,
        ]
        for range in cases {
            let content = try await store.read(key, range: range)
            #expect(content.range == range.lowerBound..<(range.upperBound + 1))
            let read = try await content.collect()
            #expect(read == Array(bytes[range]), "range \(range): \(read.count) bytes")
        }
        // A range past the end is clamped to the blob (callers check ranges against the size).
        let clamped = try await store.read(key, range: (last - 1)...(last + 100))
        #expect(try await clamped.collect() == Array(bytes[(last - 1)...last]))
    }

    static func replace(under key: BlobKey, on store: any BlobStore) async throws {
        let first = Self.bytes(count: 600_000, seed: 3)
        let second = Self.bytes(count: 1000, seed: 4)
        _ = try await store.write(key, bytes: first)
        let stored = try await store.write(key, bytes: second)
        #expect(stored.sha256 == sha256(second))
        #expect(try await store.size(of: key) == second.count)
        #expect(try await store.read(key).collect() == second)
        // And back to a larger one.
        _ = try await store.write(key, bytes: first)
        #expect(try await store.read(key).collect() == first)
    }

    static func pastTheLimit(under key: BlobKey, previous: [UInt8]?, on store: any BlobStore) async throws {
        if let previous { _ = try await store.write(key, bytes: previous) }
        // Three pieces of 200 KiB against a limit of 500 KiB: two are stored before the third passes it.
        let bytes = Self.bytes(count: 600 * 1024, seed: 5)
        await #expect(throws: BlobStoreError.tooLarge(limit: 500 * 1024)) {
            try await store.write(key, from: chunks(of: bytes, pieces: [200 * 1024]), limit: 500 * 1024)
        }
        #expect(try await store.size(of: key) == previous?.count)
        if let previous { #expect(try await store.read(key).collect() == previous) }
        // Exactly the limit is allowed.
        _ = try await store.write(key, from: chunks(of: Array(bytes.prefix(500 * 1024)), pieces: [200 * 1024]), limit: 500 * 1024)
        #expect(try await store.size(of: key) == 500 * 1024)
    }

    static func throwingSource(under key: BlobKey, on store: any BlobStore) async throws {
        let broken = FailingChunks(pieces: [ByteBuffer(bytes: Self.bytes(count: 300_000, seed: 6)), ByteBuffer(bytes: [1, 2, 3])])
        await #expect(throws: SourceBroke.self) { try await store.write(key, from: broken, limit: 10_000_000) }
        #expect(try await store.size(of: key) == nil)
        await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
        // Over an existing blob: the old content stays.
        _ = try await store.write(key, bytes: [9, 9])
        await #expect(throws: SourceBroke.self) { try await store.write(key, from: broken, limit: 10_000_000) }
        #expect(try await store.read(key).collect() == [9, 9])
    }

    static func cancelledWrite(under key: BlobKey, on store: any BlobStore) async throws {
        let (started, reached) = AsyncStream.makeStream(of: Void.self)
        let source = StalledChunks(pieces: [ByteBuffer(bytes: Self.bytes(count: 400_000, seed: 7))], reachedStall: reached)
        let write = Task { try await store.write(key, from: source, limit: 10_000_000) }
        // Once the source has handed over its bytes and waits for more, the write is cancelled.
        for await _ in started { break }
        write.cancel()
        let outcome = await write.result
        #expect(throws: (any Error).self) { try outcome.get() }
        #expect(try await store.size(of: key) == nil)
    }

    static func concurrentWrites(prefix: String, on store: any BlobStore) async throws {
        let contents = (0..<8).map { Self.bytes(count: 50_000 + $0 * 70_001, seed: UInt8(10 + $0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, bytes) in contents.enumerated() {
                group.addTask {
                    let stored = try await store.write(try BlobKey("\(prefix)/concurrent-\(index)"),
                                                       from: chunks(of: bytes, pieces: [33_333]), limit: bytes.count)
                    #expect(stored.sha256 == sha256(bytes))
                }
            }
            try await group.waitForAll()
        }
        for (index, bytes) in contents.enumerated() {
            #expect(try await store.read(try BlobKey("\(prefix)/concurrent-\(index)")).collect() == bytes, "key \(index)")
        }
    }

    static func delete(under key: BlobKey, on store: any BlobStore) async throws {
        _ = try await store.write(key, bytes: Self.bytes(count: 300_000, seed: 8))
        try await store.delete(key)
        #expect(try await store.size(of: key) == nil)
        await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
        try await store.delete(key)  // a missing blob: no error
        // The key can be written again.
        _ = try await store.write(key, bytes: [7])
        #expect(try await store.read(key).collect() == [7])
    }

    static func missing(under key: BlobKey, on store: any BlobStore) async throws {
        await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
        await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key, range: 0...10) }
        #expect(try await store.size(of: key) == nil)
        #expect(try await store.exists(key) == false)
        try await store.delete(key)
        // A key whose prefix is a blob is not a blob (the folder driver: a path through a file).
        let parent = try BlobKey("\(key.value)-file")
        _ = try await store.write(parent, bytes: [1])
        let child = try BlobKey("\(parent.value)/child")
        #expect(try await store.size(of: child) == nil)
        await #expect(throws: BlobStoreError.notFound(child)) { try await store.read(child) }
    }

    static func invalidKeys() {
        let invalid = ["", "/", "a/", "/a", "a//b", ".hidden", "a/.tmp", "a/../b", "..", ".", "Upper", "space here", "a\\b", "é",
                       "a/b?c", String(repeating: "a", count: 513)]
        for text in invalid {
            #expect(throws: BlobStoreError.invalidKey(text), "\"\(text)\"") { try BlobKey(text) }
        }
        for text in ["a", "sha256/ab/\(String(repeating: "ab", count: 32))", "invoices/2026-11/x_y.pdf", String(repeating: "a", count: 512)] {
            #expect(throws: Never.self, "\"\(text)\"") { try BlobKey(text) }
        }
    }

    // MARK: - Material

    /// Piece sizes that cross every chunk size a driver may use, cycled over the bytes.
    static let unevenPieces = [1, 7, 65_537, 300_001, 4096, 1_000_003, 13]

    /// Deterministic bytes that differ at every offset (so a misplaced range shows).
    static func bytes(count: Int, seed: UInt8) -> [UInt8] {
        var state = UInt32(seed) &* 2_654_435_761 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256Hex.of(bytes) }

    static func chunks(of bytes: [UInt8], pieces: [Int]) -> BlobChunks {
        var buffers: [ByteBuffer] = []
        var offset = 0
        var index = 0
        while offset < bytes.count {
            let size = min(pieces[index % pieces.count], bytes.count - offset)
            buffers.append(ByteBuffer(bytes: bytes[offset..<offset + size]))
            offset += size
            index += 1
        }
        let pieces = buffers
        return BlobChunks {
            let iterator = LockedIterator(pieces)
            return { iterator.next() }
        }
    }
}

/// What ``FailingChunks`` throws after its pieces.
struct SourceBroke: Error {}

/// A source that hands over its pieces, then fails (a client that disconnects mid-upload).
struct FailingChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let pieces: [ByteBuffer]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: [ByteBuffer]
        mutating func next() async throws -> ByteBuffer? {
            guard !remaining.isEmpty else { throw SourceBroke() }
            return remaining.removeFirst()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: pieces) }
}

/// A source that hands over its pieces, says so, then waits until its task is cancelled (a
/// client that stalls mid-upload while the request is given up).
struct StalledChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let pieces: [ByteBuffer]
    let reachedStall: AsyncStream<Void>.Continuation

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: [ByteBuffer]
        let reachedStall: AsyncStream<Void>.Continuation
        mutating func next() async throws -> ByteBuffer? {
            guard remaining.isEmpty else { return remaining.removeFirst() }
            reachedStall.yield()
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: pieces, reachedStall: reachedStall) }
}

/// The position in a list of chunks, for ``BlobChunks`` made of them (one task iterates at a
/// time; the lock only satisfies the checker).
final class LockedIterator<Element>: @unchecked Sendable {
    private var iterator: IndexingIterator<[Element]>
    private let lock = NSLock()
    init(_ elements: [Element]) { iterator = elements.makeIterator() }
    func next() -> Element? { lock.withLock { iterator.next() } }
}
