#if canImport(Glibc)
import Glibc
#endif

/// Lets another thread interrupt a connection thread that sleeps in `poll` on its socket:
/// writing a byte to the pipe makes `poll` return at once. This is how posted acks and new
/// publishes go out immediately, without busy-waiting and without touching the connection
/// from a second thread.
final class WakeupPipe: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "cannot create a pipe")
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        (readEnd, writeEnd) = (fds[0], fds[1])
    }

    deinit {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Sleeps until `socket` is readable (if given), `wake()` is called, or `seconds` pass.
    /// Returns true when the socket is readable.
    @discardableResult
    func wait(socket: Int32?, seconds: Double) -> Bool {
        var fds = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)]
        if let socket { fds.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&fds, nfds_t(fds.count), Int32(seconds * 1000))
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(readEnd, &buffer, buffer.count) > 0 {}
        return fds.count > 1 && fds[1].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0
    }
}
