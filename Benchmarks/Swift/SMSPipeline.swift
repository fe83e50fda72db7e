import AsyncHTTPClient
import ArgumentParser
import Foundation
import NIOCore
import Postgres

/// Sustained SMS pipeline throughput: submits for a fixed time from concurrent clients (each
/// waits for its 202 before the next), then waits until every accepted message is processed.
/// Prints accepted/s, processed/s over the whole span, the p50/p99 of received_at ->
/// processed_at, the deepest the storage queue got (sampled through ingest's metrics), and the
/// drain rate: messages over the span from the first `stored_at` to the last `processed_at`.
///
/// With `--submitted-marker`, the file is created once submitting ends: a caller that starts
/// the workers only then measures how fast they drain a backlog (the drain rate), which is
/// what adding replicas can change even where ingest, not the workers, limits the steady rate.
struct SMSPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sms-pipeline")
    @Option var ingest = "http://127.0.0.1:18680"
    @Option var databaseURL = "postgres://switchyard@127.0.0.1:5432/switchyard_bench"
    @Option var seconds = 60
    @Option var concurrency = 16
    @Option(help: "A file to create when submitting ends (the caller then starts the workers)")
    var submittedMarker: String?

    func run() async throws {
        let started = ContinuousClock.now
        let deadline = started + .seconds(seconds)
        let sampler = Task { await deepestQueue(until: deadline) }
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var ids: [String] = []
                    var n = 0
                    while ContinuousClock.now < deadline {
                        n += 1
                        let sender = "+1415\(Int.random(in: 2...9))\(String(format: "%06d", Int.random(in: 0...999_999)))"
                        var request = HTTPClientRequest(url: "\(ingest)/messages")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"from":"\#(sender)","to":"+442071838750","message":"pipeline \#(worker) \#(n)"}"#))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 16)
                        if response.status.code == 202,
                           let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                           let data = object["data"] as? [String: Any], let id = data["id"] as? String {
                            ids.append(id)
                        }
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        let submitSeconds = (ContinuousClock.now - started).seconds
        let deepest = await sampler.value
        if let submittedMarker { FileManager.default.createFile(atPath: submittedMarker, contents: nil) }
        let database = PostgresPool(url: databaseURL, size: 1)
        var processed = 0
        while processed < ids.count {
            processed = try await database.query("SELECT count(*) AS n FROM sms_messages WHERE id = ANY($1::uuid[]) AND status = 'processed'", [ids])[0]
                .decode("n", as: Int.self)
            if processed < ids.count { try await Task.sleep(for: .milliseconds(250)) }
        }
        let row = try await database.query("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                   extract(epoch FROM max(processed_at) - min(received_at)) AS span,
                   extract(epoch FROM max(processed_at) - min(stored_at)) AS drain
            FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms, processed_at, received_at, stored_at
                  FROM sms_messages WHERE id = ANY($1::uuid[])) t
            """, [ids])[0]
        let span = try row.decode("span", as: Double.self)
        let drain = try row.decode("drain", as: Double.self)
        print(String(format: "%d %.0f %.0f %.1f %.1f %d %.0f", ids.count, Double(ids.count) / submitSeconds, Double(ids.count) / span,
                     try row.decode("p50", as: Double.self), try row.decode("p99", as: Double.self), deepest,
                     Double(ids.count) / max(drain, 0.001)))
        await database.close()
    }

    /// The largest `current_queue_size` seen through ingest's JSON metrics, sampled twice a second.
    func deepestQueue(until deadline: ContinuousClock.Instant) async -> Int {
        var deepest = 0
        while ContinuousClock.now < deadline {
            var request = HTTPClientRequest(url: "\(ingest)/metrics")
            request.headers.add(name: "Accept", value: "application/json")
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)),
               let body = try? await response.body.collect(upTo: 1 << 16),
               let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
               let data = object["data"] as? [String: Any], let depth = data["current_queue_size"] as? Int {
                deepest = max(deepest, depth)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return deepest
    }
}
