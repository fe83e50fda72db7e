import Foundation
import Platform

/// `POST /messages` input, validated: canonical E.164 numbers, 1 to 160 characters without
/// control characters, an optional http(s) callback URL that the outbound policy does not
/// refuse outright (a literal address in any notation, a port). Each failure names its field.
public struct SMSSubmission: Sendable, Equatable {
    public var from: String
    public var to: String
    public var message: String
    public var callbackURL: String?

    public static let maxCharacters = 160

    public static func validate(_ body: [UInt8], outbound: OutboundPolicy) throws(APIError) -> SMSSubmission {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw APIError.badRequest("invalid_json", "the body must be a JSON object")
        }
        func phone(_ field: String) throws(APIError) -> String {
            guard let text = object[field] as? String else {
                throw APIError.badRequest("invalid_phone_number", "\(field) is required and must be a string in E.164 form, like +14155550100", field: field)
            }
            guard let number = NumberingPlan.canonicalize(text) else {
                throw APIError.badRequest("invalid_phone_number", "\(field) is not a valid E.164 number for any country", field: field)
            }
            return number
        }
        let from = try phone("from")
        let to = try phone("to")
        guard let message = object["message"] as? String else {
            throw APIError.badRequest("invalid_message", "message is required and must be a string", field: "message")
        }
        let count = message.unicodeScalars.count
        guard count >= 1, count <= maxCharacters else {
            throw APIError.badRequest("invalid_message", "message must be 1 to \(maxCharacters) characters, got \(count)", field: "message")
        }
        if let control = message.unicodeScalars.first(where: isForbiddenControl) {
            throw APIError.badRequest("invalid_message", "message must not contain control characters (found U+\(hex(control))); tab, CR and LF are allowed",
                                      field: "message")
        }
        var callbackURL: String?
        if let raw = object["callback_url"], !(raw is NSNull) {
            guard let text = raw as? String else {
                throw APIError.badRequest("invalid_callback_url", "callback_url must be an http or https URL", field: "callback_url")
            }
            do {
                // A name is judged again, address by address, when notification resolves it.
                try outbound.checkWithoutResolving(text)
            } catch {
                let problem = error.kind == .malformed ? "callback_url must be an http or https URL: \(error.reason)" : "callback_url is refused: \(error.reason)"
                throw APIError.badRequest("invalid_callback_url", problem, field: "callback_url")
            }
            callbackURL = text
        }
        return SMSSubmission(from: from, to: to, message: message, callbackURL: callbackURL)
    }

    /// C0 controls other than tab, LF and CR, and DEL. U+0000 above all: text goes to
    /// PostgreSQL as a C string, so a NUL would cut it short (and break the batch INSERT's
    /// array literal); the others have no business in an SMS and most phones drop them.
    static func isForbiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0x00...0x1F, 0x7F: true
        default: false
        }
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
