import Foundation
@testable import Mail
import Testing

/// The rendered form of a message, byte for byte, without a server: the SMTP tests check that
/// a real parser reads it back.
@Suite("Mail message rendering")
struct MailMessageRenderingTests {
    let from = try! MailAddress("switchyard@invoices.example")
    let to = try! MailAddress("receiver@example.com")

    func headerBlock(_ message: MailMessage) -> [String] {
        let text = String(decoding: message.rendered(date: Date(timeIntervalSince1970: 1_795_556_748)), as: UTF8.self)
        return text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
    }

    @Test func plainHeadersInOrder() {
        let message = MailMessage(from: from, to: [to], subject: "Invoice 42 is available", text: "Hello", messageID: "<id-1@example.com>")
        #expect(headerBlock(message) == [
            "Date: Tue, 24 Nov 2026 21:45:48 +0000",
            "From: switchyard@invoices.example",
            "To: receiver@example.com",
            "Subject: Invoice 42 is available",
            "Message-ID: <id-1@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ])
    }

    @Test func dateIsRFC5322InUTC() {
        #expect(MailDate.format(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailDate.format(Date(timeIntervalSince1970: 951_782_400.9)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }

    @Test func generatedMessageIDIsAUUIDAtTheSendersDomain() throws {
        let first = MailMessage(from: from, to: [to], subject: "s", text: "t").messageID
        let second = MailMessage(from: from, to: [to], subject: "s", text: "t").messageID
        #expect(first != second)
        let pattern = #/<[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@invoices\.example>/#
        #expect(try pattern.wholeMatch(in: first) != nil, "\(first)")
    }

    @Test func givenMessageIDCannotCarryAHeader() {
        let message = MailMessage(from: from, to: [to], subject: "s", text: "t", messageID: "<a@b>\r\nBcc: victim@example.com")
        #expect(message.messageID == "<a@bBccvictim@example.com>")
        #expect(MailMessage(from: from, to: [to], subject: "s", text: "t", messageID: "bare-id").messageID == "<bare-id@invoices.example>")
    }

    @Test func subjectLineBreaksBecomeSpaces() {
        let message = MailMessage(from: from, to: [to], subject: "x\r\nBcc: victim@example.com", text: "t")
        #expect(message.subject == "x  Bcc: victim@example.com")
        #expect(!headerBlock(message).contains { $0.hasPrefix("Bcc") })
    }

    @Test func nonASCIISubjectIsEncodedInWordsOfWholeCharacters() throws {
        let subject = "Facture n° 42 disponible — 日本語の件名はとても長くなることがありますので折り返しが必要です 🎉"
        let lines = headerBlock(MailMessage(from: from, to: [to], subject: subject, text: "t"))
        let start = try #require(lines.firstIndex { $0.hasPrefix("Subject: ") })
        var words: [String] = [String(lines[start].dropFirst("Subject: ".count))]
        var index = start + 1
        while index < lines.count, lines[index].hasPrefix(" ") { words.append(String(lines[index].dropFirst())); index += 1 }
        #expect(words.count > 1)
        var decoded = ""
        for word in words {
            #expect(word.count <= 75 && word.hasPrefix("=?utf-8?B?") && word.hasSuffix("?="), "\(word)")
            let base64 = word.dropFirst("=?utf-8?B?".count).dropLast(2)
            // Each word decodes on its own: no character is split between two.
            let text = try #require(Data(base64Encoded: String(base64)).flatMap { String(data: $0, encoding: .utf8) })
            decoded += text
        }
        #expect(decoded == subject)
    }

    @Test func plainSubjectThatLooksEncodedIsEncoded() {
        let lines = headerBlock(MailMessage(from: from, to: [to], subject: "=?utf-8?B?aGk=?=", text: "t"))
        #expect(lines.contains("Subject: =?utf-8?B?PT91dGYtOD9CP2FHaz0/PQ==?="))
    }

    @Test func manyRecipientsAreFolded() {
        let recipients = (0..<8).map { try! MailAddress("receiver-number-\($0)@example.com") }
        let lines = headerBlock(MailMessage(from: from, to: recipients, subject: "s", text: "t"))
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        let start = lines.firstIndex { $0.hasPrefix("To: ") }!
        #expect(lines[start + 1].hasPrefix(" receiver-number-"))
    }

    @Test func bodyIsQuotedPrintableWithShortLines() {
        let text = "Ünïcödé line\n.starts with a dot\n.\n" + String(repeating: "é", count: 80) + "\nends with spaces  \r\n" + String(repeating: "x=", count: 60)
        let encoded = String(decoding: QuotedPrintable.encode(text), as: UTF8.self)
        let lines = encoded.components(separatedBy: "\r\n").dropLast()
        #expect(lines.allSatisfy { $0.utf8.count <= 76 && $0.utf8.allSatisfy { $0 >= 32 && $0 < 127 } })
        #expect(lines.contains(".starts with a dot") && lines.contains("."))
        #expect(lines.contains("ends with spaces =20"))
        #expect(decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\r\n", with: "\n"))
    }

    /// Enough of a decoder to check the round trip (soft breaks and =XX).
    private func decodeQuotedPrintable(_ encoded: String) -> String {
        var bytes: [UInt8] = []
        let lines = encoded.components(separatedBy: "\r\n").dropLast()
        for line in lines {
            var utf8 = Array(line.utf8)
            let soft = utf8.last == UInt8(ascii: "=")
            if soft { utf8.removeLast() }
            var index = 0
            while index < utf8.count {
                if utf8[index] == UInt8(ascii: "="), let value = UInt8(String(decoding: utf8[index + 1...index + 2], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    index += 3
                } else {
                    bytes.append(utf8[index])
                    index += 1
                }
            }
            if !soft { bytes.append(10) }
        }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }
}
