import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads a provider document as a stream (SAX, from a file), in either dialect:
/// `planList/output/base_plan/plan/zone` or the older `eventList/output/base_event/event/zone`.
/// Memory stays flat whatever the document's size: each plan is handed to `onPlan` as soon as
/// its closing tag is read. A plan with a bad value (a date such as 2021-09-31, a price that
/// is not a number or does not fit `numeric(12, 2)`, a missing id: see ``FeedLimits``) is
/// skipped and counted; a document that is not well-formed
/// XML throws, and the caller must then discard everything it was handed.
public final class FeedParser: NSObject, XMLParserDelegate {
    public struct Summary: Sendable, Equatable {
        public var parsed = 0
        public var skipped = 0
        public init(parsed: Int = 0, skipped: Int = 0) {
            self.parsed = parsed
            self.skipped = skipped
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        case notAFeed(root: String)
        public var description: String {
            switch self {
            case .malformed(let reason): "the document is not well-formed XML: \(reason)"
            case .notAFeed(let root): "the document's root is <\(root)>, not <planList> or <eventList>"
            }
        }
    }

    private let onPlan: (FeedPlan) throws -> Void
    private var summary = Summary()
    private var root: String?
    /// Set when the root's closing tag is read: a document cut short can still look well-formed
    /// to a streaming parser up to where it stops.
    private var rootClosed = false
    private var base: (id: String?, title: String?, sellMode: String?)?
    private var plan: [String: String]?
    private var zones: [FeedZone] = []
    private var planIsBad = false
    private var handlerError: (any Error)?

    private init(onPlan: @escaping (FeedPlan) throws -> Void) {
        self.onPlan = onPlan
    }

    /// Parses the file at `url`, calling `onPlan` for every valid plan in document order.
    public static func parse(contentsOf url: URL, onPlan: @escaping (FeedPlan) throws -> Void) throws -> Summary {
        guard let stream = InputStream(url: url) else { throw Failure.malformed("cannot open \(url.path)") }
        let delegate = FeedParser(onPlan: onPlan)
        let parser = XMLParser(stream: stream)
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        let ok = parser.parse()
        if let error = delegate.handlerError { throw error }
        guard ok else { throw Failure.malformed(parser.parserError.map { "\($0)" } ?? "unknown parser error") }
        guard let root = delegate.root else { throw Failure.malformed("empty document") }
        guard root == "planList" || root == "eventList" else { throw Failure.notAFeed(root: root) }
        guard delegate.rootClosed else { throw Failure.malformed("the document ends before </\(root)>") }
        return delegate.summary
    }

    // MARK: - XMLParserDelegate

    public func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?,
                       qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil {
            root = element
            if element != "planList" && element != "eventList" { parser.abortParsing() }
            return
        }
        switch element {
        case "base_plan", "base_event":
            base = (attributes["base_plan_id"] ?? attributes["base_event_id"], attributes["title"], attributes["sell_mode"])
        case "plan", "event":
            plan = attributes
            zones = []
            planIsBad = false
        case "zone" where plan != nil:
            guard let id = attributes["zone_id"], let priceText = attributes["price"], let price = Double(priceText), price.isFinite, price >= 0 else {
                planIsBad = true
                return
            }
            zones.append(FeedZone(zoneID: id, name: attributes["name"] ?? "", capacity: Int(attributes["capacity"] ?? "") ?? 0,
                                  price: price, numbered: attributes["numbered"] == "true"))
        default:
            break
        }
    }

    public func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        switch element {
        case "plan", "event":
            defer { plan = nil }
            // A value the table would refuse (a price of 1e12, a title too long for the search
            // index) skips this plan only: caught here, it cannot fail the batch it travels in.
            guard let attributes = plan, let planned = makePlan(attributes), !planIsBad, planned.unstorableReason == nil else {
                summary.skipped += 1
                return
            }
            do {
                try onPlan(planned)
                summary.parsed += 1
            } catch {
                handlerError = error
                parser.abortParsing()
            }
        case "base_plan", "base_event":
            base = nil
        case root:
            rootClosed = true
        default:
            break
        }
    }

    public func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {}

    private func makePlan(_ attributes: [String: String]) -> FeedPlan? {
        guard let base, let baseID = base.id, !baseID.isEmpty, let title = base.title,
              let planID = attributes["plan_id"] ?? attributes["event_id"], !planID.isEmpty,
              let starts = ProviderTime.parse(attributes["plan_start_date"] ?? attributes["event_start_date"]),
              let ends = ProviderTime.parse(attributes["plan_end_date"] ?? attributes["event_end_date"]),
              ends >= starts else { return nil }
        // Optional values must still be valid when present.
        let sellFrom = attributes["sell_from"].map(ProviderTime.parse)
        let sellTo = attributes["sell_to"].map(ProviderTime.parse)
        if sellFrom == .some(nil) || sellTo == .some(nil) { return nil }
        return FeedPlan(basePlanID: baseID, planID: planID, title: title, sellMode: base.sellMode ?? "",
                        startsAt: starts, endsAt: ends, sellFrom: sellFrom ?? nil, sellTo: sellTo ?? nil,
                        soldOut: attributes["sold_out"].map { $0 == "true" }, zones: zones)
    }
}

/// Provider times: `YYYY-MM-DDTHH:MM:SS` with no offset, taken as UTC. Calendar-checked, so
/// `2021-09-31T20:00:00` is refused rather than rolled over into October.
public enum ProviderTime {
    public static func parse(_ text: String?) -> Date? {
        guard let text else { return nil }
        let b = Array(text.utf8)
        guard b.count == 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            var value = 0
            for byte in b[from..<(from + length)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        // Year 0000 does not exist for PostgreSQL (it refuses it), so it is refused here.
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar, as PostgreSQL counts them
    /// (Howard Hinnant's algorithm, the inverse of `PostgresTimestamp`'s). Foundation's
    /// Gregorian calendar switches to Julian before 1582, which moved 0001-01-01 into year 0.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
