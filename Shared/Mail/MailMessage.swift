import Foundation
import Platform

/// One plain-text mail: who sends it, to whom, a subject and a body, rendered as an RFC 5322
/// message with MIME headers (UTF-8 text, quoted-printable).
///
/// No header can be injected through it: the addresses were checked by `MailAddress`, and the
/// subject and a given Message-ID lose their line breaks and other control characters here
/// (a subject `x\r\nBcc: y` becomes the one header `Subject: x  Bcc: y`).
public struct MailMessage: Sendable {
    public let from: MailAddress
    public let to: [MailAddress]
    public let subject: String
    public let text: String
    /// `<...@...>`, given or generated as `<uuid@domain-of-from>`.
    public let messageID: String

    public init(from: MailAddress, to: [MailAddress], subject: String, text: String, messageID: String? = nil) {
        self.from = from
        self.to = to
        self.subject = Self.singleLine(subject)
        self.text = text
        self.messageID = Self.messageID(messageID, from: from)
    }

    /// The whole message, CRLF line ends, ready for SMTP's DATA (before dot-stuffing, which
    /// libcurl does).
    public func rendered(date: Date) -> [UInt8] {
        var headers: [(String, String)] = [
            ("Date", MailDate.format(date)),
            ("From", from.address),
            ("To", Self.addressList(to, headerName: "To")),
            // The first encoded word shares its line with "Subject: ": it is shorter, so that no
            // line passes 78 characters.
            ("Subject", EncodedWords.isPlain(subject, headerName: "Subject") ? subject
                : EncodedWords.encode(subject, firstLineUsed: "Subject: ".utf8.count)),
            ("Message-ID", messageID),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ]
        if subject.isEmpty { headers.removeAll { $0.0 == "Subject" } }
        var output: [UInt8] = []
        for (name, value) in headers {
            output += Array("\(name): \(value)\r\n".utf8)
        }
        output += [13, 10]
        output += QuotedPrintable.encode(text)
        return output
    }

    /// Control characters (CR and LF above all) become spaces: a header value stays one header.
    static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
                || scalar == "\u{2028}" || scalar == "\u{2029}" ? " " : scalar
        }))
    }

    /// A given id kept to the characters an msg-id may hold (printable ASCII but `<>`, spaces
    /// and `\`), in angle brackets, with an `@` (the domain of `from` when it had none); a
    /// generated one is a random UUID at the sender's domain.
    static func messageID(_ given: String?, from: MailAddress) -> String {
        let excluded = "<>\\\"()[],;:".unicodeScalars
        var core = String((given ?? "").unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F && !excluded.contains($0) })
        if core.isEmpty { core = UUID.random().uuidString.lowercased() }
        if !core.contains("@") { core += "@" + from.domain }
        return "<" + String(core.prefix(250)) + ">"
    }

    /// Addresses joined by `, `, folded (CRLF SP) before a line would pass 78 characters.
    static func addressList(_ addresses: [MailAddress], headerName: String) -> String {
        var result = ""
        var column = headerName.utf8.count + 2
        for (index, address) in addresses.enumerated() {
            let piece = index == 0 ? address.address : ", " + address.address
            if index > 0, column + piece.utf8.count > 78 {
                result += ",\r\n " + address.address
                column = 1 + address.address.utf8.count
            } else {
                result += piece
                column += piece.utf8.count
            }
        }
        return result
    }
}
