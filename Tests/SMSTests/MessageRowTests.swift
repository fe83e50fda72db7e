import Foundation
import Postgres
@testable import SMS
import Testing
import TestSupport

/// A row whose status or encoding this code does not know (a newer migration, a hand edit) is
/// an error, not a message shown as `stored` or without its encoding.
@Suite("SMS: reading message rows")
struct MessageRowTests {
    let database = PostgresPool(url: TestServers.databaseURL, size: 1)

    func row(status: String, encoding: String?) async throws -> PostgresRow {
        let rows = try await database.query("""
            SELECT gen_random_uuid() AS id, '+14155550100' AS "from", '+442071838750' AS "to", 'hi' AS message,
                   $1::text AS status, now() AS received_at, NULL::timestamptz AS stored_at,
                   NULL::timestamptz AS processed_at, 1 AS segments, $2::text AS encoding
            """, [status, encoding])
        return rows[0]
    }

    @Test func knownValuesRead() async throws {
        let view = try SMSMessageView(row: try await row(status: "processed", encoding: "UCS-2"), media: [])
        #expect(view.status == .processed)
        #expect(view.encoding == .ucs2)
    }

    @Test func anUnknownStatusFailsLoudly() async throws {
        let unknown = try await row(status: "archived", encoding: "GSM-7")
        #expect(throws: PostgresError.self) { try SMSMessageView(row: unknown, media: []) }
    }

    @Test func anUnknownEncodingFailsLoudly() async throws {
        let unknown = try await row(status: "stored", encoding: "UTF-8")
        #expect(throws: PostgresError.self) { try SMSMessageView(row: unknown, media: []) }
    }
}
