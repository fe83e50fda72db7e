import Foundation
import NIOPosix

/// Content-addressed file storage: a blob's name is the SHA-256 of its bytes, so the same
/// bytes are stored once however often they are uploaded. `BLOB_STORE=file:///path` (the
/// local default, under the run folder). Writes go to a temporary file that is renamed into
/// place, so a reader never sees half a blob and a crash leaves no corrupt one.
public struct BlobStore: Sendable {
    public let root: URL
    /// File I/O blocks: it runs on the shared NIO thread pool, never on an event loop.
    private let threads = NIOThreadPool.singleton

    public init(root: URL) {
        self.root = root
    }

    /// Reads `BLOB_STORE`; only `file://` is implemented so far (see README).
    public init(environment: EnvironmentReader, defaultFolder: String) throws {
        let text = environment.string("BLOB_STORE", default: "file://" + defaultFolder)
        guard let url = URL(string: text), url.scheme == "file", !url.path.isEmpty else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "expected file:///absolute/path (postgres and s3 stores are not implemented yet), got \"\(text)\"")
        }
        self.init(root: url)
    }

    func path(of sha256: String) -> URL {
        root.appendingPathComponent("sha256").appendingPathComponent(String(sha256.prefix(2)))
            .appendingPathComponent(sha256)
    }

    /// Stores the bytes under their hash unless already there. Returns true when it wrote them.
    @discardableResult
    public func put(_ bytes: [UInt8], sha256: String) async throws -> Bool {
        let target = path(of: sha256)
        return try await threads.runIfActive {
            let files = FileManager.default
            if files.fileExists(atPath: target.path) { return false }
            try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(sha256).\(UUID().uuidString).tmp")
            try Data(bytes).write(to: temporary, options: [])
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()  // on disk before the name says it exists
            try handle.close()
            if rename(temporary.path, target.path) != 0 {
                try? files.removeItem(at: temporary)
                throw CocoaError(.fileWriteUnknown)
            }
            return true
        }
    }

    /// The bytes of a blob, or nil when there is none.
    public func get(sha256: String) async throws -> [UInt8]? {
        let target = path(of: sha256)
        return try await threads.runIfActive {
            guard let data = FileManager.default.contents(atPath: target.path) else { return nil }
            return [UInt8](data)
        }
    }
}
