import NIOCore
import NIOPosix
import Synchronization

/// The threads that run document checks, and the one way onto them.
///
/// Why threads of their own: qpdf and libspng are blocking, CPU-bound C code, which must run
/// neither on an event loop nor on Swift's cooperative pool. On `NIOThreadPool.singleton`
/// (shared with file I/O elsewhere) a few slow checks would hold up everything queued behind
/// them; here they hold up only other checks. One thread per core: a check is pure CPU, more
/// threads would only share the same cores.
///
/// Each check's parser state (a qpdf handle, an spng context, the file they read) is created,
/// used and destroyed inside one call on one of these threads: nothing of it outlives the call.
enum CheckThreads {
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        pool.start()
        return pool
    }()

    /// Set on a thread while it runs a check, so that the parsers can refuse to run anywhere else.
    private static let marker = ThreadSpecificVariable<CheckThreadMarker>()

    /// Whether the calling thread is one of these: the C wrappers check it before their first call.
    static var isCurrentThreadACheckThread: Bool { marker.currentValue != nil }

    /// Runs `check` on a check thread and waits for it without holding a cooperative thread.
    ///
    /// Once the check has a thread it has `timeout` to finish; past it the caller gets a
    /// ``DocumentRejected`` (a legitimate invoice checks in milliseconds: one that needs more
    /// than seconds of CPU is built to exhaust the parser). A cancelled caller gets
    /// ``DocumentCheckError/cancelled`` at once. Either way the check is told through its
    /// ``CheckAbandonment`` and stops at its next step (a PNG row, a PDF page); a single C call
    /// cannot be interrupted, so a check stuck in one keeps its thread until the call returns.
    static func run<T: Sendable>(timeout: Duration?, _ check: @escaping @Sendable (CheckAbandonment) throws -> T) async throws -> T {
        let abandonment = CheckAbandonment()
        let answer = OneAnswer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                answer.wait(with: continuation)
                pool.submit { state in
                    guard case .active = state else {
                        answer.give(.failure(DocumentCheckError.cancelled))
                        return
                    }
                    // Its caller left while it queued: nobody wants the answer any more.
                    guard !abandonment.isAbandoned else { return }
                    let timer = timeout.map { timeout in
                        Task {
                            guard (try? await Task.sleep(for: timeout)) != nil else { return }
                            abandonment.abandon()
                            answer.give(.failure(DocumentRejected(reason: "the file takes longer than \(timeout.forMessages) to check")))
                        }
                    }
                    marker.currentValue = CheckThreadMarker.shared
                    let result = Result { try check(abandonment) }
                    marker.currentValue = nil
                    timer?.cancel()
                    answer.give(result)
                }
            }
        } onCancel: {
            abandonment.abandon()
            answer.give(.failure(DocumentCheckError.cancelled))
        }
    }
}

/// What a check thread carries while it runs a check (its presence is the whole message).
private final class CheckThreadMarker: Sendable {
    static let shared = CheckThreadMarker()
}

/// Tells a running check that nobody waits for its answer any more (it timed out, or its caller
/// was cancelled), so that it stops at its next step instead of working for nobody.
final class CheckAbandonment: Sendable {
    private let abandoned = Atomic<Bool>(false)

    var isAbandoned: Bool { abandoned.load(ordering: .relaxed) }

    func abandon() { abandoned.store(true, ordering: .relaxed) }

    /// Throws when the check should stop (what it throws is dropped: the caller has its answer).
    func stopIfAbandoned() throws {
        if isAbandoned { throw CheckAbandoned() }
    }
}

/// Thrown inside an abandoned check to unwind it; never reaches a caller.
struct CheckAbandoned: Error {}

/// The first of several racing answers (the check's result, its timeout, the caller's
/// cancellation) resumes the waiting caller; the others are dropped. An answer may come before
/// the caller starts waiting (cancelled before it began): it is kept until then.
private final class OneAnswer<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T, any Error>)
        case answered(Result<T, any Error>)
        case done
    }

    private let state = Mutex(State.empty)

    func wait(with continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            switch state {
            case .empty:
                state = .waiting(continuation)
                return nil
            case let .answered(result):
                state = .done
                return result
            case .waiting, .done:
                preconditionFailure("one caller waits for one answer")
            }
        }
        if let early { continuation.resume(with: early) }
    }

    func give(_ result: Result<T, any Error>) {
        let waiting = state.withLock { state -> CheckedContinuation<T, any Error>? in
            switch state {
            case .empty:
                state = .answered(result)
                return nil
            case let .waiting(continuation):
                state = .done
                return continuation
            case .answered, .done:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
}

extension Duration {
    /// "30 s", or "250 ms" under a second: for messages.
    fileprivate var forMessages: String {
        let (seconds, attoseconds) = components
        return seconds >= 1 ? "\(seconds) s" : "\(attoseconds / 1_000_000_000_000_000) ms"
    }
}
