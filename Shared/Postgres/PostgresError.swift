/// The one error type of the PostgreSQL client: what failed, the server's SQLSTATE when it
/// sent one, and the SQL that caused it (never the parameter values, which may be private).
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke; the pool replaces the connection.
        case connection
        /// The server rejected a statement; `sqlState` says why.
        case server
        /// A column was missing or its text did not decode to the requested Swift type.
        case decoding
        /// The pool was shut down.
        case closed
        /// No connection came free within the pool's wait limit, or too many callers were
        /// already waiting: the database is too slow or overloaded to serve this call now.
        case busy
        /// A parameter cannot be sent as given (text containing U+0000, which PostgreSQL's
        /// text types cannot hold and libpq would silently cut at).
        case invalidParameter
    }

    public let kind: Kind
    public let message: String
    /// Five-character SQLSTATE, e.g. "23505" for a unique violation.
    public let sqlState: String?
    public let sql: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, sql: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.sql = sql
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = "PostgreSQL \(kind): \(message)"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        if let sql { text += " in `\(sql.prefix(200))`" }
        return text
    }
}
