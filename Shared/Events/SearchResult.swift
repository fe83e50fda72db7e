import Foundation
import Platform

/// One event in a `/search` answer: dates `YYYY-MM-DD`, times `HH:MM:SS` (UTC), prices the
/// lowest and highest zone price (null when the plan has no zones).
struct SearchResult: Encodable, Sendable {
    let id: UUID
    let title: String
    let startsAt: Date
    let endsAt: Date
    let minPrice: Double?
    let maxPrice: Double?

    enum CodingKeys: String, CodingKey {
        case id, title
        case startDate = "start_date", startTime = "start_time", endDate = "end_date", endTime = "end_time"
        case minPrice = "min_price", maxPrice = "max_price"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let start = Self.split(startsAt)
        let end = Self.split(endsAt)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(start.date, forKey: .startDate)
        try container.encode(start.time, forKey: .startTime)
        try container.encode(end.date, forKey: .endDate)
        try container.encode(end.time, forKey: .endTime)
        try container.encode(minPrice, forKey: .minPrice)
        try container.encode(maxPrice, forKey: .maxPrice)
    }

    /// `2021-06-30T21:00:00.000Z` -> ("2021-06-30", "21:00:00").
    static func split(_ date: Date) -> (date: String, time: String) {
        let text = RFC3339.format(date)
        return (String(text.prefix(10)), String(text.dropFirst(11).prefix(8)))
    }
}
