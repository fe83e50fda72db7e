import Foundation
import Platform

/// What a sender says about an upload besides the file, validated: the same rules whether it
/// came as JSON or as multipart fields.
struct InvoiceFields: Sendable {
    var receiverID: Int64
    var fileType: InvoiceFileType?
    var isPayable: Bool
    var notifyEmail: String?
    var callbackURL: String?

    /// The longest value a text field may carry (a multipart field, an email, a URL).
    static let maxFieldBytes = 2048

    /// `raw`: field name -> value as sent (JSON numbers and booleans already as text).
    static func validate(receiverID: String?, fileType: String?, isPayable: String?, notifyEmail: String?, callbackURL: String?,
                         outbound: OutboundPolicy) throws(APIError) -> InvoiceFields {
        guard let receiverID, !receiverID.isEmpty else {
            throw APIError.badRequest("missing_field", "receiver_id is required", field: "receiver_id")
        }
        guard receiverID.utf8.count <= 18, receiverID.utf8.allSatisfy({ (48...57).contains($0) }), let id = Int64(receiverID), id > 0 else {
            throw APIError.badRequest("invalid_receiver_id", "receiver_id must be a positive integer", field: "receiver_id")
        }
        var type: InvoiceFileType?
        if let fileType, !fileType.isEmpty {
            guard let known = InvoiceFileType(rawValue: fileType.lowercased()) else {
                throw APIError(.unsupportedMediaType, code: "unsupported_file_type",
                               message: "file_type must be application/pdf or image/png", field: "file_type")
            }
            type = known
        }
        var payable = true
        if let isPayable, !isPayable.isEmpty {
            switch isPayable.lowercased() {
            case "true", "1", "on": payable = true
            case "false", "0", "off": payable = false
            default: throw APIError.badRequest("invalid_is_payable", "is_payable must be true or false", field: "is_payable")
            }
        }
        var email: String?
        if let notifyEmail, !notifyEmail.isEmpty {
            guard isEmailAddress(notifyEmail) else {
                throw APIError.badRequest("invalid_notify_email", "notify_email must be one email address (local@domain)", field: "notify_email")
            }
            email = notifyEmail
        }
        var callback: String?
        if let callbackURL, !callbackURL.isEmpty {
            do {
                // A name is judged again, address by address, when notification resolves it.
                _ = try outbound.checkWithoutResolving(callbackURL)
            } catch {
                let problem = error.kind == .malformed ? "callback_url must be an http or https URL: \(error.reason)" : "callback_url is refused: \(error.reason)"
                throw APIError.badRequest("invalid_callback_url", problem, field: "callback_url")
            }
            callback = callbackURL
        }
        return InvoiceFields(receiverID: id, fileType: type, isPayable: payable, notifyEmail: email, callbackURL: callback)
    }

    /// One address `local@domain`: printable ASCII without spaces, angle brackets, commas or
    /// quotes (so it can go into a mail header as it is), one `@`, a dotted domain.
    static func isEmailAddress(_ text: String) -> Bool {
        guard (3...254).contains(text.utf8.count) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        let forbidden = Set("<>()[],;:\\\" ".utf8)
        return text.utf8.allSatisfy { $0 > 32 && $0 < 127 && !forbidden.contains($0) }
    }
}
