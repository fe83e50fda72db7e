import CLibPQ
import ClientSupport
import Foundation

/// One libpq connection. Every method blocks, so a connection lives inside a
/// ``PostgresPool`` and is only used from the pool's threads, one thread at a time.
public final class PostgresConnection: PooledConnection, @unchecked Sendable {
    // @unchecked: the PGconn is touched only by the thread that currently leases it.
    private let handle: OpaquePointer

    /// Connects from a `postgres://user:password@host:port/database` URL (or any libpq conninfo).
    /// Sessions run in UTC with ISO dates so that timestamps decode the same everywhere.
    /// `statementTimeout` bounds every statement and `lockTimeout` every wait for a lock, so a
    /// hung query cannot hold a pool thread for minutes (nil: the server's default, no limit).
    public init(url: String, applicationName: String = "switchyard", connectTimeoutSeconds: Int = 5,
                statementTimeout: Duration? = nil, lockTimeout: Duration? = nil) throws {
        var options = "-c TimeZone=UTC -c DateStyle=ISO"
        if let statementTimeout { options += " -c statement_timeout=\(statementTimeout.wholeMilliseconds)" }
        if let lockTimeout { options += " -c lock_timeout=\(lockTimeout.wholeMilliseconds)" }
        let keywords = ["dbname", "connect_timeout", "keepalives", "keepalives_idle", "application_name", "options"]
        let values = [url, String(connectTimeoutSeconds), "1", "30", applicationName, options]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw PostgresError(.connection, "out of memory allocating a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError(.connection, message)
        }
        // Server notices ("relation already exists, skipping") are not errors: keep them off stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.handle = connection
    }

    deinit { PQfinish(handle) }

    /// Whether the pool may lend this connection again: the socket is fine and no command or
    /// transaction is left open on it (say, a COPY or a forEachRow cut short by an error), which
    /// would make the next borrower's statement fail or run inside someone else's transaction.
    public var isUsable: Bool { PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE }

    /// Runs one statement and returns its rows (empty for commands).
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> [PostgresRow] {
        try execute(sql, parameters).rows
    }

    /// Runs one statement and returns how many rows it touched (`INSERT`, `UPDATE`, `DELETE`).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> PostgresCommandResult {
        let raw = try withParameters(parameters, sql: sql) { count, types, values, lengths, formats in
            PQexecParams(handle, sql, count, types, values, lengths, formats, 0)
        }
        defer { PQclear(raw) }
        let result = try check(raw, sql: sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
        return PostgresCommandResult(rows: readRows(result), affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }

    /// Runs several `;`-separated statements with no parameters (the simple query protocol),
    /// as migrations need.
    public func executeScript(_ sql: String) throws {
        let raw = PQexec(handle, sql)
        defer { PQclear(raw) }
        try check(raw, sql: sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY])
    }

    /// Runs `body` inside BEGIN/COMMIT; any error rolls back and is rethrown.
    public func transaction<T>(isolation: String = "READ COMMITTED", _ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN ISOLATION LEVEL \(isolation)")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if PQstatus(handle) == CONNECTION_OK { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Bulk-loads rows with `COPY ... FROM STDIN` (text format), the fastest way to write many
    /// rows in one round trip. Returns the number of rows copied.
    @discardableResult
    public func copy(into table: String, columns: [String], rows: [[any PostgresEncodable]]) throws -> Int {
        let sql = "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN"
        let start = PQexec(handle, sql)
        defer { PQclear(start) }
        try check(start, sql: sql, expecting: [PGRES_COPY_IN])

        var buffer = [UInt8]()
        buffer.reserveCapacity(64 * 1024)
        func flush() throws {
            guard !buffer.isEmpty else { return }
            let sent = buffer.withUnsafeBufferPointer { pointer in
                pointer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
            }
            guard sent == 1 else { throw connectionError(sql: sql) }
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            for row in rows {
                precondition(row.count == columns.count, "COPY row has \(row.count) values for \(columns.count) columns")
                for (position, value) in row.enumerated() {
                    if position > 0 { buffer.append(UInt8(ascii: "\t")) }
                    let parameter = value.postgresParameter
                    try Self.refuseNUL(parameter, position: position + 1, sql: sql)
                    CopyTextFormat.append(parameter, to: &buffer)
                }
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count >= 60 * 1024 { try flush() }
            }
            try flush()
        } catch {
            // End the COPY with an error so that the server rolls it back and the connection
            // leaves COPY mode; if even that fails, `isUsable` keeps it out of the pool.
            _ = PQputCopyEnd(handle, "aborted by the client")
            while let result = PQgetResult(handle) { PQclear(result) }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError(sql: sql) }
        var copied = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            try check(result, sql: sql, expecting: [PGRES_COMMAND_OK])
            copied = Int(String(cString: PQcmdTuples(result))) ?? rows.count
        }
        return copied
    }

    /// Streams a large result one row at a time (libpq single-row mode), so that memory stays
    /// flat however many rows the query returns. `body` runs for each row on this thread.
    public func forEachRow(_ sql: String, _ parameters: [any PostgresEncodable] = [], _ body: (PostgresRow) throws -> Void) throws {
        let sent = try withParameters(parameters, sql: sql) { count, types, values, lengths, formats in
            PQsendQueryParams(handle, sql, count, types, values, lengths, formats, 0)
        }
        guard sent == 1 else { throw connectionError(sql: sql) }
        guard PQsetSingleRowMode(handle) == 1 else { throw connectionError(sql: sql) }
        var failure: (any Error)?
        var columns: PostgresColumns?
        // Every result must be drained, even after an error or a throwing body, or the
        // connection is left mid-query.
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            guard failure == nil else { continue }
            do {
                let status = PQresultStatus(result)
                try check(result, sql: sql, expecting: [PGRES_SINGLE_TUPLE, PGRES_TUPLES_OK, PGRES_COMMAND_OK])
                guard status == PGRES_SINGLE_TUPLE else { continue }
                let names = columns ?? PostgresColumns(names: columnNames(result))
                columns = names
                try body(PostgresRow(columns: names, values: rowValues(result, row: 0)))
            } catch {
                failure = error
                PQrequestCancel(handle)
            }
        }
        if let failure { throw failure }
    }

    // MARK: - libpq plumbing

    /// Returns the result when its status is one of `expecting`, else throws the server's error.
    @discardableResult
    private func check(_ result: OpaquePointer?, sql: String, expecting: [ExecStatusType]) throws -> OpaquePointer {
        guard let result else { throw connectionError(sql: sql) }
        let status = PQresultStatus(result)
        if expecting.contains(status) { return result }
        let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        if sqlState == nil, PQstatus(handle) != CONNECTION_OK { throw connectionError(sql: sql) }
        throw PostgresError(.server, message.isEmpty ? String(cString: PQresStatus(status)) : message, sqlState: sqlState, sql: sql)
    }

    private func connectionError(sql: String?) -> PostgresError {
        PostgresError(.connection, String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines), sql: sql)
    }

    private func columnNames(_ result: OpaquePointer) -> [String] {
        (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
    }

    private func rowValues(_ result: OpaquePointer, row: Int32) -> [String?] {
        (0..<PQnfields(result)).map { column in
            PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
        }
    }

    private func readRows(_ result: OpaquePointer) -> [PostgresRow] {
        let count = PQntuples(result)
        guard count > 0 else { return [] }
        let columns = PostgresColumns(names: columnNames(result))
        return (0..<count).map { PostgresRow(columns: columns, values: rowValues(result, row: $0)) }
    }

    /// A text value goes to libpq as a C string, which ends at the first NUL: the server would
    /// get a cut value (or, inside an array literal, a malformed one). PostgreSQL's text types
    /// cannot hold U+0000 anyway, so such a value is refused here, loudly, before anything is sent.
    static func refuseNUL(_ parameter: PostgresParameter, position: Int, sql: String) throws {
        guard case .text(let text) = parameter, text.utf8.contains(0) else { return }
        throw PostgresError(.invalidParameter, "parameter \(position) contains U+0000, which text cannot hold", sql: sql)
    }

    /// Lays the parameters out as libpq wants them: parallel C arrays of values, lengths and
    /// formats (0 text, 1 binary), valid only for the duration of `body`.
    private func withParameters<R>(
        _ parameters: [any PostgresEncodable], sql: String,
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) throws -> R {
        let encoded = parameters.map(\.postgresParameter)
        for (index, parameter) in encoded.enumerated() { try Self.refuseNUL(parameter, position: index + 1, sql: sql) }
        var storage: [[CChar]?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for parameter in encoded {
            switch parameter {
            case .null:
                storage.append(nil); lengths.append(0); formats.append(0)
            case .text(let text):
                storage.append(Array(text.utf8CString)); lengths.append(0); formats.append(0)
            case .binary(let bytes):
                storage.append(bytes.isEmpty ? [0] : bytes.map { CChar(bitPattern: $0) })
                lengths.append(Int32(bytes.count)); formats.append(1)
            }
        }
        return withPointers(to: storage, index: 0, collected: []) { pointers in
            pointers.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(Int32(encoded.count), nil, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }

    private func withPointers<R>(to storage: [[CChar]?], index: Int, collected: [UnsafePointer<CChar>?],
                                 _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        if index == storage.count { return body(collected) }
        guard let bytes = storage[index] else {
            return withPointers(to: storage, index: index + 1, collected: collected + [nil], body)
        }
        return bytes.withUnsafeBufferPointer { pointer in
            withPointers(to: storage, index: index + 1, collected: collected + [pointer.baseAddress], body)
        }
    }
}

/// What a statement returned: its rows and, for commands, how many rows it touched.
public struct PostgresCommandResult: Sendable {
    public let rows: [PostgresRow]
    public let affectedRows: Int
}

/// Escaping rules of COPY's text format: backslash, tab, newline and carriage return are
/// escaped, NULL is `\N`, and bytea goes as `\\x` followed by hex.
enum CopyTextFormat {
    static func append(_ parameter: PostgresParameter, to buffer: inout [UInt8]) {
        switch parameter {
        case .null:
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                default: buffer.append(byte)
                }
            }
        case .binary(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
            for byte in bytes {
                buffer.append(digits[Int(byte >> 4)])
                buffer.append(digits[Int(byte & 0x0f)])
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, as PostgreSQL's timeout settings take them (at least 1: 0 would mean no limit).
    var wholeMilliseconds: Int64 {
        max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) } + [nil]
    defer { duplicated.forEach { free($0) } }
    return duplicated.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!) }
}
