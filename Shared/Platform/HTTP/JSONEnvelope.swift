import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres

/// Success answers in the envelope: `{"data": <value>, "error": null}`.
public enum JSONEnvelope {
    public static func response<T: Encodable>(_ data: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        response(bytes: try bytes(data), status: status, headers: headers)
    }

    public static func response(_ data: some JSONWritable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        response(bytes: bytes(data), status: status, headers: headers)
    }

    /// The whole envelope as bytes (what response caches keep).
    public static func bytes<T: Encodable>(_ data: T) throws -> [UInt8] {
        wrap(encoded: [UInt8](try encoder.encode(data)))
    }

    public static func bytes(_ data: some JSONWritable) -> [UInt8] {
        wrap(encoded: data.jsonBytes)
    }

    /// The envelope around data that is already JSON.
    public static func wrap(encoded data: [UInt8]) -> [UInt8] {
        Array(#"{"data":"#.utf8) + data + Array(#","error":null}"#.utf8)
    }

    /// A response from envelope bytes made earlier by ``bytes(_:)``.
    public static func response(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// RFC 3339 timestamps in UTC with a `Z` and milliseconds; keys as the types spell them.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    /// Reads what ``encoder`` wrote (a copy kept in Redis, a payload on a queue).
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date-time: \(text)")
            }
            return date
        }
        return decoder
    }()
}

/// Timestamps as the API shows them: RFC 3339, UTC, `Z`, milliseconds.
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        PostgresTimestamp.format(date, fractionDigits: 3)
    }

    /// Accepts any RFC 3339 date-time with or without a fraction, `Z` or an offset.
    public static func parse(_ text: String) -> Date? {
        PostgresTimestamp.parse(text)
    }
}
