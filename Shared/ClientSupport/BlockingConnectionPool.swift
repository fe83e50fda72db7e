import NIOPosix
import Synchronization

/// A connection that a ``BlockingConnectionPool`` can hold: a C client handle whose every call
/// may block, so it is only ever touched from one of the pool's own threads.
public protocol PooledConnection: AnyObject, Sendable {
    /// False once the connection saw an I/O error; the pool then closes it and dials a new one.
    var isUsable: Bool { get }
}

/// A fixed-size pool of blocking C connections, each lent to one thread at a time.
///
/// Why: libpq and hiredis calls block, and a blocking call on a SwiftNIO event loop or on
/// Swift's cooperative pool stalls everything else. The pool owns an `NIOThreadPool` with one
/// thread per connection; `withConnection` waits (without blocking) for a free connection and
/// runs the caller's synchronous body on a pool thread. Broken connections are closed and
/// replaced lazily, which is how both clients reconnect after errors. Every C call happens on a
/// pool thread, closing included: a broken connection, and the idle ones dropped with it, are
/// released before the pool thread hands back, so their `deinit` never runs on the caller's
/// (cooperative) thread.
///
/// Waiting is bounded: at most `maxWaiters` callers queue for a connection, each for at most
/// `maxWait`, and a cancelled caller leaves the queue at once. Past either limit the caller
/// gets `busyError`, which a service answers as "unavailable, retry", instead of piling up
/// requests behind a slow or hung database.
public final class BlockingConnectionPool<Connection: PooledConnection>: Sendable {
    public typealias Factory = @Sendable () throws -> Connection

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
        /// Fails the waiter after `maxWait`; cancelled when a connection reaches it first, so
        /// that a busy pool does not keep a sleeping task per served caller.
        var timer: Task<Void, Never>?
    }

    private struct State {
        var idle: [Connection] = []
        var leased = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    private let size: Int
    private let factory: Factory
    private let threads: NIOThreadPool
    private let state = Mutex(State())
    private let closedError: @Sendable () -> any Error
    private let busyError: @Sendable (String) -> any Error
    private let maxWaiters: Int
    private let maxWait: Duration

    public init(size: Int, maxWaiters: Int = 1_000, maxWait: Duration = .seconds(10),
                closedError: @escaping @Sendable () -> any Error, busyError: @escaping @Sendable (String) -> any Error,
                factory: @escaping Factory) {
        precondition(size > 0, "a pool needs at least one connection")
        self.size = size
        self.factory = factory
        self.closedError = closedError
        self.busyError = busyError
        self.maxWaiters = maxWaiters
        self.maxWait = maxWait
        self.threads = NIOThreadPool(numberOfThreads: size)
        self.threads.start()
    }

    /// Runs `body` on a pool thread with a connection nobody else is using.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await acquireSlot()
        do {
            let (result, kept) = try await threads.runIfActive { [factory, self] () throws -> (T, Connection?) in
                // Taken from the idle list here, on the pool thread: no reference to it is left
                // outside, so when it breaks its last one goes away on this thread.
                let connection = try state.withLock({ $0.idle.popLast() }) ?? factory()
                do {
                    let result = try body(connection)
                    return (result, keepIfUsable(connection))
                } catch {
                    throw LeaseFailure(error: error, connection: keepIfUsable(connection))
                }
            }
            release(kept)
            return result
        } catch let failure as LeaseFailure<Connection> {
            release(failure.connection)
            throw failure.error
        } catch {
            release(nil)
            throw error
        }
    }

    /// On a pool thread, after a lease: the connection if it can be lent again, else nil, having
    /// closed it here along with the idle ones. A connection that broke usually means the
    /// server restarted or went away, and the idle ones date from before: dropping them now
    /// spares the next callers a failure each (after a restart, a pool of eight answered
    /// "unavailable" eight more times); new ones are dialled on demand.
    private func keepIfUsable(_ connection: Connection) -> Connection? {
        if connection.isUsable, !state.withLock({ $0.closed }) { return connection }
        let stale = state.withLock { state -> [Connection] in
            defer { state.idle.removeAll() }
            return state.idle
        }
        withExtendedLifetime(stale) {}  // their last references: freed on this thread
        return nil
    }

    /// Stops lending connections; the idle ones are closed on a pool thread.
    public func close() async {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: closedError())
        }
        // Emptied on a pool thread, so that the idle connections' last references go there.
        try? await threads.runIfActive { [self] in state.withLock { $0.idle.removeAll() } }
        try? await threads.shutdownGracefully()
    }

    private func acquireSlot() async throws {
        let id = state.withLock { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        let (maxWaiters, maxWait) = (self.maxWaiters, self.maxWait)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.closed { return .failure(closedError()) }
                    if state.leased < size {
                        state.leased += 1
                        return .success(())
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.waiters.count >= maxWaiters {
                        return .failure(busyError("\(maxWaiters) callers are already waiting for a connection"))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome)
                    return
                }
                // The waiter gives up after `maxWait` unless a connection reached it first.
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: maxWait)) != nil else { return }
                    self?.abandon(id, with: self?.busyError("no connection came free within \(maxWait)") ?? CancellationError())
                }
                let served = state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return true }
                    state.waiters[index].timer = timer
                    return false
                }
                if served { timer.cancel() }
            }
        } onCancel: {
            abandon(id, with: CancellationError())
        }
    }

    /// Takes a waiter out of the queue and fails it; nothing when it was already served.
    private func abandon(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }

    /// Gives the slot back, with the connection when it can be lent again (broken ones were
    /// closed on the pool thread already).
    private func release(_ connection: Connection?) {
        let next = state.withLock { state -> Waiter? in
            if let connection, !state.closed {
                state.idle.append(connection)
            }
            if state.waiters.isEmpty {
                state.leased -= 1
                return nil
            }
            return state.waiters.removeFirst()  // the slot passes straight to the next waiter
        }
        next?.timer?.cancel()
        next?.continuation.resume()
    }
}

private struct LeaseFailure<Connection: Sendable>: Error {
    let error: any Error
    /// Nil when the connection broke (and was closed on the pool thread).
    let connection: Connection?
}
