import Crypto
import Foundation
import NIOCore
@testable import Platform
import Testing
import TestSupport

/// The S3 driver against a real S3 API server (moto, `scripts/servers.sh start s3`): each
/// test on a bucket of its own. Skipped only when the server does not answer and `CI` is unset.
@Suite("Platform: S3 blob store (moto)", .enabled(S3TestStore.skipMessage) { await S3TestStore.shouldRun() })
struct S3BlobStoreTests {
    static let mebibyte = 1024 * 1024

    /// Bytes that differ from offset to offset (a misplaced part or range shows), reproducible.
    static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// `bytes` in chunks of uneven sizes (1 byte to a bit over 1 MiB), so part borders fall
    /// inside chunks.
    static func unevenChunks(_ bytes: [UInt8]) -> BlobChunks {
        let sizes = [1, 7919, 65_537, 1_048_577, 3, 262_147, 524_309]
        return BlobChunks {
            let position = Position()
            return {
                let (start, count) = position.advance(by: sizes, total: bytes.count)
                guard count > 0 else { return nil }
                return ByteBuffer(bytes: bytes[start..<start + count])
            }
        }
    }

    /// Chunks of `chunk` bytes, and after `failAfter` bytes an error (a client gone mid-upload).
    static func failing(after failAfter: Int, chunk: Int = 512 * 1024) -> BlobChunks {
        BlobChunks {
            let position = Position()
            return {
                let (start, _) = position.advance(by: [chunk], total: Int.max)
                if start >= failAfter { throw UploadCutOff() }
                return ByteBuffer(bytes: bytes(chunk, seed: UInt64(start)))
            }
        }
    }

    struct UploadCutOff: Error {}

    static func sha256(_ bytes: [UInt8]) -> String { SHA256Hex.of(bytes) }

    func key(_ name: String = "blob") throws -> BlobKey { try BlobKey("invoices/\(name)-\(UUID().uuidString.lowercased())") }

    func expectNoUnfinishedUploads(_ store: S3BlobStore, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let unfinished = try await store.unfinishedUploads()
        #expect(unfinished.isEmpty, "unfinished multipart uploads: \(unfinished.map(\.key))", sourceLocation: sourceLocation)
    }

    @Test(arguments: [0, 1, 5 * mebibyte, 20 * mebibyte])
    func roundTrip(size: Int) async throws {
        try await S3TestStore.with { store in
            let key = try key("size-\(size)")
            let bytes = Self.bytes(size, seed: UInt64(size))
            let stored = try await store.write(key, from: Self.unevenChunks(bytes), limit: 25 * Self.mebibyte)
            #expect(stored == StoredBlob(key: key, size: size, sha256: Self.sha256(bytes)))
            #expect(try await store.size(of: key) == size)
            #expect(try await store.exists(key))

            let content = try await store.read(key)
            #expect(content.range == 0..<size)
            var read: [UInt8] = []
            var chunks = 0
            for try await chunk in content.chunks {
                read.append(contentsOf: chunk.readableBytesView)
                chunks += 1
            }
            #expect(read.count == size)
            #expect(read == bytes, "the bytes read back differ from those written")
            if size >= 5 * Self.mebibyte {
                // Streamed as it arrives, not gathered into one buffer.
                #expect(chunks > 1, "a \(size)-byte read came as \(chunks) chunk(s)")
            }
            try await expectNoUnfinishedUploads(store)
            try await store.delete(key)
        }
    }

    @Test func rangesOfAMultipartBlob() async throws {
        try await S3TestStore.with { store in
            let key = try key("ranges")
            let size = 20 * Self.mebibyte
            let bytes = Self.bytes(size, seed: 7)
            _ = try await store.write(key, from: Self.unevenChunks(bytes), limit: size)
            let part = S3BlobStore.partSize
            for range in [0...0, (size - 1)...(size - 1), (part - 10)...(part + 10), (2 * part - 1)...(2 * part), 1000...(3 * Self.mebibyte)] {
                let content = try await store.read(key, range: range)
                #expect(content.range == range.lowerBound..<(range.upperBound + 1))
                #expect(try await content.collect() == Array(bytes[range]), "range \(range)")
            }
            // Past the end: clamped, like the other drivers; starting past it: no bytes.
            let tail = try await store.read(key, range: (size - 5)...(size + 100))
            #expect(tail.range == (size - 5)..<size)
            #expect(try await tail.collect() == Array(bytes[(size - 5)...]))
            let beyond = try await store.read(key, range: (size + 10)...(size + 20))
            #expect(beyond.range.isEmpty)
            #expect(try await beyond.collect() == [])
            try await store.delete(key)
        }
    }

    @Test func aWriteReplacesTheBlob() async throws {
        try await S3TestStore.with { store in
            let key = try key("replaced")
            let large = Self.bytes(9 * Self.mebibyte, seed: 3)
            _ = try await store.write(key, from: Self.unevenChunks(large), limit: 10 * Self.mebibyte)
            let small = Array("the second version".utf8)
            let stored = try await store.write(key, bytes: small)
            #expect(stored.sha256 == Self.sha256(small))
            #expect(try await store.size(of: key) == small.count)
            #expect(try await store.read(key).collect() == small)
            try await store.delete(key)
        }
    }

    @Test func aWritePastItsLimitLeavesNothing() async throws {
        try await S3TestStore.with { store in
            // Past the limit within the first part (a single PUT never sent) and after two
            // parts were uploaded (a multipart upload to abort).
            for (limit, size) in [(100, 1000), (18 * Self.mebibyte, 20 * Self.mebibyte)] {
                let key = try key("too-large")
                await #expect(throws: BlobStoreError.tooLarge(limit: limit)) {
                    try await store.write(key, from: Self.unevenChunks(Self.bytes(size)), limit: limit)
                }
                #expect(try await store.size(of: key) == nil)
                await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
                try await expectNoUnfinishedUploads(store)
            }
        }
    }

    @Test func aFailingUploadLeavesNothingAndKeepsThePreviousBlob() async throws {
        try await S3TestStore.with { store in
            let key = try key("cut-off")
            let previous = Array("what was there before".utf8)
            _ = try await store.write(key, bytes: previous)
            for failAfter in [3 * Self.mebibyte, 17 * Self.mebibyte] {
                await #expect(throws: UploadCutOff.self) {
                    try await store.write(key, from: Self.failing(after: failAfter), limit: 100 * Self.mebibyte)
                }
                #expect(try await store.read(key).collect() == previous)
                try await expectNoUnfinishedUploads(store)
            }
        }
    }

    @Test func aCancelledUploadLeavesNothing() async throws {
        try await S3TestStore.with { store in
            let key = try key("cancelled")
            let produced = Position()
            let write = Task {
                try await store.write(key, from: BlobChunks {
                    { () async throws -> ByteBuffer? in
                        _ = produced.advance(by: [1], total: Int.max)
                        try await Task.sleep(for: .milliseconds(1))
                        return ByteBuffer(bytes: Self.bytes(256 * 1024))
                    }
                }, limit: 1024 * Self.mebibyte)
            }
            // Cancelled once at least one part (8 MiB = 32 chunks) has gone up.
            #expect(try await eventually(within: .seconds(60)) { produced.count > 40 })
            write.cancel()
            await #expect(throws: (any Error).self) { try await write.value }
            #expect(try await store.size(of: key) == nil)
            try await expectNoUnfinishedUploads(store)
        }
    }

    @Test func aMissingBlobIsNotFoundAndDeletingItIsFine() async throws {
        try await S3TestStore.with { store in
            let key = try key("missing")
            await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
            await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key, range: 0...10) }
            #expect(try await store.size(of: key) == nil)
            #expect(try await store.exists(key) == false)
            try await store.delete(key)
        }
    }

    @Test func deleteRemovesTheBlob() async throws {
        try await S3TestStore.with { store in
            let key = try key("deleted")
            _ = try await store.write(key, bytes: [1, 2, 3])
            #expect(try await store.size(of: key) == 3)
            try await store.delete(key)
            #expect(try await store.size(of: key) == nil)
            await #expect(throws: BlobStoreError.notFound(key)) { try await store.read(key) }
        }
    }

    /// A bucket that does not exist is a refusal (a configuration to fix), not an outage, and
    /// its detail carries neither the secret nor a signature.
    @Test func aMissingBucketIsAFailureWithoutSecrets() async throws {
        try await S3TestStore.with(createBucket: false) { store in
            let key = try key("nowhere")
            do {
                _ = try await store.write(key, bytes: [1, 2, 3])
                Issue.record("a write to a missing bucket succeeded")
            } catch let error as BlobStoreError {
                guard case .failed(_, let detail) = error else { Issue.record("expected .failed, got \(error)"); return }
                #expect(detail.contains("NoSuchBucket"), "\(detail)")
                #expect(!detail.contains(S3TestStore.credentials.secretAccessKey))
                #expect(!detail.contains("Signature"))
            }
        }
    }

    /// A closed port: every operation is a `blobs` outage (503 and a worker that waits), not a
    /// failure of the request.
    @Test func anUnreachableStoreIsAnOutage() async throws {
        // A port that was free a moment ago: nothing listens there, connections are refused.
        let listener = try SilentListener()
        listener.close()
        let closed = "http://127.0.0.1:\(listener.port)"
        try await S3TestStore.with(endpoint: closed, createBucket: false) { store in
            let key = try key("unreachable")
            func expectOutage(_ operation: String, _ body: () async throws -> Void) async {
                do {
                    try await body()
                    Issue.record("\(operation) succeeded against a closed port")
                } catch let outage as DependencyOutage {
                    #expect(outage.dependency == "blobs")
                    #expect(!outage.detail.contains(S3TestStore.credentials.secretAccessKey))
                } catch {
                    Issue.record("\(operation): expected a DependencyOutage, got \(error)")
                }
            }
            await expectOutage("write") { _ = try await store.write(key, bytes: [1, 2, 3]) }
            await expectOutage("multipart write") {
                _ = try await store.write(key, from: Self.unevenChunks(Self.bytes(9 * Self.mebibyte)), limit: 10 * Self.mebibyte)
            }
            await expectOutage("read") { _ = try await store.read(key) }
            await expectOutage("size") { _ = try await store.size(of: key) }
            await expectOutage("delete") { try await store.delete(key) }
        }
    }
}

/// Where an iteration of a test's chunks is (the chunk functions are `@Sendable`).
final class Position: @unchecked Sendable {
    private let lock = NSLock()
    private var offset = 0
    private var calls = 0

    var count: Int { lock.withLock { calls } }

    /// The next chunk's start and length: sizes taken in turn, the last one cut at `total`.
    func advance(by sizes: [Int], total: Int) -> (start: Int, count: Int) {
        lock.withLock {
            let size = sizes[calls % sizes.count]
            calls += 1
            let start = offset
            let count = max(0, min(size, total - start))
            offset += count
            return (start, count)
        }
    }
}
