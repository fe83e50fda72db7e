/// The one error type of the mail module. A transient failure (the server unreachable, slow,
/// or answering 4xx "try again later") is not one of these: `SMTPClient.send` throws Platform's
/// `DependencyOutage(dependency: "smtp")` for it, so a worker waits it out without spending
/// the message's attempts. A `MailError` means this message cannot be delivered as it is:
/// retrying it unchanged would fail the same way, so it belongs in the dead-letter queue.
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not an address this client will send to (see `MailAddress.init`).
    case invalidAddress(String, reason: String)
    /// A message without recipients.
    case noRecipients
    /// The server refused for good with a 5xx reply: a recipient it does not know, a sender it
    /// does not accept, the message itself, or the login. `reply` is the server's last line.
    case rejected(code: Int, reply: String, detail: String)
    /// libcurl failed in a way that no retry mends (a defect or an unusable configuration).
    case failed(String)

    public var description: String {
        switch self {
        case let .invalidAddress(address, reason):
            // Escaped: an address refused for holding CR/LF must not break a log line either.
            return "invalid mail address \(String(reflecting: String(address.prefix(300)))): \(reason)"
        case .noRecipients:
            return "a mail needs at least one recipient"
        case let .rejected(code, reply, detail):
            return "SMTP server refused the mail (\(code)): \(reply.isEmpty ? detail : reply)"
        case let .failed(detail):
            return "mail could not be sent: \(detail)"
        }
    }

    /// True when the server refused the message (a 5xx), as opposed to a local refusal.
    public var isPermanentReply: Bool {
        if case .rejected = self { return true }
        return false
    }
}
