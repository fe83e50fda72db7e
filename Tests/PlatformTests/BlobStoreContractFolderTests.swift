import Foundation
import NIOCore
@testable import Platform
import Testing

/// The blob store contract on the folder driver (a fresh folder per test), and what only a
/// folder can get wrong: temporary files left behind, descriptors left open, and the layout of
/// media stored before the store had keys.
@Suite("Platform: blob store contract, folder")
struct BlobStoreContractFolderTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-blobs-\(UUID().uuidString)")
    var store: FolderBlobStore { FolderBlobStore(root: root) }

    /// Every file under the root (temporary ones start with a dot).
    func files() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { path in
            var folder: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &folder) && !folder.boolValue
        }
    }

    func temporaries() -> [String] { files().filter { $0.split(separator: "/").last?.hasPrefix(".") == true } }

    @Test(arguments: BlobStoreContract.Check.allCases)
    func contract(_ check: BlobStoreContract.Check) async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await check.run(on: store)
        // Failed, cancelled and too large writes included: no temporary file stays.
        #expect(temporaries() == [], "temporary files left: \(temporaries())")
    }

    /// SMS media written by the content-addressed store before the protocol (at
    /// `<root>/sha256/<ab>/<sha256>`) is read under the key of the same path.
    @Test func mediaStoredBeforeKeysIsReadUnderItsPath() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let bytes: [UInt8] = Array("an old image".utf8)
        let sha = SHA256Hex.of(bytes)
        let folder = root.appendingPathComponent("sha256/\(sha.prefix(2))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: folder.appendingPathComponent(sha))
        let key = try BlobKey("sha256/\(sha.prefix(2))/\(sha)")
        #expect(try await store.size(of: key) == bytes.count)
        #expect(try await store.read(key).collect() == bytes)
        #expect(try await store.read(key, range: 3...7).collect() == Array(bytes[3...7]))
    }

    /// A write lands where the key says, and nothing else is left in the folder.
    @Test func aBlobIsTheFileAtItsKey() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try await store.write(try BlobKey("a/b/c.bin"), bytes: [1, 2, 3])
        #expect(files() == ["a/b/c.bin"])
        #expect(try Data(contentsOf: root.appendingPathComponent("a/b/c.bin")) == Data([1, 2, 3]))
    }

    /// A consumer that stops after the first chunk (a client that hangs up) does not leak the
    /// descriptor: it is closed when the chunks are dropped.
    @Test func aReadStoppedEarlyClosesItsFile() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let key = try BlobKey("early/stop")
        _ = try await store.write(key, bytes: BlobStoreContract.bytes(count: 2 * 1024 * 1024, seed: 42))
        let path = store.file(of: key).resolvingSymlinksInPath().path
        do {
            let content = try await store.read(key)
            #expect(openDescriptors(of: path) == 1)
            let iterator = content.chunks.makeAsyncIterator()
            #expect(try await iterator.next()?.readableBytes == FolderBlobStore.readChunkSize)
        }
        // The close goes to the thread pool: give it a moment.
        for _ in 0..<100 where openDescriptors(of: path) > 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(openDescriptors(of: path) == 0)

        // Read to the end: closed at once.
        _ = try await store.read(key).collect()
        #expect(openDescriptors(of: path) == 0)
    }

    /// How many of this process's descriptors are open on `path`.
    func openDescriptors(of path: String) -> Int {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path }.count
    }

    @Test func blobStoreSettingOpensTheFolder() throws {
        let opened = try BlobStores.open(environment: EnvironmentReader(["BLOB_STORE": "file://\(root.path)"]), defaultFolder: "/unused")
        #expect((opened as? FolderBlobStore)?.root.path == root.path)
        #expect(try BlobStores.open(environment: EnvironmentReader([:]), defaultFolder: root.path).kind == "folder")
        #expect(throws: ConfigurationError.self) { try BlobStores.open(environment: EnvironmentReader(["BLOB_STORE": "ftp://x"]), defaultFolder: "/") }
        #expect(throws: ConfigurationError.self) { try BlobStores.open(environment: EnvironmentReader(["BLOB_STORE": "postgres"]), defaultFolder: "/") }
    }
}
