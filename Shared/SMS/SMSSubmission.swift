import Foundation
import Platform

/// `POST /messages` input, validated: canonical E.164 numbers, 1 to 160 characters, an
/// optional http(s) callback URL. Each failure names its field.
public struct SMSSubmission: Sendable, Equatable {
    public var from: String
    public var to: String
    public var message: String
    public var callbackURL: String?

    public static let maxCharacters = 160

    public static func validate(_ body: [UInt8]) throws(APIError) -> SMSSubmission {
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
        var callbackURL: String?
        if let raw = object["callback_url"], !(raw is NSNull) {
            guard let text = raw as? String, let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", url.host?.isEmpty == false, text.count <= 2048 else {
                throw APIError.badRequest("invalid_callback_url", "callback_url must be an http or https URL", field: "callback_url")
            }
            callbackURL = text
        }
        return SMSSubmission(from: from, to: to, message: message, callbackURL: callbackURL)
    }
}
