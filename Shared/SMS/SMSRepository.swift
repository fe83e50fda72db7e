import Foundation
import Postgres

/// Every SQL statement of the SMS workload. Runs on a leased connection (on a pool thread).
public enum SMSRepository {
    static let columns = #"id, "from", "to", message, status::text AS status, received_at, stored_at, processed_at, encoding, segments"#

    /// Writes a batch in one round trip; rows already there (a redelivery) are left alone.
    /// Returns how many rows were new.
    @discardableResult
    public static func store(_ batch: [AcceptedSMS], requestIDs: [String?], on connection: PostgresConnection) throws -> Int {
        try connection.execute("""
            INSERT INTO sms_messages (id, "from", "to", message, callback_url, received_at, request_id, status, stored_at)
            SELECT id, f, t, m, c, r, q, 'stored', now()
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[]) AS u(id, f, t, m, c, r, q)
            ON CONFLICT (id) DO NOTHING
            """, [
                batch.map { $0.id.uuidString.lowercased() }, batch.map(\.from), batch.map(\.to), batch.map(\.message),
                PostgresTextArray(batch.map(\.callbackURL)), batch.map { PostgresTimestamp.format($0.receivedAt) },
                PostgresTextArray(requestIDs),
            ]).affectedRows
    }

    /// Marks a batch processed with its encoding and segment count, and adds the newly
    /// processed ones to the running totals, in one transaction. Returns how many were new.
    @discardableResult
    public static func markProcessed(_ results: [(id: UUID, encoding: SMSEncoding, segments: Int)], on connection: PostgresConnection) throws -> Int {
        try connection.transaction { connection in
            let rows = try connection.query("""
                WITH done AS (
                    UPDATE sms_messages m
                    SET status = 'processed', encoding = u.encoding, segments = u.segments, processed_at = now()
                    FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(id, encoding, segments)
                    WHERE m.id = u.id AND m.status <> 'processed'
                    RETURNING extract(epoch FROM (m.processed_at - m.received_at)) * 1000 AS ms
                )
                UPDATE sms_stats SET processed = processed + (SELECT count(*) FROM done),
                                     processing_ms = processing_ms + (SELECT coalesce(sum(ms), 0) FROM done)
                WHERE id = 1
                RETURNING (SELECT count(*) FROM done) AS updated
                """, [results.map { $0.id.uuidString.lowercased() }, results.map(\.encoding.rawValue), results.map { String($0.segments) }])
            return try rows.first?.decode("updated", as: Int.self) ?? 0
        }
    }

    public static func message(_ id: UUID, on connection: PostgresConnection) throws -> SMSMessageView? {
        guard let row = try connection.query("SELECT \(columns) FROM sms_messages WHERE id = $1", [id]).first else { return nil }
        return try SMSMessageView(row: row, media: media(of: [id], on: connection)[id] ?? [])
    }

    public static func callbackURL(of id: UUID, on connection: PostgresConnection) throws -> String? {
        try connection.query("SELECT callback_url FROM sms_messages WHERE id = $1", [id]).first?.decodeIfPresent("callback_url")
    }

    public struct ListQuery: Sendable, Hashable {
        public var from: String?
        public var to: String?
        public var status: SMSStatus?
        public var limit: Int
        public var offset: Int
        /// A stable text form, the cache key.
        var cacheKey: String { "\(from ?? "")|\(to ?? "")|\(status?.rawValue ?? "")|\(limit)|\(offset)" }
    }

    /// A page, newest first, and the total matching the filters, counted up to `countCap` rows
    /// (more than that answers `countCap`): an exact count of a large table is a full scan of
    /// its index on every miss, and no page past the offset cap can be asked for anyway. Only
    /// the filters present go into the SQL, so each query can use its index.
    public static func list(_ query: ListQuery, countCap: Int, on connection: PostgresConnection) throws -> (items: [SMSMessageView], total: Int) {
        var conditions: [String] = []
        var parameters: [any PostgresEncodable] = []
        if let from = query.from { parameters.append(from); conditions.append(#""from" = $\#(parameters.count)"#) }
        if let to = query.to { parameters.append(to); conditions.append(#""to" = $\#(parameters.count)"#) }
        if let status = query.status { parameters.append(status.rawValue); conditions.append("status = $\(parameters.count)::sms_status") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let counted = try connection.query("SELECT count(*) AS total FROM (SELECT 1 FROM sms_messages \(filter) LIMIT \(countCap)) AS capped",
                                           parameters)[0].decode("total", as: Int.self)
        let rows = try connection.query("""
            SELECT \(columns) FROM sms_messages \(filter)
            ORDER BY received_at DESC, id DESC LIMIT \(query.limit) OFFSET \(query.offset)
            """, parameters)
        let ids = try rows.map { try $0.decode("id", as: UUID.self) }
        let media = try media(of: ids, on: connection)
        let items = try rows.map { row in try SMSMessageView(row: row, media: media[try row.decode("id", as: UUID.self)] ?? []) }
        return (items, counted)
    }

    /// Attachments of several messages in one query.
    public static func media(of ids: [UUID], on connection: PostgresConnection) throws -> [UUID: [MediaView]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try connection.query("""
            SELECT a.message_id, m.sha256, m.content_type, m.size FROM sms_message_media a JOIN media m USING (sha256)
            WHERE a.message_id = ANY($1::uuid[]) ORDER BY a.attached_at, m.sha256
            """, [ids.map { $0.uuidString.lowercased() }])
        var media: [UUID: [MediaView]] = [:]
        for row in rows {
            let sha = try row.decode("sha256", as: String.self)
            media[try row.decode("message_id"), default: []].append(
                MediaView(sha256: sha, contentType: try row.decode("content_type"), size: try row.decode("size"), url: "/media/\(sha)"))
        }
        return media
    }

    public enum AttachOutcome: Sendable, Equatable {
        case created
        /// These bytes were already attached to this message.
        case existing
        /// The message already has `count` attachments of `bytes` in total; this one would pass a cap.
        case overQuota(count: Int, bytes: Int)
    }

    /// Records the media row (once per content) and its link to the message, unless the message
    /// would then hold more than `maxCount` attachments or `maxBytes` of them. Attaches to one
    /// message are serialised by an advisory lock on its id, so concurrent uploads cannot
    /// each see room for one more and together pass the cap.
    public static func attach(_ media: MediaView, to message: UUID, maxCount: Int, maxBytes: Int,
                              on connection: PostgresConnection) throws -> AttachOutcome {
        try connection.transaction { connection in
            try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7313))", [message])
            let usage = try attachedUsage(of: message, sha256: media.sha256, on: connection)
            if usage.alreadyAttached { return .existing }
            guard usage.count + 1 <= maxCount, usage.bytes + media.size <= maxBytes else {
                return .overQuota(count: usage.count, bytes: usage.bytes)
            }
            try connection.execute("INSERT INTO media (sha256, content_type, size) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
                                   [media.sha256, media.contentType, media.size])
            try connection.execute("INSERT INTO sms_message_media (message_id, sha256) VALUES ($1, $2)", [message, media.sha256])
            return .created
        }
    }

    /// How many attachments a message has, their total size, and whether `sha256` is one of them.
    public static func attachedUsage(of message: UUID, sha256: String, on connection: PostgresConnection) throws
        -> (count: Int, bytes: Int, alreadyAttached: Bool) {
        let row = try connection.query("""
            SELECT count(*) AS n, coalesce(sum(m.size), 0)::bigint AS bytes, coalesce(bool_or(a.sha256 = $2), false) AS attached
            FROM sms_message_media a JOIN media m USING (sha256) WHERE a.message_id = $1
            """, [message, sha256])[0]
        return (try row.decode("n", as: Int.self), try row.decode("bytes", as: Int.self), try row.decode("attached", as: Bool.self))
    }

    public static func mediaContentType(_ sha256: String, on connection: PostgresConnection) throws -> String? {
        try connection.query("SELECT content_type FROM media WHERE sha256 = $1", [sha256]).first?.decode("content_type")
    }

    /// The running totals, and how many stored messages wait for processing (counted from the
    /// rows: on `sms.process` a broker message is a whole batch, so its depth is not a count of
    /// messages; the status index makes this a range scan over the waiting rows only).
    public static func stats(on connection: PostgresConnection) throws -> (processed: Int, averageMilliseconds: Double, storedWaiting: Int) {
        let row = try connection.query("""
            SELECT processed, processing_ms, (SELECT count(*) FROM sms_messages WHERE status = 'stored') AS stored
            FROM sms_stats WHERE id = 1
            """)[0]
        let processed = try row.decode("processed", as: Int.self)
        let total = try row.decode("processing_ms", as: Double.self)
        return (processed, processed == 0 ? 0 : total / Double(processed), try row.decode("stored", as: Int.self))
    }
}
