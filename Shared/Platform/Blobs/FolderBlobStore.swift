import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed file storage: a blob's name is the SHA-256 of its bytes, so the same
/// bytes are stored once however often they are uploaded. `BLOB_STORE=file:///path` (the
/// local default, under the run folder).
///
/// A write goes to a temporary file in the blob's own folder, is fsynced, renamed into place,
/// and then the folder is fsynced too (the rename is an entry of the folder: without that, a
/// power loss may forget it while the database row that names the blob survives). A reader
/// never sees half a blob; a write that fails at any step removes its temporary file.
public struct FolderBlobStore: Sendable {
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

    /// Where a blob lives. Readers stream from it (``SMSMedia`` serves downloads from the file
    /// in chunks, never the whole blob in memory).
    public func path(of sha256: String) -> URL {
        root.appendingPathComponent("sha256").appendingPathComponent(String(sha256.prefix(2)))
            .appendingPathComponent(sha256)
    }

    /// Stores the bytes under their hash unless already there. Returns true when it wrote them.
    @discardableResult
    public func put(_ bytes: [UInt8], sha256: String) async throws -> Bool {
        try await put(sha256: sha256) { descriptor in try Self.writeAll(bytes, to: descriptor) }
    }

    /// The steps of a write, with what fills the temporary file given by the caller (tests make
    /// it fail half-way).
    func put(sha256: String, writing fill: @escaping @Sendable (Int32) throws -> Void) async throws -> Bool {
        let target = path(of: sha256)
        let root = root
        return try await threads.runIfActive {
            let files = FileManager.default
            if files.fileExists(atPath: target.path) { return false }
            let folder = target.deletingLastPathComponent()
            if !files.fileExists(atPath: folder.path) {
                try files.createDirectory(at: folder, withIntermediateDirectories: true)
                // The new folder is itself an entry of its parent.
                try Self.syncFolder(folder.deletingLastPathComponent())
                try Self.syncFolder(root)
            }
            let temporary = folder.appendingPathComponent(".\(sha256).\(UUID().uuidString).tmp")
            let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw FolderBlobError(operation: "create", path: temporary.path, errno: errno) }
            var published = false
            defer { if !published { unlink(temporary.path) } }
            do {
                defer { close(descriptor) }
                try fill(descriptor)
                // On disk before the name says it exists.
                guard fsync(descriptor) == 0 else { throw FolderBlobError(operation: "fsync", path: temporary.path, errno: errno) }
            }
            guard rename(temporary.path, target.path) == 0 else { throw FolderBlobError(operation: "rename", path: target.path, errno: errno) }
            published = true
            try Self.syncFolder(folder)
            return true
        }
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw FolderBlobError(operation: "write", path: "fd \(descriptor)", errno: errno)
                }
                written += count
            }
        }
    }

    /// fsync of a folder: makes its entries (a rename, a new subfolder) durable.
    static func syncFolder(_ folder: URL) throws {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FolderBlobError(operation: "open folder", path: folder.path, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FolderBlobError(operation: "fsync folder", path: folder.path, errno: errno) }
    }

    /// The size of a blob, or nil when there is none.
    public func size(sha256: String) async throws -> Int? {
        let target = path(of: sha256)
        return try await threads.runIfActive {
            var status = stat()
            guard stat(target.path, &status) == 0 else { return nil }
            return Int(status.st_size)
        }
    }
}

/// A file system call of the blob store that failed, with its errno (for the log).
public struct FolderBlobError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public var description: String { "blob store: \(operation) \(path) failed: \(String(cString: strerror(errno)))" }
}
