import Foundation
import Platform
import Postgres

/// One event in a `/search` answer: dates `YYYY-MM-DD`, times `HH:MM:SS` (UTC), prices the
/// lowest and highest zone price (null when the plan has no zones).
///
/// Written with ``JSONWriter``, not `JSONEncoder`: a wide window answers tens of thousands of
/// events, and `JSONEncoder` (a tree of boxed values, then the bytes) took most of a miss's
/// time. The keys are in sorted order, as `JSONEnvelope.encoder` wrote them before.
struct SearchResult: Sendable, JSONWritable {
    let id: UUID
    let title: String
    let startsAt: Date
    let endsAt: Date
    let minPrice: Double?
    let maxPrice: Double?

    func write(to json: inout JSONWriter) {
        var start: [UInt8] = []
        var end: [UInt8] = []
        start.reserveCapacity(20)
        end.reserveCapacity(20)
        PostgresTimestamp.write(startsAt, fractionDigits: 0, into: &start)  // 2021-06-30T21:00:00Z
        PostgresTimestamp.write(endsAt, fractionDigits: 0, into: &end)
        json.object { json in
            json.key("end_date"); json.string(String(decoding: end[0..<10], as: UTF8.self))
            json.key("end_time"); json.string(String(decoding: end[11..<19], as: UTF8.self))
            json.key("id"); json.uuid(id)
            json.key("max_price"); Self.price(maxPrice, into: &json)
            json.key("min_price"); Self.price(minPrice, into: &json)
            json.key("start_date"); json.string(String(decoding: start[0..<10], as: UTF8.self))
            json.key("start_time"); json.string(String(decoding: start[11..<19], as: UTF8.self))
            json.key("title"); json.string(title)
        }
    }

    /// A JSON number as `JSONEncoder` wrote it: `25` for 25.0, `12.5` for 12.5.
    static func price(_ value: Double?, into json: inout JSONWriter) {
        guard let value else { return json.null() }
        if value == value.rounded(), abs(value) < 1e15 {
            json.raw(Array(String(Int64(value)).utf8))
        } else {
            json.raw(Array("\(value)".utf8))
        }
    }
}

/// `{"events": [...]}`, the `data` of a `/search` answer.
struct SearchAnswer: JSONWritable {
    let events: [SearchResult]

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("events"); json.array(events)
        }
    }
}
