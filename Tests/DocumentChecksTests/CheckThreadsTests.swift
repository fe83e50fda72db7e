@testable import DocumentChecks
import Foundation
import Synchronization
import Testing

@Suite("Document checks: off the cooperative pool")
struct CheckThreadsTests {
    typealias Fixtures = DocumentFixtures

    @Test func checksRunOnCheckThreadsOnly() async throws {
        #expect(!CheckThreads.isCurrentThreadACheckThread)  // a cooperative thread, here
        let onCheckThread = try await CheckThreads.run(timeout: nil) { _ in CheckThreads.isCurrentThreadACheckThread }
        #expect(onCheckThread)
    }

    /// More checks at once than there are check threads (or cooperative threads): they queue
    /// and all finish, each with its own answer.
    @Test func twentyConcurrentChecksAllComplete() async throws {
        let cases: [(String, DocumentKind, DocumentReport?)] = [
            ("one-page.pdf", .pdf, DocumentReport(kind: .pdf, pages: 1)),
            ("three-pages.pdf", .pdf, DocumentReport(kind: .pdf, pages: 3)),
            ("gradient-64x48.png", .png, DocumentReport(kind: .png, width: 64, height: 48)),
            ("interlaced-13x9.png", .png, DocumentReport(kind: .png, width: 13, height: 9)),
            ("no-pages.pdf", .pdf, nil),
        ]
        let results = try await withThrowingTaskGroup(of: (Int, DocumentReport?).self) { group in
            for index in 0..<20 {
                let (name, kind, _) = cases[index % cases.count]
                group.addTask {
                    do {
                        return (index, try await DocumentCheck.inspect(file: Fixtures.path(name), as: kind))
                    } catch is DocumentRejected {
                        return (index, nil)
                    }
                }
            }
            return try await group.reduce(into: [Int: DocumentReport?]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 20)
        for (index, report) in results {
            #expect(report == cases[index % cases.count].2, "check \(index)")
        }
    }

    @Test func aCheckPastItsTimeoutIsRejectedAndTold() async throws {
        let stopped = Atomic<Bool>(false)
        let started = ContinuousClock.now
        await #expect(throws: DocumentRejected(reason: "the file takes longer than 100 ms to check")) {
            try await CheckThreads.run(timeout: .milliseconds(100)) { abandonment in
                while !abandonment.isAbandoned { usleep(1_000) }
                stopped.store(true, ordering: .relaxed)
            }
        }
        // The timeout counts from when the check gets a thread; with the whole suite running,
        // the check threads may be busy for many seconds first. Not waiting forever is the point.
        #expect(ContinuousClock.now - started < .seconds(60))
        try await waitUntil { stopped.load(ordering: .relaxed) }
    }

    @Test func aCancelledCallerIsAnsweredAtOnceAndTheCheckTold() async throws {
        let started = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        let task = Task {
            try await CheckThreads.run(timeout: nil) { abandonment in
                started.store(true, ordering: .relaxed)
                while !abandonment.isAbandoned { usleep(1_000) }
                stopped.store(true, ordering: .relaxed)
            }
        }
        // Running, not queued behind the other suites' checks (a queued one would just be skipped).
        try await waitUntil { started.load(ordering: .relaxed) }
        task.cancel()
        await #expect(throws: DocumentCheckError.cancelled) { try await task.value }
        try await waitUntil { stopped.load(ordering: .relaxed) }
    }

    /// The row loop looks at its abandonment: a timed-out PNG check stops decoding.
    @Test func anAbandonedPNGCheckStopsDecoding() async throws {
        await #expect(throws: CheckAbandoned.self) {
            try await CheckThreads.run(timeout: nil) { _ in
                let abandonment = CheckAbandonment()
                abandonment.abandon()
                return try PNGCheck.inspect(file: Fixtures.path("gradient-64x48.png"), limits: .default, abandonment: abandonment)
            }
        }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            #expect(ContinuousClock.now < deadline, "still waiting after 5 s")
            if ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
