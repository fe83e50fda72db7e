/// E.164 validation against the world's numbering plans: `+`, a country calling code that
/// exists, and a national number of a length and shape valid for that country. The table is
/// generated from libphonenumber (scripts/generate_numbering_plan.py), never typed by hand.
public enum NumberingPlan {
    struct Country: Sendable {
        let lengths: Set<Int>
        let pattern: String
    }

    /// Every country's pattern, compiled once on first use. A pattern that does not compile
    /// leaves only the length check for its country (a test keeps that from happening).
    static let patterns: [Int: DigitPattern] = countries.compactMapValues { DigitPattern($0.pattern) }

    /// Returns the number in canonical form (`+` and digits), or nil when it is not a valid
    /// E.164 number. Surrounding white space is ignored.
    public static func canonicalize(_ input: String) -> String? {
        var bytes = Array(input.utf8)[...]
        while let first = bytes.first, isWhiteSpace(first) { bytes.removeFirst() }
        while let last = bytes.last, isWhiteSpace(last) { bytes.removeLast() }
        guard bytes.first == UInt8(ascii: "+") else { return nil }
        let digits = bytes.dropFirst()
        guard (2...15).contains(digits.count), digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              digits.first != UInt8(ascii: "0") else { return nil }
        // Calling codes are prefix-free, so at most one of the 1-, 2- and 3-digit prefixes exists.
        var code = 0
        for length in 1...3 where digits.count > length {
            code = code * 10 + Int(digits[digits.startIndex + length - 1] - UInt8(ascii: "0"))
            guard let country = countries[code] else { continue }
            let national = digits.dropFirst(length)
            guard country.lengths.contains(national.count), patterns[code]?.matches(national) ?? true else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        return nil
    }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (0x09...0x0D).contains(byte)
    }
}
