import ClientSupport
import Dispatch
import Foundation
import Synchronization

/// One Redis connection owned by one thread, which sends every command queued since its last
/// round trip as a single pipeline and hands each caller its replies, in order.
///
/// Why not a pool of connections lent to callers one at a time: under load that costs two
/// system calls and two thread wake-ups per command on each side, and Redis spent more CPU on
/// reading sockets than on the commands. Queued behind a lane, N concurrent commands share one
/// write and one read. A lone command still goes out at once (the thread only sleeps while
/// nothing is queued), so latency without load stays one round trip.
///
/// Callers never touch the connection: hiredis is used by the lane's thread only. Commands
/// that block the server (`BLPOP`, `WAIT`, ...) would hold up every caller behind them and are
/// not used through a lane.
final class RedisLane: Sendable {
    private struct Request {
        var commands: [[any RedisArgument]]
        var continuation: CheckedContinuation<[RedisValue], any Error>
    }

    private struct Inbox {
        var requests: [Request] = []
        var closed = false
        /// The thread is (about to be) waiting on `wakeup`: only then does a caller signal it.
        var sleeping = false
    }

    /// Bounds one round trip, so that a burst does not build one huge write and reply buffer.
    private static let maxRequestsPerRoundTrip = 256

    private let url: String
    private let inbox = Mutex(Inbox())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(url: String, name: String) {
        self.url = url
        startOwnerThread(named: name) { [self] in self.run() }
    }

    /// Sends `commands` back to back in the lane's next round trip and returns their replies
    /// (server errors in place, as ``RedisValue/error(_:)``).
    func submit(_ commands: [[any RedisArgument]]) async throws -> [RedisValue] {
        try await withCheckedThrowingContinuation { continuation in
            let (accepted, wake) = inbox.withLock { inbox -> (Bool, Bool) in
                guard !inbox.closed else { return (false, false) }
                inbox.requests.append(Request(commands: commands, continuation: continuation))
                defer { inbox.sleeping = false }
                return (true, inbox.sleeping)
            }
            if wake { wakeup.signal() }
            if !accepted { continuation.resume(throwing: RedisError(.closed, "the client is closed")) }
        }
    }

    /// Answers what is queued, then closes the connection and ends the thread.
    func close() async {
        let (first, wake) = inbox.withLock { inbox -> (Bool, Bool) in
            guard !inbox.closed else { return (false, false) }
            inbox.closed = true
            defer { inbox.sleeping = false }
            return (true, inbox.sleeping)
        }
        guard first else { return }  // `finished` is signalled once, for the first closer
        if wake { wakeup.signal() }
        await finished.waitWithoutBlockingThePool()
    }

    // MARK: - The lane's thread

    private func run() {
        var connection: RedisConnection?
        while let batch = nextBatch() {
            do {
                // Dialled lazily and again after any I/O error: hiredis cannot reuse a broken context.
                let live = try connection ?? RedisConnection(url: url)
                connection = live
                let replies = try live.pipeline(batch.flatMap(\.commands))
                var start = 0
                for request in batch {
                    request.continuation.resume(returning: Array(replies[start..<start + request.commands.count]))
                    start += request.commands.count
                }
            } catch {
                // Whether the server ran these commands is unknown, so each caller gets the error.
                if connection?.isUsable != true { connection = nil }
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
        connection = nil  // frees the hiredis context on this thread
        finished.signal()
    }

    /// Waits until requests are queued and takes them; nil once closed with nothing left.
    private func nextBatch() -> [Request]? {
        while true {
            let batch = inbox.withLock { inbox -> [Request]?? in
                if !inbox.requests.isEmpty {
                    let count = min(inbox.requests.count, Self.maxRequestsPerRoundTrip)
                    defer { inbox.requests.removeFirst(count) }
                    return .some(Array(inbox.requests.prefix(count)))
                }
                if inbox.closed { return .some(nil) }
                inbox.sleeping = true
                return nil
            }
            if let batch { return batch }
            wakeup.wait()
        }
    }
}
