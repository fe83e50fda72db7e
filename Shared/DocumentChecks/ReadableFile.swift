#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Opening the file to check, where a failure is the check's problem and not the file's: a
/// missing or unreadable path throws ``DocumentCheckError/unreadable(path:reason:)`` (the
/// invoice stays as it is and the check is retried), never ``DocumentRejected``.
enum ReadableFile {
    /// A stdio stream on the regular file at `path`; the caller closes it (on the same thread).
    static func open(_ path: String) throws -> UnsafeMutablePointer<FILE> {
        guard let file = fopen(path, "rb") else {
            throw DocumentCheckError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        guard fstat(fileno(file), &status) == 0 else {
            let reason = String(cString: strerror(errno))
            fclose(file)
            throw DocumentCheckError.unreadable(path: path, reason: reason)
        }
        // A directory opens fine and then fails to read, which the parsers would report as a bad file.
        guard status.st_mode & S_IFMT == S_IFREG else {
            fclose(file)
            throw DocumentCheckError.unreadable(path: path, reason: "not a regular file")
        }
        return file
    }

    /// Throws the same way as ``open(_:)`` when `path` cannot be read, for a parser that opens
    /// the file by name itself (qpdf would report a missing file as one more damaged PDF).
    static func confirm(_ path: String) throws {
        fclose(try open(path))
    }
}
