import Platform
import Postgres

/// The events of a `/search` answer as JSON, written straight from the rows' text as
/// PostgreSQL sent it (the columns of ``EventsRepository/searchQuery``, by position): dates
/// `YYYY-MM-DD`, times `HH:MM:SS` (UTC), prices the lowest and highest zone price as JSON
/// numbers (null when the plan has no zones), keys in sorted order as `JSONEncoder` wrote them.
///
/// Why by hand: a miss answers a hundred events and often thousands, and a profile of ingest
/// under distinct windows showed decoding the rows (`UUID(uuidString:)` goes through `sscanf`,
/// every `Date` parsed) at 18% of its CPU and writing them back out at 16%; without the
/// decoding, ``JSONWriter``'s per-field strings were still 22%. The server's text already is what the answer shows: `uuid` prints
/// lower-case and hyphenated, `timestamptz` prints `2021-06-30 21:00:00+00` on our connections
/// (TimeZone=UTC, DateStyle=ISO; the parser keeps years within 0001-9999), and `float8` prints
/// the shortest exact form (`25`, `12.5`), as `JSONEncoder` wrote these numbers. Only the
/// title can need escaping; ``JSONWriter`` does that when it does.
enum SearchResultJSON {
    /// `{"data":{"events":[...]},"error":null}` and its ``SearchETag`` (each event's digest
    /// taken over its bytes as they are written, as the index takes it when it loads one).
    static func envelope(_ rows: [PostgresRow]) -> (body: [UInt8], etag: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + rows.count * 200)
        bytes.append(contentsOf: #"{"data":{"events":["#.utf8)
        var digests: [UInt64] = []
        digests.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            let start = bytes.count
            append(row, to: &bytes)
            digests.append(SearchETag.digest(of: bytes[start...]))
        }
        bytes.append(contentsOf: #"]},"error":null}"#.utf8)
        return (bytes, SearchETag.of(digests: digests, count: digests.count))
    }

    static func append(_ row: PostgresRow, to bytes: inout [UInt8]) {
        var ends = row[3] ?? ""
        var starts = row[2] ?? ""
        bytes.append(contentsOf: #"{"end_date":""#.utf8)
        ends.withUTF8 { bytes.append(contentsOf: $0.prefix(10)) }
        bytes.append(contentsOf: #"","end_time":""#.utf8)
        ends.withUTF8 { bytes.append(contentsOf: $0.dropFirst(11).prefix(8)) }
        bytes.append(contentsOf: #"","id":""#.utf8)
        bytes.append(contentsOf: (row[0] ?? "").utf8)
        bytes.append(contentsOf: #"","max_price":"#.utf8)
        bytes.append(contentsOf: (row[5] ?? "null").utf8)
        bytes.append(contentsOf: #","min_price":"#.utf8)
        bytes.append(contentsOf: (row[4] ?? "null").utf8)
        bytes.append(contentsOf: #","start_date":""#.utf8)
        starts.withUTF8 { bytes.append(contentsOf: $0.prefix(10)) }
        bytes.append(contentsOf: #"","start_time":""#.utf8)
        starts.withUTF8 { bytes.append(contentsOf: $0.dropFirst(11).prefix(8)) }
        bytes.append(contentsOf: #"","title":"#.utf8)
        appendString(row[1] ?? "", to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// A JSON string: as it is when nothing in it needs escaping (nearly every title), else
    /// escaped by ``JSONWriter``.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        let plain = value.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
        } else {
            var writer = JSONWriter(capacity: value.utf8.count + 16)
            writer.string(value)
            bytes.append(contentsOf: writer.bytes)
        }
    }
}
