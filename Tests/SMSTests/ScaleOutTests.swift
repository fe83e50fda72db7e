import Foundation
import Synchronization
import TestSupport
import Testing

/// Scaling out is adding competing consumers: a second replica of storage and of processing
/// takes a share of the same queues, and one killed in the middle of its batches hands them
/// back to the broker, which redelivers them to the replica that is left.
/// Part of the serialized no-loss suite: the other test there kills the shared workers, which
/// would reset the counters this one reads.
extension NoLossTests {
    @Test func replicasShareTheQueuesAndOneKilledMidBatchLosesNothing() async throws {
        let storage = await pipeline.service("storage")
        let processing = await pipeline.service("processing")
        let storageReplica = try await pipeline.startReplica(of: "storage", portOffset: 0)
        let processingReplica = try await pipeline.startReplica(of: "processing", portOffset: 1)
        defer { storageReplica.crash(); processingReplica.crash() }
        let before = try await acked([(storage, "sms.store"), (storageReplica, "sms.store"),
                                      (processing, "sms.process"), (processingReplica, "sms.process")])

        let run = "scale-out-" + UUID().uuidString.prefix(8)
        let total = 3_000
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
        while accepted.withLock({ $0.count }) < total / 2 { try await Task.sleep(for: .milliseconds(20)) }
        let during = try await acked([(storage, "sms.store"), (storageReplica, "sms.store"),
                                      (processing, "sms.process"), (processingReplica, "sms.process")])
        // Both replicas of each worker have handled part of the burst: the load is shared.
        for (index, name) in ["storage", "storage replica", "processing", "processing replica"].enumerated() {
            #expect(during[index] > before[index], "\(name) acked nothing while the burst ran")
        }
        // SIGKILL mid-burst, not restarted: what they held unacked goes to the other replica.
        storageReplica.crash()
        processingReplica.crash()
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

    /// `switchyard_messages_total{outcome="acked"}` of each process for its queue, from its `/metrics`.
    private func acked(_ workers: [(ServiceProcess, String)]) async throws -> [Double] {
        var counts: [Double] = []
        for (worker, queue) in workers {
            let text = try await HTTP.get("http://127.0.0.1:\(worker.port)/metrics").text
            let line = text.split(separator: "\n").first {
                $0.hasPrefix("switchyard_messages_total{") && $0.contains("queue=\"\(queue)\"") && $0.contains("outcome=\"acked\"")
            }
            counts.append(line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0)
        }
        return counts
    }
}
