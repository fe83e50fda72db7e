import Foundation
import Postgres
import TestSupport
import Testing

/// What the PostgreSQL wrapper does when a value, a statement or the pool misbehaves: refuse
/// loudly, bound every wait, and never lend a connection that is left mid-command.
@Suite("PostgreSQL client: bad values, timeouts, pool limits")
struct PostgresFaultTests {
    /// libpq takes text parameters as C strings: a NUL used to cut the value silently (and made
    /// a batch's array literal malformed). Now it is refused before anything is sent.
    @Test func textWithNULIsRefusedNotCut() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1)
        defer { Task { await pool.close() } }
        await #expect { try await pool.query("SELECT $1::text AS t", ["before\u{0}after"]) } throws: {
            ($0 as? PostgresError)?.kind == .invalidParameter
        }
        await #expect { try await pool.query("SELECT $1::text[] AS t", [["fine", "cut\u{0}here"]]) } throws: {
            ($0 as? PostgresError)?.kind == .invalidParameter
        }
        // The connection was not touched: the next statement runs on it as usual.
        #expect(try await pool.query("SELECT $1::text AS t", ["tab\tand\nnewline"])[0].decode("t", as: String.self) == "tab\tand\nnewline")
    }

    /// A COPY that fails halfway must not leave its connection in COPY mode for the next borrower.
    @Test func failedCopyLeavesAUsableConnection() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1)
        defer { Task { await pool.close() } }
        let table = "copy_" + TestServers.unique("t").replacingOccurrences(of: "-", with: "_")
        try await pool.execute("CREATE TABLE \(table) (t text)")
        let rows: [[any PostgresEncodable]] = (0..<5_000).map { [$0 == 4_000 ? "bad\u{0}" : "row \($0)"] }
        await #expect { try await pool.withConnection { try $0.copy(into: table, columns: ["t"], rows: rows) } } throws: {
            ($0 as? PostgresError)?.kind == .invalidParameter
        }
        // Nothing of the aborted COPY is kept, and the pool's only connection still works.
        #expect(try await pool.query("SELECT count(*) AS n FROM \(table)")[0].decode("n", as: Int.self) == 0)
        try await pool.execute("DROP TABLE \(table)")
    }

    /// A connection handed back inside a transaction is closed, not lent to the next caller,
    /// who would otherwise run inside someone else's transaction.
    @Test func connectionLeftInATransactionIsNotReused() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1)
        defer { Task { await pool.close() } }
        let first = try await pool.withConnection { connection -> Int in
            try connection.execute("BEGIN")
            return try connection.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
        }
        // Another session: the one left inside BEGIN was closed (which rolled its transaction back).
        let rows = try await pool.query("SELECT pg_backend_pid() AS pid")
        #expect(try rows[0].decode("pid", as: Int.self) != first)
    }

    @Test func statementTimeoutEndsAHungQuery() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1, statementTimeout: .milliseconds(200))
        defer { Task { await pool.close() } }
        await #expect { try await pool.query("SELECT pg_sleep(5)") } throws: {
            ($0 as? PostgresError)?.sqlState == "57014"  // query_canceled
        }
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
    }

    /// With every connection busy, a caller waits at most `maxWait`, then gets `.busy`.
    @Test func waitingForAConnectionIsBounded() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1, maxWait: .milliseconds(200))
        defer { Task { await pool.close() } }
        let holder = Task { try await pool.query("SELECT pg_sleep(2)") }
        try await Task.sleep(for: .milliseconds(300))  // the holder has the only connection
        await #expect { try await pool.query("SELECT 1") } throws: { ($0 as? PostgresError)?.kind == .busy }
        _ = try await holder.value
    }

    /// A caller cancelled while waiting leaves the queue at once instead of holding its place.
    @Test func cancelledWaiterLeavesAtOnce() async throws {
        let pool = PostgresPool(url: TestServers.databaseURL, size: 1, maxWait: .seconds(30))
        defer { Task { await pool.close() } }
        let holder = Task { try await pool.query("SELECT pg_sleep(2)") }
        try await Task.sleep(for: .milliseconds(300))
        let waiter = Task { try await pool.query("SELECT 1") }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(!(holder.isCancelled))
        _ = try await holder.value
    }
}
