import Foundation

/// How one query parameter travels to the server: as text, as raw bytes (bytea, which may hold
/// NUL bytes and so cannot go as text), or as SQL NULL.
public enum PostgresParameter: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case null
}

/// A Swift value that can be bound to a `$n` placeholder.
public protocol PostgresEncodable: Sendable {
    var postgresParameter: PostgresParameter { get }
}

extension String: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(self) }
}
extension Substring: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}
extension Int: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}
extension Int32: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}
extension Int64: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}
extension Double: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}
extension Bool: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(self ? "t" : "f") }
}
extension UUID: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(uuidString.lowercased()) }
}
extension Date: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(PostgresTimestamp.format(self)) }
}
extension Data: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .binary([UInt8](self)) }
}
extension Array: PostgresEncodable where Element == String {
    /// A text[] literal, for `= ANY($1)` and `unnest($1::uuid[])` (cast to the element type).
    public var postgresParameter: PostgresParameter { PostgresTextArray(map { $0 }).postgresParameter }
}

/// A text[] parameter whose elements may be NULL, for batch statements built on `unnest`.
public struct PostgresTextArray: PostgresEncodable {
    public let elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }

    public var postgresParameter: PostgresParameter {
        let quoted = elements.map { element -> String in
            guard let element else { return "NULL" }
            let escaped = element.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
        return .text("{" + quoted.joined(separator: ",") + "}")
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresParameter: PostgresParameter {
        switch self {
        case .none: .null
        case .some(let value): value.postgresParameter
        }
    }
}
