import Mail
import Testing

@Suite("Mail address validation")
struct MailAddressTests {
    @Test(arguments: [
        "receiver@example.com", "first.last+tag@sub.example.org", "x@localhost", "o'brien@example.ie",
        String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 189),  // 254 bytes
    ])
    func accepts(_ address: String) throws {
        #expect(try MailAddress(address).address == address)
    }

    @Test(arguments: [
        ("", "empty"),
        ("no-at.example.com", "no @"),
        ("two@@example.com", "two @"),
        ("a@b@example.com", "two @ apart"),
        ("@example.com", "empty local part"),
        ("someone@", "empty domain"),
        ("a@b\r\nBcc: victim@example.com", "CR LF: header injection"),
        ("a@b\nBcc: victim@example.com", "LF alone"),
        ("a@example.com\r", "trailing CR"),
        ("<a@example.com>", "angle brackets"),
        ("a@example.com> NOTIFY=NEVER", "closing bracket: envelope injection"),
        ("a b@example.com", "space"),
        ("a@example.com, b@example.com", "a list"),
        ("tab\t@example.com", "tab"),
        ("zoë@example.com", "non-ASCII"),
        (String(repeating: "a", count: 65) + "@example.com", "local part over 64 bytes"),
        (String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 190), "255 bytes"),
        ("a@.example.com", "empty domain label"),
        ("a@example..com", "empty domain label inside"),
    ])
    func refuses(_ address: String, _ why: String) {
        #expect(throws: MailError.self, "\(why)") { try MailAddress(address) }
    }

    /// The refusal quotes the address escaped, so a log line stays one line.
    @Test func refusalDescriptionIsOneLine() {
        do {
            _ = try MailAddress("a@b\r\nBcc: x@y")
            Issue.record("accepted an address with CR LF")
        } catch {
            #expect(!error.description.contains("\r") && !error.description.contains("\n"))
        }
    }
}
