import ClientSupport
import Dispatch
import Foundation
import Synchronization

/// Frees a connection thread that is stuck writing to a broker that stopped reading.
///
/// librabbitmq 0.11 writes with no deadline: `amqp_basic_publish` (and the frames of `close`)
/// wait for the socket to become writable for as long as it takes. A broker under a memory or
/// disk alarm stops reading a publishing connection's socket; once the kernel's buffers are full
/// (a single 4 MiB feed batch is enough), the owning thread waits there forever, and with it
/// every caller waiting for a confirm and whoever wants to close the publisher.
///
/// The owner arms the watchdog around its writes with the earliest deadline any caller is
/// waiting on. Past it, the watchdog shuts the socket down with `shutdown(2)`: a kernel call on
/// the descriptor, not a librabbitmq call, so the C state is still used by its owner alone. The
/// blocked write then fails, and the owner handles it as any broken connection (callers past
/// their deadline get `.timeout`, the others are republished on a new connection). Firing and
/// disarming take the same lock and the owner closes the socket only after disarming, so the
/// watchdog never shuts a descriptor that the kernel has since handed to someone else.
final class SendWatchdog: Sendable {
    private struct State {
        var socket: Int32?
        var deadline = ContinuousClock.Instant.now
        var stopped = false
    }

    private let state = Mutex(State())
    private let name: String
    private let onFire: @Sendable () -> Void
    private let stop = DispatchSemaphore(value: 0)

    /// `checkEvery` bounds how late past a deadline the socket is shut down.
    init(name: String, checkEvery: Duration = .milliseconds(200), onFire: @escaping @Sendable () -> Void) {
        self.name = name
        self.onFire = onFire
        let interval = checkEvery.inSeconds
        startOwnerThread(named: name) { [self] in
            while stop.wait(timeout: .now() + interval) == .timedOut { check() }
        }
    }

    /// Writes on `socket` from now on must finish by `deadline`.
    func arm(socket: Int32, until deadline: ContinuousClock.Instant) {
        state.withLock { $0.socket = socket; $0.deadline = deadline }
    }

    /// The writes finished: the socket may now be closed by its owner.
    func disarm() {
        state.withLock { $0.socket = nil }
    }

    /// Ends the watchdog's thread.
    func finish() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first { stop.signal() }
    }

    /// Runs `body` with its writes bounded by `deadline`.
    func guarding<T>(socket: Int32, until deadline: ContinuousClock.Instant, _ body: () throws -> T) rethrows -> T {
        arm(socket: socket, until: deadline)
        defer { disarm() }
        return try body()
    }

    private func check() {
        let fired = state.withLock { state -> Bool in
            guard let socket = state.socket, state.deadline <= .now else { return false }
            state.socket = nil  // once: the owner sees the failure and reconnects
            return shutdown(socket, Int32(SHUT_RDWR)) == 0
        }
        if fired { onFire() }
    }
}
