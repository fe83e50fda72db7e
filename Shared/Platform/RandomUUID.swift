import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension UUID {
    /// A random (version 4) UUID from one `arc4random_buf` call (glibc: one `getrandom`).
    ///
    /// Why not `UUID()`: on Linux, Foundation's opens, reads and closes `/dev/urandom` for each
    /// one, three system calls that showed in every profile of `POST /messages` (which needs two).
    public static func random() -> UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { buffer in arc4random_buf(buffer.baseAddress!, buffer.count) }
        bytes.6 = bytes.6 & 0x0F | 0x40  // version 4
        bytes.8 = bytes.8 & 0x3F | 0x80  // RFC 4122 variant
        return UUID(uuid: bytes)
    }
}
