import Mail
import Platform
import Testing

@Suite("SMTP configuration")
struct SMTPConfigurationTests {
    @Test func defaultsAreTheLocalSink() throws {
        let configuration = try SMTPConfiguration(environment: EnvironmentReader([:]))
        #expect(configuration.url == "smtp://127.0.0.1:2525")
        #expect(configuration.from.address == "switchyard@localhost")
        #expect(configuration.timeout == .seconds(30))
        #expect(configuration.caFile == nil)
    }

    @Test func readsEveryVariable() throws {
        let configuration = try SMTPConfiguration(environment: EnvironmentReader([
            "SMTP_URL": "smtps://mailer:p%40ss@mail.example.com:465", "SMTP_FROM": "billing@example.com",
            "SMTP_TIMEOUT": "5s", "SMTP_CA_FILE": "/etc/ssl/private-ca.pem",
        ]))
        #expect(configuration.url == "smtps://mailer:p%40ss@mail.example.com:465")
        #expect(configuration.redactedURL == "smtps://mailer:***@mail.example.com:465")
        #expect(configuration.from.address == "billing@example.com")
        #expect(configuration.timeout == .seconds(5))
        #expect(configuration.caFile == "/etc/ssl/private-ca.pem")
    }

    @Test(arguments: [
        ["SMTP_URL": "http://mail.example.com"],
        ["SMTP_URL": "imap://mail.example.com"],
        ["SMTP_URL": "smtp://"],
        ["SMTP_FROM": "not an address"],
        ["SMTP_FROM": "a@b\r\nBcc: c@d"],
        ["SMTP_TIMEOUT": "soon"],
    ])
    func refusesUnusableValues(_ values: [String: String]) {
        #expect(throws: ConfigurationError.self) { try SMTPConfiguration(environment: EnvironmentReader(values)) }
    }

    @Test func refusalNeverQuotesThePassword() {
        do {
            _ = try SMTPConfiguration(environment: EnvironmentReader(["SMTP_URL": "ftp://user:hunter2-secret@mail.example.com"]))
            Issue.record("accepted ftp://")
        } catch {
            #expect(!"\(error)".contains("hunter2-secret"))
        }
    }
}
