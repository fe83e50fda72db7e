import Foundation
import Platform
@testable import SMS
import Testing

/// What `POST /messages`' validation refuses, in process (SubmissionTests has it end to end).
@Suite("SMS: submission validation, in process")
struct SubmissionValidationTests {
    static let valid: [String: String] = ["from": "+14155550100", "to": "+442071838750", "message": "Hi"]

    func refusal(_ changes: [String: String]) -> APIError? {
        let fields = Self.valid.merging(changes) { $1 }
        let body = Array(try! JSONSerialization.data(withJSONObject: fields))
        do {
            _ = try SMSSubmission.validate(body, outbound: OutboundPolicy())
            return nil
        } catch {
            return error
        }
    }

    /// Text reaches PostgreSQL as a C string: a NUL would cut it short. The other C0 controls
    /// and DEL have no place in an SMS either.
    @Test(arguments: [0x00, 0x01, 0x07, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F] as [UInt32])
    func controlCharactersInTheMessageAreA400NamingIt(value: UInt32) throws {
        let error = try #require(refusal(["message": "before\(Character(Unicode.Scalar(value)!))after"]))
        #expect(error.status == .badRequest)
        #expect(error.code == "invalid_message")
        #expect(error.field == "message")
    }

    @Test func theJSONEscapeOfNULIsRefusedToo() throws {
        let body = Array(#"{"from": "+14155550100", "to": "+442071838750", "message": "a\u0000b"}"#.utf8)
        #expect(throws: APIError.self) { try SMSSubmission.validate(body, outbound: OutboundPolicy()) }
        do { _ = try SMSSubmission.validate(body, outbound: OutboundPolicy()) } catch { #expect(error.field == "message") }
    }

    @Test func tabLineBreaksAndOtherTextStayAllowed() throws {
        for text in ["one\ttwo", "line one\r\nline two", "caf\u{E9} \u{1F600}", "\u{85}next line", "\u{FFFD}"] {
            #expect(refusal(["message": text]) == nil, "\(text.debugDescription)")
        }
    }

    @Test func controlCharactersCannotRideInTheOtherFields() throws {
        let cases: [(String, String)] = [
            ("from", "+1415555\u{0}0100"), ("from", "+14155550100\u{0}"), ("to", "\u{0}+442071838750"),
            ("callback_url", "https://example.com/hook\u{0}"), ("callback_url", "https://example.com/\u{7}"),
            ("callback_url", "https://example.com/a b"), ("callback_url", "https://exa\u{0}mple.com/"),
        ]
        for (field, value) in cases {
            let error = try #require(refusal([field: value]), "\(field) = \(value.debugDescription)")
            #expect(error.status == .badRequest)
            #expect(error.field == field, "\(field) = \(value.debugDescription)")
        }
        #expect(refusal(["callback_url": "https://example.com/hook?a=1&b=%00"]) == nil)  // percent-encoded is just text
    }

    /// The issue's examples and other notations of inside addresses: a 400 naming callback_url
    /// at submission, before anything is queued.
    @Test(arguments: ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9101/health/live", "http://2130706433:6379/",
                      "http://0177.0.0.1/", "http://0x7f.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/",
                      "http://[fd00::1]/", "https://example.com:6379/", "http://1.2.3.4.5/"])
    func callbacksToInsideAddressesAreA400(url: String) throws {
        let error = try #require(refusal(["callback_url": url]), "\(url) accepted")
        #expect(error.status == .badRequest)
        #expect(error.code == "invalid_callback_url")
        #expect(error.field == "callback_url")
    }

    @Test func publicCallbacksAndNamesAreAccepted() {
        for url in ["https://hooks.example.com/in?token=1", "http://example.com/", "https://8.8.8.8/"] {
            #expect(refusal(["callback_url": url]) == nil, "\(url)")
        }
    }
}
