import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 12 item 4: `GET /messages` cannot be made to scan without bound: `offset` is capped,
/// `total` is counted up to every row a page can reach, and a list query that runs too long
/// is cut and answered 503.
@Suite("SMS: list limits", .serialized)
struct ListLimitsTests {
    /// The deepest offset 5, so the count stops at 105 rows; list queries cut at 300 ms.
    static let ingest = DedicatedIngest(port: 19501, environment: ["SMS_LIST_MAX_OFFSET": "5", "SMS_LIST_STATEMENT_TIMEOUT": "300ms"])
    let database = SMSPipeline.shared.database

    init() async throws {
        try await Self.ingest.start()
        try await SMSPipeline.shared.start()  // for the default cap, and the tables
    }

    /// `count` stored rows from a sender nobody else uses.
    func sender(withMessages count: Int) async throws -> String {
        let from = SMSPipeline.freshNumber()
        try await database.execute("""
            INSERT INTO sms_messages (id, "from", "to", message, status, received_at, stored_at)
            SELECT gen_random_uuid(), $1, '+442071838750', 'list limits', 'stored', now() - g * interval '1 ms', now()
            FROM generate_series(1, \(count)) AS g
            """, [from])
        return from
    }

    func list(_ query: String, base: String = ingest.base) async throws -> HTTP.Answer {
        try await HTTP.get("\(base)/messages?\(query)")
    }

    @Test func anOffsetPastTheCapIsA400() async throws {
        let from = try await sender(withMessages: 8)
        let deepest = try await list("from=\(from.replacingOccurrences(of: "+", with: "%2B"))&offset=5")
        #expect(deepest.status == 200, "\(deepest.text)")
        #expect((deepest.data["items"] as? [Any])?.count == 3)
        let past = try await list("from=\(from.replacingOccurrences(of: "+", with: "%2B"))&offset=6")
        #expect(past.status == 400)
        #expect(past.error["field"] as? String == "offset")
        // The default cap (10,000) on the shared pipeline's ingest.
        let shared = try await list("offset=10001", base: SMSPipeline.shared.base)
        #expect(shared.status == 400, "\(shared.text)")
        #expect(shared.error["field"] as? String == "offset")
    }

    @Test func theTotalIsCountedUpToEveryReachableRow() async throws {
        let few = try await sender(withMessages: 7)
        let exact = try await list("from=\(few.replacingOccurrences(of: "+", with: "%2B"))")
        #expect(exact.data["total"] as? Int == 7)
        let many = try await sender(withMessages: 130)
        let capped = try await list("from=\(many.replacingOccurrences(of: "+", with: "%2B"))&limit=100")
        #expect(capped.status == 200)
        #expect(capped.data["total"] as? Int == 105, "offset cap 5 + the largest page 100: \(capped.data["total"] ?? "none")")
        #expect((capped.data["items"] as? [Any])?.count == 100)
    }

    /// A list query held up (here by a lock, as a slow plan would) past SMS_LIST_STATEMENT_TIMEOUT
    /// gives its connection back and answers 503 with Retry-After, not 500 and not after the
    /// 30 s every other statement is allowed.
    @Test(.timeLimit(.minutes(1)))
    func aListQueryCutByItsTimeoutIsA503() async throws {
        let from = try await sender(withMessages: 1)
        let locker = PostgresPool(url: TestServers.databaseURL, size: 1)
        let locked = Task {
            try await locker.withConnection { connection in
                try connection.transaction { connection in
                    try connection.execute("LOCK TABLE sms_messages IN ACCESS EXCLUSIVE MODE")
                    Thread.sleep(forTimeInterval: 4)
                }
            }
        }
        // Asked only once the lock is held.
        while try await database.query("""
            SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'sms_messages' AND l.mode = 'AccessExclusiveLock' AND l.granted
            """)[0].decode("n", as: Int.self) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = ContinuousClock.now
        let answer = try await list("from=\(from.replacingOccurrences(of: "+", with: "%2B"))")
        let waited = ContinuousClock.now - started
        try await locked.value
        await locker.close()
        #expect(answer.status == 503, "\(answer.status) \(answer.text)")
        #expect(answer.headers.first(name: "Retry-After") != nil)
        #expect(waited < .seconds(3), "answered after \(waited)")
    }
}
