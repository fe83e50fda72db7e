import ClientSupport
import Platform

/// Where and how mail goes out, from the environment:
///
/// - `SMTP_URL` (default `smtp://127.0.0.1:2525`, the local sink): `smtp://` (STARTTLS when the
///   server offers it) or `smtps://` (TLS from the first byte), optional `user:password@`,
///   percent-encoded as in any URL. The certificate is always verified.
/// - `SMTP_FROM` (default `switchyard@localhost`): the sender callers put on their messages.
/// - `SMTP_TIMEOUT` (default `30s`): the deadline of one whole exchange, connect to QUIT.
/// - `SMTP_CA_FILE` (optional): a PEM bundle to trust instead of the system's (a private CA).
public struct SMTPConfiguration: Sendable {
    public let url: String
    public let from: MailAddress
    public let timeout: Duration
    public let caFile: String?

    /// `url` with its password replaced by `***`: for logs and errors, never the URL itself.
    public var redactedURL: String { redactingPassword(in: url) }

    public init(environment: EnvironmentReader) throws {
        let fromText = environment.string("SMTP_FROM", default: "switchyard@localhost")
        let from: MailAddress
        do { from = try MailAddress(fromText) } catch {
            throw ConfigurationError(variable: "SMTP_FROM", problem: "\(error)")
        }
        let caFile = environment.string("SMTP_CA_FILE", default: "")
        try self.init(url: environment.url("SMTP_URL", default: "smtp://127.0.0.1:2525", schemes: ["smtp", "smtps"]),
                      from: from, timeout: environment.duration("SMTP_TIMEOUT", default: .seconds(30)),
                      caFile: caFile.isEmpty ? nil : caFile)
    }

    /// For tests and callers that build their own; `url` must be an smtp:// or smtps:// URL.
    public init(url: String, from: MailAddress, timeout: Duration = .seconds(30), caFile: String? = nil) throws {
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        guard (scheme == "smtp" || scheme == "smtps"), url.dropFirst(scheme.count).hasPrefix("://") else {
            throw ConfigurationError(variable: "SMTP_URL", problem: "expected an smtp:// or smtps:// URL, got \"\(redactingPassword(in: url))\"")
        }
        guard !url.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) else {
            throw ConfigurationError(variable: "SMTP_URL", problem: "it holds spaces or control characters")
        }
        guard timeout > .zero else { throw ConfigurationError(variable: "SMTP_TIMEOUT", problem: "must be positive") }
        self.url = url
        self.from = from
        self.timeout = timeout
        self.caFile = caFile
    }
}
