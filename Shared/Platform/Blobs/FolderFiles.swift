import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder driver's blocking steps on folders (call them on a pool thread).
enum FolderFiles {
    /// fsync of a folder: makes its entries (a rename, a new subfolder, a removal) durable.
    static func syncFolder(_ folder: URL) throws {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FolderFailure.of(operation: "open folder", path: folder.path, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FolderFailure.of(operation: "fsync folder", path: folder.path, errno: errno) }
    }

    /// Creates `folder` and its missing parents (the root included), fsyncing the parent of
    /// each one created: a new folder is itself an entry of its parent, and a blob renamed into
    /// a folder that a crash forgets would be lost with it.
    static func makeFolders(_ folder: URL) throws {
        var missing: [URL] = []
        var current = folder.standardizedFileURL
        while !FileManager.default.fileExists(atPath: current.path), current.path != "/" {
            missing.append(current)
            current = current.deletingLastPathComponent()
        }
        for created in missing.reversed() {
            if mkdir(created.path, 0o755) != 0 && errno != EEXIST {  // EEXIST: a concurrent write made it
                throw FolderFailure.of(operation: "mkdir", path: created.path, errno: errno)
            }
            try syncFolder(created.deletingLastPathComponent())
        }
    }
}

/// How a failed file system call is reported: a store that cannot be reached (an I/O error,
/// a network file system gone) is an outage of `blobs`; anything else a failure of the store.
enum FolderFailure {
    static func of(operation: String, path: String, errno code: Int32) -> any Error {
        let detail = "\(operation) \(path): \(String(cString: strerror(code)))"
        switch code {
        case EIO, ENOTCONN, ESTALE, ETIMEDOUT, EHOSTDOWN, EHOSTUNREACH, ENODEV, ENXIO:
            return DependencyOutage(dependency: "blobs", detail: detail)
        default:
            return BlobStoreError.failed(operation: operation, detail: detail)
        }
    }
}
