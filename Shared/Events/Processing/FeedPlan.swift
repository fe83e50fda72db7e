import Foundation

/// One plan of one base plan, as the provider describes it: an event once stored.
public struct FeedPlan: Codable, Sendable, Equatable {
    public var basePlanID: String
    public var planID: String
    public var title: String
    public var sellMode: String
    public var startsAt: Date
    public var endsAt: Date
    public var sellFrom: Date?
    public var sellTo: Date?
    public var soldOut: Bool?
    public var zones: [FeedZone]

    public init(basePlanID: String, planID: String, title: String, sellMode: String, startsAt: Date, endsAt: Date,
                sellFrom: Date?, sellTo: Date?, soldOut: Bool?, zones: [FeedZone]) {
        self.basePlanID = basePlanID
        self.planID = planID
        self.title = title
        self.sellMode = sellMode
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.sellFrom = sellFrom
        self.sellTo = sellTo
        self.soldOut = soldOut
        self.zones = zones
    }

    public var minPrice: Double? { zones.map(\.price).min() }
    public var maxPrice: Double? { zones.map(\.price).max() }

    enum CodingKeys: String, CodingKey {
        case title, zones
        case basePlanID = "base_plan_id"
        case planID = "plan_id"
        case sellMode = "sell_mode"
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case sellFrom = "sell_from"
        case sellTo = "sell_to"
        case soldOut = "sold_out"
    }
}

/// What the `events` table (migration 0003) accepts, checked when a plan is parsed (and again
/// by storage) so that one value the table would refuse skips that one plan, counted, instead of
/// failing the statement that writes its whole batch.
public enum FeedLimits {
    /// `min_price`/`max_price` are `numeric(12, 2)`: the value must round to less than 10^10.
    /// (Prices from 9,999,999,999.99 to 9,999,999,999.995 would still fit; refusing that sliver
    /// keeps the check a plain comparison of doubles.)
    public static let maxPrice = 9_999_999_999.99
    /// `UNIQUE (base_plan_id, plan_id)` is a B-tree, whose entries hold at most 2,704 bytes
    /// (a third of a page; long values may be compressed, random ones are not).
    public static let maxIDBytes = 1_000
    /// The search index `events_search` INCLUDEs the title next to the id, times and prices.
    public static let maxTitleBytes = 2_000
    /// `timestamptz` is written as `YYYY-MM-DDTHH:MM:SS...`: years 0001 to 9999 (PostgreSQL
    /// refuses year 0; a fifth digit would not be written).
    public static let earliest = Date(timeIntervalSince1970: -62_135_596_800)  // 0001-01-01T00:00:00Z
    public static let latest = Date(timeIntervalSince1970: 253_402_300_800)    // 10000-01-01T00:00:00Z
}

extension FeedPlan {
    /// Why the `events` table would refuse this plan, or nil when every column takes its value.
    public var unstorableReason: String? {
        func badText(_ text: String) -> Bool { text.utf8.contains(0) }  // text and jsonb refuse NUL
        func badTime(_ date: Date?) -> Bool { date.map { !($0 >= FeedLimits.earliest && $0 < FeedLimits.latest) } ?? false }
        if basePlanID.isEmpty || planID.isEmpty { return "empty id" }
        if basePlanID.utf8.count > FeedLimits.maxIDBytes || planID.utf8.count > FeedLimits.maxIDBytes {
            return "id longer than \(FeedLimits.maxIDBytes) bytes"
        }
        if title.utf8.count > FeedLimits.maxTitleBytes { return "title longer than \(FeedLimits.maxTitleBytes) bytes" }
        if badText(basePlanID) || badText(planID) || badText(title) || badText(sellMode) { return "NUL in a text value" }
        if badTime(startsAt) || badTime(endsAt) || badTime(sellFrom) || badTime(sellTo) { return "a time outside years 0001-9999" }
        if endsAt < startsAt { return "ends before it starts" }
        for zone in zones {
            guard zone.price.isFinite, zone.price >= 0, zone.price <= FeedLimits.maxPrice else {
                return "zone price \(zone.price) outside 0...\(FeedLimits.maxPrice)"
            }
            if badText(zone.zoneID) || badText(zone.name) { return "NUL in a zone's text" }
        }
        return nil
    }
}

extension FeedPlan {
    /// At least the bytes this plan takes in a `FeedBatch` as ``EnvelopeCoding`` writes it
    /// (JSONEncoder), counted without encoding: every key and punctuation, numbers and dates
    /// at their longest, and each string escaped at its worst (`"` and `\` take 2 bytes, a
    /// control character 6, a byte past ASCII is counted twice, in case it is escaped).
    public var encodedSizeBound: Int {
        // Keys, quotes, commas and braces of a plan (about 130), four dates of 29, a Bool.
        var size = 300 + Self.jsonStringBound(basePlanID) + Self.jsonStringBound(planID) + Self.jsonStringBound(title)
            + Self.jsonStringBound(sellMode)
        for zone in zones {
            // Keys and punctuation (about 60), an Int of up to 20, a Double of up to 24, a Bool.
            size += 120 + Self.jsonStringBound(zone.zoneID) + Self.jsonStringBound(zone.name)
        }
        return size
    }

    static func jsonStringBound(_ text: String) -> Int {
        var size = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): size += 2
            case ..<0x20: size += 6
            case 0x80...: size += 2
            default: size += 1
            }
        }
        return size
    }
}

public struct FeedZone: Codable, Sendable, Equatable {
    public var zoneID: String
    public var name: String
    public var capacity: Int
    public var price: Double
    public var numbered: Bool

    public init(zoneID: String, name: String, capacity: Int, price: Double, numbered: Bool) {
        self.zoneID = zoneID
        self.name = name
        self.capacity = capacity
        self.price = price
        self.numbered = numbered
    }

    enum CodingKeys: String, CodingKey {
        case name, capacity, price, numbered
        case zoneID = "zone_id"
    }
}

/// What travels on `events.store`: a slice of one provider document.
public struct FeedBatch: Codable, Sendable {
    /// At least the bytes of the envelope around the plans (its keys, id, times, type).
    public static let envelopeBytesBound = 1_024

    /// When the document was fetched: the version of every value in it.
    public var fetchedAt: Date
    public var plans: [FeedPlan]
    /// Which provider the document came from (a hash of its URL, as in the poller's Redis keys),
    /// and the fencing token of the lease its poller held: storage refuses a batch whose token
    /// is lower than the highest it has stored for that provider. Batches of pollers from
    /// before fencing have neither, and are accepted.
    public var provider: String?
    public var fencingToken: Int?

    public init(fetchedAt: Date, plans: [FeedPlan], provider: String? = nil, fencingToken: Int? = nil) {
        self.fetchedAt = fetchedAt
        self.plans = plans
        self.provider = provider
        self.fencingToken = fencingToken
    }

    // Synthesized: optionals are decoded if present and encoded only when set, so the JSON of
    // a batch without a token is what it was before.
    enum CodingKeys: String, CodingKey {
        case plans, provider
        case fetchedAt = "fetched_at"
        case fencingToken = "fencing_token"
    }
}
