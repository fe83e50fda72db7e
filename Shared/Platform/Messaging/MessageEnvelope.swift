import Foundation
import Postgres

/// The one shape of every message on the bus: a JSON document carrying the payload and what
/// operators need to trace it (its id, type, attempt, the HTTP request that caused it, times).
public struct MessageEnvelope<Payload: Codable & Sendable>: Codable, Sendable {
    /// Unique per logical message and kept across retries: consumers deduplicate on it.
    public var id: UUID
    /// What the payload is, e.g. `sms.accepted`.
    public var type: String
    /// 1 for the first delivery attempt; incremented each time the message goes to a retry queue.
    public var attempt: Int
    /// The `X-Request-Id` of the HTTP request that started this chain of work.
    public var requestID: String?
    public var createdAt: Date
    /// Why the previous attempt failed (set on retries and dead letters).
    public var lastError: String?
    public var payload: Payload

    public init(id: UUID = UUID.random(), type: String, requestID: String?, createdAt: Date = Date(), payload: Payload) {
        self.id = id
        self.type = type
        self.attempt = 1
        self.requestID = requestID
        self.createdAt = createdAt
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case id, type, attempt, payload
        case requestID = "request_id"
        case createdAt = "created_at"
        case lastError = "last_error"
    }
}

/// Envelopes whose payload writes itself skip `JSONEncoder` (see ``JSONWritable``): the same
/// document, keys in the same sorted order, times with microseconds.
extension MessageEnvelope: JSONWritable where Payload: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("attempt"); json.int(attempt)
            json.key("created_at"); json.date(createdAt, fractionDigits: 6)
            json.key("id"); json.uuid(id)
            if let lastError { json.key("last_error"); json.string(lastError) }
            json.key("payload"); json.value(payload)
            if let requestID { json.key("request_id"); json.string(requestID) }
            json.key("type"); json.string(type)
        }
    }
}

/// One JSON coder configuration for the bus: RFC 3339 dates with fractional seconds.
public enum EnvelopeCoding {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let writable = value as? any JSONWritable { return writable.jsonBytes }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(PostgresTimestamp.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = PostgresTimestamp.parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 date: \(text)"))
        }
        return try decoder.decode(type, from: Data(bytes))
    }
}
