import Foundation
import NIOCore
import NIOPosix
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A private temporary copy of a blob for a parser that reads files (qpdf, libspng). Written
/// chunk by chunk on the NIO thread pool (file I/O blocks: never on an event loop or the
/// cooperative pool); removed again if the copy fails half-way.
enum ScratchFile {
    static func write(_ chunks: BlobChunks, to file: URL) async throws {
        let threads = NIOThreadPool.singleton
        let path = file.path
        let descriptor = try await threads.runIfActive {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw BlobStoreError.failed(operation: "create scratch file", detail: String(cString: strerror(errno))) }
            return descriptor
        }
        do {
            for try await chunk in chunks {
                try await threads.runIfActive {
                    try chunk.withUnsafeReadableBytes { buffer in
                        var written = 0
                        while written < buffer.count {
                            let count = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                            if count < 0 {
                                if errno == EINTR { continue }
                                throw BlobStoreError.failed(operation: "write scratch file", detail: String(cString: strerror(errno)))
                            }
                            written += count
                        }
                    }
                }
            }
            try await threads.runIfActive { _ = close(descriptor) }
        } catch {
            try? await threads.runIfActive {
                _ = close(descriptor)
                _ = unlink(path)
            }
            throw error
        }
    }
}
