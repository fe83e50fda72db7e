import Foundation
import Platform
import Postgres

/// Every SQL statement of the events workload.
public enum EventsRepository {
    /// Upserts in one statement; returns how many rows were inserted or changed. Values from an
    /// older document than the stored one are ignored, and so is a row whose values are all
    /// the same as stored: it is not written at all (no new row version, no WAL, no cache
    /// invalidation for it). Its `seen_at` then stays when these values were first seen; a
    /// late batch of an older document is therefore written with `valuesMayChange: false`
    /// (the handler knows it is late by its provider's newest applied document): it adds
    /// plans never stored and marks plans online, and changes no values.
    @discardableResult
    static func upsert(_ rows: [(plan: FeedPlan, seenAt: Date)], as kind: BatchKind = .unfenced, on connection: PostgresConnection) throws -> Int {
        guard !rows.isEmpty else { return 0 }
        func text(_ date: Date?) -> String? { date.map(PostgresTimestamp.format) }
        func flag(_ value: Bool?) -> String? { value.map { $0 ? "t" : "f" } }
        let zonesJSON = try rows.map { row -> String? in
            String(decoding: try JSONEncoder().encode(row.plan.zones), as: UTF8.self)
        }
        return try connection.execute("""
            INSERT INTO events (id, base_plan_id, plan_id, title, sell_mode, ever_online, starts_at, ends_at,
                                sell_from, sell_to, sold_out, min_price, max_price, zones, seen_at)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[],
                                 $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::bool[], $12::numeric[],
                                 $13::numeric[], $14::jsonb[], $15::timestamptz[])
            \(kind.conflictClause)
            """, [
                rows.map { EventID.of(basePlanID: $0.plan.basePlanID, planID: $0.plan.planID).uuidString.lowercased() },
                rows.map(\.plan.basePlanID), rows.map(\.plan.planID), rows.map(\.plan.title), rows.map(\.plan.sellMode),
                rows.map { $0.plan.sellMode == "online" ? "t" : "f" },
                rows.map { PostgresTimestamp.format($0.plan.startsAt) }, rows.map { PostgresTimestamp.format($0.plan.endsAt) },
                PostgresTextArray(rows.map { text($0.plan.sellFrom) }), PostgresTextArray(rows.map { text($0.plan.sellTo) }),
                PostgresTextArray(rows.map { flag($0.plan.soldOut) }),
                PostgresTextArray(rows.map { $0.plan.minPrice.map { String($0) } }),
                PostgresTextArray(rows.map { $0.plan.maxPrice.map { String($0) } }),
                PostgresTextArray(zonesJSON), rows.map { PostgresTimestamp.format($0.seenAt) },
            ]).affectedRows
    }

    /// How a batch's rows may change stored ones.
    enum BatchKind {
        /// The newest document of the provider's current lease holder: different values win.
        case current
        /// From a poller without fencing: different values win if fetched later than stored.
        case unfenced
        /// Older than a document already applied: adds plans and marks plans online only.
        case late

        var conflictClause: String {
            switch self {
            case .current: EventsRepository.updateChangedValues
            case .unfenced: EventsRepository.updateChangedValuesIfNewer
            case .late: EventsRepository.onlyMarkOnline
            }
        }
    }

    /// The conflict clause of a current document: different values replace the stored ones.
    /// (Which document is newest was settled by the fence: no `seen_at` comparison here, which
    /// would pit two replicas' clocks against each other after a change of lease holder.)
    static let updateChangedValues = changedValuesClause(when: "")

    /// The same for an unfenced batch: only values fetched no earlier than the stored ones.
    static let updateChangedValuesIfNewer = changedValuesClause(when: "excluded.seen_at >= events.seen_at AND ")

    private static func changedValuesClause(when condition: String) -> String {
        """
        ON CONFLICT (base_plan_id, plan_id) DO UPDATE SET
            title = excluded.title, sell_mode = excluded.sell_mode,
            ever_online = events.ever_online OR excluded.ever_online,
            starts_at = excluded.starts_at, ends_at = excluded.ends_at,
            sell_from = excluded.sell_from, sell_to = excluded.sell_to, sold_out = excluded.sold_out,
            min_price = excluded.min_price, max_price = excluded.max_price, zones = excluded.zones,
            seen_at = excluded.seen_at
        WHERE \(condition)((events.title, events.sell_mode, events.starts_at, events.ends_at, events.sell_from, events.sell_to,
                events.sold_out, events.min_price, events.max_price, events.zones)
               IS DISTINCT FROM
               (excluded.title, excluded.sell_mode, excluded.starts_at, excluded.ends_at, excluded.sell_from, excluded.sell_to,
                excluded.sold_out, excluded.min_price, excluded.max_price, excluded.zones)
               OR (excluded.ever_online AND NOT events.ever_online))
        """
    }

    /// The conflict clause of a late document: "was ever online" stays sticky, values stay.
    static let onlyMarkOnline = """
        ON CONFLICT (base_plan_id, plan_id) DO UPDATE SET ever_online = true
        WHERE excluded.ever_online AND NOT events.ever_online
        """

    /// Raises the provider's fence to `token` unless a higher token is recorded, and returns the
    /// highest token recorded (this one or a newer holder's). Either way the row stays locked
    /// until the transaction ends (ON CONFLICT DO UPDATE locks the row it conflicts with even
    /// when its WHERE is false), so writes fenced by one provider's row go one transaction at
    /// a time, and no newer token can be recorded between this check and the commit.
    static func raiseFence(provider: String, to token: Int, on connection: PostgresConnection) throws -> Int {
        let raised = try connection.query("""
            INSERT INTO events_feed_fence AS fence (provider, token) VALUES ($1, $2)
            ON CONFLICT (provider) DO UPDATE SET token = excluded.token, updated_at = now()
            WHERE fence.token < excluded.token
            RETURNING token
            """, [provider, token])
        if !raised.isEmpty { return token }
        return try connection.query("SELECT token FROM events_feed_fence WHERE provider = $1", [provider])[0].decode("token")
    }

    /// Records that a document of `provider` fetched at `fetchedAt` by the lease holder `token`
    /// is being applied, unless a newer one of the same holder was; returns the newest fetch
    /// time recorded. A new holder starts afresh: fetch times of two replicas come from two
    /// clocks, and comparing them would refuse a holder whose clock is behind. The fence row
    /// must exist and be locked by this transaction (``raiseFence(provider:to:on:)`` does both).
    static func raiseLatestDocument(provider: String, to fetchedAt: Date, token: Int, on connection: PostgresConnection) throws -> Date {
        try connection.query("""
            UPDATE events_feed_fence SET
                latest_fetched_at = CASE WHEN latest_token IS DISTINCT FROM $3 OR latest_fetched_at IS NULL THEN $2::timestamptz
                                         ELSE GREATEST(latest_fetched_at, $2::timestamptz) END,
                latest_token = $3
            WHERE provider = $1 RETURNING latest_fetched_at
            """, [provider, PostgresTimestamp.format(fetchedAt), token])[0].decode("latest_fetched_at")
    }

    /// The oldest transaction still running (`pg_snapshot_xmin` of a snapshot taken now): every
    /// row that a later read might see and this one could not was written by it or a later one.
    /// Taken before reading changes, it is where the next read starts (``SearchIndex``).
    static func oldestRunningTransaction(on connection: PostgresConnection) throws -> UInt64 {
        let text: String = try connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin")[0].decode("xmin")
        guard let xid = UInt64(text) else { throw PostgresError(.decoding, "pg_snapshot_xmin gave \(text.prefix(40).debugDescription)") }
        return xid
    }

    /// How many statements have removed events so far (a trigger counts them): a copy of the
    /// table made at another count may hold rows that no longer exist.
    static func removalGeneration(on connection: PostgresConnection) throws -> Int64 {
        try connection.query("SELECT generation FROM events_removals")[0].decode("generation")
    }

    /// Searchable events last written by transaction `xid` or a later one, by id after
    /// `afterID` (nil: from the first), at most `limit`: the columns of ``searchQuery``, then
    /// start and end in microseconds since 1970. Paged by id so that a first load of a long
    /// history never holds more than a page of result rows at once.
    static func searchableEvents(writtenSince xid: UInt64, after afterID: String?, limit: Int,
                                 on connection: PostgresConnection) throws -> [PostgresRow] {
        try connection.query("""
            SELECT id, title, starts_at, ends_at, min_price::float8, max_price::float8,
                   (extract(epoch FROM starts_at) * 1000000)::int8, (extract(epoch FROM ends_at) * 1000000)::int8
            FROM events WHERE ever_online AND changed_xid >= $1::text::xid8 AND id > $2::uuid ORDER BY id LIMIT $3
            """, [String(xid), afterID ?? "00000000-0000-0000-0000-000000000000", limit])
    }

    /// Searchable events starting at or after `startsAt` and ending at or before `endsAt`,
    /// by start then id, as the envelope's bytes. Only the bounds given go into the SQL, so the
    /// partial index serves. Encoded here, on the pool's thread, while the rows are at hand:
    /// a wide window's answer takes milliseconds to write, which must not hold a thread of
    /// Swift's cooperative pool (two on this kind of machine) nor an event loop.
    ///
    /// At most `maxEvents` events: a wider window throws ``SearchTooBroad`` (one row more is
    /// read, to know), so that no request can make ingest hold the whole history in memory.
    static func searchEnvelope(startsAt: Date?, endsAt: Date?, maxEvents: Int, on connection: PostgresConnection) throws -> (body: [UInt8], etag: String) {
        let (sql, parameters) = searchQuery(startsAt: startsAt, endsAt: endsAt, limit: maxEvents + 1)
        let rows = try connection.query(sql, parameters)
        guard rows.count <= maxEvents else { throw SearchTooBroad(maxEvents: maxEvents) }
        return SearchResultJSON.envelope(rows)
    }

    /// A window holding more events than one answer may carry.
    struct SearchTooBroad: Error {
        let maxEvents: Int
    }

    /// The SQL of a search and its parameters (the plan test explains exactly this).
    ///
    /// With an upper bound, `starts_at <= $2` is added: implied (an event cannot start after it
    /// ends), and what lets the index `events_search (starts_at, id)` bound its range scan at
    /// both ends. Without it the scan ran from `starts_at` to the end of the history, which in
    /// a table that only grows is most of it: over 1,000,000 events a parallel sequential scan
    /// of 171 ms, against an index-only scan of 0.16 ms with it (README, Benchmarks).
    static func searchQuery(startsAt: Date?, endsAt: Date?, limit: Int? = nil) -> (sql: String, parameters: [any PostgresEncodable]) {
        var conditions = ["ever_online"]
        var parameters: [any PostgresEncodable] = []
        if let startsAt { parameters.append(startsAt); conditions.append("starts_at >= $\(parameters.count)") }
        if let endsAt {
            parameters.append(endsAt)
            conditions.append("starts_at <= $\(parameters.count)")
            conditions.append("ends_at <= $\(parameters.count)")
        }
        var limitClause = ""
        if let limit { parameters.append(limit); limitClause = " LIMIT $\(parameters.count)" }
        return ("""
            SELECT id, title, starts_at, ends_at, min_price::float8, max_price::float8
            FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY starts_at, id\(limitClause)
            """, parameters)
    }
}
