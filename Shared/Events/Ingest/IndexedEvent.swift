import Postgres

/// One searchable event as ``SearchIndex`` keeps it: what `/search` filters and orders by, and
/// the event's JSON exactly as an answer shows it, written once when the event is loaded.
struct IndexedEvent: Sendable {
    /// Start and end, microseconds since 1970 (UTC).
    let startsAt: Int64
    let endsAt: Int64
    let id: EventKey
    /// `{"end_date":...,"title":...}`: ``SearchResultJSON``'s bytes for this event.
    let json: [UInt8]
    /// ``SearchETag/digest(of:)`` of `json`: an answer's ETag hashes these, not the whole answer.
    let digest: UInt64

    /// From a row of ``EventsRepository/searchableEvents(writtenSince:after:limit:on:)``.
    init(row: PostgresRow) throws {
        guard let idText = row[0], let id = EventKey(uuidText: idText),
              let startsText = row[6], let startsAt = Int64(startsText), let endsText = row[7], let endsAt = Int64(endsText) else {
            throw PostgresError(.decoding, "a searchable event row without a usable id, start or end: \(row[0] ?? "nil")")
        }
        var json: [UInt8] = []
        json.reserveCapacity(200)
        SearchResultJSON.append(row, to: &json)
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.id = id
        self.json = json
        self.digest = SearchETag.digest(of: json)
    }

    /// The order of `/search` answers: by start, then id.
    static func precedes(_ left: IndexedEvent, _ right: IndexedEvent) -> Bool {
        left.startsAt != right.startsAt ? left.startsAt < right.startsAt : left.id < right.id
    }

    /// About what one event costs the index in memory: its JSON, its entry, the array header.
    var footprint: Int { json.count + MemoryLayout<IndexedEvent>.stride + 32 }
}

/// An event's UUID as two integers, compared as PostgreSQL compares `uuid` (byte by byte), so
/// that ties on the start are broken the same way as the database's `ORDER BY starts_at, id`.
struct EventKey: Hashable, Comparable, Sendable {
    let high: UInt64
    let low: UInt64

    /// From the text form PostgreSQL prints (hex digits, hyphens anywhere ignored).
    init?(uuidText: String) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for byte in uuidText.utf8 where byte != UInt8(ascii: "-") {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if digits < 16 { high = high << 4 | UInt64(value) } else if digits < 32 { low = low << 4 | UInt64(value) }
            digits += 1
        }
        guard digits == 32 else { return nil }
        self.high = high
        self.low = low
    }

    static func < (left: EventKey, right: EventKey) -> Bool {
        left.high != right.high ? left.high < right.high : left.low < right.low
    }
}
