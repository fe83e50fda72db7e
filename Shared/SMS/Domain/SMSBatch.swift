import Foundation
import Platform

/// What travels on `sms.process`: every message of one storage batch, in one broker message.
///
/// The broker's cost is per message (publish, deliver, ack, each with its confirm or frame), so
/// handing processing a batch as one message instead of one message per SMS takes that cost
/// off two of the three SMS queues' worth of traffic for most of a batch (issue 15). A batch is
/// acked by processing only once every row in it is committed, and processing's update is
/// idempotent, so a redelivered batch changes nothing twice.
public struct SMSBatch: Codable, Sendable, Equatable, JSONWritable {
    public var messages: [AcceptedSMS]
    /// The `X-Request-Id` of the request that accepted each message (same order), for tracing.
    public var requestIDs: [String?]

    public init(messages: [AcceptedSMS], requestIDs: [String?]) {
        precondition(messages.count == requestIDs.count)
        self.messages = messages
        self.requestIDs = requestIDs
    }

    enum CodingKeys: String, CodingKey {
        case messages
        case requestIDs = "request_ids"
    }

    /// Also reads the single-message payload that `sms.process` carried before batches, so that
    /// messages queued by an older storage during a rolling upgrade are processed, not
    /// dead-lettered as undecodable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.messages) {
            messages = try container.decode([AcceptedSMS].self, forKey: .messages)
            requestIDs = try container.decodeIfPresent([String?].self, forKey: .requestIDs) ?? []
            guard requestIDs.count == messages.count else {
                throw DecodingError.dataCorruptedError(forKey: .requestIDs, in: container,
                                                       debugDescription: "one request id per message expected")
            }
        } else {
            messages = [try AcceptedSMS(from: decoder)]
            requestIDs = [nil]
        }
    }

    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("messages"); json.array(messages)
            json.key("request_ids"); json.array(requestIDs.map(OptionalText.init))
        }
    }

    private struct OptionalText: JSONWritable {
        let text: String?
        init(_ text: String?) { self.text = text }
        func write(to json: inout JSONWriter) { json.string(text) }
    }
}
