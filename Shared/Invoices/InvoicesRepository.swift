import Foundation
import Platform
import Postgres

/// The invoices workload's SQL: every statement that touches `invoices`.
enum InvoicesRepository {
    static let columns = """
        id, sender_id, receiver_id, file_type, size, sha256, blob_key, is_payable, status, rejection, created_at, paid_at,
        notify_email, callback_url
        """

    /// Records a batch of received invoices as `stored` (one statement; a redelivered row is
    /// left as it is).
    static func store(_ batch: [ReceivedInvoice], requestIDs: [String?], on connection: PostgresConnection) throws {
        try connection.execute("""
            INSERT INTO invoices (id, sender_id, receiver_id, file_type, size, sha256, blob_key, is_payable, notify_email,
                                  callback_url, status, created_at, request_id)
            SELECT id, s, r, f, z, h, k, p, e, c, 'stored', t, q
            FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::boolean[],
                        $9::text[], $10::text[], $11::timestamptz[], $12::text[]) AS u(id, s, r, f, z, h, k, p, e, c, t, q)
            ON CONFLICT (id) DO NOTHING
            """, [
                batch.map { $0.invoice.id.uuidString.lowercased() }, batch.map { String($0.invoice.senderID) },
                batch.map { String($0.invoice.receiverID) }, batch.map(\.invoice.fileType.rawValue), batch.map { String($0.invoice.size) },
                batch.map(\.invoice.sha256), batch.map(\.blobKey), batch.map { $0.invoice.isPayable ? "t" : "f" },
                PostgresTextArray(batch.map(\.notifyEmail)), PostgresTextArray(batch.map(\.callbackURL)),
                batch.map { PostgresTimestamp.format($0.invoice.createdAt) }, PostgresTextArray(requestIDs),
            ])
    }

    /// A stored invoice with what the later stages need.
    struct Row: Sendable {
        var invoice: Invoice
        var blobKey: String
        var notifyEmail: String?
        var callbackURL: String?
    }

    static func row(_ id: UUID, on connection: PostgresConnection) throws -> Row? {
        try connection.query("SELECT \(columns) FROM invoices WHERE id = $1", [id]).first.map(Row.init)
    }

    /// Whose invoice is wanted: the sender's own, or one addressed to the consumer.
    enum Owner: Sendable, Hashable {
        case sender(Int64)
        case receiver(Int64)

        var condition: String {
            switch self {
            case .sender: "sender_id = $1"
            case .receiver: "receiver_id = $1"
            }
        }
        var id: Int64 {
            switch self {
            case .sender(let id), .receiver(let id): id
            }
        }
    }

    static func invoice(_ id: UUID, of owner: Owner, on connection: PostgresConnection) throws -> Row? {
        try connection.query("SELECT \(columns) FROM invoices WHERE \(owner.condition) AND id = $2", [owner.id, id]).first.map(Row.init)
    }

    struct ListQuery: Sendable, Hashable {
        var owner: Owner
        var status: InvoiceStatus?
        /// The other party: a sender's receiver, a consumer's sender.
        var counterpart: Int64?
        var limit: Int
        var offset: Int
    }

    /// A page, newest first (id as tie-break), and the total matching, counted up to `countCap`.
    static func list(_ query: ListQuery, countCap: Int, on connection: PostgresConnection) throws -> (items: [Invoice], total: Int) {
        var conditions = [query.owner.condition]
        var parameters: [any PostgresEncodable] = [query.owner.id]
        if let status = query.status {
            parameters.append(status.rawValue)
            conditions.append("status = $\(parameters.count)")
        }
        if let counterpart = query.counterpart {
            parameters.append(counterpart)
            switch query.owner {
            case .sender: conditions.append("receiver_id = $\(parameters.count)")
            case .receiver: conditions.append("sender_id = $\(parameters.count)")
            }
        }
        let filter = conditions.joined(separator: " AND ")
        let items = try connection.query("""
            SELECT \(columns) FROM invoices WHERE \(filter) ORDER BY created_at DESC, id DESC LIMIT \(query.limit) OFFSET \(query.offset)
            """, parameters).map { try Row(row: $0).invoice }
        let total = try connection.query("SELECT count(*) AS n FROM (SELECT 1 FROM invoices WHERE \(filter) LIMIT \(countCap)) c", parameters)
            .first?.decode("n", as: Int.self) ?? 0
        return (items, total)
    }

    enum PayOutcome: Sendable {
        case paid(Row)
        case notFound
        case alreadyPaid
        case notPayable(InvoiceStatus)
    }

    /// Pays an invoice addressed to `receiver`: one conditional UPDATE, so under any number of
    /// concurrent calls exactly one finds it `available` and wins.
    static func pay(_ id: UUID, receiver: Int64, on connection: PostgresConnection) throws -> PayOutcome {
        if let row = try connection.query("""
            UPDATE invoices SET status = 'paid', paid_at = now()
            WHERE id = $1 AND receiver_id = $2 AND status = 'available' AND is_payable
            RETURNING \(columns)
            """, [id, receiver]).first {
            return .paid(try Row(row: row))
        }
        guard let current = try invoice(id, of: .receiver(receiver), on: connection) else { return .notFound }
        if current.invoice.status == .paid { return .alreadyPaid }
        return .notPayable(current.invoice.status)
    }

    /// Notes that the paid callback is queued (a relay queues those a crash left unqueued).
    static func markCallbackQueued(_ id: UUID, on connection: PostgresConnection) throws {
        try connection.execute("UPDATE invoices SET callback_queued_at = now() WHERE id = $1 AND callback_queued_at IS NULL", [id])
    }

    /// Paid invoices whose callback was never queued: the payment committed, the process died
    /// before the publish was confirmed. `grace` leaves the paying ingest time to queue it.
    static func unqueuedCallbacks(olderThan grace: Duration, limit: Int, on connection: PostgresConnection) throws -> [UUID] {
        try connection.query("""
            SELECT id FROM invoices
            WHERE status = 'paid' AND callback_url IS NOT NULL AND callback_queued_at IS NULL
              AND paid_at < now() - make_interval(secs => $1)
            ORDER BY paid_at LIMIT \(limit)
            """, [Int(grace.components.seconds)]).map { try $0.decode("id") }
    }

    /// The result of processing's file check; only a `stored` invoice moves (a redelivered
    /// check changes nothing). Returns the row as it is afterwards.
    static func recordCheck(_ id: UUID, rejection: String?, pages: Int?, width: Int?, height: Int?,
                            on connection: PostgresConnection) throws -> Row? {
        try connection.execute("""
            UPDATE invoices SET status = $2, rejection = $3, pages = $4, width = $5, height = $6, checked_at = now()
            WHERE id = $1 AND status = 'stored'
            """, [id, rejection == nil ? "available" : "rejected", rejection, pages, width, height])
        return try row(id, on: connection)
    }

    /// Which one-time delivery: the receiver's email or the sender's paid callback.
    enum Delivery: String, Sendable {
        case email, callback
    }

    enum Claim: Sendable {
        /// Yours to send for `lease`; record it with ``recordSent(_:of:on:)``.
        case claimed(Row)
        case alreadySent
        /// Another worker is sending it now (or died doing so: its claim lapses).
        case claimedElsewhere
        case gone
    }

    /// Claims a one-time delivery for `lease`, so a redelivered or duplicated message does not
    /// send it twice while the first is in flight; a sender that dies leaves a claim that lapses.
    static func claim(_ delivery: Delivery, of id: UUID, lease: Duration, on connection: PostgresConnection) throws -> Claim {
        let claimed = "\(delivery.rawValue)_claimed_until", sent = "\(delivery.rawValue)_sent_at"
        if let row = try connection.query("""
            UPDATE invoices SET \(claimed) = now() + make_interval(secs => $2)
            WHERE id = $1 AND \(sent) IS NULL AND (\(claimed) IS NULL OR \(claimed) < now())
            RETURNING \(columns)
            """, [id, Int(lease.components.seconds)]).first {
            return .claimed(try Row(row: row))
        }
        guard let state = try connection.query("SELECT \(sent) IS NOT NULL AS sent FROM invoices WHERE id = $1", [id]).first else {
            return .gone
        }
        return try state.decode("sent", as: Bool.self) ? .alreadySent : .claimedElsewhere
    }

    /// Gives a claim back after a failed attempt, so the retry need not wait for it to lapse.
    static func releaseClaim(_ delivery: Delivery, of id: UUID, on connection: PostgresConnection) throws {
        try connection.execute("UPDATE invoices SET \(delivery.rawValue)_claimed_until = NULL WHERE id = $1 AND \(delivery.rawValue)_sent_at IS NULL", [id])
    }

    static func recordSent(_ delivery: Delivery, of id: UUID, on connection: PostgresConnection) throws {
        try connection.execute("UPDATE invoices SET \(delivery.rawValue)_sent_at = now() WHERE id = $1", [id])
    }
}

extension InvoicesRepository.Row {
    init(row: PostgresRow) throws {
        let statusText: String = try row.decode("status"), typeText: String = try row.decode("file_type")
        // A value this code does not know means the schema and the code disagree: fail loudly.
        guard let status = InvoiceStatus(rawValue: statusText) else {
            throw PostgresError(.decoding, "invoices.status has the unknown value \"\(statusText)\"")
        }
        guard let fileType = InvoiceFileType(rawValue: typeText) else {
            throw PostgresError(.decoding, "invoices.file_type has the unknown value \"\(typeText)\"")
        }
        invoice = Invoice(id: try row.decode("id"), senderID: try row.decode("sender_id"), receiverID: try row.decode("receiver_id"),
                          fileType: fileType, size: try row.decode("size"), sha256: try row.decode("sha256"),
                          isPayable: try row.decode("is_payable"), status: status, createdAt: try row.decode("created_at"),
                          paidAt: try row.decodeIfPresent("paid_at"), rejection: try row.decodeIfPresent("rejection"))
        blobKey = try row.decode("blob_key")
        notifyEmail = try row.decodeIfPresent("notify_email")
        callbackURL = try row.decodeIfPresent("callback_url")
    }
}
