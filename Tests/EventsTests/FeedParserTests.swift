import Events
import Foundation
import Platform
import TestSupport
import Testing

@Suite("Events: streaming feed parser")
struct FeedParserTests {
    static let samples = TestServers.root.appendingPathComponent("Tests/Fixtures/provider")

    func parse(_ url: URL) throws -> (FeedParser.Summary, [FeedPlan]) {
        var plans: [FeedPlan] = []
        let summary = try FeedParser.parse(contentsOf: url) { plans.append($0) }
        return (summary, plans)
    }

    func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("feed-\(UUID().uuidString).xml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func firstSampleHasFourPlansWithTheirZones() throws {
        let (summary, plans) = try parse(Self.samples.appendingPathComponent("response_1.xml"))
        #expect(summary == .init(parsed: 4, skipped: 0))
        #expect(plans.map { "\($0.basePlanID)/\($0.planID)" } == ["291/291", "322/1642", "322/1643", "1591/1642"])
        #expect(plans[0].title == "Camela en concierto" && plans[0].sellMode == "online")
        #expect(plans[0].minPrice == 15 && plans[0].maxPrice == 30 && plans[0].zones.count == 3)
        #expect(plans[0].startsAt == ProviderTime.parse("2021-06-30T21:00:00"))
    }

    @Test func aPlanWithAnImpossibleDateIsSkippedAndTheRestKept() throws {
        let (summary, plans) = try parse(Self.samples.appendingPathComponent("response_2.xml"))
        #expect(summary == .init(parsed: 2, skipped: 1))
        #expect(!plans.contains { $0.basePlanID == "444" })
    }

    @Test func olderEventListDialect() throws {
        let text = try String(contentsOf: Self.samples.appendingPathComponent("response_1.xml"), encoding: .utf8)
            .replacingOccurrences(of: "planList", with: "eventList").replacingOccurrences(of: "base_plan", with: "base_event")
            .replacingOccurrences(of: "<plan ", with: "<event ").replacingOccurrences(of: "</plan>", with: "</event>")
            .replacingOccurrences(of: "plan_start_date", with: "event_start_date").replacingOccurrences(of: "plan_end_date", with: "event_end_date")
            .replacingOccurrences(of: "plan_id", with: "event_id")
        let (summary, plans) = try parse(try file(text))
        #expect(summary.parsed == 4)
        #expect(plans.map(\.basePlanID) == ["291", "322", "322", "1591"])
    }

    @Test func aPlanWithoutZonesHasNoPrices() throws {
        let (_, plans) = try parse(try file("""
            <planList><output><base_plan base_plan_id="7" sell_mode="online" title="Free">
            <plan plan_start_date="2022-01-01T10:00:00" plan_end_date="2022-01-01T11:00:00" plan_id="1"></plan>
            </base_plan></output></planList>
            """))
        #expect(plans.count == 1)
        #expect(plans[0].minPrice == nil && plans[0].maxPrice == nil)
    }

    @Test(arguments: [
        "<planList><output><base_plan base_plan_id=\"1\" title=\"x\"><plan plan_id=\"1\"",  // truncated
        "this is not XML at all",
        "{\"json\": true}",
        "<html><body>Service Unavailable</body></html>",
        "",
    ])
    func documentsThatAreNotWholeFeedsAreRejected(text: String) throws {
        var handed = 0
        #expect(throws: (any Error).self) { try FeedParser.parse(contentsOf: try file(text)) { _ in handed += 1 } }
        #expect(handed == 0)
    }

    /// A document cut short after a whole plan hands that plan before it throws: the parser
    /// streams. Hence the poller publishes only from a second pass, once the first has proved
    /// the document whole.
    @Test func aTruncatedDocumentHandsWhatCameBeforeTheCut() throws {
        var handed: [String] = []
        let text = """
            <planList><output><base_plan base_plan_id="1" sell_mode="online" title="x">
            <plan plan_start_date="2030-01-01T10:00:00" plan_end_date="2030-01-01T11:00:00" plan_id="1"></plan>
            <plan plan_start_date="2030-01-01T10:00:00" plan_end_date="2030-01-01T11:00:00" plan_id="2"></plan>
            <plan plan_start_date="2030-01-01T10:00:00" plan_end_
            """
        #expect(throws: FeedParser.Failure.self) { try FeedParser.parse(contentsOf: try file(text)) { handed.append($0.planID) } }
        #expect(handed == ["1", "2"])
    }

    @Test func providerTimesAreCalendarChecked() {
        #expect(ProviderTime.parse("2021-09-31T20:00:00") == nil)
        #expect(ProviderTime.parse("2023-02-29T00:00:00") == nil)
        #expect(ProviderTime.parse("2024-02-29T00:00:00") != nil)
        #expect(ProviderTime.parse("2021-06-30T24:00:00") == nil)
        #expect(ProviderTime.parse("2021-06-30") == nil)
        #expect(ProviderTime.parse("2021-06-30T21:00:00")?.timeIntervalSince1970 == 1_625_086_800)
    }
}

@Suite("Events: values the table would refuse")
struct FeedLimitsTests {
    func parse(_ text: String) throws -> (FeedParser.Summary, [FeedPlan]) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("feed-\(UUID().uuidString).xml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        var plans: [FeedPlan] = []
        let summary = try FeedParser.parse(contentsOf: url) { plans.append($0) }
        return (summary, plans)
    }

    func plan(_ id: String, price: String = "10.00", start: String = "2030-01-01T10:00:00", end: String = "2030-01-01T11:00:00") -> String {
        #"<plan plan_start_date="\#(start)" plan_end_date="\#(end)" plan_id="\#(id)"><zone zone_id="1" capacity="1" price="\#(price)" name="Z" numbered="false"/></plan>"#
    }

    /// Each of these is refused by a column of `events` or is past the limit kept under one of
    /// its B-tree indexes (a random 3,000-byte title or id makes PostgreSQL refuse the row:
    /// "index row size 3064 exceeds btree version 4 maximum 2704"), so each skips its plan only.
    @Test func aValueAColumnRefusesSkipsItsPlan() throws {
        let random = (0..<3_000).map { _ in String(UnicodeScalar(UInt8.random(in: 97...122))) }.joined()
        let (summary, plans) = try parse("""
            <planList><output><base_plan base_plan_id="1" sell_mode="online" title="Fine">
            \(plan("good"))
            \(plan("highest", price: "9999999999.99"))
            \(plan("price-1e12", price: "1e12"))
            \(plan("price-10^10", price: "10000000000"))
            \(plan("year-0", start: "0000-06-01T10:00:00", end: "2030-01-01T11:00:00"))
            \(plan("year-1", start: "0001-01-01T00:00:00", end: "0001-01-01T01:00:00"))
            \(plan(String(random.prefix(1_001))))
            </base_plan><base_plan base_plan_id="2" sell_mode="online" title="\(random)">\(plan("long-title"))</base_plan>
            </output></planList>
            """)
        #expect(summary == .init(parsed: 3, skipped: 5))
        #expect(plans.map(\.planID) == ["good", "highest", "year-1"])
        // Year 1 as PostgreSQL counts it (proleptic Gregorian), not Foundation's Julian dates before 1582.
        #expect(plans.last?.startsAt == Date(timeIntervalSince1970: -62_135_596_800))
    }

    @Test func theLimitsAreWhatTheTableTakes() {
        #expect(FeedLimits.earliest == ProviderTime.parse("0001-01-01T00:00:00"))
        #expect(ProviderTime.parse("0000-12-31T00:00:00") == nil)
        #expect(ProviderTime.parse("9999-12-31T23:59:59")?.timeIntervalSince1970 == FeedLimits.latest.timeIntervalSince1970 - 1)
        #expect(ProviderTime.parse("1582-10-05T00:00:00") != nil)  // a day the Julian-Gregorian switch skipped
    }
}

@Suite("Events: batch sizes")
struct FeedBatchSizeTests {
    static func plan(_ text: String, zones: Int, price: Double = 12.5) -> FeedPlan {
        FeedPlan(basePlanID: text, planID: text, title: text, sellMode: text,
                 startsAt: Date(timeIntervalSince1970: -62_135_596_800), endsAt: Date(timeIntervalSince1970: 253_402_300_799.999999),
                 sellFrom: Date(timeIntervalSince1970: 1.000001), sellTo: Date(timeIntervalSince1970: 2), soldOut: false,
                 zones: (0..<zones).map { _ in FeedZone(zoneID: text, name: text, capacity: Int.min, price: price, numbered: true) })
    }

    func encodedSize(_ plans: [FeedPlan]) throws -> Int {
        let envelope = MessageEnvelope(type: "events.batch", requestID: nil, payload: FeedBatch(fetchedAt: Date(), plans: plans))
        return try EnvelopeCoding.encode(envelope).count
    }

    /// The poller cuts batches by this bound, so it must never be below what is sent: strings
    /// that need escaping, the longest numbers and dates, many zones.
    @Test(arguments: ["plain", "", "quote\" back\\slash", "\u{1}\u{2}\n\t\r control", "é ü 中文 😀", "\u{2028}\u{2029}", "/ slash </plan>"])
    func theBoundIsNeverBelowTheEncoding(text: String) throws {
        let plans = [Self.plan(text, zones: 0), Self.plan(text, zones: 3, price: 9_999_999_999.99),
                     Self.plan(text, zones: 50, price: 0.1 + 0.2), Self.plan(text, zones: 1, price: 1e-7)]
        for plan in plans {
            #expect(FeedBatch.envelopeBytesBound + plan.encodedSizeBound >= (try encodedSize([plan])), "\(text) with \(plan.zones.count) zones")
        }
        #expect(FeedBatch.envelopeBytesBound + plans.map(\.encodedSizeBound).reduce(0, +) >= (try encodedSize(plans)))
    }

    /// A batch as pollers from before fencing wrote it (no provider, no token) still decodes,
    /// and a batch without a token is written without those keys.
    @Test func batchesWithoutAFencingTokenStillDecode() throws {
        let old = #"{"attempt":1,"created_at":"2026-11-22T03:07:12.123456Z","id":"6f1c1f0e-5d4a-4a4f-9a57-53574954c348","payload":{"fetched_at":"2026-11-22T03:07:12.000000Z","plans":[]},"type":"events.batch"}"#
        let envelope = try EnvelopeCoding.decode(MessageEnvelope<FeedBatch>.self, from: Array(old.utf8))
        #expect(envelope.payload.fencingToken == nil && envelope.payload.provider == nil)
        let written = String(decoding: try EnvelopeCoding.encode(envelope), as: UTF8.self)
        #expect(!written.contains("fencing_token") && !written.contains("provider"))
        let fenced = MessageEnvelope(type: "events.batch", requestID: nil,
                                     payload: FeedBatch(fetchedAt: Date(), plans: [], provider: "abc", fencingToken: 7))
        let decoded = try EnvelopeCoding.decode(MessageEnvelope<FeedBatch>.self, from: try EnvelopeCoding.encode(fenced))
        #expect(decoded.payload.fencingToken == 7 && decoded.payload.provider == "abc")
    }

    /// And not so far above it that batches come out much smaller than configured.
    @Test func theBoundIsCloseForATypicalPlan() throws {
        let plan = FeedPlan(basePlanID: "291", planID: "291", title: "Camela en concierto", sellMode: "online",
                            startsAt: Date(timeIntervalSince1970: 1_625_086_800), endsAt: Date(timeIntervalSince1970: 1_625_088_600),
                            sellFrom: Date(timeIntervalSince1970: 1_593_550_800), sellTo: Date(timeIntervalSince1970: 1_625_086_000),
                            soldOut: false, zones: (0..<20).map { FeedZone(zoneID: "\($0)", name: "Platea \($0)", capacity: 243, price: 20, numbered: true) })
        let actual = try encodedSize(Array(repeating: plan, count: 100)) - (try encodedSize([]))
        let bound = plan.encodedSizeBound * 100
        #expect(bound >= actual && bound < actual * 2, "bound \(bound), encoded \(actual)")
    }
}
