import AsyncHTTPClient
import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Postgres
import Synchronization

/// The SMS pipeline at a fixed offered rate, open loop: `POST /messages` leave on a schedule
/// (`rate` a second) whether or not earlier ones were answered, as vegeta sends them, so a
/// saturated pipeline shows as growing queues and latency rather than as a generator that
/// slows down (wrk's closed loop hides queueing). After `seconds` of sending it waits until
/// every accepted message is processed (at most `drain` seconds).
///
/// Prints one line: offered rate, sent/s, accepted/s, processed/s (while sending), the
/// percentage answered 202, p50/p99/p99.9 of the answer (from the planned send), p50/p99/p99.9
/// of 202 -> processed (`processed_at - received_at`), the deepest queue seen, and the seconds
/// the backlog took to drain after sending stopped. With `--timeline`, appends a row a second
/// (rate, second, accepted, processed, queue depth) to that CSV.
struct SMSOpenLoop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sms-open-loop")
    @Option var ingest = "http://127.0.0.1:18680"
    @Option var databaseURL = "postgres://switchyard@127.0.0.1:5432/switchyard_bench"
    @Option var rate = 1_000
    @Option var seconds = 20
    @Option var timeout = 10
    @Option var drain = 180
    @Option var connections = 256
    @Option var timeline: String?

    func run() async throws {
        guard rate > 0, seconds > 0 else { throw ValidationError("rate and seconds must be positive") }
        // One event loop and capped connections, for the reasons SearchOpenLoop gives.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        configuration.timeout = .init(connect: .seconds(Int64(timeout)), read: .seconds(Int64(timeout)))
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)

        let total = rate * seconds
        let results = OpenLoopResults(count: total)
        let (base, timeoutSeconds, run) = (ingest, Int64(timeout), UUID().uuidString.prefix(8))
        let interval = Duration.seconds(1) / rate
        let start = ContinuousClock.now + .milliseconds(100)
        let wallStart = Date().addingTimeInterval(0.1)
        let depths = Task { await sampleDepths(every: .seconds(1), until: start + .seconds(seconds + drain)) }
        var sent = 0
        var lastSent = start
        await withTaskGroup(of: Void.self) { tasks in
            while sent < total {
                let now = ContinuousClock.now
                while sent < total, start + interval * sent <= now {
                    let index = sent
                    let planned = start + interval * index
                    tasks.addTask {
                        let sender = "+1415\(Int.random(in: 2...9))\(String(format: "%06d", Int.random(in: 0...999_999)))"
                        var request = HTTPClientRequest(url: "\(base)/messages")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"from":"\#(sender)","to":"+442071838750","message":"open \#(run) \#(index)"}"#))
                        do {
                            let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
                            let body = try await response.body.collect(upTo: 1 << 16)
                            guard response.status.code == 202,
                                  let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                                  let data = object["data"] as? [String: Any], let id = data["id"] as? String else { return }
                            let latency = (ContinuousClock.now - planned).seconds * 1000
                            results.record(index: index, latency: latency, id: id)
                        } catch {
                            // Unanswered within the timeout: counted as not accepted.
                        }
                    }
                    sent += 1
                    lastSent = ContinuousClock.now
                }
                if sent < total { try? await Task.sleep(until: min(start + interval * sent, now + .milliseconds(1)), clock: .continuous) }
            }
        }
        let sendSeconds = (lastSent - start).seconds
        let sendingEnded = ContinuousClock.now
        try await client.shutdown()
        try await group.shutdownGracefully()

        let ids = results.acceptedIDs()
        let database = PostgresPool(url: databaseURL, size: 1)
        var processed = 0
        while processed < ids.count, ContinuousClock.now - sendingEnded < .seconds(drain) {
            processed = try await database.query("SELECT count(*) AS n FROM sms_messages WHERE id = ANY($1::uuid[]) AND status = 'processed'", [ids])[0]
                .decode("n", as: Int.self)
            if processed < ids.count { try await Task.sleep(for: .milliseconds(500)) }
        }
        let drainSeconds = (ContinuousClock.now - sendingEnded).seconds
        depths.cancel()
        let depthBySecond = await depths.value

        // 202 -> processed, and what was processed in each second, from the rows themselves.
        let latencyRow = try await database.query("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                   percentile_cont(0.999) WITHIN GROUP (ORDER BY ms) AS p999
            FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms FROM sms_messages
                  WHERE id = ANY($1::uuid[]) AND status = 'processed') t
            """, [ids])[0]
        let perSecond = try await database.query("""
            SELECT floor(extract(epoch FROM processed_at) - $2::double precision)::int AS second, count(*) AS n
            FROM sms_messages WHERE id = ANY($1::uuid[]) AND status = 'processed' GROUP BY 1 ORDER BY 1
            """, [ids, String(wallStart.timeIntervalSince1970)])
        await database.close()
        var processedBySecond: [Int: Int] = [:]
        for row in perSecond { processedBySecond[try row.decode("second", as: Int.self)] = try row.decode("n", as: Int.self) }
        let processedWhileSending = (0..<seconds).reduce(0) { $0 + (processedBySecond[$1] ?? 0) }

        let answers = results.latencies().map { $0.isFinite ? $0 : Double(timeout) * 1000 }.sorted()
        func percentile(_ sorted: [Double], _ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        func decoded(_ column: String) -> Double { (try? latencyRow.decode(column, as: Double.self)) ?? 0 }
        if let timeline {
            let acceptedBySecond = results.acceptedPerSecond(interval: interval)
            let lastSecond = max(seconds, (processedBySecond.keys.max() ?? 0) + 1)
            var lines = ""
            for second in 0..<lastSecond {
                lines += "\(rate),\(second),\(acceptedBySecond[second] ?? 0),\(processedBySecond[second] ?? 0),\(depthBySecond[second].map(String.init) ?? "")\n"
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: timeline))
            handle.seekToEndOfFile()
            handle.write(Data(lines.utf8))
            try handle.close()
        }
        print(String(format: "%d %.0f %.0f %.0f %.2f %.1f %.1f %.1f %.1f %.1f %.1f %d %.1f", rate, Double(total) / sendSeconds,
                     Double(ids.count) / Double(seconds), Double(processedWhileSending) / Double(seconds),
                     Double(ids.count) * 100 / Double(total),
                     percentile(answers, 0.5), percentile(answers, 0.99), percentile(answers, 0.999),
                     decoded("p50"), decoded("p99"), decoded("p999"), depthBySecond.values.max() ?? 0, drainSeconds))
    }

    /// ingest's `current_queue_size` (JSON metrics) once a second: second since start -> depth.
    func sampleDepths(every period: Duration, until end: ContinuousClock.Instant) async -> [Int: Int] {
        var depths: [Int: Int] = [:]
        let start = ContinuousClock.now
        while ContinuousClock.now < end, !Task.isCancelled {
            var request = HTTPClientRequest(url: "\(ingest)/metrics")
            request.headers.add(name: "Accept", value: "application/json")
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)),
               let body = try? await response.body.collect(upTo: 1 << 16),
               let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
               let data = object["data"] as? [String: Any], let depth = data["current_queue_size"] as? Int {
                depths[Int((ContinuousClock.now - start).seconds)] = depth
            }
            try? await Task.sleep(for: period)
        }
        return depths
    }
}

/// What the requests of one run record, each in its own slot.
private final class OpenLoopResults: Sendable {
    private let slots: Mutex<(latencies: [Double], ids: [String?])>

    init(count: Int) { slots = Mutex(([Double](repeating: .infinity, count: count), [String?](repeating: nil, count: count))) }

    func record(index: Int, latency: Double, id: String) {
        slots.withLock { $0.latencies[index] = latency; $0.ids[index] = id }
    }

    func latencies() -> [Double] { slots.withLock { $0.latencies } }
    func acceptedIDs() -> [String] { slots.withLock { $0.ids.compactMap { $0 } } }

    /// Accepted requests by the second they were planned in.
    func acceptedPerSecond(interval: Duration) -> [Int: Int] {
        let ids = slots.withLock { $0.ids }
        var counts: [Int: Int] = [:]
        for (index, id) in ids.enumerated() where id != nil {
            counts[Int((interval * index).seconds), default: 0] += 1
        }
        return counts
    }
}
