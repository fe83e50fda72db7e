import AMQP
import Events
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Platform
import Postgres
import Redis
import Synchronization
import TestSupport
import Testing

/// A provider the test controls: what it answers next.
final class TestProvider: Sendable {
    enum Behaviour: Sendable {
        case document([UInt8])
        case status(Int)
        case hang
        /// The head at once, then the document in `pieces` parts, one every `every`.
        case trickle([UInt8], pieces: Int, every: Duration)
    }

    let behaviour = Mutex(Behaviour.status(503))
    let requests = Atomic<Int>(0)
    /// Requests being answered right now, and the most there ever were at once.
    let inFlight = Atomic<Int>(0)
    let mostInFlight = Atomic<Int>(0)
    let port: Int

    init(port: Int = TestServers.port(18690)) { self.port = port }

    func start() async throws -> Task<Void, any Error> {
        let router = Router()
        router.get("/feed") { _, _ -> Response in
            self.requests.add(1, ordering: .relaxed)
            switch self.behaviour.withLock({ $0 }) {
            case .document(let bytes):
                return Response(status: .ok, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            case .status(let code):
                return Response(status: .init(code: code))
            case .hang:
                try await Task.sleep(for: .seconds(30))
                return Response(status: .ok)
            case .trickle(let bytes, let pieces, let every):
                let now = self.inFlight.add(1, ordering: .relaxed).newValue
                _ = self.mostInFlight.max(now, ordering: .relaxed)
                let size = (bytes.count + pieces - 1) / pieces
                return Response(status: .ok, headers: [.contentType: "application/xml"], body: .init { writer in
                    defer { self.inFlight.subtract(1, ordering: .relaxed) }
                    for start in stride(from: 0, to: bytes.count, by: size) {
                        if start > 0 { try await Task.sleep(for: every) }
                        try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
                    }
                    try await writer.finish(nil)
                })
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        try await Task.sleep(for: .milliseconds(300))
        return task
    }

    func serve(_ behaviour: Behaviour) { self.behaviour.withLock { $0 = behaviour } }

    /// Waits until the provider has been asked `count` more times; throws after `timeout`.
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        let target = requests.load(ordering: .relaxed) + count
        let deadline = ContinuousClock.now + timeout
        while requests.load(ordering: .relaxed) < target {
            guard ContinuousClock.now < deadline else {
                throw HTTP.Failure(description: "the provider was asked \(requests.load(ordering: .relaxed) - target + count) of \(count) times within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Reads one series of a Prometheus text page (0 when absent).
enum Metrics {
    static func value(_ page: String, _ name: String, _ labels: String = "") -> Double {
        for line in page.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let seriesName = series.prefix { $0 != "{" }
            guard seriesName == name, labels.isEmpty || series.contains(labels) else { continue }
            return Double(line[line.index(after: space)...]) ?? 0
        }
        return 0
    }

    static func of(port: Int, _ name: String, _ labels: String = "") async throws -> Double {
        value(try await HTTP.get("http://127.0.0.1:\(port)/metrics").text, name, labels)
    }
}

/// The provider and the three services, started once for the suite.
actor EventsEnvironment {
    static let shared = EventsEnvironment()
    /// A vhost of the suite's own: the SMS suites' storage also consumes `events.store`, and
    /// tests here count the batches their own storage took.
    static let amqpURL = TestServers.amqpURL(virtualHost: TestServers.virtualHost + "_events")
    static let batchBytes = 256 << 10
    static let maxPlanBytes = 1 << 20
    let provider = TestProvider()
    /// For what the tests check in the table (not for what they expect search to answer).
    let database = PostgresPool(url: TestServers.databaseURL, size: 2)
    private var services: [ServiceProcess] = []
    private var server: Task<Void, any Error>?
    private var samplesLoaded = false

    func start() async throws {
        guard services.isEmpty else { return }
        server = try await provider.start()
        // Batches of at most 256 KiB and plans of at most 1 MiB (4 MiB and 16 MiB by default),
        // so that a test can pass them with documents of a few megabytes.
        let environment = ["AMQP_URL": Self.amqpURL, "PROVIDER_URL": "http://127.0.0.1:\(provider.port)/feed", "PROVIDER_POLL_SECONDS": "1",
                           "PROVIDER_TIMEOUT": "1s", "PROVIDER_ATTEMPTS": "1",
                           "PROVIDER_BATCH_BYTES": "\(Self.batchBytes)", "PROVIDER_MAX_PLAN_BYTES": "\(Self.maxPlanBytes)"]
        for (index, name) in ["ingest", "storage", "processing"].enumerated() {
            services.append(try ServiceProcess(name, port: TestServers.port(18700 + index), environment: environment))
        }
        for service in services { try await service.waitUntilReady() }
        // A clean table, and a fresh cache version, as after any write. The poller must forget
        // the last document it stored too, or one served again (as sample 1 is each run) would
        // be skipped as unchanged though its rows are gone.
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)
        try await database.execute("DELETE FROM events")
        await database.close()
        try await RedisCacheReset.bumpSearchVersion()
        try await RedisCacheReset.forgetLastDocument(providerURL: "http://127.0.0.1:\(provider.port)/feed")
    }

    /// Feeds the three samples in order (once per run), waiting for each to be searchable.
    func loadSamples(_ test: EventsPipelineTests) async throws {
        try await start()
        guard !samplesLoaded else { return }
        provider.serve(.document(try test.sample(1)))
        _ = try await test.waitForSearch { $0.count == 4 }
        provider.serve(.document(try test.sample(2)))
        _ = try await test.waitForSearch { events in
            events.contains { $0["title"] as? String == "Los Morancos" && $0["end_time"] as? String == "21:20:00" }
        }
        provider.serve(.document(try test.sample(3)))
        _ = try await test.waitForSearch { events in
            events.contains { $0["title"] as? String == "Los Morancos" && $0["end_time"] as? String == "21:00:00" }
                && events.contains { $0["title"] as? String == "Camela en concierto" && $0["end_time"] as? String == "21:30:00" }
        }
        samplesLoaded = true
    }
}

@Suite("Events: unreliable provider to fast /search", .serialized)
struct EventsPipelineTests {
    static let base = "http://127.0.0.1:\(TestServers.port(18700))"
    let samples = FeedParserTests.samples

    func sample(_ n: Int) throws -> [UInt8] { Array(try Data(contentsOf: samples.appendingPathComponent("response_\(n).xml"))) }

    func search(_ query: String = "") async throws -> HTTP.Answer {
        try await HTTP.get("\(Self.base)/search\(query.isEmpty ? "" : "?" + query)")
    }

    func events(_ answer: HTTP.Answer) -> [[String: Any]] { answer.data["events"] as? [[String: Any]] ?? [] }

    /// Polls /search until `condition` holds.
    func waitForSearch(_ query: String = "", timeout: Duration = .seconds(60), _ condition: ([[String: Any]]) -> Bool) async throws -> HTTP.Answer {
        let deadline = ContinuousClock.now + timeout
        while true {
            let answer = try await search(query)
            if answer.status == 200, condition(events(answer)) { return answer }
            guard ContinuousClock.now < deadline else { throw HTTP.Failure(description: "search never matched: \(answer.text.prefix(500))") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// processing's metrics port (the poller's counters).
    static let processingPort = TestServers.port(18702)
    static let storagePort = TestServers.port(18701)

    func rows(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> [PostgresRow] {
        try await EventsEnvironment.shared.database.query(sql, parameters)
    }

    /// Polls a count until `condition` holds; returns the last count.
    @discardableResult
    func waitForCount(_ sql: String, _ parameters: [any PostgresEncodable] = [], timeout: Duration = .seconds(60),
                      _ condition: (Int) -> Bool) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while true {
            let count = try await rows(sql, parameters)[0].decode("n", as: Int.self)
            if condition(count) { return count }
            guard ContinuousClock.now < deadline else { throw HTTP.Failure(description: "\(sql): still \(count) after \(timeout)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Polls a metric until it reaches `target`; returns its value then (or at the deadline).
    func waitForMetric(port: Int, _ name: String, _ labels: String = "", atLeast target: Double,
                       timeout: Duration = .seconds(30)) async throws -> Double {
        try await waitForMetric(port: port, name, labels, timeout: timeout) { $0 >= target }
    }

    /// Polls a metric until `condition` holds; returns its value then (or at the deadline).
    func waitForMetric(port: Int, _ name: String, _ labels: String = "", timeout: Duration = .seconds(30),
                       until condition: (Double) -> Bool) async throws -> Double {
        let deadline = ContinuousClock.now + timeout
        while true {
            let value = try await Metrics.of(port: port, name, labels)
            if condition(value) || ContinuousClock.now >= deadline { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// One `<plan>` of the newer dialect with one zone.
    static func plan(_ id: String, price: String = "20.00", start: String = "2035-01-01T10:00:00",
                     end: String = "2035-01-01T12:00:00", zoneName: String = "Z") -> String {
        #"<plan plan_start_date="\#(start)" plan_end_date="\#(end)" plan_id="\#(id)"><zone zone_id="1" capacity="10" price="\#(price)" name="\#(zoneName)" numbered="false"/></plan>"#
    }

    static func basePlan(_ id: String, title: String = "Feed test", sellMode: String = "offline", _ plans: String) -> String {
        #"<base_plan base_plan_id="\#(id)" sell_mode="\#(sellMode)" title="\#(title)">\#(plans)</base_plan>"#
    }

    static func document(_ basePlans: String) -> [UInt8] { Array("<planList><output>\(basePlans)</output></planList>".utf8) }

    /// The three samples in order (322 kept after it leaves, 444 never, 1591's latest end time
    /// wins), then every way the provider can fail, then the older dialect, a plan with no
    /// zones, and a 100,000-plan document.
    @Test func providerSequenceFailuresAndLargeDocuments() async throws {
        let environment = EventsEnvironment.shared
        try await environment.loadSamples(self)
        let provider = environment.provider
        let database = PostgresPool(url: TestServers.databaseURL, size: 1)
        let settled = try await search()
        let titles = events(settled).compactMap { $0["title"] as? String }
        #expect(titles.filter { $0 == "Pantomima Full" }.count == 2)        // 322 stays after leaving the feed
        #expect(!titles.contains("Tributo a Juanito Valderrama"))            // 444 was never online
        let starts = events(settled).map { "\($0["start_date"] ?? "")T\($0["start_time"] ?? "")" }
        #expect(starts == starts.sorted())  // ordered by start (then id)
        let camela = try #require(events(settled).first { $0["title"] as? String == "Camela en concierto" })
        #expect(camela["min_price"] as? Double == 15 && camela["max_price"] as? Double == 30)
        #expect(camela["start_date"] as? String == "2021-06-30" && camela["start_time"] as? String == "21:00:00")

        // 2. A failing provider changes nothing that search answers, and its metrics say so.
        let before = try await search()
        let beforeFailing = try await HTTP.get("http://127.0.0.1:\(Self.processingPort)/metrics").text
        let garbage: [TestProvider.Behaviour] = [
            .status(500), .hang, .document(Array(try sample(1).prefix(700))), .document(Array("not xml at all".utf8)),
            .document(Array("<html>maintenance</html>".utf8)),
        ]
        for behaviour in garbage {
            provider.serve(behaviour)
            try await provider.waitForRequests(2)
            let during = try await search()
            #expect(during.status == 200)
            #expect(during.body == before.body)
        }
        // Two polls of each: at least nine have ended (the last may still be under way), each
        // a failure, three of the documents rejected as not whole feeds; no success among them.
        let failing = try await HTTP.get("http://127.0.0.1:\(Self.processingPort)/metrics").text
        let failed = #"outcome="failed""#
        #expect(Metrics.value(failing, "switchyard_provider_fetches_total", failed)
            >= Metrics.value(beforeFailing, "switchyard_provider_fetches_total", failed) + 9)
        #expect(Metrics.value(failing, "switchyard_provider_consecutive_failures") >= 9)
        #expect(Metrics.value(failing, "switchyard_provider_documents_rejected_total")
            >= Metrics.value(beforeFailing, "switchyard_provider_documents_rejected_total") + 5)
        #expect(Metrics.value(failing, "switchyard_provider_last_success_timestamp_seconds")
            <= Metrics.value(beforeFailing, "switchyard_provider_last_success_timestamp_seconds") + 3)  // the poll in flight at the start

        // 3. The older dialect, and a plan with no zones.
        provider.serve(.document(Array("""
            <eventList><output><base_event base_event_id="9001" sell_mode="online" title="Old Dialect">
            <event event_start_date="2030-01-01T10:00:00" event_end_date="2030-01-01T11:00:00" event_id="1">
            <zone zone_id="1" capacity="5" price="12.50" name="A" numbered="false"/></event>
            </base_event><base_event base_event_id="9002" sell_mode="online" title="No Zones">
            <event event_start_date="2030-02-01T10:00:00" event_end_date="2030-02-01T11:00:00" event_id="1"></event>
            </base_event></output></eventList>
            """.utf8)))
        let later = try await waitForSearch("starts_at=2030-01-01T00:00:00Z") { $0.count == 2 }
        #expect(events(later).first?["min_price"] as? Double == 12.5)
        #expect(events(later).last?["min_price"] is NSNull && events(later).last?["max_price"] is NSNull)
        // A success again: the failures in a row go back to 0, the last success moves on, two more parsed.
        let recovered = try await waitForMetric(port: Self.processingPort, "switchyard_provider_consecutive_failures") { $0 == 0 }
        #expect(recovered == 0)
        let recoveredPage = try await HTTP.get("http://127.0.0.1:\(Self.processingPort)/metrics").text
        #expect(Metrics.value(recoveredPage, "switchyard_provider_last_success_timestamp_seconds")
            > Metrics.value(failing, "switchyard_provider_last_success_timestamp_seconds"))
        #expect(Metrics.value(recoveredPage, "switchyard_provider_events_parsed_total")
            >= Metrics.value(failing, "switchyard_provider_events_parsed_total") + 2)

        // 4. A 100,000-plan document: search keeps answering while it is stored.
        var big = "<planList><output>"
        for n in 0..<100_000 {
            big += #"<base_plan base_plan_id="big\#(n / 10)" sell_mode="online" title="Big \#(n)"><plan plan_start_date="2040-01-01T10:00:00" plan_end_date="2040-01-01T12:00:00" plan_id="\#(n)"><zone zone_id="1" capacity="1" price="\#(n % 90 + 10).00" name="Z" numbered="false"/></plan></base_plan>"#
        }
        big += "</output></planList>"
        provider.serve(.document(Array(big.utf8)))
        try await provider.waitForRequests(1)
        provider.serve(.status(304))
        let deadline = ContinuousClock.now + .seconds(180)
        var stored = 0
        while ContinuousClock.now < deadline {
            #expect(try await search("ends_at=2031-01-01T00:00:00Z").status == 200)
            stored = try await database.query("SELECT count(*) AS n FROM events WHERE base_plan_id LIKE 'big%'")[0].decode("n", as: Int.self)
            if stored == 100_000 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(stored == 100_000)
        await database.close()
    }

    @Test(arguments: [
        ("starts_at=2021-06-30T21:00:00", true),         // boundary: start >= starts_at, no offset means UTC
        ("starts_at=2021-06-30T21:00:00.001Z", false),
        ("starts_at=2021-06-30T23:00:00%2B02:00", true),  // the same instant with an offset
        ("starts_at=2021-06-30T23:00:00 02:00", true),    // a `+` sent unencoded arrives as a space
        ("ends_at=2021-06-30T21:30:00Z", true),           // boundary: end <= ends_at
        ("ends_at=2021-06-30T21:29:59Z", false),
    ])
    func containmentAndBoundaries(query: String, includesCamela: Bool) async throws {
        try await EventsEnvironment.shared.loadSamples(self)
        let answer = try await search(query)
        let titles = events(answer).compactMap { $0["title"] as? String }
        #expect(titles.contains("Camela en concierto") == includesCamela, "\(query): \(titles)")
    }

    @Test(arguments: ["starts_at=yesterday", "starts_at=2021-06-30T21:00:00Zjunk", "starts_at=2021-06-31T00:00:00Z", "ends_at=2021-06-30", "starts_at=2021-06-30T25:00:00Z",
                      "starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-01T00:00:00Z"])
    func badParametersAre400sInTheEnvelope(query: String) async throws {
        try await EventsEnvironment.shared.start()
        let answer = try await search(query)
        #expect(answer.status == 400, "\(query)")
        #expect(answer.json["data"] is NSNull)
        #expect((answer.error["code"] as? String)?.isEmpty == false)
    }

    /// A value the table would refuse (a price of 1e12 does not fit `numeric(12, 2)`) skips its
    /// plan only, counted as skipped; before, the 500-plan upsert failed and the whole batch was
    /// dead-lettered. The pair whose ids collided under "base:plan" ("X:2" + "3" and "X" + "2:3")
    /// is stored as two events with two ids; before, the second insert failed the batch too.
    @Test func aValueTheTableRefusesSkipsOnlyItsPlan() async throws {
        let environment = EventsEnvironment.shared
        try await environment.loadSamples(self)
        let run = TestServers.unique("refused")
        let skippedBefore = try await Metrics.of(port: Self.processingPort, "switchyard_provider_events_skipped_total")
        let plans = (0..<40).map { Self.plan("\($0)", price: $0 == 17 ? "1e12" : "\($0 + 10).50") }.joined()
        // The search index holds the titles of online events: this one does not fit an entry.
        let longTitle = (0..<3_000).map { _ in String(UnicodeScalar(UInt8.random(in: 97...122))) }.joined()
        environment.provider.serve(.document(Self.document(
            Self.basePlan(run, plans) + Self.basePlan("\(run)-pair:2", Self.plan("3")) + Self.basePlan("\(run)-pair", Self.plan("2:3"))
                + Self.basePlan("\(run)-title", title: longTitle, sellMode: "online", Self.plan("1")))))

        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run]) { $0 == 39 }
        #expect(try await rows("SELECT 1 FROM events WHERE base_plan_id = $1 AND plan_id = '17'", [run]).isEmpty)
        let skipped = try await waitForMetric(port: Self.processingPort, "switchyard_provider_events_skipped_total", atLeast: skippedBefore + 2)
        #expect(skipped == skippedBefore + 2)  // the price and the title, once: the same document is not parsed again
        #expect(try await rows("SELECT 1 FROM events WHERE base_plan_id = $1", ["\(run)-title"]).isEmpty)

        let pair = try await rows("SELECT id::text AS id FROM events WHERE base_plan_id LIKE $1 ORDER BY base_plan_id", ["\(run)-pair%"])
        #expect(pair.count == 2)
        #expect(Set(try pair.map { try $0.decode("id", as: String.self) }).count == 2)
    }

    /// Each row's version (xmin changes whenever PostgreSQL writes the row), by plan id.
    func rowVersions(_ basePlanID: String) async throws -> [String: String] {
        var versions: [String: String] = [:]
        for row in try await rows("SELECT plan_id, xmin::text AS version FROM events WHERE base_plan_id = $1", [basePlanID]) {
            versions[try row.decode("plan_id")] = try row.decode("version")
        }
        return versions
    }

    func searchCacheVersion() async throws -> String? {
        let redis = Redis.RedisClient(url: TestServers.redisURL, connections: 1)
        let version = try await redis.send("GET", "events:search:version").string
        await redis.close()
        return version
    }

    func storedBatches() async throws -> Double {
        try await Metrics.of(port: Self.storagePort, "switchyard_messages_total", #"queue="events.store",outcome="consumed""#)
    }

    /// A provider without ETags that serves the same document on every poll: after the first
    /// time, nothing is published (storage consumes nothing), no row is written (xmin stays)
    /// and the search cache keeps its version. The same values in other bytes are published
    /// but write no row and keep the cache; a changed value is written to its row only and
    /// moves the cache's version.
    @Test func anUnchangedDocumentIsNotIngestedAgain() async throws {
        let environment = EventsEnvironment.shared
        try await environment.loadSamples(self)
        let provider = environment.provider
        let run = TestServers.unique("same")
        let plans = (0..<50).map { Self.plan("\($0)", price: "\($0 + 10).00") }
        provider.serve(.document(Self.document(Self.basePlan(run, plans.joined()))))
        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run]) { $0 == 50 }
        try await provider.waitForRequests(2)  // the poll that stored it is over

        // 1. The same bytes, again and again.
        let batches = try await storedBatches()
        let versions = try await rowVersions(run)
        let cacheVersion = try await searchCacheVersion()
        let unchanged = try await Metrics.of(port: Self.processingPort, "switchyard_provider_fetches_total", #"outcome="unchanged""#)
        try await provider.waitForRequests(4)
        try await Task.sleep(for: .seconds(1))  // what the last poll published is stored by now
        #expect(try await storedBatches() == batches)
        #expect(try await rowVersions(run) == versions)
        #expect(try await searchCacheVersion() == cacheVersion)
        #expect(try await Metrics.of(port: Self.processingPort, "switchyard_provider_fetches_total", #"outcome="unchanged""#) >= unchanged + 3)

        // 2. The same values in other bytes: handed to storage, which writes nothing.
        provider.serve(.document(Self.document(Self.basePlan(run, plans.joined(separator: "\n")))))
        _ = try await waitForMetric(port: Self.storagePort, "switchyard_messages_total", #"queue="events.store",outcome="consumed""#,
                                    atLeast: batches + 1)
        try await provider.waitForRequests(2)
        try await Task.sleep(for: .seconds(1))
        #expect(try await storedBatches() == batches + 1)
        #expect(try await rowVersions(run) == versions)
        #expect(try await searchCacheVersion() == cacheVersion)

        // 3. One price changed: that row is written, no other, and cached answers are dropped.
        var changed = plans
        changed[7] = Self.plan("7", price: "99.00")
        provider.serve(.document(Self.document(Self.basePlan(run, changed.joined()))))
        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1 AND plan_id = '7' AND max_price = 99", [run]) { $0 == 1 }
        let after = try await rowVersions(run)
        #expect(after.filter { $0.value != versions[$0.key] }.map(\.key) == ["7"])
        let deadline = ContinuousClock.now + .seconds(10)  // storage bumps it just after its commit
        var newCacheVersion = try await searchCacheVersion()
        while newCacheVersion == cacheVersion, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            newCacheVersion = try await searchCacheVersion()
        }
        #expect(Int(newCacheVersion ?? "0") ?? 0 > Int(cacheVersion ?? "0") ?? 0)
    }

    /// Batches are cut by bytes as well as by count, and a plan too large for a message on
    /// its own is skipped and counted: 120 plans of 40 zones (about 5 KB each) go in several
    /// batches of at most 256 KiB, and a plan of 10,000 zones (over 1 MiB) is left out. Before,
    /// 500 such plans went in one message however large, and a batch over RabbitMQ's
    /// max_message_size was refused on every poll.
    @Test func batchesAreCutByBytesAndAnOversizedPlanIsSkipped() async throws {
        let environment = EventsEnvironment.shared
        try await environment.loadSamples(self)
        let run = TestServers.unique("bytes")
        let zones = { (count: Int) in
            (0..<count).map { #"<zone zone_id="\#($0)" capacity="100" price="\#($0 % 50 + 10).00" name="Zone \#($0)" numbered="true"/>"# }.joined()
        }
        let plan = { (id: String, zoneCount: Int) in
            #"<plan plan_start_date="2035-03-01T10:00:00" plan_end_date="2035-03-01T12:00:00" plan_id="\#(id)">\#(zones(zoneCount))</plan>"#
        }
        let batchesBefore = try await storedBatches()
        let skippedBefore = try await Metrics.of(port: Self.processingPort, "switchyard_provider_events_skipped_total")
        let plans = (0..<120).map { plan("\($0)", 40) }
        environment.provider.serve(.document(Self.document(Self.basePlan(run, plans[..<60].joined() + plan("huge", 10_000) + plans[60...].joined()))))

        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run]) { $0 == 120 }
        #expect(try await rows("SELECT 1 FROM events WHERE base_plan_id = $1 AND plan_id = 'huge'", [run]).isEmpty)
        let skipped = try await waitForMetric(port: Self.processingPort, "switchyard_provider_events_skipped_total", atLeast: skippedBefore + 1)
        #expect(skipped == skippedBefore + 1)
        // 120 plans of about 5.3 KB by the bound, at most 256 KiB a batch: 3 batches at least.
        let batches = try await waitForMetric(port: Self.storagePort, "switchyard_messages_total", #"queue="events.store",outcome="consumed""#,
                                              atLeast: batchesBefore + 3)
        #expect(batches >= batchesBefore + 3)
    }

    /// Storage refuses a batch whose fencing token is lower than one it has stored for the
    /// provider (a poller that lost its lease and still publishes), even when its document was
    /// fetched later; a batch without a token (a poller from before fencing) is accepted, and
    /// so is a newer token.
    @Test func storageRefusesTheBatchOfAnOlderLeaseHolder() async throws {
        let environment = EventsEnvironment.shared
        try await environment.start()
        let bus = MessageBus(url: try AMQPURL(EventsEnvironment.amqpURL), queues: EventsQueues.all, logger: Logger(label: "test.events.fence"))
        let run = TestServers.unique("fence")
        func send(_ token: Int?, _ plans: [FeedPlan], fetched: TimeInterval) async throws {
            let batch = FeedBatch(fetchedAt: Date(timeIntervalSinceNow: fetched), plans: plans, provider: token == nil ? nil : run, fencingToken: token)
            try await bus.send(EventsQueues.store.envelope(batch, requestID: nil), to: EventsQueues.store)
        }
        func price(_ planID: String) async throws -> Double? {
            try await rows("SELECT max_price::float8 AS p FROM events WHERE base_plan_id = $1 AND plan_id = $2", [run, planID])
                .first?.decodeIfPresent("p", as: Double.self)
        }
        let fencedBefore = try await Metrics.of(port: Self.storagePort, "switchyard_feed_batches_fenced_total")

        try await send(10, [EventsStorageTests.plan(run, "1", price: 10)], fetched: 0)
        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1", [run]) { $0 == 1 }
        try await send(9, [EventsStorageTests.plan(run, "1", price: 99), EventsStorageTests.plan(run, "2")], fetched: 1)
        try await send(nil, [EventsStorageTests.plan(run, "3")], fetched: 2)
        // One storage consumer takes them in order: once plan 3 is there, the token-9 batch was handled.
        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1 AND plan_id = '3'", [run]) { $0 == 1 }
        #expect(try await price("1") == 10)
        #expect(try await price("2") == nil)
        #expect(try await rows("SELECT token FROM events_feed_fence WHERE provider = $1", [run]).first?.decode("token", as: Int.self) == 10)
        #expect(try await waitForMetric(port: Self.storagePort, "switchyard_feed_batches_fenced_total", atLeast: fencedBefore + 1) == fencedBefore + 1)

        try await send(11, [EventsStorageTests.plan(run, "1", price: 11)], fetched: 3)
        try await waitForCount("SELECT count(*) AS n FROM events WHERE base_plan_id = $1 AND plan_id = '1' AND max_price = 11", [run]) { $0 == 1 }
        #expect(try await rows("SELECT token FROM events_feed_fence WHERE provider = $1", [run]).first?.decode("token", as: Int.self) == 11)
        await bus.close()
    }

    /// Two processing replicas poll a provider whose document takes 8 s to arrive, longer
    /// than the lease's 5 s TTL: the holder renews its lease while it downloads, so the other
    /// never polls at the same time (the provider never has two requests in flight). Before,
    /// the lease ran out during the download and the second replica started a poll of its own.
    @Test func aLongPollKeepsItsLease() async throws {
        let environment = EventsEnvironment.shared
        try await environment.start()
        let provider = TestProvider(port: TestServers.port(18691))
        let server = try await provider.start()
        let run = TestServers.unique("lease")
        let document = Self.document(Self.basePlan(run, (0..<20).map { Self.plan("\($0)") }.joined()))
        provider.serve(.trickle(document, pieces: 16, every: .milliseconds(500)))
        let environmentVariables = ["AMQP_URL": EventsEnvironment.amqpURL, "PROVIDER_URL": "http://127.0.0.1:\(provider.port)/feed", "PROVIDER_POLL_SECONDS": "1",
                                    "PROVIDER_TIMEOUT": "30s", "PROVIDER_ATTEMPTS": "1"]
        var replicas: [ServiceProcess] = []
        do {
            for port in [18710, 18711].map(TestServers.port) { replicas.append(try ServiceProcess("processing", port: port, environment: environmentVariables)) }
            for replica in replicas { try await replica.waitUntilReady() }
            try await provider.waitForRequests(3, timeout: .seconds(90))  // two whole polls, the third under way
        } catch {
            for replica in replicas { _ = try? await replica.stop() }  // never left running when the test fails
            server.cancel()
            throw error
        }
        for replica in replicas { try await replica.stop() }
        server.cancel()
        #expect(provider.mostInFlight.load(ordering: .relaxed) == 1)
        #expect(try await rows("SELECT 1 FROM events WHERE base_plan_id = $1", [run]).count == 20)
    }

    @Test func unchangedAnswersCostA304() async throws {
        try await EventsEnvironment.shared.start()
        let first = try await search()
        let etag = try #require(first.headers.first(name: "ETag"))
        let again = try await HTTP.get("\(Self.base)/search", headers: [("If-None-Match", etag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
    }
}

enum RedisCacheReset {
    static func bumpSearchVersion() async throws {
        let redis = Redis.RedisClient(url: TestServers.redisURL, connections: 1)
        try await redis.send("INCR", "events:search:version")
        await redis.close()
    }

    /// What the poller of `providerURL` remembers of the last document it stored (its hash and
    /// ETag, under `events:provider:<first 16 hex of the URL's SHA-256>:`).
    static func forgetLastDocument(providerURL: String) async throws {
        let prefix = "events:provider:\(SHA256Hex.of(Array(providerURL.utf8)).prefix(16))"
        let redis = Redis.RedisClient(url: TestServers.redisURL, connections: 1)
        try await redis.send("DEL", "\(prefix):sha256", "\(prefix):etag")
        await redis.close()
    }
}

