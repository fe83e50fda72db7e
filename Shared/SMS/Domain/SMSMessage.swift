import Foundation
import Platform
import Postgres

public enum SMSStatus: String, Codable, Sendable, CaseIterable {
    case received, stored, processed
}

/// What travels on `sms.store` (and, a batch of them, on `sms.process`): an accepted message as
/// ingest saw it.
/// Consumers decode it with `Codable`; ingest writes it with ``JSONWritable`` (the same keys).
public struct AcceptedSMS: Codable, Sendable, Equatable, JSONWritable {
    public var id: UUID
    public var from: String
    public var to: String
    public var message: String
    public var callbackURL: String?
    public var receivedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, from, to, message
        case callbackURL = "callback_url"
        case receivedAt = "received_at"
    }

    public func write(to json: inout JSONWriter) {
        json.object { json in
            if let callbackURL { json.key("callback_url"); json.string(callbackURL) }
            json.key("from"); json.string(from)
            json.key("id"); json.uuid(id)
            json.key("message"); json.string(message)
            json.key("received_at"); json.date(receivedAt, fractionDigits: 6)
            json.key("to"); json.string(to)
        }
    }
}

/// An attachment as clients see it.
public struct MediaView: Decodable, Sendable, Equatable, JSONWritable {
    public var sha256: String
    public var contentType: String
    public var size: Int
    public var url: String

    enum CodingKeys: String, CodingKey {
        case sha256, size, url
        case contentType = "content_type"
    }

    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("content_type"); json.string(contentType)
            json.key("sha256"); json.string(sha256)
            json.key("size"); json.int(size)
            json.key("url"); json.string(url)
        }
    }
}

/// `{"items": [...]}` of `GET /messages/:id/media`.
struct MediaList: JSONWritable {
    let items: [MediaView]

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("items"); json.array(items)
        }
    }
}

/// The message object of the contract. Every field is always present (null when unknown).
/// Decoded from the `received` copy kept in Redis; written with ``JSONWritable``.
public struct SMSMessageView: Decodable, Sendable, JSONWritable {
    public var id: UUID
    public var from: String
    public var to: String
    public var message: String
    public var status: SMSStatus
    public var receivedAt: Date
    public var storedAt: Date?
    public var processedAt: Date?
    public var segments: Int?
    public var encoding: SMSEncoding?
    public var media: [MediaView]
    /// Only in the answer to a duplicate submission.
    public var duplicate: Bool?

    enum CodingKeys: String, CodingKey {
        case id, from, to, message, status, segments, encoding, media, duplicate
        case receivedAt = "received_at"
        case storedAt = "stored_at"
        case processedAt = "processed_at"
    }

    init(received: AcceptedSMS) {
        id = received.id
        from = received.from
        to = received.to
        message = received.message
        status = .received
        receivedAt = received.receivedAt
        media = []
    }

    init(row: PostgresRow, media: [MediaView]) throws {
        id = try row.decode("id")
        from = try row.decode("from")
        to = try row.decode("to")
        message = try row.decode("message")
        // A value this code does not know means the schema and the code disagree (a newer
        // migration, a hand edit): fail loudly rather than show the message as something it is not.
        let statusText: String = try row.decode("status")
        guard let status = SMSStatus(rawValue: statusText) else {
            throw PostgresError(.decoding, "sms_messages.status has the unknown value \"\(statusText)\"")
        }
        self.status = status
        receivedAt = try row.decode("received_at")
        storedAt = try row.decodeIfPresent("stored_at")
        processedAt = try row.decodeIfPresent("processed_at")
        segments = try row.decodeIfPresent("segments")
        if let encodingText = try row.decodeIfPresent("encoding", as: String.self) {
            guard let encoding = SMSEncoding(rawValue: encodingText) else {
                throw PostgresError(.decoding, "sms_messages.encoding has the unknown value \"\(encodingText)\"")
            }
            self.encoding = encoding
        } else {
            encoding = nil
        }
        self.media = media
    }

    public func write(to json: inout JSONWriter) {
        json.object { json in
            if let duplicate { json.key("duplicate"); json.bool(duplicate) }
            json.key("encoding"); json.string(encoding?.rawValue)
            json.key("from"); json.string(from)
            json.key("id"); json.uuid(id)
            json.key("media"); json.array(media)
            json.key("message"); json.string(message)
            json.key("processed_at"); json.date(processedAt)
            json.key("received_at"); json.date(receivedAt)
            json.key("segments"); json.int(segments)
            json.key("status"); json.string(status.rawValue)
            json.key("stored_at"); json.date(storedAt)
            json.key("to"); json.string(to)
        }
    }
}
