import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// An open blob file of ``FolderBlobStore`` being read: `pread`s the next piece of its range
/// as the consumer asks. The descriptor is closed when the range is done, on an error, or,
/// for a consumer that stops early, when the last reference goes (``deinit``).
final class FolderReader: Sendable {
    private struct State {
        var descriptor: Int32
        var offset = 0
        var end = 0
    }

    private let state: NIOLockedValueBox<State>
    private let path: String

    init(descriptor: Int32, path: String) {
        state = NIOLockedValueBox(State(descriptor: descriptor))
        self.path = path
    }

    func limit(to range: Range<Int>) {
        state.withLockedValue {
            $0.offset = range.lowerBound
            $0.end = range.upperBound
        }
    }

    /// Blocks (pread): call on a pool thread. Nil at the end of the range.
    func next(_ count: Int) throws -> ByteBuffer? {
        try state.withLockedValue { state in
            guard state.offset < state.end else {
                Self.close(&state)
                return nil
            }
            guard state.descriptor >= 0 else {
                throw BlobStoreError.failed(operation: "read", detail: "\(path) was already read to its end or failed")
            }
            let wanted = min(count, state.end - state.offset)
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            let descriptor = state.descriptor
            let offset = state.offset
            let result = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { bytes in
                var got = 0
                while got < wanted {
                    let count = pread(descriptor, bytes.baseAddress! + got, wanted - got, off_t(offset + got))
                    if count < 0 {
                        if errno == EINTR { continue }
                        return -Int(errno)
                    }
                    if count == 0 { break }  // the file is shorter than it was: reported below
                    got += count
                }
                return got
            }
            guard result == wanted else {
                Self.close(&state)
                if result < 0 { throw FolderFailure.of(operation: "pread", path: path, errno: Int32(-result)) }
                throw BlobStoreError.failed(operation: "read", detail: "\(path) ended \(wanted - result) bytes early")
            }
            state.offset += wanted
            return buffer
        }
    }

    private static func close(_ state: inout State) {
        if state.descriptor >= 0 {
            Glibc.close(state.descriptor)
            state.descriptor = -1
        }
    }

    deinit {
        // The consumer stopped early. deinit may run on any thread, the event loop included:
        // the close goes to the pool.
        let descriptor = state.withLockedValue { $0.descriptor }
        if descriptor >= 0 {
            NIOThreadPool.singleton.submit { _ in Glibc.close(descriptor) }
        }
    }
}
