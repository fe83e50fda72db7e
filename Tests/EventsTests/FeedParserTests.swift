import Events
import Foundation
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
