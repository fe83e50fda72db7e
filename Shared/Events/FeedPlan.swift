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

public struct FeedZone: Codable, Sendable, Equatable {
    public var zoneID: String
    public var name: String
    public var capacity: Int
    public var price: Double
    public var numbered: Bool

    enum CodingKeys: String, CodingKey {
        case name, capacity, price, numbered
        case zoneID = "zone_id"
    }
}

/// What travels on `events.store`: a slice of one provider document.
public struct FeedBatch: Codable, Sendable {
    /// When the document was fetched: the version of every value in it.
    public var fetchedAt: Date
    public var plans: [FeedPlan]

    enum CodingKeys: String, CodingKey {
        case plans
        case fetchedAt = "fetched_at"
    }
}
