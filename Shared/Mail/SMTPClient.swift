import Foundation
import NIOPosix
import Platform

/// Sends mail over SMTP with libcurl.
///
/// libcurl's easy interface blocks for the whole exchange (up to `SMTP_TIMEOUT`), so each
/// `send` runs on one of this client's own threads, never on an event loop or on Swift's
/// cooperative pool; the caller's task just awaits. Each send uses a handle of its own, made
/// and cleaned up on the thread that uses it (a connection per mail: notifications are few,
/// and nothing is left half-open between them).
///
/// `send` throws `DependencyOutage(dependency: "smtp", ...)` when the mail may go through
/// later (server unreachable or silent, a 4xx reply, TLS trouble) and `MailError` when it never
/// will as it is (a 5xx refusal, no recipients). Neither names the password.
public final class SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let threads: NIOThreadPool

    /// `concurrency`: how many mails may be on their way at once; more wait their turn.
    public init(configuration: SMTPConfiguration, concurrency: Int = 4) {
        self.configuration = configuration
        threads = NIOThreadPool(numberOfThreads: max(1, concurrency))
        threads.start()
    }

    deinit {
        threads.shutdownGracefully { _ in }
    }

    public func send(_ message: MailMessage) async throws {
        guard !message.to.isEmpty else { throw MailError.noRecipients }
        let transfer = SMTPTransfer(configuration: configuration, sender: message.from, recipients: message.to,
                                    message: message.rendered(date: Date()))
        let outcome = try await threads.runIfActive { transfer.run() }
        switch outcome {
        case .sent:
            return
        case let .permanent(code, reply, detail):
            throw MailError.rejected(code: code, reply: reply, detail: detail)
        case let .transient(detail):
            throw DependencyOutage(dependency: "smtp", detail: "\(configuration.redactedURL): \(detail)")
        case let .failed(detail):
            throw MailError.failed(detail)
        }
    }
}
