/// A mailbox address (`local@domain`), checked once so that it can be written into the SMTP
/// envelope and the `From`/`To` headers as it is.
///
/// The check is deliberately narrow rather than a full RFC 5321 grammar: it refuses what could
/// break the protocol or a header (CR, LF and other control characters, `<` and `>`, spaces,
/// commas), anything but exactly one `@` with text on both sides, and anything longer than
/// SMTP allows (254 bytes, 64 for the local part). Non-ASCII addresses are refused too: they
/// need SMTPUTF8 end to end, which this client does not negotiate.
public struct MailAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let address: String

    public init(_ address: String) throws(MailError) {
        func refuse(_ reason: String) -> MailError { .invalidAddress(address, reason: reason) }
        let bytes = Array(address.utf8)
        guard !bytes.isEmpty else { throw refuse("it is empty") }
        guard bytes.count <= 254 else { throw refuse("longer than 254 bytes") }
        for byte in bytes {
            switch byte {
            case 0..<0x20, 0x7F: throw refuse("it holds a control character (CR, LF, tab...)")
            case 0x80...: throw refuse("it holds non-ASCII characters (SMTPUTF8 is not supported)")
            case UInt8(ascii: " "): throw refuse("it holds a space")
            case UInt8(ascii: "<"), UInt8(ascii: ">"): throw refuse("it holds < or >")
            case UInt8(ascii: ","), UInt8(ascii: ";"): throw refuse("it holds , or ; (one address only)")
            default: break
            }
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw refuse("it needs exactly one @") }
        guard !parts[0].isEmpty else { throw refuse("nothing before the @") }
        guard parts[0].utf8.count <= 64 else { throw refuse("the part before the @ is longer than 64 bytes") }
        guard !parts[1].isEmpty else { throw refuse("nothing after the @") }
        guard !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains("..") else {
            throw refuse("the domain has an empty label")
        }
        self.address = address
    }

    /// What follows the `@`: the domain a generated Message-ID is named after.
    public var domain: String { String(address[address.index(after: address.firstIndex(of: "@")!)...]) }

    public var description: String { address }
}
