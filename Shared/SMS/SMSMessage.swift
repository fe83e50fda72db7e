import Foundation
import Postgres

public enum SMSStatus: String, Codable, Sendable, CaseIterable {
    case received, stored, processed
}

/// What travels on `sms.store` and `sms.process`: an accepted message as ingest saw it.
public struct AcceptedSMS: Codable, Sendable, Equatable {
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
}

/// An attachment as clients see it.
public struct MediaView: Codable, Sendable, Equatable {
    public var sha256: String
    public var contentType: String
    public var size: Int
    public var url: String

    enum CodingKeys: String, CodingKey {
        case sha256, size, url
        case contentType = "content_type"
    }
}

/// The message object of the contract. Every field is always present (null when unknown).
public struct SMSMessageView: Codable, Sendable {
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
        status = SMSStatus(rawValue: try row.decode("status")) ?? .stored
        receivedAt = try row.decode("received_at")
        storedAt = try row.decodeIfPresent("stored_at")
        processedAt = try row.decodeIfPresent("processed_at")
        segments = try row.decodeIfPresent("segments")
        encoding = try row.decodeIfPresent("encoding", as: String.self).flatMap(SMSEncoding.init(rawValue:))
        self.media = media
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(message, forKey: .message)
        try container.encode(status, forKey: .status)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(storedAt, forKey: .storedAt)
        try container.encode(processedAt, forKey: .processedAt)
        try container.encode(segments, forKey: .segments)
        try container.encode(encoding, forKey: .encoding)
        try container.encode(media, forKey: .media)
        try container.encodeIfPresent(duplicate, forKey: .duplicate)
    }
}
