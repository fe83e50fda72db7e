@testable import Events
import Synchronization
import Testing

/// Identical `/search` misses in one process run their query once (``SingleFlight``).
@Suite("Events: single-flight of identical misses")
struct SingleFlightTests {
    @Test func concurrentCallersOfOneKeyShareOneRun() async throws {
        let flights = SingleFlight<Int>()
        let runs = Atomic<Int>(0)
        // The work lasts long enough for all 50 callers to arrive while it is under way.
        let work: @Sendable () async throws -> Int = {
            runs.add(1, ordering: .relaxed)
            try await Task.sleep(for: .seconds(1))
            return 42
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for _ in 0..<50 { group.addTask { try await flights.run("window", work) } }
            return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
        }
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(results.allSatisfy { $0.0 == 42 })
        #expect(results.filter { !$0.1 }.count == 1, "one caller ran it, the others joined")
        #expect(flights.inFlight == 0, "forgotten once done")
        // Another key, and the same key once done, run afresh.
        _ = try await flights.run("other", work)
        _ = try await flights.run("window", work)
        #expect(runs.load(ordering: .relaxed) == 3)
    }

    @Test func aFailureIsSharedButNotRemembered() async throws {
        struct Refused: Error {}
        let flights = SingleFlight<Int>()
        let attempts = Atomic<Int>(0)
        await #expect(throws: Refused.self) {
            try await flights.run("window") {
                attempts.add(1, ordering: .relaxed)
                throw Refused()
            }
        }
        let value = try await flights.run("window") {
            attempts.add(1, ordering: .relaxed)
            return 7
        }
        #expect(value.value == 7 && attempts.load(ordering: .relaxed) == 2)
    }
}
