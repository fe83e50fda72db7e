import AsyncHTTPClient
import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// An open-loop load on `GET /search`, as vegeta makes one: requests leave on a fixed schedule
/// (`rate` a second) whether or not earlier ones were answered, and each one's latency runs
/// from the moment it was planned to leave, so a server that falls behind shows its queue in
/// the figures instead of slowing the generator down (the coordinated omission a closed loop
/// such as wrk has). The windows are the lines of `windows` (Benchmarks/search_windows.py),
/// asked in order, round and round.
///
/// Prints one line: offered rate, achieved send rate, the percentage answered 200 or 304
/// within `timeout`, then p50, p90, p99 and the maximum in milliseconds (unanswered requests
/// count as `timeout` in the percentiles).
struct SearchOpenLoop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search-open-loop")
    @Option var url = "http://127.0.0.1:18680"
    @Option var windows: String
    @Option var rate = 2_000
    @Option var seconds = 30
    @Option var timeout = 10
    /// The most connections the generator opens (vegeta's `-max-connections`): a request due
    /// while all are busy waits for one, its latency still counted from its planned time.
    @Option var connections = 256

    func run() async throws {
        let queries = try String(contentsOfFile: windows, encoding: .utf8).split(separator: "\n").map(String.init)
        guard !queries.isEmpty, rate > 0 else { throw ValidationError("no windows, or no rate") }
        // One event loop: the generator must take as little of the machine's two cores as it
        // can from the server it measures. Connections are capped: without a cap, a moment's
        // delay (a build on the other core, say) made the generator open connection after
        // connection, each costing both sides a handshake, until it and the server spent the
        // machine on connecting and every request timed out (at 2,000/s, which the same server
        // answered with a p99 of 6 ms a minute later).
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        configuration.timeout = .init(connect: .seconds(Int64(timeout)), read: .seconds(Int64(timeout)))
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)

        let total = rate * seconds
        let results = Results(count: total)
        let (base, timeoutSeconds) = (url, Int64(timeout))
        let interval = Duration.seconds(1) / rate
        let start = ContinuousClock.now + .milliseconds(100)
        var sent = 0
        var lastSent = start
        await withTaskGroup(of: Void.self) { tasks in
            // Wakes about once a millisecond and sends whatever the schedule says is due:
            // sleeping for each of 8,000 requests a second would cost more than sending them.
            while sent < total {
                let now = ContinuousClock.now
                while sent < total, start + interval * sent <= now {
                    let index = sent
                    let planned = start + interval * index
                    let query = queries[index % queries.count]
                    tasks.addTask {
                        let request = HTTPClientRequest(url: "\(base)/search?\(query)")
                        do {
                            let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
                            _ = try await response.body.collect(upTo: 1 << 30)
                            guard response.status.code == 200 || response.status.code == 304 else { return }
                            let latency = (ContinuousClock.now - planned).seconds * 1000
                            results.latencies.withLock { $0[index] = latency }
                            results.answered.add(1, ordering: .relaxed)
                        } catch {
                            // Unanswered: its latency stays infinite (counted as the timeout).
                        }
                    }
                    sent += 1
                    lastSent = ContinuousClock.now
                }
                if sent < total { try? await Task.sleep(until: min(start + interval * sent, now + .milliseconds(1)), clock: .continuous) }
            }
        }
        let sendSeconds = (lastSent - start).seconds
        try await client.shutdown()
        try await group.shutdownGracefully()

        let sorted = results.latencies.withLock { $0 }.map { $0.isFinite ? $0 : Double(timeout) * 1000 }.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        let answeredCount = results.answered.load(ordering: .relaxed)
        print(String(format: "%d %.0f %.2f %.1f %.1f %.1f %.1f", rate, Double(total) / sendSeconds,
                     Double(answeredCount) * 100 / Double(total), percentile(0.5), percentile(0.9), percentile(0.99), sorted.last ?? 0))
    }
}

/// What the requests of one run record, each in its own slot.
private final class Results: Sendable {
    let latencies: Mutex<[Double]>
    let answered = Atomic<Int>(0)
    init(count: Int) { latencies = Mutex([Double](repeating: .infinity, count: count)) }
}
