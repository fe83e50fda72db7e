import ClientSupport
import Foundation
import Synchronization
import Testing

/// Where the pool frees its connections. A C handle's close is one more blocking call: it must
/// run on a pool thread like every other, never on the caller's (cooperative) thread, which is
/// where a broken connection and the idle ones dropped with it used to be freed.
@Suite("Blocking connection pool: closing happens on the pool's threads")
struct BlockingConnectionPoolTests {
    /// Records the threads that ran a lease's body and the threads that freed a connection.
    final class Threads: Sendable {
        let leasing = Mutex<Set<UInt>>([])
        let freeing = Mutex<[UInt]>([])
        let created = Atomic<Int>(0)
        /// Leases that hold their connection until another one does.
        let together = Atomic<Int>(0)
        static var current: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self())))) }
    }

    final class Connection: PooledConnection {
        let threads: Threads
        let broken = Atomic<Bool>(false)
        var isUsable: Bool { !broken.load(ordering: .relaxed) }
        init(threads: Threads) {
            self.threads = threads
            threads.created.add(1, ordering: .relaxed)
        }
        deinit {
            let thread = Threads.current
            threads.freeing.withLock { $0.append(thread) }
        }
    }

    struct Failure: Error {}

    @Test func brokenAndStaleConnectionsAreFreedOnAPoolThread() async throws {
        let threads = Threads()
        let pool = BlockingConnectionPool<Connection>(size: 2, closedError: { Failure() }, busyError: { _ in Failure() }) {
            Connection(threads: threads)
        }
        func lease(breaking: Bool = false, meetingAnother: Bool = false) async throws {
            try await pool.withConnection { connection in
                threads.leasing.withLock { _ = $0.insert(Threads.current) }
                if meetingAnother {  // holds this connection until the other lease holds one too
                    threads.together.add(1, ordering: .relaxed)
                    let deadline = Date().addingTimeInterval(5)
                    while threads.together.load(ordering: .relaxed) < 2, Date() < deadline { usleep(1_000) }
                }
                if breaking { connection.broken.store(true, ordering: .relaxed) }
            }
        }
        // Two connections dialled (two leases at once), both idle afterwards.
        async let first: Void = lease(meetingAnother: true)
        async let second: Void = lease(meetingAnother: true)
        _ = try await (first, second)
        // One breaks: it and the idle one are dropped.
        try await lease(breaking: true)
        let freed = threads.freeing.withLock { $0 }
        #expect(threads.created.load(ordering: .relaxed) == 2)
        #expect(freed.count == 2, "freed \(freed.count) connections")
        let poolThreads = threads.leasing.withLock { $0 }
        for thread in freed {
            #expect(poolThreads.contains(thread), "a connection was freed off the pool's threads")
        }
        #expect(!freed.contains(Threads.current))
        await pool.close()
    }

    @Test func closingFreesTheIdleConnectionsOnAPoolThread() async throws {
        let threads = Threads()
        let pool = BlockingConnectionPool<Connection>(size: 1, closedError: { Failure() }, busyError: { _ in Failure() }) {
            Connection(threads: threads)
        }
        try await pool.withConnection { _ in threads.leasing.withLock { _ = $0.insert(Threads.current) } }
        await pool.close()
        let freed = threads.freeing.withLock { $0 }
        #expect(freed.count == 1)
        #expect(freed.allSatisfy { threads.leasing.withLock { $0 }.contains($0) }, "the idle connection was freed off the pool's threads")
    }
}
