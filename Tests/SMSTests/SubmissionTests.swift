import Foundation
import Postgres
import TestSupport
import Testing

@Suite("SMS: POST /messages validation, duplicates and rate limits", .serialized)
struct SubmissionTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    @Test(arguments: ["+14155550100", "+442071838750", "+4915123456789", "+33612345678", "+819012345678",
                      "+5511912345678", "+61412345678", "  +12025550143  "])
    func validNumbersFromSeveralCountriesAreAccepted(number: String) async throws {
        let answer = try await pipeline.submit(to: number, message: "hello \(UUID())")
        #expect(answer.status == 202, "\(number): \(answer.text)")
        #expect(answer.data["to"] as? String == number.trimmingCharacters(in: .whitespaces))
        #expect(answer.data["status"] as? String == "received")
        #expect(answer.headers.first(name: "X-Request-Id") != nil)
    }

    @Test(arguments: ["+1234", "+999123456789", "14155550100", "+1415555010a", "+44", "+4420718387501234", "+0123456789",
                      "+1 415 555 0100", ""])
    func invalidNumbersAreRefusedNamingTheField(number: String) async throws {
        let answer = try await pipeline.submit(to: number)
        #expect(answer.status == 400)
        #expect(answer.error["code"] as? String == "invalid_phone_number")
        #expect(answer.error["field"] as? String == "to")
        #expect(answer.json["data"] is NSNull)
    }

    @Test func messageLengthCountsCharactersNotBytes() async throws {
        #expect(try await pipeline.submit(message: String(repeating: "a", count: 160)).status == 202)
        #expect(try await pipeline.submit(message: String(repeating: "😀", count: 160)).status == 202)
        for text in [String(repeating: "a", count: 161), String(repeating: "😀", count: 161), ""] {
            let answer = try await pipeline.submit(message: text)
            #expect(answer.status == 400)
            #expect(answer.error["field"] as? String == "message")
        }
    }

    /// U+0000 used to be accepted with a 202 and then dead-lettered by storage (text reaches
    /// PostgreSQL as a C string, cut at the NUL). Now: a 400 naming `message`, and nothing
    /// stored or counted; tab, CR and LF still pass.
    @Test func controlCharactersAreRefusedAndNothingIsStored() async throws {
        let sender = SMSPipeline.freshNumber()
        for text in ["\u{0}", "null \u{0} inside", "bell \u{7}", "escape \u{1B}[31m", "delete \u{7F}"] {
            let answer = try await pipeline.submit(from: sender, message: text)
            #expect(answer.status == 400, "\(text.debugDescription): \(answer.text)")
            #expect(answer.error["code"] as? String == "invalid_message")
            #expect(answer.error["field"] as? String == "message")
        }
        for (field, body) in [("from", #"{"from": "+1415555\u00000100", "to": "+442071838750", "message": "x"}"#),
                              ("to", #"{"from": "+14155550100", "to": "+442071838750\u0000", "message": "x"}"#),
                              ("callback_url", #"{"from": "+14155550100", "to": "+442071838750", "message": "x", "callback_url": "http://example.com/\u0000"}"#)] {
            let answer = try await HTTP.post("\(pipeline.base)/messages", json: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            #expect(answer.error["field"] as? String == field)
        }
        let fine = try await pipeline.submit(from: sender, message: "line one\r\nline\ttwo")
        #expect(fine.status == 202)
        #expect(fine.headers.first(name: "RateLimit-Remaining") == "4")  // the refused ones used no quota
        let id = try #require(fine.data["id"] as? String)
        _ = try await pipeline.waitForStatus("processed", id: id)
        let rows = try await pipeline.database.query(#"SELECT id::text AS id, message FROM sms_messages WHERE "from" = $1"#, [sender])
        #expect(rows.count == 1)
        #expect(try rows.first?.decode("id", as: String.self) == id)
        #expect(try rows.first?.decode("message", as: String.self) == "line one\r\nline\ttwo")
    }

    @Test func wrongTypesAndBadJSONAreClear400s() async throws {
        let cases: [(String, String?)] = [
            (#"{"from": 14155550100, "to": "+442071838750", "message": "x"}"#, "from"),
            (#"{"from": "+14155550100", "to": "+442071838750", "message": 5}"#, "message"),
            (#"{"from": "+14155550100", "to": "+442071838750"}"#, "message"),
            (#"{"from": "+14155550100", "to": "+442071838750", "message": "x", "callback_url": "ftp://x"}"#, "callback_url"),
            (#"{"from": "+1415555"#, nil),
            (#"["not", "an", "object"]"#, nil),
        ]
        for (body, field) in cases {
            let answer = try await HTTP.post("\(pipeline.base)/messages", json: body)
            #expect(answer.status == 400, "\(body)")
            #expect(answer.error["field"] as? String == field, "\(body): \(answer.text)")
            #expect((answer.error["message"] as? String)?.isEmpty == false)
        }
    }

    @Test func duplicateWithinTwoSecondsIsNotStoredAgain() async throws {
        let sender = SMSPipeline.freshNumber()
        let first = try await pipeline.submit(from: sender, message: "same text")
        let repeated = try await pipeline.submit(from: sender, message: "same text")
        #expect(first.status == 202)
        #expect(repeated.status == 200)
        #expect(repeated.data["duplicate"] as? Bool == true)
        #expect(repeated.data["id"] as? String == first.data["id"] as? String)
        // A duplicate uses no quota.
        #expect(repeated.headers.first(name: "RateLimit-Remaining") == "4")

        try await Task.sleep(for: .milliseconds(2_100))
        let later = try await pipeline.submit(from: sender, message: "same text")
        #expect(later.status == 202)
        #expect(later.data["id"] as? String != first.data["id"] as? String)
    }

    @Test func sixthMessageInAMinuteIsLimitedAndOtherSendersAreNot() async throws {
        let sender = SMSPipeline.freshNumber()
        for n in 1...5 {
            let answer = try await pipeline.submit(from: sender, message: "message \(n)")
            #expect(answer.status == 202)
            #expect(answer.headers.first(name: "RateLimit-Limit") == "5")
            #expect(answer.headers.first(name: "RateLimit-Remaining") == String(5 - n))
        }
        let sixth = try await pipeline.submit(from: sender, message: "message 6")
        #expect(sixth.status == 429)
        #expect(sixth.error["code"] as? String == "rate_limited")
        let retryAfter = try #require(sixth.headers.first(name: "Retry-After").flatMap(Int.init))
        #expect((1...60).contains(retryAfter))
        #expect(sixth.headers.first(name: "RateLimit-Remaining") == "0")
        #expect(sixth.headers.first(name: "RateLimit-Reset") != nil)
        #expect(try await pipeline.submit(message: "another sender").status == 202)
    }

    @Test func idempotencyKeyReplaysTheFirstResponse() async throws {
        let key = "key-\(UUID())"
        let sender = SMSPipeline.freshNumber()
        let first = try await pipeline.submit(from: sender, message: "once", headers: [("Idempotency-Key", key)])
        let again = try await pipeline.submit(from: sender, message: "once", headers: [("Idempotency-Key", key)])
        #expect(first.status == 202)
        #expect(again.status == 202)
        #expect(again.text == first.text)
        #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
        let bad = try await pipeline.submit(headers: [("Idempotency-Key", String(repeating: "k", count: 256))])
        #expect(bad.status == 400)
    }
}
