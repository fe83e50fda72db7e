#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// An IPv4 or IPv6 address, parsed from every literal notation a URL host or a resolver may
/// use for one, so that the outbound policy judges the address that will actually be dialled,
/// not the text that names it.
///
/// IPv4 follows the WHATWG URL standard (and glibc's `inet_aton`, which `getaddrinfo` applies
/// to a numeric host): one to four parts separated by dots, each decimal, octal (a leading
/// `0`) or hexadecimal (`0x`), the last part filling the bytes that remain. So `127.0.0.1`,
/// `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` and `0x7f.1` are all 127.0.0.1.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// The address a URL's host names literally, or nil when the host is a name. The host may
    /// carry IPv6 brackets, a zone id (`%eth0`, or `%25eth0` as RFC 6874 writes it in a URL)
    /// and a trailing dot.
    public static func literal(_ host: String) -> IPAddress? {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if text.contains(":") {
            if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
            return parseV6(String(text))
        }
        if text.hasSuffix(".") { text = text.dropLast() }
        return parseV4(text)
    }

    /// An address as a configuration value or a socket writes it: a plain dotted quad (four
    /// decimal parts, no shorthand: an operator should write it plainly) or RFC 4291 IPv6 text.
    public static func exactly(_ text: String) -> IPAddress? {
        if text.contains(":") { return parseV6(text) }
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) }) else { return nil }
        return parseV4(Substring(text))
    }

    /// Whether a host that is not an address literal still ends in a number (`1.2.3.4.5`,
    /// `256.1`, `example.0x10`): browsers and resolvers disagree on what such a host is, so
    /// the policy refuses it rather than guess.
    public static func looksNumeric(_ host: String) -> Bool {
        var text = Substring(host)
        if text.hasSuffix(".") { text = text.dropLast() }
        guard let last = text.split(separator: ".", omittingEmptySubsequences: false).last, !last.isEmpty else { return false }
        return numberPart(last) != nil || last.allSatisfy(\.isASCIIDigit)
    }

    /// WHATWG IPv4 parsing: at most four parts, the last filling the rest of the 32 bits.
    static func parseV4(_ text: Substring) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let number = numberPart(part) else { return nil }
            numbers.append(number)
        }
        for number in numbers.dropLast() where number > 255 { return nil }
        let remainingBits = UInt64(8 * (5 - numbers.count))
        guard numbers.last! < (1 << remainingBits) else { return nil }
        var value: UInt64 = numbers.last!
        for (index, number) in numbers.dropLast().enumerated() { value |= number << UInt64(24 - 8 * index) }
        return .v4(UInt32(value))
    }

    /// One part of an IPv4 literal: decimal, `0`-prefixed octal or `0x`-prefixed hexadecimal
    /// (`0x` alone is 0, as in WHATWG). Nil when it is not a number or exceeds 32 bits.
    static func numberPart(_ part: Substring) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var digits = part
        var radix = 10
        if digits.count >= 2, digits.first == "0", let x = digits.dropFirst().first, x == "x" || x == "X" {
            digits = digits.dropFirst(2)
            radix = 16
            if digits.isEmpty { return 0 }
        } else if digits.count >= 2, digits.first == "0" {
            digits = digits.dropFirst()
            radix = 8
        }
        guard digits.count <= 32, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }),
              let value = UInt64(digits, radix: radix), value <= UInt64(UInt32.max) else { return nil }
        return value
    }

    /// RFC 4291 text (with an embedded dotted quad allowed at the end), through `inet_pton`:
    /// a pure function, no lookup.
    static func parseV6(_ text: String) -> IPAddress? {
        var storage = in6_addr()
        guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
        return .v6(withUnsafeBytes(of: &storage) { bytes in bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } })
    }

    /// The IPv4 address an IPv6 one carries in a form that reaches it (mapped `::ffff:a.b.c.d`,
    /// SIIT's IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765), deprecated compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4
    /// `2002:aabb:ccdd::/48`, Teredo's client address), so that the policy judges it as IPv4.
    public var embeddedIPv4: UInt32? {
        guard case .v6(let value) = self else { return nil }
        let low32 = UInt32(truncatingIfNeeded: value)
        if value >> 32 == 0xFFFF { return low32 }                             // ::ffff:0:0/96
        if value >> 32 == 0xFFFF_0000 { return low32 }                        // ::ffff:0:0:0/96 (SIIT)
        if value >> 32 == 0, value > 1 { return low32 }                       // ::a.b.c.d (not :: or ::1)
        if value >> 32 == 0x0064_FF9B_0000_0000_0000_0000 { return low32 }    // 64:ff9b::/96
        if value >> 80 == 0x0064_FF9B_0001 { return low32 }                   // 64:ff9b:1::/48
        if value >> 112 == 0x2002 { return UInt32(truncatingIfNeeded: value >> 80) }   // 6to4
        if value >> 96 == 0x2001_0000 { return ~low32 }                       // Teredo: client address inverted
        return nil
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let value):
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { bytes in
                for index in 0..<16 { bytes[index] = UInt8(truncatingIfNeeded: value >> UInt128(8 * (15 - index))) }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &storage, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
