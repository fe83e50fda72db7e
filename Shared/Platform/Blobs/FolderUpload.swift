import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// One write of ``FolderBlobStore`` in progress: a temporary file next to its target, filled
/// chunk by chunk and renamed over the target once complete. Every method blocks and runs on
/// a pool thread; a write's steps run one after another, so one thread at a time uses the
/// descriptor (the lock only satisfies the checker).
final class FolderUpload: @unchecked Sendable {
    let target: URL
    let temporary: URL
    private var descriptor: Int32
    private var published = false
    private let lock = NSLock()

    /// Creates the missing folders up to the target's (each made durable in its parent) and
    /// the temporary file.
    init(target: URL) throws {
        let folder = target.deletingLastPathComponent()
        try FolderFiles.makeFolders(folder)
        self.target = target
        temporary = folder.appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString.lowercased()).tmp")
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FolderFailure.of(operation: "create", path: temporary.path, errno: errno) }
    }

    func append(_ chunk: ByteBuffer) throws {
        try lock.withLock {
            try chunk.withUnsafeReadableBytes { buffer in
                var written = 0
                while written < buffer.count {
                    let count = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw FolderFailure.of(operation: "write", path: temporary.path, errno: errno)
                    }
                    written += count
                }
            }
        }
    }

    /// On disk before the name says it exists, then the name made durable.
    func publish() throws {
        try lock.withLock {
            guard fsync(descriptor) == 0 else { throw FolderFailure.of(operation: "fsync", path: temporary.path, errno: errno) }
            close(descriptor)
            descriptor = -1
            guard rename(temporary.path, target.path) == 0 else {
                throw FolderFailure.of(operation: "rename", path: target.path, errno: errno)
            }
            published = true
        }
        try FolderFiles.syncFolder(target.deletingLastPathComponent())
    }

    /// Closes and removes the temporary file of a write that will not complete.
    func abandon() {
        lock.withLock {
            if descriptor >= 0 {
                close(descriptor)
                descriptor = -1
            }
            if !published { unlink(temporary.path) }
        }
    }

    deinit {
        // Only reached without abandon() or publish() if the thread pool refused the call;
        // close and unlink of a local file do not wait on the disk.
        if descriptor >= 0 {
            close(descriptor)
            if !published { unlink(temporary.path) }
        }
    }
}
