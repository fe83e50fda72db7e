import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("SMS: nothing accepted is lost", .serialized)
struct NoLossTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    /// 2,000 accepted messages; storage and processing are killed with SIGKILL in the middle
    /// of the burst and restarted. Every accepted message must end in the database exactly
    /// once, processed.
    @Test func killingWorkersMidBurstLosesNothing() async throws {
        let run = "burst-" + UUID().uuidString.prefix(8)
        let total = 2_000
        let accepted = Mutex<[String]>([])
        let burst = Task {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for n in 0..<total {
                    if n >= 32, let id = try await group.next() { if let id { accepted.withLock { $0.append(id) } } }
                    group.addTask {
                        let answer = try await pipeline.submit(message: "\(run) \(n)")
                        return answer.status == 202 ? answer.data["id"] as? String : nil
                    }
                }
                for try await id in group { if let id { accepted.withLock { $0.append(id) } } }
            }
        }
        while accepted.withLock({ $0.count }) < total / 4 { try await Task.sleep(for: .milliseconds(20)) }
        let storage = await pipeline.service("storage")
        let processing = await pipeline.service("processing")
        storage.crash()
        processing.crash()
        try await Task.sleep(for: .milliseconds(500))
        try storage.restart()
        try processing.restart()
        try await burst.value

        let ids = accepted.withLock { $0 }
        #expect(ids.count == total)
        let deadline = ContinuousClock.now + .seconds(120)
        var processed = 0
        while ContinuousClock.now < deadline {
            processed = try await pipeline.database.query(
                "SELECT count(*) AS n FROM sms_messages WHERE id = ANY($1::uuid[]) AND status = 'processed'", [ids])[0].decode("n", as: Int.self)
            if processed == ids.count { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(processed == ids.count)
        // Exactly once: the run's texts are in exactly `total` rows, one per text (a message
        // stored twice under a second id, or a 202 whose id was not recorded, would show).
        let rows = try await pipeline.database.query(
            "SELECT count(*) AS n, count(DISTINCT message) AS d FROM sms_messages WHERE message LIKE $1", [run + " %"])
        #expect(try rows[0].decode("n", as: Int.self) == total)
        #expect(try rows[0].decode("d", as: Int.self) == total)
    }
}

