/// One result row. Values are kept as the server's text (nil for SQL NULL) and decoded on
/// request, by column name, into any ``PostgresDecodable`` type.
public struct PostgresRow: Sendable {
    let columns: PostgresColumns
    let values: [String?]

    /// Decodes a non-null column; throws ``PostgresError`` naming the column when it is NULL,
    /// missing, or not of that type.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PostgresError(.decoding, "column \"\(column)\" is NULL, expected \(T.self)")
        }
        return value
    }

    /// Decodes a nullable column.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = columns.index[column] else {
            throw PostgresError(.decoding, "no column \"\(column)\" in the result (have: \(columns.names.joined(separator: ", ")))")
        }
        guard let text = values[index] else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresError(.decoding, "column \"\(column)\" holds \(text.prefix(40).debugDescription), not a \(T.self)")
        }
        return value
    }

    /// The raw text of a column by position (nil for NULL).
    public subscript(position: Int) -> String? { values[position] }

    public var columnNames: [String] { columns.names }
}

/// Column names of one result, shared by all of its rows.
final class PostgresColumns: Sendable {
    let names: [String]
    let index: [String: Int]

    init(names: [String]) {
        self.names = names
        var index = [String: Int]()
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.index = index
    }
}
