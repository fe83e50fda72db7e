import Foundation
import Postgres
import TestSupport
import Testing

@Suite("PostgreSQL client (libpq)")
struct PostgresTests {
    let pool = PostgresPool(url: TestServers.databaseURL, size: 4)

    @Test func parametersRoundTripWithTypes() async throws {
        let id = UUID()
        let now = Date()
        let rows = try await pool.query(
            "SELECT $1::uuid AS id, $2::text AS name, $3::int AS n, $4::bool AS flag, $5::timestamptz AS at, $6::text AS missing, $7::float8 AS x",
            [id, "O'Brien \"quoted\" ü", 42, true, now, String?.none, 2.5])
        let row = try #require(rows.first)
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("name", as: String.self) == "O'Brien \"quoted\" ü")
        #expect(try row.decode("n", as: Int.self) == 42)
        #expect(try row.decode("flag", as: Bool.self))
        #expect(abs(try row.decode("at", as: Date.self).timeIntervalSince(now)) < 0.001)
        #expect(try row.decodeIfPresent("missing", as: String.self) == nil)
        #expect(try row.decode("x", as: Double.self) == 2.5)
        #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
        #expect(throws: PostgresError.self) { try row.decode("name", as: Int.self) }
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        let table = "tx_" + TestServers.unique("t").replacingOccurrences(of: "-", with: "_")
        try await pool.execute("CREATE TABLE \(table) (n int)")
        defer { Task { try? await pool.execute("DROP TABLE \(table)") } }
        try await pool.withTransaction { try $0.execute("INSERT INTO \(table) VALUES (1)") }
        await #expect(throws: PostgresError.self) {
            try await pool.withTransaction { connection in
                try connection.execute("INSERT INTO \(table) VALUES (2)")
                try connection.execute("SELECT 1/0")
            }
        }
        let rows = try await pool.query("SELECT n FROM \(table) ORDER BY n")
        #expect(try rows.map { try $0.decode("n", as: Int.self) } == [1])
    }

    @Test func copyWritesABatchIncludingAwkwardText() async throws {
        let table = "copy_" + TestServers.unique("t").replacingOccurrences(of: "-", with: "_")
        try await pool.execute("CREATE TABLE \(table) (n int, label text, blob bytea)")
        defer { Task { try? await pool.execute("DROP TABLE \(table)") } }
        let rows: [[any PostgresEncodable]] = (0..<5_000).map { (n: Int) -> [any PostgresEncodable] in
            let label: String?
            switch n {
            case 7: label = "tab\there\nnew\\line"
            case 8: label = nil
            default: label = "row \(n)"
            }
            return [n, label, Data([0, UInt8(n % 256), 0])]
        }
        let copied = try await pool.withConnection { try $0.copy(into: table, columns: ["n", "label", "blob"], rows: rows) }
        #expect(copied == 5_000)
        let check = try await pool.query("SELECT count(*) AS c, (SELECT label FROM \(table) WHERE n = 7) AS awkward, (SELECT label FROM \(table) WHERE n = 8) AS null_label, (SELECT blob FROM \(table) WHERE n = 9) AS blob FROM \(table)")
        #expect(try check[0].decode("c", as: Int.self) == 5_000)
        #expect(try check[0].decode("awkward", as: String.self) == "tab\there\nnew\\line")
        #expect(try check[0].decodeIfPresent("null_label", as: String.self) == nil)
        #expect(try check[0].decode("blob", as: Data.self) == Data([0, 9, 0]))
    }

    @Test func byteaKeepsNulBytes() async throws {
        let bytes = Data([0x00, 0xFF, 0x00, 0x10, 0x00] + (0...255).map { UInt8($0) })
        let rows = try await pool.query("SELECT $1::bytea AS b, length($1::bytea) AS n", [bytes])
        #expect(try rows[0].decode("b", as: Data.self) == bytes)
        #expect(try rows[0].decode("n", as: Int.self) == bytes.count)
    }

    @Test func uniqueViolationSurfacesItsSQLState() async throws {
        let table = "uq_" + TestServers.unique("t").replacingOccurrences(of: "-", with: "_")
        try await pool.execute("CREATE TABLE \(table) (id int PRIMARY KEY)")
        defer { Task { try? await pool.execute("DROP TABLE \(table)") } }
        try await pool.execute("INSERT INTO \(table) VALUES ($1)", [1])
        do {
            try await pool.execute("INSERT INTO \(table) VALUES ($1)", [1])
            Issue.record("a duplicate key was accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(error.kind == .server)
        }
        // The connection stays usable after the error.
        #expect(try await pool.query("SELECT count(*) AS c FROM \(table)")[0].decode("c", as: Int.self) == 1)
    }

    @Test func streamsLargeResultsRowByRow() async throws {
        let total = try await pool.withConnection { connection -> Int in
            var sum = 0
            try connection.forEachRow("SELECT g AS n FROM generate_series(1, $1::int) g", [100_000]) { row in
                sum += try row.decode("n", as: Int.self)
            }
            return sum
        }
        #expect(total == 100_000 * 100_001 / 2)
        // An error thrown by the body stops the stream and leaves the connection usable.
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await pool.withConnection { connection in
                try connection.forEachRow("SELECT g FROM generate_series(1, 100000) g") { _ in throw Stop() }
            }
        }
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
    }

    @Test func badConnectionIsATypedError() async throws {
        let broken = PostgresPool(url: "postgres://nobody@127.0.0.1:1/none", size: 1)
        await #expect(throws: PostgresError.self) { try await broken.query("SELECT 1") }
        await broken.close()
    }
}
