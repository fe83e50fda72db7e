import Foundation
import Mail
import Platform
import TestSupport
import Testing

/// The SMTP client against a real SMTP server (aiosmtpd, through scripts/mail_sink.py) that
/// each test starts for itself, reading back the .eml files it writes.
@Suite("SMTP client")
struct SMTPClientTests {
    let from = try! MailAddress("switchyard@invoices.example")
    let receiver = try! MailAddress("receiver@example.com")

    func client(_ url: String, timeout: Duration = .seconds(10), caFile: String? = nil) throws -> SMTPClient {
        SMTPClient(configuration: try SMTPConfiguration(url: url, from: from, timeout: timeout, caFile: caFile))
    }

    @Test func messageArrivesOnceWithHeadersAndBodyIntact() async throws {
        let sink = try await MailSink.start()
        defer { sink.stop() }
        let subject = "Facture n° 42 disponible — 日本語の件名はとても長くなることがありますので折り返しが必要です 🎉"
        // Lines a naive client would get wrong: a lone "." (the end of DATA), lines starting
        // with dots, non-ASCII text, a line longer than 76, trailing spaces, "=" signs.
        let text = """
            Bonjour,
            .
            .hidden line that starts with a dot
            ..two dots
            Ünïcödé, 漢字 and 🎉 survive.
            \(String(repeating: "long line ", count: 30))
            trailing spaces   
            a = b, 100% =3D
            """
        let second = try MailAddress("second@example.org")
        let message = MailMessage(from: from, to: [receiver, second], subject: subject, text: text,
                                  messageID: "<invoice-42@invoices.example>")
        let before = Date()
        try await client(sink.url).send(message)

        let files = try await sink.waitForMails(count: 1)
        try await Task.sleep(for: .milliseconds(300))  // a duplicate would be here by now
        #expect(try sink.mailFiles().count == 1)
        let file = try #require(files.first)

        // Raw: 7-bit, CRLF, no line over 78, the header block as expected.
        let raw = try [UInt8](Data(contentsOf: file))
        #expect(raw.allSatisfy { $0 < 128 })
        let rawText = String(decoding: raw, as: UTF8.self)
        #expect(!rawText.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(rawText.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 }, "\(rawText.components(separatedBy: "\r\n").filter { $0.utf8.count > 78 })")

        // Parsed back by Python's email package, as a mail client would.
        let parsed = try ParsedMail.read(file)
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        #expect(parsed.values("From") == ["switchyard@invoices.example"])
        #expect(parsed.values("To") == ["receiver@example.com, second@example.org"])
        #expect(parsed.values("Subject") == [subject])
        #expect(parsed.values("Message-ID") == ["<invoice-42@invoices.example>"])
        #expect(parsed.values("MIME-Version") == ["1.0"])
        #expect(parsed.values("Content-Type").map { $0.replacingOccurrences(of: "\"", with: "") } == ["text/plain; charset=utf-8"])
        let date = try #require(parsed.date)
        #expect(abs(date - before.timeIntervalSince1970) < 60)
        #expect(parsed.body == text + "\n")
    }

    @Test func headerInjectionThroughTheSubjectAddsNoHeader() async throws {
        let sink = try await MailSink.start()
        defer { sink.stop() }
        let message = MailMessage(from: from, to: [receiver], subject: "x\r\nBcc: victim@example.com\r\n\r\nbody?",
                                  text: "text", messageID: "<a@b>\r\nBcc: other@example.com")
        try await client(sink.url).send(message)
        let file = try #require(try await sink.waitForMails(count: 1).first)
        let parsed = try ParsedMail.read(file)
        #expect(parsed.values("Bcc").isEmpty)
        #expect(parsed.headers.map { $0[0] } == ["Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
                                                  "Content-Type", "Content-Transfer-Encoding"])
        #expect(parsed.values("Subject") == ["x  Bcc: victim@example.com    body?"])
        #expect(parsed.body == "text\n")
    }

    @Test func manyConcurrentSendsEachArriveOnce() async throws {
        let sink = try await MailSink.start()
        defer { sink.stop() }
        let smtp = try client(sink.url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await smtp.send(MailMessage(from: from, to: [receiver], subject: "mail \(index)", text: "number \(index)",
                                                      messageID: "<mail-\(index)@invoices.example>"))
                }
            }
            try await group.waitForAll()
        }
        let files = try await sink.waitForMails(count: 20)
        let ids = try files.map { try ParsedMail.read($0).values("Message-ID").first ?? "" }
        #expect(Set(ids) == Set((0..<20).map { "<mail-\($0)@invoices.example>" }))
        #expect(files.count == 20)
    }

    @Test func closedPortIsAnOutageAtOnce() async throws {
        let started = ContinuousClock.now
        await #expect { try await client("smtp://127.0.0.1:1", timeout: .seconds(60)).send(MailMessage(from: from, to: [receiver], subject: "s", text: "t")) } throws: {
            ($0 as? DependencyOutage)?.dependency == "smtp"
        }
        // Far below the 60 s deadline: a refused connection is not waited out. (Milliseconds
        // alone; the whole suite in parallel on two cores once took 5 s to schedule it.)
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// A server that accepts the connection and never greets: the exchange's deadline ends it.
    @Test func silentServerFailsWithinTheTimeout() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let started = ContinuousClock.now
        await #expect {
            try await client("smtp://127.0.0.1:\(listener.port)", timeout: .seconds(2))
                .send(MailMessage(from: from, to: [receiver], subject: "s", text: "t"))
        } throws: {
            ($0 as? DependencyOutage)?.dependency == "smtp"
        }
        let elapsed = ContinuousClock.now - started
        // Ended by the 2 s deadline, not by anything shorter, and not left hanging (a loaded
        // machine adds seconds of scheduling, hence the margin).
        #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(20), "\(elapsed)")
    }

    /// 550 from the server: the message cannot be delivered, a MailError (dead-letter), with
    /// the server's reply; nothing is stored.
    @Test func refusedRecipientIsAPermanentMailError() async throws {
        let sink = try await MailSink.start()
        defer { sink.stop() }
        let message = MailMessage(from: from, to: [receiver, try MailAddress("nobody@refused.invalid")], subject: "s", text: "t")
        do {
            try await client(sink.url).send(message)
            Issue.record("a refused recipient was accepted")
        } catch let error as MailError {
            guard case let .rejected(code, reply, _) = error else { Issue.record("\(error)"); return }
            #expect(code == 550)
            #expect(reply.contains("no such mailbox"))
        }
        #expect(try sink.mailFiles().isEmpty)
    }

    /// 451 ("try again later"): an outage to wait out, not a dead letter.
    @Test func transientReplyIsAnOutage() async throws {
        let sink = try await MailSink.start()
        defer { sink.stop() }
        let message = MailMessage(from: from, to: [try MailAddress("busy@tempfail.invalid")], subject: "s", text: "t")
        await #expect { try await client(sink.url).send(message) } throws: {
            guard let outage = $0 as? DependencyOutage else { return false }
            return outage.dependency == "smtp" && outage.detail.contains("451")
        }
    }

    @Test func noRecipientsIsRefusedBeforeConnecting() async throws {
        await #expect(throws: MailError.noRecipients) {
            try await client("smtp://127.0.0.1:1").send(MailMessage(from: from, to: [], subject: "s", text: "t"))
        }
    }

    /// The URL's password appears in no error.
    @Test func passwordIsNeverInAnError() async throws {
        do {
            try await client("smtp://mailer:s3cr3t-pass@127.0.0.1:1").send(MailMessage(from: from, to: [receiver], subject: "s", text: "t"))
            Issue.record("sent to a closed port")
        } catch {
            #expect(!"\(error)".contains("s3cr3t-pass"))
            #expect("\(error)".contains("mailer:***@"))
        }
    }

    /// smtps:// verifies the server's certificate: a self-signed one is refused (an outage: the
    /// configuration or the server must change, the message is fine) unless SMTP_CA_FILE trusts it.
    @Test func smtpsVerifiesTheCertificate() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)

        let sink = try await MailSink.start(tls: (certificate, key))
        defer { sink.stop() }
        let message = MailMessage(from: from, to: [receiver], subject: "over TLS", text: "t")
        await #expect { try await client(sink.url, timeout: .seconds(5)).send(message) } throws: {
            ($0 as? DependencyOutage)?.dependency == "smtp"
        }
        try await client(sink.url, timeout: .seconds(5), caFile: certificate).send(message)
        let file = try #require(try await sink.waitForMails(count: 1).first)
        #expect(try ParsedMail.read(file).values("Subject") == ["over TLS"])
    }
}
