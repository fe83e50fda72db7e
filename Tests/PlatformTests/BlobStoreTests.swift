import Foundation
@testable import Platform
import Testing

/// Issue 12 item 7: the blob store's writes, on a folder of the test's own.
@Suite("Platform: blob store writes")
struct BlobStoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-blobs-\(UUID().uuidString)")

    struct DiskFull: Error {}

    /// Every file under the store's root (temporary ones start with a dot).
    func files() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { !$0.hasSuffix("/") && !FileManager.default.isDirectory(root.appendingPathComponent($0)) }
    }

    @Test func aWriteThatFailsHalfWayLeavesNothingBehind() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let store = FolderBlobStore(root: root)
        let sha = String(repeating: "ab", count: 32)
        await #expect(throws: DiskFull.self) {
            try await store.put(sha256: sha) { descriptor in
                try FolderBlobStore.writeAll(Array(repeating: 7, count: 4096), to: descriptor)
                throw DiskFull()
            }
        }
        #expect(files() == [], "a failed write left files: \(files())")
        #expect(try await store.size(sha256: sha) == nil)

        // The next write of the same blob succeeds, and leaves only the blob.
        #expect(try await store.put([1, 2, 3], sha256: sha))
        #expect(files() == ["sha256/ab/\(sha)"])
        #expect(try await store.size(sha256: sha) == 3)
        #expect(try await store.put([1, 2, 3], sha256: sha) == false)  // already there
    }
}

extension FileManager {
    func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}
