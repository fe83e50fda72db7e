import Foundation
import Platform
@testable import SMS
import Testing

@Suite("SMS: what ingest writes by hand, the workers and clients read back")
struct MessageCodingTests {
    static let accepted = AcceptedSMS(id: UUID.random(), from: "+14155550100", to: "+442071838750",
                                      message: "Quote \" and emoji 😀\nnew line", callbackURL: "https://example.com/hook?a=1&b=2",
                                      receivedAt: Date(timeIntervalSince1970: 1_795_000_000.125))

    @Test func theEnvelopeOnTheBusDecodesWithCodable() throws {
        for payload in [Self.accepted, { var plain = Self.accepted; plain.callbackURL = nil; return plain }()] {
            let envelope = MessageEnvelope(type: "sms.accepted", requestID: "req-1", payload: payload)
            let bytes = try EnvelopeCoding.encode(envelope)  // takes the JSONWritable path
            let decoded = try EnvelopeCoding.decode(MessageEnvelope<AcceptedSMS>.self, from: bytes)
            #expect(decoded.payload == payload)
            #expect(decoded.id == envelope.id && decoded.requestID == "req-1" && decoded.attempt == 1 && decoded.type == "sms.accepted")
            // Written with microseconds; a Double of seconds since 1970 holds them to about 0.2 µs.
            #expect(abs(decoded.createdAt.timeIntervalSince(envelope.createdAt)) < 0.000_002)
        }
    }

    @Test func theReceivedViewHasEveryContractFieldAndDecodesBack() throws {
        let bytes = SMSMessageView(received: Self.accepted).jsonBytes
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "from", "to", "message", "status", "received_at", "stored_at", "processed_at",
                                     "segments", "encoding", "media"])
        #expect(object["id"] as? String == Self.accepted.id.uuidString.lowercased())
        #expect(object["received_at"] as? String == "2026-11-18T11:06:40.125Z")
        #expect(object["stored_at"] is NSNull && object["encoding"] is NSNull)
        let decoded = try JSONDecoder.rfc3339.decode(SMSMessageView.self, from: Data(bytes))
        #expect(decoded.id == Self.accepted.id && decoded.message == Self.accepted.message && decoded.status == .received)
    }

    /// `sms.process` carries a storage batch as one message; what it carried before (one
    /// accepted message) still decodes, as a batch of one, so an upgrade strands nothing.
    @Test func aStoredBatchRoundTripsAndTheOldSingleMessageStillDecodes() throws {
        var second = Self.accepted
        second.id = UUID.random()
        second.callbackURL = nil
        let batch = SMSBatch(messages: [Self.accepted, second], requestIDs: ["req-1", nil])
        let bytes = try EnvelopeCoding.encode(MessageEnvelope(type: "sms.stored.batch", requestID: nil, payload: batch))
        let decoded = try EnvelopeCoding.decode(MessageEnvelope<SMSBatch>.self, from: bytes)
        #expect(decoded.payload == batch)

        let old = try EnvelopeCoding.encode(MessageEnvelope(type: "sms.stored", requestID: "req-2", payload: Self.accepted))
        let upgraded = try EnvelopeCoding.decode(MessageEnvelope<SMSBatch>.self, from: old)
        #expect(upgraded.payload.messages == [Self.accepted])
        #expect(upgraded.payload.requestIDs == [nil])
        #expect(upgraded.requestID == "req-2")

        let mismatched = Array(#"{"attempt":1,"created_at":"2026-11-18T11:06:40.125Z","id":"\#(UUID().uuidString)","payload":{"messages":[],"request_ids":["x"]},"type":"sms.stored.batch"}"#.utf8)
        #expect(throws: DecodingError.self) { try EnvelopeCoding.decode(MessageEnvelope<SMSBatch>.self, from: mismatched) }
    }
}
